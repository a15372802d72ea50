/*
 * rpc/server.h - serving core's services over nng REP.
 *
 * Several worker threads, each with its own REP context, receive
 * envelopes, check them (size, shape, deadline), dispatch through core and
 * reply. A worker blocks while its call waits for a group commit, so the
 * worker count bounds how many writes can share one commit: size it to the
 * concurrency you expect (relay-http connections, say).
 */
#ifndef RPC_SERVER_H
#define RPC_SERVER_H

#include <stddef.h>

struct gw_core;
struct rpc_server;

struct rpc_server_config {
	const char *url;     /* ipc://..., tcp://host:port, inproc://... */
	int         workers; /* 0: default (64) */
};

/* rpc_server_start listens on cfg->url and starts the workers. Returns
 * GW_OK, GW_EINVAL (bad URL), GW_EUNAVAIL (address in use) or
 * GW_ENOMEM. */
int rpc_server_start(struct gw_core *core, const struct rpc_server_config *cfg,
    struct rpc_server **out);

/* rpc_server_stop closes the socket, lets in-flight calls finish, joins
 * the workers and frees. Accepts NULL. */
void rpc_server_stop(struct rpc_server *srv);

#endif
