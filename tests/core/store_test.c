/* store_test.c - the LMDB store: records, nested rollback, group commit,
 * persistence and map growth, through the public interface. */
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

#include "gw/err.h"
#include "gw/store.h"
#include "relay/v1/records.pb-c.h"
#include "th.h"

struct fx {
	char            *dir;
	struct gw_store *st;
};

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	fx->dir = th_tmpdir();
	assert_non_null(fx->dir);
	assert_int_equal(gw_store_open(fx->dir, &fx->st), GW_OK);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	gw_store_close(fx->st);
	th_rmtree(fx->dir);
	free(fx);
	return 0;
}

struct put_tn {
	const char *number;
	int         fail_after; /* return this after writing, to roll back */
};

static int
put_tn_fn(struct gw_txn *txn, void *arg)
{
	struct put_tn *a  = arg;
	Relay__V1__Tn  tn = RELAY__V1__TN__INIT;
	int            rc;

	tn.number = (char *) a->number;
	rc = gw_txn_put(txn, GW_DB_TNS, a->number, strlen(a->number), &tn.base,
	    GW_PUT_NOOVERWRITE);
	return rc != GW_OK ? rc : a->fail_after;
}

static int
get_tn(struct gw_store *st, const char *number, Relay__V1__Tn **out)
{
	struct gw_txn *txn;
	int            rc;

	assert_int_equal(gw_store_read(st, &txn), GW_OK);
	rc = gw_txn_get(txn, GW_DB_TNS, number, strlen(number),
	    &relay__v1__tn__descriptor, (ProtobufCMessage **) out);
	gw_txn_end(txn);
	return rc;
}

static void
test_store_put_get_dup(void **state)
{
	struct fx     *fx = *state;
	struct put_tn  a  = { "+14155550100", GW_OK };
	Relay__V1__Tn *tn;

	assert_int_equal(gw_store_write(fx->st, put_tn_fn, &a), GW_OK);
	assert_int_equal(get_tn(fx->st, a.number, &tn), GW_OK);
	assert_string_equal(tn->number, a.number);
	relay__v1__tn__free_unpacked(tn, NULL);
	/* NOOVERWRITE */
	assert_int_equal(gw_store_write(fx->st, put_tn_fn, &a), GW_EEXIST);
	assert_int_equal(get_tn(fx->st, "+14155550199", &tn), GW_ENOTFOUND);
}

static void
test_store_failed_fn_rolls_back(void **state)
{
	struct fx     *fx = *state;
	struct put_tn  a  = { "+14155550101", GW_EINVAL };
	Relay__V1__Tn *tn;

	assert_int_equal(gw_store_write(fx->st, put_tn_fn, &a), GW_EINVAL);
	assert_int_equal(get_tn(fx->st, a.number, &tn), GW_ENOTFOUND);
}

static int
put_garbage_fn(struct gw_txn *txn, void *arg)
{
	(void) arg;
	return gw_txn_put_raw(txn, GW_DB_TNS, "x", 1, "\xff\xff\xff", 3, 0);
}

static void
test_store_undecodable_record(void **state)
{
	struct fx     *fx = *state;
	Relay__V1__Tn *tn = NULL;

	assert_int_equal(gw_store_write(fx->st, put_garbage_fn, NULL), GW_OK);
	assert_int_equal(get_tn(fx->st, "x", &tn), GW_ESTORE);
	assert_null(tn);
}

struct seq_arg {
	uint64_t ids[3];
};

static int
seq_fn(struct gw_txn *txn, void *arg)
{
	struct seq_arg *a = arg;

	for (int i = 0; i < 3; i++) {
		int rc = gw_txn_next_id(txn, "thing", &a->ids[i]);

		if (rc != GW_OK)
			return rc;
	}
	return GW_OK;
}

static void
test_store_sequences_persist(void **state)
{
	struct fx     *fx = *state;
	struct seq_arg a;

	assert_int_equal(gw_store_write(fx->st, seq_fn, &a), GW_OK);
	assert_int_equal(a.ids[0], 1);
	assert_int_equal(a.ids[2], 3);
	gw_store_close(fx->st);
	assert_int_equal(gw_store_open(fx->dir, &fx->st), GW_OK);
	assert_int_equal(gw_store_write(fx->st, seq_fn, &a), GW_OK);
	assert_int_equal(a.ids[0], 4);
}

struct scan_acc {
	int  n;
	char seen[8][24];
};

static int
scan_fn(const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
	struct scan_acc *acc = arg;

	(void) val;
	(void) vlen;
	snprintf(acc->seen[acc->n++], 24, "%.*s", (int) klen,
	    (const char *) key);
	return acc->n == 8;
}

static void
test_store_scan_prefix_and_from(void **state)
{
	struct fx      *fx = *state;
	const char     *nums[] = { "+1415", "+1416", "+1417", "+442", "+443" };
	struct scan_acc acc    = { 0 };
	struct gw_txn  *txn;

	for (size_t i = 0; i < 5; i++) {
		struct put_tn a = { nums[i], GW_OK };

		assert_int_equal(gw_store_write(fx->st, put_tn_fn, &a), GW_OK);
	}
	assert_int_equal(gw_store_read(fx->st, &txn), GW_OK);
	assert_int_equal(gw_txn_scan(txn, GW_DB_TNS, "+14", 3, NULL, 0, scan_fn,
			     &acc),
	    GW_OK);
	assert_int_equal(acc.n, 3);
	assert_string_equal(acc.seen[0], "+1415");
	memset(&acc, 0, sizeof(acc));
	assert_int_equal(gw_txn_scan(txn, GW_DB_TNS, "+14", 3, "+1416", 5,
			     scan_fn, &acc),
	    GW_OK);
	assert_int_equal(acc.n, 2);
	assert_string_equal(acc.seen[0], "+1416");
	memset(&acc, 0, sizeof(acc));
	assert_int_equal(gw_txn_scan(txn, GW_DB_TNS, NULL, 0, NULL, 0, scan_fn,
			     &acc),
	    GW_OK);
	assert_int_equal(acc.n, 5);
	gw_txn_end(txn);
}

static void
test_store_scan_rev_and_count(void **state)
{
	struct fx      *fx = *state;
	const char     *nums[] = { "+1", "+1415", "+1416", "+1417", "+442",
		    "+443" };
	struct scan_acc acc = { 0 };
	struct gw_txn  *txn;
	uint64_t        n;

	for (size_t i = 0; i < 6; i++) {
		struct put_tn a = { nums[i], GW_OK };

		assert_int_equal(gw_store_write(fx->st, put_tn_fn, &a), GW_OK);
	}
	assert_int_equal(gw_store_read(fx->st, &txn), GW_OK);
	assert_int_equal(gw_txn_count(txn, GW_DB_TNS, &n), GW_OK);
	assert_int_equal(n, 6);
	assert_int_equal(gw_txn_count(txn, GW_DB_ROUTES, &n), GW_OK);
	assert_int_equal(n, 0);
	/* the whole prefix, newest (highest) key first */
	assert_int_equal(gw_txn_scan_rev(txn, GW_DB_TNS, "+14", 3, NULL, 0,
			     scan_fn, &acc),
	    GW_OK);
	assert_int_equal(acc.n, 3);
	assert_string_equal(acc.seen[0], "+1417");
	assert_string_equal(acc.seen[2], "+1415");
	/* from a key present, and from one absent (starts below it) */
	memset(&acc, 0, sizeof(acc));
	assert_int_equal(gw_txn_scan_rev(txn, GW_DB_TNS, "+14", 3, "+1416", 5,
			     scan_fn, &acc),
	    GW_OK);
	assert_int_equal(acc.n, 2);
	assert_string_equal(acc.seen[0], "+1416");
	memset(&acc, 0, sizeof(acc));
	assert_int_equal(gw_txn_scan_rev(txn, GW_DB_TNS, "+14", 3, "+14165", 6,
			     scan_fn, &acc),
	    GW_OK);
	assert_int_equal(acc.n, 2);
	assert_string_equal(acc.seen[0], "+1416");
	/* everything, from the end; and a from past the last key */
	memset(&acc, 0, sizeof(acc));
	assert_int_equal(gw_txn_scan_rev(txn, GW_DB_TNS, NULL, 0, NULL, 0,
			     scan_fn, &acc),
	    GW_OK);
	assert_int_equal(acc.n, 6);
	assert_string_equal(acc.seen[0], "+443");
	assert_string_equal(acc.seen[5], "+1");
	memset(&acc, 0, sizeof(acc));
	assert_int_equal(gw_txn_scan_rev(txn, GW_DB_TNS, "+44", 3, "+45", 3,
			     scan_fn, &acc),
	    GW_OK);
	assert_int_equal(acc.n, 2);
	/* an empty prefix range */
	memset(&acc, 0, sizeof(acc));
	assert_int_equal(gw_txn_scan_rev(txn, GW_DB_TNS, "+3", 2, NULL, 0,
			     scan_fn, &acc),
	    GW_OK);
	assert_int_equal(acc.n, 0);
	gw_txn_end(txn);
}

#define THREADS 32
#define PER     40

struct writer_arg {
	struct gw_store *st;
	int              base;
	int              errors;
};

static int
counter_fn(struct gw_txn *txn, void *arg)
{
	uint64_t id;

	(void) arg;
	return gw_txn_next_id(txn, "counter", &id);
}

static void *
writer_main(void *p)
{
	struct writer_arg *w = p;

	for (int i = 0; i < PER; i++)
		if (gw_store_write(w->st, counter_fn, NULL) != GW_OK)
			w->errors++;
	return NULL;
}

static void
test_store_group_commit_batches(void **state)
{
	struct fx            *fx = *state;
	pthread_t             t[THREADS];
	struct writer_arg     w[THREADS];
	struct gw_store_stats stats;
	uint64_t              last;

	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct writer_arg) { fx->st, i, 0 };
		pthread_create(&t[i], NULL, writer_main, &w[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].errors, 0);
	}
	gw_store_stats(fx->st, &stats);
	assert_int_equal(stats.writes, THREADS * PER);
	/* concurrent writers shared commits */
	assert_true(stats.commits < stats.writes);
	assert_true(stats.max_batch > 1);
	/* every increment landed exactly once */
	assert_int_equal(gw_store_write(fx->st, counter_fn, NULL), GW_OK);
	{
		struct gw_txn *txn;
		const void    *v;
		size_t         n;

		assert_int_equal(gw_store_read(fx->st, &txn), GW_OK);
		assert_int_equal(gw_txn_get_raw(txn, GW_DB_META, "counter", 7,
				     &v, &n),
		    GW_OK);
		last = gw_key_get_u64(v);
		gw_txn_end(txn);
	}
	assert_int_equal(last, THREADS * PER + 1);
}

static int
fail_fn(struct gw_txn *txn, void *arg)
{
	uint64_t id;

	(void) arg;
	/* writes, then fails: the write must be rolled back */
	assert_int_equal(gw_txn_next_id(txn, "counter", &id), GW_OK);
	return GW_EINVAL;
}

static uint64_t
counter_value(struct gw_store *st)
{
	struct gw_txn *txn;
	const void    *v;
	size_t         n;
	uint64_t       last = 0;

	assert_int_equal(gw_store_read(st, &txn), GW_OK);
	if (gw_txn_get_raw(txn, GW_DB_META, "counter", 7, &v, &n) == GW_OK)
		last = gw_key_get_u64(v);
	gw_txn_end(txn);
	return last;
}

#define MANY 10

static void *
many_main(void *p)
{
	struct writer_arg *w = p;

	for (int i = 0; i < PER; i++) {
		struct gw_write ws[MANY];

		for (int j = 0; j < MANY; j++)
			ws[j] = (struct gw_write) { counter_fn, NULL, -1 };
		if (gw_store_write_many(w->st, ws, MANY) != GW_OK)
			w->errors++;
		for (int j = 0; j < MANY; j++)
			if (ws[j].rc != GW_OK)
				w->errors++;
	}
	return NULL;
}

/* gw_store_write_many: each write has its own outcome (one failing rolls
 * back only itself), and callers queuing many writes at once mix with
 * callers queuing one, every write landing exactly once. */
static void
test_store_write_many(void **state)
{
	struct fx        *fx = *state;
	struct gw_write   ws[5];
	pthread_t         t[THREADS];
	struct writer_arg w[THREADS];

	for (int i = 0; i < 5; i++)
		ws[i] = (struct gw_write) { i == 2 ? fail_fn : counter_fn, NULL,
			-1 };
	assert_int_equal(gw_store_write_many(fx->st, ws, 5), GW_OK);
	for (int i = 0; i < 5; i++)
		assert_int_equal(ws[i].rc, i == 2 ? GW_EINVAL : GW_OK);
	assert_int_equal(counter_value(fx->st), 4);
	assert_int_equal(gw_store_write_many(fx->st, ws, 0), GW_OK);

	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct writer_arg) { fx->st, i, 0 };
		pthread_create(&t[i], NULL, i % 2 ? many_main : writer_main,
		    &w[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].errors, 0);
	}
	assert_int_equal(counter_value(fx->st),
	    4 + (THREADS / 2) * PER * (MANY + 1));
}

#define BIG (1u << 20)

static int
big_fn(struct gw_txn *txn, void *arg)
{
	static uint8_t val[BIG];
	int           *n = arg;

	for (int i = 0; i < *n; i++) {
		uint8_t k[8];
		int     rc;

		gw_key_put_u64(k, (uint64_t) i);
		memset(val, i, sizeof(val));
		if ((rc = gw_txn_put_raw(txn, GW_DB_MESSAGES, k, 8, val,
			 sizeof(val), 0)) != GW_OK)
			return rc;
	}
	return GW_OK;
}

static void
test_store_map_grows(void **state)
{
	struct fx            *fx = *state;
	struct gw_store_stats stats;
	struct gw_txn        *txn;
	const void           *v;
	size_t                n;
	int                   count = 100; /* 100 MiB > the 64 MiB map */
	uint8_t               k[8];

	assert_int_equal(gw_store_write(fx->st, big_fn, &count), GW_OK);
	gw_store_stats(fx->st, &stats);
	assert_true(stats.map_grows >= 1);
	assert_true(stats.map_size >= 128ull << 20);
	assert_int_equal(gw_store_read(fx->st, &txn), GW_OK);
	gw_key_put_u64(k, 99);
	assert_int_equal(gw_txn_get_raw(txn, GW_DB_MESSAGES, k, 8, &v, &n),
	    GW_OK);
	assert_int_equal(n, BIG);
	assert_int_equal(((const uint8_t *) v)[BIG - 1], 99);
	gw_txn_end(txn);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_store_put_get_dup, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_store_failed_fn_rolls_back,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_undecodable_record,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_sequences_persist,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_scan_prefix_and_from,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_scan_rev_and_count,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_group_commit_batches,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_write_many, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_store_map_grows, setup,
		    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
