/*
 * forwarder.c - the event worker: takes due events from the event queue,
 * POSTs them signed to the client's URL through libcurl multi, and
 * records each outcome in the transaction that removes or reschedules the
 * queue entry.
 *
 * It has the shape of the outbox dispatcher (dispatcher.c), with which it
 * shares the retry policy (retry_impl.h): each thread owns a multi handle
 * (whose connection cache reuses connections to a client) and the events
 * whose sequence number falls to it, so no two threads send the same
 * event; what is in flight is known only in memory, and a queue entry
 * stays put until its outcome is written, so a crash resends rather than
 * loses. A loop turn: scan the due entries that are not in flight, start
 * them, let curl work, then write every finished outcome of the turn in
 * one write function (one group commit).
 */
#include "gw/forwarder.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "core_impl.h"
#include "gw/clock.h"
#include "gw/err.h"
#include "gw/log.h"
#include "gw/webhook.h"
#include "retry_impl.h"
#include "webhooks_impl.h"

#define SCAN_MAX 4096 /* queue rows looked at per turn */
#define ERR_MAX 200
#define USER_AGENT "Relay-Webhooks/0.1"

enum fout {
	FOUT_ACK,   /* a 2xx: delivered */
	FOUT_RETRY, /* try again later */
	FOUT_DEAD,  /* give up now */
	FOUT_DROP,  /* the event is gone or settled: drop the entry */
};

struct fjob {
	uint64_t seq;
	uint8_t  qkey[16];
	uint32_t attempts; /* before this one */
	int64_t  created_ms;
	uint64_t client_id;
	char     id[GW_EVENT_ID_LEN + 1];

	CURL              *easy;
	struct curl_slist *hdrs;
	uint8_t           *body; /* a copy: curl reads it while in flight */

	enum fout outcome;
	char      err[ERR_MAX];
	int64_t   retry_after_ms;
	int64_t   next_due;
	bool      done;
};

struct fworker {
	struct gw_forwarder *f;
	unsigned             idx;
	pthread_t            thread;
	CURLM               *multi;
	struct fjob        **jobs; /* in flight, max_in_flight slots */
	struct fjob        **done; /* settle's scratch, as many */
	size_t               n_jobs;
};

struct gw_forwarder {
	struct gw_core            *core;
	struct gw_forwarder_config cfg;
	atomic_bool                stopping;
	struct fworker            *workers;
	unsigned                   n_workers;

	atomic_uint_fast64_t attempts, delivered, retried, dead, in_flight;
};

/* ---- jobs ------------------------------------------------------------ */

static void
fjob_free(struct fjob *j)
{
	if (j == NULL)
		return;
	if (j->easy != NULL)
		curl_easy_cleanup(j->easy);
	curl_slist_free_all(j->hdrs);
	free(j->body);
	free(j);
}

static void fjob_result(struct fjob *j, enum fout o, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
fjob_result(struct fjob *j, enum fout o, const char *fmt, ...)
{
	va_list ap;

	j->outcome = o;
	j->done = true;
	va_start(ap, fmt);
	vsnprintf(j->err, sizeof(j->err), fmt, ap);
	va_end(ap);
}

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	(void) p;
	(void) arg;
	return size * n; /* the answer is judged on its status alone */
}

/* sign_header unseals the client's webhook secret just long enough to
 * sign body. */
static int
sign_header(struct gw_forwarder *f, const Relay__V1__ClientRecord *c,
    const Relay__V1__WebhookEvent *ev, int64_t t, char *out)
{
	char     ad[96];
	uint8_t *pt;
	size_t   len = 0;
	int      rc;

	if ((pt = sodium_malloc(c->webhook_secret_sealed.len)) == NULL)
		return GW_ENOMEM;
	gw_webhook_secret_ad(ad, sizeof(ad), c->id);
	rc = gw_unseal(f->core->keyring, ad, c->webhook_secret_sealed.data,
	    c->webhook_secret_sealed.len, pt, &len);
	if (rc == GW_OK)
		rc = gw_webhook_sign_header(
		    pt, len, t, ev->body.data, ev->body.len, out);
	sodium_memzero(pt, c->webhook_secret_sealed.len);
	sodium_free(pt);
	return rc;
}

static struct curl_slist *
add_header(struct curl_slist *l, const char *name, const char *value)
{
	char               line[512];
	struct curl_slist *n;

	snprintf(line, sizeof(line), "%s: %s", name, value);
	if ((n = curl_slist_append(l, line)) == NULL) {
		curl_slist_free_all(l);
		return NULL;
	}
	return n;
}

/* fjob_start builds and starts the request for ev to client c. On return
 * the job is either in flight or done. */
static void
fjob_start(struct fworker *w, const Relay__V1__WebhookEvent *ev,
    const Relay__V1__ClientRecord *c, struct fjob *j)
{
	struct gw_forwarder *f = w->f;
	char                 sig[GW_WEBHOOK_SIG_HEADER_MAX + 1], attempt[16];
	int                  rc;

	if (c->webhook_secret_sealed.len == 0) {
		fjob_result(j, FOUT_RETRY,
		    "client %llu has no webhook secret "
		    "(relayctl client webhook-secret %llu)",
		    (unsigned long long) c->id, (unsigned long long) c->id);
		return;
	}
	if ((rc = sign_header(f, c, ev, gw_now_ms() / 1000, sig)) != GW_OK) {
		fjob_result(j, rc == GW_ENOMEM ? FOUT_RETRY : FOUT_DEAD,
		    "signing failed: %s", gw_strerror(rc));
		return;
	}
	snprintf(attempt, sizeof(attempt), "%u", j->attempts + 1);
	if ((j->body = malloc(ev->body.len ? ev->body.len : 1)) == NULL ||
	    (j->easy = curl_easy_init()) == NULL ||
	    (j->hdrs = add_header(NULL, "Content-Type", "application/json")) ==
	        NULL ||
	    (j->hdrs = add_header(j->hdrs, "X-Relay-Event-Id", ev->id)) ==
	        NULL ||
	    (j->hdrs = add_header(j->hdrs, "X-Relay-Event-Type", ev->type)) ==
	        NULL ||
	    (j->hdrs = add_header(j->hdrs, "X-Relay-Attempt", attempt)) ==
	        NULL ||
	    (j->hdrs = add_header(j->hdrs, "X-Relay-Signature", sig)) == NULL ||
	    (j->hdrs = add_header(j->hdrs, "Expect", "")) == NULL) {
		fjob_result(j, FOUT_RETRY, "out of memory");
		return;
	}
	memcpy(j->body, ev->body.data, ev->body.len);
	atomic_fetch_add(&f->attempts, 1);
	curl_easy_setopt(j->easy, CURLOPT_URL, ev->url);
	curl_easy_setopt(j->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(j->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(j->easy, CURLOPT_POST, 1L);
	curl_easy_setopt(j->easy, CURLOPT_POSTFIELDS, (char *) j->body);
	curl_easy_setopt(j->easy, CURLOPT_POSTFIELDSIZE, (long) ev->body.len);
	curl_easy_setopt(j->easy, CURLOPT_HTTPHEADER, j->hdrs);
	curl_easy_setopt(j->easy, CURLOPT_USERAGENT, USER_AGENT);
	curl_easy_setopt(j->easy, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(j->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(
	    j->easy, CURLOPT_TIMEOUT_MS, (long) f->cfg.request_timeout_ms);
	curl_easy_setopt(j->easy, CURLOPT_CONNECTTIMEOUT_MS,
	    (long) f->cfg.connect_timeout_ms);
	curl_easy_setopt(j->easy, CURLOPT_PRIVATE, (char *) j);
	if (curl_multi_add_handle(w->multi, j->easy) != CURLM_OK) {
		curl_easy_cleanup(j->easy);
		j->easy = NULL;
		fjob_result(j, FOUT_RETRY, "curl refused the request");
	}
}

/* fjob_finish classifies a finished transfer. */
static void
fjob_finish(void *job, CURLcode cc)
{
	struct fjob *j = job;
	long         http = 0;
	curl_off_t   ra = 0;

	if (cc != CURLE_OK) {
		fjob_result(j, gw_curl_transient(cc) ? FOUT_RETRY : FOUT_DEAD,
		    "%s", curl_easy_strerror(cc));
		return;
	}
	curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &http);
	if (http >= 200 && http < 300) {
		fjob_result(j, FOUT_ACK, "%s", "");
		return;
	}
	fjob_result(j, FOUT_RETRY, "the client answered HTTP %ld", http);
	if (curl_easy_getinfo(j->easy, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK &&
	    ra > 0)
		j->retry_after_ms = (int64_t) ra * 1000;
}

/* ---- outcomes -------------------------------------------------------- */

struct fapply {
	struct fjob **jobs;
	size_t        n;
	int64_t       now;
};

static int
fapply_one(struct gw_txn *txn, const struct fapply *a, struct fjob *j)
{
	Relay__V1__WebhookEvent *ev = NULL;
	const void              *v;
	size_t                   vlen;
	char                    *own;
	uint8_t                  k[16];
	int                      rc;

	rc = gw_txn_get_raw(txn, GW_DB_EVENT_QUEUE, j->qkey, 16, &v, &vlen);
	if (rc == GW_ENOTFOUND)
		return GW_OK; /* not ours any more */
	if (rc != GW_OK)
		return rc;
	if ((rc = gw_txn_del(txn, GW_DB_EVENT_QUEUE, j->qkey, 16)) != GW_OK)
		return rc;
	if (j->outcome == FOUT_DROP)
		return GW_OK;
	gw_key_put_u64(k, j->seq);
	rc = gw_txn_get(txn, GW_DB_EVENTS, k, 8,
	    &relay__v1__webhook_event__descriptor, (ProtobufCMessage **) &ev);
	if (rc == GW_ENOTFOUND)
		return GW_OK;
	if (rc != GW_OK)
		return rc;
	own = ev->last_error;
	ev->attempts = j->attempts + 1;
	ev->updated_unix_ms = a->now;
	ev->last_error = j->err;
	ev->next_attempt_unix_ms = 0;
	switch (j->outcome) {
	case FOUT_ACK:
		ev->state = RELAY__V1__WEBHOOK_EVENT_STATE__EVENT_DELIVERED;
		break;
	case FOUT_DEAD:
		ev->state = RELAY__V1__WEBHOOK_EVENT_STATE__EVENT_DEAD;
		break;
	case FOUT_RETRY:
		ev->next_attempt_unix_ms = j->next_due;
		gw_key_put_u64(k, (uint64_t) j->next_due);
		gw_key_put_u64(k + 8, j->seq);
		if ((rc = gw_txn_put_raw(
		         txn, GW_DB_EVENT_QUEUE, k, 16, "", 0, 0)) != GW_OK)
			goto out;
		gw_key_put_u64(k, j->seq);
		break;
	case FOUT_DROP:
		break;
	}
	rc = gw_txn_put(txn, GW_DB_EVENTS, k, 8, &ev->base, 0);
out:
	ev->last_error = own;
	relay__v1__webhook_event__free_unpacked(ev, NULL);
	return rc;
}

static int
fapply_fn(struct gw_txn *txn, void *arg)
{
	struct fapply *a = arg;
	int            rc;

	for (size_t i = 0; i < a->n; i++)
		if ((rc = fapply_one(txn, a, a->jobs[i])) != GW_OK)
			return rc;
	return GW_OK;
}

/* ---- the worker loop ------------------------------------------------- */

static bool
in_flight(const struct fworker *w, uint64_t seq)
{
	for (size_t i = 0; i < w->n_jobs; i++)
		if (w->jobs[i]->seq == seq)
			return true;
	return false;
}

struct ffill {
	struct fworker *w;
	struct gw_txn  *txn;
	int64_t         now;
	size_t          seen;
	int64_t         next_due; /* the first entry not yet due, 0: none */
};

static void
ffill_start(struct ffill *ff, const uint8_t *key, uint64_t seq)
{
	struct fworker          *w = ff->w;
	Relay__V1__WebhookEvent *ev = NULL;
	Relay__V1__ClientRecord *c = NULL;
	struct fjob             *j;
	uint8_t                  k[8];
	int                      rc;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return;
	j->seq = seq;
	memcpy(j->qkey, key, 16);
	w->jobs[w->n_jobs++] = j;
	atomic_fetch_add(&w->f->in_flight, 1);

	gw_key_put_u64(k, seq);
	rc = gw_txn_get(ff->txn, GW_DB_EVENTS, k, 8,
	    &relay__v1__webhook_event__descriptor, (ProtobufCMessage **) &ev);
	if (rc == GW_ENOTFOUND ||
	    (rc == GW_OK &&
	        ev->state != RELAY__V1__WEBHOOK_EVENT_STATE__EVENT_PENDING)) {
		fjob_result(j, FOUT_DROP, "%s", "");
		goto out;
	}
	if (rc != GW_OK) {
		fjob_result(j, FOUT_RETRY, "store read failed");
		goto out;
	}
	j->attempts = ev->attempts;
	j->created_ms = ev->created_unix_ms;
	j->client_id = ev->client_id;
	snprintf(j->id, sizeof(j->id), "%s", ev->id);
	gw_key_put_u64(k, ev->client_id);
	rc = gw_txn_get(ff->txn, GW_DB_CLIENTS, k, 8,
	    &relay__v1__client_record__descriptor, (ProtobufCMessage **) &c);
	if (rc == GW_ENOTFOUND)
		fjob_result(j, FOUT_DEAD, "client %llu no longer exists",
		    (unsigned long long) ev->client_id);
	else if (rc != GW_OK)
		fjob_result(j, FOUT_RETRY, "store read failed");
	else
		fjob_start(w, ev, c, j);
out:
	if (ev != NULL)
		relay__v1__webhook_event__free_unpacked(ev, NULL);
	if (c != NULL)
		relay__v1__client_record__free_unpacked(c, NULL);
}

static int
ffill_one(const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
	struct ffill   *ff = arg;
	struct fworker *w = ff->w;
	int64_t         due;
	uint64_t        seq;

	(void) val;
	(void) vlen;
	if (klen != 16)
		return 0;
	due = (int64_t) gw_key_get_u64(key);
	if (due > ff->now) {
		ff->next_due = due;
		return 1;
	}
	if (++ff->seen > SCAN_MAX || w->n_jobs == w->f->cfg.max_in_flight)
		return 1;
	seq = gw_key_get_u64((const uint8_t *) key + 8);
	if (seq % w->f->n_workers != w->idx || in_flight(w, seq))
		return 0;
	ffill_start(ff, key, seq);
	return 0;
}

static int64_t
ffill(void *arg, int64_t now)
{
	struct fworker *w = arg;
	struct ffill    ff = { .w = w, .now = now };

	if (w->n_jobs == w->f->cfg.max_in_flight)
		return 0;
	if (gw_store_read(w->f->core->store, &ff.txn) != GW_OK)
		return 0;
	gw_txn_scan(
	    ff.txn, GW_DB_EVENT_QUEUE, NULL, 0, NULL, 0, ffill_one, &ff);
	gw_txn_end(ff.txn);
	return ff.next_due;
}

/* fsettle writes the outcomes of every finished job, then forgets them. */
static void
fsettle(void *arg, int64_t now)
{
	struct fworker      *w = arg;
	struct gw_forwarder *f = w->f;
	struct fapply        a = { .jobs = w->done, .now = now };
	size_t               keep = 0;
	int                  rc;

	for (size_t i = 0; i < w->n_jobs; i++) {
		struct fjob *j = w->jobs[i];

		if (!j->done) {
			w->jobs[keep++] = j;
			continue;
		}
		if (j->outcome == FOUT_RETRY) {
			j->next_due = now +
			    gw_backoff_ms(f->cfg.backoff_base_ms,
			        f->cfg.backoff_max_ms, j->attempts + 1,
			        j->retry_after_ms);
			if (j->next_due >
			    j->created_ms + f->cfg.give_up_after_ms)
				j->outcome = FOUT_DEAD; /* keeps the error */
		}
		a.jobs[a.n++] = j;
	}
	if (a.n == 0)
		return;
	w->n_jobs = keep;
	rc = gw_store_write(f->core->store, fapply_fn, &a);
	for (size_t i = 0; i < a.n; i++) {
		struct fjob *j = a.jobs[i];

		if (rc != GW_OK) {
			/* the entries stay where they were: sent again */
			gw_error("forward", "recording event %llu failed: %s",
			    (unsigned long long) j->seq, gw_strerror(rc));
		} else if (j->outcome == FOUT_ACK) {
			atomic_fetch_add(&f->delivered, 1);
			gw_debug("forward",
			    "%s delivered to client %llu "
			    "(attempt %u)",
			    j->id, (unsigned long long) j->client_id,
			    j->attempts + 1);
		} else if (j->outcome == FOUT_RETRY) {
			atomic_fetch_add(&f->retried, 1);
			gw_info("forward",
			    "%s to client %llu: %s; retry in "
			    "%lld ms",
			    j->id, (unsigned long long) j->client_id, j->err,
			    (long long) (j->next_due - now));
		} else if (j->outcome == FOUT_DEAD) {
			atomic_fetch_add(&f->dead, 1);
			gw_warn("forward",
			    "%s to client %llu dead-lettered "
			    "after %u attempt(s): %s",
			    j->id, (unsigned long long) j->client_id,
			    j->attempts + 1, j->err);
		}
		if (j->easy != NULL)
			curl_multi_remove_handle(w->multi, j->easy);
		fjob_free(j);
	}
	atomic_fetch_sub(&f->in_flight, a.n);
}

/* ---- the queue loop (gw_queue_run) ------------------------------- */

static const struct gw_queue_ops queue_ops = {
	.fill = ffill,
	.finish = fjob_finish,
	.settle = fsettle,
};

static void *
fworker_main(void *arg)
{
	struct fworker      *w = arg;
	struct gw_forwarder *f = w->f;

	gw_queue_run(w->multi, &f->stopping, f->cfg.poll_ms, &queue_ops, w);
	/* abandon what is in flight: the queue still has it */
	for (size_t i = 0; i < w->n_jobs; i++) {
		if (w->jobs[i]->easy != NULL)
			curl_multi_remove_handle(w->multi, w->jobs[i]->easy);
		fjob_free(w->jobs[i]);
	}
	atomic_fetch_sub(&f->in_flight, w->n_jobs);
	w->n_jobs = 0;
	return NULL;
}

/* ---- start / stop ---------------------------------------------------- */

void
gw_forwarder_kick(struct gw_forwarder *f)
{
	if (f == NULL)
		return;
	for (unsigned i = 0; i < f->n_workers; i++)
		curl_multi_wakeup(f->workers[i].multi);
}

int
gw_forwarder_start(struct gw_core *core, const struct gw_forwarder_config *cfg,
    struct gw_forwarder **out)
{
	struct gw_forwarder *f;
	unsigned             started = 0;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return GW_ENOMEM;
	f->core = core;
	f->cfg = *cfg;
#define DFLT(x, v)         \
	if (f->cfg.x == 0) \
	f->cfg.x = (v)
	DFLT(threads, 1);
	DFLT(max_in_flight, 64);
	DFLT(give_up_after_ms, 86400 * 1000);
	DFLT(backoff_base_ms, 1000);
	DFLT(backoff_max_ms, 600 * 1000);
	DFLT(request_timeout_ms, 10 * 1000);
	DFLT(connect_timeout_ms, 5 * 1000);
	DFLT(poll_ms, 500);
#undef DFLT
	if (f->cfg.max_in_flight > 4096)
		f->cfg.max_in_flight = 4096;
	if ((f->workers = calloc(f->cfg.threads, sizeof(*f->workers))) == NULL)
		goto fail;
	f->n_workers = f->cfg.threads;
	for (unsigned i = 0; i < f->n_workers; i++) {
		struct fworker *w = &f->workers[i];

		w->f = f;
		w->idx = i;
		w->jobs = calloc(f->cfg.max_in_flight, sizeof(*w->jobs));
		w->done = calloc(f->cfg.max_in_flight, sizeof(*w->done));
		if (w->jobs == NULL || w->done == NULL ||
		    (w->multi = curl_multi_init()) == NULL)
			goto fail;
		curl_multi_setopt(w->multi, CURLMOPT_MAXCONNECTS,
		    (long) f->cfg.max_in_flight);
	}
	for (; started < f->n_workers; started++) {
		if (pthread_create(&f->workers[started].thread, NULL,
		        fworker_main, &f->workers[started]) != 0)
			goto fail;
		pthread_setname_np(f->workers[started].thread, "forwarder");
	}
	atomic_store(&core->forwarder, f);
	gw_info("forward",
	    "%u thread(s), %u in flight each, give up after %lld s",
	    f->n_workers, f->cfg.max_in_flight,
	    (long long) f->cfg.give_up_after_ms / 1000);
	*out = f;
	return GW_OK;
fail:
	atomic_store(&f->stopping, true);
	for (unsigned i = 0; i < started; i++) {
		curl_multi_wakeup(f->workers[i].multi);
		pthread_join(f->workers[i].thread, NULL);
	}
	f->core = NULL; /* nothing left to join */
	gw_forwarder_stop(f);
	return GW_ENOMEM;
}

void
gw_forwarder_stop(struct gw_forwarder *f)
{
	if (f == NULL)
		return;
	if (f->core != NULL) {
		atomic_store(&f->core->forwarder, NULL);
		atomic_store(&f->stopping, true);
		for (unsigned i = 0; i < f->n_workers; i++) {
			curl_multi_wakeup(f->workers[i].multi);
			pthread_join(f->workers[i].thread, NULL);
		}
	}
	for (unsigned i = 0; f->workers != NULL && i < f->n_workers; i++) {
		if (f->workers[i].multi != NULL)
			curl_multi_cleanup(f->workers[i].multi);
		free(f->workers[i].jobs);
		free(f->workers[i].done);
	}
	free(f->workers);
	free(f);
}

void
gw_forwarder_stats(struct gw_forwarder *f, struct gw_forwarder_stats *out)
{
	out->attempts = atomic_load(&f->attempts);
	out->delivered = atomic_load(&f->delivered);
	out->retried = atomic_load(&f->retried);
	out->dead = atomic_load(&f->dead);
	out->in_flight = atomic_load(&f->in_flight);
}
