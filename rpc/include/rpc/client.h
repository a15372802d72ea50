/*
 * rpc/client.h - calling relayd: one nng REQ socket, a context per call,
 * so one process can have many calls in flight from many threads.
 *
 * The socket dials in the background and redials after relayd restarts;
 * a call made while relayd is away waits up to its timeout, then fails
 * with GW_EUNAVAIL. Methods are found through the service descriptor, so
 * the stub is the same for every method:
 *
 *	rpc_invoke(c, &relay__v1__admin__descriptor, "CreateClient",
 *	    &req.base, (ProtobufCMessage **) &client, &st);
 */
#ifndef RPC_CLIENT_H
#define RPC_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

struct rpc_client;

#define RPC_MSG_MAX        (4u << 20) /* largest envelope either side accepts */
#define RPC_TIMEOUT_MS     10000
#define RPC_URL_MAX        4200

/* The outcome of a call beyond its gw_err. */
struct rpc_status {
	int      err;          /* gw_err, GW_OK on success */
	uint32_t code;         /* gRPC status code */
	char     message[256]; /* from relayd, or describing a local failure */
	char     details[64];  /* stable reason name */
};

/* rpc_client_open starts dialing url. Returns GW_OK, GW_EINVAL (a URL nng
 * does not accept) or GW_ENOMEM. */
int  rpc_client_open(const char *url, struct rpc_client **out);
void rpc_client_close(struct rpc_client *c);

/* rpc_client_next_id returns a request id no other call of this client
 * uses (random start per client, then counting). relayd takes a Send's
 * request id as its implicit idempotency key, so ids given to items of a
 * SendBatch come from here too. Thread-safe. */
uint64_t rpc_client_next_id(struct rpc_client *c);

/* rpc_status_set fills st (may be NULL) and returns err. */
int rpc_status_set(struct rpc_status *st, int err, uint32_t code,
    const char *msg, const char *details);

/* rpc_client_set_admin_token copies token (NULL clears) into locked
 * memory; it is sent with every call. */
int rpc_client_set_admin_token(struct rpc_client *c, const char *token);

/* rpc_client_set_timeout sets the per-call timeout (default
 * RPC_TIMEOUT_MS), which is also sent to relayd as the call's deadline. */
void rpc_client_set_timeout(struct rpc_client *c, int ms);

/* rpc_invoke calls service/method with req (whose type must be the
 * method's input) and, on GW_OK, stores the unpacked output in *resp
 * (owned by the caller: protobuf_c_message_free_unpacked). api_key, if
 * not NULL, is sent as the caller's client credential. st may be NULL.
 * Thread-safe. Returns the gw_err. */
int rpc_invoke_as(struct rpc_client *c, const char *api_key,
    const ProtobufCServiceDescriptor *service, const char *method,
    const ProtobufCMessage *req, ProtobufCMessage **resp,
    struct rpc_status *st);

int rpc_invoke(struct rpc_client *c, const ProtobufCServiceDescriptor *service,
    const char *method, const ProtobufCMessage *req, ProtobufCMessage **resp,
    struct rpc_status *st);

/* rpc_call_raw sends an already-packed payload to a method named by string
 * and returns the raw reply payload (malloc'd, caller frees). For tools
 * and tests that speak the envelope directly. */
int rpc_call_raw(struct rpc_client *c, const char *method, const char *api_key,
    const uint8_t *payload, size_t len, uint8_t **out, size_t *outlen,
    struct rpc_status *st);

/* Defaults shared by every caller (relayctl, relay-tui, relay-http):
 * rpc_default_url writes $RELAY_RPC_URL, else ipc://<state dir>/relayd.ipc,
 * where the state dir is state_dir, else $RELAY_STATE_DIR, else ./var. */
void rpc_default_url(const char *state_dir, char *buf, size_t len);

/* rpc_default_admin_token writes $RELAY_ADMIN_TOKEN, else the contents of
 * <state dir>/admin.token. Returns GW_OK or GW_ENOTFOUND. */
int rpc_default_admin_token(const char *state_dir, char *buf, size_t len);

#endif
