/*
 * main.c - relay-tui [--rpc URL] [--state-dir DIR]
 *
 * Flags win over RELAY_RPC_URL and RELAY_STATE_DIR; the admin token is
 * RELAY_ADMIN_TOKEN or the state dir's admin.token, as for relayctl.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "tui_impl.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: relay-tui [--rpc URL] [--state-dir DIR]\n"
	    "  --rpc URL        relayd's RPC address   env RELAY_RPC_URL,\n"
	    "                   default ipc://<state dir>/relayd.ipc\n"
	    "  --state-dir DIR  relayd's state dir     env RELAY_STATE_DIR, "
	    "default ./var\n"
	    "The admin token is RELAY_ADMIN_TOKEN or <state "
	    "dir>/admin.token.\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rpc", required_argument, NULL, 'r' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *url = NULL;
	const char *state_dir = NULL;
	int         c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			url = optarg;
			break;
		case 's':
			state_dir = optarg;
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
	return tui_app_run(url, state_dir);
}
