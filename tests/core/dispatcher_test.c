/* dispatcher_test.c - the outbox dispatcher against the fake upstream:
 * a Twilio request as Twilio wants it, connection reuse, permanent
 * failure with refund, retry then success, retry until the deadline then
 * refund (answers 500 and hangs), the sandbox, and messages accepted
 * while no dispatcher ran being sent after a restart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* cmocka after its prerequisites */
#include <cmocka.h>
#include <curl/curl.h>

#include "fake_upstream.h"
#include "gw/core.h"
#include "gw/dispatcher.h"
#include "gw/err.h"
#include "gw/store.h"
#include "relay/v1/admin.pb-c.h"
#include "relay/v1/messaging.pb-c.h"
#include "th.h"

#define TOKEN "test-admin-token"
#define TWILIO_SID "AC0123456789abcdef0123456789abcdef"
#define TWILIO_TOKEN "f00dfeedf00dfeedf00dfeedf00dfeed"
/* base64("AC0123...:f00d...") */
#define BASIC_AUTH                                                           \
	"Basic QUMwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjpmMDBkZmVlZGYw" \
	"MGRmZWVkZjAwZGZlZWRmMDBkZmVlZA=="
#define PRICE 7500
#define FUNDS 1000000
#define FROM "+15005550006"
#define TO "+14155550100"
#define PUBLIC "https://relay.example/"

struct fx {
	char                 *dir;
	struct gw_core       *core;
	struct gw_dispatcher *disp;
	struct th_upstream   *up;
	uint64_t              client;
	char                  key[128];
};

static int
call(struct fx *fx, const ProtobufCServiceDescriptor *svc, const char *admin,
    const char *api_key, const char *method, const ProtobufCMessage *req,
    void *out)
{
	const ProtobufCMethodDescriptor *m;
	struct gw_call                   c;
	char                             name[128];
	uint8_t                          buf[8192];
	size_t                           n = protobuf_c_message_pack(req, buf);
	int                              rc;

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
core_open(struct fx *fx)
{
	struct gw_core_config cfg = { 0 };

	cfg.state_dir = fx->dir;
	cfg.admin_token = TOKEN;
	assert_int_equal(gw_core_open(&cfg, &fx->core), GW_OK);
}

static void
disp_start(struct fx *fx, int64_t deadline_ms)
{
	struct gw_dispatcher_config cfg = { 0 };

	cfg.state_dir = fx->dir;
	cfg.public_url = PUBLIC;
	cfg.retry_deadline_ms = deadline_ms;
	cfg.backoff_base_ms = 50;
	cfg.backoff_max_ms = 200;
	cfg.request_timeout_ms = 300;
	cfg.poll_ms = 20;
	assert_int_equal(gw_dispatcher_start(fx->core, &cfg, &fx->disp), GW_OK);
}

static uint64_t
make_account(struct fx *fx, Relay__V1__AccountKind kind, const char *pattern,
    int priority)
{
	Relay__V1__CreateAccountRequest a =
	    RELAY__V1__CREATE_ACCOUNT_REQUEST__INIT;
	Relay__V1__CreateRouteRequest r = RELAY__V1__CREATE_ROUTE_REQUEST__INIT;
	Relay__V1__Account           *acct;
	Relay__V1__Route             *route;
	uint64_t                      id;

	a.kind = kind;
	a.from_number = FROM;
	if (kind == RELAY__V1__ACCOUNT_KIND__ACCOUNT_TWILIO) {
		a.sid = TWILIO_SID;
		a.token = TWILIO_TOKEN;
		a.base_url = (char *) th_upstream_url(fx->up);
	}
	admin(fx, "CreateAccount", &a.base, &acct);
	r.pattern = (char *) pattern;
	r.priority = priority;
	r.account_id = acct->id;
	r.price_micros = PRICE;
	admin(fx, "CreateRoute", &r.base, &route);
	id = acct->id;
	protobuf_c_message_free_unpacked(&acct->base, NULL);
	protobuf_c_message_free_unpacked(&route->base, NULL);
	return id;
}

static int
setup_nodisp(void **state)
{
	struct fx                     *fx = calloc(1, sizeof(*fx));
	Relay__V1__CreateClientRequest c =
	    RELAY__V1__CREATE_CLIENT_REQUEST__INIT;
	Relay__V1__CreateKeyRequest k = RELAY__V1__CREATE_KEY_REQUEST__INIT;
	Relay__V1__Client          *cl;
	Relay__V1__CreatedKey      *ck;

	fx->dir = th_tmpdir();
	fx->up = th_upstream_start();
	core_open(fx);
	c.name = "acme";
	c.balance_micros = FUNDS;
	admin(fx, "CreateClient", &c.base, &cl);
	fx->client = cl->id;
	k.client_id = cl->id;
	admin(fx, "CreateKey", &k.base, &ck);
	snprintf(fx->key, sizeof(fx->key), "%s", ck->raw_key);
	protobuf_c_message_free_unpacked(&cl->base, NULL);
	protobuf_c_message_free_unpacked(&ck->base, NULL);
	make_account(fx, RELAY__V1__ACCOUNT_KIND__ACCOUNT_TWILIO, "^\\+1", 10);
	make_account(
	    fx, RELAY__V1__ACCOUNT_KIND__ACCOUNT_SANDBOX, "^\\+44", 10);
	*state = fx;
	return 0;
}

static int
setup(void **state)
{
	setup_nodisp(state);
	disp_start(*state, 1500);
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	gw_dispatcher_stop(fx->disp);
	gw_core_close(fx->core);
	th_upstream_stop(fx->up);
	th_rmtree(fx->dir);
	free(fx);
	return 0;
}

static void
send_sms(struct fx *fx, const char *to, const char *body, char sid[40])
{
	Relay__V1__SendRequest req = RELAY__V1__SEND_REQUEST__INIT;
	Relay__V1__SendReply  *r;

	req.to = (char *) to;
	req.body = (char *) body;
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

/* wait_status polls until the message has status (up to ms). */
static Relay__V1__Message *
wait_status(struct fx *fx, const char *sid, const char *status, int ms)
{
	for (int t = 0;; t += 10) {
		Relay__V1__Message *m = get(fx, sid);

		if (strcmp(m->status, status) == 0)
			return m;
		if (t >= ms)
			fail_msg("message %s is %s, not %s, after %d ms", sid,
			    m->status, status, ms);
		protobuf_c_message_free_unpacked(&m->base, NULL);
		th_sleep_ms(10);
	}
}

static int
count_one(const void *k, size_t kl, const void *v, size_t vl, void *arg)
{
	(void) k;
	(void) kl;
	(void) v;
	(void) vl;
	++*(size_t *) arg;
	return 0;
}

static size_t
outbox_size(struct fx *fx)
{
	struct gw_txn *txn;
	size_t         n = 0;

	assert_int_equal(gw_store_read(gw_core_store(fx->core), &txn), GW_OK);
	gw_txn_scan(txn, GW_DB_OUTBOX, NULL, 0, NULL, 0, count_one, &n);
	gw_txn_end(txn);
	return n;
}

/* ledger_check asserts sum == balance and returns the balance; *refunds
 * gets the number of REFUND entries. */
static int64_t
ledger_check(struct fx *fx, size_t *refunds)
{
	Relay__V1__ListLedgerRequest req = RELAY__V1__LIST_LEDGER_REQUEST__INIT;
	Relay__V1__LedgerList       *l;
	int64_t                      bal;

	req.client_id = fx->client;
	req.limit = 1000;
	admin(fx, "ListLedger", &req.base, &l);
	assert_int_equal(l->sum_micros, l->client->balance_micros);
	bal = l->client->balance_micros;
	*refunds = 0;
	for (size_t i = 0; i < l->n_entries; i++)
		*refunds += l->entries[i]->kind ==
		    RELAY__V1__LEDGER_KIND__LEDGER_REFUND;
	protobuf_c_message_free_unpacked(&l->base, NULL);
	return bal;
}

static void
test_twilio_success(void **state)
{
	struct fx          *fx = *state;
	Relay__V1__Message *m;
	struct th_request   r;
	char                sid[40], sids[20][40], want[512];
	size_t              refunds;

	send_sms(fx, "14155550100", "hello & bye", sid);
	m = wait_status(fx, sid, "sending", 3000);
	protobuf_c_message_free_unpacked(&m->base, NULL);
	assert_true(th_upstream_request(fx->up, 0, &r));
	assert_string_equal(r.method, "POST");
	assert_string_equal(
	    r.path, "/2010-04-01/Accounts/" TWILIO_SID "/Messages.json");
	assert_string_equal(r.authorization, BASIC_AUTH);
	assert_string_equal(
	    r.content_type, "application/x-www-form-urlencoded");
	/* the callback URL names our sid, so a callback that overtakes
	 * the 201 still finds the message */
	snprintf(want, sizeof(want),
	    "To=%%2B14155550100&From=%%2B15005550006&Body=hello%%20%%26%%20bye"
	    "&StatusCallback=https%%3A%%2F%%2Frelay.example%%2Frelay%%2Ftwilio"
	    "%%2Fstatus%%3Frelay_sid%%3D%s",
	    sid);
	assert_string_equal(r.body, want);
	assert_int_equal(outbox_size(fx), 0);

	/* a burst goes over a few reused connections, not one each */
	for (int i = 0; i < 20; i++)
		send_sms(fx, TO, "burst", sids[i]);
	for (int i = 0; i < 20; i++) {
		m = wait_status(fx, sids[i], "sending", 3000);
		protobuf_c_message_free_unpacked(&m->base, NULL);
	}
	assert_int_equal(th_upstream_count(fx->up), 21);
	assert_true(th_upstream_connections(fx->up) < 21);
	assert_int_equal(ledger_check(fx, &refunds), FUNDS - 21 * PRICE);
	assert_int_equal(refunds, 0);
}

static void
test_permanent_failure_refunds(void **state)
{
	struct fx           *fx = *state;
	const enum th_answer bad[] = { TH_ANSWER_400 };
	Relay__V1__Message  *m;
	char                 sid[40];
	size_t               refunds;

	th_upstream_script(fx->up, bad, 1, TH_ANSWER_201);
	send_sms(fx, TO, "to a bad number", sid);
	m = wait_status(fx, sid, "failed", 3000);
	assert_string_equal(m->error_code, "21211");
	assert_non_null(strstr(m->error_message, "not a valid phone number"));
	protobuf_c_message_free_unpacked(&m->base, NULL);
	assert_int_equal(th_upstream_count(fx->up), 1); /* never retried */
	assert_int_equal(ledger_check(fx, &refunds), FUNDS);
	assert_int_equal(refunds, 1);
	assert_int_equal(outbox_size(fx), 0);
}

static void
test_retry_then_success(void **state)
{
	struct fx           *fx = *state;
	const enum th_answer flaky[] = { TH_ANSWER_500, TH_ANSWER_500 };
	Relay__V1__Message  *m;
	char                 sid[40];
	size_t               refunds;

	th_upstream_script(fx->up, flaky, 2, TH_ANSWER_201);
	send_sms(fx, TO, "eventually", sid);
	m = wait_status(fx, sid, "sending", 3000);
	protobuf_c_message_free_unpacked(&m->base, NULL);
	assert_int_equal(th_upstream_count(fx->up), 3);
	assert_int_equal(ledger_check(fx, &refunds), FUNDS - PRICE);
	assert_int_equal(refunds, 0);
}

static void
retry_until_deadline(struct fx *fx, enum th_answer always)
{
	Relay__V1__Message *m;
	char                sid[40];
	size_t              refunds;

	th_upstream_script(fx->up, NULL, 0, always);
	send_sms(fx, TO, "never", sid);
	m = wait_status(fx, sid, "failed", 6000);
	assert_string_equal(m->error_code, "relay_deadline");
	protobuf_c_message_free_unpacked(&m->base, NULL);
	assert_true(th_upstream_count(fx->up) >= 2);
	assert_int_equal(ledger_check(fx, &refunds), FUNDS);
	assert_int_equal(refunds, 1);
	assert_int_equal(outbox_size(fx), 0);
}

static void
test_retry_until_deadline_500(void **state)
{
	retry_until_deadline(*state, TH_ANSWER_500);
}

static void
test_retry_until_deadline_hang(void **state)
{
	retry_until_deadline(*state, TH_ANSWER_HANG);
}

static void
test_sandbox(void **state)
{
	struct fx          *fx = *state;
	Relay__V1__Message *m;
	char                sid[40], path[4096];

	send_sms(fx, "+447911123456", "hi from the sandbox", sid);
	m = wait_status(fx, sid, "sent", 3000);
	protobuf_c_message_free_unpacked(&m->base, NULL);
	snprintf(path, sizeof(path), "%s/sandbox.jsonl", fx->dir);
	assert_true(th_file_contains(path, sid, strlen(sid)));
	assert_true(th_file_contains(path, "hi from the sandbox", 19));
	assert_int_equal(th_upstream_count(fx->up), 0);
}

/* Accepted while no dispatcher ran (or it died): sent after a restart. */
static void
test_sent_after_restart(void **state)
{
	struct fx          *fx = *state;
	Relay__V1__Message *m;
	char                sids[5][40];

	for (int i = 0; i < 5; i++)
		send_sms(fx, TO, "survive", sids[i]);
	assert_int_equal(outbox_size(fx), 5);
	gw_core_close(fx->core);
	core_open(fx);
	disp_start(fx, 1500);
	for (int i = 0; i < 5; i++) {
		m = wait_status(fx, sids[i], "sending", 3000);
		protobuf_c_message_free_unpacked(&m->base, NULL);
	}
	assert_int_equal(th_upstream_count(fx->up), 5);
	assert_int_equal(outbox_size(fx), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_twilio_success, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_permanent_failure_refunds, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_retry_then_success, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_retry_until_deadline_500, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_retry_until_deadline_hang, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sandbox, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_sent_after_restart, setup_nodisp, teardown),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
