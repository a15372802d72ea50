/*
 * store.c - the LMDB store and its group commit.
 *
 * Callers of gw_store_write() queue a request. When no commit is running,
 * the caller becomes the leader: it takes everything queued, runs each
 * function in a nested transaction of a single parent, commits the parent
 * once (one fsync for the whole batch) and wakes the callers it committed
 * for. Whoever queued meanwhile waits; when the leader is done it hands
 * the lead to the first of them, which commits the next batch. Under load
 * the batch grows by itself, so durable throughput scales with the number
 * of concurrent writers instead of being capped at the disk's fsync rate,
 * and no thread hand-off is spent on a writer thread.
 *
 * Growing the map needs every transaction of the process closed, so reads
 * hold a shared lock for their lifetime and the leader takes it
 * exclusively for the resize.
 */
#include "gw/store.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#include "gw/err.h"
#include "gw/log.h"

#define MAP_SIZE_INITIAL (64ULL << 20)
#define BATCH_MAX        4096

static const char *const db_names[GW_DB_COUNT] = {
	[GW_DB_META]          = "meta",
	[GW_DB_CLIENTS]       = "clients",
	[GW_DB_LEDGER]        = "ledger",
	[GW_DB_API_KEYS]      = "api_keys",
	[GW_DB_KEY_HASHES]    = "api_key_hashes",
	[GW_DB_ACCOUNTS]      = "accounts",
	[GW_DB_ROUTES]        = "routes",
	[GW_DB_TNS]           = "tns",
	[GW_DB_MESSAGES]      = "messages",
	[GW_DB_MSG_BY_CLIENT] = "messages_by_client",
	[GW_DB_OUTBOX]        = "outbox",
	[GW_DB_IDEMPOTENCY]   = "idempotency",
	[GW_DB_MSG_BY_UPSTREAM] = "messages_by_upstream",
	[GW_DB_INBOUND]       = "inbound",
	[GW_DB_INBOUND_BY_SID] = "inbound_by_sid",
	[GW_DB_INBOUND_BY_CLIENT] = "inbound_by_client",
	[GW_DB_EVENTS]        = "events",
	[GW_DB_EVENT_IDS]     = "event_ids",
	[GW_DB_EVENT_QUEUE]   = "event_queue",
	[GW_DB_REQUESTS]      = "requests",
};

/* A caller waiting for its writes: one per gw_store_write_many() call,
 * on the caller's stack, woken only for its own writes. */
struct waiter {
	pthread_cond_t cv;
	bool           lead; /* handed the lead: commit the next batch */
};

struct wreq {
	struct gw_write *w;
	struct waiter   *waiter;
	bool             done;
	bool             last; /* the caller's last write: wake it */
	struct wreq     *next;
};

struct gw_store {
	MDB_env         *env;
	MDB_dbi          dbi[GW_DB_COUNT];
	pthread_rwlock_t resize_lock; /* shared: open read txns */

	pthread_mutex_t mu;
	pthread_cond_t  idle_cv; /* signalled when a leader gives up */
	struct wreq    *head, *tail;
	bool            leading; /* a commit is running */
	bool            stopping;

	struct gw_store_stats stats; /* under mu */
};

struct gw_txn {
	struct gw_store *st;
	MDB_txn         *txn;
	bool             rdonly;
	bool             map_full; /* a put hit MDB_MAP_FULL */
};

void
gw_key_put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t) v;
}

uint64_t
gw_key_get_u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static int
store_err(const char *what, int rc)
{
	if (rc == MDB_NOTFOUND)
		return GW_ENOTFOUND;
	if (rc == MDB_KEYEXIST)
		return GW_EEXIST;
	if (rc == ENOMEM)
		return GW_ENOMEM;
	gw_error("store", "%s: %s", what, mdb_strerror(rc));
	return GW_ESTORE;
}

/* ---- group commit ---------------------------------------------------- */

static int
grow_map(struct gw_store *st)
{
	MDB_envinfo info;
	int         rc;

	pthread_rwlock_wrlock(&st->resize_lock);
	mdb_env_info(st->env, &info);
	rc = mdb_env_set_mapsize(st->env, info.me_mapsize * 2);
	pthread_rwlock_unlock(&st->resize_lock);
	if (rc != 0)
		return store_err("grow map", rc);
	pthread_mutex_lock(&st->mu);
	st->stats.map_size = info.me_mapsize * 2;
	st->stats.map_grows++;
	pthread_mutex_unlock(&st->mu);
	gw_info("store", "map grown to %llu MiB",
	    (unsigned long long) (info.me_mapsize * 2) >> 20);
	return GW_OK;
}

/* run_batch runs every request of the batch in one transaction. Returns
 * GW_OK when committed, GW_EAGAIN-like 1 when the map had to grow (the
 * caller runs it again), or a store error that fails the whole batch. */
static int
run_batch(struct gw_store *st, struct wreq *batch)
{
	struct gw_txn parent = { .st = st };
	int           rc;

	rc = mdb_txn_begin(st->env, NULL, 0, &parent.txn);
	if (rc == MDB_MAP_RESIZED) {
		mdb_env_set_mapsize(st->env, 0);
		rc = mdb_txn_begin(st->env, NULL, 0, &parent.txn);
	}
	if (rc != 0)
		return store_err("begin write", rc);
	for (struct wreq *r = batch; r != NULL; r = r->next) {
		struct gw_txn child = { .st = st };

		rc = mdb_txn_begin(st->env, parent.txn, 0, &child.txn);
		if (rc != 0) {
			mdb_txn_abort(parent.txn);
			return store_err("begin nested", rc);
		}
		r->w->rc = r->w->fn(&child, r->w->arg);
		if (child.map_full) {
			mdb_txn_abort(child.txn);
			mdb_txn_abort(parent.txn);
			return 1;
		}
		if (r->w->rc == GW_OK) {
			rc = mdb_txn_commit(child.txn);
			if (rc == MDB_MAP_FULL) {
				mdb_txn_abort(parent.txn);
				return 1;
			}
			if (rc != 0)
				r->w->rc = store_err("commit nested", rc);
		} else {
			mdb_txn_abort(child.txn);
		}
	}
	rc = mdb_txn_commit(parent.txn);
	if (rc == MDB_MAP_FULL)
		return 1;
	if (rc != 0)
		return store_err("commit", rc);
	return GW_OK;
}

/* lead commits batches until self (the leader's last write) is done,
 * then hands the lead on; called and returns with st->mu held. */
static void
lead(struct gw_store *st, struct wreq *self)
{
	while (!self->done) {
		struct wreq *batch, *last, *next;
		uint64_t     n;
		int          rc;

		/* take up to BATCH_MAX queued requests */
		batch = last = st->head;
		for (n = 1; n < BATCH_MAX && last->next != NULL; n++)
			last = last->next;
		st->head = last->next;
		if (st->head == NULL)
			st->tail = NULL;
		last->next = NULL;
		pthread_mutex_unlock(&st->mu);

		while ((rc = run_batch(st, batch)) == 1)
			if ((rc = grow_map(st)) != GW_OK)
				break;

		pthread_mutex_lock(&st->mu);
		for (struct wreq *r = batch; r != NULL; r = next) {
			next = r->next; /* r lives on its caller's stack */
			if (rc != GW_OK)
				r->w->rc = rc;
			r->done = true;
			if (r->last && r != self)
				pthread_cond_signal(&r->waiter->cv);
		}
		if (rc == GW_OK) {
			st->stats.commits++;
			st->stats.writes += n;
			if (n > st->stats.max_batch)
				st->stats.max_batch = n;
		}
	}
	if (st->head != NULL) {
		st->head->waiter->lead = true;
		pthread_cond_signal(&st->head->waiter->cv);
	} else {
		st->leading = false;
		pthread_cond_broadcast(&st->idle_cv);
	}
}

int
gw_store_write_many(struct gw_store *st, struct gw_write *w, size_t n)
{
	struct wreq   one, *r = &one;
	struct waiter me    = { .lead = false };

	if (n == 0)
		return GW_OK;
	if (n > 1 && (r = calloc(n, sizeof(*r))) == NULL)
		return GW_ENOMEM;
	pthread_cond_init(&me.cv, NULL);
	for (size_t i = 0; i < n; i++)
		r[i] = (struct wreq) { .w = &w[i], .waiter = &me,
			.next = i + 1 < n ? &r[i + 1] : NULL };
	r[n - 1].last = true;
	pthread_mutex_lock(&st->mu);
	if (st->stopping) {
		pthread_mutex_unlock(&st->mu);
		for (size_t i = 0; i < n; i++)
			w[i].rc = GW_EUNAVAIL;
	} else {
		if (st->tail != NULL)
			st->tail->next = r;
		else
			st->head = r;
		st->tail = &r[n - 1];
		/* batches are taken in queue order: the last write done
		 * means all of them are */
		if (!st->leading) {
			st->leading = true;
			lead(st, &r[n - 1]);
		} else {
			while (!r[n - 1].done) {
				if (me.lead) {
					me.lead = false;
					lead(st, &r[n - 1]);
				} else {
					pthread_cond_wait(&me.cv, &st->mu);
				}
			}
		}
		pthread_mutex_unlock(&st->mu);
	}
	pthread_cond_destroy(&me.cv);
	if (r != &one)
		free(r);
	return GW_OK;
}

int
gw_store_write(struct gw_store *st, gw_write_fn fn, void *arg)
{
	struct gw_write w = { .fn = fn, .arg = arg };
	int             rc;

	if ((rc = gw_store_write_many(st, &w, 1)) != GW_OK)
		return rc;
	return w.rc;
}

/* ---- open / close ---------------------------------------------------- */

int
gw_store_open(const char *dir, struct gw_store **out)
{
	struct gw_store *st;
	MDB_txn         *txn;
	MDB_envinfo      info;
	int              rc;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return GW_ENOMEM;
	pthread_rwlock_init(&st->resize_lock, NULL);
	pthread_mutex_init(&st->mu, NULL);
	pthread_cond_init(&st->idle_cv, NULL);

	if ((rc = mdb_env_create(&st->env)) != 0)
		goto fail_env;
	mdb_env_set_maxdbs(st->env, GW_DB_COUNT + 4);
	mdb_env_set_maxreaders(st->env, 1024);
	mdb_env_set_mapsize(st->env, MAP_SIZE_INITIAL);
	/* MDB_NOTLS: read snapshots are not tied to threads. Durability is
	 * LMDB's default: every commit is fsynced. */
	rc = mdb_env_open(st->env, dir, MDB_NOTLS, 0600);
	if (rc != 0)
		goto fail_open;
	/* an existing environment may be larger than the initial size */
	mdb_env_info(st->env, &info);
	st->stats.map_size = info.me_mapsize;

	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0)
		goto fail_open;
	for (int i = 0; i < GW_DB_COUNT; i++) {
		if ((rc = mdb_dbi_open(txn, db_names[i], MDB_CREATE,
			 &st->dbi[i])) != 0) {
			mdb_txn_abort(txn);
			goto fail_open;
		}
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		goto fail_open;
	gw_info("store", "opened %s (map %llu MiB)", dir,
	    (unsigned long long) info.me_mapsize >> 20);
	*out = st;
	return GW_OK;

fail_open:
	mdb_env_close(st->env);
fail_env:
	rc = store_err("open", rc);
	free(st);
	return rc;
}

void
gw_store_close(struct gw_store *st)
{
	if (st == NULL)
		return;
	/* refuse new writes, let the current leader finish */
	pthread_mutex_lock(&st->mu);
	st->stopping = true;
	while (st->leading)
		pthread_cond_wait(&st->idle_cv, &st->mu);
	pthread_mutex_unlock(&st->mu);
	mdb_env_close(st->env);
	pthread_rwlock_destroy(&st->resize_lock);
	pthread_mutex_destroy(&st->mu);
	pthread_cond_destroy(&st->idle_cv);
	free(st);
}

void
gw_store_stats(struct gw_store *st, struct gw_store_stats *out)
{
	pthread_mutex_lock(&st->mu);
	*out = st->stats;
	pthread_mutex_unlock(&st->mu);
}

/* ---- transactions ---------------------------------------------------- */

int
gw_store_read(struct gw_store *st, struct gw_txn **out)
{
	struct gw_txn *t;
	int            rc;

	if ((t = malloc(sizeof(*t))) == NULL)
		return GW_ENOMEM;
	*t = (struct gw_txn) { .st = st, .rdonly = true };
	pthread_rwlock_rdlock(&st->resize_lock);
	rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &t->txn);
	if (rc == MDB_MAP_RESIZED) {
		mdb_env_set_mapsize(st->env, 0);
		rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &t->txn);
	}
	if (rc != 0) {
		pthread_rwlock_unlock(&st->resize_lock);
		free(t);
		return store_err("begin read", rc);
	}
	*out = t;
	return GW_OK;
}

void
gw_txn_end(struct gw_txn *txn)
{
	if (txn == NULL)
		return;
	GW_ASSERT(txn->rdonly);
	mdb_txn_abort(txn->txn);
	pthread_rwlock_unlock(&txn->st->resize_lock);
	free(txn);
}

int
gw_txn_get_raw(struct gw_txn *txn, enum gw_db db, const void *key,
    size_t klen, const void **val, size_t *vlen)
{
	MDB_val k = { klen, (void *) key }, v;
	int     rc;

	GW_ASSERT(db < GW_DB_COUNT);
	if ((rc = mdb_get(txn->txn, txn->st->dbi[db], &k, &v)) != 0)
		return store_err("get", rc);
	*val  = v.mv_data;
	*vlen = v.mv_size;
	return GW_OK;
}

int
gw_txn_put_raw(struct gw_txn *txn, enum gw_db db, const void *key,
    size_t klen, const void *val, size_t vlen, unsigned flags)
{
	MDB_val k = { klen, (void *) key }, v = { vlen, (void *) val };
	int     rc;

	GW_ASSERT(db < GW_DB_COUNT && !txn->rdonly);
	rc = mdb_put(txn->txn, txn->st->dbi[db], &k, &v,
	    (flags & GW_PUT_NOOVERWRITE) ? MDB_NOOVERWRITE : 0);
	if (rc == MDB_MAP_FULL) {
		txn->map_full = true;
		return GW_ESTORE;
	}
	if (rc != 0)
		return store_err("put", rc);
	return GW_OK;
}

int
gw_txn_del(struct gw_txn *txn, enum gw_db db, const void *key, size_t klen)
{
	MDB_val k = { klen, (void *) key };
	int     rc;

	GW_ASSERT(db < GW_DB_COUNT && !txn->rdonly);
	if ((rc = mdb_del(txn->txn, txn->st->dbi[db], &k, NULL)) != 0)
		return store_err("del", rc);
	return GW_OK;
}

int
gw_txn_get(struct gw_txn *txn, enum gw_db db, const void *key, size_t klen,
    const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out)
{
	const void       *val;
	size_t            vlen;
	ProtobufCMessage *m;
	int               rc;

	if ((rc = gw_txn_get_raw(txn, db, key, klen, &val, &vlen)) != GW_OK)
		return rc;
	m = protobuf_c_message_unpack(desc, NULL, vlen, val);
	if (m == NULL) {
		gw_error("store", "undecodable %s record in %s", desc->name,
		    db_names[db]);
		return GW_ESTORE;
	}
	*out = m;
	return GW_OK;
}

int
gw_txn_put(struct gw_txn *txn, enum gw_db db, const void *key, size_t klen,
    const ProtobufCMessage *msg, unsigned flags)
{
	uint8_t  stackbuf[512];
	uint8_t *buf = stackbuf;
	size_t   n   = protobuf_c_message_get_packed_size(msg);
	int      rc;

	if (n > sizeof(stackbuf) && (buf = malloc(n)) == NULL)
		return GW_ENOMEM;
	protobuf_c_message_pack(msg, buf);
	rc = gw_txn_put_raw(txn, db, key, klen, buf, n, flags);
	if (buf != stackbuf)
		free(buf);
	return rc;
}

int
gw_txn_scan(struct gw_txn *txn, enum gw_db db, const void *prefix,
    size_t plen, const void *from, size_t flen, gw_scan_fn fn, void *arg)
{
	MDB_cursor *cur;
	MDB_val     k, v;
	int         rc, op = MDB_SET_RANGE;

	GW_ASSERT(db < GW_DB_COUNT);
	if ((rc = mdb_cursor_open(txn->txn, txn->st->dbi[db], &cur)) != 0)
		return store_err("cursor", rc);
	if (from == NULL) {
		from = prefix;
		flen = plen;
	}
	k.mv_size = flen;
	k.mv_data = (void *) from;
	if (flen == 0)
		op = MDB_FIRST;
	for (;;) {
		rc = mdb_cursor_get(cur, &k, &v, op);
		op = MDB_NEXT;
		if (rc == MDB_NOTFOUND) {
			rc = GW_OK;
			break;
		}
		if (rc != 0) {
			rc = store_err("cursor get", rc);
			break;
		}
		if (plen > 0 && (k.mv_size < plen ||
				     memcmp(k.mv_data, prefix, plen) != 0)) {
			rc = GW_OK;
			break;
		}
		rc = fn(k.mv_data, k.mv_size, v.mv_data, v.mv_size, arg);
		if (rc != 0) {
			if (rc == 1)
				rc = GW_OK;
			break;
		}
	}
	mdb_cursor_close(cur);
	return rc;
}

/* key_cmp orders keys as LMDB's default comparison does: bytes, then
 * length. */
static int
key_cmp(const MDB_val *k, const void *b, size_t blen)
{
	size_t n  = k->mv_size < blen ? k->mv_size : blen;
	int    rc = n > 0 ? memcmp(k->mv_data, b, n) : 0;

	if (rc != 0)
		return rc;
	return k->mv_size < blen ? -1 : k->mv_size > blen;
}

/* rev_start puts cur on the last key <= from, or on the last key of all
 * when from is NULL. Returns 0, MDB_NOTFOUND or an LMDB error. */
static int
rev_start(MDB_cursor *cur, const void *from, size_t flen, MDB_val *k,
    MDB_val *v)
{
	int rc;

	if (from == NULL)
		return mdb_cursor_get(cur, k, v, MDB_LAST);
	k->mv_size = flen;
	k->mv_data = (void *) from;
	rc         = mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
	if (rc == MDB_NOTFOUND)
		return mdb_cursor_get(cur, k, v, MDB_LAST);
	if (rc == 0 && key_cmp(k, from, flen) > 0)
		return mdb_cursor_get(cur, k, v, MDB_PREV);
	return rc;
}

int
gw_txn_scan_rev(struct gw_txn *txn, enum gw_db db, const void *prefix,
    size_t plen, const void *from, size_t flen, gw_scan_fn fn, void *arg)
{
	MDB_cursor *cur;
	MDB_val     k, v;
	uint8_t     succ[64];
	size_t      slen = 0;
	int         rc;

	GW_ASSERT(db < GW_DB_COUNT && plen <= sizeof(succ));
	if ((rc = mdb_cursor_open(txn->txn, txn->st->dbi[db], &cur)) != 0)
		return store_err("cursor", rc);
	if (from == NULL && plen > 0) {
		/* the last key with the prefix is the one before the
		 * prefix's successor (the prefix + 1, carries dropped) */
		memcpy(succ, prefix, plen);
		for (slen = plen; slen > 0 && succ[slen - 1] == 0xff; slen--)
			;
		if (slen > 0) {
			succ[slen - 1]++;
			k.mv_size = slen;
			k.mv_data = succ;
			rc        = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
			if (rc == MDB_NOTFOUND)
				rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
			else if (rc == 0)
				rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
		}
	}
	if (slen == 0)
		rc = rev_start(cur, from, flen, &k, &v);
	for (;;) {
		if (rc == MDB_NOTFOUND) {
			rc = GW_OK;
			break;
		}
		if (rc != 0) {
			rc = store_err("cursor get", rc);
			break;
		}
		if (plen > 0 && (k.mv_size < plen ||
				     memcmp(k.mv_data, prefix, plen) != 0)) {
			/* below the prefix: done; above it (from past the
			 * prefix's range): keep stepping back */
			if (key_cmp(&k, prefix, plen) < 0) {
				rc = GW_OK;
				break;
			}
			rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
			continue;
		}
		rc = fn(k.mv_data, k.mv_size, v.mv_data, v.mv_size, arg);
		if (rc != 0) {
			if (rc == 1)
				rc = GW_OK;
			break;
		}
		rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
	}
	mdb_cursor_close(cur);
	return rc;
}

int
gw_txn_count(struct gw_txn *txn, enum gw_db db, uint64_t *out)
{
	MDB_stat s;
	int      rc;

	GW_ASSERT(db < GW_DB_COUNT);
	if ((rc = mdb_stat(txn->txn, txn->st->dbi[db], &s)) != 0)
		return store_err("stat", rc);
	*out = s.ms_entries;
	return GW_OK;
}

int
gw_txn_next_id(struct gw_txn *txn, const char *seq, uint64_t *out)
{
	const void *val;
	size_t      vlen;
	uint8_t     buf[8];
	uint64_t    next = 1;
	int         rc;

	GW_ASSERT(!txn->rdonly);
	rc = gw_txn_get_raw(txn, GW_DB_META, seq, strlen(seq), &val, &vlen);
	if (rc == GW_OK && vlen == 8)
		next = gw_key_get_u64(val) + 1;
	else if (rc != GW_OK && rc != GW_ENOTFOUND)
		return rc;
	gw_key_put_u64(buf, next);
	rc = gw_txn_put_raw(txn, GW_DB_META, seq, strlen(seq), buf, 8, 0);
	if (rc != GW_OK)
		return rc;
	*out = next;
	return GW_OK;
}
