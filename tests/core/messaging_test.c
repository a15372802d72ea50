/* messaging_test.c - the Messaging service through core's dispatcher, no
 * socket: billing under concurrency (exactly N of 4N), idempotency
 * (replay, conflict), bad input changes nothing, suspension, revocation
 * through the key cache, per-client visibility and paging. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* cmocka after its prerequisites */
#include <cmocka.h>

#include "gw/clock.h"
#include "gw/core.h"
#include "gw/err.h"
#include "gw/store.h"
#include "pb/status.h"
#include "relay/v1/admin.pb-c.h"
#include "relay/v1/messaging.pb-c.h"
#include "th.h"

#define TOKEN "test-admin-token"
#define PRICE 7500 /* micros per segment */
#define FROM "+15005550006"
#define TO "+14155550100"

struct fx {
	char           *dir;
	struct gw_core *core;
	uint64_t        client;
	char            key[128];
	uint64_t        key_id;
};

/* The RPC request id the next call carries (0: none), as relayd's
 * transport would pass it from the envelope. */
static uint64_t next_request_id;
static int64_t  next_deadline_ms; /* 0: none */

/* call runs "relay.v1.<svc>/<method>"; on GW_OK *out gets the reply. */
static int
call(struct fx *fx, const ProtobufCServiceDescriptor *svc, const char *admin,
    const char *api_key, const char *method, const ProtobufCMessage *req,
    void *out, char *errmsg)
{
	const ProtobufCMethodDescriptor *m;
	struct gw_call                   c;
	char                             name[128];
	uint8_t *buf = malloc(protobuf_c_message_get_packed_size(req) + 1);
	size_t   n = protobuf_c_message_pack(req, buf);
	int      rc;

	m = protobuf_c_service_descriptor_get_method_by_name(svc, method);
	assert_non_null(m);
	snprintf(name, sizeof(name), "%s/%s", svc->name, method);
	memset(&c, 0, sizeof(c));
	c.api_key    = api_key;
	c.request_id = next_request_id;
	c.deadline_ms = next_deadline_ms;
	rc = gw_call_dispatch(fx->core, &c, name, admin, buf, n);
	free(buf);
	if (rc == GW_OK && out != NULL) {
		*(ProtobufCMessage **) out = protobuf_c_message_unpack(
		    m->output, NULL, c.reply_len, c.reply);
		assert_non_null(*(ProtobufCMessage **) out);
	}
	if (rc != GW_OK)
		assert_null(c.reply);
	if (errmsg != NULL)
		snprintf(errmsg, 256, "%s", c.errmsg);
	free(c.reply);
	return rc;
}

static int
admin(struct fx *fx, const char *method, const ProtobufCMessage *req, void *out)
{
	return call(fx, &relay__v1__admin__descriptor, TOKEN, NULL, method, req,
	    out, NULL);
}

static int
msg_call(struct fx *fx, const char *key, const char *method,
    const ProtobufCMessage *req, void *out)
{
	return call(fx, &relay__v1__messaging__descriptor, NULL, key, method,
	    req, out, NULL);
}

static uint64_t
make_client(struct fx *fx, int64_t balance)
{
	Relay__V1__CreateClientRequest req =
	    RELAY__V1__CREATE_CLIENT_REQUEST__INIT;
	Relay__V1__Client *c;
	uint64_t           id;

	req.name = "acme";
	req.balance_micros = balance;
	assert_int_equal(admin(fx, "CreateClient", &req.base, &c), GW_OK);
	id = c->id;
	protobuf_c_message_free_unpacked(&c->base, NULL);
	return id;
}

static uint64_t
make_key(struct fx *fx, uint64_t client, char *raw, size_t len)
{
	Relay__V1__CreateKeyRequest req = RELAY__V1__CREATE_KEY_REQUEST__INIT;
	Relay__V1__CreatedKey      *k;
	uint64_t                    id;

	req.client_id = client;
	assert_int_equal(admin(fx, "CreateKey", &req.base, &k), GW_OK);
	snprintf(raw, len, "%s", k->raw_key);
	id = k->key->id;
	protobuf_c_message_free_unpacked(&k->base, NULL);
	return id;
}

static void
make_route(struct fx *fx, const char *pattern, int64_t price)
{
	Relay__V1__CreateAccountRequest a =
	    RELAY__V1__CREATE_ACCOUNT_REQUEST__INIT;
	Relay__V1__CreateRouteRequest r = RELAY__V1__CREATE_ROUTE_REQUEST__INIT;
	Relay__V1__Account           *acct;
	Relay__V1__Route             *route;

	a.kind = RELAY__V1__ACCOUNT_KIND__ACCOUNT_SANDBOX;
	a.from_number = FROM;
	assert_int_equal(admin(fx, "CreateAccount", &a.base, &acct), GW_OK);
	r.pattern = (char *) pattern;
	r.priority = 10;
	r.account_id = acct->id;
	r.price_micros = price;
	assert_int_equal(admin(fx, "CreateRoute", &r.base, &route), GW_OK);
	protobuf_c_message_free_unpacked(&acct->base, NULL);
	protobuf_c_message_free_unpacked(&route->base, NULL);
}

static int64_t
balance(struct fx *fx, uint64_t client)
{
	Relay__V1__IdRequest req = RELAY__V1__ID_REQUEST__INIT;
	Relay__V1__Client   *c;
	int64_t              b;

	req.id = client;
	assert_int_equal(admin(fx, "GetClient", &req.base, &c), GW_OK);
	b = c->balance_micros;
	protobuf_c_message_free_unpacked(&c->base, NULL);
	return b;
}

/* ledger returns the number of entries and checks sum == balance. */
static size_t
ledger_check(struct fx *fx, uint64_t client)
{
	Relay__V1__ListLedgerRequest req = RELAY__V1__LIST_LEDGER_REQUEST__INIT;
	Relay__V1__LedgerList       *l;
	size_t                       n;

	req.client_id = client;
	req.limit = 1000;
	assert_int_equal(admin(fx, "ListLedger", &req.base, &l), GW_OK);
	assert_int_equal(l->sum_micros, l->client->balance_micros);
	n = l->n_entries;
	protobuf_c_message_free_unpacked(&l->base, NULL);
	return n;
}

static int
send_sms(struct fx *fx, const char *key, const char *to, const char *body,
    const char *idem, Relay__V1__SendReply **out)
{
	Relay__V1__SendRequest req = RELAY__V1__SEND_REQUEST__INIT;
	Relay__V1__SendReply  *r = NULL;
	int                    rc;

	req.to = (char *) to;
	req.body = (char *) body;
	req.idempotency_key = (char *) (idem ? idem : "");
	rc = msg_call(fx, key, "Send", &req.base, &r);
	if (out != NULL)
		*out = r;
	else if (r != NULL)
		protobuf_c_message_free_unpacked(&r->base, NULL);
	return rc;
}

static size_t
count_messages(struct fx *fx, const char *key, const char *status)
{
	Relay__V1__ListMessagesRequest req =
	    RELAY__V1__LIST_MESSAGES_REQUEST__INIT;
	Relay__V1__MessageList *l;
	char                    token[64] = "";
	size_t                  n = 0;

	req.limit = 7; /* small pages: exercise the token */
	req.status = (char *) (status ? status : "");
	do {
		req.page_token = token;
		assert_int_equal(
		    msg_call(fx, key, "ListMessages", &req.base, &l), GW_OK);
		n += l->n_messages;
		for (size_t i = 1; i < l->n_messages; i++)
			assert_true(l->messages[i - 1]->created_unix_ms <=
			    l->messages[i]->created_unix_ms);
		snprintf(token, sizeof(token), "%s", l->next_page_token);
		protobuf_c_message_free_unpacked(&l->base, NULL);
	} while (token[0] != '\0');
	return n;
}

static int
setup_funds(void **state, int64_t funds)
{
	struct fx            *fx = calloc(1, sizeof(*fx));
	struct gw_core_config cfg = { 0 };

	fx->dir = th_tmpdir();
	cfg.state_dir = fx->dir;
	cfg.admin_token = TOKEN;
	assert_int_equal(gw_core_open(&cfg, &fx->core), GW_OK);
	fx->client = make_client(fx, funds);
	fx->key_id = make_key(fx, fx->client, fx->key, sizeof(fx->key));
	make_route(fx, "^\\+1", PRICE);
	*state = fx;
	return 0;
}

static int
setup(void **state)
{
	return setup_funds(state, 10 * 1000000LL);
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	next_request_id = 0;
	next_deadline_ms = 0;

	gw_core_close(fx->core);
	th_rmtree(fx->dir);
	free(fx);
	return 0;
}

static void
test_send_ok(void **state)
{
	struct fx                   *fx = *state;
	Relay__V1__SendReply        *r;
	Relay__V1__GetMessageRequest g = RELAY__V1__GET_MESSAGE_REQUEST__INIT;
	Relay__V1__Message          *m;
	char                         long_body[200];

	assert_int_equal(
	    send_sms(fx, fx->key, "14155550100", "hello", NULL, &r), GW_OK);
	assert_int_equal(strlen(r->sid), 34);
	assert_memory_equal(r->sid, "SM", 2);
	assert_string_equal(r->status, "queued");
	assert_int_equal(r->cost_micros, PRICE);
	assert_int_equal(r->segments, 1);
	assert_string_equal(r->to, TO);
	assert_string_equal(r->from, FROM); /* the account's default */
	assert_int_equal(r->remaining_balance_micros, 10 * 1000000LL - PRICE);
	assert_int_equal(balance(fx, fx->client), 10 * 1000000LL - PRICE);

	g.sid = r->sid;
	assert_int_equal(
	    msg_call(fx, fx->key, "GetMessage", &g.base, &m), GW_OK);
	assert_string_equal(m->body, "hello");
	assert_string_equal(m->status, "queued");
	assert_int_equal(m->cost_micros, PRICE);
	protobuf_c_message_free_unpacked(&m->base, NULL);
	protobuf_c_message_free_unpacked(&r->base, NULL);

	/* 161 GSM-7 characters: two segments, twice the price */
	memset(long_body, 'a', 161);
	long_body[161] = '\0';
	assert_int_equal(send_sms(fx, fx->key, TO, long_body, NULL, &r), GW_OK);
	assert_int_equal(r->segments, 2);
	assert_int_equal(r->cost_micros, 2 * PRICE);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	/* 72 Cyrillic characters: UCS-2, over 70 units, 2 segments of 67 */
	assert_int_equal(send_sms(fx, fx->key, TO,
	                     "\xD0\xB6\xD0\xB6\xD0\xB6\xD0\xB6\xD0\xB6\xD0\xB6"
	                     "\xD0\xB6\xD0\xB6\xD0\xB6\xD0\xB6\xD0\xB6\xD0\xB6"
	                     "\xD0\xB6\xD0\xB6\xD0\xB6\xD0\xB6\xD0\xB6\xD0\xB6"
	                     "\xD0\xB6\xD0\xB6\xD0\xB6\xD0\xB6\xD0\xB6\xD0\xB6"
	                     "\xD0\xB6\xD0\xB6\xD0\xB6\xD0\xB6\xD0\xB6\xD0\xB6"
	                     "\xD0\xB6\xD0\xB6\xD0\xB6\xD0\xB6\xD0\xB6\xD0\xB6"
	                     "\xD0\xB6\xD0\xB6\xD0\xB6\xD0\xB6\xD0\xB6\xD0\xB6"
	                     "\xD0\xB6\xD0\xB6\xD0\xB6\xD0\xB6\xD0\xB6\xD0\xB6"
	                     "\xD0\xB6\xD0\xB6\xD0\xB6\xD0\xB6\xD0\xB6\xD0\xB6"
	                     "\xD0\xB6\xD0\xB6\xD0\xB6\xD0\xB6\xD0\xB6\xD0\xB6"
	                     "\xD0\xB6\xD0\xB6\xD0\xB6\xD0\xB6\xD0\xB6\xD0\xB6"
	                     "\xD0\xB6\xD0\xB6\xD0\xB6\xD0\xB6\xD0\xB6\xD0\xB6",
	                     NULL, &r),
	    GW_OK);
	assert_string_equal(r->encoding, "UCS-2");
	assert_int_equal(r->segments, 2);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	assert_int_equal(ledger_check(fx, fx->client), 4); /* initial + 3 */
	assert_int_equal(count_messages(fx, fx->key, NULL), 3);
	assert_int_equal(count_messages(fx, fx->key, "queued"), 3);
	assert_int_equal(count_messages(fx, fx->key, "failed"), 0);
}

#define N_FUNDED 25

struct racer {
	struct fx         *fx;
	pthread_barrier_t *go;
	const char        *idem;
	const char        *body;
	int                rc;
	char               sid[40];
};

static void *
race(void *arg)
{
	struct racer         *r = arg;
	Relay__V1__SendReply *rep;

	pthread_barrier_wait(r->go);
	r->rc = send_sms(r->fx, r->fx->key, TO, r->body, r->idem, &rep);
	if (r->rc == GW_OK) {
		snprintf(r->sid, sizeof(r->sid), "%s", rep->sid);
		protobuf_c_message_free_unpacked(&rep->base, NULL);
	}
	return NULL;
}

static int
setup_exact(void **state)
{
	return setup_funds(state, N_FUNDED * PRICE);
}

/* With funds for exactly N and 4N concurrent sends, exactly N succeed,
 * the balance ends at exactly 0 and the ledger still sums to it. */
static void
test_send_concurrent_exact_funds(void **state)
{
	struct fx        *fx = *state;
	pthread_t         t[4 * N_FUNDED];
	struct racer      r[4 * N_FUNDED];
	pthread_barrier_t go;
	int               ok = 0, nofunds = 0;

	pthread_barrier_init(&go, NULL, 4 * N_FUNDED);
	for (int i = 0; i < 4 * N_FUNDED; i++) {
		r[i] = (struct racer) { .fx = fx, .go = &go, .body = "race" };
		pthread_create(&t[i], NULL, race, &r[i]);
	}
	for (int i = 0; i < 4 * N_FUNDED; i++) {
		pthread_join(t[i], NULL);
		ok += r[i].rc == GW_OK;
		nofunds += r[i].rc == GW_ENOFUNDS;
	}
	pthread_barrier_destroy(&go);
	assert_int_equal(ok, N_FUNDED);
	assert_int_equal(nofunds, 3 * N_FUNDED);
	assert_int_equal(balance(fx, fx->client), 0);
	assert_int_equal(ledger_check(fx, fx->client), 1 + N_FUNDED);
	assert_int_equal(count_messages(fx, fx->key, NULL), N_FUNDED);
}

static void
test_idempotency(void **state)
{
	struct fx             *fx = *state;
	Relay__V1__SendReply  *a, *b;
	int64_t                before = balance(fx, fx->client);
	char                   msg[256];
	Relay__V1__SendRequest req = RELAY__V1__SEND_REQUEST__INIT;

	assert_int_equal(send_sms(fx, fx->key, TO, "once", "key-1", &a), GW_OK);
	assert_false(a->replayed);
	assert_int_equal(
	    send_sms(fx, fx->key, "14155550100", "once", "key-1", &b), GW_OK);
	assert_true(b->replayed);
	assert_string_equal(a->sid, b->sid);
	assert_int_equal(
	    a->remaining_balance_micros, b->remaining_balance_micros);
	assert_int_equal(balance(fx, fx->client), before - PRICE);
	protobuf_c_message_free_unpacked(&a->base, NULL);
	protobuf_c_message_free_unpacked(&b->base, NULL);

	/* same key, another body: a conflict, and nothing charged */
	req.to = TO;
	req.body = "twice";
	req.idempotency_key = "key-1";
	assert_int_equal(call(fx, &relay__v1__messaging__descriptor, NULL,
	                     fx->key, "Send", &req.base, NULL, msg),
	    GW_ECONFLICT);
	assert_non_null(strstr(msg, "idempotency_key"));
	assert_int_equal(balance(fx, fx->client), before - PRICE);
	/* a different key is a different message */
	assert_int_equal(
	    send_sms(fx, fx->key, TO, "once", "key-2", NULL), GW_OK);
	assert_int_equal(balance(fx, fx->client), before - 2 * PRICE);
	assert_int_equal(ledger_check(fx, fx->client), 3);
}

/* Without an Idempotency-Key, a resent envelope (same RPC request id, as
 * nng's REQ resends after a dropped connection) is charged once; another
 * request id is another message. */
static void
test_resent_request_charged_once(void **state)
{
	struct fx            *fx = *state;
	Relay__V1__SendReply *a, *b;
	int64_t               before = balance(fx, fx->client);

	next_request_id = 0x1234;
	assert_int_equal(send_sms(fx, fx->key, TO, "resent", "", &a), GW_OK);
	assert_int_equal(send_sms(fx, fx->key, TO, "resent", "", &b), GW_OK);
	assert_string_equal(a->sid, b->sid);
	assert_true(b->replayed);
	assert_int_equal(balance(fx, fx->client), before - PRICE);
	protobuf_c_message_free_unpacked(&a->base, NULL);
	protobuf_c_message_free_unpacked(&b->base, NULL);
	next_request_id = 0x1235;
	assert_int_equal(send_sms(fx, fx->key, TO, "resent", "", &a), GW_OK);
	assert_false(a->replayed);
	protobuf_c_message_free_unpacked(&a->base, NULL);
	assert_int_equal(balance(fx, fx->client), before - 2 * PRICE);
	/* no request id at all (a raw caller): no implicit key */
	next_request_id = 0;
	assert_int_equal(send_sms(fx, fx->key, TO, "resent", "", NULL), GW_OK);
	assert_int_equal(send_sms(fx, fx->key, TO, "resent", "", NULL), GW_OK);
	assert_int_equal(balance(fx, fx->client), before - 4 * PRICE);
	assert_int_equal(ledger_check(fx, fx->client), 5);
}

static uint64_t
count_db(struct fx *fx, enum gw_db db)
{
	struct gw_txn *txn;
	uint64_t       n;

	assert_int_equal(gw_store_read(gw_core_store(fx->core), &txn), GW_OK);
	assert_int_equal(gw_txn_count(txn, db, &n), GW_OK);
	gw_txn_end(txn);
	return n;
}

struct raw_put {
	uint8_t key[24];
};

static int
raw_put_fn(struct gw_txn *txn, void *arg)
{
	struct raw_put *p = arg;

	return gw_txn_put_raw(txn, GW_DB_REQUESTS, p->key, 24, "", 0, 0);
}

static int
first_key_fn(const void *key, size_t klen, const void *val, size_t vlen,
    void *arg)
{
	(void) val;
	(void) vlen;
	assert_int_equal(klen, 24);
	memcpy(arg, key, 24);
	return 1;
}

/* With a deadline (relayd's own clients always send one) the implicit key
 * lives in the time-ordered requests table: a resend (same id, same
 * deadline) replays, and Sends prune records whose deadline passed over
 * an hour ago, oldest first, two at a time. */
static void
test_resent_request_with_deadline(void **state)
{
	struct fx            *fx = *state;
	struct gw_store      *st = gw_core_store(fx->core);
	Relay__V1__SendReply *a, *b;
	int64_t               before = balance(fx, fx->client);
	int64_t               now = gw_now_ms();
	struct gw_txn        *txn;
	uint8_t               first[24];

	next_request_id = 0x77;
	next_deadline_ms = now + 10000;
	assert_int_equal(send_sms(fx, fx->key, TO, "dl", "", &a), GW_OK);
	assert_int_equal(send_sms(fx, fx->key, TO, "dl", "", &b), GW_OK);
	assert_string_equal(a->sid, b->sid);
	assert_false(a->replayed);
	assert_true(b->replayed);
	protobuf_c_message_free_unpacked(&a->base, NULL);
	protobuf_c_message_free_unpacked(&b->base, NULL);
	assert_int_equal(balance(fx, fx->client), before - PRICE);
	assert_int_equal(count_db(fx, GW_DB_REQUESTS), 1);
	assert_int_equal(count_db(fx, GW_DB_IDEMPOTENCY), 0);

	/* five records long expired, one expired only a minute ago */
	for (int i = 0; i < 6; i++) {
		struct raw_put p;

		gw_key_put_u64(p.key,
		    (uint64_t) (i < 5 ? now - 7200000 + i : now - 60000));
		gw_key_put_u64(p.key + 8, 0x1000 + (uint64_t) i);
		gw_key_put_u64(p.key + 16, fx->client);
		assert_int_equal(gw_store_write(st, raw_put_fn, &p), GW_OK);
	}
	assert_int_equal(count_db(fx, GW_DB_REQUESTS), 7);
	next_request_id = 0x78;
	assert_int_equal(send_sms(fx, fx->key, TO, "dl", "", NULL), GW_OK);
	assert_int_equal(count_db(fx, GW_DB_REQUESTS), 6);
	next_request_id = 0x79;
	assert_int_equal(send_sms(fx, fx->key, TO, "dl", "", NULL), GW_OK);
	assert_int_equal(count_db(fx, GW_DB_REQUESTS), 5);
	/* the oldest went first */
	assert_int_equal(gw_store_read(st, &txn), GW_OK);
	assert_int_equal(gw_txn_scan(txn, GW_DB_REQUESTS, NULL, 0, NULL, 0,
			     first_key_fn, first),
	    GW_OK);
	gw_txn_end(txn);
	assert_int_equal(gw_key_get_u64(first + 8), 0x1004);
	next_request_id = 0x7a;
	assert_int_equal(send_sms(fx, fx->key, TO, "dl", "", NULL), GW_OK);
	next_request_id = 0x7b;
	assert_int_equal(send_sms(fx, fx->key, TO, "dl", "", NULL), GW_OK);
	/* the five live Sends and the record of a minute ago stay */
	assert_int_equal(count_db(fx, GW_DB_REQUESTS), 6);
	assert_int_equal(balance(fx, fx->client), before - 5 * PRICE);
	assert_int_equal(ledger_check(fx, fx->client), 6);
}

static Relay__V1__SendBatchItem *
batch_item(const char *key, uint64_t rid, const char *to, const char *body)
{
	Relay__V1__SendBatchItem *it = calloc(1, sizeof(*it));
	Relay__V1__SendRequest   *r;

	relay__v1__send_batch_item__init(it);
	it->api_key = (char *) key;
	it->request_id = rid;
	if (to != NULL) {
		r = calloc(1, sizeof(*r));
		relay__v1__send_request__init(r);
		r->to = (char *) to;
		r->body = (char *) body;
		it->request = r;
	}
	return it;
}

static int
send_batch(struct fx *fx, Relay__V1__SendBatchItem **items, size_t n,
    Relay__V1__SendBatchReply **out)
{
	Relay__V1__SendBatchRequest req = RELAY__V1__SEND_BATCH_REQUEST__INIT;

	req.n_items = n;
	req.items = items;
	return msg_call(fx, NULL, "SendBatch", &req.base, out);
}

static int
result_err(const Relay__V1__SendBatchResult *r)
{
	return pb_err_from_status(r->code, r->details);
}

/* SendBatch: each item is a Send of its own key and request id, with its
 * own outcome; a repeat of an item (in the batch, or the whole batch
 * resent) replays without a second charge. */
static void
test_send_batch(void **state)
{
	struct fx                 *fx = *state;
	Relay__V1__SendBatchItem  *items[7];
	Relay__V1__SendBatchReply *r1, *r2;
	char                       key2[128];
	uint64_t                   client2 = make_client(fx, PRICE);
	int64_t                    before = balance(fx, fx->client);
	const int want[7] = { GW_OK, GW_EAUTH, GW_EINVAL, GW_OK, GW_ENOFUNDS,
		GW_OK, GW_EINVAL };

	make_key(fx, client2, key2, sizeof(key2));
	items[0] = batch_item(fx->key, 1, TO, "one");
	items[1] = batch_item("rk_not_a_key", 2, TO, "two");
	items[2] = batch_item(fx->key, 3, "12", "three");
	items[3] = batch_item(key2, 4, TO, "four");
	items[4] = batch_item(key2, 5, TO, "five: no funds left");
	items[5] = batch_item(fx->key, 1, TO, "one"); /* item 0 again */
	items[6] = batch_item(fx->key, 6, NULL, NULL);
	next_deadline_ms = gw_now_ms() + 10000;
	assert_int_equal(send_batch(fx, items, 7, &r1), GW_OK);
	assert_int_equal(r1->n_results, 7);
	for (size_t i = 0; i < 7; i++) {
		assert_int_equal(result_err(r1->results[i]), want[i]);
		assert_true((r1->results[i]->reply != NULL) == (want[i] == GW_OK));
		if (want[i] != GW_OK)
			assert_true(r1->results[i]->message[0] != '\0');
	}
	assert_non_null(strstr(r1->results[2]->message, "to:"));
	assert_string_equal(r1->results[0]->reply->sid,
	    r1->results[5]->reply->sid);
	assert_false(r1->results[0]->reply->replayed);
	assert_true(r1->results[5]->reply->replayed);
	assert_int_equal(balance(fx, fx->client), before - PRICE);
	assert_int_equal(balance(fx, client2), 0);

	/* the whole batch again, as nng resends it: nothing new */
	assert_int_equal(send_batch(fx, items, 7, &r2), GW_OK);
	for (size_t i = 0; i < 7; i++) {
		assert_int_equal(result_err(r2->results[i]),
		    i == 4 ? GW_ENOFUNDS : want[i]);
		if (want[i] == GW_OK) {
			assert_true(r2->results[i]->reply->replayed);
			assert_string_equal(r2->results[i]->reply->sid,
			    r1->results[i]->reply->sid);
		}
	}
	assert_int_equal(balance(fx, fx->client), before - PRICE);
	assert_int_equal(balance(fx, client2), 0);
	assert_int_equal(ledger_check(fx, fx->client), 2);
	assert_int_equal(ledger_check(fx, client2), 2);
	protobuf_c_message_free_unpacked(&r1->base, NULL);
	protobuf_c_message_free_unpacked(&r2->base, NULL);

	/* a batch must hold 1 to 1024 Sends */
	assert_int_equal(send_batch(fx, items, 0, NULL), GW_EINVAL);
	{
		Relay__V1__SendBatchItem **many = calloc(1025, sizeof(*many));

		for (size_t i = 0; i < 1025; i++)
			many[i] = items[6];
		assert_int_equal(send_batch(fx, many, 1025, NULL), GW_EINVAL);
		free(many);
	}
	for (size_t i = 0; i < 7; i++) {
		free(items[i]->request);
		free(items[i]);
	}
}

/* A Send whose write finds an earlier reply (same key earlier in the
 * batch) must not shift the outcomes of the items after it. */
static void
test_send_batch_replay_in_write(void **state)
{
	struct fx                 *fx = *state;
	Relay__V1__SendBatchItem  *items[4];
	Relay__V1__SendBatchReply *r;
	char                       key2[128];
	uint64_t                   client2 = make_client(fx, 0);
	int64_t                    before = balance(fx, fx->client);

	make_key(fx, client2, key2, sizeof(key2));
	items[0] = batch_item(fx->key, 11, TO, "a");
	items[1] = batch_item(fx->key, 11, TO, "a"); /* replays in the write */
	items[2] = batch_item(key2, 12, TO, "no funds");
	items[3] = batch_item(fx->key, 13, TO, "charged");
	next_deadline_ms = gw_now_ms() + 10000;
	assert_int_equal(send_batch(fx, items, 4, &r), GW_OK);
	assert_int_equal(result_err(r->results[0]), GW_OK);
	assert_int_equal(result_err(r->results[1]), GW_OK);
	assert_string_equal(
	    r->results[0]->reply->sid, r->results[1]->reply->sid);
	assert_true(r->results[1]->reply->replayed);
	assert_null(r->results[2]->reply);
	assert_int_equal(balance(fx, fx->client), before - 2 * PRICE);
	assert_int_equal(result_err(r->results[2]), GW_ENOFUNDS);
	assert_int_equal(result_err(r->results[3]), GW_OK);
	assert_false(r->results[3]->reply->replayed);
	assert_int_equal(balance(fx, client2), 0);
	assert_int_equal(ledger_check(fx, fx->client), 3);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	for (size_t i = 0; i < 4; i++) {
		free(items[i]->request);
		free(items[i]);
	}
}

/* Racing requests with one key charge once and all see the same sid. */
static void
test_idempotency_concurrent(void **state)
{
	struct fx        *fx = *state;
	pthread_t         t[16];
	struct racer      r[16];
	pthread_barrier_t go;
	int64_t           before = balance(fx, fx->client);

	pthread_barrier_init(&go, NULL, 16);
	for (int i = 0; i < 16; i++) {
		r[i] = (struct racer) {
			.fx = fx, .go = &go, .body = "x", .idem = "same"
		};
		pthread_create(&t[i], NULL, race, &r[i]);
	}
	for (int i = 0; i < 16; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(r[i].rc, GW_OK);
		assert_string_equal(r[i].sid, r[0].sid);
	}
	pthread_barrier_destroy(&go);
	assert_int_equal(balance(fx, fx->client), before - PRICE);
	assert_int_equal(count_messages(fx, fx->key, NULL), 1);
}

static void
test_bad_input_changes_nothing(void **state)
{
	struct fx *fx = *state;
	char       big[2000];
	int64_t    before = balance(fx, fx->client);
	size_t     entries = ledger_check(fx, fx->client);
	char       msg[256];
	static const struct {
		const char *key; /* NULL: the fixture's */
		const char *to, *from, *body, *cb, *idem;
		int         err;
		const char *names; /* in the message */
	} cases[] = {
		{ "", TO, "", "hi", "", "", GW_EAUTH, "missing" },
		{ "rk_nope", TO, "", "hi", "", "", GW_EAUTH, "invalid" },
		{ NULL, "", "", "hi", "", "", GW_EINVAL, "to" },
		{ NULL, "4155550100", "", "hi", "", "", GW_EINVAL, "to" },
		{ NULL, "+1 415 555 0100", "", "hi", "", "", GW_EINVAL, "to" },
		{ NULL, TO, "", "", "", "", GW_EINVAL, "body" },
		{ NULL, TO, "", "\xC0\xAF", "", "", GW_EINVAL, "body" },
		{ NULL, TO, "12", "hi", "", "", GW_EINVAL, "from" },
		{ NULL, TO, "", "hi", "ftp://x.example", "", GW_EINVAL,
		    "status_callback" },
		{ NULL, TO, "", "hi", "", "bad\nkey", GW_EINVAL,
		    "idempotency_key" },
		{ NULL, "+447911123456", "", "hi", "", "", GW_ENOROUTE, "to" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		Relay__V1__SendRequest req = RELAY__V1__SEND_REQUEST__INIT;

		req.to = (char *) cases[i].to;
		req.from = (char *) cases[i].from;
		req.body = (char *) cases[i].body;
		req.status_callback = (char *) cases[i].cb;
		req.idempotency_key = (char *) cases[i].idem;
		assert_int_equal(
		    call(fx, &relay__v1__messaging__descriptor, NULL,
		        cases[i].key ? cases[i].key : fx->key, "Send",
		        &req.base, NULL, msg),
		    cases[i].err);
		if (strstr(msg, cases[i].names) == NULL)
			fail_msg("case %zu: '%s' does not name %s", i, msg,
			    cases[i].names);
	}
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(
	    send_sms(fx, fx->key, TO, big, NULL, NULL), GW_ETOOBIG);
	assert_int_equal(balance(fx, fx->client), before);
	assert_int_equal(ledger_check(fx, fx->client), entries);
	assert_int_equal(count_messages(fx, fx->key, NULL), 0);
}

static void
test_no_funds(void **state)
{
	struct fx *fx = *state;

	/* PRICE + 1 micros: one message, not two */
	assert_int_equal(send_sms(fx, fx->key, TO, "1", NULL, NULL), GW_OK);
	assert_int_equal(
	    send_sms(fx, fx->key, TO, "2", NULL, NULL), GW_ENOFUNDS);
	assert_int_equal(balance(fx, fx->client), 1);
	assert_int_equal(ledger_check(fx, fx->client), 2);
}

static int
setup_one_message(void **state)
{
	return setup_funds(state, PRICE + 1);
}

static void
test_suspended_client(void **state)
{
	struct fx                        *fx = *state;
	Relay__V1__SetClientStatusRequest s =
	    RELAY__V1__SET_CLIENT_STATUS_REQUEST__INIT;
	Relay__V1__Client *c;

	assert_int_equal(send_sms(fx, fx->key, TO, "warm", NULL, NULL), GW_OK);
	s.client_id = fx->client;
	s.status = RELAY__V1__CLIENT_STATUS__CLIENT_SUSPENDED;
	assert_int_equal(admin(fx, "SetClientStatus", &s.base, &c), GW_OK);
	protobuf_c_message_free_unpacked(&c->base, NULL);
	assert_int_equal(send_sms(fx, fx->key, TO, "no", NULL, NULL), GW_EPERM);
	s.status = RELAY__V1__CLIENT_STATUS__CLIENT_ACTIVE;
	assert_int_equal(admin(fx, "SetClientStatus", &s.base, &c), GW_OK);
	protobuf_c_message_free_unpacked(&c->base, NULL);
	assert_int_equal(send_sms(fx, fx->key, TO, "yes", NULL, NULL), GW_OK);
	assert_int_equal(ledger_check(fx, fx->client), 3);
}

/* The key is cached after its first use; revoking it must still apply
 * to the very next request. */
static void
test_revoked_key(void **state)
{
	struct fx           *fx = *state;
	Relay__V1__IdRequest req = RELAY__V1__ID_REQUEST__INIT;
	Relay__V1__ApiKey   *k;
	char                 other[128];

	make_key(fx, fx->client, other, sizeof(other));
	assert_int_equal(send_sms(fx, fx->key, TO, "a", NULL, NULL), GW_OK);
	assert_int_equal(send_sms(fx, other, TO, "b", NULL, NULL), GW_OK);
	req.id = fx->key_id;
	assert_int_equal(admin(fx, "RevokeKey", &req.base, &k), GW_OK);
	protobuf_c_message_free_unpacked(&k->base, NULL);
	assert_int_equal(send_sms(fx, fx->key, TO, "c", NULL, NULL), GW_EAUTH);
	assert_int_equal(send_sms(fx, other, TO, "d", NULL, NULL), GW_OK);
}

static void
test_other_clients_messages(void **state)
{
	struct fx                   *fx = *state;
	Relay__V1__SendReply        *r;
	Relay__V1__GetMessageRequest g = RELAY__V1__GET_MESSAGE_REQUEST__INIT;
	char                         other[128], sid[40];
	uint64_t                     c2 = make_client(fx, 1000000);

	make_key(fx, c2, other, sizeof(other));
	assert_int_equal(send_sms(fx, fx->key, TO, "mine", NULL, &r), GW_OK);
	snprintf(sid, sizeof(sid), "%s", r->sid);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	g.sid = sid;
	assert_int_equal(
	    msg_call(fx, other, "GetMessage", &g.base, NULL), GW_ENOTFOUND);
	assert_int_equal(count_messages(fx, other, NULL), 0);
	/* right id, wrong random part */
	sid[33] = sid[33] == '0' ? '1' : '0';
	assert_int_equal(
	    msg_call(fx, fx->key, "GetMessage", &g.base, NULL), GW_ENOTFOUND);
	g.sid = "SMnothex";
	assert_int_equal(
	    msg_call(fx, fx->key, "GetMessage", &g.base, NULL), GW_EINVAL);
	assert_int_equal(
	    msg_call(fx, NULL, "GetMessage", &g.base, NULL), GW_EAUTH);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_send_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_send_concurrent_exact_funds, setup_exact, teardown),
		cmocka_unit_test_setup_teardown(
		    test_idempotency, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_resent_request_charged_once, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_resent_request_with_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_send_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_send_batch_replay_in_write, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_idempotency_concurrent, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_bad_input_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_no_funds, setup_one_message, teardown),
		cmocka_unit_test_setup_teardown(
		    test_suspended_client, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_revoked_key, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_other_clients_messages, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
