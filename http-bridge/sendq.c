/*
 * sendq.c - gathering concurrent Sends into SendBatch calls.
 *
 * A Send joins the queue and, if fewer than q->max calls are in flight,
 * makes a call itself with everything queued; otherwise it sleeps. When a
 * call returns, its leader hands each Send its outcome, wakes them, and
 * hands the lead to the Send now at the head of the queue, if any. So the
 * number of Sends per call follows the load: one at a time when idle, as
 * many as arrived during the previous call when busy.
 *
 * A queued item lives on its worker's stack; it is only touched by the
 * leader that took it, and its worker returns only after `done` is set
 * under the lock, which is the leader's last touch.
 */
#include "hb/sendq.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "gw/err.h"
#include "pb/status.h"

struct item {
	Relay__V1__SendBatchItem in;
	int                      rc;
	struct rpc_status       *st;
	struct hb_sent          *out;
	bool                     done;
	bool                     lead;    /* handed the lead, not yet woken */
	bool                     leading; /* its thread is making a call */
	pthread_cond_t           cv;
	struct item             *next;
};

/* A SendBatch reply, shared by the Sends it answered. */
struct batch {
	atomic_int                 refs;
	Relay__V1__SendBatchReply *reply;
};

struct hb_sendq {
	struct rpc_client   *rpc;
	int                  max;

	pthread_mutex_t mu;
	struct item    *head, *tail;
	int             inflight;
};

int
hb_sendq_new(struct rpc_client *rpc, int inflight, struct hb_sendq **out)
{
	struct hb_sendq *q;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		return GW_ENOMEM;
	q->rpc = rpc;
	q->max = inflight > 0 ? inflight : HB_SENDQ_INFLIGHT;
	pthread_mutex_init(&q->mu, NULL);
	*out = q;
	return GW_OK;
}

void
hb_sendq_free(struct hb_sendq *q)
{
	if (q == NULL)
		return;
	pthread_mutex_destroy(&q->mu);
	free(q);
}

void
hb_sent_release(struct hb_sent *sent)
{
	struct batch *b = sent->batch;

	sent->reply = NULL;
	sent->batch = NULL;
	if (b != NULL && atomic_fetch_sub(&b->refs, 1) == 1) {
		relay__v1__send_batch_reply__free_unpacked(b->reply, NULL);
		free(b);
	}
}

/* outcomes gives each Send of the batch its result from reply, or the
 * call's failure (rc, st) to all. The Sends that succeeded share reply
 * through a struct batch; with none, reply is freed here. */
static void
outcomes(struct item *batch, size_t n, int rc, struct rpc_status *st,
    Relay__V1__SendBatchReply *reply)
{
	struct batch *b = NULL;
	size_t        i = 0;
	int           refs = 0;

	if (rc == GW_OK && reply->n_results != n) {
		rc = GW_EINTERNAL;
		rpc_status_set(st, rc,
		    RELAY__V1__STATUS_CODE__INTERNAL,
		    "relayd answered a different number of Sends", "internal");
	}
	if (rc == GW_OK && (b = malloc(sizeof(*b))) == NULL) {
		rc = GW_ENOMEM;
		rpc_status_set(st, rc,
		    RELAY__V1__STATUS_CODE__RESOURCE_EXHAUSTED,
		    "out of memory", "out_of_memory");
	}
	for (struct item *it = batch; it != NULL; it = it->next, i++) {
		const Relay__V1__SendBatchResult *r;

		if (rc != GW_OK) {
			it->rc = rc;
			*it->st = *st;
			continue;
		}
		r = reply->results[i];
		it->rc = pb_err_from_status(r->code, r->details);
		if (it->rc == GW_OK && r->reply == NULL) {
			it->rc = GW_EINTERNAL;
			rpc_status_set(it->st, it->rc,
			    RELAY__V1__STATUS_CODE__INTERNAL,
			    "relayd's reply has no SendReply", "internal");
			continue;
		}
		rpc_status_set(it->st, it->rc, r->code, r->message, r->details);
		if (it->rc == GW_OK) {
			it->out->reply = r->reply;
			it->out->batch = b;
			refs++;
		}
	}
	if (reply != NULL && refs == 0) {
		relay__v1__send_batch_reply__free_unpacked(reply, NULL);
		free(b);
		return;
	}
	if (b != NULL) {
		b->reply = reply;
		atomic_init(&b->refs, refs);
	}
}

/* run_batch takes up to HB_SENDQ_BATCH queued Sends and makes their call.
 * Called and returns with q->mu held. */
static void
run_batch(struct hb_sendq *q)
{
	Relay__V1__SendBatchItem  *ins[HB_SENDQ_BATCH];
	Relay__V1__SendBatchRequest req = RELAY__V1__SEND_BATCH_REQUEST__INIT;
	Relay__V1__SendBatchReply  *reply = NULL;
	struct rpc_status           st;
	struct item                *batch = q->head, *last = q->head, *next;
	size_t                      n = 1;
	int                         rc;

	while (n < HB_SENDQ_BATCH && last->next != NULL) {
		last = last->next;
		n++;
	}
	if ((q->head = last->next) == NULL)
		q->tail = NULL;
	last->next = NULL;
	q->inflight++;
	pthread_mutex_unlock(&q->mu);

	n = 0;
	for (struct item *it = batch; it != NULL; it = it->next)
		ins[n++] = &it->in;
	req.n_items = n;
	req.items = ins;
	rc = rpc_invoke(q->rpc, &relay__v1__messaging__descriptor,
	    "SendBatch", &req.base, (ProtobufCMessage **) &reply, &st);
	outcomes(batch, n, rc, &st, rc == GW_OK ? reply : NULL);

	pthread_mutex_lock(&q->mu);
	q->inflight--;
	for (struct item *it = batch; it != NULL; it = next) {
		next = it->next; /* it may be gone once done is seen */
		it->done = true;
		pthread_cond_signal(&it->cv);
	}
	/* the freed slot goes to the oldest Send whose thread is asleep
	 * and not already handed a slot (a leader's own Send may still be
	 * queued behind the batch it carries) */
	for (struct item *h = q->head; h != NULL; h = h->next)
		if (!h->leading && !h->lead) {
			h->lead = true;
			pthread_cond_signal(&h->cv);
			break;
		}
}

int
hb_sendq_send(struct hb_sendq *q, const char *api_key,
    const Relay__V1__SendRequest *req, struct hb_sent *out,
    struct rpc_status *st)
{
	struct item it = { .st = st, .out = out };
	bool        may_lead = true; /* on arrival */

	out->reply = NULL;
	out->batch = NULL;
	relay__v1__send_batch_item__init(&it.in);
	it.in.api_key = (char *) api_key;
	/* relayd's implicit idempotency key: from the client's id counter,
	 * so a Send's id is never another call's */
	it.in.request_id = rpc_client_next_id(q->rpc);
	it.in.request = (Relay__V1__SendRequest *) req;
	pthread_cond_init(&it.cv, NULL);

	pthread_mutex_lock(&q->mu);
	if (q->tail != NULL)
		q->tail->next = &it;
	else
		q->head = &it;
	q->tail = &it;
	while (!it.done) {
		/* lead on arrival, when handed the lead, or again after
		 * leading (a batch may not have held this Send), if a call
		 * slot is free; a leader carries the oldest queued Sends */
		if ((may_lead || it.lead) && q->head != NULL &&
		    q->inflight < q->max) {
			it.lead = false;
			it.leading = true;
			run_batch(q);
			it.leading = false;
			may_lead = true;
		} else {
			/* a lead that found no free slot lapses: the call that
			 * took the slot hands it on when it ends */
			it.lead = false;
			may_lead = false;
			pthread_cond_wait(&it.cv, &q->mu);
		}
	}
	pthread_mutex_unlock(&q->mu);
	pthread_cond_destroy(&it.cv);
	return it.rc;
}
