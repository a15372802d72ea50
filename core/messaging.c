/*
 * messaging.c - the Messaging service: Send (the hot path), GetMessage and
 * ListMessages, and the API-key cache in front of them.
 *
 * Send does everything it can before the write: authenticate (cached),
 * validate, route (compiled rules), price, and one read snapshot for the
 * idempotency record and the account's default number. Then ONE write
 * function, run by the group-commit writer, re-checks what can change
 * (idempotency, client status, balance) and writes the debit, its ledger
 * entry, the message, its index entry, the outbox entry and the
 * idempotency record together. So with funds for N messages exactly N
 * sends succeed however many race, and balance == sum(ledger) always.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core_impl.h"
#include "gw/clock.h"
#include "gw/e164.h"
#include "gw/err.h"
#include "gw/log.h"
#include "gw/money.h"
#include "gw/sms.h"
#include "ledger_impl.h"
#include "messaging_impl.h"
#include "pb/status.h"
#include "valid_impl.h"
#include "views_impl.h"
#include "webhooks_impl.h"

#define CORE(svc) GW_CONTAINER_OF(svc, struct gw_core, messaging)
#define API_KEY_MAX 256
#define IDEM_KEY_MAX 255
#define SID_LEN 34 /* "SM" + 32 hex */
#define LIST_PAGE 50
#define SEND_BATCH_MAX 1024 /* Sends per SendBatch (messaging.proto) */
#define REQUESTS_KEEP_MS (3600 * 1000) /* request records past deadline */
#define REQUESTS_PRUNE 2 /* expired request records removed per Send */
#define LIST_PAGE_MAX 1000
#define LIST_SCAN_MULT 20 /* rows examined per row asked, with a filter */

/* ---- API-key cache --------------------------------------------------- */

#define KC_SLOTS 4096 /* a power of two */
#define KC_PROBE 8

struct kc_slot {
	uint8_t  hash[GW_SHA256_LEN];
	uint64_t key_id;
	uint64_t client_id;
	uint64_t gen; /* 0: empty */
	bool     revoked;
};

struct gw_keycache {
	pthread_rwlock_t     lock;
	atomic_uint_fast64_t gen;
	struct kc_slot       slots[KC_SLOTS];
};

int
gw_keycache_new(struct gw_keycache **out)
{
	struct gw_keycache *kc = calloc(1, sizeof(*kc));

	if (kc == NULL)
		return GW_ENOMEM;
	pthread_rwlock_init(&kc->lock, NULL);
	atomic_init(&kc->gen, 1);
	*out = kc;
	return GW_OK;
}

void
gw_keycache_free(struct gw_keycache *kc)
{
	if (kc == NULL)
		return;
	pthread_rwlock_destroy(&kc->lock);
	sodium_memzero(kc->slots, sizeof(kc->slots));
	free(kc);
}

void
gw_keycache_invalidate(struct gw_keycache *kc)
{
	atomic_fetch_add(&kc->gen, 1);
}

static size_t
kc_index(const uint8_t h[GW_SHA256_LEN])
{
	/* the hash is uniform: its first bytes are a fine table index */
	return ((size_t) h[0] << 8 | h[1]) & (KC_SLOTS - 1);
}

/* kc_find returns the fresh slot holding h, copied into *out. */
static bool
kc_find(struct gw_keycache *kc, const uint8_t h[GW_SHA256_LEN], uint64_t gen,
    struct kc_slot *out)
{
	size_t i = kc_index(h);
	bool   hit = false;

	pthread_rwlock_rdlock(&kc->lock);
	for (int p = 0; p < KC_PROBE; p++, i = (i + 1) & (KC_SLOTS - 1)) {
		struct kc_slot *s = &kc->slots[i];

		if (s->gen == gen &&
		    sodium_memcmp(s->hash, h, GW_SHA256_LEN) == 0) {
			*out = *s;
			hit = true;
			break;
		}
	}
	pthread_rwlock_unlock(&kc->lock);
	return hit;
}

static void
kc_fill(struct gw_keycache *kc, const struct kc_slot *in)
{
	size_t          i = kc_index(in->hash);
	struct kc_slot *victim = &kc->slots[i];

	pthread_rwlock_wrlock(&kc->lock);
	for (int p = 0; p < KC_PROBE; p++, i = (i + 1) & (KC_SLOTS - 1)) {
		struct kc_slot *s = &kc->slots[i];

		if (s->gen != in->gen ||
		    memcmp(s->hash, in->hash, GW_SHA256_LEN) == 0) {
			victim = s; /* stale, empty or the same key */
			break;
		}
	}
	*victim = *in;
	pthread_rwlock_unlock(&kc->lock);
}

/* lookup_key reads the key record for h from the store. */
static int
lookup_key(
    struct gw_core *core, const uint8_t h[GW_SHA256_LEN], struct kc_slot *out)
{
	Relay__V1__ApiKeyRecord *rec = NULL;
	struct gw_txn           *txn;
	const void              *val;
	size_t                   vlen;
	int                      rc;

	if ((rc = gw_store_read(core->store, &txn)) != GW_OK)
		return rc;
	rc = gw_txn_get_raw(
	    txn, GW_DB_KEY_HASHES, h, GW_SHA256_LEN, &val, &vlen);
	if (rc == GW_OK && vlen != 8)
		rc = GW_ESTORE;
	if (rc == GW_OK)
		rc = gw_txn_get(txn, GW_DB_API_KEYS, val, 8,
		    &relay__v1__api_key_record__descriptor,
		    (ProtobufCMessage **) &rec);
	gw_txn_end(txn);
	if (rc != GW_OK)
		return rc;
	/* the index said so; the record must agree, compared in constant
	 * time like every other secret-derived comparison */
	if (rec->sha256.len != GW_SHA256_LEN ||
	    sodium_memcmp(rec->sha256.data, h, GW_SHA256_LEN) != 0) {
		rc = GW_ENOTFOUND;
	} else {
		memcpy(out->hash, h, GW_SHA256_LEN);
		out->key_id = rec->id;
		out->client_id = rec->client_id;
		out->revoked = rec->revoked_unix_ms != 0;
	}
	relay__v1__api_key_record__free_unpacked(rec, NULL);
	return rc;
}

/* authenticate turns call->api_key into a client id, or fails the call
 * with GW_EAUTH. */
static int
authenticate(struct gw_core *core, struct gw_call *call, uint64_t *client_id)
{
	struct gw_keycache *kc = core->keys;
	const char         *key = call->api_key;
	uint8_t             h[GW_SHA256_LEN];
	struct kc_slot      s;
	uint64_t            gen;
	size_t              len;
	int                 rc;

	if (key == NULL || (len = strnlen(key, API_KEY_MAX + 1)) == 0)
		return gw_call_fail(call, GW_EAUTH, "API key missing");
	if (len > API_KEY_MAX)
		return gw_call_fail(call, GW_EAUTH, "API key invalid");
	gw_sha256(key, len, h);
	/* read the generation before the store: a revocation committed
	 * after this point makes what we cache stale at once */
	gen = atomic_load(&kc->gen);
	if (!kc_find(kc, h, gen, &s)) {
		rc = lookup_key(core, h, &s);
		if (rc == GW_ENOTFOUND)
			return gw_call_fail(call, GW_EAUTH, "API key invalid");
		if (rc != GW_OK)
			return gw_call_fail(call, rc, "key lookup failed");
		s.gen = gen;
		kc_fill(kc, &s);
	}
	if (s.revoked)
		return gw_call_fail(call, GW_EAUTH, "API key revoked");
	*client_id = s.client_id;
	return GW_OK;
}

/* ---- shared ---------------------------------------------------------- */

static const char *const status_names[] = {
	[RELAY__V1__MESSAGE_STATUS__MESSAGE_STATUS_UNSPECIFIED] = "unknown",
	[RELAY__V1__MESSAGE_STATUS__MESSAGE_QUEUED] = "queued",
	[RELAY__V1__MESSAGE_STATUS__MESSAGE_SENDING] = "sending",
	[RELAY__V1__MESSAGE_STATUS__MESSAGE_SENT] = "sent",
	[RELAY__V1__MESSAGE_STATUS__MESSAGE_DELIVERED] = "delivered",
	[RELAY__V1__MESSAGE_STATUS__MESSAGE_UNDELIVERED] = "undelivered",
	[RELAY__V1__MESSAGE_STATUS__MESSAGE_FAILED] = "failed",
};
#define N_STATUS (sizeof(status_names) / sizeof(status_names[0]))

const char *
gw_message_status_name(Relay__V1__MessageStatus st)
{
	if ((size_t) st >= N_STATUS)
		return "unknown";
	return status_names[st];
}

int
gw_message_status_parse(const char *s, Relay__V1__MessageStatus *out)
{
	for (size_t i = 1; i < N_STATUS; i++)
		if (strcmp(s, status_names[i]) == 0) {
			*out = (Relay__V1__MessageStatus) i;
			return GW_OK;
		}
	return GW_EINVAL;
}

static void
message_view(const void *record, void *view)
{
	const Relay__V1__MessageRecord *r = record;
	Relay__V1__Message             *v = view;

	relay__v1__message__init(v);
	v->sid = r->sid;
	v->to = r->to;
	v->from = r->from;
	v->body = r->body;
	v->segments = r->segments;
	v->encoding = r->encoding;
	v->cost_micros = r->cost_micros;
	v->status = (char *) gw_message_status_name(r->status);
	v->error_code = r->error_code;
	v->error_message = r->error_message;
	v->status_callback = r->status_callback_url;
	v->created_unix_ms = r->created_unix_ms;
	v->updated_unix_ms = r->updated_unix_ms;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
gw_message_sid_parse(const char *sid, uint64_t *id)
{
	uint64_t v = 0;

	if (strlen(sid) != SID_LEN || sid[0] != 'S' || sid[1] != 'M')
		return GW_EINVAL;
	for (int i = 2; i < SID_LEN; i++) {
		int x = hexval(sid[i]);

		if (x < 0)
			return GW_EINVAL;
		if (i < 18)
			v = v << 4 | (uint64_t) x;
	}
	*id = v;
	return GW_OK;
}

/* ---- Send ------------------------------------------------------------ */

struct send {
	/* inputs, fixed before the write */
	int64_t               now;
	uint64_t              client_id;
	char                  to[GW_E164_MAX + 1];
	char                  from[GW_E164_MAX + 1];
	const char           *body;
	const char           *callback;
	struct gw_sms_info    info;
	struct gw_route_match route;
	int64_t               price;
	bool                  idem;
	enum gw_db            idem_db;   /* GW_DB_IDEMPOTENCY or _REQUESTS */
	size_t                idem_klen;
	uint8_t idem_key[8 + GW_SHA256_LEN]; /* client id, sha256(key) */
	uint8_t req_hash[GW_SHA256_LEN];
	char    sid_tail[17];

	/* outputs of the write function (reset on every run) */
	char     errmsg[200];
	char     sid[SID_LEN + 1];
	uint64_t id;
	int64_t  balance_after;
	uint8_t *replay; /* packed SendReply of an earlier Send, malloc'd */
	size_t   replay_len;
};

static int sfail(struct send *a, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
sfail(struct send *a, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->errmsg, sizeof(a->errmsg), fmt, ap);
	va_end(ap);
	return err;
}

static void
send_reply_fill(const struct send *a, Relay__V1__SendReply *r)
{
	relay__v1__send_reply__init(r);
	r->sid = (char *) a->sid;
	r->status = "queued";
	r->cost_micros = a->price;
	r->remaining_balance_micros = a->balance_after;
	r->segments = a->info.segments;
	r->encoding = a->info.encoding == GW_SMS_GSM7 ? "GSM-7" : "UCS-2";
	r->to = (char *) a->to;
	r->from = (char *) a->from;
	r->created_unix_ms = a->now;
}

/* request_key keys a Send without an idempotency key by its RPC request.
 * With a deadline, the key leads with it: a resend carries the same
 * deadline, records are written in time order (appended, not scattered
 * over the tree, which matters at thousands of Sends a second), and they
 * can go once no resend could be executed. Without one, a resend may
 * come at any time: the record goes with the clients' keys, under
 * sha256 of the id with a leading NUL (client keys are printable). */
static void
request_key(const struct gw_call *call, struct send *a)
{
	if (call->deadline_ms > 0) {
		a->idem_db = GW_DB_REQUESTS;
		a->idem_klen = 24;
		gw_key_put_u64(a->idem_key, (uint64_t) call->deadline_ms);
		gw_key_put_u64(a->idem_key + 8, call->request_id);
		gw_key_put_u64(a->idem_key + 16, a->client_id);
	} else {
		uint8_t implicit[9] = { 0 };

		gw_key_put_u64(implicit + 1, call->request_id);
		a->idem_db = GW_DB_IDEMPOTENCY;
		a->idem_klen = 8 + GW_SHA256_LEN;
		gw_key_put_u64(a->idem_key, a->client_id);
		gw_sha256(implicit, sizeof(implicit), a->idem_key + 8);
	}
}

struct expired {
	int64_t before;
	int     n;
	uint8_t keys[REQUESTS_PRUNE][24];
};

static int
expired_one(const void *key, size_t klen, const void *val, size_t vlen,
    void *arg)
{
	struct expired *e = arg;

	(void) val;
	(void) vlen;
	if (klen != 24 || (int64_t) gw_key_get_u64(key) >= e->before)
		return 1;
	memcpy(e->keys[e->n++], key, 24);
	return e->n == REQUESTS_PRUNE;
}

/* requests_prune deletes a few request records whose deadline passed
 * long ago: relayd executes no call past its deadline, so no resend can
 * want them (the margin covers clocks of other hosts). Each Send that
 * adds a record removes up to REQUESTS_PRUNE, so the table stays at about
 * an hour of traffic without a timer of its own. */
static int
requests_prune(struct gw_txn *txn, int64_t now)
{
	struct expired e = { .before = now - REQUESTS_KEEP_MS };
	int            rc;

	rc = gw_txn_scan(txn, GW_DB_REQUESTS, NULL, 0, NULL, 0, expired_one, &e);
	for (int i = 0; rc == GW_OK && i < e.n; i++)
		rc = gw_txn_del(txn, GW_DB_REQUESTS, e.keys[i], 24);
	return rc;
}

/* idem_check looks for an earlier Send with the same key. GW_ENOTFOUND:
 * none; GW_OK: a->replay holds its reply; GW_ECONFLICT: another request. */
static int
idem_check(struct gw_txn *txn, struct send *a)
{
	Relay__V1__IdempotencyRecord *rec;
	int                           rc;

	rc = gw_txn_get(txn, a->idem_db, a->idem_key, a->idem_klen,
	    &relay__v1__idempotency_record__descriptor,
	    (ProtobufCMessage **) &rec);
	if (rc != GW_OK)
		return rc;
	if (rec->request_sha256.len != GW_SHA256_LEN ||
	    memcmp(rec->request_sha256.data, a->req_hash, GW_SHA256_LEN) != 0) {
		rc = sfail(a, GW_ECONFLICT,
		    "idempotency_key: already used with "
		    "a different request");
	} else if ((a->replay = malloc(rec->reply.len + 1)) == NULL) {
		rc = GW_ENOMEM;
	} else {
		memcpy(a->replay, rec->reply.data, rec->reply.len);
		a->replay_len = rec->reply.len;
	}
	relay__v1__idempotency_record__free_unpacked(rec, NULL);
	return rc;
}

static int
send_fn(struct gw_txn *txn, void *arg)
{
	struct send                 *a = arg;
	Relay__V1__ClientRecord     *c = NULL;
	Relay__V1__LedgerEntry       e;
	Relay__V1__MessageRecord     m;
	Relay__V1__OutboxEntry       ob;
	Relay__V1__IdempotencyRecord ir;
	Relay__V1__SendReply         reply;
	uint8_t                      k[24], rbuf[256];
	int                          rc;

	free(a->replay); /* a rerun after the map grew starts afresh */
	a->replay = NULL;
	if (a->idem) {
		rc = idem_check(txn, a);
		if (rc != GW_ENOTFOUND)
			return rc; /* a replay (GW_OK, nothing written) or not
			            */
	}
	gw_key_put_u64(k, a->client_id);
	rc = gw_txn_get(txn, GW_DB_CLIENTS, k, 8,
	    &relay__v1__client_record__descriptor, (ProtobufCMessage **) &c);
	if (rc == GW_ENOTFOUND)
		return sfail(a, GW_EAUTH, "API key invalid");
	if (rc != GW_OK)
		return rc;
	if (c->status != RELAY__V1__CLIENT_STATUS__CLIENT_ACTIVE) {
		rc = sfail(a, GW_EPERM, "client is suspended");
		goto out;
	}
	if (c->balance_micros < a->price) {
		char have[GW_MONEY_STRLEN], need[GW_MONEY_STRLEN];

		rc = sfail(a, GW_ENOFUNDS, "balance %s is below the price %s",
		    gw_money_format(c->balance_micros, have),
		    gw_money_format(a->price, need));
		goto out;
	}
	if ((rc = gw_txn_next_id(txn, "message", &a->id)) != GW_OK)
		goto out;
	snprintf(a->sid, sizeof(a->sid), "SM%016llx%s",
	    (unsigned long long) a->id, a->sid_tail);
	if ((rc = gw_ledger_apply(txn, c, RELAY__V1__LEDGER_KIND__LEDGER_DEBIT,
	         -a->price, "sms", a->sid, a->now, &e)) != GW_OK)
		goto out;
	a->balance_after = c->balance_micros;

	relay__v1__message_record__init(&m);
	m.id = a->id;
	m.sid = a->sid;
	m.client_id = a->client_id;
	m.to = a->to;
	m.from = a->from;
	m.body = (char *) a->body;
	m.segments = a->info.segments;
	m.encoding = a->info.encoding == GW_SMS_GSM7 ? "GSM-7" : "UCS-2";
	m.cost_micros = a->price;
	m.status = RELAY__V1__MESSAGE_STATUS__MESSAGE_QUEUED;
	m.account_id = a->route.account_id;
	m.route_id = a->route.route_id;
	m.status_callback_url = (char *) a->callback;
	m.created_unix_ms = a->now;
	m.updated_unix_ms = a->now;
	gw_key_put_u64(k, a->id);
	if ((rc = gw_txn_put(txn, GW_DB_MESSAGES, k, 8, &m.base,
	         GW_PUT_NOOVERWRITE)) != GW_OK)
		goto out;

	gw_key_put_u64(k, a->client_id);
	gw_key_put_u64(k + 8, (uint64_t) a->now);
	gw_key_put_u64(k + 16, a->id);
	if ((rc = gw_txn_put_raw(txn, GW_DB_MSG_BY_CLIENT, k, 24, "", 0,
	         GW_PUT_NOOVERWRITE)) != GW_OK)
		goto out;

	relay__v1__outbox_entry__init(&ob);
	ob.message_id = a->id;
	gw_key_put_u64(k, (uint64_t) a->now);
	gw_key_put_u64(k + 8, a->id);
	if ((rc = gw_txn_put(txn, GW_DB_OUTBOX, k, 16, &ob.base,
	         GW_PUT_NOOVERWRITE)) != GW_OK)
		goto out;

	if (a->idem) {
		send_reply_fill(a, &reply);
		GW_ASSERT(protobuf_c_message_get_packed_size(&reply.base) <=
		    sizeof(rbuf));
		relay__v1__idempotency_record__init(&ir);
		ir.request_sha256.data = a->req_hash;
		ir.request_sha256.len = sizeof(a->req_hash);
		ir.reply.data = rbuf;
		ir.reply.len = protobuf_c_message_pack(&reply.base, rbuf);
		ir.created_unix_ms = a->now;
		rc = gw_txn_put(txn, a->idem_db, a->idem_key, a->idem_klen,
		    &ir.base, GW_PUT_NOOVERWRITE);
		if (rc == GW_OK && a->idem_db == GW_DB_REQUESTS)
			rc = requests_prune(txn, a->now);
	}
out:
	relay__v1__client_record__free_unpacked(c, NULL);
	return rc;
}

/* request_hash binds an idempotency key to what was asked: the
 * normalised To, the From as given (empty when the default is wanted, so
 * a replay matches even if the account's default changed), Body and
 * StatusCallback. */
static void
request_hash(const struct send *a, uint8_t out[GW_SHA256_LEN])
{
	crypto_hash_sha256_state st;
	const char *parts[] = { a->to, a->from, a->body, a->callback };

	crypto_hash_sha256_init(&st);
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		uint8_t n[8];

		gw_key_put_u64(n, strlen(parts[i]));
		crypto_hash_sha256_update(&st, n, 8);
		crypto_hash_sha256_update(
		    &st, (const uint8_t *) parts[i], strlen(parts[i]));
	}
	crypto_hash_sha256_final(&st, out);
}

/* send_validate checks req into a; fails the call on bad input. */
static int
send_validate(
    struct gw_call *call, const Relay__V1__SendRequest *req, struct send *a)
{
	size_t blen = strlen(req->body);
	int    rc;

	if (req->to[0] == '\0')
		return gw_call_fail(call, GW_EINVAL, "to: required");
	if (gw_e164_normalize(req->to, strlen(req->to), a->to) != GW_OK)
		return gw_call_fail(call, GW_EINVAL,
		    "to: not an E.164 number "
		    "(+15551234567)");
	if (blen == 0)
		return gw_call_fail(call, GW_EINVAL, "body: required");
	if ((rc = gw_sms_info(req->body, blen, &a->info)) != GW_OK)
		return gw_call_fail(call, rc,
		    rc == GW_ETOOBIG
		        ? "body: longer than %d bytes"
		        : "body: not valid UTF-8 (or contains NUL)",
		    GW_SMS_BODY_MAX);
	a->body = req->body;
	if (req->from[0] != '\0' &&
	    gw_e164_normalize(req->from, strlen(req->from), a->from) != GW_OK)
		return gw_call_fail(call, GW_EINVAL,
		    "from: not an E.164 "
		    "number (+15551234567)");
	if (!gw_url_ok(req->status_callback))
		return gw_call_fail(call, GW_EINVAL,
		    "status_callback: an "
		    "http(s) URL of at most %d characters",
		    GW_URL_MAX_LEN);
	a->callback = req->status_callback;
	if (req->idempotency_key[0] != '\0') {
		if (!gw_text_ok(req->idempotency_key, IDEM_KEY_MAX))
			return gw_call_fail(call, GW_EINVAL,
			    "idempotency_key: "
			    "1 to %d printable characters",
			    IDEM_KEY_MAX);
		a->idem = true;
		a->idem_db = GW_DB_IDEMPOTENCY;
		a->idem_klen = 8 + GW_SHA256_LEN;
		gw_key_put_u64(a->idem_key, a->client_id);
		gw_sha256(req->idempotency_key, strlen(req->idempotency_key),
		    a->idem_key + 8);
		request_hash(a, a->req_hash);
	} else if (call->request_id != 0) {
		/* No key: the RPC request id stands in for one. nng's REQ
		 * resends a request whose connection dropped before the
		 * reply, byte for byte; without this, a relayd that died
		 * after committing but before replying would charge and
		 * send that message twice. */
		a->idem = true;
		request_key(call, a);
		request_hash(a, a->req_hash);
	}
	return GW_OK;
}

/* send_prepare reads, in one snapshot, an earlier reply for the
 * idempotency key and the account's default number. */
static int
send_prepare(struct gw_core *core, struct gw_call *call, struct send *a)
{
	Relay__V1__AccountRecord *acct = NULL;
	struct gw_txn            *txn;
	uint8_t                   k[8];
	int                       rc;

	if ((rc = gw_store_read(core->store, &txn)) != GW_OK)
		return gw_call_fail(call, rc, "store unavailable");
	if (a->idem) {
		rc = idem_check(txn, a);
		if (rc != GW_ENOTFOUND) {
			gw_txn_end(txn);
			if (rc == GW_OK)
				return GW_OK; /* a->replay is set */
			return gw_call_fail(call, rc, "%s",
			    a->errmsg[0] ? a->errmsg : gw_strerror(rc));
		}
	}
	rc = GW_OK;
	if (a->from[0] == '\0') {
		gw_key_put_u64(k, a->route.account_id);
		rc = gw_txn_get(txn, GW_DB_ACCOUNTS, k, 8,
		    &relay__v1__account_record__descriptor,
		    (ProtobufCMessage **) &acct);
	}
	gw_txn_end(txn);
	if (rc == GW_ENOTFOUND)
		return gw_call_fail(call, GW_ENOROUTE,
		    "the route for %s has "
		    "no provider account",
		    a->to);
	if (rc != GW_OK)
		return gw_call_fail(call, rc, "reading the account failed");
	if (acct != NULL) {
		if (acct->from_number[0] != '\0')
			snprintf(
			    a->from, sizeof(a->from), "%s", acct->from_number);
		relay__v1__account_record__free_unpacked(acct, NULL);
		if (a->from[0] == '\0')
			return gw_call_fail(call, GW_EINVAL,
			    "from: required "
			    "(the provider account has no default number)");
	}
	return GW_OK;
}

/* send_begin does everything a Send does before its write: authenticate,
 * validate, route, price, and look for an earlier reply under the same
 * idempotency key. GW_OK: a is ready for send_fn, or a->replay holds the
 * earlier reply. Otherwise call has failed. */
static int
send_begin(struct gw_core *core, struct gw_call *call,
    const Relay__V1__SendRequest *req, struct send *a)
{
	uint8_t rnd[8];
	int     rc;

	memset(a, 0, sizeof(*a));
	if (authenticate(core, call, &a->client_id) != GW_OK ||
	    send_validate(call, req, a) != GW_OK)
		return call->err;
	if ((rc = gw_router_match(core->router, a->to, &a->route)) != GW_OK)
		return gw_call_fail(call, rc,
		    rc == GW_ENOROUTE ? "to: no route for %s"
		                      : "routing failed for %s",
		    a->to);
	/* the route's price is at most 1000.00 and a body at most a few
	 * dozen segments: no overflow */
	a->price = a->route.price_micros * (int64_t) a->info.segments;
	if (send_prepare(core, call, a) != GW_OK)
		return call->err;
	if (a->replay == NULL) {
		randombytes_buf(rnd, sizeof(rnd));
		sodium_bin2hex(
		    a->sid_tail, sizeof(a->sid_tail), rnd, sizeof(rnd));
		a->now = gw_now_ms();
	}
	return GW_OK;
}

/* send_written records in call how a's write went (rc from the store). */
static int
send_written(struct gw_call *call, const struct send *a, int rc)
{
	if (rc == GW_OK)
		return GW_OK;
	return gw_call_fail(
	    call, rc, "%s", a->errmsg[0] ? a->errmsg : gw_strerror(rc));
}

/* send_reply_get points *out at a's reply: fill, filled in, or the
 * earlier reply of a replay, unpacked (the caller frees it when *out is
 * not fill). */
static int
send_reply_get(struct gw_call *call, const struct send *a,
    Relay__V1__SendReply *fill, Relay__V1__SendReply **out)
{
	if (a->replay == NULL) {
		send_reply_fill(a, fill);
		*out = fill;
		return GW_OK;
	}
	*out = relay__v1__send_reply__unpack(NULL, a->replay_len, a->replay);
	if (*out == NULL)
		return gw_call_fail(
		    call, GW_ESTORE, "stored reply is unreadable");
	(*out)->replayed = true;
	return GW_OK;
}

static void
messaging_send(Relay__V1__Messaging_Service *svc,
    const Relay__V1__SendRequest *req, Relay__V1__SendReply_Closure done,
    void *arg)
{
	struct gw_core      *core = CORE(svc);
	struct gw_call      *call = arg;
	struct send          a;
	Relay__V1__SendReply fill, *reply;

	if (send_begin(core, call, req, &a) != GW_OK)
		goto out;
	if (a.replay == NULL) {
		if (send_written(call, &a,
		        gw_store_write(core->store, send_fn, &a)) != GW_OK)
			goto out;
		gw_dispatcher_kick(atomic_load(&core->dispatcher));
	}
	if (send_reply_get(call, &a, &fill, &reply) != GW_OK)
		goto out;
	done(reply, call);
	if (reply != &fill)
		relay__v1__send_reply__free_unpacked(reply, NULL);
out:
	free(a.replay);
}

/* ---- SendBatch ------------------------------------------------------- */

struct batch_item {
	struct gw_call             call; /* the item's credential and outcome */
	struct send                a;
	Relay__V1__SendReply       fill, *reply;
	Relay__V1__SendBatchResult result;
	size_t                     wi; /* its write in w[], or SIZE_MAX */
};

/* batch_outcome fills it->result from the item's outcome. */
static void
batch_outcome(struct batch_item *it)
{
	Relay__V1__SendBatchResult *r = &it->result;

	relay__v1__send_batch_result__init(r);
	if (it->call.err == GW_OK &&
	    send_reply_get(&it->call, &it->a, &it->fill, &it->reply) == GW_OK) {
		r->reply = it->reply;
		return;
	}
	it->reply = NULL;
	/* what the RPC server logs of a failed Send, per item */
	if (it->call.err == GW_EAUTH || it->call.err == GW_ENOTFOUND ||
	    it->call.err == GW_EINTERNAL || it->call.err == GW_ESTORE)
		gw_info("rpc", "SendBatch item (request %" PRIu64 "): %s: %s",
		    it->call.request_id, gw_errname(it->call.err),
		    it->call.errmsg);
	r->code = (Relay__V1__StatusCode) pb_status_from_err(it->call.err);
	r->message = it->call.errmsg;
	r->details = (char *) gw_errname(it->call.err);
}

static void
messaging_send_batch(Relay__V1__Messaging_Service *svc,
    const Relay__V1__SendBatchRequest *req,
    Relay__V1__SendBatchReply_Closure done, void *arg)
{
	struct gw_core              *core = CORE(svc);
	struct gw_call              *call = arg;
	Relay__V1__SendBatchReply    out  = RELAY__V1__SEND_BATCH_REPLY__INIT;
	Relay__V1__SendBatchResult **results = NULL;
	struct batch_item           *it = NULL;
	struct gw_write             *w = NULL;
	size_t                       n = req->n_items, nw = 0;

	if (n == 0 || n > SEND_BATCH_MAX) {
		gw_call_fail(call, GW_EINVAL, "items: 1 to %d Sends",
		    SEND_BATCH_MAX);
		goto wipe;
	}
	it = calloc(n, sizeof(*it));
	w = calloc(n, sizeof(*w));
	results = calloc(n, sizeof(*results));
	if (it == NULL || w == NULL || results == NULL) {
		gw_call_fail(call, GW_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const Relay__V1__SendBatchItem *in = req->items[i];

		it[i].call.api_key = in->api_key;
		it[i].call.request_id = in->request_id;
		it[i].call.deadline_ms = call->deadline_ms;
		it[i].wi = SIZE_MAX;
		if (in->request == NULL)
			gw_call_fail(&it[i].call, GW_EINVAL, "request: required");
		else if (send_begin(core, &it[i].call, in->request,
		             &it[i].a) == GW_OK &&
		    it[i].a.replay == NULL) {
			it[i].wi = nw;
			w[nw++] = (struct gw_write) { send_fn, &it[i].a, 0 };
		}
	}
	/* every write of the batch in the same group commit, one wait */
	if (gw_store_write_many(core->store, w, nw) != GW_OK)
		for (size_t i = 0; i < nw; i++)
			w[i].rc = GW_ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (it[i].wi != SIZE_MAX &&
		    send_written(&it[i].call, &it[i].a, w[it[i].wi].rc) != GW_OK) {
			free(it[i].a.replay); /* of an uncommitted batch */
			it[i].a.replay = NULL;
		}
	for (size_t i = 0; i < nw; i++)
		if (w[i].rc == GW_OK) {
			gw_dispatcher_kick(atomic_load(&core->dispatcher));
			break;
		}
	for (size_t i = 0; i < n; i++) {
		batch_outcome(&it[i]);
		results[i] = &it[i].result;
	}
	out.n_results = n;
	out.results = results;
	done(&out, call);
out:
	for (size_t i = 0; it != NULL && i < n; i++) {
		if (it[i].reply != NULL && it[i].reply != &it[i].fill)
			relay__v1__send_reply__free_unpacked(it[i].reply, NULL);
		free(it[i].a.replay);
	}
	free(results);
	free(w);
	free(it);
wipe:
	/* the items' keys are credentials: wipe them before the request is
	 * freed, as the RPC server does with the envelope's */
	for (size_t i = 0; i < req->n_items; i++)
		explicit_bzero(req->items[i]->api_key,
		    strlen(req->items[i]->api_key));
}

/* ---- GetMessage / ListMessages --------------------------------------- */

static void
messaging_get_message(Relay__V1__Messaging_Service *svc,
    const Relay__V1__GetMessageRequest *req, Relay__V1__Message_Closure done,
    void *arg)
{
	struct gw_core           *core = CORE(svc);
	Relay__V1__MessageRecord *r = NULL;
	Relay__V1__Message        v;
	struct gw_txn            *txn;
	uint64_t                  client, id;
	uint8_t                   k[8];
	int                       rc;

	if (authenticate(core, arg, &client) != GW_OK)
		return;
	if (gw_message_sid_parse(req->sid, &id) != GW_OK) {
		gw_call_fail(
		    arg, GW_EINVAL, "sid: SM followed by 32 hex digits");
		return;
	}
	if ((rc = gw_store_read(core->store, &txn)) != GW_OK) {
		gw_call_fail(arg, rc, "store unavailable");
		return;
	}
	gw_key_put_u64(k, id);
	rc = gw_txn_get(txn, GW_DB_MESSAGES, k, 8,
	    &relay__v1__message_record__descriptor, (ProtobufCMessage **) &r);
	gw_txn_end(txn);
	/* another client's message does not exist, as far as this one sees */
	if (rc == GW_OK && (r->client_id != client || strcmp(r->sid, req->sid)))
		rc = GW_ENOTFOUND;
	if (rc == GW_ENOTFOUND)
		gw_call_fail(arg, rc, "message %s not found", req->sid);
	else if (rc != GW_OK)
		gw_call_fail(arg, rc, "reading the message failed");
	else {
		message_view(r, &v);
		done(&v, arg);
	}
	if (r != NULL)
		relay__v1__message_record__free_unpacked(r, NULL);
}

struct list {
	struct gw_txn             *txn;
	int64_t                    to_ms;
	bool                       filter;
	Relay__V1__MessageStatus   status;
	size_t                     limit, budget;
	Relay__V1__MessageRecord **recs;
	size_t                     n;
	uint8_t                    next[24]; /* where the next page starts */
	bool                       more;
};

static int
list_one(const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
	struct list              *l = arg;
	const uint8_t            *k = key;
	Relay__V1__MessageRecord *r;
	int                       rc;

	(void) val;
	(void) vlen;
	if (klen != 24)
		return GW_ESTORE;
	if (l->to_ms > 0 && (int64_t) gw_key_get_u64(k + 8) >= l->to_ms)
		return 1;
	if (l->n == l->limit || l->budget == 0) {
		memcpy(l->next, k, 24);
		l->more = true;
		return 1;
	}
	l->budget--;
	rc = gw_txn_get(l->txn, GW_DB_MESSAGES, k + 16, 8,
	    &relay__v1__message_record__descriptor, (ProtobufCMessage **) &r);
	if (rc == GW_ENOTFOUND)
		return 0;
	if (rc != GW_OK)
		return rc;
	if (l->filter && r->status != l->status) {
		relay__v1__message_record__free_unpacked(r, NULL);
		return 0;
	}
	l->recs[l->n++] = r;
	return 0;
}

static int
page_token_parse(const char *s, uint64_t client, uint8_t out[24])
{
	uint8_t raw[16];
	size_t  n;

	if (sodium_hex2bin(raw, sizeof(raw), s, strlen(s), NULL, &n, NULL) !=
	        0 ||
	    n != sizeof(raw))
		return GW_EINVAL;
	gw_key_put_u64(out, client);
	memcpy(out + 8, raw, 16);
	return GW_OK;
}

static void
messaging_list_messages(Relay__V1__Messaging_Service *svc,
    const Relay__V1__ListMessagesRequest             *req,
    Relay__V1__MessageList_Closure done, void *arg)
{
	struct gw_core        *core = CORE(svc);
	Relay__V1__MessageList out = RELAY__V1__MESSAGE_LIST__INIT;
	void                  *mem = NULL;
	struct list            l = { 0 };
	uint8_t                pfx[8], from[24];
	char                   token[33];
	uint64_t               client;
	int                    rc;

	if (authenticate(core, arg, &client) != GW_OK)
		return;
	l.limit = req->limit ? req->limit : LIST_PAGE;
	if (l.limit > LIST_PAGE_MAX)
		l.limit = LIST_PAGE_MAX;
	l.budget = l.limit;
	l.to_ms = req->to_unix_ms;
	if (req->status[0] != '\0') {
		if (gw_message_status_parse(req->status, &l.status) != GW_OK) {
			gw_call_fail(arg, GW_EINVAL,
			    "status: queued, sending, "
			    "sent, delivered, undelivered or failed");
			return;
		}
		l.filter = true;
		l.budget = l.limit * LIST_SCAN_MULT;
	}
	if (req->from_unix_ms < 0 || req->to_unix_ms < 0) {
		gw_call_fail(arg, GW_EINVAL, "from/to: Unix milliseconds");
		return;
	}
	gw_key_put_u64(pfx, client);
	if (req->page_token[0] != '\0') {
		if (page_token_parse(req->page_token, client, from) != GW_OK) {
			gw_call_fail(arg, GW_EINVAL,
			    "page_token: not a token "
			    "this call returned");
			return;
		}
	} else {
		gw_key_put_u64(from, client);
		gw_key_put_u64(from + 8, (uint64_t) req->from_unix_ms);
		gw_key_put_u64(from + 16, 0);
	}
	if ((l.recs = calloc(l.limit, sizeof(*l.recs))) == NULL) {
		gw_call_fail(arg, GW_ENOMEM, "out of memory");
		return;
	}
	if ((rc = gw_store_read(core->store, &l.txn)) != GW_OK) {
		gw_call_fail(arg, rc, "store unavailable");
		goto out;
	}
	rc = gw_txn_scan(
	    l.txn, GW_DB_MSG_BY_CLIENT, pfx, 8, from, 24, list_one, &l);
	gw_txn_end(l.txn);
	if (rc != GW_OK) {
		gw_call_fail(arg, rc, "listing messages failed");
		goto out;
	}
	if (gw_views_fill(&out.base, (void *const *) l.recs, l.n,
	        sizeof(Relay__V1__Message), message_view, &mem) != GW_OK) {
		gw_call_fail(arg, GW_ENOMEM, "out of memory");
		goto out;
	}
	out.next_page_token = "";
	if (l.more) {
		sodium_bin2hex(token, sizeof(token), l.next + 8, 16);
		out.next_page_token = token;
	}
	done(&out, arg);
out:
	for (size_t i = 0; i < l.n; i++)
		relay__v1__message_record__free_unpacked(l.recs[i], NULL);
	free(l.recs);
	free(mem);
}

const Relay__V1__Messaging_Service gw_messaging_service =
    RELAY__V1__MESSAGING__INIT(messaging_);
