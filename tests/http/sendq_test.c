/* sendq_test.c - relay-http's Send queue (hb_sendq) against a real relayd:
 * 320 concurrent Sends from two clients and a stranger (a SendBatch holds
 * 256, so when they queue up at once a batch is split and the lead handed
 * on; how they queue is up to the scheduler, not asserted). Every
 * Send gets its own outcome: the client with funds for exactly 100
 * messages gets exactly 100 accepted and ends at 0, the other gets all
 * of its own, the stranger is refused, and every sid is distinct. With
 * relayd gone, every waiting Send fails UNAVAILABLE instead of hanging.
 *
 * usage: sendq_test PATH/TO/relayd */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* cmocka after its prerequisites */
#include <cmocka.h>

#include "gw/err.h"
#include "hb/sendq.h"
#include "relay/v1/admin.pb-c.h"
#include "rpc/client.h"
#include "th.h"

#define TOKEN   "sendq-token"
#define PRICE   7500
#define THREADS 320
#define FUNDED  100 /* messages client A can pay for */

static const char *relayd_path;

struct fx {
	char              *dir;
	char               url[256], log[300];
	pid_t              pid;
	struct rpc_client *admin, *rpc;
	struct hb_sendq   *q;
	uint64_t           a, b;
	char               key_a[128], key_b[128];
};

struct sender {
	struct fx  *fx;
	const char *key;
	int         rc;
	bool        bad; /* an outcome that contradicts itself */
	char        sid[64];
	int64_t     remaining;
};

static void *
admin_call(struct fx *fx, const char *method, const ProtobufCMessage *req)
{
	ProtobufCMessage *r = NULL;

	assert_int_equal(rpc_invoke(fx->admin, &relay__v1__admin__descriptor,
			     method, req, &r, NULL),
	    GW_OK);
	return r;
}

static uint64_t
make_client(struct fx *fx, int64_t balance, char *key, size_t len)
{
	Relay__V1__CreateClientRequest c = RELAY__V1__CREATE_CLIENT_REQUEST__INIT;
	Relay__V1__CreateKeyRequest    k = RELAY__V1__CREATE_KEY_REQUEST__INIT;
	Relay__V1__Client             *cl;
	Relay__V1__CreatedKey         *ck;
	uint64_t                       id;

	c.name = "sendq";
	c.balance_micros = balance;
	cl = admin_call(fx, "CreateClient", &c.base);
	id = k.client_id = cl->id;
	ck = admin_call(fx, "CreateKey", &k.base);
	snprintf(key, len, "%s", ck->raw_key);
	protobuf_c_message_free_unpacked(&cl->base, NULL);
	protobuf_c_message_free_unpacked(&ck->base, NULL);
	return id;
}

static int64_t
balance(struct fx *fx, uint64_t id)
{
	Relay__V1__IdRequest req = RELAY__V1__ID_REQUEST__INIT;
	Relay__V1__Client   *c;
	int64_t              b;

	req.id = id;
	c = admin_call(fx, "GetClient", &req.base);
	b = c->balance_micros;
	protobuf_c_message_free_unpacked(&c->base, NULL);
	return b;
}

static int
setup(void **state)
{
	struct fx                      *fx = calloc(1, sizeof(*fx));
	char                            arg_dir[300], arg_rpc[300];
	char                           *argv[] = { (char *) relayd_path, arg_dir,
						   arg_rpc, NULL };
	char                           *env[] = { "RELAY_ADMIN_TOKEN=" TOKEN,
						  NULL };
	Relay__V1__CreateAccountRequest a =
	    RELAY__V1__CREATE_ACCOUNT_REQUEST__INIT;
	Relay__V1__CreateRouteRequest r = RELAY__V1__CREATE_ROUTE_REQUEST__INIT;
	Relay__V1__PingRequest        ping = RELAY__V1__PING_REQUEST__INIT;
	Relay__V1__Account           *acct;
	ProtobufCMessage             *pong = NULL;

	fx->dir = th_tmpdir();
	snprintf(fx->url, sizeof(fx->url), "ipc://%s/r.ipc", fx->dir);
	snprintf(fx->log, sizeof(fx->log), "%s/relayd.log", fx->dir);
	snprintf(arg_dir, sizeof(arg_dir), "--state-dir=%s", fx->dir);
	snprintf(arg_rpc, sizeof(arg_rpc), "--rpc=%s", fx->url);
	fx->pid = th_spawn(argv, env, fx->log);
	assert_true(fx->pid > 0);
	assert_int_equal(rpc_client_open(fx->url, &fx->admin), GW_OK);
	assert_int_equal(rpc_client_open(fx->url, &fx->rpc), GW_OK);
	rpc_client_set_admin_token(fx->admin, TOKEN);
	rpc_client_set_timeout(fx->admin, 200);
	for (int i = 0; i < 100 &&
	     rpc_invoke(fx->admin, &relay__v1__health__descriptor, "Ping",
		 &ping.base, &pong, NULL) != GW_OK;
	     i++)
		th_sleep_ms(50);
	assert_non_null(pong);
	protobuf_c_message_free_unpacked(pong, NULL);
	rpc_client_set_timeout(fx->admin, 10000);

	a.kind = RELAY__V1__ACCOUNT_KIND__ACCOUNT_SANDBOX;
	a.from_number = "+15005550006";
	acct = admin_call(fx, "CreateAccount", &a.base);
	r.pattern = "^\\+1";
	r.priority = 10;
	r.account_id = acct->id;
	r.price_micros = PRICE;
	protobuf_c_message_free_unpacked(admin_call(fx, "CreateRoute", &r.base),
	    NULL);
	protobuf_c_message_free_unpacked(&acct->base, NULL);
	fx->a = make_client(fx, FUNDED * PRICE, fx->key_a, sizeof(fx->key_a));
	fx->b = make_client(fx, 1000 * PRICE, fx->key_b, sizeof(fx->key_b));
	assert_int_equal(hb_sendq_new(fx->rpc, 0, &fx->q), GW_OK);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	hb_sendq_free(fx->q);
	rpc_client_close(fx->rpc);
	rpc_client_close(fx->admin);
	if (fx->pid > 0) {
		kill(fx->pid, SIGTERM);
		th_wait_exit(fx->pid, 10000);
	}
	th_rmtree(fx->dir);
	free(fx);
	return 0;
}

static void *
sender_main(void *arg)
{
	struct sender         *s = arg;
	Relay__V1__SendRequest req = RELAY__V1__SEND_REQUEST__INIT;
	struct hb_sent         sent;
	struct rpc_status      st;

	req.to = "+14155550100";
	req.body = "queued together";
	/* cmocka's asserts belong to the main thread: record, check there */
	s->rc = hb_sendq_send(s->fx->q, s->key, &req, &sent, &st);
	s->bad = s->rc != st.err;
	if (s->rc == GW_OK) {
		snprintf(s->sid, sizeof(s->sid), "%s", sent.reply->sid);
		s->remaining = sent.reply->remaining_balance_micros;
		s->bad |= strncmp(s->sid, "SM", 2) != 0 || s->remaining < 0;
		hb_sent_release(&sent);
	} else {
		s->bad |= sent.reply != NULL || st.message[0] == '\0';
	}
	return NULL;
}

static int
cmp_sid(const void *x, const void *y)
{
	return strcmp(((const struct sender *) x)->sid,
	    ((const struct sender *) y)->sid);
}

static void
test_concurrent_sends_keep_their_outcomes(void **state)
{
	struct fx     *fx = *state;
	struct sender *s = calloc(THREADS, sizeof(*s));
	pthread_t     *t = calloc(THREADS, sizeof(*t));
	int            ok_a = 0, poor_a = 0, ok_b = 0, refused = 0;

	for (int i = 0; i < THREADS; i++) {
		s[i].fx = fx;
		/* every 8th a stranger; the rest alternate A and B */
		s[i].key = i % 8 == 7 ? "rk_nobody_has_this_key"
		    : i % 2          ? fx->key_b
		                     : fx->key_a;
	}
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(
		    pthread_create(&t[i], NULL, sender_main, &s[i]), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < THREADS; i++) {
		if (s[i].key == fx->key_a && s[i].rc == GW_OK)
			ok_a++;
		else if (s[i].key == fx->key_a)
			poor_a += s[i].rc == GW_ENOFUNDS;
		else if (s[i].key == fx->key_b)
			ok_b += s[i].rc == GW_OK;
		else
			refused += s[i].rc == GW_EAUTH;
		assert_false(s[i].bad);
	}
	/* A: 160 tries, 100 paid for; B: 120 tries, all paid; 40 strangers */
	assert_int_equal(ok_a, FUNDED);
	assert_int_equal(poor_a, THREADS / 2 - FUNDED);
	assert_int_equal(ok_b, THREADS / 2 - THREADS / 8);
	assert_int_equal(refused, THREADS / 8);
	assert_int_equal(balance(fx, fx->a), 0);
	assert_int_equal(balance(fx, fx->b), (1000 - ok_b) * PRICE);
	qsort(s, THREADS, sizeof(*s), cmp_sid);
	for (int i = 1; i < THREADS; i++)
		if (s[i].sid[0] != '\0')
			assert_string_not_equal(s[i - 1].sid, s[i].sid);
	free(s);
	free(t);
}

static void
test_relayd_gone(void **state)
{
	struct fx     *fx = *state;
	struct sender  s[8];
	pthread_t      t[8];

	kill(fx->pid, SIGKILL);
	th_wait_exit(fx->pid, 10000);
	fx->pid = -1;
	rpc_client_set_timeout(fx->rpc, 300);
	for (int i = 0; i < 8; i++) {
		s[i] = (struct sender) { .fx = fx, .key = fx->key_b };
		assert_int_equal(pthread_create(&t[i], NULL, sender_main, &s[i]),
		    0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		assert_false(s[i].bad);
		assert_int_equal(s[i].rc, GW_EUNAVAIL);
	}
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_concurrent_sends_keep_their_outcomes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relayd_gone, setup,
		    teardown),
	};

	if (argc != 2) {
		fprintf(stderr, "usage: %s PATH/TO/relayd\n", argv[0]);
		return 2;
	}
	relayd_path = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
