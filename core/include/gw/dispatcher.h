/*
 * gw/dispatcher.h - hands accepted messages to the providers.
 *
 * The dispatcher runs in relayd on threads of its own. Each thread takes
 * the due entries of the outbox (GW_DB_OUTBOX, written by Send in the same
 * transaction as the debit) and delivers them through one libcurl multi
 * handle: many requests in flight, connections reused. The adapter is
 * chosen by the account's kind:
 *
 *   twilio     POST {base}/2010-04-01/Accounts/{sid}/Messages.json,
 *              form-encoded To, From, Body, StatusCallback
 *              ({public}/relay/twilio/status?relay_sid={our sid}); Basic auth
 *              sid:token (the token is unsealed for the request only)
 *   flowroute  POST {base}/v2.1/messages, application/vnd.api+json
 *              {to, from, body, dlr_callback}; Basic auth key:secret
 *   sandbox    no network: appends a JSON line to <state dir>/sandbox.jsonl
 *              and answers like Twilio's test credentials
 *
 * Outcomes, each written in one transaction with the outbox change:
 *   2xx                  status "sending" (the provider queued it; Twilio
 *                        answers 201 "queued") or "sent" when the provider
 *                        says so (and always for sandbox), but never
 *                        backwards (a status callback may have come first);
 *                        upstream sid kept and indexed (GW_DB_MSG_BY_UPSTREAM)
 *   5xx, 408, 429,       transient: retried with exponential backoff and
 *   timeouts, refused    full jitter (429's Retry-After is a floor) until the
 *   connections          message is retry_deadline_ms old, then as below
 *   other 4xx            permanent: status "failed" with the provider's
 *                        code and message, and a REFUND ledger entry
 *
 * Delivery is at least once. An outbox entry leaves the outbox only in the
 * transaction that records the outcome, so after a crash (kill -9) every
 * message that was queued or in flight is sent again on the next start.
 */
#ifndef GW_DISPATCHER_H
#define GW_DISPATCHER_H

#include <stdint.h>

struct gw_core;
struct gw_dispatcher;

struct gw_dispatcher_config {
	const char *state_dir;     /* sandbox log directory; required */
	const char *public_url;    /* RELAY_PUBLIC_URL; NULL/"": no callbacks */
	unsigned    threads;       /* 0: 1 */
	unsigned    max_in_flight; /* per thread; 0: 256 */
	int64_t     retry_deadline_ms;  /* 0: 3600000 (one hour) */
	int64_t     backoff_base_ms;    /* 0: 1000 */
	int64_t     backoff_max_ms;     /* 0: 300000 */
	int64_t     request_timeout_ms; /* 0: 30000 */
	int64_t     poll_ms;            /* idle rescan; 0: 250 */
	const char *twilio_base_url;    /* NULL: https://api.twilio.com */
	const char *flowroute_base_url; /* NULL: https://api.flowroute.com */
};

struct gw_dispatcher_stats {
	uint64_t attempts;  /* requests made (sandbox included) */
	uint64_t sent;      /* accepted by a provider */
	uint64_t retried;   /* transient failures rescheduled */
	uint64_t failed;    /* failed and refunded */
	uint64_t in_flight; /* now */
};

/* gw_dispatcher_start starts the threads; cfg's strings are copied.
 * Call curl_global_init() once in main() before. Returns GW_OK,
 * GW_EINVAL, GW_ESTORE (the sandbox file) or GW_ENOMEM. */
int gw_dispatcher_start(struct gw_core *core,
    const struct gw_dispatcher_config *cfg, struct gw_dispatcher **out);

/* gw_dispatcher_stop stops and joins the threads, abandoning requests in
 * flight (they stay in the outbox and are sent again on the next start).
 * Stop the RPC server first. Accepts NULL. */
void gw_dispatcher_stop(struct gw_dispatcher *d);

void gw_dispatcher_stats(
    struct gw_dispatcher *d, struct gw_dispatcher_stats *out);

#endif
