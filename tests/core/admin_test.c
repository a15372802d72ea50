/* admin_test.c - the Admin service through core's dispatcher, no socket:
 * credentials, validation (bad input changes nothing), the ledger
 * invariant, secrets kept out of the store and replies, routing order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* cmocka after its prerequisites */
#include <cmocka.h>

#include "gw/core.h"
#include "gw/err.h"
#include "relay/v1/admin.pb-c.h"
#include "th.h"

#define TOKEN        "test-admin-token"
#define TWILIO_SID   "AC0123456789abcdef0123456789abcdef"
#define TWILIO_TOKEN "f00dfeedf00dfeedf00dfeedf00dfeed"

struct fx {
	char           *dir;
	struct gw_core *core;
	struct gw_call  last;
};

static int
setup(void **state)
{
	struct fx            *fx  = calloc(1, sizeof(*fx));
	struct gw_core_config cfg = { 0 };

	fx->dir         = th_tmpdir();
	cfg.state_dir   = fx->dir;
	cfg.admin_token = TOKEN;
	assert_int_equal(gw_core_open(&cfg, &fx->core), GW_OK);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	gw_core_close(fx->core);
	th_rmtree(fx->dir);
	free(fx);
	return 0;
}

/* call_as runs Admin/method with token; on GW_OK *out gets the reply. */
static int
call_as(struct fx *fx, const char *token, const char *method,
    const ProtobufCMessage *req, void *out)
{
	const ProtobufCMethodDescriptor *m;
	char                             name[128];
	uint8_t                          buf[4096];
	size_t                           n = protobuf_c_message_pack(req, buf);
	int                              rc;

	m = protobuf_c_service_descriptor_get_method_by_name(
	    &relay__v1__admin__descriptor, method);
	assert_non_null(m);
	snprintf(name, sizeof(name), "relay.v1.Admin/%s", method);
	memset(&fx->last, 0, sizeof(fx->last));
	rc = gw_call_dispatch(fx->core, &fx->last, name, token, buf, n);
	if (rc == GW_OK && out != NULL) {
		*(ProtobufCMessage **) out = protobuf_c_message_unpack(m->output,
		    NULL, fx->last.reply_len, fx->last.reply);
		assert_non_null(*(ProtobufCMessage **) out);
	}
	if (rc == GW_OK)
		assert_true(fx->last.replied);
	else
		assert_null(fx->last.reply);
	free(fx->last.reply);
	fx->last.reply = NULL;
	return rc;
}

static int
call(struct fx *fx, const char *method, const ProtobufCMessage *req, void *out)
{
	return call_as(fx, TOKEN, method, req, out);
}

static uint64_t
make_client(struct fx *fx, const char *name, int64_t balance)
{
	Relay__V1__CreateClientRequest req = RELAY__V1__CREATE_CLIENT_REQUEST__INIT;
	Relay__V1__Client             *c;
	uint64_t                       id;

	req.name           = (char *) name;
	req.balance_micros = balance;
	assert_int_equal(call(fx, "CreateClient", &req.base, &c), GW_OK);
	id = c->id;
	protobuf_c_message_free_unpacked(&c->base, NULL);
	return id;
}

static size_t
count_clients(struct fx *fx)
{
	Relay__V1__Empty       req = RELAY__V1__EMPTY__INIT;
	Relay__V1__ClientList *l;
	size_t                 n;

	assert_int_equal(call(fx, "ListClients", &req.base, &l), GW_OK);
	n = l->n_clients;
	protobuf_c_message_free_unpacked(&l->base, NULL);
	return n;
}

static void
test_admin_requires_token(void **state)
{
	struct fx       *fx  = *state;
	Relay__V1__Empty req = RELAY__V1__EMPTY__INIT;
	void            *out;

	assert_int_equal(call_as(fx, NULL, "ListClients", &req.base, &out),
	    GW_EAUTH);
	assert_int_equal(call_as(fx, "", "ListClients", &req.base, &out),
	    GW_EAUTH);
	assert_int_equal(call_as(fx, TOKEN "x", "ListClients", &req.base,
			     &out),
	    GW_EAUTH);
	assert_int_equal(call_as(fx, "test-admin-tokeN", "ListClients",
			     &req.base, &out),
	    GW_EAUTH);
}

static void
test_dispatch_rejects_bad_calls(void **state)
{
	struct fx     *fx   = *state;
	struct gw_call call = { 0 };
	const uint8_t  junk[] = { 0xff, 0xff, 0xff, 0xff, 0x0f };

	assert_int_equal(gw_call_dispatch(fx->core, &call,
			     "relay.v1.Admin/NoSuchMethod", TOKEN, NULL, 0),
	    GW_ENOTFOUND);
	memset(&call, 0, sizeof(call));
	assert_int_equal(gw_call_dispatch(fx->core, &call,
			     "relay.v1.Nope/ListClients", TOKEN, NULL, 0),
	    GW_ENOTFOUND);
	memset(&call, 0, sizeof(call));
	assert_int_equal(gw_call_dispatch(fx->core, &call, "ListClients",
			     TOKEN, NULL, 0),
	    GW_EINVAL);
	memset(&call, 0, sizeof(call));
	assert_int_equal(gw_call_dispatch(fx->core, &call,
			     "relay.v1.Admin/CreateClient", TOKEN, junk,
			     sizeof(junk)),
	    GW_EINVAL);
	assert_non_null(strstr(call.errmsg, "CreateClientRequest"));
	memset(&call, 0, sizeof(call));
	/* Health needs no token */
	assert_int_equal(gw_call_dispatch(fx->core, &call,
			     "relay.v1.Health/Ping", NULL, NULL, 0),
	    GW_OK);
	free(call.reply);
	assert_int_equal(count_clients(fx), 0);
}

static void
test_client_validation_changes_nothing(void **state)
{
	struct fx                     *fx  = *state;
	Relay__V1__CreateClientRequest req = RELAY__V1__CREATE_CLIENT_REQUEST__INIT;
	void                          *out;
	char                           longname[200];

	assert_int_equal(call(fx, "CreateClient", &req.base, &out), GW_EINVAL);
	assert_non_null(strstr(fx->last.errmsg, "name"));
	req.name = "tab\there";
	assert_int_equal(call(fx, "CreateClient", &req.base, &out), GW_EINVAL);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	req.name                       = longname;
	assert_int_equal(call(fx, "CreateClient", &req.base, &out), GW_EINVAL);
	req.name           = "ok";
	req.balance_micros = -1;
	assert_int_equal(call(fx, "CreateClient", &req.base, &out), GW_EINVAL);
	req.balance_micros      = 0;
	req.status_callback_url = "ftp://x";
	assert_int_equal(call(fx, "CreateClient", &req.base, &out), GW_EINVAL);
	assert_int_equal(count_clients(fx), 0);
}

static int64_t
change(struct fx *fx, uint64_t id, Relay__V1__BalanceChange kind,
    int64_t amount, const char *reason, int expect)
{
	Relay__V1__ChangeBalanceRequest req =
	    RELAY__V1__CHANGE_BALANCE_REQUEST__INIT;
	Relay__V1__ChangeBalanceReply *r = NULL;
	int64_t                        bal;

	req.client_id     = id;
	req.change        = kind;
	req.amount_micros = amount;
	req.reason        = (char *) reason;
	assert_int_equal(call(fx, "ChangeBalance", &req.base, &r), expect);
	if (expect != GW_OK)
		return -1;
	bal = r->client->balance_micros;
	assert_int_equal(r->entry->balance_after_micros, bal);
	assert_int_equal(r->entry->amount_micros, amount);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return bal;
}

static void
test_balance_changes_keep_ledger(void **state)
{
	struct fx                   *fx  = *state;
	uint64_t                     id  = make_client(fx, "Acme", 10000000);
	Relay__V1__ListLedgerRequest lr  = RELAY__V1__LIST_LEDGER_REQUEST__INIT;
	Relay__V1__LedgerList       *l;
	const int                    TOP = RELAY__V1__BALANCE_CHANGE__BALANCE_TOPUP;
	const int                    ADJ = RELAY__V1__BALANCE_CHANGE__BALANCE_ADJUST;

	assert_int_equal(change(fx, id, TOP, 5500000, "wire", GW_OK), 15500000);
	assert_int_equal(change(fx, id, ADJ, -500000, "fix", GW_OK), 15000000);
	/* refused: below zero, zero, negative top-up, no reason, unknown */
	change(fx, id, ADJ, -15000001, "too much", GW_ESTATE);
	change(fx, id, ADJ, 0, "zero", GW_EINVAL);
	change(fx, id, TOP, -1, "neg", GW_EINVAL);
	change(fx, id, TOP, 1, "", GW_EINVAL);
	change(fx, id, 0, 1, "kind", GW_EINVAL);
	change(fx, 999, TOP, 1, "ghost", GW_ENOTFOUND);

	lr.client_id = id;
	assert_int_equal(call(fx, "ListLedger", &lr.base, &l), GW_OK);
	assert_int_equal(l->n_entries, 3); /* initial, topup, adjust */
	assert_int_equal(l->sum_micros, 15000000);
	assert_int_equal(l->client->balance_micros, l->sum_micros);
	assert_int_equal(l->entries[0]->kind,
	    RELAY__V1__LEDGER_KIND__LEDGER_INITIAL);
	assert_string_equal(l->entries[1]->reason, "wire");
	protobuf_c_message_free_unpacked(&l->base, NULL);
	/* paging */
	lr.after_seq = 1;
	lr.limit     = 1;
	assert_int_equal(call(fx, "ListLedger", &lr.base, &l), GW_OK);
	assert_int_equal(l->n_entries, 1);
	assert_int_equal(l->entries[0]->seq, 2);
	assert_int_equal(l->sum_micros, 15000000);
	protobuf_c_message_free_unpacked(&l->base, NULL);
}

static void
test_suspend_resume(void **state)
{
	struct fx                        *fx = *state;
	Relay__V1__SetClientStatusRequest req =
	    RELAY__V1__SET_CLIENT_STATUS_REQUEST__INIT;
	Relay__V1__Client *c;

	req.client_id = make_client(fx, "S", 0);
	req.status    = RELAY__V1__CLIENT_STATUS__CLIENT_SUSPENDED;
	assert_int_equal(call(fx, "SetClientStatus", &req.base, &c), GW_OK);
	assert_int_equal(c->status, RELAY__V1__CLIENT_STATUS__CLIENT_SUSPENDED);
	protobuf_c_message_free_unpacked(&c->base, NULL);
	req.status = 7;
	assert_int_equal(call(fx, "SetClientStatus", &req.base, &c), GW_EINVAL);
}

static void
test_keys_are_hashed_and_revocable(void **state)
{
	struct fx                  *fx  = *state;
	Relay__V1__CreateKeyRequest req = RELAY__V1__CREATE_KEY_REQUEST__INIT;
	Relay__V1__IdRequest        rev = RELAY__V1__ID_REQUEST__INIT;
	Relay__V1__CreatedKey      *k;
	Relay__V1__ApiKey          *v;
	char                        raw[64], path[4096];

	req.client_id = 42;
	assert_int_equal(call(fx, "CreateKey", &req.base, &k), GW_ENOTFOUND);
	req.client_id = make_client(fx, "K", 0);
	assert_int_equal(call(fx, "CreateKey", &req.base, &k), GW_OK);
	snprintf(raw, sizeof(raw), "%s", k->raw_key);
	assert_int_equal(strncmp(raw, "rk_", 3), 0);
	assert_int_equal(strncmp(k->key->prefix, raw, 8), 0);
	rev.id = k->key->id;
	protobuf_c_message_free_unpacked(&k->base, NULL);
	assert_int_equal(call(fx, "RevokeKey", &rev.base, &v), GW_OK);
	assert_true(v->revoked_unix_ms > 0);
	protobuf_c_message_free_unpacked(&v->base, NULL);
	rev.id = 999;
	assert_int_equal(call(fx, "RevokeKey", &rev.base, &v), GW_ENOTFOUND);
	/* the raw key is nowhere in the store */
	gw_core_close(fx->core);
	fx->core = NULL;
	snprintf(path, sizeof(path), "%s/data.mdb", fx->dir);
	assert_false(th_file_contains(path, raw, strlen(raw)));
	{
		struct gw_core_config cfg = { .state_dir = fx->dir,
			.admin_token = TOKEN };

		assert_int_equal(gw_core_open(&cfg, &fx->core), GW_OK);
	}
}

static uint64_t
make_account(struct fx *fx, int kind, const char *sid, const char *token,
    int expect)
{
	Relay__V1__CreateAccountRequest req =
	    RELAY__V1__CREATE_ACCOUNT_REQUEST__INIT;
	Relay__V1__Account *a;
	uint64_t            id;

	req.kind  = kind;
	req.sid   = (char *) sid;
	req.token = (char *) token;
	assert_int_equal(call(fx, "CreateAccount", &req.base, &a), expect);
	if (expect != GW_OK)
		return 0;
	id = a->id;
	assert_true(a->has_token == (token[0] != '\0'));
	protobuf_c_message_free_unpacked(&a->base, NULL);
	return id;
}

static void
test_accounts_validate_and_seal(void **state)
{
	struct fx           *fx = *state;
	const int            TW = RELAY__V1__ACCOUNT_KIND__ACCOUNT_TWILIO;
	Relay__V1__IdRequest get = RELAY__V1__ID_REQUEST__INIT;
	Relay__V1__Account  *a;
	char                 path[4096];

	make_account(fx, TW, "AC123", TWILIO_TOKEN, GW_EINVAL);
	make_account(fx, TW, "AC0123456789ABCDEF0123456789ABCDEF", TWILIO_TOKEN,
	    GW_EINVAL);
	make_account(fx, TW, TWILIO_SID, "short", GW_EINVAL);
	make_account(fx, TW, TWILIO_SID, "", GW_EINVAL);
	make_account(fx, 0, "", "", GW_EINVAL);
	make_account(fx, RELAY__V1__ACCOUNT_KIND__ACCOUNT_FLOWROUTE, "", "x",
	    GW_EINVAL);
	get.id = make_account(fx, TW, TWILIO_SID, TWILIO_TOKEN, GW_OK);
	assert_int_equal(call(fx, "GetAccount", &get.base, &a), GW_OK);
	assert_string_equal(a->sid, TWILIO_SID);
	protobuf_c_message_free_unpacked(&a->base, NULL);
	/* the token never comes back: the packed reply does not hold it */
	{
		uint8_t        buf[64];
		size_t         n = protobuf_c_message_pack(&get.base, buf);
		struct gw_call c = { 0 };

		assert_int_equal(gw_call_dispatch(fx->core, &c,
				     "relay.v1.Admin/GetAccount", TOKEN, buf,
				     n),
		    GW_OK);
		assert_null(memmem(c.reply, c.reply_len, TWILIO_TOKEN,
		    strlen(TWILIO_TOKEN)));
		free(c.reply);
	}
	gw_core_close(fx->core);
	snprintf(path, sizeof(path), "%s/data.mdb", fx->dir);
	assert_true(th_file_contains(path, TWILIO_SID, strlen(TWILIO_SID)));
	assert_false(th_file_contains(path, TWILIO_TOKEN, strlen(TWILIO_TOKEN)));
	{
		struct gw_core_config cfg = { .state_dir = fx->dir,
			.admin_token = TOKEN };

		assert_int_equal(gw_core_open(&cfg, &fx->core), GW_OK);
	}
}

static uint64_t
make_route(struct fx *fx, const char *pattern, int prio, uint64_t account,
    int expect)
{
	Relay__V1__CreateRouteRequest req = RELAY__V1__CREATE_ROUTE_REQUEST__INIT;
	Relay__V1__Route             *r;
	uint64_t                      id;

	req.pattern      = (char *) pattern;
	req.priority     = prio;
	req.account_id   = account;
	req.price_micros = 7500;
	assert_int_equal(call(fx, "CreateRoute", &req.base, &r), expect);
	if (expect != GW_OK)
		return 0;
	id = r->id;
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return id;
}

static uint64_t
route_for(struct fx *fx, const char *number, const char *body, int expect,
    uint32_t *segments)
{
	Relay__V1__TestRouteRequest req = RELAY__V1__TEST_ROUTE_REQUEST__INIT;
	Relay__V1__TestRouteReply  *r;
	uint64_t                    id;

	req.number = (char *) number;
	req.body   = (char *) body;
	assert_int_equal(call(fx, "TestRoute", &req.base, &r), expect);
	if (expect != GW_OK)
		return 0;
	id = r->route->id;
	if (segments != NULL)
		*segments = r->segments;
	assert_int_equal(r->price_micros, 7500 * (int64_t) r->segments);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return id;
}

static void
test_routes_order_and_edits(void **state)
{
	struct fx                    *fx = *state;
	uint64_t                      acc, us, catchall, us2;
	Relay__V1__UpdateRouteRequest up = RELAY__V1__UPDATE_ROUTE_REQUEST__INIT;
	Relay__V1__IdRequest          del = RELAY__V1__ID_REQUEST__INIT;
	Relay__V1__Route             *r;
	uint32_t                      seg;
	char                          body[200];

	acc = make_account(fx, RELAY__V1__ACCOUNT_KIND__ACCOUNT_SANDBOX, "", "",
	    GW_OK);
	make_route(fx, "^\\+1(", 10, acc, GW_EINVAL);
	assert_non_null(strstr(fx->last.errmsg, "offset"));
	make_route(fx, "^\\+1", 10, 999, GW_EINVAL);
	assert_int_equal(route_for(fx, "+14155550100", "", GW_ENOROUTE, NULL),
	    0);
	catchall = make_route(fx, ".*", 1, acc, GW_OK);
	us       = make_route(fx, "^\\+1", 10, acc, GW_OK);
	us2      = make_route(fx, "^\\+1415", 10, acc, GW_OK); /* tie: later */
	assert_int_equal(route_for(fx, "14155550100", "hi", GW_OK, &seg), us);
	assert_int_equal(seg, 1);
	assert_int_equal(route_for(fx, "+442071234567", "", GW_OK, NULL),
	    catchall);
	route_for(fx, "not a number", "", GW_EINVAL, NULL);
	/* a disabled rule is skipped on the very next lookup */
	up.id = us;
	up.set_enabled_case =
	    RELAY__V1__UPDATE_ROUTE_REQUEST__SET_ENABLED_ENABLED;
	up.enabled = 0;
	assert_int_equal(call(fx, "UpdateRoute", &up.base, &r), GW_OK);
	assert_false(r->enabled);
	assert_string_equal(r->pattern, "^\\+1"); /* untouched fields stay */
	protobuf_c_message_free_unpacked(&r->base, NULL);
	assert_int_equal(route_for(fx, "+14155550100", "", GW_OK, NULL), us2);
	/* priority change reorders */
	up.set_enabled_case = 0;
	up.id               = catchall;
	up.set_priority_case =
	    RELAY__V1__UPDATE_ROUTE_REQUEST__SET_PRIORITY_PRIORITY;
	up.priority = 50;
	assert_int_equal(call(fx, "UpdateRoute", &up.base, &r), GW_OK);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	memset(body, 'a', 161);
	body[161] = '\0';
	assert_int_equal(route_for(fx, "+14155550100", body, GW_OK, &seg),
	    catchall);
	assert_int_equal(seg, 2);
	/* invalid update changes nothing */
	up.set_priority_case = 0;
	up.set_pattern_case =
	    RELAY__V1__UPDATE_ROUTE_REQUEST__SET_PATTERN_PATTERN;
	up.pattern = "[";
	assert_int_equal(call(fx, "UpdateRoute", &up.base, &r), GW_EINVAL);
	/* accounts in use cannot go */
	del.id = acc;
	assert_int_equal(call(fx, "DeleteAccount", &del.base, &r), GW_ESTATE);
	del.id = catchall;
	assert_int_equal(call(fx, "DeleteRoute", &del.base, &r), GW_OK);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	assert_int_equal(route_for(fx, "+442071234567", "", GW_ENOROUTE, NULL),
	    0);
}

static void
test_tns_and_settings(void **state)
{
	struct fx                   *fx  = *state;
	Relay__V1__TnRequest         tn  = RELAY__V1__TN_REQUEST__INIT;
	Relay__V1__SetSettingRequest set = RELAY__V1__SET_SETTING_REQUEST__INIT;
	Relay__V1__Empty             e   = RELAY__V1__EMPTY__INIT;
	Relay__V1__Tn               *t;
	Relay__V1__Settings         *s;

	tn.number = "12062992129";
	assert_int_equal(call(fx, "AddTn", &tn.base, &t), GW_OK);
	assert_string_equal(t->number, "+12062992129");
	protobuf_c_message_free_unpacked(&t->base, NULL);
	tn.number = "+12062992129";
	assert_int_equal(call(fx, "AddTn", &tn.base, &t), GW_EEXIST);
	tn.number = "206-299-2129";
	assert_int_equal(call(fx, "AddTn", &tn.base, &t), GW_EINVAL);
	tn.number = "+12062992120";
	assert_int_equal(call(fx, "RemoveTn", &tn.base, &t), GW_ENOTFOUND);

	assert_int_equal(call(fx, "GetSettings", &e.base, &s), GW_OK);
	assert_string_equal(s->org_name, "Your Org Name");
	protobuf_c_message_free_unpacked(&s->base, NULL);
	set.key   = "org_name";
	set.value = "Acme";
	assert_int_equal(call(fx, "SetSetting", &set.base, &s), GW_OK);
	protobuf_c_message_free_unpacked(&s->base, NULL);
	set.key = "nope";
	assert_int_equal(call(fx, "SetSetting", &set.base, &s), GW_EINVAL);
	assert_int_equal(call(fx, "GetSettings", &e.base, &s), GW_OK);
	assert_string_equal(s->org_name, "Acme");
	assert_string_equal(s->session_end_msg,
	    "This session has ended, talk to you again soon!");
	protobuf_c_message_free_unpacked(&s->base, NULL);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_admin_requires_token),
		T(test_dispatch_rejects_bad_calls),
		T(test_client_validation_changes_nothing),
		T(test_balance_changes_keep_ledger),
		T(test_suspend_resume),
		T(test_keys_are_hashed_and_revocable),
		T(test_accounts_validate_and_seal),
		T(test_routes_order_and_edits),
		T(test_tns_and_settings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
