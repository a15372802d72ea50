/* ledger_stress_test.c - 10,000 top-ups and adjustments from 8 concurrent
 * RPC callers against a real relayd process; then every client's balance
 * must equal the sum of its ledger and the tally of accepted changes,
 * before and after relayd is killed with SIGKILL and restarted.
 *
 * usage: ledger_stress_test PATH/TO/relayd */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
/* cmocka after its prerequisites */
#include <cmocka.h>

#include "gw/err.h"
#include "relay/v1/admin.pb-c.h"
#include "rpc/client.h"
#include "th.h"

#define TOKEN   "stress-token"
#define CALLERS 8
#define OPS     10000
#define CLIENTS 4

static const char *relayd_path;

struct fx {
	char              *dir;
	char               url[256], log[300];
	pid_t              pid;
	struct rpc_client *cli;
	uint64_t           ids[CLIENTS];
	_Atomic int64_t    expect[CLIENTS];
	atomic_int         refused, failed;
};

static void
start_relayd(struct fx *fx)
{
	char  arg_dir[300], arg_rpc[300];
	char *argv[] = { (char *) relayd_path, arg_dir, arg_rpc,
		"--workers=32", NULL };
	char *env[]  = { "RELAY_ADMIN_TOKEN=" TOKEN, NULL };

	snprintf(arg_dir, sizeof(arg_dir), "--state-dir=%s", fx->dir);
	snprintf(arg_rpc, sizeof(arg_rpc), "--rpc=%s", fx->url);
	fx->pid = th_spawn(argv, env, fx->log);
	assert_true(fx->pid > 0);
}

static int
ping(struct fx *fx)
{
	Relay__V1__PingRequest req = RELAY__V1__PING_REQUEST__INIT;
	ProtobufCMessage      *r;

	if (rpc_invoke(fx->cli, &relay__v1__health__descriptor, "Ping",
		&req.base, &r, NULL) != GW_OK)
		return -1;
	protobuf_c_message_free_unpacked(r, NULL);
	return 0;
}

/* wait_ready waits up to about 50 s (a loaded machine, an ASan build, a
 * listener relayd has to reopen after nng's ipc bug); on failure it shows
 * the tail of relayd's log, which teardown deletes. */
static void
wait_ready(struct fx *fx)
{
	int  ok = -1;
	char cmd[400];

	rpc_client_set_timeout(fx->cli, 200);
	for (int i = 0; i < 200 && (ok = ping(fx)) != 0; i++)
		th_sleep_ms(50);
	if (ok != 0) {
		snprintf(cmd, sizeof(cmd), "tail -20 %s >&2", fx->log);
		(void) !system(cmd);
	}
	assert_int_equal(ok, 0);
	rpc_client_set_timeout(fx->cli, 10000);
}

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	fx->dir = th_tmpdir();
	snprintf(fx->url, sizeof(fx->url), "ipc://%s/r.ipc", fx->dir);
	snprintf(fx->log, sizeof(fx->log), "%s/relayd.log", fx->dir);
	start_relayd(fx);
	assert_int_equal(rpc_client_open(fx->url, &fx->cli), GW_OK);
	rpc_client_set_admin_token(fx->cli, TOKEN);
	wait_ready(fx);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	rpc_client_close(fx->cli);
	kill(fx->pid, SIGTERM);
	th_wait_exit(fx->pid, 10000);
	th_rmtree(fx->dir);
	free(fx);
	return 0;
}

struct caller {
	struct fx *fx;
	int        index;
};

static void *
caller_main(void *p)
{
	struct caller *c  = p;
	struct fx     *fx = c->fx;
	unsigned       seed = (unsigned) c->index * 2654435761u;

	for (int i = 0; i < OPS / CALLERS; i++) {
		Relay__V1__ChangeBalanceRequest req =
		    RELAY__V1__CHANGE_BALANCE_REQUEST__INIT;
		Relay__V1__ChangeBalanceReply *r;
		struct rpc_status              st;
		int                            k = (int) (rand_r(&seed) % CLIENTS);
		int                            rc;

		req.client_id = fx->ids[k];
		if (rand_r(&seed) % 3 == 0) {
			req.change        = RELAY__V1__BALANCE_CHANGE__BALANCE_ADJUST;
			req.amount_micros = -(int64_t) (rand_r(&seed) % 3000000) - 1;
			req.reason        = "stress adjust";
		} else {
			req.change        = RELAY__V1__BALANCE_CHANGE__BALANCE_TOPUP;
			req.amount_micros = (int64_t) (rand_r(&seed) % 1000000) + 1;
			req.reason        = "stress topup";
		}
		rc = rpc_invoke(fx->cli, &relay__v1__admin__descriptor,
		    "ChangeBalance", &req.base, (ProtobufCMessage **) &r, &st);
		if (rc == GW_OK) {
			atomic_fetch_add(&fx->expect[k], req.amount_micros);
			protobuf_c_message_free_unpacked(&r->base, NULL);
		} else if (rc == GW_ESTATE) {
			atomic_fetch_add(&fx->refused, 1); /* would go below 0 */
		} else {
			fprintf(stderr, "caller %d: %s\n", c->index, st.message);
			atomic_fetch_add(&fx->failed, 1);
		}
	}
	return NULL;
}

static void
check_ledgers(struct fx *fx, int64_t *total_entries)
{
	*total_entries = 0;
	for (int k = 0; k < CLIENTS; k++) {
		Relay__V1__ListLedgerRequest req =
		    RELAY__V1__LIST_LEDGER_REQUEST__INIT;
		Relay__V1__LedgerList *l;
		struct rpc_status      st;
		int64_t                last_balance = 0;

		req.client_id = fx->ids[k];
		req.limit     = 1000;
		/* page through, checking the running balance entry by entry */
		for (;;) {
			assert_int_equal(rpc_invoke(fx->cli,
					     &relay__v1__admin__descriptor,
					     "ListLedger", &req.base,
					     (ProtobufCMessage **) &l, &st),
			    GW_OK);
			for (size_t i = 0; i < l->n_entries; i++) {
				last_balance += l->entries[i]->amount_micros;
				assert_int_equal(
				    l->entries[i]->balance_after_micros,
				    last_balance);
				assert_true(last_balance >= 0);
				req.after_seq = l->entries[i]->seq;
			}
			*total_entries += (int64_t) l->n_entries;
			assert_int_equal(l->client->balance_micros,
			    l->sum_micros);
			assert_int_equal(l->client->balance_micros,
			    atomic_load(&fx->expect[k]));
			if (l->n_entries < req.limit) {
				assert_int_equal(last_balance, l->sum_micros);
				protobuf_c_message_free_unpacked(&l->base, NULL);
				break;
			}
			protobuf_c_message_free_unpacked(&l->base, NULL);
		}
	}
}

static void
test_ledger_under_concurrency_and_kill9(void **state)
{
	struct fx    *fx = *state;
	pthread_t     t[CALLERS];
	struct caller c[CALLERS];
	int64_t       entries, entries_after;
	int           status;

	for (int k = 0; k < CLIENTS; k++) {
		Relay__V1__CreateClientRequest req =
		    RELAY__V1__CREATE_CLIENT_REQUEST__INIT;
		Relay__V1__Client *cl;

		req.name           = "stress";
		req.balance_micros = 5000000;
		assert_int_equal(rpc_invoke(fx->cli,
				     &relay__v1__admin__descriptor,
				     "CreateClient", &req.base,
				     (ProtobufCMessage **) &cl, NULL),
		    GW_OK);
		fx->ids[k]    = cl->id;
		fx->expect[k] = 5000000;
		protobuf_c_message_free_unpacked(&cl->base, NULL);
	}
	for (int i = 0; i < CALLERS; i++) {
		c[i] = (struct caller) { fx, i };
		pthread_create(&t[i], NULL, caller_main, &c[i]);
	}
	for (int i = 0; i < CALLERS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(atomic_load(&fx->failed), 0);
	fprintf(stderr, "# %d changes, %d refused (below zero)\n", OPS,
	    atomic_load(&fx->refused));
	check_ledgers(fx, &entries);
	assert_int_equal(entries, CLIENTS + OPS - atomic_load(&fx->refused));

	/* kill -9 and restart: everything acknowledged is still there */
	kill(fx->pid, SIGKILL);
	waitpid(fx->pid, &status, 0);
	start_relayd(fx);
	wait_ready(fx);
	check_ledgers(fx, &entries_after);
	assert_int_equal(entries_after, entries);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_ledger_under_concurrency_and_kill9, setup, teardown),
	};

	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH/TO/relayd\n", argv[0]);
		return 2;
	}
	relayd_path = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
