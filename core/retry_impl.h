/*
 * retry_impl.h - the retry policy shared by core's durable HTTP queues:
 * the outbox dispatcher (messages to providers) and the forwarder (events
 * to clients). Both keep an entry in an LMDB queue keyed by due time
 * until its outcome is written, and reschedule transient failures with
 * these two functions, so both back off and classify errors alike.
 */
#ifndef GW_RETRY_IMPL_H
#define GW_RETRY_IMPL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

/* gw_backoff_ms returns the delay before attempt number `attempts` + 1:
 * an exponentially growing window (base_ms doubled per attempt, capped at
 * max_ms) with jitter over its upper half, so that retries neither bunch
 * at zero nor march in step; never less than floor_ms (a Retry-After).
 * Thread-safe (randombytes). */
int64_t gw_backoff_ms(
    int64_t base_ms, int64_t max_ms, uint32_t attempts, int64_t floor_ms);

/* gw_curl_transient reports whether a transfer that failed with c may
 * succeed if tried again (timeouts, refused or reset connections, DNS,
 * TLS), as opposed to a request that can never work (a malformed URL, a
 * protocol libcurl does not speak). */
bool gw_curl_transient(CURLcode c);

/* One worker of a durable HTTP queue, as gw_queue_run drives it. */
struct gw_queue_ops {
	/* fill starts the due entries (a read snapshot of the queue) and
	 * returns the due time of the first entry not yet due, 0 if none
	 * was seen: the loop sleeps until then at most */
	int64_t (*fill)(void *worker, int64_t now);
	/* finish takes the outcome of one transfer; job is the easy
	 * handle's CURLINFO_PRIVATE */
	void (*finish)(void *job, CURLcode cc);
	/* settle writes the outcomes of finished jobs in one transaction
	 * and forgets them, recorded or not (an unrecorded entry stays
	 * queued and is taken again) */
	void (*settle)(void *worker, int64_t now);
};

/* gw_queue_run is a worker thread's loop: fill, transfer, record the
 * outcomes, sleep in curl_multi_poll (a curl_multi_wakeup on multi wakes
 * it), until *stopping. The caller then abandons what is in flight: the
 * entries stay queued for the next start. */
void gw_queue_run(CURLM *multi, atomic_bool *stopping, int64_t poll_ms,
    const struct gw_queue_ops *ops, void *worker);

#endif
