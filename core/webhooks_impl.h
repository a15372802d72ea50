/*
 * webhooks_impl.h - what the Webhooks service (webhooks.c) shares with
 * the dispatcher, the forwarder and the Admin service: the order of
 * message statuses, and the durable event queue that feeds the forwarder.
 *
 * Events: an event is one JSON document for one client URL. It is written
 * (GW_DB_EVENTS) with its queue entry (GW_DB_EVENT_QUEUE, keyed by due
 * time) in the same transaction as the change it reports, so a committed
 * change always has its event and an event never reports an uncommitted
 * change. Ids are deterministic ("evt_" + 32 hex of SHA-256 over what
 * the event reports), and GW_DB_EVENT_IDS refuses a second event with
 * the same id: a replayed webhook cannot queue a second event.
 */
#ifndef GW_WEBHOOKS_IMPL_H
#define GW_WEBHOOKS_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "gw/store.h"
#include "relay/v1/messaging.pb-c.h"
#include "relay/v1/records.pb-c.h"

struct gw_forwarder;
struct gw_keyring;

#define GW_EVENT_ID_LEN (4 + 32) /* "evt_" + 32 hex */
#define GW_EVENT_STATUS "message.status"
#define GW_EVENT_INBOUND "message.inbound"

/* gw_status_rank orders message statuses: queued 1, sending 2, sent 3,
 * and the final ones (delivered, undelivered, failed) 4. A status only
 * ever changes to one of a higher rank. */
int gw_status_rank(Relay__V1__MessageStatus st);

/* gw_message_status_name is the status as clients see it ("delivered");
 * defined in messaging.c. */
const char *gw_message_status_name(Relay__V1__MessageStatus st);

/* gw_event_id writes "evt_" + the first 32 hex digits of
 * SHA-256(type "\n" a "\n" b) into out. */
void gw_event_id(const char *type, const char *a, const char *b,
    char out[GW_EVENT_ID_LEN + 1]);

struct gw_event_in {
	const char *id;   /* from gw_event_id() */
	const char *type; /* GW_EVENT_STATUS or GW_EVENT_INBOUND */
	uint64_t    client_id;
	const char *url;  /* the client's http(s) URL */
	const char *body; /* the JSON document */
	size_t      body_len;
	int64_t     now;
};

/* gw_event_enqueue writes the event and its queue entry (due now) in txn,
 * a write transaction. Returns GW_OK, GW_EEXIST when an event with this id
 * was queued before (nothing written), or a store error. *seq receives
 * the event's sequence number on GW_OK. */
int gw_event_enqueue(
    struct gw_txn *txn, const struct gw_event_in *e, uint64_t *seq);

/* gw_webhook_secret_ad writes the associated data that binds a sealed
 * webhook secret to its client. */
void gw_webhook_secret_ad(char *ad, size_t len, uint64_t client_id);

/* gw_forwarder_kick wakes the forwarder after an enqueue (forwarder.c);
 * NULL is fine. */
void gw_forwarder_kick(struct gw_forwarder *f);

/* gw_rfc3339_ms formats Unix ms as "2026-11-21T15:02:34.383Z". */
void gw_rfc3339_ms(int64_t ms, char out[32]);

#endif
