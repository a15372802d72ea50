/* core_impl.h - core's private state, shared by its service files. */
#ifndef GW_CORE_IMPL_H
#define GW_CORE_IMPL_H

#include "gw/core.h"
#include "gw/crypto.h"
#include "gw/router.h"
#include "gw/store.h"
#include "relay/v1/admin.pb-c.h"

struct gw_core {
	struct gw_store   *store;
	struct gw_keyring *keyring;
	struct gw_router  *router;

	Relay__V1__Admin_Service  admin;
	Relay__V1__Health_Service health;
	struct gw_service         services[2];
};

#define GW_CONTAINER_OF(p, type, member)                                       \
	((type *) (void *) ((char *) (p) - offsetof(type, member)))

/* Service tables, defined in admin.c and health.c. */
extern const Relay__V1__Admin_Service  gw_admin_service;
extern const Relay__V1__Health_Service gw_health_service;

#endif
