/*
 * relay-http - the public HTTP edge: flags and signals; the server is
 * server.c.
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <civetweb.h>

#include "gw/err.h"
#include "gw/log.h"
#include "hb/public_url.h"
#include "hb/server.h"
#include "rpc/client.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: relay-http [--listen ADDR:PORT] [--rpc URL] [--state-dir "
	    "DIR]\n"
	    "                  [--public-url URL] [--trusted-proxy LIST]\n"
	    "                  [--proxy-hops N] [--threads N]\n"
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
	    "                      (webhook signatures are checked against "
	    "it)\n"
	    "  --trusted-proxy LIST  IPs and CIDRs whose X-Forwarded-Proto/"
	    "Host/Port/Prefix\n"
	    "                      are believed; comma-separated, "
	    "repeatable; env\n"
	    "                      RELAY_TRUSTED_PROXIES, default none\n"
	    "  --proxy-hops N      proxies in front of this server, 1 to %d; "
	    "env\n"
	    "                      RELAY_PROXY_HOPS, default 1\n"
	    "  --threads N         civetweb workers, one per open connection; "
	    "default %d\n"
	    "\n"
	    "  RELAY_LOG_LEVEL     debug, info (default: one access line per "
	    "request), warn, error\n",
	    HB_HOPS_MAX, HB_THREADS_DFLT);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "rpc", required_argument, NULL, 'r' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "public-url", required_argument, NULL, 'p' },
		{ "trusted-proxy", required_argument, NULL, 'T' },
		{ "proxy-hops", required_argument, NULL, 'H' },
		{ "threads", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct hb_config  cfg = { 0 };
	struct hb_server *srv = NULL;
	const char       *state_dir = NULL, *rpc_flag = NULL;
	const char       *public_url = getenv("RELAY_PUBLIC_URL");
	char              url[RPC_URL_MAX], trusted[4096] = "";
	sigset_t          sigs;
	int               c, sig, rc;

	cfg.listen = getenv("RELAY_HTTP_LISTEN");
	cfg.threads = HB_THREADS_DFLT;
	cfg.trusted = getenv("RELAY_TRUSTED_PROXIES");
	cfg.hops = getenv("RELAY_PROXY_HOPS");
	if (cfg.hops != NULL && cfg.hops[0] == '\0')
		cfg.hops = NULL;
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
		case 'T': {
			/* repeated flags add up; any flag replaces the env */
			size_t n = strlen(trusted);

			if (n + strlen(optarg) + 2 > sizeof(trusted)) {
				fprintf(stderr,
				    "relay-http: --trusted-proxy: list too "
				    "long\n");
				return 2;
			}
			snprintf(trusted + n, sizeof(trusted) - n, "%s%s",
			    n > 0 ? "," : "", optarg);
			cfg.trusted = trusted;
			break;
		}
		case 'H':
			cfg.hops = optarg;
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
	cfg.public_url = public_url;
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
	if (public_url != NULL && public_url[0] != '\0' &&
	    cfg.trusted != NULL && cfg.trusted[0] != '\0')
		gw_info("http",
		    "webhooks: --public-url is set, so X-Forwarded-* "
		    "headers are not read (--trusted-proxy has no effect)");
	else if (cfg.trusted != NULL && cfg.trusted[0] != '\0')
		gw_info("http",
		    "webhooks: trusting X-Forwarded-* from %s, %s hop(s)",
		    cfg.trusted, cfg.hops != NULL ? cfg.hops : "1");
	sigwait(&sigs, &sig);
	gw_info(
	    "http", "%s: shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
	hb_server_stop(srv);
	mg_exit_library();
	return 0;
}
