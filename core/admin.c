/*
 * admin.c - the Admin service: clients and their ledgers, API keys,
 * provider accounts, routing rules, TNs and settings.
 *
 * Reads run on a store snapshot in the caller's thread. Writes are small
 * functions run by the group-commit writer (see gw/store.h); a balance
 * change and its ledger entry are always written by the same function, so
 * a client's balance equals the sum of its ledger in every commit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "admin_impl.h"
#include "core_impl.h"
#include "ledger_impl.h"
#include "valid_impl.h"
#include "views_impl.h"
#include "webhooks_impl.h"
#include "gw/clock.h"
#include "gw/e164.h"
#include "gw/err.h"
#include "gw/log.h"
#include "gw/money.h"
#include "gw/sms.h"

#define CORE(svc)      GW_CONTAINER_OF(svc, struct gw_core, admin)
#define NAME_MAX_LEN   100
#define REASON_MAX_LEN 200
#define TEXT_MAX_LEN   480
#define LEDGER_PAGE    100
#define LEDGER_PAGE_MAX 1000

/* ---- shared helpers -------------------------------------------------- */

/* Every write function's argument starts with this. */
struct wbase {
	int64_t now;
	char    msg[240]; /* the caller-facing reason when fn fails */
};

static int
wfail(struct wbase *w, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
wfail(struct wbase *w, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->msg, sizeof(w->msg), fmt, ap);
	va_end(ap);
	return err;
}

/* write runs fn through the group commit and turns a failure into the
 * call's error. Returns GW_OK or the error. */
static int
write(struct gw_core *core, struct gw_call *call, gw_write_fn fn,
    struct wbase *w)
{
	int rc;

	w->now    = gw_now_ms();
	w->msg[0] = '\0';
	rc        = gw_store_write(core->store, fn, w);
	if (rc != GW_OK)
		gw_call_fail(call, rc, "%s",
		    w->msg[0] != '\0' ? w->msg : gw_strerror(rc));
	return rc;
}

static int
read_begin(struct gw_core *core, struct gw_call *call, struct gw_txn **txn)
{
	int rc = gw_store_read(core->store, txn);

	if (rc != GW_OK)
		gw_call_fail(call, rc, "store unavailable");
	return rc;
}

static void
u64key(uint8_t k[8], uint64_t id)
{
	gw_key_put_u64(k, id);
}

/* A growing array of unpacked records. */
struct collect {
	const ProtobufCMessageDescriptor *desc;
	ProtobufCMessage                **items;
	size_t                            n, cap;
	bool (*keep)(const ProtobufCMessage *m, void *arg);
	void *keep_arg;
};

static int
collect_one(const void *key, size_t klen, const void *val, size_t vlen,
    void *arg)
{
	struct collect   *c = arg;
	ProtobufCMessage *m;

	(void) key;
	(void) klen;
	if ((m = protobuf_c_message_unpack(c->desc, NULL, vlen, val)) == NULL)
		return GW_ESTORE;
	if (c->keep != NULL && !c->keep(m, c->keep_arg)) {
		protobuf_c_message_free_unpacked(m, NULL);
		return 0;
	}
	if (c->n == c->cap) {
		size_t             cap = c->cap ? c->cap * 2 : 16;
		ProtobufCMessage **it  = realloc(c->items, cap * sizeof(*it));

		if (it == NULL) {
			protobuf_c_message_free_unpacked(m, NULL);
			return GW_ENOMEM;
		}
		c->items = it;
		c->cap   = cap;
	}
	c->items[c->n++] = m;
	return 0;
}

static void
collect_free(struct collect *c)
{
	for (size_t i = 0; i < c->n; i++)
		protobuf_c_message_free_unpacked(c->items[i], NULL);
	free(c->items);
}

/* reply_views answers with out, a list message, holding the view of every
 * collected record (see gw_views_fill). Frees c. */
static void
reply_views(struct gw_call *call, struct collect *c, size_t view_size,
    gw_view_fn view, ProtobufCMessage *out, ProtobufCClosure done)
{
	void *mem;

	if (gw_views_fill(out, (void *const *) c->items, c->n, view_size, view,
		&mem) != GW_OK)
		gw_call_fail(call, GW_ENOMEM, "out of memory");
	else
		done(out, call);
	free(mem);
	collect_free(c);
}

/* scan_all collects every record of db; on failure the call fails. */
static int
scan_all(struct gw_core *core, struct gw_call *call, enum gw_db db,
    struct collect *c)
{
	struct gw_txn *txn;
	int            rc;

	if ((rc = read_begin(core, call, &txn)) != GW_OK)
		return rc;
	rc = gw_txn_scan(txn, db, NULL, 0, NULL, 0, collect_one, c);
	gw_txn_end(txn);
	if (rc != GW_OK) {
		collect_free(c);
		gw_call_fail(call, rc, "listing failed");
	}
	return rc;
}

/* get_one reads one record in its own snapshot. */
static int
get_one(struct gw_core *core, struct gw_call *call, enum gw_db db,
    const void *key, size_t klen, const ProtobufCMessageDescriptor *d,
    ProtobufCMessage **out, const char *what, uint64_t id)
{
	struct gw_txn *txn;
	int            rc;

	if ((rc = read_begin(core, call, &txn)) != GW_OK)
		return rc;
	rc = gw_txn_get(txn, db, key, klen, d, out);
	gw_txn_end(txn);
	if (rc == GW_ENOTFOUND)
		gw_call_fail(call, rc, "%s %llu not found", what,
		    (unsigned long long) id);
	else if (rc != GW_OK)
		gw_call_fail(call, rc, "reading %s failed", what);
	return rc;
}

/* ---- clients --------------------------------------------------------- */

static void
client_view(const void *record, void *view)
{
	const Relay__V1__ClientRecord *r = record;
	Relay__V1__Client             *v = view;

	relay__v1__client__init(v);
	v->id                  = r->id;
	v->name                = r->name;
	v->balance_micros      = r->balance_micros;
	v->status              = r->status;
	v->status_callback_url = r->status_callback_url;
	v->inbound_url         = r->inbound_url;
	v->created_unix_ms     = r->created_unix_ms;
	v->updated_unix_ms     = r->updated_unix_ms;
	v->has_webhook_secret  = r->webhook_secret_sealed.len > 0;
	v->webhook_secret_unix_ms = r->webhook_secret_unix_ms;
}

struct create_client {
	struct wbase                       w;
	const Relay__V1__CreateClientRequest *req;
	Relay__V1__ClientRecord            rec;
};

static int
create_client_fn(struct gw_txn *txn, void *arg)
{
	struct create_client  *a = arg;
	Relay__V1__LedgerEntry e;
	uint8_t                k[8];
	int                    rc;

	relay__v1__client_record__init(&a->rec);
	a->rec.name                = a->req->name;
	a->rec.status              = RELAY__V1__CLIENT_STATUS__CLIENT_ACTIVE;
	a->rec.status_callback_url = a->req->status_callback_url;
	a->rec.inbound_url         = a->req->inbound_url;
	a->rec.created_unix_ms     = a->w.now;
	a->rec.updated_unix_ms     = a->w.now;
	if ((rc = gw_txn_next_id(txn, "client", &a->rec.id)) != GW_OK)
		return rc;
	if (a->req->balance_micros != 0)
		return gw_ledger_apply(txn, &a->rec,
		    RELAY__V1__LEDGER_KIND__LEDGER_INITIAL,
		    a->req->balance_micros, "initial balance", "", a->w.now,
		    &e);
	u64key(k, a->rec.id);
	return gw_txn_put(txn, GW_DB_CLIENTS, k, 8, &a->rec.base,
	    GW_PUT_NOOVERWRITE);
}

static void
admin_create_client(Relay__V1__Admin_Service *svc,
    const Relay__V1__CreateClientRequest *req, Relay__V1__Client_Closure done,
    void *arg)
{
	struct create_client a = { .req = req };
	Relay__V1__Client    v;

	if (req->name[0] == '\0' || !gw_text_ok(req->name, NAME_MAX_LEN)) {
		gw_call_fail(arg, GW_EINVAL, "name: 1 to %d characters, no "
		    "control characters", NAME_MAX_LEN);
		return;
	}
	if (req->balance_micros < 0 || req->balance_micros > GW_MONEY_MAX) {
		gw_call_fail(arg, GW_EINVAL, "balance: must be 0 or more");
		return;
	}
	if (!gw_url_ok(req->status_callback_url) || !gw_url_ok(req->inbound_url)) {
		gw_call_fail(arg, GW_EINVAL, "callback urls must be http(s) "
		    "URLs");
		return;
	}
	if (write(CORE(svc), arg, create_client_fn, &a.w) != GW_OK)
		return;
	gw_info("admin", "client %llu created",
	    (unsigned long long) a.rec.id);
	client_view(&a.rec, &v);
	done(&v, arg);
}

static void
admin_list_clients(Relay__V1__Admin_Service *svc, const Relay__V1__Empty *req,
    Relay__V1__ClientList_Closure done, void *arg)
{
	struct collect        c = { .desc = &relay__v1__client_record__descriptor };
	Relay__V1__ClientList out = RELAY__V1__CLIENT_LIST__INIT;

	(void) req;
	if (scan_all(CORE(svc), arg, GW_DB_CLIENTS, &c) == GW_OK)
		reply_views(arg, &c, sizeof(Relay__V1__Client),
		    client_view, &out.base, (ProtobufCClosure) done);
}

static int
get_client(struct gw_core *core, struct gw_call *call, uint64_t id,
    Relay__V1__ClientRecord **out)
{
	uint8_t k[8];

	u64key(k, id);
	return get_one(core, call, GW_DB_CLIENTS, k, 8,
	    &relay__v1__client_record__descriptor, (ProtobufCMessage **) out,
	    "client", id);
}

static void
admin_get_client(Relay__V1__Admin_Service *svc, const Relay__V1__IdRequest *req,
    Relay__V1__Client_Closure done, void *arg)
{
	Relay__V1__ClientRecord *r;
	Relay__V1__Client        v;

	if (get_client(CORE(svc), arg, req->id, &r) != GW_OK)
		return;
	client_view(r, &v);
	done(&v, arg);
	relay__v1__client_record__free_unpacked(r, NULL);
}

struct change_balance {
	struct wbase                          w;
	const Relay__V1__ChangeBalanceRequest *req;
	Relay__V1__ClientRecord              *rec; /* owned */
	Relay__V1__LedgerEntry                entry;
};

static int
change_balance_fn(struct gw_txn *txn, void *arg)
{
	struct change_balance *a = arg;
	const Relay__V1__ChangeBalanceRequest *req = a->req;
	uint8_t                k[8];
	int64_t                bal;
	int                    rc;

	if (a->rec != NULL) /* a rerun after the map grew */
		relay__v1__client_record__free_unpacked(a->rec, NULL);
	a->rec = NULL;
	u64key(k, req->client_id);
	rc = gw_txn_get(txn, GW_DB_CLIENTS, k, 8,
	    &relay__v1__client_record__descriptor,
	    (ProtobufCMessage **) &a->rec);
	if (rc == GW_ENOTFOUND)
		return wfail(&a->w, rc, "client %llu not found",
		    (unsigned long long) req->client_id);
	if (rc != GW_OK)
		return rc;
	if (gw_money_add(a->rec->balance_micros, req->amount_micros, &bal) !=
	    GW_OK)
		return wfail(&a->w, GW_EINVAL, "amount: balance would overflow");
	if (bal < 0)
		return wfail(&a->w, GW_ESTATE,
		    "the balance cannot go below 0");
	return gw_ledger_apply(txn, a->rec,
	    req->change == RELAY__V1__BALANCE_CHANGE__BALANCE_TOPUP
		? RELAY__V1__LEDGER_KIND__LEDGER_TOPUP
		: RELAY__V1__LEDGER_KIND__LEDGER_ADJUST,
	    req->amount_micros, req->reason, "admin", a->w.now, &a->entry);
}

static void
admin_change_balance(Relay__V1__Admin_Service *svc,
    const Relay__V1__ChangeBalanceRequest *req,
    Relay__V1__ChangeBalanceReply_Closure done, void *arg)
{
	struct change_balance         a   = { .req = req };
	Relay__V1__ChangeBalanceReply out = RELAY__V1__CHANGE_BALANCE_REPLY__INIT;
	Relay__V1__Client             v;

	switch (req->change) {
	case RELAY__V1__BALANCE_CHANGE__BALANCE_TOPUP:
		if (req->amount_micros <= 0) {
			gw_call_fail(arg, GW_EINVAL,
			    "amount: a top-up must be positive");
			return;
		}
		break;
	case RELAY__V1__BALANCE_CHANGE__BALANCE_ADJUST:
		if (req->amount_micros == 0) {
			gw_call_fail(arg, GW_EINVAL,
			    "amount: an adjustment cannot be 0");
			return;
		}
		break;
	default:
		gw_call_fail(arg, GW_EINVAL, "change: topup or adjust");
		return;
	}
	if (req->amount_micros > GW_MONEY_MAX ||
	    req->amount_micros < -GW_MONEY_MAX) {
		gw_call_fail(arg, GW_EINVAL, "amount: too large");
		return;
	}
	if (req->reason[0] == '\0' || !gw_text_ok(req->reason, REASON_MAX_LEN)) {
		gw_call_fail(arg, GW_EINVAL, "reason: 1 to %d characters is "
		    "required", REASON_MAX_LEN);
		return;
	}
	if (write(CORE(svc), arg, change_balance_fn, &a.w) == GW_OK) {
		gw_info("admin", "client %llu balance %+lld micros (ledger %llu)",
		    (unsigned long long) a.rec->id,
		    (long long) req->amount_micros,
		    (unsigned long long) a.entry.seq);
		client_view(a.rec, &v);
		out.client = &v;
		out.entry  = &a.entry;
		done(&out, arg);
	}
	if (a.rec != NULL)
		relay__v1__client_record__free_unpacked(a.rec, NULL);
}

struct set_status {
	struct wbase                            w;
	const Relay__V1__SetClientStatusRequest *req;
	Relay__V1__ClientRecord                *rec;
};

static int
set_status_fn(struct gw_txn *txn, void *arg)
{
	struct set_status *a = arg;
	uint8_t            k[8];
	int                rc;

	if (a->rec != NULL)
		relay__v1__client_record__free_unpacked(a->rec, NULL);
	a->rec = NULL;
	u64key(k, a->req->client_id);
	rc = gw_txn_get(txn, GW_DB_CLIENTS, k, 8,
	    &relay__v1__client_record__descriptor,
	    (ProtobufCMessage **) &a->rec);
	if (rc == GW_ENOTFOUND)
		return wfail(&a->w, rc, "client %llu not found",
		    (unsigned long long) a->req->client_id);
	if (rc != GW_OK)
		return rc;
	a->rec->status          = a->req->status;
	a->rec->updated_unix_ms = a->w.now;
	return gw_txn_put(txn, GW_DB_CLIENTS, k, 8, &a->rec->base, 0);
}

static void
admin_set_client_status(Relay__V1__Admin_Service *svc,
    const Relay__V1__SetClientStatusRequest *req,
    Relay__V1__Client_Closure done, void *arg)
{
	struct set_status a = { .req = req };
	Relay__V1__Client v;

	if (req->status != RELAY__V1__CLIENT_STATUS__CLIENT_ACTIVE &&
	    req->status != RELAY__V1__CLIENT_STATUS__CLIENT_SUSPENDED) {
		gw_call_fail(arg, GW_EINVAL, "status: active or suspended");
		return;
	}
	if (write(CORE(svc), arg, set_status_fn, &a.w) == GW_OK) {
		gw_info("admin", "client %llu %s",
		    (unsigned long long) a.rec->id,
		    req->status == RELAY__V1__CLIENT_STATUS__CLIENT_ACTIVE
			? "resumed"
			: "suspended");
		client_view(a.rec, &v);
		done(&v, arg);
	}
	if (a.rec != NULL)
		relay__v1__client_record__free_unpacked(a.rec, NULL);
}

struct ledger_sum {
	int64_t sum;
	int     err;
};

static int
sum_one(const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
	struct ledger_sum      *s = arg;
	Relay__V1__LedgerEntry *e;

	(void) key;
	(void) klen;
	if ((e = relay__v1__ledger_entry__unpack(NULL, vlen, val)) == NULL)
		return GW_ESTORE;
	s->sum += e->amount_micros;
	relay__v1__ledger_entry__free_unpacked(e, NULL);
	return 0;
}

static void
admin_list_ledger(Relay__V1__Admin_Service *svc,
    const Relay__V1__ListLedgerRequest *req, Relay__V1__LedgerList_Closure done,
    void *arg)
{
	struct gw_core          *core = CORE(svc);
	struct collect           c    = { .desc = &relay__v1__ledger_entry__descriptor };
	struct ledger_sum        s    = { 0 };
	Relay__V1__LedgerList    out  = RELAY__V1__LEDGER_LIST__INIT;
	Relay__V1__ClientRecord *rec  = NULL;
	Relay__V1__Client        v;
	struct gw_txn           *txn;
	uint8_t                  pfx[8], from[16];
	size_t                   limit = req->limit ? req->limit : LEDGER_PAGE;
	int                      rc;

	if (limit > LEDGER_PAGE_MAX)
		limit = LEDGER_PAGE_MAX;
	if (read_begin(core, arg, &txn) != GW_OK)
		return;
	u64key(pfx, req->client_id);
	rc = gw_txn_get(txn, GW_DB_CLIENTS, pfx, 8,
	    &relay__v1__client_record__descriptor, (ProtobufCMessage **) &rec);
	if (rc == GW_OK)
		rc = gw_txn_scan(txn, GW_DB_LEDGER, pfx, 8, NULL, 0, sum_one, &s);
	gw_ledger_key(from, req->client_id, req->after_seq + 1);
	if (rc == GW_OK)
		rc = gw_txn_scan(txn, GW_DB_LEDGER, pfx, 8, from, 16,
		    collect_one, &c);
	gw_txn_end(txn);
	if (rc == GW_ENOTFOUND)
		gw_call_fail(arg, rc, "client %llu not found",
		    (unsigned long long) req->client_id);
	else if (rc != GW_OK)
		gw_call_fail(arg, rc, "reading the ledger failed");
	else {
		client_view(rec, &v);
		out.client     = &v;
		out.n_entries  = c.n < limit ? c.n : limit;
		out.entries    = (Relay__V1__LedgerEntry **) c.items;
		out.sum_micros = s.sum;
		done(&out, arg);
	}
	if (rec != NULL)
		relay__v1__client_record__free_unpacked(rec, NULL);
	collect_free(&c);
}

/* ---- API keys -------------------------------------------------------- */

static void
key_view(const void *record, void *view)
{
	const Relay__V1__ApiKeyRecord *r = record;
	Relay__V1__ApiKey             *v = view;

	relay__v1__api_key__init(v);
	v->id              = r->id;
	v->client_id       = r->client_id;
	v->prefix          = r->prefix;
	v->created_unix_ms = r->created_unix_ms;
	v->revoked_unix_ms = r->revoked_unix_ms;
}

struct create_key {
	struct wbase             w;
	uint64_t                 client_id;
	uint8_t                  hash[GW_SHA256_LEN];
	char                     prefix[GW_KEY_PREFIX_LEN + 1];
	Relay__V1__ApiKeyRecord  rec;
};

static int
create_key_fn(struct gw_txn *txn, void *arg)
{
	struct create_key *a = arg;
	const void        *val;
	size_t             vlen;
	uint8_t            k[8];
	int                rc;

	u64key(k, a->client_id);
	rc = gw_txn_get_raw(txn, GW_DB_CLIENTS, k, 8, &val, &vlen);
	if (rc == GW_ENOTFOUND)
		return wfail(&a->w, rc, "client %llu not found",
		    (unsigned long long) a->client_id);
	if (rc != GW_OK)
		return rc;
	relay__v1__api_key_record__init(&a->rec);
	a->rec.client_id       = a->client_id;
	a->rec.sha256.data     = a->hash;
	a->rec.sha256.len      = sizeof(a->hash);
	a->rec.prefix          = a->prefix;
	a->rec.created_unix_ms = a->w.now;
	if ((rc = gw_txn_next_id(txn, "api_key", &a->rec.id)) != GW_OK)
		return rc;
	u64key(k, a->rec.id);
	if ((rc = gw_txn_put(txn, GW_DB_API_KEYS, k, 8, &a->rec.base,
		 GW_PUT_NOOVERWRITE)) != GW_OK)
		return rc;
	return gw_txn_put_raw(txn, GW_DB_KEY_HASHES, a->hash, sizeof(a->hash),
	    k, 8, GW_PUT_NOOVERWRITE);
}

static void
admin_create_key(Relay__V1__Admin_Service *svc,
    const Relay__V1__CreateKeyRequest *req, Relay__V1__CreatedKey_Closure done,
    void *arg)
{
	struct create_key     a   = { .client_id = req->client_id };
	Relay__V1__CreatedKey out = RELAY__V1__CREATED_KEY__INIT;
	Relay__V1__ApiKey     v;
	char                  raw[GW_RAW_KEY_LEN + 1];

	gw_api_key_new(raw);
	gw_sha256(raw, GW_RAW_KEY_LEN, a.hash);
	memcpy(a.prefix, raw, GW_KEY_PREFIX_LEN);
	if (write(CORE(svc), arg, create_key_fn, &a.w) == GW_OK) {
		gw_info("admin", "key %llu (%s...) created for client %llu",
		    (unsigned long long) a.rec.id, a.prefix,
		    (unsigned long long) a.client_id);
		key_view(&a.rec, &v);
		out.key     = &v;
		out.raw_key = raw;
		done(&out, arg);
	}
	explicit_bzero(raw, sizeof(raw));
}

static bool
key_of_client(const ProtobufCMessage *m, void *arg)
{
	return ((const Relay__V1__ApiKeyRecord *) m)->client_id ==
	    *(uint64_t *) arg;
}

static void
admin_list_keys(Relay__V1__Admin_Service *svc,
    const Relay__V1__ListKeysRequest *req, Relay__V1__KeyList_Closure done,
    void *arg)
{
	uint64_t           cid = req->client_id;
	struct collect     c   = {
		.desc     = &relay__v1__api_key_record__descriptor,
		.keep     = cid ? key_of_client : NULL,
		.keep_arg = &cid,
	};
	Relay__V1__KeyList out = RELAY__V1__KEY_LIST__INIT;

	if (scan_all(CORE(svc), arg, GW_DB_API_KEYS, &c) == GW_OK)
		reply_views(arg, &c, sizeof(Relay__V1__ApiKey),
		    key_view, &out.base, (ProtobufCClosure) done);
}

struct revoke_key {
	struct wbase             w;
	uint64_t                 id;
	Relay__V1__ApiKeyRecord *rec;
};

static int
revoke_key_fn(struct gw_txn *txn, void *arg)
{
	struct revoke_key *a = arg;
	uint8_t            k[8];
	int                rc;

	if (a->rec != NULL)
		relay__v1__api_key_record__free_unpacked(a->rec, NULL);
	a->rec = NULL;
	u64key(k, a->id);
	rc = gw_txn_get(txn, GW_DB_API_KEYS, k, 8,
	    &relay__v1__api_key_record__descriptor,
	    (ProtobufCMessage **) &a->rec);
	if (rc == GW_ENOTFOUND)
		return wfail(&a->w, rc, "key %llu not found",
		    (unsigned long long) a->id);
	if (rc != GW_OK || a->rec->revoked_unix_ms != 0)
		return rc; /* revoking twice changes nothing */
	a->rec->revoked_unix_ms = a->w.now;
	return gw_txn_put(txn, GW_DB_API_KEYS, k, 8, &a->rec->base, 0);
}

static void
admin_revoke_key(Relay__V1__Admin_Service *svc, const Relay__V1__IdRequest *req,
    Relay__V1__ApiKey_Closure done, void *arg)
{
	struct revoke_key a = { .id = req->id };
	Relay__V1__ApiKey v;

	if (write(CORE(svc), arg, revoke_key_fn, &a.w) == GW_OK) {
		/* after the commit, so a refill cannot read the old record */
		gw_keycache_invalidate(CORE(svc)->keys);
		gw_info("admin", "key %llu (%s...) revoked",
		    (unsigned long long) a.id, a.rec->prefix);
		key_view(a.rec, &v);
		done(&v, arg);
	}
	if (a.rec != NULL)
		relay__v1__api_key_record__free_unpacked(a.rec, NULL);
}

/* ---- provider accounts ----------------------------------------------- */

static void
account_view(const void *record, void *view)
{
	const Relay__V1__AccountRecord *r = record;
	Relay__V1__Account             *v = view;

	relay__v1__account__init(v);
	v->id              = r->id;
	v->kind            = r->kind;
	v->sid             = r->sid;
	v->base_url        = r->base_url;
	v->from_number     = r->from_number;
	v->description     = r->description;
	v->created_unix_ms = r->created_unix_ms;
	v->has_token       = r->token_sealed.len > 0;
}

static bool
twilio_sid_ok(const char *s)
{
	if (strlen(s) != 34 || s[0] != 'A' || s[1] != 'C')
		return false;
	for (int i = 2; i < 34; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool
token_chars_ok(const char *s, size_t min, size_t max)
{
	size_t n = strlen(s);

	if (n < min || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char) s[i] <= 0x20 || (unsigned char) s[i] >= 0x7f)
			return false;
	return true;
}

/* validate_account checks req for its kind; msg gets the reason. The
 * token is checked only when token_given (an update may leave it). */
static int
validate_account(const Relay__V1__CreateAccountRequest *req, bool token_given,
    char *from, char *msg, size_t len)
{
	switch (req->kind) {
	case RELAY__V1__ACCOUNT_KIND__ACCOUNT_TWILIO:
		if (!twilio_sid_ok(req->sid))
			return snprintf(msg, len, "sid: a Twilio Account SID "
			    "reads AC followed by 32 lowercase hex digits"),
			       GW_EINVAL;
		if (token_given && !token_chars_ok(req->token, 32, 32))
			return snprintf(msg, len, "token: a Twilio auth token "
			    "is 32 characters"),
			       GW_EINVAL;
		break;
	case RELAY__V1__ACCOUNT_KIND__ACCOUNT_FLOWROUTE:
		if (!token_chars_ok(req->sid, 1, 64))
			return snprintf(msg, len, "sid: the Flowroute access "
			    "key is required (1 to 64 characters)"),
			       GW_EINVAL;
		if (token_given && !token_chars_ok(req->token, 1, 128))
			return snprintf(msg, len, "token: the Flowroute "
			    "secret key is required (1 to 128 characters)"),
			       GW_EINVAL;
		break;
	case RELAY__V1__ACCOUNT_KIND__ACCOUNT_SANDBOX:
		if (req->sid[0] != '\0' && !token_chars_ok(req->sid, 1, 64))
			return snprintf(msg, len, "sid: 1 to 64 printable "
			    "characters"),
			       GW_EINVAL;
		if (token_given && req->token[0] != '\0' &&
		    !token_chars_ok(req->token, 1, 128))
			return snprintf(msg, len, "token: 1 to 128 printable "
			    "characters"),
			       GW_EINVAL;
		break;
	default:
		return snprintf(msg, len, "kind: twilio, flowroute or sandbox"),
		       GW_EINVAL;
	}
	if (!gw_url_ok(req->base_url))
		return snprintf(msg, len, "base_url: an http(s) URL"), GW_EINVAL;
	from[0] = '\0';
	if (req->from_number[0] != '\0' &&
	    gw_e164_normalize(req->from_number, strlen(req->from_number),
		from) != GW_OK)
		return snprintf(msg, len, "from: not an E.164 number"),
		       GW_EINVAL;
	if (!gw_text_ok(req->description, NAME_MAX_LEN * 2))
		return snprintf(msg, len, "description: at most %d characters",
		    NAME_MAX_LEN * 2),
		       GW_EINVAL;
	return GW_OK;
}

struct create_account {
	struct wbase            w;
	Relay__V1__AccountRecord rec;
};

static int
create_account_fn(struct gw_txn *txn, void *arg)
{
	struct create_account *a = arg;
	uint8_t                k[8];
	int                    rc;

	a->rec.created_unix_ms = a->w.now;
	if ((rc = gw_txn_next_id(txn, "account", &a->rec.id)) != GW_OK)
		return rc;
	u64key(k, a->rec.id);
	return gw_txn_put(txn, GW_DB_ACCOUNTS, k, 8, &a->rec.base,
	    GW_PUT_NOOVERWRITE);
}

/* account_token_ad binds a sealed token to its account's SID. */
static void
account_token_ad(char *ad, size_t len, const char *sid)
{
	snprintf(ad, len, "relay.v1.account.token:%s", sid);
}

static void
admin_create_account(Relay__V1__Admin_Service *svc,
    const Relay__V1__CreateAccountRequest *req,
    Relay__V1__Account_Closure done, void *arg)
{
	struct gw_core       *core = CORE(svc);
	struct create_account a;
	Relay__V1__Account    v;
	char                  from[GW_E164_MAX + 1], msg[200], ad[128];
	size_t                tlen = strlen(req->token);
	uint8_t              *sealed = NULL;
	int                   rc;

	if ((rc = validate_account(req, true, from, msg, sizeof(msg))) !=
	    GW_OK) {
		gw_call_fail(arg, rc, "%s", msg);
		return;
	}
	memset(&a, 0, sizeof(a));
	relay__v1__account_record__init(&a.rec);
	a.rec.kind        = req->kind;
	a.rec.sid         = req->sid;
	a.rec.base_url    = req->base_url;
	a.rec.from_number = from;
	a.rec.description = req->description;
	if (tlen > 0) {
		if ((sealed = malloc(gw_sealed_len(tlen))) == NULL) {
			gw_call_fail(arg, GW_ENOMEM, "out of memory");
			return;
		}
		account_token_ad(ad, sizeof(ad), req->sid);
		if (gw_seal(core->keyring, ad, (const uint8_t *) req->token,
			tlen, sealed) != GW_OK) {
			gw_call_fail(arg, GW_ECRYPTO, "sealing the token failed");
			free(sealed);
			return;
		}
		a.rec.token_sealed.data = sealed;
		a.rec.token_sealed.len  = gw_sealed_len(tlen);
	}
	if (write(core, arg, create_account_fn, &a.w) == GW_OK) {
		gw_info("admin", "account %llu (%s) created",
		    (unsigned long long) a.rec.id,
		    protobuf_c_enum_descriptor_get_value(
			&relay__v1__account_kind__descriptor, req->kind)
			->name);
		account_view(&a.rec, &v);
		done(&v, arg);
	}
	free(sealed);
}

static void
admin_list_accounts(Relay__V1__Admin_Service *svc, const Relay__V1__Empty *req,
    Relay__V1__AccountList_Closure done, void *arg)
{
	struct collect         c = { .desc = &relay__v1__account_record__descriptor };
	Relay__V1__AccountList out = RELAY__V1__ACCOUNT_LIST__INIT;

	(void) req;
	if (scan_all(CORE(svc), arg, GW_DB_ACCOUNTS, &c) == GW_OK)
		reply_views(arg, &c, sizeof(Relay__V1__Account),
		    account_view, &out.base, (ProtobufCClosure) done);
}

static void
admin_get_account(Relay__V1__Admin_Service *svc, const Relay__V1__IdRequest *req,
    Relay__V1__Account_Closure done, void *arg)
{
	Relay__V1__AccountRecord *r;
	Relay__V1__Account        v;
	uint8_t                   k[8];

	u64key(k, req->id);
	if (get_one(CORE(svc), arg, GW_DB_ACCOUNTS, k, 8,
		&relay__v1__account_record__descriptor, (ProtobufCMessage **) &r,
		"account", req->id) != GW_OK)
		return;
	account_view(r, &v);
	done(&v, arg);
	relay__v1__account_record__free_unpacked(r, NULL);
}

/* UpdateAccount: the handler validates the merged account against a
 * snapshot and seals a new token outside the commit; the write function
 * applies the set fields to the current record, refusing if its SID
 * moved meanwhile (a token is sealed for one SID). */
struct update_account {
	struct wbase                         w;
	const Relay__V1__UpdateAccountRequest *req;
	const char                          *snap_sid; /* SID validated */
	const char                          *from;     /* normalised */
	const uint8_t                       *sealed;   /* new token, or NULL */
	size_t                               sealed_len;
	bool                                 clear_token;
	Relay__V1__AccountRecord            *rec;      /* as read, owned */
	Relay__V1__AccountRecord             out;      /* as written: views
							* into rec, req and
							* this struct */
};

static int
update_account_fn(struct gw_txn *txn, void *arg)
{
	struct update_account               *a   = arg;
	const Relay__V1__UpdateAccountRequest *req = a->req;
	Relay__V1__AccountRecord            *r = &a->out;
	uint8_t                              k[8];
	int                                  rc;

	if (a->rec != NULL)
		relay__v1__account_record__free_unpacked(a->rec, NULL);
	a->rec = NULL;
	u64key(k, req->id);
	rc = gw_txn_get(txn, GW_DB_ACCOUNTS, k, 8,
	    &relay__v1__account_record__descriptor,
	    (ProtobufCMessage **) &a->rec);
	if (rc == GW_ENOTFOUND)
		return wfail(&a->w, rc, "account %llu not found",
		    (unsigned long long) req->id);
	if (rc != GW_OK)
		return rc;
	if (strcmp(a->rec->sid, a->snap_sid) != 0)
		return wfail(&a->w, GW_ESTATE,
		    "account %llu changed meanwhile; try again",
		    (unsigned long long) req->id);
	*r = *a->rec; /* shallow: a->rec keeps owning the strings */
	if (req->set_sid_case == RELAY__V1__UPDATE_ACCOUNT_REQUEST__SET_SID_SID)
		r->sid = req->sid;
	if (req->set_base_url_case ==
	    RELAY__V1__UPDATE_ACCOUNT_REQUEST__SET_BASE_URL_BASE_URL)
		r->base_url = req->base_url;
	if (req->set_from_number_case ==
	    RELAY__V1__UPDATE_ACCOUNT_REQUEST__SET_FROM_NUMBER_FROM_NUMBER)
		r->from_number = (char *) a->from;
	if (req->set_description_case ==
	    RELAY__V1__UPDATE_ACCOUNT_REQUEST__SET_DESCRIPTION_DESCRIPTION)
		r->description = req->description;
	if (a->sealed != NULL) {
		r->token_sealed.data = (uint8_t *) a->sealed;
		r->token_sealed.len  = a->sealed_len;
	} else if (a->clear_token) {
		r->token_sealed.data = NULL;
		r->token_sealed.len  = 0;
	}
	return gw_txn_put(txn, GW_DB_ACCOUNTS, k, 8, &r->base, 0);
}

static void
admin_update_account(Relay__V1__Admin_Service *svc,
    const Relay__V1__UpdateAccountRequest *req,
    Relay__V1__Account_Closure done, void *arg)
{
	struct gw_core                *core = CORE(svc);
	struct update_account          a    = { .req = req };
	Relay__V1__AccountRecord      *snap = NULL;
	Relay__V1__CreateAccountRequest m =
	    RELAY__V1__CREATE_ACCOUNT_REQUEST__INIT;
	Relay__V1__Account             v;
	char     from[GW_E164_MAX + 1], msg[200], ad[128];
	bool     token_given = req->set_token_case ==
	    RELAY__V1__UPDATE_ACCOUNT_REQUEST__SET_TOKEN_TOKEN;
	uint8_t *sealed = NULL;
	size_t   tlen;
	uint8_t  k[8];

	u64key(k, req->id);
	if (get_one(core, arg, GW_DB_ACCOUNTS, k, 8,
		&relay__v1__account_record__descriptor,
		(ProtobufCMessage **) &snap, "account", req->id) != GW_OK)
		return;
	/* the account as it would be, validated as a new one would be */
	m.kind        = snap->kind;
	m.sid         = req->set_sid_case ==
		RELAY__V1__UPDATE_ACCOUNT_REQUEST__SET_SID_SID
		    ? req->sid
		    : snap->sid;
	m.token       = token_given ? req->token : "";
	m.base_url    = req->set_base_url_case ==
		RELAY__V1__UPDATE_ACCOUNT_REQUEST__SET_BASE_URL_BASE_URL
		    ? req->base_url
		    : snap->base_url;
	m.from_number = req->set_from_number_case ==
		RELAY__V1__UPDATE_ACCOUNT_REQUEST__SET_FROM_NUMBER_FROM_NUMBER
		    ? req->from_number
		    : snap->from_number;
	m.description = req->set_description_case ==
		RELAY__V1__UPDATE_ACCOUNT_REQUEST__SET_DESCRIPTION_DESCRIPTION
		    ? req->description
		    : snap->description;
	if (validate_account(&m, token_given, from, msg, sizeof(msg)) !=
	    GW_OK) {
		gw_call_fail(arg, GW_EINVAL, "%s", msg);
		goto out;
	}
	if (strcmp(m.sid, snap->sid) != 0 && snap->token_sealed.len > 0 &&
	    !token_given) {
		gw_call_fail(arg, GW_EINVAL, "token: required when the sid "
		    "changes (the stored token is sealed for the old sid)");
		goto out;
	}
	a.snap_sid    = snap->sid;
	a.from        = from;
	a.clear_token = token_given && req->token[0] == '\0';
	if (token_given && (tlen = strlen(req->token)) > 0) {
		if ((sealed = malloc(gw_sealed_len(tlen))) == NULL) {
			gw_call_fail(arg, GW_ENOMEM, "out of memory");
			goto out;
		}
		account_token_ad(ad, sizeof(ad), m.sid);
		if (gw_seal(core->keyring, ad, (const uint8_t *) req->token,
			tlen, sealed) != GW_OK) {
			gw_call_fail(arg, GW_ECRYPTO,
			    "sealing the token failed");
			goto out;
		}
		a.sealed     = sealed;
		a.sealed_len = gw_sealed_len(tlen);
	}
	if (write(core, arg, update_account_fn, &a.w) == GW_OK) {
		gw_info("admin", "account %llu updated%s",
		    (unsigned long long) req->id,
		    token_given ? " (token replaced)" : "");
		account_view(&a.out, &v);
		done(&v, arg);
	}
out:
	if (a.rec != NULL)
		relay__v1__account_record__free_unpacked(a.rec, NULL);
	relay__v1__account_record__free_unpacked(snap, NULL);
	free(sealed);
}

struct route_user {
	uint64_t account_id;
	uint64_t route_id;
};

static int
find_route_user(const void *key, size_t klen, const void *val, size_t vlen,
    void *arg)
{
	struct route_user *u = arg;
	Relay__V1__Route  *r;

	(void) key;
	(void) klen;
	if ((r = relay__v1__route__unpack(NULL, vlen, val)) == NULL)
		return GW_ESTORE;
	if (r->account_id == u->account_id)
		u->route_id = r->id;
	relay__v1__route__free_unpacked(r, NULL);
	return u->route_id != 0;
}

struct delete_account {
	struct wbase              w;
	uint64_t                  id;
	Relay__V1__AccountRecord *rec;
};

static int
delete_account_fn(struct gw_txn *txn, void *arg)
{
	struct delete_account *a = arg;
	struct route_user      u = { .account_id = a->id };
	uint8_t                k[8];
	int                    rc;

	if (a->rec != NULL)
		relay__v1__account_record__free_unpacked(a->rec, NULL);
	a->rec = NULL;
	u64key(k, a->id);
	rc = gw_txn_get(txn, GW_DB_ACCOUNTS, k, 8,
	    &relay__v1__account_record__descriptor,
	    (ProtobufCMessage **) &a->rec);
	if (rc == GW_ENOTFOUND)
		return wfail(&a->w, rc, "account %llu not found",
		    (unsigned long long) a->id);
	if (rc != GW_OK)
		return rc;
	rc = gw_txn_scan(txn, GW_DB_ROUTES, NULL, 0, NULL, 0, find_route_user,
	    &u);
	if (rc != GW_OK)
		return rc;
	if (u.route_id != 0)
		return wfail(&a->w, GW_ESTATE,
		    "account %llu is used by route %llu; delete or "
		    "re-point that route first",
		    (unsigned long long) a->id,
		    (unsigned long long) u.route_id);
	return gw_txn_del(txn, GW_DB_ACCOUNTS, k, 8);
}

static void
admin_delete_account(Relay__V1__Admin_Service *svc,
    const Relay__V1__IdRequest *req, Relay__V1__Account_Closure done, void *arg)
{
	struct delete_account a = { .id = req->id };
	Relay__V1__Account    v;

	if (write(CORE(svc), arg, delete_account_fn, &a.w) == GW_OK) {
		gw_info("admin", "account %llu deleted",
		    (unsigned long long) a.id);
		account_view(a.rec, &v);
		done(&v, arg);
	}
	if (a.rec != NULL)
		relay__v1__account_record__free_unpacked(a.rec, NULL);
}

/* ---- routing rules --------------------------------------------------- */

static int
check_price(struct gw_call *call, int64_t price)
{
	if (price < 0 || price > 1000 * GW_MICROS_PER_UNIT)
		return gw_call_fail(call, GW_EINVAL,
		    "price: 0 to 1000.00 per segment");
	return GW_OK;
}

static int
check_pattern(struct gw_call *call, const char *pattern)
{
	char err[200];

	if (gw_pattern_check(pattern, err, sizeof(err)) != GW_OK)
		return gw_call_fail(call, GW_EINVAL, "pattern: %s", err);
	return GW_OK;
}

struct put_route {
	struct wbase                          w;
	const Relay__V1__UpdateRouteRequest *upd; /* NULL: create */
	Relay__V1__Route                     rec;  /* create: the new rule */
	Relay__V1__Route                    *old;  /* update: owned */
};

static int
account_exists(struct gw_txn *txn, struct wbase *w, uint64_t id)
{
	const void *val;
	size_t      vlen;
	uint8_t     k[8];
	int         rc;

	u64key(k, id);
	rc = gw_txn_get_raw(txn, GW_DB_ACCOUNTS, k, 8, &val, &vlen);
	if (rc == GW_ENOTFOUND)
		return wfail(w, GW_EINVAL, "account: %llu does not exist",
		    (unsigned long long) id);
	return rc;
}

static int
create_route_fn(struct gw_txn *txn, void *arg)
{
	struct put_route *a = arg;
	uint8_t           k[8];
	int               rc;

	if ((rc = account_exists(txn, &a->w, a->rec.account_id)) != GW_OK)
		return rc;
	a->rec.created_unix_ms = a->w.now;
	if ((rc = gw_txn_next_id(txn, "route", &a->rec.id)) != GW_OK)
		return rc;
	u64key(k, a->rec.id);
	return gw_txn_put(txn, GW_DB_ROUTES, k, 8, &a->rec.base,
	    GW_PUT_NOOVERWRITE);
}

static void
admin_create_route(Relay__V1__Admin_Service *svc,
    const Relay__V1__CreateRouteRequest *req, Relay__V1__Route_Closure done,
    void *arg)
{
	struct gw_core  *core = CORE(svc);
	struct put_route a    = { 0 };

	if (check_pattern(arg, req->pattern) != GW_OK ||
	    check_price(arg, req->price_micros) != GW_OK)
		return;
	relay__v1__route__init(&a.rec);
	a.rec.pattern      = req->pattern;
	a.rec.priority     = req->priority;
	a.rec.account_id   = req->account_id;
	a.rec.price_micros = req->price_micros;
	a.rec.enabled      = !req->disabled;
	if (write(core, arg, create_route_fn, &a.w) != GW_OK)
		return;
	gw_router_invalidate(core->router);
	gw_info("admin", "route %llu created (priority %d, account %llu)",
	    (unsigned long long) a.rec.id, a.rec.priority,
	    (unsigned long long) a.rec.account_id);
	done(&a.rec, arg);
}

static int
route_cmp(const void *x, const void *y)
{
	const Relay__V1__Route *a = *(Relay__V1__Route *const *) x;
	const Relay__V1__Route *b = *(Relay__V1__Route *const *) y;

	if (a->priority != b->priority)
		return a->priority > b->priority ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

static void
admin_list_routes(Relay__V1__Admin_Service *svc, const Relay__V1__Empty *req,
    Relay__V1__RouteList_Closure done, void *arg)
{
	struct collect       c   = { .desc = &relay__v1__route__descriptor };
	Relay__V1__RouteList out = RELAY__V1__ROUTE_LIST__INIT;

	(void) req;
	if (scan_all(CORE(svc), arg, GW_DB_ROUTES, &c) != GW_OK)
		return;
	if (c.n > 1)
		qsort(c.items, c.n, sizeof(*c.items), route_cmp);
	out.n_routes = c.n;
	out.routes   = (Relay__V1__Route **) c.items;
	done(&out, arg);
	collect_free(&c);
}

static int
update_route_fn(struct gw_txn *txn, void *arg)
{
	struct put_route                    *a   = arg;
	const Relay__V1__UpdateRouteRequest *upd = a->upd;
	uint8_t                              k[8];
	int                                  rc;

	if (a->old != NULL)
		relay__v1__route__free_unpacked(a->old, NULL);
	a->old = NULL;
	u64key(k, upd->id);
	rc = gw_txn_get(txn, GW_DB_ROUTES, k, 8, &relay__v1__route__descriptor,
	    (ProtobufCMessage **) &a->old);
	if (rc == GW_ENOTFOUND)
		return wfail(&a->w, rc, "route %llu not found",
		    (unsigned long long) upd->id);
	if (rc != GW_OK)
		return rc;
	a->rec = *a->old;
	if (upd->set_pattern_case ==
	    RELAY__V1__UPDATE_ROUTE_REQUEST__SET_PATTERN_PATTERN)
		a->rec.pattern = upd->pattern;
	if (upd->set_priority_case ==
	    RELAY__V1__UPDATE_ROUTE_REQUEST__SET_PRIORITY_PRIORITY)
		a->rec.priority = upd->priority;
	if (upd->set_account_id_case ==
	    RELAY__V1__UPDATE_ROUTE_REQUEST__SET_ACCOUNT_ID_ACCOUNT_ID) {
		if ((rc = account_exists(txn, &a->w, upd->account_id)) != GW_OK)
			return rc;
		a->rec.account_id = upd->account_id;
	}
	if (upd->set_price_micros_case ==
	    RELAY__V1__UPDATE_ROUTE_REQUEST__SET_PRICE_MICROS_PRICE_MICROS)
		a->rec.price_micros = upd->price_micros;
	if (upd->set_enabled_case ==
	    RELAY__V1__UPDATE_ROUTE_REQUEST__SET_ENABLED_ENABLED)
		a->rec.enabled = upd->enabled;
	return gw_txn_put(txn, GW_DB_ROUTES, k, 8, &a->rec.base, 0);
}

static void
admin_update_route(Relay__V1__Admin_Service *svc,
    const Relay__V1__UpdateRouteRequest *req, Relay__V1__Route_Closure done,
    void *arg)
{
	struct gw_core  *core = CORE(svc);
	struct put_route a    = { .upd = req };

	if (req->set_pattern_case ==
		RELAY__V1__UPDATE_ROUTE_REQUEST__SET_PATTERN_PATTERN &&
	    check_pattern(arg, req->pattern) != GW_OK)
		return;
	if (req->set_price_micros_case ==
		RELAY__V1__UPDATE_ROUTE_REQUEST__SET_PRICE_MICROS_PRICE_MICROS &&
	    check_price(arg, req->price_micros) != GW_OK)
		return;
	if (write(core, arg, update_route_fn, &a.w) == GW_OK) {
		gw_router_invalidate(core->router);
		gw_info("admin", "route %llu updated",
		    (unsigned long long) req->id);
		done(&a.rec, arg);
	}
	if (a.old != NULL)
		relay__v1__route__free_unpacked(a.old, NULL);
}

struct delete_route {
	struct wbase      w;
	uint64_t          id;
	Relay__V1__Route *old;
};

static int
delete_route_fn(struct gw_txn *txn, void *arg)
{
	struct delete_route *a = arg;
	uint8_t              k[8];
	int                  rc;

	if (a->old != NULL)
		relay__v1__route__free_unpacked(a->old, NULL);
	a->old = NULL;
	u64key(k, a->id);
	rc = gw_txn_get(txn, GW_DB_ROUTES, k, 8, &relay__v1__route__descriptor,
	    (ProtobufCMessage **) &a->old);
	if (rc == GW_ENOTFOUND)
		return wfail(&a->w, rc, "route %llu not found",
		    (unsigned long long) a->id);
	if (rc != GW_OK)
		return rc;
	return gw_txn_del(txn, GW_DB_ROUTES, k, 8);
}

static void
admin_delete_route(Relay__V1__Admin_Service *svc,
    const Relay__V1__IdRequest *req, Relay__V1__Route_Closure done, void *arg)
{
	struct gw_core     *core = CORE(svc);
	struct delete_route a    = { .id = req->id };

	if (write(core, arg, delete_route_fn, &a.w) == GW_OK) {
		gw_router_invalidate(core->router);
		gw_info("admin", "route %llu deleted",
		    (unsigned long long) a.id);
		done(a.old, arg);
	}
	if (a.old != NULL)
		relay__v1__route__free_unpacked(a.old, NULL);
}

static void
admin_test_route(Relay__V1__Admin_Service *svc,
    const Relay__V1__TestRouteRequest *req,
    Relay__V1__TestRouteReply_Closure done, void *arg)
{
	struct gw_core           *core = CORE(svc);
	Relay__V1__TestRouteReply out  = RELAY__V1__TEST_ROUTE_REPLY__INIT;
	Relay__V1__Route         *route = NULL;
	Relay__V1__AccountRecord *acct  = NULL;
	Relay__V1__Account        av;
	struct gw_route_match     m;
	struct gw_sms_info        info;
	struct gw_txn            *txn;
	char                      num[GW_E164_MAX + 1];
	uint8_t                   k[8];
	int                       rc;

	if (gw_e164_normalize(req->number, strlen(req->number), num) != GW_OK) {
		gw_call_fail(arg, GW_EINVAL, "number: not an E.164 number "
		    "(+15551234567) or 11-digit 1NPANXXXXXX");
		return;
	}
	if ((rc = gw_sms_info(req->body, strlen(req->body), &info)) != GW_OK) {
		gw_call_fail(arg, GW_EINVAL, "body: %s", gw_strerror(rc));
		return;
	}
	if ((rc = gw_router_match(core->router, num, &m)) != GW_OK) {
		gw_call_fail(arg, rc, rc == GW_ENOROUTE
			? "no enabled routing rule matches %s"
			: "routing failed for %s",
		    num);
		return;
	}
	if (read_begin(core, arg, &txn) != GW_OK)
		return;
	u64key(k, m.route_id);
	rc = gw_txn_get(txn, GW_DB_ROUTES, k, 8, &relay__v1__route__descriptor,
	    (ProtobufCMessage **) &route);
	u64key(k, m.account_id);
	if (rc == GW_OK)
		rc = gw_txn_get(txn, GW_DB_ACCOUNTS, k, 8,
		    &relay__v1__account_record__descriptor,
		    (ProtobufCMessage **) &acct);
	gw_txn_end(txn);
	if (rc != GW_OK) {
		gw_call_fail(arg, rc, "route %llu or its account changed; "
		    "try again", (unsigned long long) m.route_id);
	} else {
		account_view(acct, &av);
		out.number       = num;
		out.route        = route;
		out.account      = &av;
		out.segments     = info.segments;
		out.price_micros = m.price_micros * info.segments;
		out.encoding     = info.encoding == GW_SMS_GSM7 ? "GSM-7"
								: "UCS-2";
		done(&out, arg);
	}
	if (route != NULL)
		relay__v1__route__free_unpacked(route, NULL);
	if (acct != NULL)
		relay__v1__account_record__free_unpacked(acct, NULL);
}

/* ---- TNs ------------------------------------------------------------- */

struct put_tn {
	struct wbase w;
	bool         remove;
	char         number[GW_E164_MAX + 1];
	Relay__V1__Tn rec;
	Relay__V1__Tn *old;
};

static int
tn_fn(struct gw_txn *txn, void *arg)
{
	struct put_tn *a = arg;
	size_t         n = strlen(a->number);
	int            rc;

	if (!a->remove) {
		relay__v1__tn__init(&a->rec);
		a->rec.number          = a->number;
		a->rec.created_unix_ms = a->w.now;
		rc = gw_txn_put(txn, GW_DB_TNS, a->number, n, &a->rec.base,
		    GW_PUT_NOOVERWRITE);
		if (rc == GW_EEXIST)
			return wfail(&a->w, rc, "%s is already in the pool",
			    a->number);
		return rc;
	}
	if (a->old != NULL)
		relay__v1__tn__free_unpacked(a->old, NULL);
	a->old = NULL;
	rc = gw_txn_get(txn, GW_DB_TNS, a->number, n, &relay__v1__tn__descriptor,
	    (ProtobufCMessage **) &a->old);
	if (rc == GW_ENOTFOUND)
		return wfail(&a->w, rc, "%s is not in the pool", a->number);
	if (rc != GW_OK)
		return rc;
	return gw_txn_del(txn, GW_DB_TNS, a->number, n);
}

static void
tn_change(struct gw_core *core, const Relay__V1__TnRequest *req,
    Relay__V1__Tn_Closure done, void *arg, bool remove)
{
	struct put_tn a = { .remove = remove };

	if (gw_e164_normalize(req->number, strlen(req->number), a.number) !=
	    GW_OK) {
		gw_call_fail(arg, GW_EINVAL, "number: not an E.164 number "
		    "(+15551234567) or 11-digit 1NPANXXXXXX");
		return;
	}
	if (write(core, arg, tn_fn, &a.w) == GW_OK) {
		gw_info("admin", "tn %s %s", a.number,
		    remove ? "removed" : "added");
		done(remove ? a.old : &a.rec, arg);
	}
	if (a.old != NULL)
		relay__v1__tn__free_unpacked(a.old, NULL);
}

static void
admin_add_tn(Relay__V1__Admin_Service *svc, const Relay__V1__TnRequest *req,
    Relay__V1__Tn_Closure done, void *arg)
{
	tn_change(CORE(svc), req, done, arg, false);
}

static void
admin_remove_tn(Relay__V1__Admin_Service *svc, const Relay__V1__TnRequest *req,
    Relay__V1__Tn_Closure done, void *arg)
{
	tn_change(CORE(svc), req, done, arg, true);
}

static void
admin_list_tns(Relay__V1__Admin_Service *svc, const Relay__V1__Empty *req,
    Relay__V1__TnList_Closure done, void *arg)
{
	struct collect    c   = { .desc = &relay__v1__tn__descriptor };
	Relay__V1__TnList out = RELAY__V1__TN_LIST__INIT;

	(void) req;
	if (scan_all(CORE(svc), arg, GW_DB_TNS, &c) != GW_OK)
		return;
	out.n_tns = c.n;
	out.tns   = (Relay__V1__Tn **) c.items;
	done(&out, arg);
	collect_free(&c);
}

/* ---- settings -------------------------------------------------------- */

#define SETTINGS_KEY "settings"

static const struct {
	const char *key;
	size_t      offset;
	const char *dflt;
} settings_fields[] = {
	{ "org_name", offsetof(Relay__V1__Settings, org_name),
	    "Your Org Name" },
	{ "session_start_msg", offsetof(Relay__V1__Settings, session_start_msg),
	    "Your new session has started, send a message!" },
	{ "session_end_msg", offsetof(Relay__V1__Settings, session_end_msg),
	    "This session has ended, talk to you again soon!" },
	{ "no_session_msg", offsetof(Relay__V1__Settings, no_session_msg),
	    "An active session was not found. Please contact support." },
};
#define N_SETTINGS (sizeof(settings_fields) / sizeof(settings_fields[0]))

static char **
setting_field(Relay__V1__Settings *s, size_t i)
{
	return (char **) ((char *) s + settings_fields[i].offset);
}

/* fill_defaults points every empty field of s at its default. */
static void
fill_defaults(Relay__V1__Settings *s)
{
	for (size_t i = 0; i < N_SETTINGS; i++)
		if (**setting_field(s, i) == '\0')
			*setting_field(s, i) = (char *) settings_fields[i].dflt;
}

static void
admin_get_settings(Relay__V1__Admin_Service *svc, const Relay__V1__Empty *req,
    Relay__V1__Settings_Closure done, void *arg)
{
	Relay__V1__Settings *s = NULL, dflt = RELAY__V1__SETTINGS__INIT;
	struct gw_txn       *txn;
	int                  rc;

	(void) req;
	if (read_begin(CORE(svc), arg, &txn) != GW_OK)
		return;
	rc = gw_txn_get(txn, GW_DB_META, SETTINGS_KEY, strlen(SETTINGS_KEY),
	    &relay__v1__settings__descriptor, (ProtobufCMessage **) &s);
	gw_txn_end(txn);
	if (rc != GW_OK && rc != GW_ENOTFOUND) {
		gw_call_fail(arg, rc, "reading settings failed");
		return;
	}
	if (s == NULL) {
		fill_defaults(&dflt);
		done(&dflt, arg);
		return;
	}
	/* the unpacked strings are owned by s: show defaults via a copy */
	dflt = *s;
	fill_defaults(&dflt);
	done(&dflt, arg);
	relay__v1__settings__free_unpacked(s, NULL);
}

struct set_setting {
	struct wbase         w;
	size_t               field;
	const char          *value;
	Relay__V1__Settings *old;
	Relay__V1__Settings  rec;
};

static int
set_setting_fn(struct gw_txn *txn, void *arg)
{
	struct set_setting *a = arg;
	int                 rc;

	if (a->old != NULL)
		relay__v1__settings__free_unpacked(a->old, NULL);
	a->old = NULL;
	rc = gw_txn_get(txn, GW_DB_META, SETTINGS_KEY, strlen(SETTINGS_KEY),
	    &relay__v1__settings__descriptor, (ProtobufCMessage **) &a->old);
	if (rc != GW_OK && rc != GW_ENOTFOUND)
		return rc;
	relay__v1__settings__init(&a->rec);
	if (a->old != NULL)
		a->rec = *a->old;
	*setting_field(&a->rec, a->field) = (char *) a->value;
	return gw_txn_put(txn, GW_DB_META, SETTINGS_KEY, strlen(SETTINGS_KEY),
	    &a->rec.base, 0);
}

static void
admin_set_setting(Relay__V1__Admin_Service *svc,
    const Relay__V1__SetSettingRequest *req, Relay__V1__Settings_Closure done,
    void *arg)
{
	struct set_setting a = { .value = req->value };
	size_t             i;

	for (i = 0; i < N_SETTINGS; i++)
		if (strcmp(req->key, settings_fields[i].key) == 0)
			break;
	if (i == N_SETTINGS) {
		gw_call_fail(arg, GW_EINVAL, "key: one of org_name, "
		    "session_start_msg, session_end_msg, no_session_msg");
		return;
	}
	if (!gw_text_ok(req->value, TEXT_MAX_LEN)) {
		gw_call_fail(arg, GW_EINVAL, "value: at most %d characters, no "
		    "control characters", TEXT_MAX_LEN);
		return;
	}
	a.field = i;
	if (write(CORE(svc), arg, set_setting_fn, &a.w) == GW_OK) {
		gw_info("admin", "setting %s changed", req->key);
		fill_defaults(&a.rec);
		done(&a.rec, arg);
	}
	if (a.old != NULL)
		relay__v1__settings__free_unpacked(a.old, NULL);
}

/* ---- webhooks: TN assignment, auto-replies, secrets, inbound --------- */

#define AUTO_REPLY_MAX 1600
#define INBOUND_PAGE   50
#define INBOUND_PAGE_MAX 1000

struct tn_update {
	struct wbase  w;
	char          number[GW_E164_MAX + 1];
	uint64_t      client_id;  /* AssignTn */
	uint64_t      account_id; /* AssignTn */
	const char   *auto_reply; /* SetTnAutoReply when non-NULL */
	Relay__V1__Tn *rec;       /* the updated record, owned */
};

static int
tn_update_fn(struct gw_txn *txn, void *arg)
{
	struct tn_update         *a = arg;
	Relay__V1__AccountRecord *acct = NULL;
	size_t                    n = strlen(a->number);
	uint8_t                   k[8];
	const void               *v;
	size_t                    vlen;
	int                       rc;

	if (a->rec != NULL)
		relay__v1__tn__free_unpacked(a->rec, NULL);
	a->rec = NULL;
	rc = gw_txn_get(txn, GW_DB_TNS, a->number, n, &relay__v1__tn__descriptor,
	    (ProtobufCMessage **) &a->rec);
	if (rc == GW_ENOTFOUND)
		return wfail(&a->w, rc, "%s is not in the pool (relayctl tn "
		    "add %s)", a->number, a->number);
	if (rc != GW_OK)
		return rc;
	if (a->auto_reply != NULL) {
		/* the strings of rec are its own: point at ours only while
		 * packing, then give it back */
		char *own = a->rec->auto_reply;

		a->rec->auto_reply = (char *) a->auto_reply;
		rc = gw_txn_put(txn, GW_DB_TNS, a->number, n, &a->rec->base, 0);
		a->rec->auto_reply = own;
		return rc;
	}
	if (a->client_id != 0) {
		u64key(k, a->client_id);
		rc = gw_txn_get_raw(txn, GW_DB_CLIENTS, k, 8, &v, &vlen);
		if (rc == GW_ENOTFOUND)
			return wfail(&a->w, rc, "client %llu not found",
			    (unsigned long long) a->client_id);
		if (rc != GW_OK)
			return rc;
	}
	if (a->account_id != 0) {
		u64key(k, a->account_id);
		rc = gw_txn_get(txn, GW_DB_ACCOUNTS, k, 8,
		    &relay__v1__account_record__descriptor,
		    (ProtobufCMessage **) &acct);
		if (rc == GW_ENOTFOUND)
			return wfail(&a->w, rc, "account %llu not found",
			    (unsigned long long) a->account_id);
		if (rc != GW_OK)
			return rc;
		rc = acct->kind == RELAY__V1__ACCOUNT_KIND__ACCOUNT_TWILIO
		    ? GW_OK
		    : wfail(&a->w, GW_EINVAL, "account %llu is not a Twilio "
			"account: its webhooks are not signed that way",
			(unsigned long long) a->account_id);
		relay__v1__account_record__free_unpacked(acct, NULL);
		if (rc != GW_OK)
			return rc;
	}
	a->rec->client_id  = a->client_id;
	a->rec->account_id = a->account_id;
	return gw_txn_put(txn, GW_DB_TNS, a->number, n, &a->rec->base, 0);
}

static int
tn_number(struct gw_call *call, const char *in, char out[GW_E164_MAX + 1])
{
	if (gw_e164_normalize(in, strlen(in), out) != GW_OK)
		return gw_call_fail(call, GW_EINVAL, "number: not an E.164 "
		    "number (+15551234567) or 11-digit 1NPANXXXXXX");
	return GW_OK;
}

static void
admin_assign_tn(Relay__V1__Admin_Service *svc,
    const Relay__V1__AssignTnRequest *req, Relay__V1__Tn_Closure done,
    void *arg)
{
	struct tn_update a = { .client_id = req->client_id,
		.account_id = req->account_id };

	if (tn_number(arg, req->number, a.number) != GW_OK)
		return;
	if (write(CORE(svc), arg, tn_update_fn, &a.w) == GW_OK) {
		gw_info("admin", "tn %s assigned to client %llu (account %llu)",
		    a.number, (unsigned long long) a.client_id,
		    (unsigned long long) a.account_id);
		done(a.rec, arg);
	}
	if (a.rec != NULL)
		relay__v1__tn__free_unpacked(a.rec, NULL);
}

/* utf8_ok accepts well-formed UTF-8: no overlong forms, surrogates or
 * code points above U+10FFFF. */
static bool
utf8_ok(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t        len;
		uint32_t      cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			len = 2, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			len = 3, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			len = 4, cp = c & 0x07;
		else
			return false;
		if (i + len > n)
			return false;
		for (size_t j = 1; j < len; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		i += len;
	}
	return true;
}

/* auto_reply_ok accepts text that TwiML can carry: no control characters
 * but line breaks and tabs, valid UTF-8. */
static bool
auto_reply_ok(const char *s)
{
	size_t n = strlen(s);

	if (n > AUTO_REPLY_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char) s[i];

		if ((c < 0x20 && c != '\n' && c != '\r' && c != '\t') ||
		    c == 0x7f)
			return false;
	}
	return utf8_ok((const unsigned char *) s, n);
}

static void
admin_set_tn_auto_reply(Relay__V1__Admin_Service *svc,
    const Relay__V1__SetTnAutoReplyRequest *req, Relay__V1__Tn_Closure done,
    void *arg)
{
	struct tn_update a = { .auto_reply = req->text };

	if (tn_number(arg, req->number, a.number) != GW_OK)
		return;
	if (!auto_reply_ok(req->text)) {
		gw_call_fail(arg, GW_EINVAL, "text: UTF-8, at most %d bytes, "
		    "no control characters but line breaks", AUTO_REPLY_MAX);
		return;
	}
	if (write(CORE(svc), arg, tn_update_fn, &a.w) == GW_OK) {
		gw_info("admin", "tn %s auto-reply %s", a.number,
		    req->text[0] ? "set" : "cleared");
		char *own = a.rec->auto_reply;

		a.rec->auto_reply = (char *) req->text;
		done(a.rec, arg);
		a.rec->auto_reply = own;
	}
	if (a.rec != NULL)
		relay__v1__tn__free_unpacked(a.rec, NULL);
}

struct set_secret {
	struct wbase   w;
	uint64_t       client_id;
	const uint8_t *sealed;
	size_t         sealed_len;
};

static int
set_secret_fn(struct gw_txn *txn, void *arg)
{
	struct set_secret       *a = arg;
	Relay__V1__ClientRecord *c = NULL;
	ProtobufCBinaryData      own;
	uint8_t                  k[8];
	int                      rc;

	u64key(k, a->client_id);
	rc = gw_txn_get(txn, GW_DB_CLIENTS, k, 8,
	    &relay__v1__client_record__descriptor, (ProtobufCMessage **) &c);
	if (rc == GW_ENOTFOUND)
		return wfail(&a->w, rc, "client %llu not found",
		    (unsigned long long) a->client_id);
	if (rc != GW_OK)
		return rc;
	own = c->webhook_secret_sealed;
	c->webhook_secret_sealed.data = (uint8_t *) a->sealed;
	c->webhook_secret_sealed.len  = a->sealed_len;
	c->webhook_secret_unix_ms     = a->w.now;
	c->updated_unix_ms            = a->w.now;
	rc = gw_txn_put(txn, GW_DB_CLIENTS, k, 8, &c->base, 0);
	c->webhook_secret_sealed = own;
	relay__v1__client_record__free_unpacked(c, NULL);
	return rc;
}

#define WEBHOOK_SECRET_PREFIX "whsec_"
#define WEBHOOK_SECRET_LEN    (6 + 43)

static void
admin_rotate_webhook_secret(Relay__V1__Admin_Service *svc,
    const Relay__V1__IdRequest *req, Relay__V1__WebhookSecret_Closure done,
    void *arg)
{
	struct gw_core           *core = CORE(svc);
	struct set_secret         a = { .client_id = req->id };
	Relay__V1__WebhookSecret  out = RELAY__V1__WEBHOOK_SECRET__INIT;
	uint8_t                   sealed[64 + WEBHOOK_SECRET_LEN];
	char                     *secret, ad[96];

	GW_ASSERT(gw_sealed_len(WEBHOOK_SECRET_LEN) <= sizeof(sealed));
	if ((secret = sodium_malloc(WEBHOOK_SECRET_LEN + 1)) == NULL) {
		gw_call_fail(arg, GW_ENOMEM, "out of memory");
		return;
	}
	memcpy(secret, WEBHOOK_SECRET_PREFIX, 6);
	gw_random_token(secret + 6, WEBHOOK_SECRET_LEN + 1 - 6, 32);
	gw_webhook_secret_ad(ad, sizeof(ad), req->id);
	if (gw_seal(core->keyring, ad, (const uint8_t *) secret,
		WEBHOOK_SECRET_LEN, sealed) != GW_OK) {
		gw_call_fail(arg, GW_ECRYPTO, "sealing the secret failed");
		goto out;
	}
	a.sealed     = sealed;
	a.sealed_len = gw_sealed_len(WEBHOOK_SECRET_LEN);
	if (write(core, arg, set_secret_fn, &a.w) != GW_OK)
		goto out;
	gw_info("admin", "client %llu: webhook secret rotated",
	    (unsigned long long) req->id);
	out.client_id       = req->id;
	out.secret          = secret;
	out.created_unix_ms = a.w.now;
	done(&out, arg);
out:
	sodium_free(secret); /* wipes */
}

struct inbound_list {
	struct gw_txn              *txn;
	bool                        by_client;
	uint32_t                    limit;
	Relay__V1__InboundMessage **items;
	size_t                      n;
	int                         err;
};

static int
inbound_one(const void *key, size_t klen, const void *val, size_t vlen,
    void *arg)
{
	struct inbound_list       *l = arg;
	Relay__V1__InboundMessage *m = NULL;
	int                        rc;

	if (l->by_client) {
		if (klen != 16)
			return 0;
		rc = gw_txn_get(l->txn, GW_DB_INBOUND, (const uint8_t *) key + 8,
		    8, &relay__v1__inbound_message__descriptor,
		    (ProtobufCMessage **) &m);
		if (rc == GW_ENOTFOUND)
			return 0;
		if (rc != GW_OK)
			return rc;
	} else if ((m = relay__v1__inbound_message__unpack(NULL, vlen,
			val)) == NULL) {
		return GW_ESTORE;
	}
	l->items[l->n++] = m;
	return l->n == l->limit;
}

static void
admin_list_inbound(Relay__V1__Admin_Service *svc,
    const Relay__V1__ListInboundRequest *req,
    Relay__V1__InboundList_Closure done, void *arg)
{
	struct inbound_list   l = { .by_client = req->client_id != 0 };
	Relay__V1__InboundList out = RELAY__V1__INBOUND_LIST__INIT;
	uint8_t               pfx[8], from[16];
	int                   rc;

	l.limit = req->limit == 0 ? INBOUND_PAGE
	    : req->limit > INBOUND_PAGE_MAX ? INBOUND_PAGE_MAX
					    : req->limit;
	if ((l.items = calloc(l.limit, sizeof(*l.items))) == NULL) {
		gw_call_fail(arg, GW_ENOMEM, "out of memory");
		return;
	}
	if (read_begin(CORE(svc), arg, &l.txn) != GW_OK) {
		free(l.items);
		return;
	}
	/* keys hold ~id: newest first; before_id starts after it */
	u64key(pfx, req->client_id);
	memcpy(from, pfx, 8);
	u64key(from + 8, req->before_id ? ~(req->before_id - 1) : 0);
	if (l.by_client)
		rc = gw_txn_scan(l.txn, GW_DB_INBOUND_BY_CLIENT, pfx, 8, from,
		    16, inbound_one, &l);
	else
		rc = gw_txn_scan(l.txn, GW_DB_INBOUND, NULL, 0, from + 8,
		    req->before_id ? 8 : 0, inbound_one, &l);
	gw_txn_end(l.txn);
	if (rc != GW_OK) {
		gw_call_fail(arg, rc, "listing failed");
	} else {
		out.messages   = l.items;
		out.n_messages = l.n;
		done(&out, arg);
	}
	for (size_t i = 0; i < l.n; i++)
		relay__v1__inbound_message__free_unpacked(l.items[i], NULL);
	free(l.items);
}

struct event_filter {
	uint64_t                     client_id;
	Relay__V1__WebhookEventState state;
};

static bool
event_keep(const ProtobufCMessage *m, void *arg)
{
	const Relay__V1__WebhookEvent *e = (const void *) m;
	const struct event_filter     *f = arg;

	return (f->client_id == 0 || e->client_id == f->client_id) &&
	    (f->state == 0 || e->state == f->state);
}

static void
admin_list_webhook_events(Relay__V1__Admin_Service *svc,
    const Relay__V1__ListWebhookEventsRequest *req,
    Relay__V1__WebhookEventList_Closure done, void *arg)
{
	struct event_filter         f = { req->client_id, req->state };
	struct collect              c = {
			     .desc     = &relay__v1__webhook_event__descriptor,
			     .keep     = event_keep,
			     .keep_arg = &f,
	};
	Relay__V1__WebhookEventList out = RELAY__V1__WEBHOOK_EVENT_LIST__INIT;
	Relay__V1__WebhookEvent   **ev;
	size_t                      limit, n;

	limit = req->limit == 0 ? INBOUND_PAGE
	    : req->limit > INBOUND_PAGE_MAX ? INBOUND_PAGE_MAX
					    : req->limit;
	if (scan_all(CORE(svc), arg, GW_DB_EVENTS, &c) != GW_OK)
		return;
	n = c.n < limit ? c.n : limit;
	if ((ev = calloc(n + 1, sizeof(*ev))) == NULL) {
		gw_call_fail(arg, GW_ENOMEM, "out of memory");
	} else {
		/* newest first */
		for (size_t i = 0; i < n; i++)
			ev[i] = (Relay__V1__WebhookEvent *) c.items[c.n - 1 - i];
		out.events   = ev;
		out.n_events = n;
		done(&out, arg);
	}
	free(ev);
	collect_free(&c);
}

/* ---- messages and traffic: admin_messages.c ------------------------- */

static void
admin_list_messages(Relay__V1__Admin_Service *svc,
    const Relay__V1__AdminListMessagesRequest *req,
    Relay__V1__AdminMessageList_Closure done, void *arg)
{
	gw_admin_list_messages(CORE(svc), req, done, arg);
}

static void
admin_get_message(Relay__V1__Admin_Service *svc,
    const Relay__V1__MessageSidRequest *req,
    Relay__V1__AdminMessage_Closure done, void *arg)
{
	gw_admin_get_message(CORE(svc), req, done, arg);
}

static void
admin_get_stats(Relay__V1__Admin_Service *svc,
    const Relay__V1__GetStatsRequest *req, Relay__V1__Stats_Closure done,
    void *arg)
{
	gw_admin_get_stats(CORE(svc), req, done, arg);
}

const Relay__V1__Admin_Service gw_admin_service = RELAY__V1__ADMIN__INIT(admin_);
