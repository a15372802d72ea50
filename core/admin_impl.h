/* admin_impl.h - the Admin service's handlers that live outside admin.c.
 * admin.c's service table (RELAY__V1__ADMIN__INIT) reaches them through
 * thin wrappers, so that there is one Admin service. Each handler follows
 * the protobuf-c closure convention of gw/core.h: it calls done once with
 * its response, or records an error with gw_call_fail(arg, ...). */
#ifndef GW_ADMIN_IMPL_H
#define GW_ADMIN_IMPL_H

#include "relay/v1/admin.pb-c.h"

struct gw_core;

/* ListMessages: any client's messages, newest first (admin_messages.c). */
void gw_admin_list_messages(struct gw_core    *core,
    const Relay__V1__AdminListMessagesRequest *req,
    Relay__V1__AdminMessageList_Closure done, void *arg);

/* GetMessage: one message by sid, whoever sent it. */
void gw_admin_get_message(struct gw_core *core,
    const Relay__V1__MessageSidRequest   *req,
    Relay__V1__AdminMessage_Closure done, void *arg);

/* GetStats: traffic figures from the store and the dispatcher. */
void gw_admin_get_stats(struct gw_core *core,
    const Relay__V1__GetStatsRequest *req, Relay__V1__Stats_Closure done,
    void *arg);

#endif
