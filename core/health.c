/* health.c - the unauthenticated Health service: liveness and the no-op
 * call that the RPC benchmark measures. */
#include "core_impl.h"
#include "gw/clock.h"

static void
health_ping(Relay__V1__Health_Service *svc, const Relay__V1__PingRequest *req,
    Relay__V1__PingReply_Closure done, void *arg)
{
	Relay__V1__PingReply out = RELAY__V1__PING_REPLY__INIT;

	(void) svc;
	out.data           = req->data;
	out.server_unix_ms = gw_now_ms();
	done(&out, arg);
}

const Relay__V1__Health_Service gw_health_service =
    RELAY__V1__HEALTH__INIT(health_);
