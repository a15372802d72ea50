/* webhooks_test.c - the Webhooks service and the forwarder, in process:
 * Twilio signatures checked through the RPC against an account's sealed
 * token (valid, missing, invalid, tampered, wrong token, replayed),
 * scrambled status callbacks (never backwards, the right final status,
 * error codes, refunds on failure), forwarding to a receiver that checks
 * Relay's HMAC-SHA256 on every request and fails for a while, then
 * recovers, and still acknowledges every event exactly once, dead
 * letters, inbound messages with auto-reply TwiML (XML-escaped), unknown
 * numbers and messages, and nothing stored on a bad signature. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* cmocka after its prerequisites */
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "fake_upstream.h"
#include "gw/core.h"
#include "gw/dispatcher.h"
#include "gw/err.h"
#include "gw/forwarder.h"
#include "gw/store.h"
#include "gw/twilio_sig.h"
#include "gw/webhook.h"
#include "relay/v1/admin.pb-c.h"
#include "relay/v1/messaging.pb-c.h"
#include "relay/v1/webhooks.pb-c.h"
#include "th.h"

#define TOKEN "test-admin-token"
#define TWILIO_SID "AC0123456789abcdef0123456789abcdef"
#define TWILIO_TOKEN "f00dfeedf00dfeedf00dfeedf00dfeed"
#define OTHER_TOKEN "0123456789abcdef0123456789abcdef"
#define PRICE 7500
#define FUNDS 1000000
#define FROM "+15005550006"
#define TO "+14155550100"
#define TN "+14155550199"
#define PUBLIC "https://relay.example"
#define STATUS_URL PUBLIC "/relay/twilio/status"
#define INBOUND_URL PUBLIC "/relay/twilio/inbound"
#define MAX_EVENTS 256

struct fx {
	char                 *dir;
	struct gw_core       *core;
	struct gw_dispatcher *disp;
	struct gw_forwarder  *fwd;
	struct th_upstream   *up; /* the provider */
	struct th_upstream   *rx; /* the client's receiver */
	uint64_t              client, account;
	char                  key[128];
	char                  secret[128];
};

/* ---- plumbing -------------------------------------------------------- */

static int
call(struct fx *fx, const ProtobufCServiceDescriptor *svc, const char *admin,
    const char *api_key, const char *method, const ProtobufCMessage *req,
    void *out)
{
	const ProtobufCMethodDescriptor *m;
	struct gw_call                   c;
	char                             name[128];
	size_t   n = protobuf_c_message_get_packed_size(req);
	uint8_t *buf = malloc(n + 1);
	int      rc;

	assert_non_null(buf);
	protobuf_c_message_pack(req, buf);
	m = protobuf_c_service_descriptor_get_method_by_name(svc, method);
	assert_non_null(m);
	snprintf(name, sizeof(name), "%s/%s", svc->name, method);
	memset(&c, 0, sizeof(c));
	c.api_key = api_key;
	rc = gw_call_dispatch(fx->core, &c, name, admin, buf, n);
	if (rc == GW_OK && out != NULL) {
		*(ProtobufCMessage **) out = protobuf_c_message_unpack(
		    m->output, NULL, c.reply_len, c.reply);
		assert_non_null(*(ProtobufCMessage **) out);
	}
	free(c.reply);
	free(buf);
	return rc;
}

static void
admin(struct fx *fx, const char *method, const ProtobufCMessage *req, void *out)
{
	assert_int_equal(call(fx, &relay__v1__admin__descriptor, TOKEN, NULL,
	                     method, req, out),
	    GW_OK);
}

static void
fwd_start(struct fx *fx, int64_t give_up_ms)
{
	struct gw_forwarder_config cfg = { 0 };

	cfg.give_up_after_ms = give_up_ms;
	cfg.backoff_base_ms = 20;
	cfg.backoff_max_ms = 80;
	cfg.request_timeout_ms = 500;
	cfg.poll_ms = 20;
	cfg.threads = 2;
	assert_int_equal(gw_forwarder_start(fx->core, &cfg, &fx->fwd), GW_OK);
}

static int
setup(void **state)
{
	struct fx                     *fx = calloc(1, sizeof(*fx));
	Relay__V1__CreateClientRequest c =
	    RELAY__V1__CREATE_CLIENT_REQUEST__INIT;
	Relay__V1__CreateKeyRequest     k = RELAY__V1__CREATE_KEY_REQUEST__INIT;
	Relay__V1__CreateAccountRequest a =
	    RELAY__V1__CREATE_ACCOUNT_REQUEST__INIT;
	Relay__V1__CreateRouteRequest r = RELAY__V1__CREATE_ROUTE_REQUEST__INIT;
	Relay__V1__IdRequest          id = RELAY__V1__ID_REQUEST__INIT;
	Relay__V1__TnRequest          tn = RELAY__V1__TN_REQUEST__INIT;
	Relay__V1__AssignTnRequest    as = RELAY__V1__ASSIGN_TN_REQUEST__INIT;
	Relay__V1__Client            *cl;
	Relay__V1__CreatedKey        *ck;
	Relay__V1__Account           *acct;
	Relay__V1__Route             *route;
	Relay__V1__WebhookSecret     *ws;
	Relay__V1__Tn                *t;
	struct gw_core_config         ccfg = { 0 };
	struct gw_dispatcher_config   dcfg = { 0 };
	char                          cb[128], in[128];

	fx->dir = th_tmpdir();
	fx->up = th_upstream_start();
	fx->rx = th_upstream_start();
	ccfg.state_dir = fx->dir;
	ccfg.admin_token = TOKEN;
	assert_int_equal(gw_core_open(&ccfg, &fx->core), GW_OK);

	snprintf(cb, sizeof(cb), "%s/status", th_upstream_url(fx->rx));
	snprintf(in, sizeof(in), "%s/inbound", th_upstream_url(fx->rx));
	c.name = "acme";
	c.balance_micros = FUNDS;
	c.status_callback_url = cb;
	c.inbound_url = in;
	admin(fx, "CreateClient", &c.base, &cl);
	fx->client = cl->id;
	assert_false(cl->has_webhook_secret);
	k.client_id = cl->id;
	admin(fx, "CreateKey", &k.base, &ck);
	snprintf(fx->key, sizeof(fx->key), "%s", ck->raw_key);

	id.id = fx->client;
	admin(fx, "RotateWebhookSecret", &id.base, &ws);
	assert_int_equal(strlen(ws->secret), 6 + 43);
	assert_memory_equal(ws->secret, "whsec_", 6);
	snprintf(fx->secret, sizeof(fx->secret), "%s", ws->secret);

	a.kind = RELAY__V1__ACCOUNT_KIND__ACCOUNT_TWILIO;
	a.from_number = FROM;
	a.sid = TWILIO_SID;
	a.token = TWILIO_TOKEN;
	a.base_url = (char *) th_upstream_url(fx->up);
	admin(fx, "CreateAccount", &a.base, &acct);
	fx->account = acct->id;
	r.pattern = "^\\+1";
	r.priority = 10;
	r.account_id = acct->id;
	r.price_micros = PRICE;
	admin(fx, "CreateRoute", &r.base, &route);

	tn.number = TN;
	admin(fx, "AddTn", &tn.base, &t);
	protobuf_c_message_free_unpacked(&t->base, NULL);
	as.number = TN;
	as.client_id = fx->client;
	admin(fx, "AssignTn", &as.base, &t);
	assert_int_equal(t->client_id, fx->client);
	protobuf_c_message_free_unpacked(&t->base, NULL);

	dcfg.state_dir = fx->dir;
	dcfg.public_url = PUBLIC;
	dcfg.poll_ms = 20;
	assert_int_equal(
	    gw_dispatcher_start(fx->core, &dcfg, &fx->disp), GW_OK);
	fwd_start(fx, 5000);

	protobuf_c_message_free_unpacked(&cl->base, NULL);
	protobuf_c_message_free_unpacked(&ck->base, NULL);
	protobuf_c_message_free_unpacked(&ws->base, NULL);
	protobuf_c_message_free_unpacked(&acct->base, NULL);
	protobuf_c_message_free_unpacked(&route->base, NULL);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	gw_forwarder_stop(fx->fwd);
	gw_dispatcher_stop(fx->disp);
	gw_core_close(fx->core);
	th_upstream_stop(fx->up);
	th_upstream_stop(fx->rx);
	th_rmtree(fx->dir);
	free(fx);
	return 0;
}

/* ---- Twilio's side: signed form posts -------------------------------- */

struct post {
	const char *url;
	const char *kv[40]; /* key, value, ..., NULL */
};

static size_t
post_params(const struct post *p, struct gw_kv *kv, Relay__V1__FormParam *fp,
    Relay__V1__FormParam **fpp)
{
	size_t n = 0;

	for (; p->kv[2 * n] != NULL; n++) {
		const char *k = p->kv[2 * n], *v = p->kv[2 * n + 1];

		kv[n] = (struct gw_kv) { k, strlen(k), v, strlen(v) };
		relay__v1__form_param__init(&fp[n]);
		fp[n].key.data = (uint8_t *) k;
		fp[n].key.len = strlen(k);
		fp[n].value.data = (uint8_t *) v;
		fp[n].value.len = strlen(v);
		fpp[n] = &fp[n];
	}
	return n;
}

/* hook calls method with p, signed with token (NULL: no signature;
 * "bad": a well-formed wrong one). tamper changes one value after
 * signing. */
static int
hook(struct fx *fx, const char *method, const struct post *p, const char *token,
    const char *tamper_key, const char *tamper_val, void *out)
{
	Relay__V1__TwilioWebhookRequest req =
	    RELAY__V1__TWILIO_WEBHOOK_REQUEST__INIT;
	struct gw_kv         kv[20];
	Relay__V1__FormParam fp[20], *fpp[20];
	char                 sig[GW_TWILIO_SIG_LEN + 1] = "";
	size_t               n = post_params(p, kv, fp, fpp);

	if (token != NULL && strcmp(token, "bad") == 0)
		snprintf(
		    sig, sizeof(sig), "%s", "AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
	else if (token != NULL)
		assert_int_equal(gw_twilio_sig_compute(
		                     token, strlen(token), p->url, kv, n, sig),
		    GW_OK);
	for (size_t i = 0; tamper_key != NULL && i < n; i++)
		if (strcmp(p->kv[2 * i], tamper_key) == 0) {
			fp[i].value.data = (uint8_t *) tamper_val;
			fp[i].value.len = strlen(tamper_val);
		}
	req.public_url = (char *) p->url;
	req.params = fpp;
	req.n_params = n;
	req.signature = sig;
	return call(fx, &relay__v1__webhooks__descriptor, NULL, NULL, method,
	    &req.base, out);
}

/* ---- messages -------------------------------------------------------- */

static void
send_sms(struct fx *fx, char sid[40])
{
	Relay__V1__SendRequest req = RELAY__V1__SEND_REQUEST__INIT;
	Relay__V1__SendReply  *r;

	req.to = TO;
	req.body = "hello";
	assert_int_equal(call(fx, &relay__v1__messaging__descriptor, NULL,
	                     fx->key, "Send", &req.base, &r),
	    GW_OK);
	snprintf(sid, 40, "%s", r->sid);
	protobuf_c_message_free_unpacked(&r->base, NULL);
}

static Relay__V1__Message *
get(struct fx *fx, const char *sid)
{
	Relay__V1__GetMessageRequest g = RELAY__V1__GET_MESSAGE_REQUEST__INIT;
	Relay__V1__Message          *m;

	g.sid = (char *) sid;
	assert_int_equal(call(fx, &relay__v1__messaging__descriptor, NULL,
	                     fx->key, "GetMessage", &g.base, &m),
	    GW_OK);
	return m;
}

struct find {
	const char *sid;
	char        upstream[64];
};

static int
find_one(const void *k, size_t kl, const void *v, size_t vl, void *arg)
{
	struct find              *f = arg;
	Relay__V1__MessageRecord *m =
	    relay__v1__message_record__unpack(NULL, vl, v);

	(void) k;
	(void) kl;
	assert_non_null(m);
	if (strcmp(m->sid, f->sid) == 0)
		snprintf(
		    f->upstream, sizeof(f->upstream), "%s", m->upstream_sid);
	relay__v1__message_record__free_unpacked(m, NULL);
	return 0;
}

/* sent_sms sends a message and waits until the provider took it; up
 * gets Twilio's sid. */
static void
sent_sms(struct fx *fx, char sid[40], char up[64])
{
	struct find f;

	send_sms(fx, sid);
	f.sid = sid;
	for (int t = 0; t < 300; t++) {
		struct gw_txn *txn;

		f.upstream[0] = '\0';
		assert_int_equal(
		    gw_store_read(gw_core_store(fx->core), &txn), GW_OK);
		gw_txn_scan(
		    txn, GW_DB_MESSAGES, NULL, 0, NULL, 0, find_one, &f);
		gw_txn_end(txn);
		if (f.upstream[0] != '\0') {
			snprintf(up, 64, "%s", f.upstream);
			return;
		}
		th_sleep_ms(10);
	}
	fail_msg("message %s never reached the provider", sid);
}

static int
rank(const char *s)
{
	if (strcmp(s, "queued") == 0)
		return 1;
	if (strcmp(s, "sending") == 0)
		return 2;
	if (strcmp(s, "sent") == 0)
		return 3;
	return 4;
}

/* ---- the client's receiver ------------------------------------------- */

/* verify_forwarded checks Relay's signature on request r with the
 * client's secret (OpenSSL, independently of Relay's code) and returns
 * the event id it carries, after checking that the body names it too. */
static void
verify_forwarded(struct fx *fx, const struct th_request *r, char id[64])
{
	unsigned char mac[32];
	unsigned int  maclen = 0;
	char          hex[65], *signed_data;
	long long     t;
	const char   *v1;
	json_t       *doc;
	size_t        n;

	assert_int_equal(strncmp(r->relay_signature, "t=", 2), 0);
	t = strtoll(r->relay_signature + 2, NULL, 10);
	assert_true(t > 1700000000);
	assert_non_null(v1 = strstr(r->relay_signature, ",v1="));
	assert_true(r->body_len < sizeof(r->body));
	n = (size_t) snprintf(NULL, 0, "%lld.%s", t, r->body);
	signed_data = malloc(n + 1);
	snprintf(signed_data, n + 1, "%lld.%s", t, r->body);
	HMAC(EVP_sha256(), fx->secret, (int) strlen(fx->secret),
	    (unsigned char *) signed_data, n, mac, &maclen);
	free(signed_data);
	assert_int_equal(maclen, 32);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	assert_int_equal(strlen(v1 + 4), 64);
	assert_int_equal(CRYPTO_memcmp(hex, v1 + 4, 64), 0);
	assert_string_equal(r->content_type, "application/json");
	assert_non_null(doc = json_loads(r->body, 0, NULL));
	assert_string_equal(
	    json_string_value(json_object_get(doc, "id")), r->relay_event_id);
	json_decref(doc);
	snprintf(id, 64, "%s", r->relay_event_id);
}

/* acked collects the event ids of the requests answered 2xx: the first
 * `failing` requests were answered 500. Fails on a bad signature or an
 * event acknowledged twice. */
static size_t
acked(struct fx *fx, size_t failing, char ids[][64], size_t max)
{
	struct th_request r;
	size_t            n = 0;

	for (size_t i = 0; th_upstream_request(fx->rx, i, &r); i++) {
		char id[64];

		verify_forwarded(fx, &r, id);
		if (i < failing)
			continue;
		for (size_t j = 0; j < n; j++)
			if (strcmp(ids[j], id) == 0)
				fail_msg("event %s acknowledged twice", id);
		assert_true(n < max);
		snprintf(ids[n++], 64, "%s", id);
	}
	return n;
}

static bool
has(char ids[][64], size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(ids[i], id) == 0)
			return true;
	return false;
}

/* wait_acked waits until every id of want was acknowledged. */
static void
wait_acked(struct fx *fx, size_t failing, char want[][64], size_t nwant, int ms)
{
	static char ids[MAX_EVENTS][64];

	for (int t = 0;; t += 20) {
		size_t n = acked(fx, failing, ids, MAX_EVENTS), ok = 0;

		for (size_t i = 0; i < nwant; i++)
			ok += has(ids, n, want[i]);
		if (ok == nwant)
			return;
		if (t >= ms)
			fail_msg("%zu of %zu events acknowledged after %d ms",
			    ok, nwant, ms);
		th_sleep_ms(20);
	}
}

/* ---- status callbacks ------------------------------------------------ */

static void
test_status_signature(void **state)
{
	struct fx                    *fx = *state;
	Relay__V1__TwilioStatusReply *r;
	Relay__V1__Message           *m;
	char                          sid[40], up[64], url[160], evs[2][64];
	struct post                   p = { url,
		                  { "MessageSid", up, "MessageStatus", "sent", "AccountSid",
		                      TWILIO_SID, "To", TO, "From", FROM, NULL } };

	sent_sms(fx, sid, up);
	snprintf(url, sizeof(url), STATUS_URL "?relay_sid=%s", sid);

	/* missing, invalid, tampered, signed with another token: refused,
	 * nothing changed */
	assert_int_equal(
	    hook(fx, "TwilioStatus", &p, NULL, NULL, NULL, NULL), GW_EAUTH);
	assert_int_equal(
	    hook(fx, "TwilioStatus", &p, "bad", NULL, NULL, NULL), GW_EAUTH);
	assert_int_equal(hook(fx, "TwilioStatus", &p, TWILIO_TOKEN,
	                     "MessageStatus", "delivered", NULL),
	    GW_EAUTH);
	assert_int_equal(
	    hook(fx, "TwilioStatus", &p, OTHER_TOKEN, NULL, NULL, NULL),
	    GW_EAUTH);
	m = get(fx, sid);
	assert_string_equal(m->status, "sending");
	protobuf_c_message_free_unpacked(&m->base, NULL);

	/* valid */
	assert_int_equal(
	    hook(fx, "TwilioStatus", &p, TWILIO_TOKEN, NULL, NULL, &r), GW_OK);
	assert_true(r->known);
	assert_true(r->applied);
	assert_string_equal(r->sid, sid);
	assert_string_equal(r->status, "sent");
	assert_int_equal(strlen(r->event_id), 36);
	snprintf(evs[0], 64, "%s", r->event_id);
	protobuf_c_message_free_unpacked(&r->base, NULL);

	/* replayed: idempotent, no second event */
	assert_int_equal(
	    hook(fx, "TwilioStatus", &p, TWILIO_TOKEN, NULL, NULL, &r), GW_OK);
	assert_true(r->known);
	assert_false(r->applied);
	assert_string_equal(r->status, "sent");
	assert_string_equal(r->event_id, "");
	protobuf_c_message_free_unpacked(&r->base, NULL);

	/* without relay_sid in the URL: found by Twilio's sid */
	snprintf(url, sizeof(url), STATUS_URL);
	p.kv[3] = "delivered";
	assert_int_equal(
	    hook(fx, "TwilioStatus", &p, TWILIO_TOKEN, NULL, NULL, &r), GW_OK);
	assert_true(r->applied);
	assert_string_equal(r->status, "delivered");
	snprintf(evs[1], 64, "%s", r->event_id);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	m = get(fx, sid);
	assert_string_equal(m->status, "delivered");
	protobuf_c_message_free_unpacked(&m->base, NULL);

	wait_acked(fx, 0, evs, 2, 3000);
	th_sleep_ms(100);
	assert_int_equal(th_upstream_count(fx->rx), 2);
}

static void
test_status_unknown_message(void **state)
{
	struct fx                    *fx = *state;
	Relay__V1__TwilioStatusReply *r;
	struct post                   p = { STATUS_URL,
		                  { "MessageSid", "SM00000000000000000000000000000999",
		                      "MessageStatus", "delivered", "AccountSid", TWILIO_SID,
		                      NULL } };

	/* authentic but unknown: OK with the flag, nothing forwarded */
	assert_int_equal(
	    hook(fx, "TwilioStatus", &p, TWILIO_TOKEN, NULL, NULL, &r), GW_OK);
	assert_false(r->known);
	assert_false(r->applied);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	/* forged: refused */
	assert_int_equal(
	    hook(fx, "TwilioStatus", &p, OTHER_TOKEN, NULL, NULL, NULL),
	    GW_EAUTH);
	p.kv[5] = "AC00000000000000000000000000000000";
	assert_int_equal(
	    hook(fx, "TwilioStatus", &p, TWILIO_TOKEN, NULL, NULL, NULL),
	    GW_EAUTH);
	th_sleep_ms(100);
	assert_int_equal(th_upstream_count(fx->rx), 0);
}

static int64_t
balance(struct fx *fx)
{
	Relay__V1__IdRequest id = RELAY__V1__ID_REQUEST__INIT;
	Relay__V1__Client   *c;
	int64_t              b;

	id.id = fx->client;
	admin(fx, "GetClient", &id.base, &c);
	b = c->balance_micros;
	protobuf_c_message_free_unpacked(&c->base, NULL);
	return b;
}

static void
test_status_scrambled(void **state)
{
	struct fx *fx = *state;
	/* Twilio's statuses in order, and the final one each message gets */
	static const char *const finals[] = { "delivered", "undelivered",
		"failed", "delivered", "delivered" };
	static const int         orders[][4] = { { 3, 2, 1, 0 }, { 1, 3, 0, 2 },
		        { 2, 0, 3, 1 }, { 0, 1, 2, 3 }, { 3, 0, 0, 3 } };
	enum { N = 5 };
	char    sids[N][40], ups[N][64], urls[N][256], evs[32][64];
	size_t  nev = 0;
	int64_t before;

	for (int i = 0; i < N; i++) {
		sent_sms(fx, sids[i], ups[i]);
		snprintf(urls[i], sizeof(urls[i]), STATUS_URL "?relay_sid=%s",
		    sids[i]);
	}
	before = balance(fx);
	for (int step = 0; step < 4; step++) {
		for (int i = 0; i < N; i++) {
			const char *seq[4] = { "queued", "sending", "sent",
				finals[i] };
			const char *st = seq[orders[i][step]];
			bool        final = orders[i][step] == 3;
			struct post p = { urls[i],
				{ "MessageSid", ups[i], "MessageStatus", st,
				    "AccountSid", TWILIO_SID, "ErrorCode",
				    final && strcmp(st, "delivered") != 0
				        ? "30003"
				        : "",
				    NULL } };
			Relay__V1__TwilioStatusReply *r;
			Relay__V1__Message           *before_m, *m;

			before_m = get(fx, sids[i]);
			assert_int_equal(hook(fx, "TwilioStatus", &p,
			                     TWILIO_TOKEN, NULL, NULL, &r),
			    GW_OK);
			m = get(fx, sids[i]);
			/* never backwards */
			assert_true(rank(m->status) >= rank(before_m->status));
			assert_string_equal(r->status, m->status);
			if (r->applied) {
				assert_true(nev < 32);
				snprintf(evs[nev++], 64, "%s", r->event_id);
			}
			protobuf_c_message_free_unpacked(&r->base, NULL);
			protobuf_c_message_free_unpacked(&m->base, NULL);
			protobuf_c_message_free_unpacked(&before_m->base, NULL);
		}
	}
	for (int i = 0; i < N; i++) {
		Relay__V1__Message *m = get(fx, sids[i]);

		assert_string_equal(m->status, finals[i]);
		if (strcmp(finals[i], "delivered") != 0)
			assert_string_equal(m->error_code, "30003");
		protobuf_c_message_free_unpacked(&m->base, NULL);
	}
	/* the failed one is refunded, once */
	assert_int_equal(balance(fx), before + PRICE);
	wait_acked(fx, 0, evs, nev, 5000);
	th_sleep_ms(100);
	assert_int_equal(th_upstream_count(fx->rx), nev);
}

/* ---- forwarding ------------------------------------------------------ */

static void
inbound_post(struct post *p, const char *msid, const char *to, const char *body)
{
	*p = (struct post) { INBOUND_URL,
		{ "MessageSid", msid, "SmsMessageSid", msid, "AccountSid",
		    TWILIO_SID, "From", "+14155550123", "To", to, "Body", body,
		    "NumMedia", "0", NULL } };
}

static void
test_forward_recovers_exactly_once(void **state)
{
	struct fx *fx = *state;
	enum { N = 8, FAILING = 12 };
	enum th_answer                      fails[FAILING];
	char                                evs[N][64], msid[N][40], body[32];
	Relay__V1__ListWebhookEventsRequest lr =
	    RELAY__V1__LIST_WEBHOOK_EVENTS_REQUEST__INIT;
	Relay__V1__WebhookEventList *list;
	uint32_t                     retried = 0;

	/* the client's endpoint fails for a while, then recovers */
	for (int i = 0; i < FAILING; i++)
		fails[i] = i % 3 == 2 ? TH_ANSWER_HANG : TH_ANSWER_500;
	th_upstream_script(fx->rx, fails, FAILING, TH_ANSWER_201);
	for (int i = 0; i < N; i++) {
		Relay__V1__TwilioInboundReply *r;
		struct post                    p;

		snprintf(msid[i], 40, "SM%032x", 0x100 + i);
		snprintf(body, sizeof(body), "message %d", i);
		inbound_post(&p, msid[i], TN, body);
		assert_int_equal(
		    hook(fx, "TwilioInbound", &p, TWILIO_TOKEN, NULL, NULL, &r),
		    GW_OK);
		assert_true(r->stored);
		snprintf(evs[i], 64, "%s", r->event_id);
		protobuf_c_message_free_unpacked(&r->base, NULL);
	}
	wait_acked(fx, FAILING, evs, N, 15000);
	th_sleep_ms(200);
	/* every event once: acked() fails on a second acknowledgement */
	{
		static char ids[MAX_EVENTS][64];

		assert_int_equal(acked(fx, FAILING, ids, MAX_EVENTS), N);
	}
	lr.client_id = fx->client;
	admin(fx, "ListWebhookEvents", &lr.base, &list);
	assert_int_equal(list->n_events, N);
	for (size_t i = 0; i < list->n_events; i++) {
		assert_int_equal(list->events[i]->state,
		    RELAY__V1__WEBHOOK_EVENT_STATE__EVENT_DELIVERED);
		retried += list->events[i]->attempts - 1;
	}
	assert_true(retried >= FAILING);
	protobuf_c_message_free_unpacked(&list->base, NULL);
}

static void
test_forward_dead_letter(void **state)
{
	struct fx                          *fx = *state;
	Relay__V1__TwilioInboundReply      *r;
	Relay__V1__ListWebhookEventsRequest lr =
	    RELAY__V1__LIST_WEBHOOK_EVENTS_REQUEST__INIT;
	Relay__V1__WebhookEventList *list = NULL;
	struct post                  p;
	enum th_answer               fails[1] = { TH_ANSWER_500 };

	gw_forwarder_stop(fx->fwd);
	fwd_start(fx, 300);
	th_upstream_script(fx->rx, fails, 0, TH_ANSWER_500);
	inbound_post(&p, "SM000000000000000000000000000000dd", TN, "lost");
	assert_int_equal(
	    hook(fx, "TwilioInbound", &p, TWILIO_TOKEN, NULL, NULL, &r), GW_OK);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	lr.state = RELAY__V1__WEBHOOK_EVENT_STATE__EVENT_DEAD;
	for (int t = 0; t < 300; t++) {
		admin(fx, "ListWebhookEvents", &lr.base, &list);
		if (list->n_events == 1)
			break;
		protobuf_c_message_free_unpacked(&list->base, NULL);
		list = NULL;
		th_sleep_ms(10);
	}
	assert_non_null(list);
	assert_true(list->events[0]->attempts >= 2);
	assert_string_equal(
	    list->events[0]->last_error, "the client answered HTTP 500");
	protobuf_c_message_free_unpacked(&list->base, NULL);
	/* and it is not tried again */
	{
		size_t n = th_upstream_count(fx->rx);

		th_sleep_ms(300);
		assert_int_equal(th_upstream_count(fx->rx), n);
	}
}

/* ---- inbound --------------------------------------------------------- */

static size_t
inbound_count(struct fx *fx, uint64_t client)
{
	Relay__V1__ListInboundRequest req =
	    RELAY__V1__LIST_INBOUND_REQUEST__INIT;
	Relay__V1__InboundList *l;
	size_t                  n;

	req.client_id = client;
	admin(fx, "ListInbound", &req.base, &l);
	n = l->n_messages;
	protobuf_c_message_free_unpacked(&l->base, NULL);
	return n;
}

#define XML_DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"

static void
test_inbound(void **state)
{
	struct fx                       *fx = *state;
	Relay__V1__SetTnAutoReplyRequest ar =
	    RELAY__V1__SET_TN_AUTO_REPLY_REQUEST__INIT;
	Relay__V1__ListInboundRequest lr =
	    RELAY__V1__LIST_INBOUND_REQUEST__INIT;
	Relay__V1__TwilioInboundReply *r;
	Relay__V1__InboundList        *l;
	Relay__V1__Tn                 *t;
	struct post                    p;
	char                           ev[1][64];

	ar.number = TN;
	ar.text = "Thanks <you> & \"yours\" 'too'\nbye";
	admin(fx, "SetTnAutoReply", &ar.base, &t);
	assert_string_equal(t->auto_reply, ar.text);
	protobuf_c_message_free_unpacked(&t->base, NULL);

	/* bad, missing and tampered signatures: refused, nothing stored */
	inbound_post(&p, "SM000000000000000000000000000000a1", TN, "hi <b>");
	assert_int_equal(
	    hook(fx, "TwilioInbound", &p, "bad", NULL, NULL, NULL), GW_EAUTH);
	assert_int_equal(
	    hook(fx, "TwilioInbound", &p, NULL, NULL, NULL, NULL), GW_EAUTH);
	assert_int_equal(
	    hook(fx, "TwilioInbound", &p, TWILIO_TOKEN, "Body", "hi <i>", NULL),
	    GW_EAUTH);
	assert_int_equal(inbound_count(fx, 0), 0);

	/* valid: the auto-reply, escaped; stored and forwarded */
	assert_int_equal(
	    hook(fx, "TwilioInbound", &p, TWILIO_TOKEN, NULL, NULL, &r), GW_OK);
	assert_string_equal(r->twiml,
	    XML_DECL "<Response><Message>Thanks &lt;you&gt; &amp; "
	             "&quot;yours&quot; &apos;too&apos;\nbye</Message>"
	             "</Response>");
	assert_true(r->known_number);
	assert_true(r->stored);
	assert_false(r->duplicate);
	snprintf(ev[0], 64, "%s", r->event_id);
	protobuf_c_message_free_unpacked(&r->base, NULL);

	/* replayed: same answer, stored once, forwarded once */
	assert_int_equal(
	    hook(fx, "TwilioInbound", &p, TWILIO_TOKEN, NULL, NULL, &r), GW_OK);
	assert_true(r->duplicate);
	assert_true(r->stored);
	assert_string_equal(r->event_id, ev[0]);
	assert_non_null(strstr(r->twiml, "<Message>Thanks"));
	protobuf_c_message_free_unpacked(&r->base, NULL);
	wait_acked(fx, 0, ev, 1, 3000);
	th_sleep_ms(150);
	assert_int_equal(th_upstream_count(fx->rx), 1);

	lr.client_id = fx->client;
	admin(fx, "ListInbound", &lr.base, &l);
	assert_int_equal(l->n_messages, 1);
	assert_string_equal(l->messages[0]->body, "hi <b>");
	assert_string_equal(l->messages[0]->to, TN);
	assert_string_equal(
	    l->messages[0]->provider_sid, "SM000000000000000000000000000000a1");
	assert_int_equal(l->messages[0]->account_id, fx->account);
	protobuf_c_message_free_unpacked(&l->base, NULL);

	/* cleared: an empty answer, still stored */
	ar.text = "";
	admin(fx, "SetTnAutoReply", &ar.base, &t);
	protobuf_c_message_free_unpacked(&t->base, NULL);
	inbound_post(&p, "SM000000000000000000000000000000a2", TN, "again");
	assert_int_equal(
	    hook(fx, "TwilioInbound", &p, TWILIO_TOKEN, NULL, NULL, &r), GW_OK);
	assert_string_equal(r->twiml, XML_DECL "<Response/>");
	assert_true(r->stored);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	assert_int_equal(inbound_count(fx, fx->client), 2);
}

static void
test_inbound_unknown_number(void **state)
{
	struct fx                     *fx = *state;
	Relay__V1__TwilioInboundReply *r;
	Relay__V1__TnRequest           tn = RELAY__V1__TN_REQUEST__INIT;
	Relay__V1__Tn                 *t;
	struct post                    p;

	/* not in the pool: an empty Response, nothing stored */
	inbound_post(&p, "SM000000000000000000000000000000b1", "+14155550111",
	    "anyone?");
	assert_int_equal(
	    hook(fx, "TwilioInbound", &p, TWILIO_TOKEN, NULL, NULL, &r), GW_OK);
	assert_string_equal(r->twiml, XML_DECL "<Response/>");
	assert_false(r->known_number);
	assert_false(r->stored);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	/* still signed: a forgery is refused */
	assert_int_equal(
	    hook(fx, "TwilioInbound", &p, OTHER_TOKEN, NULL, NULL, NULL),
	    GW_EAUTH);
	/* in the pool, unassigned: answered, not stored */
	tn.number = "+14155550111";
	admin(fx, "AddTn", &tn.base, &t);
	protobuf_c_message_free_unpacked(&t->base, NULL);
	assert_int_equal(
	    hook(fx, "TwilioInbound", &p, TWILIO_TOKEN, NULL, NULL, &r), GW_OK);
	assert_true(r->known_number);
	assert_false(r->stored);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	assert_int_equal(inbound_count(fx, 0), 0);
	th_sleep_ms(100);
	assert_int_equal(th_upstream_count(fx->rx), 0);
}

static void
test_inbound_pinned_account(void **state)
{
	struct fx                     *fx = *state;
	Relay__V1__AssignTnRequest     as = RELAY__V1__ASSIGN_TN_REQUEST__INIT;
	Relay__V1__TwilioInboundReply *r;
	Relay__V1__Tn                 *t;
	struct post                    p;

	as.number = TN;
	as.client_id = fx->client;
	as.account_id = fx->account;
	admin(fx, "AssignTn", &as.base, &t);
	assert_int_equal(t->account_id, fx->account);
	protobuf_c_message_free_unpacked(&t->base, NULL);
	inbound_post(&p, "SM000000000000000000000000000000c1", TN, "pinned");
	assert_int_equal(
	    hook(fx, "TwilioInbound", &p, TWILIO_TOKEN, NULL, NULL, &r), GW_OK);
	assert_true(r->stored);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	/* another AccountSid, even correctly signed, is not this number's */
	p.kv[5] = "AC00000000000000000000000000000000";
	p.kv[1] = p.kv[3] = "SM000000000000000000000000000000c2";
	assert_int_equal(
	    hook(fx, "TwilioInbound", &p, TWILIO_TOKEN, NULL, NULL, NULL),
	    GW_EAUTH);
	assert_int_equal(inbound_count(fx, fx->client), 1);
}

static void
test_secret_sealed(void **state)
{
	struct fx           *fx = *state;
	Relay__V1__IdRequest id = RELAY__V1__ID_REQUEST__INIT;
	Relay__V1__Client   *c;
	char                 path[512];

	id.id = fx->client;
	admin(fx, "GetClient", &id.base, &c);
	assert_true(c->has_webhook_secret);
	assert_true(c->webhook_secret_unix_ms > 0);
	protobuf_c_message_free_unpacked(&c->base, NULL);
	/* unknown client */
	id.id = 999;
	assert_int_equal(call(fx, &relay__v1__admin__descriptor, TOKEN, NULL,
	                     "RotateWebhookSecret", &id.base, NULL),
	    GW_ENOTFOUND);
	snprintf(path, sizeof(path), "%s/data.mdb", fx->dir);
	assert_false(th_file_contains(path, fx->secret, strlen(fx->secret)));
	assert_false(th_file_contains(path, fx->secret + 6, 20));
}

static void
test_helpers(void **state)
{
	char  v[16], hex[GW_WEBHOOK_SIG_HEX + 1];
	char *s;

	(void) state;
	assert_int_equal(gw_url_query_get("https://h/p?a=1&relay_sid=SM1&b",
	                     "relay_sid", v, sizeof(v)),
	    GW_OK);
	assert_string_equal(v, "SM1");
	assert_int_equal(
	    gw_url_query_get("https://h/p?xrelay_sid=1#relay_sid=2",
	        "relay_sid", v, sizeof(v)),
	    GW_ENOTFOUND);
	assert_int_equal(
	    gw_url_query_get("https://h/p?b", "b", v, sizeof(v)), GW_OK);
	assert_string_equal(v, "");
	assert_int_equal(gw_url_query_get("https://h/p?b=0123456789abcdefg",
	                     "b", v, sizeof(v)),
	    GW_ETOOBIG);
	assert_int_equal(gw_twiml_reply("a\001b]]>", &s), GW_OK);
	assert_string_equal(s,
	    XML_DECL "<Response><Message>ab]]&gt;</Message>"
	             "</Response>");
	free(s);
	/* RFC 4231 test case 2 shape: key "Jefe", over "0.<data>" */
	assert_int_equal(gw_webhook_sign("Jefe", 4, 0,
	                     "what do ya want for nothing?", 28, hex),
	    GW_OK);
	{
		unsigned char mac[32];
		unsigned int  ml;
		char          want[65];

		HMAC(EVP_sha256(), "Jefe", 4,
		    (const unsigned char *) "0.what do ya want for nothing?",
		    30, mac, &ml);
		for (int i = 0; i < 32; i++)
			snprintf(want + 2 * i, 3, "%02x", mac[i]);
		assert_string_equal(hex, want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_helpers),
		cmocka_unit_test_setup_teardown(
		    test_status_signature, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_status_unknown_message, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_status_scrambled, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_forward_recovers_exactly_once, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_forward_dead_letter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inbound, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_inbound_unknown_number, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_inbound_pinned_account, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_secret_sealed, setup, teardown),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
