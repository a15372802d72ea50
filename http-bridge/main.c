/*
 * relay-http - the public HTTP edge: flags and signals; the server is
 * server.c.
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <civetweb.h>

#include "gw/err.h"
#include "gw/log.h"
#include "hb/server.h"
#include "rpc/client.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: relay-http [--listen ADDR:PORT] [--rpc URL] [--state-dir "
	    "DIR]\n"
	    "                  [--public-url URL] [--threads N]\n"
	    "\n"
	    "  --listen ADDR:PORT  where to serve HTTP   env "
	    "RELAY_HTTP_LISTEN, "
	    "default " HB_LISTEN_DFLT "\n"
	    "                      (port 0: any free port, logged at start)\n"
	    "  --rpc URL           relayd                env RELAY_RPC_URL,\n"
	    "                      default ipc://DIR/relayd.ipc\n"
	    "  --state-dir DIR     for the default RPC URL; env "
	    "RELAY_STATE_DIR, default ./var\n"
	    "  --public-url URL    public base URL of this server; env "
	    "RELAY_PUBLIC_URL\n"
	    "  --threads N         civetweb workers, one per open connection; "
	    "default %d\n"
	    "\n"
	    "  RELAY_LOG_LEVEL     debug, info (default: one access line per "
	    "request), warn, error\n",
	    HB_THREADS_DFLT);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "rpc", required_argument, NULL, 'r' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "public-url", required_argument, NULL, 'p' },
		{ "threads", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct hb_config  cfg = { 0 };
	struct hb_server *srv = NULL;
	const char       *state_dir = NULL, *rpc_flag = NULL;
	const char       *public_url = getenv("RELAY_PUBLIC_URL");
	char              url[RPC_URL_MAX];
	sigset_t          sigs;
	int               c, sig, rc;

	cfg.listen = getenv("RELAY_HTTP_LISTEN");
	cfg.threads = HB_THREADS_DFLT;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			cfg.listen = optarg;
			break;
		case 'r':
			rpc_flag = optarg;
			break;
		case 's':
			state_dir = optarg;
			break;
		case 'p':
			public_url = optarg;
			break;
		case 't':
			cfg.threads = atoi(optarg);
			if (cfg.threads < 1 || cfg.threads > 4096) {
				fprintf(stderr,
				    "relay-http: --threads: 1 to 4096\n");
				return 2;
			}
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
	if (cfg.listen == NULL || cfg.listen[0] == '\0')
		cfg.listen = HB_LISTEN_DFLT;
	if (rpc_flag != NULL)
		snprintf(url, sizeof(url), "%s", rpc_flag);
	else
		rpc_default_url(state_dir, url, sizeof(url));
	cfg.rpc_url = url;
	gw_log_init();

	/* every thread inherits the mask; only main takes the signals */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	mg_init_library(0);
	if ((rc = hb_server_start(&cfg, &srv)) != GW_OK) {
		mg_exit_library();
		return 1;
	}
	gw_info("http",
	    "listening on http://%s (port %d), %d threads, "
	    "relayd at %s%s%s",
	    cfg.listen, hb_server_port(srv), cfg.threads, url,
	    public_url ? ", public URL " : "", public_url ? public_url : "");
	sigwait(&sigs, &sig);
	gw_info(
	    "http", "%s: shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
	hb_server_stop(srv);
	mg_exit_library();
	return 0;
}
