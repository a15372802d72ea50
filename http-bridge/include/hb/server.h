/*
 * hb/server.h - relay-http: the public HTTP edge in front of relayd.
 *
 * A civetweb server (one worker thread per open connection, so size
 * threads >= the connections you expect) whose handlers decode HTTP into
 * Messaging and Webhooks RPCs over one shared, long-lived rpc_client, and
 * map the outcome back to HTTP. Every error body is
 * {"error":{"code":"...","message":"..."}}.
 */
#ifndef HB_SERVER_H
#define HB_SERVER_H

#include <stdbool.h>

#define HB_BODY_MAX (64 * 1024) /* request body cap (413 above) */
#define HB_THREADS_DFLT 128
#define HB_LISTEN_DFLT "127.0.0.1:8080"

struct hb_config {
	const char *listen;  /* civetweb listening_ports, "127.0.0.1:0" too */
	const char *rpc_url; /* relayd */
	int         threads; /* civetweb worker threads */
	int         rpc_timeout_ms;

	/* provider webhooks' public URL (hb/public_url.h); NULL: unset */
	const char *public_url; /* --public-url base */
	const char *trusted;    /* --trusted-proxy list */
	const char *hops;       /* --proxy-hops */
};

struct hb_server;

/* hb_server_start opens the RPC client and starts listening. Returns
 * GW_OK, GW_EINVAL (bad listen address, RPC URL, public URL, trusted
 * proxy list or hop count; logged), GW_ENOMEM. */
int hb_server_start(const struct hb_config *cfg, struct hb_server **out);

/* hb_server_port returns the TCP port actually bound (useful with :0). */
int hb_server_port(const struct hb_server *s);

/* hb_server_stop stops serving, waits for the workers, frees s.
 * Accepts NULL. */
void hb_server_stop(struct hb_server *s);

#endif
