/* messaging_impl.h - what the Messaging service (messaging.c) shares with
 * the Admin service's message listing (admin_messages.c). */
#ifndef GW_MESSAGING_IMPL_H
#define GW_MESSAGING_IMPL_H

#include <stdint.h>

#include "relay/v1/messaging.pb-c.h"

#define GW_MESSAGE_SID_LEN 34 /* "SM" + 16 hex of the id + 16 hex random */

/* gw_message_sid_parse checks the shape of sid and writes the message id
 * it embeds to *id. Returns GW_OK or GW_EINVAL. The record found by that
 * id must still be compared with the whole sid. */
int gw_message_sid_parse(const char *sid, uint64_t *id);

/* gw_message_status_parse maps a status name ("delivered") to its value.
 * Returns GW_OK or GW_EINVAL (also for "" and "unknown"). */
int gw_message_status_parse(const char *s, Relay__V1__MessageStatus *out);

#endif
