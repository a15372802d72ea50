/*
 * hb/sendq.h - POST /relay/sms's Sends, gathered into SendBatch calls.
 *
 * Each HTTP worker hands its Send to hb_sendq_send() and blocks. Sends
 * that arrive while calls are in flight queue up; the next call to go
 * takes every queued Send (up to HB_SENDQ_BATCH) in one SendBatch RPC.
 * Whichever waiting worker finds a free call slot makes that call for all
 * of them (leader/follower: no dispatcher thread, so an idle system pays
 * no hand-off and a busy one pays one wake-up per message instead of an
 * RPC per message). At most `inflight` calls run at once.
 *
 * Each Send keeps its own API key, request id (relayd's implicit
 * idempotency key, the same on nng's resend) and outcome.
 */
#ifndef HB_SENDQ_H
#define HB_SENDQ_H

#include "relay/v1/messaging.pb-c.h"
#include "rpc/client.h"

#define HB_SENDQ_BATCH    256 /* Sends per call (relayd takes up to 1024) */
#define HB_SENDQ_INFLIGHT 4   /* calls in flight by default */

struct hb_sendq;

/* A Send's outcome: reply is valid until hb_sent_release(). */
struct hb_sent {
	const Relay__V1__SendReply *reply;
	void                       *batch; /* what reply lives in */
};

/* hb_sendq_new makes a queue over rpc (not owned), with at most inflight
 * calls at once (<= 0: HB_SENDQ_INFLIGHT). */
int  hb_sendq_new(struct rpc_client *rpc, int inflight, struct hb_sendq **out);
void hb_sendq_free(struct hb_sendq *q);

/* hb_sendq_send sends req as the client of api_key and waits for its
 * outcome: GW_OK with out->reply set (release it), or the error with st
 * filled as rpc_invoke_as() would for a Send. Thread-safe. */
int hb_sendq_send(struct hb_sendq *q, const char *api_key,
    const Relay__V1__SendRequest *req, struct hb_sent *out,
    struct rpc_status *st);

void hb_sent_release(struct hb_sent *sent);

#endif
