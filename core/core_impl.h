/* core_impl.h - core's private state, shared by its service files. */
#ifndef GW_CORE_IMPL_H
#define GW_CORE_IMPL_H

#include "gw/core.h"
#include "gw/crypto.h"
#include "gw/router.h"
#include "gw/store.h"
#include "relay/v1/admin.pb-c.h"
#include "relay/v1/messaging.pb-c.h"
#include "relay/v1/webhooks.pb-c.h"

struct gw_dispatcher;
struct gw_forwarder;
struct gw_keycache;

struct gw_core {
	struct gw_store   *store;
	struct gw_keyring *keyring;
	struct gw_router  *router;

	struct gw_keycache *keys;
	/* set while a dispatcher runs, so that Send can wake it */
	struct gw_dispatcher *_Atomic dispatcher;
	/* set while a forwarder runs, so that webhooks can wake it */
	struct gw_forwarder *_Atomic forwarder;

	Relay__V1__Admin_Service     admin;
	Relay__V1__Health_Service    health;
	Relay__V1__Messaging_Service messaging;
	Relay__V1__Webhooks_Service  webhooks;
	struct gw_service            services[4];
};

#define GW_CONTAINER_OF(p, type, member)                                       \
	((type *) (void *) ((char *) (p) - offsetof(type, member)))

/* Service tables, defined in admin.c and health.c. */
extern const Relay__V1__Admin_Service  gw_admin_service;
extern const Relay__V1__Health_Service gw_health_service;
extern const Relay__V1__Messaging_Service gw_messaging_service;
extern const Relay__V1__Webhooks_Service  gw_webhooks_service;

/* The API-key cache of the Messaging service (messaging.c). Entries are
 * valid for one generation; gw_keycache_invalidate() starts a new one, so
 * a revocation applies to the very next request. */
int  gw_keycache_new(struct gw_keycache **out);
void gw_keycache_free(struct gw_keycache *kc);
void gw_keycache_invalidate(struct gw_keycache *kc);

/* gw_dispatcher_kick wakes the dispatcher (dispatcher.c); NULL is fine. */
void gw_dispatcher_kick(struct gw_dispatcher *d);

#endif
