/*
 * router.c - the compiled rule table.
 *
 * Readers share the table under a read lock; a stale generation makes the
 * next reader rebuild it from a store snapshot. Matching uses per-thread
 * match data and a match limit, so a pathological pattern costs a bounded
 * number of steps and fails closed (treated as no match, logged).
 */
#include "gw/router.h"

#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "gw/err.h"
#include "gw/log.h"
#include "gw/store.h"
#include "relay/v1/records.pb-c.h"

#define MATCH_LIMIT 100000
#define DEPTH_LIMIT 1000

struct rule {
	uint64_t    id;
	int32_t     priority;
	uint64_t    account_id;
	int64_t     price_micros;
	pcre2_code *code;
};

struct gw_router {
	struct gw_store      *st;
	pthread_rwlock_t      lock;
	atomic_uint_fast64_t  want_gen; /* bumped by invalidate */
	uint64_t              have_gen; /* under lock */
	bool                  loaded;
	struct rule          *rules;
	size_t                n;
	pcre2_match_context  *mctx;
};

/* one match data per thread, freed when the thread exits */
static pthread_key_t  md_key;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void
md_free(void *md)
{
	pcre2_match_data_free(md);
}

static void
md_key_init(void)
{
	pthread_key_create(&md_key, md_free);
}

static pcre2_match_data *
thread_match_data(void)
{
	pcre2_match_data *md;

	pthread_once(&md_once, md_key_init);
	if ((md = pthread_getspecific(md_key)) == NULL &&
	    (md = pcre2_match_data_create(4, NULL)) != NULL)
		pthread_setspecific(md_key, md);
	return md;
}

static pcre2_code *
compile(const char *pattern, char *err, size_t errlen)
{
	int         ec;
	PCRE2_SIZE  off;
	pcre2_code *code;

	code = pcre2_compile((PCRE2_SPTR) pattern, PCRE2_ZERO_TERMINATED,
	    PCRE2_UTF, &ec, &off, NULL);
	if (code == NULL) {
		PCRE2_UCHAR msg[160];

		pcre2_get_error_message(ec, msg, sizeof(msg));
		if (err != NULL)
			snprintf(err, errlen, "invalid pattern at offset %zu: %s",
			    (size_t) off, (char *) msg);
		return NULL;
	}
	pcre2_jit_compile(code, PCRE2_JIT_COMPLETE); /* best effort */
	return code;
}

int
gw_pattern_check(const char *pattern, char *err, size_t errlen)
{
	pcre2_code *code;

	if (pattern == NULL || pattern[0] == '\0') {
		snprintf(err, errlen, "pattern is required");
		return GW_EINVAL;
	}
	if (strlen(pattern) > GW_PATTERN_MAX) {
		snprintf(err, errlen, "pattern longer than %d characters",
		    GW_PATTERN_MAX);
		return GW_EINVAL;
	}
	if ((code = compile(pattern, err, errlen)) == NULL)
		return GW_EINVAL;
	pcre2_code_free(code);
	return GW_OK;
}

int
gw_router_new(struct gw_store *st, struct gw_router **out)
{
	struct gw_router *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return GW_ENOMEM;
	r->st = st;
	pthread_rwlock_init(&r->lock, NULL);
	atomic_init(&r->want_gen, 1);
	if ((r->mctx = pcre2_match_context_create(NULL)) == NULL) {
		free(r);
		return GW_ENOMEM;
	}
	pcre2_set_match_limit(r->mctx, MATCH_LIMIT);
	pcre2_set_depth_limit(r->mctx, DEPTH_LIMIT);
	*out = r;
	return GW_OK;
}

static void
free_rules(struct rule *rules, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pcre2_code_free(rules[i].code);
	free(rules);
}

void
gw_router_free(struct gw_router *r)
{
	if (r == NULL)
		return;
	free_rules(r->rules, r->n);
	pcre2_match_context_free(r->mctx);
	pthread_rwlock_destroy(&r->lock);
	free(r);
}

void
gw_router_invalidate(struct gw_router *r)
{
	atomic_fetch_add(&r->want_gen, 1);
}

struct load {
	struct rule *rules;
	size_t       n, cap;
	int          err;
};

static int
load_one(const void *key, size_t klen, const void *val, size_t vlen,
    void *arg)
{
	struct load      *l = arg;
	Relay__V1__Route *rt;
	char              err[200];

	(void) key;
	(void) klen;
	rt = relay__v1__route__unpack(NULL, vlen, val);
	if (rt == NULL)
		return GW_ESTORE;
	if (rt->enabled) {
		if (l->n == l->cap) {
			size_t       cap = l->cap ? l->cap * 2 : 16;
			struct rule *nr  = realloc(l->rules, cap * sizeof(*nr));

			if (nr == NULL) {
				relay__v1__route__free_unpacked(rt, NULL);
				return GW_ENOMEM;
			}
			l->rules = nr;
			l->cap   = cap;
		}
		l->rules[l->n] = (struct rule) {
			.id           = rt->id,
			.priority     = rt->priority,
			.account_id   = rt->account_id,
			.price_micros = rt->price_micros,
			.code         = compile(rt->pattern, err, sizeof(err)),
		};
		if (l->rules[l->n].code == NULL)
			gw_warn("router", "route %llu skipped: %s",
			    (unsigned long long) rt->id, err);
		else
			l->n++;
	}
	relay__v1__route__free_unpacked(rt, NULL);
	return 0;
}

static int
rule_cmp(const void *a, const void *b)
{
	const struct rule *x = a, *y = b;

	if (x->priority != y->priority)
		return x->priority > y->priority ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* reload runs with the write lock held. */
static int
reload(struct gw_router *r, uint64_t gen)
{
	struct gw_txn *txn;
	struct load    l = { 0 };
	int            rc;

	if ((rc = gw_store_read(r->st, &txn)) != GW_OK)
		return rc;
	rc = gw_txn_scan(txn, GW_DB_ROUTES, NULL, 0, NULL, 0, load_one, &l);
	gw_txn_end(txn);
	if (rc != GW_OK) {
		free_rules(l.rules, l.n);
		return rc;
	}
	if (l.n > 1)
		qsort(l.rules, l.n, sizeof(*l.rules), rule_cmp);
	free_rules(r->rules, r->n);
	r->rules    = l.rules;
	r->n        = l.n;
	r->have_gen = gen;
	r->loaded   = true;
	gw_debug("router", "loaded %zu enabled rules", l.n);
	return GW_OK;
}

int
gw_router_match(struct gw_router *r, const char *number,
    struct gw_route_match *out)
{
	uint64_t          gen = atomic_load(&r->want_gen);
	pcre2_match_data *md  = thread_match_data();
	int               rc  = GW_ENOROUTE;

	if (md == NULL)
		return GW_ENOMEM;
	pthread_rwlock_rdlock(&r->lock);
	if (!r->loaded || r->have_gen != gen) {
		pthread_rwlock_unlock(&r->lock);
		pthread_rwlock_wrlock(&r->lock);
		if (!r->loaded || r->have_gen != gen)
			rc = reload(r, gen);
		else
			rc = GW_OK;
		pthread_rwlock_unlock(&r->lock);
		if (rc != GW_OK)
			return rc;
		rc = GW_ENOROUTE;
		pthread_rwlock_rdlock(&r->lock);
	}
	for (size_t i = 0; i < r->n; i++) {
		int m = pcre2_match(r->rules[i].code, (PCRE2_SPTR) number,
		    PCRE2_ZERO_TERMINATED, 0, 0, md, r->mctx);

		if (m >= 0) {
			*out = (struct gw_route_match) {
				.route_id     = r->rules[i].id,
				.account_id   = r->rules[i].account_id,
				.price_micros = r->rules[i].price_micros,
			};
			rc = GW_OK;
			break;
		}
		if (m != PCRE2_ERROR_NOMATCH)
			gw_warn("router", "route %llu: match error %d, skipped",
			    (unsigned long long) r->rules[i].id, m);
	}
	pthread_rwlock_unlock(&r->lock);
	return rc;
}
