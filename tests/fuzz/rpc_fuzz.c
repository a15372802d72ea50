/* rpc_fuzz.c - untrusted bytes as an RPC envelope, through decode,
 * credential checks and dispatch into core's handlers, the way relayd's
 * workers run them. The core lives in a private temporary state dir for
 * the whole run. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw/core.h"
#include "gw/err.h"
#include "gw/log.h"
#include "relay/v1/rpc.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gw_core *core;
static char            dir[] = "/tmp/relay-fuzz.XXXXXX";

static void
cleanup(void)
{
	char cmd[64];

	gw_core_close(core);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void) !system(cmd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Relay__V1__RpcRequest *req;
	struct gw_call         call = { 0 };

	if (core == NULL) {
		struct gw_core_config cfg = { 0 };

		gw_log_set_level(GW_LOG_ERROR);
		if (mkdtemp(dir) == NULL)
			abort();
		cfg.state_dir   = dir;
		cfg.admin_token = "fuzz";
		if (gw_core_open(&cfg, &core) != GW_OK)
			abort();
		atexit(cleanup);
	}
	req = relay__v1__rpc_request__unpack(NULL, size, data);
	if (req == NULL)
		return 0;
	call.api_key = req->api_key[0] ? req->api_key : NULL;
	gw_call_dispatch(core, &call, req->method, req->admin_token,
	    req->payload.data, req->payload.len);
	if (call.err == GW_OK && call.reply == NULL && call.reply_len != 0)
		abort();
	free(call.reply);
	relay__v1__rpc_request__free_unpacked(req, NULL);
	return 0;
}
