/*
 * gw/store.h - Relay's state: one LMDB environment, one named database per
 * entity, protobuf-encoded values, fixed-width big-endian keys.
 *
 * Writes: gw_store_write() queues a function; one caller at a time (the
 * leader) runs the functions of every caller waiting at that moment in one
 * transaction, each in a nested transaction of its own (a failing function
 * rolls back only itself), then commits once with one fsync (group
 * commit). gw_store_write() returns when the commit is on disk.
 * Reads: gw_store_read() opens a read-only snapshot; many run in parallel.
 * The map grows by itself: a write that hits MDB_MAP_FULL is retried after
 * the map is doubled.
 *
 * Handlers see this interface only, never LMDB itself.
 */
#ifndef GW_STORE_H
#define GW_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

struct gw_store;
struct gw_txn;

enum gw_db {
	GW_DB_META,         /* sequences and singletons, keyed by name */
	GW_DB_CLIENTS,      /* u64 id -> ClientRecord */
	GW_DB_LEDGER,       /* u64 client id, u64 seq -> LedgerEntry */
	GW_DB_API_KEYS,     /* u64 id -> ApiKeyRecord */
	GW_DB_KEY_HASHES,   /* sha256 -> u64 key id */
	GW_DB_ACCOUNTS,     /* u64 id -> AccountRecord */
	GW_DB_ROUTES,       /* u64 id -> Route */
	GW_DB_TNS,          /* E.164 string -> Tn */
	GW_DB_MESSAGES,     /* u64 id -> MessageRecord */
	GW_DB_MSG_BY_CLIENT,/* u64 client, i64 ms, u64 id -> (empty) */
	GW_DB_OUTBOX,       /* i64 due ms, u64 id -> OutboxEntry */
	GW_DB_IDEMPOTENCY,  /* u64 client, sha256(key) -> IdempotencyRecord */
	GW_DB_MSG_BY_UPSTREAM, /* provider's message sid -> u64 message id */
	GW_DB_INBOUND,      /* u64 ~id (newest first) -> InboundMessage */
	GW_DB_INBOUND_BY_SID,    /* provider's MessageSid -> u64 inbound id */
	GW_DB_INBOUND_BY_CLIENT, /* u64 client, u64 ~id -> (empty) */
	GW_DB_EVENTS,       /* u64 seq -> WebhookEvent */
	GW_DB_EVENT_IDS,    /* event id ("evt_...") -> u64 seq */
	GW_DB_EVENT_QUEUE,  /* i64 due ms, u64 seq -> (empty): pending events */
	GW_DB_REQUESTS,     /* i64 deadline ms, u64 request id, u64 client ->
	                       IdempotencyRecord: Sends without a key */
	GW_DB_COUNT
};

#define GW_PUT_NOOVERWRITE 0x1 /* GW_EEXIST if the key is present */

struct gw_store_stats {
	uint64_t commits;      /* durable commits */
	uint64_t writes;       /* write functions run */
	uint64_t max_batch;    /* most functions in one commit */
	uint64_t map_size;     /* bytes */
	uint64_t map_grows;
};

/* gw_store_open opens (creating) the environment in dir, which must
 * exist. Returns GW_OK, GW_ESTORE or GW_ENOMEM. */
int gw_store_open(const char *dir, struct gw_store **out);

/* gw_store_close refuses new writes (after the running commit ends) and
 * closes the environment. Accepts NULL. No reads may be open. */
void gw_store_close(struct gw_store *st);

void gw_store_stats(struct gw_store *st, struct gw_store_stats *out);

/* A write function runs inside a nested transaction on the thread that
 * leads the commit, which may be another caller's: it must not use
 * thread-local state.
 * It may be run more than once (after a map resize), so its only effects
 * must be on txn and on its own arg. Returning anything but GW_OK rolls
 * its changes back, and gw_store_write() returns that value. */
typedef int (*gw_write_fn)(struct gw_txn *txn, void *arg);

/* gw_store_write runs fn(txn, arg) in the next group commit and returns
 * fn's result once the commit is durable (GW_ESTORE if the commit
 * failed). Thread-safe; blocks the caller. */
int gw_store_write(struct gw_store *st, gw_write_fn fn, void *arg);

/* gw_store_write_many queues n writes at once, in order, and waits once
 * for all of them: each runs in its own nested transaction (one failing
 * rolls back only itself) and may share a commit with other callers' or
 * be split across consecutive commits. Each w[i].rc gets fn's result, or
 * GW_ESTORE / GW_EUNAVAIL. Returns GW_OK, or GW_ENOMEM when nothing was
 * queued. */
struct gw_write {
	gw_write_fn fn;
	void       *arg;
	int         rc; /* out */
};

int gw_store_write_many(struct gw_store *st, struct gw_write *w, size_t n);

/* gw_store_read begins a read-only snapshot. Returns GW_OK or GW_ESTORE.
 * End it with gw_txn_end(); hold it briefly (it pins old pages). */
int  gw_store_read(struct gw_store *st, struct gw_txn **out);
void gw_txn_end(struct gw_txn *txn);

/* Raw access. gw_txn_get_raw's *val is valid until the txn ends or the
 * next write in it; copy to keep. */
int gw_txn_get_raw(struct gw_txn *txn, enum gw_db db, const void *key,
    size_t klen, const void **val, size_t *vlen);
int gw_txn_put_raw(struct gw_txn *txn, enum gw_db db, const void *key,
    size_t klen, const void *val, size_t vlen, unsigned flags);
/* gw_txn_del returns GW_OK or GW_ENOTFOUND. */
int gw_txn_del(struct gw_txn *txn, enum gw_db db, const void *key,
    size_t klen);

/* gw_txn_get unpacks the record at key into *out (owned by the caller:
 * protobuf_c_message_free_unpacked(*out, NULL)). GW_ENOTFOUND, GW_ESTORE
 * (a record that does not decode) or GW_ENOMEM otherwise. */
int gw_txn_get(struct gw_txn *txn, enum gw_db db, const void *key, size_t klen,
    const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out);

/* gw_txn_put packs msg and stores it at key. */
int gw_txn_put(struct gw_txn *txn, enum gw_db db, const void *key, size_t klen,
    const ProtobufCMessage *msg, unsigned flags);

/* gw_scan_fn sees one record; return 0 to go on, 1 to stop, or an error
 * (which gw_txn_scan returns). key and val are valid for the call only. */
typedef int (*gw_scan_fn)(const void *key, size_t klen, const void *val,
    size_t vlen, void *arg);

/* gw_txn_scan visits the records of db whose key starts with prefix
 * (plen 0: all), in key order, from the first key >= from (NULL: the
 * prefix itself). Returns GW_OK or fn's error. */
int gw_txn_scan(struct gw_txn *txn, enum gw_db db, const void *prefix,
    size_t plen, const void *from, size_t flen, gw_scan_fn fn, void *arg);

/* gw_txn_scan_rev is gw_txn_scan backwards: the records of db whose key
 * starts with prefix, in descending key order, from the last key <= from
 * (NULL: the last key with the prefix). Returns GW_OK or fn's error. */
int gw_txn_scan_rev(struct gw_txn *txn, enum gw_db db, const void *prefix,
    size_t plen, const void *from, size_t flen, gw_scan_fn fn, void *arg);

/* gw_txn_count writes the number of records in db to *out (LMDB keeps it:
 * constant time). Returns GW_OK or GW_ESTORE. */
int gw_txn_count(struct gw_txn *txn, enum gw_db db, uint64_t *out);

/* gw_txn_next_id returns the next value of the named sequence (1, 2, ...).
 * Write transactions only. */
int gw_txn_next_id(struct gw_txn *txn, const char *seq, uint64_t *out);

/* Big-endian fixed-width keys: byte order is numeric order. */
void     gw_key_put_u64(uint8_t *p, uint64_t v);
uint64_t gw_key_get_u64(const uint8_t *p);

#endif
