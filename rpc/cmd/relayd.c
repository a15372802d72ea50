/*
 * relayd - the one process that owns Relay's state.
 *
 * Opens the store and keyring in the state dir, serves core's services
 * over nng, and shuts down cleanly on SIGINT or SIGTERM: the socket
 * closes, in-flight calls finish, queued writes commit.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <pthread.h>

#include <curl/curl.h>

#include "gw/core.h"
#include "gw/dispatcher.h"
#include "gw/forwarder.h"
#include "gw/err.h"
#include "gw/log.h"
#include "rpc/client.h"
#include "rpc/server.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: relayd [--state-dir DIR] [--rpc URL] [--workers N]\n"
	    "              [--public-url URL] [--retry-deadline SECONDS]\n"
	    "              [--event-give-up SECONDS]\n"
	    "\n"
	    "  --state-dir DIR  state (LMDB, key files)   env RELAY_STATE_DIR, "
	    "default ./var\n"
	    "  --rpc URL        where to serve RPC        env RELAY_RPC_URL,\n"
	    "                   default ipc://DIR/relayd.ipc\n"
	    "  --workers N      RPC worker threads        default 64\n"
	    "  --public-url URL public base URL of relay-http, for provider "
	    "callbacks\n"
	    "                   env RELAY_PUBLIC_URL; default http:// + relay-http's\n"
	    "                   listen address (RELAY_HTTP_LISTEN, 127.0.0.1:8080)\n"
	    "  --retry-deadline S  give up (and refund) a message still failing "
	    "after S\n"
	    "                   seconds; env RELAY_RETRY_DEADLINE, default 3600\n"
	    "  --event-give-up S  dead-letter a webhook event a client has not "
	    "acknowledged\n"
	    "                   after S seconds; env RELAY_EVENT_GIVE_UP, "
	    "default 86400\n"
	    "\n"
	    "  MASTER_ENCRYPTION_KEY  base64 of 32 bytes; default: DIR/master.key "
	    "(created 0600)\n"
	    "  RELAY_ADMIN_TOKEN      admin token; default: DIR/admin.token "
	    "(created 0600)\n"
	    "  RELAY_LOG_LEVEL        debug, info (default), warn, error\n");
}

/* no_core_dumps keeps key material out of core files on purpose: secrets
 * live in sodium_malloc()'d pages too, which are excluded from dumps. */
static void
no_core_dumps(void)
{
	struct rlimit rl = { 0, 0 };

	setrlimit(RLIMIT_CORE, &rl);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state-dir", required_argument, NULL, 'd' },
		{ "rpc", required_argument, NULL, 'r' },
		{ "workers", required_argument, NULL, 'w' },
		{ "public-url", required_argument, NULL, 'p' },
		{ "retry-deadline", required_argument, NULL, 'R' },
		{ "event-give-up", required_argument, NULL, 'G' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char              *state_dir = getenv("RELAY_STATE_DIR");
	const char              *url_flag  = NULL;
	const char              *public_url = getenv("RELAY_PUBLIC_URL");
	char                     default_public[300];
	const char              *deadline   = getenv("RELAY_RETRY_DEADLINE");
	const char              *give_up    = getenv("RELAY_EVENT_GIVE_UP");
	struct gw_forwarder_config fcfg = { 0 };
	struct gw_forwarder     *fwd;
	struct gw_dispatcher_config dcfg = { 0 };
	struct gw_dispatcher    *disp;
	char                     url[RPC_URL_MAX];
	struct rpc_server_config scfg = { 0 };
	struct gw_core_config    ccfg = { 0 };
	struct gw_core          *core;
	struct rpc_server       *srv;
	sigset_t                 sigs;
	int                      c, sig, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			state_dir = optarg;
			break;
		case 'r':
			url_flag = optarg;
			break;
		case 'w':
			scfg.workers = atoi(optarg);
			if (scfg.workers < 1 || scfg.workers > 1024) {
				fprintf(stderr, "relayd: --workers: 1 to 1024\n");
				return 2;
			}
			break;
		case 'p':
			public_url = optarg;
			break;
		case 'R':
			deadline = optarg;
			break;
		case 'G':
			give_up = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (state_dir == NULL || state_dir[0] == '\0')
		state_dir = "./var";
	if (deadline != NULL) {
		char *end;
		long  secs = strtol(deadline, &end, 10);

		if (*deadline == '\0' || *end != '\0' || secs < 1 ||
		    secs > 30L * 86400) {
			fprintf(stderr, "relayd: --retry-deadline: 1 to 2592000 "
					"seconds\n");
			return 2;
		}
		dcfg.retry_deadline_ms = secs * 1000;
	}
	if (give_up != NULL) {
		char *end;
		long  secs = strtol(give_up, &end, 10);

		if (*give_up == '\0' || *end != '\0' || secs < 1 ||
		    secs > 30L * 86400) {
			fprintf(stderr, "relayd: --event-give-up: 1 to 2592000 "
					"seconds\n");
			return 2;
		}
		fcfg.give_up_after_ms = secs * 1000;
	}
	gw_log_init();
	no_core_dumps();
	if (mkdir(state_dir, 0700) != 0 && errno != EEXIST) {
		gw_error("relayd", "cannot create state dir %s: %s", state_dir,
		    strerror(errno));
		return 1;
	}
	if (url_flag != NULL)
		snprintf(url, sizeof(url), "%s", url_flag);
	else
		rpc_default_url(state_dir, url, sizeof(url));

	/* every thread inherits the mask; only main takes the signals */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* libcurl's global state, before any thread exists */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	ccfg.state_dir      = state_dir;
	ccfg.master_key_b64 = getenv("MASTER_ENCRYPTION_KEY");
	ccfg.admin_token    = getenv("RELAY_ADMIN_TOKEN");
	if ((rc = gw_core_open(&ccfg, &core)) != GW_OK) {
		gw_error("relayd", "cannot start: %s", gw_strerror(rc));
		return 1;
	}
	dcfg.state_dir  = state_dir;
	/* DESIGN's default: relay-http's own address, so that callbacks
	 * reach the local bridge on the embedded defaults */
	if (public_url == NULL || public_url[0] == '\0') {
		const char *listen = getenv("RELAY_HTTP_LISTEN");

		snprintf(default_public, sizeof(default_public), "http://%s",
		    listen != NULL && listen[0] != '\0' ? listen
							: "127.0.0.1:8080");
		public_url = default_public;
	}
	dcfg.public_url = public_url;
	if ((rc = gw_dispatcher_start(core, &dcfg, &disp)) != GW_OK) {
		gw_error("relayd", "cannot start the dispatcher: %s",
		    gw_strerror(rc));
		gw_core_close(core);
		return 1;
	}
	/* client webhooks go out on threads of their own, never on the
	 * path of a provider's callback */
	if ((rc = gw_forwarder_start(core, &fcfg, &fwd)) != GW_OK) {
		gw_error("relayd", "cannot start the forwarder: %s",
		    gw_strerror(rc));
		gw_dispatcher_stop(disp);
		gw_core_close(core);
		return 1;
	}
	gw_info("relayd", "providers are given callbacks under %s", public_url);
	scfg.url = url;
	if ((rc = rpc_server_start(core, &scfg, &srv)) != GW_OK) {
		gw_error("relayd", "cannot serve %s: %s", url, gw_strerror(rc));
		gw_forwarder_stop(fwd);
		gw_dispatcher_stop(disp);
		gw_core_close(core);
		return 1;
	}
	gw_info("relayd", "ready (state %s, pid %ld)", state_dir,
	    (long) getpid());
	sigwait(&sigs, &sig);
	gw_info("relayd", "%s: shutting down", sig == SIGINT ? "SIGINT"
								: "SIGTERM");
	rpc_server_stop(srv);
	gw_forwarder_stop(fwd);
	gw_dispatcher_stop(disp);
	gw_core_close(core);
	curl_global_cleanup();
	gw_info("relayd", "stopped");
	return 0;
}
