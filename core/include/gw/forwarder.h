/*
 * gw/forwarder.h - delivers the events Relay owes its clients: message
 * status updates to the StatusCallback of the message or of the client,
 * inbound messages to the client's inbound URL.
 *
 * Events are queued durably by the Webhooks service, in the transaction
 * of the change they report (GW_DB_EVENTS, GW_DB_EVENT_QUEUE); nothing is
 * sent on the path of the provider's webhook or of a Send. The forwarder
 * runs in relayd on threads of its own, each with a libcurl multi handle
 * (many requests in flight, connections reused), and POSTs each due
 * event:
 *
 *   Content-Type: application/json
 *   X-Relay-Event-Id: evt_...           the same on every attempt
 *   X-Relay-Event-Type: message.status | message.inbound
 *   X-Relay-Signature: t=<unix s>,v1=<hex HMAC-SHA256(secret, "t.body")>
 *
 * with the client's webhook secret (sealed in its ClientRecord, unsealed
 * per request). A 2xx answer acknowledges the event: it leaves the queue
 * in the transaction that records the acknowledgement. Anything else
 * (another status, a timeout, a refused connection, a client without a
 * webhook secret yet) is retried with exponential backoff and jitter
 * until the event is give_up_after_ms old; then it is dead-lettered
 * (state EVENT_DEAD, logged, listed by ListWebhookEvents). Redirects are
 * not followed; only http and https are spoken.
 *
 * Delivery is at least once: after a crash between a client's 2xx and
 * our commit, the event is sent again with the same X-Relay-Event-Id, by
 * which receivers deduplicate.
 */
#ifndef GW_FORWARDER_H
#define GW_FORWARDER_H

#include <stdint.h>

struct gw_core;
struct gw_forwarder;

struct gw_forwarder_config {
	unsigned threads;            /* 0: 1 */
	unsigned max_in_flight;      /* per thread; 0: 64 */
	int64_t  give_up_after_ms;   /* 0: 86400000 (one day) */
	int64_t  backoff_base_ms;    /* 0: 1000 */
	int64_t  backoff_max_ms;     /* 0: 600000 (ten minutes) */
	int64_t  request_timeout_ms; /* 0: 10000 */
	int64_t  connect_timeout_ms; /* 0: 5000 */
	int64_t  poll_ms;            /* idle rescan; 0: 500 */
};

struct gw_forwarder_stats {
	uint64_t attempts;  /* requests made */
	uint64_t delivered; /* acknowledged with a 2xx */
	uint64_t retried;   /* failures rescheduled */
	uint64_t dead;      /* dead-lettered */
	uint64_t in_flight; /* now */
};

/* gw_forwarder_start starts the threads. Call curl_global_init() once in
 * main() before. Returns GW_OK or GW_ENOMEM. */
int gw_forwarder_start(struct gw_core *core,
    const struct gw_forwarder_config *cfg, struct gw_forwarder **out);

/* gw_forwarder_stop stops and joins the threads, abandoning requests in
 * flight (their events stay queued and are sent again on the next
 * start). Stop the RPC server first. Accepts NULL. */
void gw_forwarder_stop(struct gw_forwarder *f);

void gw_forwarder_stats(struct gw_forwarder *f, struct gw_forwarder_stats *out);

#endif
