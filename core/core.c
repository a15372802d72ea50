/*
 * core.c - relayd's domain object: store, keyring, router and the service
 * tables, and the one generic dispatcher that finds a method through
 * protobuf-c's service descriptors (no switch per method).
 */
#include "gw/core.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_impl.h"
#include "gw/err.h"
#include "gw/log.h"

int
gw_core_open(const struct gw_core_config *cfg, struct gw_core **out)
{
	struct gw_core *core;
	int             rc;

	if ((core = calloc(1, sizeof(*core))) == NULL)
		return GW_ENOMEM;
	if ((rc = gw_keyring_open(cfg->state_dir, cfg->master_key_b64,
		 cfg->admin_token, &core->keyring)) != GW_OK)
		goto fail;
	if ((rc = gw_store_open(cfg->state_dir, &core->store)) != GW_OK)
		goto fail;
	if ((rc = gw_router_new(core->store, &core->router)) != GW_OK)
		goto fail;
	if ((rc = gw_keycache_new(&core->keys)) != GW_OK)
		goto fail;
	core->admin       = gw_admin_service;
	core->health      = gw_health_service;
	core->services[0] = (struct gw_service) { &core->admin.base,
		GW_AUTH_ADMIN };
	core->services[1] = (struct gw_service) { &core->health.base,
		GW_AUTH_NONE, .nonblocking = true };
	core->messaging   = gw_messaging_service;
	core->services[2] = (struct gw_service) { &core->messaging.base,
		GW_AUTH_API_KEY };
	/* relay-http calls it for providers; the provider's signature,
	 * checked against the account's sealed token, authenticates */
	core->webhooks    = gw_webhooks_service;
	core->services[3] = (struct gw_service) { &core->webhooks.base,
		GW_AUTH_NONE };
	*out = core;
	return GW_OK;
fail:
	gw_core_close(core);
	return rc;
}

void
gw_core_close(struct gw_core *core)
{
	if (core == NULL)
		return;
	gw_keycache_free(core->keys);
	gw_router_free(core->router);
	gw_store_close(core->store);
	gw_keyring_close(core->keyring);
	free(core);
}

struct gw_store *
gw_core_store(struct gw_core *core)
{
	return core->store;
}

const struct gw_service *
gw_core_services(struct gw_core *core, size_t *n)
{
	*n = sizeof(core->services) / sizeof(core->services[0]);
	return core->services;
}

bool
gw_core_check_admin(struct gw_core *core, const char *token, size_t len)
{
	return gw_keyring_check_admin(core->keyring, token, len);
}

int
gw_call_fail(struct gw_call *call, int err, const char *fmt, ...)
{
	va_list ap;

	GW_ASSERT(err != GW_OK);
	call->err = err;
	va_start(ap, fmt);
	vsnprintf(call->errmsg, sizeof(call->errmsg), fmt, ap);
	va_end(ap);
	return err;
}

void
gw_call_reply(const ProtobufCMessage *msg, void *arg)
{
	struct gw_call *call = arg;
	size_t          n;

	GW_ASSERT(!call->replied);
	call->replied = true;
	if (msg == NULL) {
		if (call->err == GW_OK)
			gw_call_fail(call, GW_EINTERNAL, "handler failed");
		return;
	}
	n = protobuf_c_message_get_packed_size(msg);
	if ((call->reply = malloc(n ? n : 1)) == NULL) {
		gw_call_fail(call, GW_ENOMEM, "out of memory");
		return;
	}
	call->reply_len = protobuf_c_message_pack(msg, call->reply);
}

static const struct gw_service *
find_service(struct gw_core *core, const char *name, size_t len)
{
	size_t                   n;
	const struct gw_service *s = gw_core_services(core, &n);

	for (size_t i = 0; i < n; i++) {
		const char *sn = s[i].service->descriptor->name;

		if (strlen(sn) == len && memcmp(sn, name, len) == 0)
			return &s[i];
	}
	return NULL;
}

bool
gw_core_method_nonblocking(struct gw_core *core, const char *method)
{
	const struct gw_service *svc;
	const char              *slash;

	if (method == NULL || (slash = strchr(method, '/')) == NULL)
		return true; /* refused at once by the dispatcher */
	svc = find_service(core, method, (size_t) (slash - method));
	return svc == NULL || svc->nonblocking;
}

int
gw_call_dispatch(struct gw_core *core, struct gw_call *call,
    const char *method, const char *admin_token, const uint8_t *payload,
    size_t len)
{
	const struct gw_service                *svc;
	const ProtobufCMethodDescriptor        *m;
	const char                             *slash;
	ProtobufCMessage                       *input;

	if (method == NULL || (slash = strchr(method, '/')) == NULL)
		return gw_call_fail(call, GW_EINVAL,
		    "method must read package.Service/Method");
	if ((svc = find_service(core, method, (size_t) (slash - method))) ==
	    NULL)
		return gw_call_fail(call, GW_ENOTFOUND, "unknown service in %.100s",
		    method);
	m = protobuf_c_service_descriptor_get_method_by_name(
	    svc->service->descriptor, slash + 1);
	if (m == NULL)
		return gw_call_fail(call, GW_ENOTFOUND, "unknown method %.100s",
		    method);
	if (svc->auth == GW_AUTH_ADMIN &&
	    !gw_core_check_admin(core, admin_token,
		admin_token ? strlen(admin_token) : 0))
		return gw_call_fail(call, GW_EAUTH,
		    "admin token missing or wrong");
	input = protobuf_c_message_unpack(m->input, NULL, len, payload);
	if (input == NULL)
		return gw_call_fail(call, GW_EINVAL,
		    "payload is not a valid %s", m->input->name);
	svc->service->invoke(svc->service,
	    (unsigned) (m - svc->service->descriptor->methods), input,
	    gw_call_reply, call);
	protobuf_c_message_free_unpacked(input, NULL);
	if (!call->replied && call->err == GW_OK)
		gw_call_fail(call, GW_EINTERNAL, "%s gave no reply", m->name);
	if (call->err != GW_OK) {
		free(call->reply);
		call->reply     = NULL;
		call->reply_len = 0;
	}
	return call->err;
}
