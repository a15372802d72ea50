/* admin_messages_test.c - the operator's RPCs over traffic and accounts:
 * ListMessages (every client, newest first, client/status/time filters,
 * paging and bad tokens), GetMessage (any client's, unknown and malformed
 * sids), GetStats before and after the dispatcher sent (sandbox), and
 * UpdateAccount (validation, the SID/token binding, a re-sealed token
 * that the dispatcher can use, no token in clear in replies or the
 * store). Everything goes through gw_call_dispatch, as relayd's does. */
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
#include <sodium.h>

#include "fake_upstream.h"
#include "gw/core.h"
#include "gw/dispatcher.h"
#include "gw/err.h"
#include "relay/v1/admin.pb-c.h"
#include "relay/v1/messaging.pb-c.h"
#include "th.h"

#define TOKEN "test-admin-token"
#define PRICE 7500
#define FROM "+15005550006"
#define TWILIO_SID "AC0123456789abcdef0123456789abcdef"
#define TWILIO_TOK "f00dfeedf00dfeedf00dfeedf00dfeed"
#define NEW_SID "ACfedcba9876543210fedcba9876543210"
#define NEW_TOK "s3cr3tTOKENs3cr3tTOKENs3cr3tTOKE"

struct fx {
	char                 *dir;
	struct gw_core       *core;
	struct gw_dispatcher *disp;
	struct th_upstream   *up;
	uint64_t              client[2];
	char                  key[2][128];
	uint64_t              sandbox;
	char                  sids[6][40];
	int64_t               created[6];
};

/* call runs "relay.v1.<svc>/<method>"; on GW_OK *out gets the reply.
 * Every packed reply is checked for the secrets this test uses. */
static int
call(struct fx *fx, const ProtobufCServiceDescriptor *svc, const char *api_key,
    const char *method, const ProtobufCMessage *req, void *out)
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
	rc = gw_call_dispatch(fx->core, &c, name, TOKEN, buf, n);
	if (rc == GW_OK) {
		assert_null(memmem(c.reply, c.reply_len, TWILIO_TOK, 32));
		assert_null(memmem(c.reply, c.reply_len, NEW_TOK, 32));
		if (out != NULL) {
			*(ProtobufCMessage **) out = protobuf_c_message_unpack(
			    m->output, NULL, c.reply_len, c.reply);
			assert_non_null(*(ProtobufCMessage **) out);
		}
	}
	free(c.reply);
	return rc;
}

static int
admin(struct fx *fx, const char *method, const ProtobufCMessage *req, void *out)
{
	return call(fx, &relay__v1__admin__descriptor, NULL, method, req, out);
}

static void
pb_free(void *m)
{
	if (m != NULL)
		protobuf_c_message_free_unpacked(m, NULL);
}

static uint64_t
make_client(struct fx *fx, const char *name, int64_t balance, char *key)
{
	Relay__V1__CreateClientRequest c =
	    RELAY__V1__CREATE_CLIENT_REQUEST__INIT;
	Relay__V1__CreateKeyRequest k = RELAY__V1__CREATE_KEY_REQUEST__INIT;
	Relay__V1__Client          *cl;
	Relay__V1__CreatedKey      *ck;
	uint64_t                    id;

	c.name = (char *) name;
	c.balance_micros = balance;
	assert_int_equal(admin(fx, "CreateClient", &c.base, &cl), GW_OK);
	id = cl->id;
	k.client_id = id;
	assert_int_equal(admin(fx, "CreateKey", &k.base, &ck), GW_OK);
	snprintf(key, 128, "%s", ck->raw_key);
	pb_free(cl);
	pb_free(ck);
	return id;
}

static uint64_t
make_account(struct fx *fx, Relay__V1__AccountKind kind, const char *sid,
    const char *tok, const char *base_url)
{
	Relay__V1__CreateAccountRequest a =
	    RELAY__V1__CREATE_ACCOUNT_REQUEST__INIT;
	Relay__V1__Account *acct;
	uint64_t            id;

	a.kind = kind;
	a.sid = (char *) sid;
	a.token = (char *) tok;
	a.base_url = (char *) base_url;
	a.from_number = FROM;
	assert_int_equal(admin(fx, "CreateAccount", &a.base, &acct), GW_OK);
	id = acct->id;
	pb_free(acct);
	return id;
}

static void
make_route(struct fx *fx, const char *pattern, int prio, uint64_t account)
{
	Relay__V1__CreateRouteRequest r = RELAY__V1__CREATE_ROUTE_REQUEST__INIT;
	Relay__V1__Route             *route;

	r.pattern = (char *) pattern;
	r.priority = prio;
	r.account_id = account;
	r.price_micros = PRICE;
	assert_int_equal(admin(fx, "CreateRoute", &r.base, &route), GW_OK);
	pb_free(route);
}

static void
send_one(struct fx *fx, int who, const char *to, char *sid, int64_t *created)
{
	Relay__V1__SendRequest req = RELAY__V1__SEND_REQUEST__INIT;
	Relay__V1__SendReply  *r;

	req.to = (char *) to;
	req.body = "hello";
	assert_int_equal(call(fx, &relay__v1__messaging__descriptor,
	                     fx->key[who], "Send", &req.base, &r),
	    GW_OK);
	snprintf(sid, 40, "%s", r->sid);
	*created = r->created_unix_ms;
	pb_free(r);
}

static void
disp_start(struct fx *fx)
{
	struct gw_dispatcher_config cfg = { 0 };

	cfg.state_dir = fx->dir;
	cfg.backoff_base_ms = 50;
	cfg.backoff_max_ms = 200;
	cfg.request_timeout_ms = 2000;
	cfg.poll_ms = 20;
	assert_int_equal(gw_dispatcher_start(fx->core, &cfg, &fx->disp), GW_OK);
}

/* Two clients; client 0 sends messages 0, 2, 4, client 1 sends 1, 3, 5,
 * all through the sandbox account; no dispatcher runs yet. */
static int
setup(void **state)
{
	struct fx            *fx = calloc(1, sizeof(*fx));
	struct gw_core_config cfg = { 0 };

	fx->dir = th_tmpdir();
	cfg.state_dir = fx->dir;
	cfg.admin_token = TOKEN;
	assert_int_equal(gw_core_open(&cfg, &fx->core), GW_OK);
	fx->client[0] = make_client(fx, "acme", 1000000, fx->key[0]);
	fx->client[1] = make_client(fx, "tiny", 500000, fx->key[1]);
	fx->sandbox = make_account(
	    fx, RELAY__V1__ACCOUNT_KIND__ACCOUNT_SANDBOX, "", "", "");
	make_route(fx, "^\\+1", 10, fx->sandbox);
	for (int i = 0; i < 6; i++) {
		send_one(
		    fx, i % 2, "+14155550100", fx->sids[i], &fx->created[i]);
		th_sleep_ms(2); /* distinct created times */
	}
	*state = fx;
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

static Relay__V1__AdminMessageList *
list(struct fx *fx, uint64_t client, const char *status, uint32_t limit,
    const char *token, int64_t from, int64_t to, int want)
{
	Relay__V1__AdminListMessagesRequest req =
	    RELAY__V1__ADMIN_LIST_MESSAGES_REQUEST__INIT;
	Relay__V1__AdminMessageList *l = NULL;

	req.client_id = client;
	req.status = (char *) status;
	req.limit = limit;
	req.page_token = (char *) token;
	req.from_unix_ms = from;
	req.to_unix_ms = to;
	assert_int_equal(admin(fx, "ListMessages", &req.base, &l), want);
	return l;
}

static void
test_list_all_newest_first_paged(void **state)
{
	struct fx                   *fx = *state;
	Relay__V1__AdminMessageList *l;
	char                         token[128] = "";
	int                          seen = 0;

	/* everything, one page */
	l = list(fx, 0, "", 0, "", 0, 0, GW_OK);
	assert_int_equal(l->n_messages, 6);
	assert_string_equal(l->next_page_token, "");
	for (int i = 0; i < 6; i++) {
		Relay__V1__AdminMessage *m = l->messages[i];

		assert_string_equal(m->sid, fx->sids[5 - i]);
		assert_int_equal(m->client_id, fx->client[(5 - i) % 2]);
		assert_int_equal(m->account_id, fx->sandbox);
		assert_true(m->route_id != 0);
		assert_string_equal(m->status, "queued");
		assert_int_equal(m->cost_micros, PRICE);
		assert_int_equal(m->segments, 1);
	}
	pb_free(l);
	/* pages of 4: 4 then 2, in order, the token carries on */
	do {
		l = list(fx, 0, "", 4, token, 0, 0, GW_OK);
		for (size_t i = 0; i < l->n_messages; i++)
			assert_string_equal(
			    l->messages[i]->sid, fx->sids[5 - seen++]);
		snprintf(token, sizeof(token), "%s", l->next_page_token);
		pb_free(l);
	} while (token[0] != '\0');
	assert_int_equal(seen, 6);
	/* limit exactly the count: no token */
	l = list(fx, 0, "", 6, "", 0, 0, GW_OK);
	assert_string_equal(l->next_page_token, "");
	pb_free(l);
}

static void
test_list_filters(void **state)
{
	struct fx                   *fx = *state;
	Relay__V1__AdminMessageList *l;
	char                         token[128];

	/* one client, newest first, paged by 2 */
	l = list(fx, fx->client[1], "", 2, "", 0, 0, GW_OK);
	assert_int_equal(l->n_messages, 2);
	assert_string_equal(l->messages[0]->sid, fx->sids[5]);
	assert_string_equal(l->messages[1]->sid, fx->sids[3]);
	snprintf(token, sizeof(token), "%s", l->next_page_token);
	assert_true(token[0] != '\0');
	pb_free(l);
	l = list(fx, fx->client[1], "", 2, token, 0, 0, GW_OK);
	assert_int_equal(l->n_messages, 1);
	assert_string_equal(l->messages[0]->sid, fx->sids[1]);
	assert_string_equal(l->next_page_token, "");
	pb_free(l);
	/* a token is bound to its client filter */
	list(fx, fx->client[0], "", 2, token, 0, 0, GW_EINVAL);
	list(fx, 0, "", 2, token, 0, 0, GW_EINVAL);
	list(fx, 0, "", 2, "zz", 0, 0, GW_EINVAL);
	/* status */
	l = list(fx, 0, "queued", 0, "", 0, 0, GW_OK);
	assert_int_equal(l->n_messages, 6);
	pb_free(l);
	l = list(fx, fx->client[0], "sent", 0, "", 0, 0, GW_OK);
	assert_int_equal(l->n_messages, 0);
	pb_free(l);
	list(fx, 0, "lost", 0, "", 0, 0, GW_EINVAL);
	/* time: [created[2], created[4]) is messages 2 and 3 */
	l = list(fx, 0, "", 0, "", fx->created[2], fx->created[4], GW_OK);
	assert_int_equal(l->n_messages, 2);
	assert_string_equal(l->messages[0]->sid, fx->sids[3]);
	assert_string_equal(l->messages[1]->sid, fx->sids[2]);
	pb_free(l);
	l = list(fx, fx->client[0], "", 0, "", fx->created[2], fx->created[4],
	    GW_OK);
	assert_int_equal(l->n_messages, 1);
	assert_string_equal(l->messages[0]->sid, fx->sids[2]);
	pb_free(l);
	list(fx, 0, "", 0, "", -1, 0, GW_EINVAL);
	list(fx, 0, "", 0, "", 10, 5, GW_EINVAL);
	/* an unknown client has no messages */
	l = list(fx, 999, "", 0, "", 0, 0, GW_OK);
	assert_int_equal(l->n_messages, 0);
	pb_free(l);
}

static void
test_get_message(void **state)
{
	struct fx                   *fx = *state;
	Relay__V1__MessageSidRequest req = RELAY__V1__MESSAGE_SID_REQUEST__INIT;
	Relay__V1__AdminMessage     *m;
	char                         other[40];

	req.sid = fx->sids[3];
	assert_int_equal(admin(fx, "GetMessage", &req.base, &m), GW_OK);
	assert_string_equal(m->sid, fx->sids[3]);
	assert_int_equal(m->client_id, fx->client[1]);
	assert_string_equal(m->to, "+14155550100");
	assert_string_equal(m->from, FROM);
	assert_string_equal(m->body, "hello");
	assert_string_equal(m->encoding, "GSM-7");
	assert_int_equal(m->created_unix_ms, fx->created[3]);
	pb_free(m);
	/* the right id with another random half is not that message */
	snprintf(other, sizeof(other), "%s", fx->sids[3]);
	other[33] = other[33] == '0' ? '1' : '0';
	req.sid = other;
	assert_int_equal(
	    admin(fx, "GetMessage", &req.base, NULL), GW_ENOTFOUND);
	req.sid = "SM00000000000000ff0000000000000000";
	assert_int_equal(
	    admin(fx, "GetMessage", &req.base, NULL), GW_ENOTFOUND);
	req.sid = "SMnope";
	assert_int_equal(admin(fx, "GetMessage", &req.base, NULL), GW_EINVAL);
	req.sid = "";
	assert_int_equal(admin(fx, "GetMessage", &req.base, NULL), GW_EINVAL);
}

static Relay__V1__Stats *
stats(struct fx *fx, int64_t low)
{
	Relay__V1__GetStatsRequest req = RELAY__V1__GET_STATS_REQUEST__INIT;
	Relay__V1__Stats          *s;

	req.low_balance_micros = low;
	assert_int_equal(admin(fx, "GetStats", &req.base, &s), GW_OK);
	return s;
}

static void
test_stats_after_sends(void **state)
{
	struct fx                   *fx = *state;
	Relay__V1__GetStatsRequest   bad = RELAY__V1__GET_STATS_REQUEST__INIT;
	Relay__V1__Stats            *s;
	Relay__V1__AdminMessageList *l;
	int                          tries;

	s = stats(fx, 0);
	assert_true(s->server_unix_ms >= fx->created[5]);
	assert_int_equal(s->messages_total, 6);
	assert_int_equal(s->outbox_depth, 6);
	assert_false(s->dispatcher_running);
	assert_int_equal(s->sent, 0);
	assert_int_equal(s->clients_total, 2);
	/* balances now 0.9775 and 0.4775: both below the default 1.00 */
	assert_int_equal(s->low_balance_micros, 1000000);
	assert_int_equal(s->clients_low_balance, 2);
	pb_free(s);
	s = stats(fx, 500000);
	assert_int_equal(s->clients_low_balance, 1);
	pb_free(s);
	bad.low_balance_micros = -1;
	assert_int_equal(admin(fx, "GetStats", &bad.base, NULL), GW_EINVAL);

	disp_start(fx);
	for (tries = 0; tries < 500; tries++) {
		s = stats(fx, 0);
		if (s->outbox_depth == 0 && s->sent == 6)
			break;
		pb_free(s);
		s = NULL;
		th_sleep_ms(10);
	}
	assert_non_null(s);
	assert_true(s->dispatcher_running);
	assert_int_equal(s->messages_total, 6);
	assert_int_equal(s->outbox_depth, 0);
	assert_int_equal(s->attempts, 6);
	assert_int_equal(s->sent, 6);
	assert_int_equal(s->failed, 0);
	assert_int_equal(s->in_flight, 0);
	pb_free(s);
	/* the listing sees the dispatcher's outcome */
	l = list(fx, 0, "sent", 0, "", 0, 0, GW_OK);
	assert_int_equal(l->n_messages, 6);
	assert_true(l->messages[0]->upstream_sid[0] != '\0');
	assert_true(l->messages[0]->attempts >= 1);
	pb_free(l);
	l = list(fx, 0, "queued", 0, "", 0, 0, GW_OK);
	assert_int_equal(l->n_messages, 0);
	pb_free(l);
}

static int
update(struct fx *fx, uint64_t id, const char *sid, const char *tok,
    const char *base, const char *from, const char *desc,
    Relay__V1__Account **out)
{
	Relay__V1__UpdateAccountRequest r =
	    RELAY__V1__UPDATE_ACCOUNT_REQUEST__INIT;

	r.id = id;
	if (sid != NULL) {
		r.set_sid_case = RELAY__V1__UPDATE_ACCOUNT_REQUEST__SET_SID_SID;
		r.sid = (char *) sid;
	}
	if (tok != NULL) {
		r.set_token_case =
		    RELAY__V1__UPDATE_ACCOUNT_REQUEST__SET_TOKEN_TOKEN;
		r.token = (char *) tok;
	}
	if (base != NULL) {
		r.set_base_url_case =
		    RELAY__V1__UPDATE_ACCOUNT_REQUEST__SET_BASE_URL_BASE_URL;
		r.base_url = (char *) base;
	}
	if (from != NULL) {
		r.set_from_number_case =
		    RELAY__V1__UPDATE_ACCOUNT_REQUEST__SET_FROM_NUMBER_FROM_NUMBER;
		r.from_number = (char *) from;
	}
	if (desc != NULL) {
		r.set_description_case =
		    RELAY__V1__UPDATE_ACCOUNT_REQUEST__SET_DESCRIPTION_DESCRIPTION;
		r.description = (char *) desc;
	}
	return admin(fx, "UpdateAccount", &r.base, out);
}

static void
test_update_account(void **state)
{
	struct fx          *fx = *state;
	Relay__V1__Account *a;
	struct th_request   req;
	char                path[512], pair[80], b64[128], want[160];
	uint64_t            tw;
	int64_t             created;
	char                sid[40];

	fx->up = th_upstream_start();
	tw = make_account(fx, RELAY__V1__ACCOUNT_KIND__ACCOUNT_TWILIO,
	    TWILIO_SID, TWILIO_TOK, th_upstream_url(fx->up));
	/* one field; the others stay, the token too */
	assert_int_equal(
	    update(fx, tw, NULL, NULL, NULL, NULL, "main", &a), GW_OK);
	assert_string_equal(a->description, "main");
	assert_string_equal(a->sid, TWILIO_SID);
	assert_string_equal(a->from_number, FROM);
	assert_string_equal(a->base_url, th_upstream_url(fx->up));
	assert_true(a->has_token);
	pb_free(a);
	/* from is normalised; bad values are refused */
	assert_int_equal(
	    update(fx, tw, NULL, NULL, NULL, "14155550199", NULL, &a), GW_OK);
	assert_string_equal(a->from_number, "+14155550199");
	pb_free(a);
	assert_int_equal(
	    update(fx, tw, NULL, NULL, NULL, "12", NULL, NULL), GW_EINVAL);
	assert_int_equal(
	    update(fx, tw, NULL, NULL, "ftp://x", NULL, NULL, NULL), GW_EINVAL);
	assert_int_equal(
	    update(fx, tw, "ACnothex", NEW_TOK, NULL, NULL, NULL, NULL),
	    GW_EINVAL);
	assert_int_equal(
	    update(fx, tw, NULL, "short", NULL, NULL, NULL, NULL), GW_EINVAL);
	assert_int_equal(update(fx, tw, NULL, "", NULL, NULL, NULL, NULL),
	    GW_EINVAL); /* a Twilio account keeps a token */
	/* the token is sealed for the SID: a new SID needs the token */
	assert_int_equal(
	    update(fx, tw, NEW_SID, NULL, NULL, NULL, NULL, NULL), GW_EINVAL);
	assert_int_equal(update(fx, 424242, NULL, NULL, NULL, NULL, "x", NULL),
	    GW_ENOTFOUND);
	/* the same SID again is no change */
	assert_int_equal(
	    update(fx, tw, TWILIO_SID, NULL, NULL, NULL, NULL, NULL), GW_OK);
	assert_int_equal(
	    update(fx, tw, NEW_SID, NEW_TOK, NULL, NULL, NULL, &a), GW_OK);
	assert_string_equal(a->sid, NEW_SID);
	assert_string_equal(a->description, "main");
	assert_true(a->has_token);
	pb_free(a);

	/* the dispatcher unseals the new token under the new SID */
	make_route(fx, "^\\+44", 20, tw);
	disp_start(fx);
	send_one(fx, 0, "+447700900123", sid, &created);
	assert_true(th_upstream_wait(fx->up, 1, 5000));
	assert_true(th_upstream_request(fx->up, 0, &req));
	assert_non_null(strstr(req.path, NEW_SID));
	snprintf(pair, sizeof(pair), "%s:%s", NEW_SID, NEW_TOK);
	sodium_bin2base64(b64, sizeof(b64), (const unsigned char *) pair,
	    strlen(pair), sodium_base64_VARIANT_ORIGINAL);
	snprintf(want, sizeof(want), "Basic %s", b64);
	assert_string_equal(req.authorization, want);

	/* a sandbox account's token may be cleared */
	assert_int_equal(update(fx, fx->sandbox, NULL, "sandbox-token", NULL,
	                     NULL, NULL, &a),
	    GW_OK);
	assert_true(a->has_token);
	pb_free(a);
	assert_int_equal(
	    update(fx, fx->sandbox, NULL, "", NULL, NULL, NULL, &a), GW_OK);
	assert_false(a->has_token);
	pb_free(a);

	/* no token in clear in the store */
	gw_dispatcher_stop(fx->disp);
	fx->disp = NULL;
	gw_core_close(fx->core);
	fx->core = NULL;
	snprintf(path, sizeof(path), "%s/data.mdb", fx->dir);
	assert_true(th_file_contains(path, NEW_SID, strlen(NEW_SID)));
	assert_false(th_file_contains(path, NEW_TOK, strlen(NEW_TOK)));
	assert_false(th_file_contains(path, TWILIO_TOK, strlen(TWILIO_TOK)));
	assert_false(th_file_contains(path, "sandbox-token", 13));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_list_all_newest_first_paged, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_list_filters, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_get_message, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_stats_after_sends, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_update_account, setup, teardown),
	};
	int rc;

	if (sodium_init() < 0)
		return 1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
