/*
 * server.c - nng REP contexts in front of core.
 *
 * Every context runs an asynchronous receive/reply cycle driven by its
 * aio callback, so a request costs no thread hand-off before it is
 * decoded. Calls whose service never blocks (Health) are answered right
 * there. The rest go to a pool of threads of ours: those may wait on a
 * group commit, and many of them waiting at once is what lets the writer
 * batch. Their replies are sent asynchronously and the callback posts the
 * next receive.
 *
 * Everything received is untrusted: an envelope that does not decode, a
 * request past its deadline or an unknown method gets an error status,
 * never a crash.
 *
 * nng 1.5.2 (Debian 12's) has a bug in its ipc:// transport: a peer that
 * disconnects during the SP handshake stops the listener from accepting
 * anything ever again (nng issue #1518, fixed in 1.6). Any local process
 * can do that by connecting to the socket and closing it. So for ipc://
 * URLs a watchdog thread makes a fresh connection every second and pings;
 * after two failures in a row it closes the listener and listens again.
 * Established connections are not affected by the bug.
 */
#include "rpc/server.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "gw/clock.h"
#include "gw/core.h"
#include "gw/err.h"
#include "gw/log.h"
#include "pb/status.h"
#include "relay/v1/rpc.pb-c.h"
#include "rpc/client.h"

#define WORKERS_DEFAULT 64
#define WATCH_PERIOD_MS 1000
#define PROBE_TIMEOUT_MS 1500

/* One REP context: one request in flight at a time. */
struct slot {
	struct rpc_server     *srv;
	nng_ctx                ctx;
	nng_aio               *aio;
	bool                   sending;
	nng_msg               *msg; /* the request, then the reply */
	Relay__V1__RpcRequest *req; /* decoded, while queued for a thread */
	struct slot           *next;
};

struct rpc_server {
	struct gw_core *core;
	nng_socket      sock;
	nng_listener    listener;
	char           *url;
	struct slot    *slots;
	int             nslots;

	pthread_mutex_t mu;
	pthread_cond_t  cv;
	struct slot    *head, *tail; /* calls waiting for a thread */
	bool            stopping;
	pthread_t      *threads;
	int             nthreads;

	pthread_t      watchdog;
	bool           watching;
	pthread_cond_t watch_cv; /* with mu: wakes the watchdog to stop */
	uint64_t       relistens;
};

/* reply packs a response into msg (reused from the request). */
static int
reply(nng_msg *msg, uint64_t request_id, int err, const char *text,
    const uint8_t *payload, size_t len)
{
	Relay__V1__RpcResponse resp = RELAY__V1__RPC_RESPONSE__INIT;
	size_t                 n;

	resp.request_id   = request_id;
	resp.code         = pb_status_from_err(err);
	resp.message      = (char *) (text ? text : "");
	resp.details      = (char *) (err == GW_OK ? "" : gw_errname(err));
	resp.payload.data = (uint8_t *) payload;
	resp.payload.len  = len;
	n                 = relay__v1__rpc_response__get_packed_size(&resp);
	/* msg held the request, and requests carry credentials (the
	 * envelope's, SendBatch's keys): none may linger in its buffer */
	explicit_bzero(nng_msg_body(msg), nng_msg_len(msg));
	nng_msg_clear(msg);
	if (nng_msg_realloc(msg, n) != 0)
		return GW_ENOMEM;
	relay__v1__rpc_response__pack(&resp, nng_msg_body(msg));
	return GW_OK;
}

static void
free_request(Relay__V1__RpcRequest *req)
{
	/* the envelope may hold credentials: wipe before freeing */
	if (req->admin_token != NULL)
		explicit_bzero(req->admin_token, strlen(req->admin_token));
	if (req->api_key != NULL)
		explicit_bzero(req->api_key, strlen(req->api_key));
	/* the payload's copy too: SendBatch carries a key per item, and a
	 * call refused for its deadline never reaches the handler's wipe */
	if (req->payload.data != NULL)
		explicit_bzero(req->payload.data, req->payload.len);
	relay__v1__rpc_request__free_unpacked(req, NULL);
}

/* execute runs a decoded call and turns msg into its reply. Takes req. */
static void
execute(struct rpc_server *srv, Relay__V1__RpcRequest *req, nng_msg *msg)
{
	struct gw_call call = { 0 };

	if (req->deadline_unix_ms != 0 && gw_now_ms() > req->deadline_unix_ms) {
		gw_warn("rpc", "%.100s: past its deadline, not executed",
		    req->method);
		reply(msg, req->request_id, GW_ETIMEDOUT,
		    "deadline passed before the call was executed", NULL, 0);
		free_request(req);
		return;
	}
	call.api_key     = req->api_key[0] ? req->api_key : NULL;
	call.deadline_ms = req->deadline_unix_ms;
	call.request_id  = req->request_id;
	gw_call_dispatch(srv->core, &call, req->method, req->admin_token,
	    req->payload.data, req->payload.len);
	if (call.err != GW_OK) {
		if (call.err == GW_EAUTH || call.err == GW_ENOTFOUND ||
		    call.err == GW_EINTERNAL || call.err == GW_ESTORE)
			gw_info("rpc", "%.100s: %s: %s", req->method,
			    gw_errname(call.err), call.errmsg);
		reply(msg, req->request_id, call.err, call.errmsg, NULL, 0);
	} else if (reply(msg, req->request_id, GW_OK, "", call.reply,
		       call.reply_len) != GW_OK) {
		reply(msg, req->request_id, GW_ENOMEM, "reply too large", NULL,
		    0);
	}
	free(call.reply);
	free_request(req);
}

static void
send_reply(struct slot *s)
{
	s->sending = true;
	nng_aio_set_msg(s->aio, s->msg);
	s->msg = NULL;
	nng_ctx_send(s->ctx, s->aio);
}

/* slot_cb runs on nng's threads when a receive or a send completes. */
static void
slot_cb(void *arg)
{
	struct slot           *s   = arg;
	struct rpc_server     *srv = s->srv;
	Relay__V1__RpcRequest *req;
	int                    rv  = nng_aio_result(s->aio);

	if (s->sending) {
		s->sending = false;
		if (rv != 0)
			nng_msg_free(nng_aio_get_msg(s->aio));
		if (rv != NNG_ECLOSED)
			nng_ctx_recv(s->ctx, s->aio);
		return;
	}
	if (rv != 0) {
		if (rv != NNG_ECLOSED)
			nng_ctx_recv(s->ctx, s->aio);
		return;
	}
	s->msg = nng_aio_get_msg(s->aio);
	req    = relay__v1__rpc_request__unpack(NULL, nng_msg_len(s->msg),
		   nng_msg_body(s->msg));
	if (req == NULL) {
		gw_warn("rpc", "malformed envelope (%zu bytes) rejected",
		    nng_msg_len(s->msg));
		reply(s->msg, 0, GW_EINVAL, "malformed request envelope", NULL,
		    0);
		send_reply(s);
		return;
	}
	if (gw_core_method_nonblocking(srv->core, req->method)) {
		execute(srv, req, s->msg);
		send_reply(s);
		return;
	}
	s->req  = req;
	s->next = NULL;
	pthread_mutex_lock(&srv->mu);
	if (srv->tail != NULL)
		srv->tail->next = s;
	else
		srv->head = s;
	srv->tail = s;
	pthread_cond_signal(&srv->cv);
	pthread_mutex_unlock(&srv->mu);
}

static void *
thread_main(void *arg)
{
	struct rpc_server *srv = arg;

	pthread_mutex_lock(&srv->mu);
	for (;;) {
		struct slot *s;

		while (srv->head == NULL && !srv->stopping)
			pthread_cond_wait(&srv->cv, &srv->mu);
		if ((s = srv->head) == NULL)
			break;
		if ((srv->head = s->next) == NULL)
			srv->tail = NULL;
		pthread_mutex_unlock(&srv->mu);
		execute(srv, s->req, s->msg);
		s->req = NULL;
		send_reply(s);
		pthread_mutex_lock(&srv->mu);
	}
	pthread_mutex_unlock(&srv->mu);
	return NULL;
}

/* probe makes a new connection to url and pings over it: true when the
 * listener accepted it and a reply came back. */
static bool
probe(const char *url)
{
	Relay__V1__RpcRequest req = RELAY__V1__RPC_REQUEST__INIT;
	uint8_t               buf[64];
	nng_socket            s;
	nng_msg              *m;
	bool                  ok = false;

	if (nng_req0_open(&s) != 0)
		return true; /* cannot tell; do not act on it */
	nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, PROBE_TIMEOUT_MS);
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, PROBE_TIMEOUT_MS);
	req.method = "relay.v1.Health/Ping";
	if (nng_dial(s, url, NULL, NNG_FLAG_NONBLOCK) == 0 &&
	    nng_send(s, buf, relay__v1__rpc_request__pack(&req, buf), 0) ==
		0 &&
	    nng_recvmsg(s, &m, 0) == 0) {
		nng_msg_free(m);
		ok = true;
	}
	nng_close(s);
	return ok;
}

static void *
watchdog_main(void *arg)
{
	struct rpc_server *srv = arg;
	int                failures = 0;

	pthread_mutex_lock(&srv->mu);
	while (!srv->stopping) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += WATCH_PERIOD_MS / 1000;
		pthread_cond_timedwait(&srv->watch_cv, &srv->mu, &ts);
		if (srv->stopping)
			break;
		pthread_mutex_unlock(&srv->mu);
		failures = probe(srv->url) ? 0 : failures + 1;
		if (failures >= 2) {
			int rv;

			gw_warn("rpc", "%s stopped accepting connections (nng "
				       "1.5 ipc bug); listening again",
			    srv->url);
			nng_listener_close(srv->listener);
			if ((rv = nng_listen(srv->sock, srv->url, &srv->listener,
				 0)) != 0)
				gw_error("rpc", "cannot listen again on %s: %s",
				    srv->url, nng_strerror(rv));
			srv->relistens++;
			failures = 0;
		}
		pthread_mutex_lock(&srv->mu);
	}
	pthread_mutex_unlock(&srv->mu);
	return NULL;
}

static int
nng_to_err(int rv)
{
	switch (rv) {
	case NNG_ENOMEM:
		return GW_ENOMEM;
	case NNG_EADDRINVAL:
	case NNG_EINVAL:
	case NNG_ENOTSUP:
		return GW_EINVAL;
	default:
		return GW_EUNAVAIL;
	}
}

int
rpc_server_start(struct gw_core *core, const struct rpc_server_config *cfg,
    struct rpc_server **out)
{
	struct rpc_server *srv;
	int rv = 0, n = cfg->workers > 0 ? cfg->workers : WORKERS_DEFAULT;

	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return GW_ENOMEM;
	srv->core = core;
	pthread_mutex_init(&srv->mu, NULL);
	pthread_cond_init(&srv->cv, NULL);
	pthread_cond_init(&srv->watch_cv, NULL);
	if ((srv->url = strdup(cfg->url)) == NULL) {
		rv = NNG_ENOMEM;
		goto fail;
	}
	/* twice as many contexts as threads: calls queue while all threads
	 * wait on a commit, and nonblocking calls never wait for a thread */
	srv->slots   = calloc((size_t) n * 2, sizeof(*srv->slots));
	srv->threads = calloc((size_t) n, sizeof(*srv->threads));
	if (srv->slots == NULL || srv->threads == NULL) {
		rv = NNG_ENOMEM;
		goto fail;
	}
	if ((rv = nng_rep0_open(&srv->sock)) != 0)
		goto fail;
	nng_socket_set_size(srv->sock, NNG_OPT_RECVMAXSZ, RPC_MSG_MAX);
	if ((rv = nng_listen(srv->sock, cfg->url, &srv->listener, 0)) != 0) {
		gw_error("rpc", "cannot listen on %s: %s", cfg->url,
		    nng_strerror(rv));
		goto fail;
	}
	for (int i = 0; i < n; i++) {
		if (pthread_create(&srv->threads[i], NULL, thread_main, srv) !=
		    0) {
			rv = NNG_ENOMEM;
			goto fail;
		}
		pthread_setname_np(srv->threads[i], "rpc-worker");
		srv->nthreads++;
	}
	for (int i = 0; i < n * 2; i++) {
		struct slot *s = &srv->slots[i];

		s->srv = srv;
		if ((rv = nng_ctx_open(&s->ctx, srv->sock)) != 0 ||
		    (rv = nng_aio_alloc(&s->aio, slot_cb, s)) != 0)
			goto fail;
		srv->nslots++;
		nng_ctx_recv(s->ctx, s->aio);
	}
	if (strncmp(cfg->url, "ipc://", 6) == 0) {
		if (pthread_create(&srv->watchdog, NULL, watchdog_main, srv) != 0) {
			rv = NNG_ENOMEM;
			goto fail;
		}
		pthread_setname_np(srv->watchdog, "rpc-watchdog");
		srv->watching = true;
	}
	gw_info("rpc", "listening on %s with %d threads", cfg->url, n);
	*out = srv;
	return GW_OK;
fail:
	rpc_server_stop(srv); /* copes with a half-built server */
	return nng_to_err(rv);
}

void
rpc_server_stop(struct rpc_server *srv)
{
	if (srv == NULL)
		return;
	pthread_mutex_lock(&srv->mu);
	srv->stopping = true;
	pthread_cond_broadcast(&srv->cv);
	pthread_cond_signal(&srv->watch_cv);
	pthread_mutex_unlock(&srv->mu);
	if (srv->watching)
		pthread_join(srv->watchdog, NULL);
	/* no more requests; receives complete with NNG_ECLOSED */
	nng_close(srv->sock);
	/* threads finish the calls already queued (their replies fail) */
	for (int i = 0; i < srv->nthreads; i++)
		pthread_join(srv->threads[i], NULL);
	for (int i = 0; i < srv->nslots; i++)
		nng_aio_stop(srv->slots[i].aio);
	/* a call queued after the threads left is dropped here */
	for (struct slot *s = srv->head; s != NULL; s = s->next) {
		free_request(s->req);
		nng_msg_free(s->msg);
	}
	for (int i = 0; i < srv->nslots; i++)
		nng_aio_free(srv->slots[i].aio);
	pthread_mutex_destroy(&srv->mu);
	pthread_cond_destroy(&srv->cv);
	pthread_cond_destroy(&srv->watch_cv);
	free(srv->url);
	free(srv->threads);
	free(srv->slots);
	free(srv);
}
