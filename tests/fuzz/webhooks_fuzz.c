/* webhooks_fuzz.c - untrusted bytes as what relay-http hands relayd for
 * a provider webhook: the first byte picks the target, the rest is a
 * packed TwilioWebhookRequest decoded and dispatched to TwilioStatus or
 * TwilioInbound (a core with one Twilio account, one message-less pool
 * number), or, for the pure helpers, a URL whose query is searched and a
 * text turned into TwiML. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw/core.h"
#include "gw/err.h"
#include "gw/log.h"
#include "gw/webhook.h"
#include "relay/v1/admin.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gw_core *core;
static char            dir[] = "/tmp/relay-fuzz-hooks.XXXXXX";

static void
cleanup(void)
{
	char cmd[64];

	gw_core_close(core);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void) !system(cmd);
}

static void
admin(const char *method, const ProtobufCMessage *req)
{
	struct gw_call c = { 0 };
	uint8_t        buf[1024];
	char           name[96];
	size_t         n = protobuf_c_message_pack(req, buf);

	snprintf(name, sizeof(name), "relay.v1.Admin/%s", method);
	gw_call_dispatch(core, &c, name, "fuzz", buf, n);
	free(c.reply);
}

static void
core_init(void)
{
	struct gw_core_config           cfg = { 0 };
	Relay__V1__CreateAccountRequest a =
	    RELAY__V1__CREATE_ACCOUNT_REQUEST__INIT;
	Relay__V1__CreateClientRequest c =
	    RELAY__V1__CREATE_CLIENT_REQUEST__INIT;
	Relay__V1__TnRequest       tn = RELAY__V1__TN_REQUEST__INIT;
	Relay__V1__AssignTnRequest as = RELAY__V1__ASSIGN_TN_REQUEST__INIT;

	gw_log_set_level(GW_LOG_ERROR);
	if (mkdtemp(dir) == NULL)
		abort();
	cfg.state_dir = dir;
	cfg.admin_token = "fuzz";
	if (gw_core_open(&cfg, &core) != GW_OK)
		abort();
	atexit(cleanup);
	a.kind = RELAY__V1__ACCOUNT_KIND__ACCOUNT_TWILIO;
	a.sid = "AC0123456789abcdef0123456789abcdef";
	a.token = "f00dfeedf00dfeedf00dfeedf00dfeed";
	admin("CreateAccount", &a.base);
	c.name = "fuzz";
	c.inbound_url = "http://127.0.0.1:9/in";
	admin("CreateClient", &c.base);
	tn.number = "+14155550199";
	admin("AddTn", &tn.base);
	as.number = tn.number;
	as.client_id = 1;
	admin("AssignTn", &as.base);
}

static void
helpers(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), out[64], *twiml = NULL;

	if (s == NULL)
		return;
	memcpy(s, data, size);
	s[size] = '\0';
	gw_url_query_get(s, "relay_sid", out, sizeof(out));
	gw_url_query_get(s, "", out, 1);
	if (gw_twiml_reply(s, &twiml) == GW_OK && twiml == NULL)
		abort();
	free(twiml);
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_call c = { 0 };

	if (size == 0)
		return 0;
	if (data[0] % 3 == 2) {
		helpers(data + 1, size - 1);
		return 0;
	}
	if (core == NULL)
		core_init();
	gw_call_dispatch(core, &c,
	    data[0] % 3 == 0 ? "relay.v1.Webhooks/TwilioStatus"
	                     : "relay.v1.Webhooks/TwilioInbound",
	    NULL, data + 1, size - 1);
	if (c.err == GW_OK && c.reply == NULL && c.reply_len != 0)
		abort();
	free(c.reply);
	return 0;
}
