/*
 * client.c - the RPC client stub over nng REQ.
 *
 * One socket per client, dialed in the background (nng redials after
 * relayd restarts); one REQ context per call, so calls from many threads
 * run concurrently over the same connection. The method is looked up in
 * the service descriptor, which also gives the type of the reply.
 */
#include "rpc/client.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "gw/clock.h"
#include "gw/err.h"
#include "pb/status.h"
#include "relay/v1/rpc.pb-c.h"

#define TOKEN_MAX 256

/* An idle REQ context and its aios, kept for the next call: opening a
 * context and allocating aios per call costs more than the call. */
struct slot {
	nng_ctx      ctx;
	nng_aio     *send_aio;
	nng_aio     *recv_aio;
	struct slot *next;
};

struct rpc_client {
	nng_socket           sock;
	char                *token; /* mlock'd, NUL-terminated, or NULL */
	int                  timeout_ms;
	atomic_uint_fast64_t next_id;
	pthread_mutex_t      pool_mu;
	struct slot         *pool;
};

int
rpc_status_set(struct rpc_status *st, int err, uint32_t code, const char *msg,
    const char *details)
{
	if (st != NULL) {
		st->err  = err;
		st->code = code;
		snprintf(st->message, sizeof(st->message), "%s", msg);
		snprintf(st->details, sizeof(st->details), "%s", details);
	}
	return err;
}

int
rpc_client_open(const char *url, struct rpc_client **out)
{
	struct rpc_client *c;
	uint64_t           seed = 0;
	int                rv;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return GW_ENOMEM;
	c->timeout_ms = RPC_TIMEOUT_MS;
	pthread_mutex_init(&c->pool_mu, NULL);
	(void) !getrandom(&seed, sizeof(seed), 0);
	atomic_init(&c->next_id, seed | 1);
	if ((rv = nng_req0_open(&c->sock)) != 0) {
		free(c);
		return GW_ENOMEM;
	}
	nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ, RPC_MSG_MAX);
	nng_socket_set_ms(c->sock, NNG_OPT_RECONNMINT, 20);
	nng_socket_set_ms(c->sock, NNG_OPT_RECONNMAXT, 500);
	/* NONBLOCK: succeed even while relayd is down and keep redialing */
	if ((rv = nng_dial(c->sock, url, NULL, NNG_FLAG_NONBLOCK)) != 0) {
		nng_close(c->sock);
		free(c);
		return GW_EINVAL;
	}
	*out = c;
	return GW_OK;
}

static void
token_free(struct rpc_client *c)
{
	if (c->token == NULL)
		return;
	explicit_bzero(c->token, TOKEN_MAX);
	munlock(c->token, TOKEN_MAX);
	free(c->token);
	c->token = NULL;
}

static void
slot_free(struct slot *s)
{
	nng_ctx_close(s->ctx);
	nng_aio_free(s->send_aio);
	nng_aio_free(s->recv_aio);
	free(s);
}

void
rpc_client_close(struct rpc_client *c)
{
	if (c == NULL)
		return;
	while (c->pool != NULL) {
		struct slot *s = c->pool;

		c->pool = s->next;
		slot_free(s);
	}
	nng_close(c->sock);
	pthread_mutex_destroy(&c->pool_mu);
	token_free(c);
	free(c);
}

/* slot_get takes an idle context from the pool or opens one. */
static int
slot_get(struct rpc_client *c, struct slot **out)
{
	struct slot *s;
	int          rv;

	pthread_mutex_lock(&c->pool_mu);
	if ((s = c->pool) != NULL)
		c->pool = s->next;
	pthread_mutex_unlock(&c->pool_mu);
	if (s != NULL) {
		*out = s;
		return 0;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NNG_ENOMEM;
	if ((rv = nng_ctx_open(&s->ctx, c->sock)) != 0) {
		free(s);
		return rv;
	}
	if ((rv = nng_aio_alloc(&s->send_aio, NULL, NULL)) != 0 ||
	    (rv = nng_aio_alloc(&s->recv_aio, NULL, NULL)) != 0) {
		slot_free(s);
		return rv;
	}
	*out = s;
	return 0;
}

static void
slot_put(struct rpc_client *c, struct slot *s)
{
	pthread_mutex_lock(&c->pool_mu);
	s->next = c->pool;
	c->pool = s;
	pthread_mutex_unlock(&c->pool_mu);
}

uint64_t
rpc_client_next_id(struct rpc_client *c)
{
	return atomic_fetch_add(&c->next_id, 1);
}

int
rpc_client_set_admin_token(struct rpc_client *c, const char *token)
{
	token_free(c);
	if (token == NULL)
		return GW_OK;
	if (strlen(token) >= TOKEN_MAX)
		return GW_EINVAL;
	if ((c->token = malloc(TOKEN_MAX)) == NULL)
		return GW_ENOMEM;
	(void) mlock(c->token, TOKEN_MAX); /* best effort: keep out of swap */
	snprintf(c->token, TOKEN_MAX, "%s", token);
	return GW_OK;
}

void
rpc_client_set_timeout(struct rpc_client *c, int ms)
{
	c->timeout_ms = ms > 0 ? ms : RPC_TIMEOUT_MS;
}

/* roundtrip sends msg on an idle context and waits for the reply. (The
 * receive is posted only once the send completed: nng 1.5.2 crashes in
 * its timeout thread when both are pending on a REQ context and time
 * out.) A context that failed is closed rather than reused: it may still
 * hold the request. Takes msg. */
static int
roundtrip(struct rpc_client *c, nng_msg *msg, nng_msg **reply,
    struct rpc_status *st)
{
	struct slot *s;
	int          rv;

	if ((rv = slot_get(c, &s)) != 0) {
		nng_msg_free(msg);
		return rpc_status_set(st, GW_ENOMEM, RELAY__V1__STATUS_CODE__INTERNAL,
		    nng_strerror(rv), "");
	}
	nng_aio_set_timeout(s->send_aio, c->timeout_ms);
	nng_aio_set_msg(s->send_aio, msg);
	nng_ctx_send(s->ctx, s->send_aio);
	nng_aio_wait(s->send_aio);
	if ((rv = nng_aio_result(s->send_aio)) != 0) {
		nng_msg_free(nng_aio_get_msg(s->send_aio));
	} else {
		nng_aio_set_timeout(s->recv_aio, c->timeout_ms);
		nng_ctx_recv(s->ctx, s->recv_aio);
		nng_aio_wait(s->recv_aio);
		if ((rv = nng_aio_result(s->recv_aio)) == 0)
			*reply = nng_aio_get_msg(s->recv_aio);
	}
	if (rv == 0)
		slot_put(c, s);
	else
		slot_free(s);
	if (rv == NNG_ETIMEDOUT)
		return rpc_status_set(st, GW_EUNAVAIL,
		    RELAY__V1__STATUS_CODE__UNAVAILABLE,
		    "relayd did not answer in time (is it running?)",
		    "unavailable");
	if (rv != 0)
		return rpc_status_set(st, GW_EUNAVAIL,
		    RELAY__V1__STATUS_CODE__UNAVAILABLE, nng_strerror(rv),
		    "unavailable");
	return GW_OK;
}

int
rpc_call_raw(struct rpc_client *c, const char *method, const char *api_key,
    const uint8_t *payload, size_t len, uint8_t **out, size_t *outlen,
    struct rpc_status *st)
{
	Relay__V1__RpcRequest   req = RELAY__V1__RPC_REQUEST__INIT;
	Relay__V1__RpcResponse *resp;
	nng_msg                *msg, *rmsg = NULL;
	size_t                  n;
	int                     rc;

	req.method           = (char *) method;
	req.request_id       = rpc_client_next_id(c);
	req.deadline_unix_ms = gw_now_ms() + c->timeout_ms;
	req.payload.data     = (uint8_t *) payload;
	req.payload.len      = len;
	req.admin_token      = c->token != NULL ? c->token : "";
	req.api_key          = (char *) (api_key != NULL ? api_key : "");
	n                    = relay__v1__rpc_request__get_packed_size(&req);
	if (n > RPC_MSG_MAX)
		return rpc_status_set(st, GW_ETOOBIG,
		    RELAY__V1__STATUS_CODE__RESOURCE_EXHAUSTED,
		    "request too large", "too_large");
	if (nng_msg_alloc(&msg, n) != 0)
		return rpc_status_set(st, GW_ENOMEM,
		    RELAY__V1__STATUS_CODE__RESOURCE_EXHAUSTED, "out of memory",
		    "out_of_memory");
	relay__v1__rpc_request__pack(&req, nng_msg_body(msg));
	if ((rc = roundtrip(c, msg, &rmsg, st)) != GW_OK)
		return rc;
	resp = relay__v1__rpc_response__unpack(NULL, nng_msg_len(rmsg),
	    nng_msg_body(rmsg));
	nng_msg_free(rmsg);
	if (resp == NULL || resp->request_id != req.request_id) {
		if (resp != NULL)
			relay__v1__rpc_response__free_unpacked(resp, NULL);
		return rpc_status_set(st, GW_EINTERNAL,
		    RELAY__V1__STATUS_CODE__INTERNAL,
		    "malformed reply from relayd", "internal");
	}
	rc = pb_err_from_status(resp->code, resp->details);
	rpc_status_set(st, rc, resp->code, resp->message, resp->details);
	if (rc == GW_OK) {
		*outlen = resp->payload.len;
		if ((*out = malloc(resp->payload.len + 1)) == NULL)
			rc = rpc_status_set(st, GW_ENOMEM,
			    RELAY__V1__STATUS_CODE__RESOURCE_EXHAUSTED,
			    "out of memory", "out_of_memory");
		else if (resp->payload.len > 0)
			memcpy(*out, resp->payload.data, resp->payload.len);
	}
	relay__v1__rpc_response__free_unpacked(resp, NULL);
	return rc;
}

int
rpc_invoke_as(struct rpc_client *c, const char *api_key,
    const ProtobufCServiceDescriptor *service, const char *method,
    const ProtobufCMessage *req, ProtobufCMessage **resp,
    struct rpc_status *st)
{
	const ProtobufCMethodDescriptor *m;
	char                             name[160];
	uint8_t                          stackbuf[1024], *buf = stackbuf;
	uint8_t                         *out = NULL;
	size_t                           n, outlen = 0;
	int                              rc;

	m = protobuf_c_service_descriptor_get_method_by_name(service, method);
	if (m == NULL || req->descriptor != m->input)
		return rpc_status_set(st, GW_EINVAL,
		    RELAY__V1__STATUS_CODE__INVALID_ARGUMENT,
		    "no such method, or the wrong request type",
		    "invalid_argument");
	snprintf(name, sizeof(name), "%s/%s", service->name, method);
	n = protobuf_c_message_get_packed_size(req);
	if (n > sizeof(stackbuf) && (buf = malloc(n)) == NULL)
		return rpc_status_set(st, GW_ENOMEM,
		    RELAY__V1__STATUS_CODE__RESOURCE_EXHAUSTED, "out of memory",
		    "out_of_memory");
	protobuf_c_message_pack(req, buf);
	rc = rpc_call_raw(c, name, api_key, buf, n, &out, &outlen, st);
	/* requests carry credentials (SendBatch's keys, provider tokens):
	 * leave no copy behind */
	explicit_bzero(buf, n);
	if (buf != stackbuf)
		free(buf);
	if (rc != GW_OK)
		return rc;
	*resp = protobuf_c_message_unpack(m->output, NULL, outlen, out);
	free(out);
	if (*resp == NULL)
		return rpc_status_set(st, GW_EINTERNAL,
		    RELAY__V1__STATUS_CODE__INTERNAL,
		    "reply does not decode", "internal");
	return GW_OK;
}

int
rpc_invoke(struct rpc_client *c, const ProtobufCServiceDescriptor *service,
    const char *method, const ProtobufCMessage *req, ProtobufCMessage **resp,
    struct rpc_status *st)
{
	return rpc_invoke_as(c, NULL, service, method, req, resp, st);
}

static const char *
state_dir_or_default(const char *state_dir)
{
	const char *env = getenv("RELAY_STATE_DIR");

	if (state_dir != NULL && state_dir[0] != '\0')
		return state_dir;
	return env != NULL && env[0] != '\0' ? env : "./var";
}

void
rpc_default_url(const char *state_dir, char *buf, size_t len)
{
	const char *env = getenv("RELAY_RPC_URL");

	if (env != NULL && env[0] != '\0')
		snprintf(buf, len, "%s", env);
	else
		snprintf(buf, len, "ipc://%s/relayd.ipc",
		    state_dir_or_default(state_dir));
}

int
rpc_default_admin_token(const char *state_dir, char *buf, size_t len)
{
	const char *env = getenv("RELAY_ADMIN_TOKEN");
	char        path[4096];
	FILE       *f;
	size_t      n;

	if (env != NULL && env[0] != '\0') {
		snprintf(buf, len, "%s", env);
		return GW_OK;
	}
	snprintf(path, sizeof(path), "%s/admin.token",
	    state_dir_or_default(state_dir));
	if ((f = fopen(path, "re")) == NULL)
		return GW_ENOTFOUND;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
			    buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	return n > 0 ? GW_OK : GW_ENOTFOUND;
}
