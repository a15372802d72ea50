/*
 * webhooks.c - the Webhooks service: Twilio's status callbacks and
 * inbound messages, as relay-http hands them over, and the event queue
 * that carries the results to clients.
 *
 * Every call is authenticated by the provider's signature, checked here
 * with the sealed token of the account concerned (the bridge never holds
 * a token): for a status callback, the account that sent the message;
 * for an inbound message, the account pinned on the TN, else the Twilio
 * account whose SID is the AccountSid parameter. A callback for a message
 * Relay does not know is checked against the accounts with that
 * AccountSid, so a forged one is refused like any other.
 *
 * Nothing is written before the signature is verified. Then one write
 * function applies the change and queues the event for the client in the
 * same transaction (gw_event_enqueue); the forwarder delivers it later,
 * so a slow client never delays the answer to the provider.
 */
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "core_impl.h"
#include "gw/clock.h"
#include "gw/e164.h"
#include "gw/err.h"
#include "gw/log.h"
#include "gw/twilio_sig.h"
#include "gw/webhook.h"
#include "ledger_impl.h"
#include "valid_impl.h"
#include "webhooks_impl.h"

#define CORE(svc) GW_CONTAINER_OF(svc, struct gw_core, webhooks)
#define PUBLIC_URL_MAX 4096
#define SID_MAX 64
#define ERR_CODE_MAX 32
#define ERR_MSG_MAX 256
#define BODY_MAX (16 * 1024) /* Twilio's inbound bodies stop at 1600 */
#define MEDIA_MAX 10
#define CANDIDATES_MAX 32 /* accounts tried for one AccountSid */

/* ---- shared with the dispatcher, the forwarder and admin ------------- */

int
gw_status_rank(Relay__V1__MessageStatus st)
{
	switch (st) {
	case RELAY__V1__MESSAGE_STATUS__MESSAGE_QUEUED:
		return 1;
	case RELAY__V1__MESSAGE_STATUS__MESSAGE_SENDING:
		return 2;
	case RELAY__V1__MESSAGE_STATUS__MESSAGE_SENT:
		return 3;
	case RELAY__V1__MESSAGE_STATUS__MESSAGE_DELIVERED:
	case RELAY__V1__MESSAGE_STATUS__MESSAGE_UNDELIVERED:
	case RELAY__V1__MESSAGE_STATUS__MESSAGE_FAILED:
		return 4;
	default:
		return 0;
	}
}

void
gw_event_id(const char *type, const char *a, const char *b,
    char out[GW_EVENT_ID_LEN + 1])
{
	crypto_hash_sha256_state st;
	uint8_t                  h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *) type, strlen(type));
	crypto_hash_sha256_update(&st, (const uint8_t *) "\n", 1);
	crypto_hash_sha256_update(&st, (const uint8_t *) a, strlen(a));
	crypto_hash_sha256_update(&st, (const uint8_t *) "\n", 1);
	crypto_hash_sha256_update(&st, (const uint8_t *) b, strlen(b));
	crypto_hash_sha256_final(&st, h);
	memcpy(out, "evt_", 4);
	sodium_bin2hex(out + 4, 33, h, 16);
}

int
gw_event_enqueue(struct gw_txn *txn, const struct gw_event_in *e, uint64_t *seq)
{
	Relay__V1__WebhookEvent ev = RELAY__V1__WEBHOOK_EVENT__INIT;
	const void             *v;
	size_t                  vlen;
	uint8_t                 k[16];
	int                     rc;

	rc = gw_txn_get_raw(
	    txn, GW_DB_EVENT_IDS, e->id, strlen(e->id), &v, &vlen);
	if (rc == GW_OK)
		return GW_EEXIST;
	if (rc != GW_ENOTFOUND)
		return rc;
	if ((rc = gw_txn_next_id(txn, "event", &ev.seq)) != GW_OK)
		return rc;
	ev.id = (char *) e->id;
	ev.type = (char *) e->type;
	ev.client_id = e->client_id;
	ev.url = (char *) e->url;
	ev.body.data = (uint8_t *) e->body;
	ev.body.len = e->body_len;
	ev.state = RELAY__V1__WEBHOOK_EVENT_STATE__EVENT_PENDING;
	ev.created_unix_ms = e->now;
	ev.updated_unix_ms = e->now;
	ev.next_attempt_unix_ms = e->now;
	gw_key_put_u64(k, ev.seq);
	if ((rc = gw_txn_put(txn, GW_DB_EVENTS, k, 8, &ev.base,
	         GW_PUT_NOOVERWRITE)) != GW_OK ||
	    (rc = gw_txn_put_raw(txn, GW_DB_EVENT_IDS, e->id, strlen(e->id), k,
	         8, GW_PUT_NOOVERWRITE)) != GW_OK)
		return rc;
	gw_key_put_u64(k, (uint64_t) e->now);
	gw_key_put_u64(k + 8, ev.seq);
	if ((rc = gw_txn_put_raw(txn, GW_DB_EVENT_QUEUE, k, 16, "", 0,
	         GW_PUT_NOOVERWRITE)) != GW_OK)
		return rc;
	*seq = ev.seq;
	return GW_OK;
}

void
gw_webhook_secret_ad(char *ad, size_t len, uint64_t client_id)
{
	snprintf(ad, len, "relay.v1.client.webhook_secret:%llu",
	    (unsigned long long) client_id);
}

void
gw_rfc3339_ms(int64_t ms, char out[32])
{
	time_t    t = (time_t) (ms / 1000);
	struct tm tm;

	char   date[24];
	size_t n;

	gmtime_r(&t, &tm);
	n = strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, 32, "%.*s.%03dZ", (int) n, date, (int) (ms % 1000));
}

/* ---- request parsing ------------------------------------------------- */

struct hook {
	const Relay__V1__TwilioWebhookRequest *req;
	const char                            *what; /* for log lines */
	struct gw_kv                          *kv;
	size_t                                 n;
};

/* hook_open checks the request's shape and views its params as gw_kv.
 * Fails the call on error (a missing signature is GW_EAUTH). */
static int
hook_open(struct gw_call *call, const Relay__V1__TwilioWebhookRequest *req,
    const char *what, struct hook *h)
{
	memset(h, 0, sizeof(*h));
	h->req = req;
	h->what = what;
	if (req->public_url[0] == '\0' ||
	    !gw_text_ok(req->public_url, PUBLIC_URL_MAX))
		return gw_call_fail(call, GW_EINVAL,
		    "public_url: 1 to %d bytes, no control characters",
		    PUBLIC_URL_MAX);
	if (req->n_params > GW_TWILIO_SIG_MAX_PARAMS)
		return gw_call_fail(call, GW_ETOOBIG, "more than %d parameters",
		    GW_TWILIO_SIG_MAX_PARAMS);
	if (req->signature[0] == '\0') {
		gw_warn("webhooks", "twilio %s: no X-Twilio-Signature; refused",
		    what);
		return gw_call_fail(call, GW_EAUTH, "signature missing");
	}
	if (req->n_params > 0 &&
	    (h->kv = calloc(req->n_params, sizeof(*h->kv))) == NULL)
		return gw_call_fail(call, GW_ENOMEM, "out of memory");
	for (size_t i = 0; i < req->n_params; i++) {
		const Relay__V1__FormParam *p = req->params[i];

		h->kv[i].key = (const char *) p->key.data;
		h->kv[i].key_len = p->key.len;
		h->kv[i].val = (const char *) p->value.data;
		h->kv[i].val_len = p->value.len;
	}
	h->n = req->n_params; /* the RPC layer caps their total size */
	return GW_OK;
}

static void
hook_close(struct hook *h)
{
	free(h->kv);
}

/* hook_param copies the first value of the parameter named name into
 * out as text. GW_ENOTFOUND when absent; GW_EINVAL when it does not fit
 * or holds a NUL or control character. */
static int
hook_param(const struct hook *h, const char *name, char *out, size_t outlen)
{
	size_t nlen = strlen(name);

	for (size_t i = 0; i < h->n; i++) {
		const struct gw_kv *kv = &h->kv[i];

		if (kv->key_len != nlen || memcmp(kv->key, name, nlen) != 0)
			continue;
		/* an empty value may come with a NULL pointer */
		if (kv->val_len >= outlen ||
		    (kv->val_len > 0 &&
			memchr(kv->val, '\0', kv->val_len) != NULL))
			return GW_EINVAL;
		if (kv->val_len > 0)
			memcpy(out, kv->val, kv->val_len);
		out[kv->val_len] = '\0';
		for (size_t j = 0; j < kv->val_len; j++)
			if ((unsigned char) out[j] < 0x20 && out[j] != '\n' &&
			    out[j] != '\r' && out[j] != '\t')
				return GW_EINVAL;
		return GW_OK;
	}
	out[0] = '\0';
	return GW_ENOTFOUND;
}

/* hook_id reads an identifier parameter (a SID): letters and digits. */
static int
hook_id(const struct hook *h, const char *name, const char *alt, char *out,
    size_t outlen)
{
	int rc = hook_param(h, name, out, outlen);

	if (rc == GW_ENOTFOUND && alt != NULL)
		rc = hook_param(h, alt, out, outlen);
	if (rc != GW_OK) {
		out[0] = '\0';
		return rc;
	}
	for (const char *p = out; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		        (*p >= 'A' && *p <= 'Z') || *p == '_' || *p == '-')) {
			out[0] = '\0';
			return GW_EINVAL;
		}
	return GW_OK;
}

/* ---- signature ------------------------------------------------------- */

/* verify_with checks h's signature with the token of acct. GW_OK,
 * GW_EAUTH, or an error of unsealing (never the token). */
static int
verify_with(struct gw_core *core, const struct hook *h,
    const Relay__V1__AccountRecord *acct)
{
	char     ad[128];
	uint8_t *pt;
	size_t   len = 0;
	int      rc;

	if (acct->kind != RELAY__V1__ACCOUNT_KIND__ACCOUNT_TWILIO ||
	    acct->token_sealed.len == 0)
		return GW_EAUTH;
	if ((pt = sodium_malloc(acct->token_sealed.len)) == NULL)
		return GW_ENOMEM;
	snprintf(ad, sizeof(ad), "relay.v1.account.token:%s", acct->sid);
	rc = gw_unseal(core->keyring, ad, acct->token_sealed.data,
	    acct->token_sealed.len, pt, &len);
	if (rc == GW_OK)
		rc = gw_twilio_sig_verify((const char *) pt, len,
		    h->req->public_url, h->kv, h->n,
		    (const char *) h->req->raw_body.data, h->req->raw_body.len,
		    h->req->signature);
	sodium_memzero(pt, acct->token_sealed.len);
	sodium_free(pt);
	return rc;
}

struct candidates {
	const char               *sid; /* "" matches every Twilio account */
	Relay__V1__AccountRecord *acct[CANDIDATES_MAX];
	size_t                    n;
};

static int
candidate_one(
    const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
	struct candidates        *c = arg;
	Relay__V1__AccountRecord *a;

	(void) key;
	(void) klen;
	if ((a = relay__v1__account_record__unpack(NULL, vlen, val)) == NULL)
		return 0;
	if (a->kind != RELAY__V1__ACCOUNT_KIND__ACCOUNT_TWILIO ||
	    (c->sid[0] != '\0' && strcmp(a->sid, c->sid) != 0)) {
		relay__v1__account_record__free_unpacked(a, NULL);
		return 0;
	}
	c->acct[c->n++] = a;
	return c->n == CANDIDATES_MAX;
}

static void
candidates_free(struct candidates *c)
{
	for (size_t i = 0; i < c->n; i++)
		relay__v1__account_record__free_unpacked(c->acct[i], NULL);
	c->n = 0;
}

/* verify_any checks h's signature against each candidate; *which gets
 * the account that verified it. GW_EAUTH when none does. */
static int
verify_any(struct gw_core *core, const struct hook *h,
    const struct candidates *c, uint64_t *which)
{
	int rc = GW_EAUTH;

	for (size_t i = 0; i < c->n; i++) {
		rc = verify_with(core, h, c->acct[i]);
		if (rc == GW_OK) {
			*which = c->acct[i]->id;
			return GW_OK;
		}
		if (rc != GW_EAUTH)
			return rc;
	}
	return GW_EAUTH;
}

/* refuse logs the one line a refused webhook gets (never the token or
 * the signature) and fails the call. */
static int
refuse(struct gw_call *call, const struct hook *h, int rc, const char *ctx)
{
	if (rc == GW_EAUTH) {
		gw_warn("webhooks", "twilio %s: bad signature (%s); refused",
		    h->what, ctx);
		return gw_call_fail(call, GW_EAUTH, "signature invalid");
	}
	gw_error("webhooks", "twilio %s: verification failed: %s", h->what,
	    gw_strerror(rc));
	return gw_call_fail(call, rc, "signature check failed");
}

/* ---- status callbacks ------------------------------------------------ */

/* twilio_status maps Twilio's MessageStatus onto ours. */
static int
twilio_status(const char *s, Relay__V1__MessageStatus *out)
{
	static const struct {
		const char              *twilio;
		Relay__V1__MessageStatus st;
	} map[] = {
		{ "accepted", RELAY__V1__MESSAGE_STATUS__MESSAGE_SENDING },
		{ "scheduled", RELAY__V1__MESSAGE_STATUS__MESSAGE_SENDING },
		{ "queued", RELAY__V1__MESSAGE_STATUS__MESSAGE_SENDING },
		{ "sending", RELAY__V1__MESSAGE_STATUS__MESSAGE_SENDING },
		{ "sent", RELAY__V1__MESSAGE_STATUS__MESSAGE_SENT },
		{ "delivered", RELAY__V1__MESSAGE_STATUS__MESSAGE_DELIVERED },
		{ "read", RELAY__V1__MESSAGE_STATUS__MESSAGE_DELIVERED },
		{ "undelivered",
		    RELAY__V1__MESSAGE_STATUS__MESSAGE_UNDELIVERED },
		{ "failed", RELAY__V1__MESSAGE_STATUS__MESSAGE_FAILED },
		{ "canceled", RELAY__V1__MESSAGE_STATUS__MESSAGE_FAILED },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(s, map[i].twilio) == 0) {
			*out = map[i].st;
			return GW_OK;
		}
	return GW_EINVAL;
}

/* relay_sid_id returns the message id a Relay sid embeds ("SM" + 16 hex
 * of the id + 16 hex). */
static int
relay_sid_id(const char *sid, uint64_t *id)
{
	uint64_t v = 0;

	if (strlen(sid) != 34 || sid[0] != 'S' || sid[1] != 'M')
		return GW_EINVAL;
	for (int i = 2; i < 34; i++) {
		char c = sid[i];
		int  x = c >= '0' && c <= '9' ? c - '0'
		     : c >= 'a' && c <= 'f'   ? c - 'a' + 10
		                              : -1;

		if (x < 0)
			return GW_EINVAL;
		if (i < 18)
			v = v << 4 | (uint64_t) x;
	}
	*id = v;
	return GW_OK;
}

/* find_message looks the message up by the relay_sid of the callback URL
 * (which we put there, and which the signature covers), then by the
 * provider's MessageSid. *m stays NULL when neither knows it. */
static int
find_message(struct gw_txn *txn, const char *relay_sid, const char *msid,
    Relay__V1__MessageRecord **m)
{
	const void *v;
	size_t      vlen;
	uint64_t    id;
	uint8_t     k[8];
	int         rc;

	*m = NULL;
	if (relay_sid[0] != '\0' && relay_sid_id(relay_sid, &id) == GW_OK) {
		gw_key_put_u64(k, id);
		rc = gw_txn_get(txn, GW_DB_MESSAGES, k, 8,
		    &relay__v1__message_record__descriptor,
		    (ProtobufCMessage **) m);
		if (rc != GW_OK && rc != GW_ENOTFOUND)
			return rc;
		if (*m != NULL && strcmp((*m)->sid, relay_sid) != 0) {
			relay__v1__message_record__free_unpacked(*m, NULL);
			*m = NULL;
		}
		if (*m != NULL)
			return GW_OK;
	}
	if (msid[0] == '\0')
		return GW_OK;
	rc = gw_txn_get_raw(
	    txn, GW_DB_MSG_BY_UPSTREAM, msid, strlen(msid), &v, &vlen);
	if (rc == GW_ENOTFOUND || (rc == GW_OK && vlen != 8))
		return GW_OK;
	if (rc != GW_OK)
		return rc;
	rc = gw_txn_get(txn, GW_DB_MESSAGES, v, 8,
	    &relay__v1__message_record__descriptor, (ProtobufCMessage **) m);
	return rc == GW_ENOTFOUND ? GW_OK : rc;
}

struct status_w {
	int64_t                  now;
	uint64_t                 id;
	Relay__V1__MessageStatus status;
	const char              *err_code;
	const char              *err_msg;
	const char              *upstream_sid;

	/* out, reset on every run */
	bool                     applied;
	Relay__V1__MessageStatus final;
	char                     event_id[GW_EVENT_ID_LEN + 1];
};

/* status_event builds the message.status document. Returns malloc'd
 * JSON or NULL. */
static char *
status_event(const char *id, const Relay__V1__MessageRecord *m,
    Relay__V1__MessageStatus prev, int64_t now)
{
	char    at[32];
	json_t *o;
	char   *s;

	gw_rfc3339_ms(now, at);
	o = json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s, "
	              "s:s}}",
	    "id", id, "type", GW_EVENT_STATUS, "created_at", at, "data", "sid",
	    m->sid, "status", gw_message_status_name(m->status),
	    "previous_status", gw_message_status_name(prev), "to", m->to,
	    "from", m->from, "error_code", m->error_code, "error_message",
	    m->error_message, "provider_sid", m->upstream_sid);
	if (o == NULL)
		return NULL;
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

static int
status_fn(struct gw_txn *txn, void *arg)
{
	struct status_w          *a = arg;
	Relay__V1__MessageRecord *m = NULL;
	Relay__V1__ClientRecord  *c = NULL;
	Relay__V1__LedgerEntry    e;
	Relay__V1__MessageStatus  prev;
	char                     *own[3], *body = NULL;
	bool                      sid_new = false;
	uint8_t                   k[8];
	uint64_t                  seq;
	int                       rc;

	a->applied = false;
	a->event_id[0] = '\0';
	gw_key_put_u64(k, a->id);
	rc = gw_txn_get(txn, GW_DB_MESSAGES, k, 8,
	    &relay__v1__message_record__descriptor, (ProtobufCMessage **) &m);
	if (rc != GW_OK)
		return rc;
	own[0] = m->upstream_sid;
	own[1] = m->error_code;
	own[2] = m->error_message;
	prev = m->status;
	a->final = prev;
	if (m->upstream_sid[0] == '\0' && a->upstream_sid[0] != '\0') {
		/* the callback overtook the provider's answer */
		m->upstream_sid = (char *) a->upstream_sid;
		sid_new = true;
		if ((rc = gw_txn_put_raw(txn, GW_DB_MSG_BY_UPSTREAM,
		         a->upstream_sid, strlen(a->upstream_sid), k, 8, 0)) !=
		    GW_OK)
			goto out;
	}
	if (gw_status_rank(a->status) <= gw_status_rank(prev)) {
		if (sid_new)
			rc = gw_txn_put(txn, GW_DB_MESSAGES, k, 8, &m->base, 0);
		goto out; /* late or duplicate: never backwards */
	}
	a->applied = true;
	a->final = a->status;
	m->status = a->status;
	m->updated_unix_ms = a->now;
	if (a->err_code[0] != '\0' || a->err_msg[0] != '\0') {
		m->error_code = (char *) a->err_code;
		m->error_message = (char *) a->err_msg;
	}
	gw_key_put_u64(k, m->client_id);
	rc = gw_txn_get(txn, GW_DB_CLIENTS, k, 8,
	    &relay__v1__client_record__descriptor, (ProtobufCMessage **) &c);
	if (rc != GW_OK && rc != GW_ENOTFOUND)
		goto out;
	rc = GW_OK;
	/* Twilio does not bill a failed message: give the money back, once
	 * (the dispatcher's permanent failures refund the same way) */
	if (a->status == RELAY__V1__MESSAGE_STATUS__MESSAGE_FAILED &&
	    c != NULL && !m->refunded && m->cost_micros > 0) {
		if ((rc = gw_ledger_apply(txn, c,
		         RELAY__V1__LEDGER_KIND__LEDGER_REFUND, m->cost_micros,
		         "sms failed", m->sid, a->now, &e)) != GW_OK)
			goto out;
		m->refunded = true;
	}
	{
		const char *url = m->status_callback_url[0] != '\0'
		    ? m->status_callback_url
		    : c != NULL ? c->status_callback_url
		                : "";

		if (url[0] != '\0') {
			struct gw_event_in ev = { .type = GW_EVENT_STATUS,
				.client_id = m->client_id,
				.url = url,
				.now = a->now };

			gw_event_id(GW_EVENT_STATUS, m->sid,
			    gw_message_status_name(m->status), a->event_id);
			if ((body = status_event(
			         a->event_id, m, prev, a->now)) == NULL) {
				rc = GW_ENOMEM;
				goto out;
			}
			ev.id = a->event_id;
			ev.body = body;
			ev.body_len = strlen(body);
			rc = gw_event_enqueue(txn, &ev, &seq);
			if (rc == GW_EEXIST)
				rc = GW_OK;
			if (rc != GW_OK)
				goto out;
		}
	}
	gw_key_put_u64(k, a->id);
	rc = gw_txn_put(txn, GW_DB_MESSAGES, k, 8, &m->base, 0);
out:
	free(body);
	m->upstream_sid = own[0];
	m->error_code = own[1];
	m->error_message = own[2];
	relay__v1__message_record__free_unpacked(m, NULL);
	if (c != NULL)
		relay__v1__client_record__free_unpacked(c, NULL);
	return rc;
}

static void
webhooks_twilio_status(Relay__V1__Webhooks_Service *svc,
    const Relay__V1__TwilioWebhookRequest          *req,
    Relay__V1__TwilioStatusReply_Closure done, void *arg)
{
	struct gw_core              *core = CORE(svc);
	Relay__V1__TwilioStatusReply out = RELAY__V1__TWILIO_STATUS_REPLY__INIT;
	Relay__V1__MessageRecord    *m = NULL;
	Relay__V1__AccountRecord    *acct = NULL;
	struct candidates            cand = { .sid = "" };
	struct status_w              w = { 0 };
	struct gw_txn               *txn = NULL;
	struct hook                  h;
	char     relay_sid[40] = "", msid[SID_MAX], acct_sid[SID_MAX];
	char     st[32], err_code[ERR_CODE_MAX], err_msg[ERR_MSG_MAX], ctx[96];
	uint64_t which = 0;
	bool     have_status;
	int      rc;

	if (hook_open(arg, req, "status", &h) != GW_OK)
		return;
	if (hook_id(&h, "MessageSid", "SmsSid", msid, sizeof(msid)) ==
	        GW_EINVAL ||
	    hook_id(&h, "AccountSid", NULL, acct_sid, sizeof(acct_sid)) ==
	        GW_EINVAL) {
		gw_call_fail(arg, GW_EINVAL, "MessageSid, AccountSid: SIDs");
		goto done;
	}
	have_status =
	    hook_param(&h, "MessageStatus", st, sizeof(st)) == GW_OK ||
	    hook_param(&h, "SmsStatus", st, sizeof(st)) == GW_OK;
	if (hook_param(&h, "ErrorCode", err_code, sizeof(err_code)) != GW_OK ||
	    !gw_text_ok(err_code, sizeof(err_code)))
		err_code[0] = '\0';
	if (hook_param(&h, "ErrorMessage", err_msg, sizeof(err_msg)) != GW_OK ||
	    !gw_text_ok(err_msg, sizeof(err_msg)))
		err_msg[0] = '\0';
	(void) gw_url_query_get(
	    req->public_url, "relay_sid", relay_sid, sizeof(relay_sid));

	if ((rc = gw_store_read(core->store, &txn)) != GW_OK) {
		gw_call_fail(arg, rc, "store unavailable");
		goto done;
	}
	rc = find_message(txn, relay_sid, msid, &m);
	if (rc == GW_OK && m != NULL) {
		uint8_t k[8];

		gw_key_put_u64(k, m->account_id);
		rc = gw_txn_get(txn, GW_DB_ACCOUNTS, k, 8,
		    &relay__v1__account_record__descriptor,
		    (ProtobufCMessage **) &acct);
		if (rc == GW_ENOTFOUND)
			rc = GW_OK; /* deleted: verify as for a stranger */
	}
	if (rc == GW_OK && acct == NULL) {
		cand.sid = acct_sid;
		rc = gw_txn_scan(txn, GW_DB_ACCOUNTS, NULL, 0, NULL, 0,
		    candidate_one, &cand);
	}
	gw_txn_end(txn);
	if (rc != GW_OK) {
		gw_call_fail(arg, rc, "store read failed");
		goto done;
	}

	if (acct != NULL) {
		rc = verify_with(core, &h, acct);
		snprintf(ctx, sizeof(ctx), "message %s, account %llu", m->sid,
		    (unsigned long long) acct->id);
	} else {
		rc = verify_any(core, &h, &cand, &which);
		snprintf(ctx, sizeof(ctx),
		    "unknown message %.40s, %zu "
		    "account(s) tried",
		    msid[0] ? msid : "-", cand.n);
	}
	if (rc != GW_OK) {
		refuse(arg, &h, rc, ctx);
		goto done;
	}
	if (m == NULL || acct == NULL) {
		/* authentic, but not ours to update: the provider gets 200
		 * so that it does not retry */
		gw_info("webhooks",
		    "twilio status: unknown message %.40s "
		    "(account %llu); ignored",
		    msid[0] ? msid : "-", (unsigned long long) which);
		done(&out, arg);
		goto done;
	}
	out.known = true;
	out.sid = m->sid;
	out.status = (char *) gw_message_status_name(m->status);
	w.now = gw_now_ms();
	w.id = m->id;
	w.err_code = err_code;
	w.err_msg = err_msg;
	w.upstream_sid = msid;
	if (!have_status || twilio_status(st, &w.status) != GW_OK) {
		gw_info("webhooks",
		    "twilio status: message %s: status '%.20s' "
		    "not understood; ignored",
		    m->sid, have_status ? st : "");
		w.status =
		    RELAY__V1__MESSAGE_STATUS__MESSAGE_STATUS_UNSPECIFIED;
	}
	if ((rc = gw_store_write(core->store, status_fn, &w)) != GW_OK) {
		gw_call_fail(arg, rc, "recording the status failed");
		goto done;
	}
	out.applied = w.applied;
	out.status = (char *) gw_message_status_name(w.final);
	out.event_id = w.event_id;
	if (w.event_id[0] != '\0')
		gw_forwarder_kick(atomic_load(&core->forwarder));
	gw_debug("webhooks", "message %s: %s%s", m->sid, out.status,
	    w.applied ? "" : " (unchanged)");
	done(&out, arg);
done:
	if (m != NULL)
		relay__v1__message_record__free_unpacked(m, NULL);
	if (acct != NULL)
		relay__v1__account_record__free_unpacked(acct, NULL);
	candidates_free(&cand);
	hook_close(&h);
}

/* ---- inbound messages ------------------------------------------------ */

struct inbound_w {
	int64_t     now;
	const char *provider_sid;
	const char *to;
	const char *from;
	const char *body;
	uint32_t    num_media;
	char      **media;
	size_t      n_media;
	uint64_t    client_id;
	uint64_t    account_id;

	/* out, reset on every run */
	uint64_t id;
	bool     duplicate;
	char     event_id[GW_EVENT_ID_LEN + 1];
};

static char *
inbound_event(const char *id, const Relay__V1__InboundMessage *r, int64_t now)
{
	char    at[32];
	json_t *o, *media;
	char   *s;

	if ((media = json_array()) == NULL)
		return NULL;
	for (size_t i = 0; i < r->n_media_urls; i++)
		json_array_append_new(media, json_string(r->media_urls[i]));
	gw_rfc3339_ms(now, at);
	o = json_pack("{s:s, s:s, s:s, s:{s:I, s:s, s:s, s:s, s:s, s:I, s:o}}",
	    "id", id, "type", GW_EVENT_INBOUND, "created_at", at, "data", "id",
	    (json_int_t) r->id, "provider_sid", r->provider_sid, "to", r->to,
	    "from", r->from, "body", r->body, "num_media",
	    (json_int_t) r->num_media, "media_urls", media);
	if (o == NULL)
		return NULL;
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

static int
inbound_fn(struct gw_txn *txn, void *arg)
{
	struct inbound_w          *a = arg;
	Relay__V1__InboundMessage  r = RELAY__V1__INBOUND_MESSAGE__INIT;
	Relay__V1__InboundMessage *old = NULL;
	Relay__V1__ClientRecord   *c = NULL;
	const void                *v;
	size_t                     vlen, plen = strlen(a->provider_sid);
	char                      *body = NULL;
	uint8_t                    k[16];
	uint64_t                   seq;
	int                        rc;

	a->id = 0;
	a->duplicate = false;
	a->event_id[0] = '\0';
	rc = gw_txn_get_raw(
	    txn, GW_DB_INBOUND_BY_SID, a->provider_sid, plen, &v, &vlen);
	if (rc == GW_OK && vlen == 8) {
		/* a replay: answer as the first time, store nothing */
		a->duplicate = true;
		a->id = gw_key_get_u64(v);
		gw_key_put_u64(k, ~a->id);
		rc = gw_txn_get(txn, GW_DB_INBOUND, k, 8,
		    &relay__v1__inbound_message__descriptor,
		    (ProtobufCMessage **) &old);
		if (rc == GW_OK) {
			snprintf(a->event_id, sizeof(a->event_id), "%s",
			    old->event_id);
			relay__v1__inbound_message__free_unpacked(old, NULL);
		}
		return rc == GW_ENOTFOUND ? GW_OK : rc;
	}
	if (rc != GW_OK && rc != GW_ENOTFOUND)
		return rc;
	if ((rc = gw_txn_next_id(txn, "inbound", &a->id)) != GW_OK)
		return rc;
	r.id = a->id;
	r.provider_sid = (char *) a->provider_sid;
	r.client_id = a->client_id;
	r.account_id = a->account_id;
	r.to = (char *) a->to;
	r.from = (char *) a->from;
	r.body = (char *) a->body;
	r.num_media = a->num_media;
	r.media_urls = a->media;
	r.n_media_urls = a->n_media;
	r.received_unix_ms = a->now;
	gw_key_put_u64(k, a->client_id);
	rc = gw_txn_get(txn, GW_DB_CLIENTS, k, 8,
	    &relay__v1__client_record__descriptor, (ProtobufCMessage **) &c);
	if (rc != GW_OK && rc != GW_ENOTFOUND)
		return rc;
	rc = GW_OK;
	if (c != NULL && c->inbound_url[0] != '\0') {
		struct gw_event_in ev = { .type = GW_EVENT_INBOUND,
			.client_id = a->client_id,
			.url = c->inbound_url,
			.now = a->now };

		gw_event_id(GW_EVENT_INBOUND, a->provider_sid, "", a->event_id);
		r.event_id = a->event_id;
		if ((body = inbound_event(a->event_id, &r, a->now)) == NULL) {
			rc = GW_ENOMEM;
			goto out;
		}
		ev.id = a->event_id;
		ev.body = body;
		ev.body_len = strlen(body);
		rc = gw_event_enqueue(txn, &ev, &seq);
		if (rc == GW_EEXIST)
			rc = GW_OK;
		if (rc != GW_OK)
			goto out;
	}
	gw_key_put_u64(k, ~a->id);
	if ((rc = gw_txn_put(txn, GW_DB_INBOUND, k, 8, &r.base,
	         GW_PUT_NOOVERWRITE)) != GW_OK)
		goto out;
	gw_key_put_u64(k, a->id); /* the id itself, not ~id */
	if ((rc = gw_txn_put_raw(txn, GW_DB_INBOUND_BY_SID, a->provider_sid,
	         plen, k, 8, GW_PUT_NOOVERWRITE)) != GW_OK)
		goto out;
	gw_key_put_u64(k, a->client_id);
	gw_key_put_u64(k + 8, ~a->id);
	rc = gw_txn_put_raw(
	    txn, GW_DB_INBOUND_BY_CLIENT, k, 16, "", 0, GW_PUT_NOOVERWRITE);
out:
	free(body);
	if (c != NULL)
		relay__v1__client_record__free_unpacked(c, NULL);
	return rc;
}

/* inbound_media collects MediaUrl0..MediaUrl9 that are http(s) URLs. */
static size_t
inbound_media(
    const struct hook *h, char urls[MEDIA_MAX][GW_URL_MAX_LEN + 1], char **ptrs)
{
	size_t n = 0;

	for (int i = 0; i < MEDIA_MAX; i++) {
		char name[16];

		snprintf(name, sizeof(name), "MediaUrl%d", i);
		if (hook_param(h, name, urls[n], GW_URL_MAX_LEN + 1) == GW_OK &&
		    gw_url_ok(urls[n]) && urls[n][0] != '\0') {
			ptrs[n] = urls[n];
			n++;
		}
	}
	return n;
}

static void
webhooks_twilio_inbound(Relay__V1__Webhooks_Service *svc,
    const Relay__V1__TwilioWebhookRequest           *req,
    Relay__V1__TwilioInboundReply_Closure done, void *arg)
{
	struct gw_core               *core = CORE(svc);
	Relay__V1__TwilioInboundReply out =
	    RELAY__V1__TWILIO_INBOUND_REPLY__INIT;
	Relay__V1__Tn            *tn = NULL;
	Relay__V1__AccountRecord *pinned = NULL;
	struct candidates         cand = { .sid = "" };
	struct inbound_w          w = { 0 };
	struct gw_txn            *txn = NULL;
	struct hook               h;
	char  msid[SID_MAX], acct_sid[SID_MAX], to_raw[64], from[64];
	char  to[GW_E164_MAX + 1] = "", nmedia[8], ctx[96];
	char *body = NULL, *twiml = NULL;
	char(*media)[GW_URL_MAX_LEN + 1] = NULL;
	char    *media_ptrs[MEDIA_MAX];
	uint64_t which = 0;
	int      rc;

	if (hook_open(arg, req, "inbound", &h) != GW_OK)
		return;
	if (hook_id(&h, "MessageSid", "SmsMessageSid", msid, sizeof(msid)) ==
	        GW_EINVAL ||
	    hook_id(&h, "AccountSid", NULL, acct_sid, sizeof(acct_sid)) ==
	        GW_EINVAL) {
		gw_call_fail(arg, GW_EINVAL, "MessageSid, AccountSid: SIDs");
		goto done;
	}
	if (hook_param(&h, "To", to_raw, sizeof(to_raw)) != GW_OK ||
	    gw_e164_normalize(to_raw, strlen(to_raw), to) != GW_OK)
		to[0] = '\0';
	if (hook_param(&h, "From", from, sizeof(from)) != GW_OK ||
	    !gw_text_ok(from, sizeof(from)))
		from[0] = '\0';

	if ((rc = gw_store_read(core->store, &txn)) != GW_OK) {
		gw_call_fail(arg, rc, "store unavailable");
		goto done;
	}
	rc = GW_ENOTFOUND;
	if (to[0] != '\0')
		rc = gw_txn_get(txn, GW_DB_TNS, to, strlen(to),
		    &relay__v1__tn__descriptor, (ProtobufCMessage **) &tn);
	if (rc == GW_ENOTFOUND)
		rc = GW_OK;
	if (rc == GW_OK && tn != NULL && tn->account_id != 0) {
		uint8_t k[8];

		gw_key_put_u64(k, tn->account_id);
		rc = gw_txn_get(txn, GW_DB_ACCOUNTS, k, 8,
		    &relay__v1__account_record__descriptor,
		    (ProtobufCMessage **) &pinned);
		if (rc == GW_ENOTFOUND)
			rc = GW_OK; /* refused below: nothing to verify with */
	} else if (rc == GW_OK && acct_sid[0] != '\0') {
		/* never "every account" here: AccountSid is always sent */
		cand.sid = acct_sid;
		rc = gw_txn_scan(txn, GW_DB_ACCOUNTS, NULL, 0, NULL, 0,
		    candidate_one, &cand);
	}
	gw_txn_end(txn);
	if (rc != GW_OK) {
		gw_call_fail(arg, rc, "store read failed");
		goto done;
	}
	if (pinned != NULL) {
		rc = verify_with(core, &h, pinned);
		which = pinned->id;
		/* a pinned account's own callbacks only */
		if (rc == GW_OK && acct_sid[0] != '\0' &&
		    strcmp(acct_sid, pinned->sid) != 0)
			rc = GW_EAUTH;
	} else if (tn != NULL && tn->account_id != 0) {
		rc = GW_EAUTH;
	} else {
		rc = verify_any(core, &h, &cand, &which);
	}
	if (rc != GW_OK) {
		snprintf(ctx, sizeof(ctx), "to %s, %s", to[0] ? to : "-",
		    pinned != NULL ? "pinned account" : "by AccountSid");
		refuse(arg, &h, rc, ctx);
		goto done;
	}

	if (tn == NULL) {
		gw_info("webhooks",
		    "twilio inbound: %s is not in the pool; "
		    "empty answer",
		    to[0] ? to : "(no To)");
		if (gw_twiml_reply(NULL, &twiml) != GW_OK) {
			gw_call_fail(arg, GW_ENOMEM, "out of memory");
			goto done;
		}
		out.twiml = twiml;
		done(&out, arg);
		goto done;
	}
	out.known_number = true;
	if (gw_twiml_reply(tn->auto_reply, &twiml) != GW_OK) {
		gw_call_fail(arg, GW_ENOMEM, "out of memory");
		goto done;
	}
	out.twiml = twiml;
	if (tn->client_id != 0) {
		if (msid[0] == '\0') {
			gw_call_fail(arg, GW_EINVAL, "MessageSid is required");
			goto done;
		}
		if ((body = malloc(BODY_MAX + 1)) == NULL ||
		    (media = calloc(MEDIA_MAX, sizeof(*media))) == NULL) {
			gw_call_fail(arg, GW_ENOMEM, "out of memory");
			goto done;
		}
		rc = hook_param(&h, "Body", body, BODY_MAX + 1);
		if (rc == GW_EINVAL) {
			gw_call_fail(arg, GW_ETOOBIG,
			    "Body: at most %d bytes, "
			    "no NUL",
			    BODY_MAX);
			goto done;
		}
		if (hook_param(&h, "NumMedia", nmedia, sizeof(nmedia)) == GW_OK)
			w.num_media = (uint32_t) strtoul(nmedia, NULL, 10);
		w.now = gw_now_ms();
		w.provider_sid = msid;
		w.to = to;
		w.from = from;
		w.body = body;
		w.media = media_ptrs;
		w.n_media = inbound_media(&h, media, media_ptrs);
		w.client_id = tn->client_id;
		w.account_id = which;
		if ((rc = gw_store_write(core->store, inbound_fn, &w)) !=
		    GW_OK) {
			gw_call_fail(arg, rc, "storing the message failed");
			goto done;
		}
		out.stored = true;
		out.duplicate = w.duplicate;
		out.inbound_id = w.id;
		out.event_id = w.event_id;
		if (!w.duplicate && w.event_id[0] != '\0')
			gw_forwarder_kick(atomic_load(&core->forwarder));
		gw_info("webhooks", "inbound %llu to %s for client %llu%s",
		    (unsigned long long) w.id, to,
		    (unsigned long long) tn->client_id,
		    w.duplicate ? " (replay)" : "");
	}
	done(&out, arg);
done:
	free(twiml);
	free(body);
	free(media);
	if (tn != NULL)
		relay__v1__tn__free_unpacked(tn, NULL);
	if (pinned != NULL)
		relay__v1__account_record__free_unpacked(pinned, NULL);
	candidates_free(&cand);
	hook_close(&h);
}

const Relay__V1__Webhooks_Service gw_webhooks_service =
    RELAY__V1__WEBHOOKS__INIT(webhooks_);
