/*
 * server.c - nng REP workers in front of core.
 *
 * Each worker thread owns one REP context and runs receive, check,
 * dispatch, reply in a loop. Blocking is fine here: the thread is ours,
 * not nng's, and a worker waiting on a group commit is what lets the
 * writer batch. Everything received is untrusted: an envelope that does
 * not decode, a request past its deadline or an unknown method gets an
 * error status, never a crash.
 */
#include "rpc/server.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>

#include "gw/clock.h"
#include "gw/core.h"
#include "gw/err.h"
#include "gw/log.h"
#include "pb/status.h"
#include "rpc/client.h"
#include "relay/v1/rpc.pb-c.h"

#define WORKERS_DEFAULT 64

struct worker {
	struct rpc_server *srv;
	pthread_t          thread;
	nng_ctx            ctx;
	nng_aio           *aio;
	bool               started;
};

struct rpc_server {
	struct gw_core *core;
	nng_socket      sock;
	struct worker  *workers;
	int             nworkers;
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
	nng_msg_clear(msg);
	if (nng_msg_realloc(msg, n) != 0)
		return GW_ENOMEM;
	relay__v1__rpc_response__pack(&resp, nng_msg_body(msg));
	return GW_OK;
}

static void
handle(struct rpc_server *srv, nng_msg *msg)
{
	Relay__V1__RpcRequest *req;
	struct gw_call         call = { 0 };

	req = relay__v1__rpc_request__unpack(NULL, nng_msg_len(msg),
	    nng_msg_body(msg));
	if (req == NULL) {
		gw_warn("rpc", "malformed envelope (%zu bytes) rejected",
		    nng_msg_len(msg));
		reply(msg, 0, GW_EINVAL, "malformed request envelope", NULL, 0);
		return;
	}
	if (req->deadline_unix_ms != 0 && gw_now_ms() > req->deadline_unix_ms) {
		gw_warn("rpc", "%.100s: past its deadline, not executed",
		    req->method);
		reply(msg, req->request_id, GW_ETIMEDOUT,
		    "deadline passed before the call was executed", NULL, 0);
		goto out;
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
out:
	/* the envelope may hold credentials: wipe before freeing */
	if (req->admin_token != NULL)
		explicit_bzero(req->admin_token, strlen(req->admin_token));
	if (req->api_key != NULL)
		explicit_bzero(req->api_key, strlen(req->api_key));
	relay__v1__rpc_request__free_unpacked(req, NULL);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	for (;;) {
		nng_msg *msg;
		int      rv;

		nng_ctx_recv(w->ctx, w->aio);
		nng_aio_wait(w->aio);
		if ((rv = nng_aio_result(w->aio)) != 0) {
			if (rv == NNG_ECLOSED)
				break;
			continue;
		}
		msg = nng_aio_get_msg(w->aio);
		handle(w->srv, msg);
		nng_aio_set_msg(w->aio, msg);
		nng_ctx_send(w->ctx, w->aio);
		nng_aio_wait(w->aio);
		if ((rv = nng_aio_result(w->aio)) != 0) {
			nng_msg_free(nng_aio_get_msg(w->aio));
			if (rv == NNG_ECLOSED)
				break;
		}
	}
	return NULL;
}

static int
nng_to_err(int rv)
{
	switch (rv) {
	case NNG_ENOMEM:
		return GW_ENOMEM;
	case NNG_EADDRINUSE:
		return GW_EUNAVAIL;
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
	int                rv, n = cfg->workers > 0 ? cfg->workers
						     : WORKERS_DEFAULT;

	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return GW_ENOMEM;
	srv->core = core;
	if ((srv->workers = calloc((size_t) n, sizeof(*srv->workers))) == NULL) {
		free(srv);
		return GW_ENOMEM;
	}
	if ((rv = nng_rep0_open(&srv->sock)) != 0)
		goto fail;
	nng_socket_set_size(srv->sock, NNG_OPT_RECVMAXSZ, RPC_MSG_MAX);
	if ((rv = nng_listen(srv->sock, cfg->url, NULL, 0)) != 0) {
		gw_error("rpc", "cannot listen on %s: %s", cfg->url,
		    nng_strerror(rv));
		goto fail;
	}
	for (int i = 0; i < n; i++) {
		struct worker *w = &srv->workers[i];

		w->srv = srv;
		if ((rv = nng_ctx_open(&w->ctx, srv->sock)) != 0 ||
		    (rv = nng_aio_alloc(&w->aio, NULL, NULL)) != 0)
			goto fail;
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
			rv = NNG_ENOMEM;
			goto fail;
		}
		w->started = true;
		srv->nworkers++;
	}
	gw_info("rpc", "listening on %s with %d workers", cfg->url, n);
	*out = srv;
	return GW_OK;
fail:
	/* stop copes with a half-built server: closing an unopened socket is
	 * harmless, and only started workers are joined */
	srv->nworkers = n;
	rpc_server_stop(srv);
	return nng_to_err(rv);
}

void
rpc_server_stop(struct rpc_server *srv)
{
	if (srv == NULL)
		return;
	/* closing the socket fails every pending receive with NNG_ECLOSED */
	nng_close(srv->sock);
	for (int i = 0; i < srv->nworkers; i++) {
		struct worker *w = &srv->workers[i];

		if (w->started)
			pthread_join(w->thread, NULL);
		if (w->aio != NULL)
			nng_aio_free(w->aio);
	}
	free(srv->workers);
	free(srv);
}
