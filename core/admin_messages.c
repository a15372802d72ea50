/*
 * admin_messages.c - the operator's view of traffic: ListMessages and
 * GetMessage over every client's messages, and GetStats.
 *
 * Listing is newest first, which is what a console shows. With a client,
 * it walks that client's index (GW_DB_MSG_BY_CLIENT: client, created ms,
 * id) backwards, so the time bounds are exact key bounds. Without one, it
 * walks GW_DB_MESSAGES backwards by id: ids are handed out in acceptance
 * order, so "newest first" is by id and the scan stops at the first
 * message created before from_unix_ms. A page token is the key where the
 * next page starts, bound to the client filter it was made with. Every
 * page examines a bounded number of messages, so a rare status costs
 * short pages, never an unbounded scan under the read snapshot.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "admin_impl.h"
#include "core_impl.h"
#include "gw/clock.h"
#include "gw/dispatcher.h"
#include "gw/err.h"
#include "messaging_impl.h"
#include "views_impl.h"
#include "webhooks_impl.h"

#define LIST_PAGE 50
#define LIST_PAGE_MAX 1000
#define LIST_SCAN_MULT 20       /* messages examined per one asked, filtered */
#define TOKEN_BYTES 24          /* client, created ms, id */
#define LOW_BALANCE_DEF 1000000 /* 1.00 */

static void
message_view(const void *record, void *view)
{
	const Relay__V1__MessageRecord *r = record;
	Relay__V1__AdminMessage        *v = view;

	relay__v1__admin_message__init(v);
	v->id = r->id;
	v->sid = r->sid;
	v->client_id = r->client_id;
	v->account_id = r->account_id;
	v->route_id = r->route_id;
	v->upstream_sid = r->upstream_sid;
	v->to = r->to;
	v->from = r->from;
	v->body = r->body;
	v->segments = r->segments;
	v->encoding = r->encoding;
	v->cost_micros = r->cost_micros;
	v->status = (char *) gw_message_status_name(r->status);
	v->error_code = r->error_code;
	v->error_message = r->error_message;
	v->attempts = r->attempts;
	v->refunded = r->refunded;
	v->status_callback = r->status_callback_url;
	v->created_unix_ms = r->created_unix_ms;
	v->updated_unix_ms = r->updated_unix_ms;
}

/* ---- ListMessages ---------------------------------------------------- */

struct mlist {
	struct gw_txn             *txn;
	uint64_t                   client_id;
	int64_t                    from_ms, to_ms;
	bool                       by_status;
	Relay__V1__MessageStatus   status;
	size_t                     limit, budget;
	Relay__V1__MessageRecord **recs;
	size_t                     n;
	uint64_t next_ms, next_id; /* where the next page starts */
	bool     more;
};

/* mlist_add filters r and keeps it or frees it. Returns 0. */
static int
mlist_add(struct mlist *l, Relay__V1__MessageRecord *r)
{
	if ((l->by_status && r->status != l->status) ||
	    (l->to_ms > 0 && r->created_unix_ms >= l->to_ms)) {
		relay__v1__message_record__free_unpacked(r, NULL);
		return 0;
	}
	l->recs[l->n++] = r;
	return 0;
}

/* mlist_full records where the next page starts when this one is done. */
static bool
mlist_full(struct mlist *l, uint64_t ms, uint64_t id)
{
	if (l->n < l->limit && l->budget > 0) {
		l->budget--;
		return false;
	}
	l->next_ms = ms;
	l->next_id = id;
	l->more = true;
	return true;
}

static int
by_client_one(
    const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
	struct mlist             *l = arg;
	const uint8_t            *k = key;
	Relay__V1__MessageRecord *r;
	uint64_t                  ms;
	int                       rc;

	(void) val;
	(void) vlen;
	if (klen != 24)
		return GW_ESTORE;
	ms = gw_key_get_u64(k + 8);
	if ((int64_t) ms < l->from_ms)
		return 1;
	if (mlist_full(l, ms, gw_key_get_u64(k + 16)))
		return 1;
	rc = gw_txn_get(l->txn, GW_DB_MESSAGES, k + 16, 8,
	    &relay__v1__message_record__descriptor, (ProtobufCMessage **) &r);
	if (rc == GW_ENOTFOUND)
		return 0;
	if (rc != GW_OK)
		return rc;
	return mlist_add(l, r);
}

static int
all_one(const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
	struct mlist             *l = arg;
	Relay__V1__MessageRecord *r;

	if (klen != 8)
		return GW_ESTORE;
	if ((r = relay__v1__message_record__unpack(NULL, vlen, val)) == NULL)
		return GW_ESTORE;
	if (r->created_unix_ms < l->from_ms) {
		relay__v1__message_record__free_unpacked(r, NULL);
		return 1;
	}
	if (mlist_full(l, 0, gw_key_get_u64(key))) {
		relay__v1__message_record__free_unpacked(r, NULL);
		return 1;
	}
	return mlist_add(l, r);
}

/* token_parse reads a page token made for client into *ms and *id. */
static int
token_parse(const char *s, uint64_t client, uint64_t *ms, uint64_t *id)
{
	uint8_t raw[TOKEN_BYTES];
	size_t  n;

	if (sodium_hex2bin(raw, sizeof(raw), s, strlen(s), NULL, &n, NULL) !=
	        0 ||
	    n != sizeof(raw) || gw_key_get_u64(raw) != client)
		return GW_EINVAL;
	*ms = gw_key_get_u64(raw + 8);
	*id = gw_key_get_u64(raw + 16);
	return GW_OK;
}

static void
token_make(
    uint64_t client, uint64_t ms, uint64_t id, char out[2 * TOKEN_BYTES + 1])
{
	uint8_t raw[TOKEN_BYTES];

	gw_key_put_u64(raw, client);
	gw_key_put_u64(raw + 8, ms);
	gw_key_put_u64(raw + 16, id);
	sodium_bin2hex(out, 2 * TOKEN_BYTES + 1, raw, sizeof(raw));
}

/* mlist_init checks req and fills l. Returns GW_OK or fails the call. */
static int
mlist_init(struct mlist *l, const Relay__V1__AdminListMessagesRequest *req,
    struct gw_call *call)
{
	memset(l, 0, sizeof(*l));
	l->client_id = req->client_id;
	if (req->from_unix_ms < 0 || req->to_unix_ms < 0 ||
	    (req->to_unix_ms > 0 && req->to_unix_ms <= req->from_unix_ms))
		return gw_call_fail(call, GW_EINVAL,
		    "from/to: Unix milliseconds, from before to");
	l->from_ms = req->from_unix_ms;
	l->to_ms = req->to_unix_ms;
	if (req->status[0] != '\0') {
		if (gw_message_status_parse(req->status, &l->status) != GW_OK)
			return gw_call_fail(call, GW_EINVAL,
			    "status: queued, sending, sent, delivered, "
			    "undelivered or failed");
		l->by_status = true;
	}
	l->limit = req->limit == 0       ? LIST_PAGE
	    : req->limit > LIST_PAGE_MAX ? LIST_PAGE_MAX
	                                 : req->limit;
	/* by client, the time bounds are key bounds and cost nothing */
	l->budget = l->by_status || (l->client_id == 0 && l->to_ms > 0)
	    ? l->limit * LIST_SCAN_MULT
	    : l->limit;
	return GW_OK;
}

void
gw_admin_list_messages(struct gw_core         *core,
    const Relay__V1__AdminListMessagesRequest *req,
    Relay__V1__AdminMessageList_Closure done, void *arg)
{
	Relay__V1__AdminMessageList out = RELAY__V1__ADMIN_MESSAGE_LIST__INIT;
	void                       *mem = NULL;
	struct mlist                l;
	uint8_t                     pfx[8], from[24];
	char                        token[2 * TOKEN_BYTES + 1];
	uint64_t                    ms = 0, id = 0;
	bool                        start = false;
	int                         rc;

	if (mlist_init(&l, req, arg) != GW_OK)
		return;
	if (req->page_token[0] != '\0') {
		if (token_parse(req->page_token, req->client_id, &ms, &id) !=
		    GW_OK) {
			gw_call_fail(arg, GW_EINVAL,
			    "page_token: not a token "
			    "this call returned with this client filter");
			return;
		}
		start = true;
	} else if (req->to_unix_ms > 0 && req->client_id != 0) {
		ms = (uint64_t) req->to_unix_ms - 1;
		id = UINT64_MAX;
		start = true;
	}
	if ((l.recs = calloc(l.limit, sizeof(*l.recs))) == NULL) {
		gw_call_fail(arg, GW_ENOMEM, "out of memory");
		return;
	}
	if ((rc = gw_store_read(core->store, &l.txn)) != GW_OK) {
		gw_call_fail(arg, rc, "store unavailable");
		goto out;
	}
	gw_key_put_u64(pfx, req->client_id);
	if (req->client_id != 0) {
		memcpy(from, pfx, 8);
		gw_key_put_u64(from + 8, ms);
		gw_key_put_u64(from + 16, id);
		rc = gw_txn_scan_rev(l.txn, GW_DB_MSG_BY_CLIENT, pfx, 8,
		    start ? from : NULL, 24, by_client_one, &l);
	} else {
		gw_key_put_u64(from, id);
		rc = gw_txn_scan_rev(l.txn, GW_DB_MESSAGES, NULL, 0,
		    start ? from : NULL, 8, all_one, &l);
	}
	gw_txn_end(l.txn);
	if (rc != GW_OK) {
		gw_call_fail(arg, rc, "listing messages failed");
		goto out;
	}
	if (gw_views_fill(&out.base, (void *const *) l.recs, l.n,
	        sizeof(Relay__V1__AdminMessage), message_view, &mem) != GW_OK) {
		gw_call_fail(arg, GW_ENOMEM, "out of memory");
		goto out;
	}
	out.next_page_token = "";
	if (l.more) {
		token_make(req->client_id, l.next_ms, l.next_id, token);
		out.next_page_token = token;
	}
	done(&out, arg);
out:
	for (size_t i = 0; i < l.n; i++)
		relay__v1__message_record__free_unpacked(l.recs[i], NULL);
	free(l.recs);
	free(mem);
}

/* ---- GetMessage ------------------------------------------------------ */

void
gw_admin_get_message(struct gw_core    *core,
    const Relay__V1__MessageSidRequest *req,
    Relay__V1__AdminMessage_Closure done, void *arg)
{
	Relay__V1__MessageRecord *r = NULL;
	Relay__V1__AdminMessage   v;
	struct gw_txn            *txn;
	uint64_t                  id;
	uint8_t                   k[8];
	int                       rc;

	if (gw_message_sid_parse(req->sid, &id) != GW_OK) {
		gw_call_fail(arg, GW_EINVAL,
		    "sid: SM followed by 32 lowercase hex digits");
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
	/* the random half of the sid must match too */
	if (rc == GW_OK && strcmp(r->sid, req->sid) != 0)
		rc = GW_ENOTFOUND;
	if (rc == GW_ENOTFOUND) {
		gw_call_fail(arg, rc, "message %s not found", req->sid);
	} else if (rc != GW_OK) {
		gw_call_fail(arg, rc, "reading the message failed");
	} else {
		message_view(r, &v);
		done(&v, arg);
	}
	if (r != NULL)
		relay__v1__message_record__free_unpacked(r, NULL);
}

/* ---- GetStats -------------------------------------------------------- */

struct client_count {
	int64_t  threshold;
	uint64_t total, low;
};

static int
client_count_one(
    const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
	struct client_count     *c = arg;
	Relay__V1__ClientRecord *r;

	(void) key;
	(void) klen;
	if ((r = relay__v1__client_record__unpack(NULL, vlen, val)) == NULL)
		return GW_ESTORE;
	c->total++;
	if (r->balance_micros < c->threshold)
		c->low++;
	relay__v1__client_record__free_unpacked(r, NULL);
	return 0;
}

void
gw_admin_get_stats(struct gw_core *core, const Relay__V1__GetStatsRequest *req,
    Relay__V1__Stats_Closure done, void *arg)
{
	Relay__V1__Stats           out = RELAY__V1__STATS__INIT;
	struct client_count        cc = { .threshold = LOW_BALANCE_DEF };
	struct gw_dispatcher      *d;
	struct gw_dispatcher_stats ds;
	struct gw_txn             *txn;
	int                        rc;

	if (req->low_balance_micros < 0) {
		gw_call_fail(arg, GW_EINVAL, "low_balance: not negative");
		return;
	}
	if (req->low_balance_micros > 0)
		cc.threshold = req->low_balance_micros;
	if ((rc = gw_store_read(core->store, &txn)) != GW_OK) {
		gw_call_fail(arg, rc, "store unavailable");
		return;
	}
	out.server_unix_ms = gw_now_ms();
	rc = gw_txn_count(txn, GW_DB_MESSAGES, &out.messages_total);
	if (rc == GW_OK)
		rc = gw_txn_count(txn, GW_DB_OUTBOX, &out.outbox_depth);
	if (rc == GW_OK)
		rc = gw_txn_scan(txn, GW_DB_CLIENTS, NULL, 0, NULL, 0,
		    client_count_one, &cc);
	gw_txn_end(txn);
	if (rc != GW_OK) {
		gw_call_fail(arg, rc, "reading the store failed");
		return;
	}
	/* relayd stops its RPC server before the dispatcher, so the
	 * dispatcher outlives this call */
	if ((d = atomic_load(&core->dispatcher)) != NULL) {
		gw_dispatcher_stats(d, &ds);
		out.dispatcher_running = true;
		out.attempts = ds.attempts;
		out.sent = ds.sent;
		out.retried = ds.retried;
		out.failed = ds.failed;
		out.in_flight = ds.in_flight;
	}
	out.clients_total = cc.total;
	out.clients_low_balance = cc.low;
	out.low_balance_micros = cc.threshold;
	done(&out, arg);
}
