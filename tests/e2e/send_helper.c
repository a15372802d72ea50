/*
 * send_helper - sends SMS through relayd's Messaging service with a
 * client's API key, for the end-to-end tests (there is no client-facing
 * command line; relay-http is the real client edge).
 *
 * usage: send_helper [--rpc URL] TO BODY [COUNT]
 * The key is $RELAY_API_KEY. Prints one sid per line; exits 1 on the
 * first refusal (status name and message on stderr), 2 on usage errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw/err.h"
#include "pb/status.h"
#include "relay/v1/messaging.pb-c.h"
#include "rpc/client.h"

int
main(int argc, char **argv)
{
	Relay__V1__SendRequest req = RELAY__V1__SEND_REQUEST__INIT;
	Relay__V1__SendReply  *reply;
	struct rpc_client     *c;
	struct rpc_status      st;
	const char            *key = getenv("RELAY_API_KEY");
	char                   url[RPC_URL_MAX];
	int                    i = 1, count = 1, rc = 0;

	if (argc > 2 && strcmp(argv[1], "--rpc") == 0) {
		snprintf(url, sizeof(url), "%s", argv[2]);
		i = 3;
	} else {
		rpc_default_url(NULL, url, sizeof(url));
	}
	if (argc - i < 2 || argc - i > 3 || key == NULL) {
		fprintf(stderr,
		    "usage: RELAY_API_KEY=rk_... send_helper "
		    "[--rpc URL] TO BODY [COUNT]\n");
		return 2;
	}
	if (argc - i == 3 && (count = atoi(argv[i + 2])) < 1)
		count = 1;
	if (rpc_client_open(url, &c) != GW_OK) {
		fprintf(stderr, "send_helper: cannot use '%s'\n", url);
		return 2;
	}
	req.to = argv[i];
	req.body = argv[i + 1];
	for (int n = 0; n < count && rc == 0; n++) {
		if (rpc_invoke_as(c, key, &relay__v1__messaging__descriptor,
		        "Send", &req.base, (ProtobufCMessage **) &reply,
		        &st) != GW_OK) {
			fprintf(stderr, "send_helper: %s: %s\n",
			    pb_status_name(st.code), st.message);
			rc = 1;
			break;
		}
		printf("%s\n", reply->sid);
		relay__v1__send_reply__free_unpacked(reply, NULL);
	}
	rpc_client_close(c);
	return rc;
}
