/*
 * gw/core.h - relayd's domain: the services declared in proto/, as plain
 * functions from a request message to a response message and a status.
 *
 * Each service is a protobuf-c ProtobufCService; a transport finds the
 * method through the service descriptor and calls service->invoke() with
 * gw_call_reply as the closure and a struct gw_call as its data. A handler
 * either calls the closure once with its response, or records an error
 * with gw_call_fail() and returns. Nothing here knows about sockets.
 */
#ifndef GW_CORE_H
#define GW_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

struct gw_core;
struct gw_store;

struct gw_core_config {
	const char *state_dir;       /* must exist */
	const char *master_key_b64;  /* MASTER_ENCRYPTION_KEY or NULL */
	const char *admin_token;     /* RELAY_ADMIN_TOKEN or NULL */
};

/* gw_core_open opens the store and keyring under cfg->state_dir. */
int  gw_core_open(const struct gw_core_config *cfg, struct gw_core **out);
void gw_core_close(struct gw_core *core);

struct gw_store *gw_core_store(struct gw_core *core);

enum gw_auth {
	GW_AUTH_NONE,    /* anyone may call */
	GW_AUTH_ADMIN,   /* the admin token is required */
	GW_AUTH_API_KEY, /* a client's API key; the handler checks it */
};

struct gw_service {
	ProtobufCService *service;
	enum gw_auth      auth;
	bool              nonblocking; /* handlers never wait (no writes, no
					* scans): a transport may run them on
					* its I/O threads */
};

/* gw_core_services returns the services core implements; the array lives
 * as long as core. */
const struct gw_service *gw_core_services(struct gw_core *core, size_t *n);

/* gw_core_method_nonblocking reports whether method ("pkg.Svc/Method")
 * belongs to a service whose handlers never block. */
bool gw_core_method_nonblocking(struct gw_core *core, const char *method);

/* gw_core_check_admin compares token to the admin token, constant time. */
bool gw_core_check_admin(struct gw_core *core, const char *token, size_t len);

/* One call in flight. The transport fills the inputs; core fills err,
 * errmsg and reply. */
struct gw_call {
	const char *api_key;      /* borrowed; NULL if none */
	int64_t     deadline_ms;  /* Unix ms; 0: none */
	uint64_t    request_id;

	int      err;          /* GW_OK unless gw_call_fail() was called */
	char     errmsg[256];
	bool     replied;
	uint8_t *reply;        /* packed response, malloc'd; the transport frees */
	size_t   reply_len;
};

/* gw_call_fail records err and a message for the caller (printf-style;
 * never put a secret in it). Returns err. */
int gw_call_fail(struct gw_call *call, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* gw_call_reply is the closure handed to service->invoke(): it packs msg
 * into call->reply. msg NULL means failure (call->err must be set). */
void gw_call_reply(const ProtobufCMessage *msg, void *call);

/* gw_call_dispatch finds "pkg.Service/Method" among core's services,
 * decodes payload as its input, checks credentials and invokes it. The
 * outcome is in call. Always returns call->err. */
int gw_call_dispatch(struct gw_core *core, struct gw_call *call,
    const char *method, const char *admin_token, const uint8_t *payload,
    size_t len);

#endif
