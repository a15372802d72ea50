/* record_fuzz.c - stored-record decode: bytes from LMDB are input too.
 * The first byte picks a record type; the rest is decoded as it and, when
 * it decodes, rendered through pb_to_json like relayctl does. */
#include <stdint.h>
#include <stdlib.h>

#include "pb/json.h"
#include "relay/v1/admin.pb-c.h"
#include "relay/v1/messaging.pb-c.h"
#include "relay/v1/records.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const ProtobufCMessageDescriptor *const types[] = {
	&relay__v1__client_record__descriptor,
	&relay__v1__api_key_record__descriptor,
	&relay__v1__account_record__descriptor,
	&relay__v1__ledger_entry__descriptor,
	&relay__v1__route__descriptor,
	&relay__v1__tn__descriptor,
	&relay__v1__settings__descriptor,
	&relay__v1__ledger_list__descriptor,
	&relay__v1__test_route_reply__descriptor,
	&relay__v1__update_route_request__descriptor,
	&relay__v1__message_record__descriptor,
	&relay__v1__outbox_entry__descriptor,
	&relay__v1__idempotency_record__descriptor,
	&relay__v1__send_request__descriptor,
	&relay__v1__send_reply__descriptor,
	&relay__v1__list_messages_request__descriptor,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const ProtobufCMessageDescriptor *d;
	ProtobufCMessage                 *m;
	json_t                           *j;

	if (size < 1)
		return 0;
	d = types[data[0] % (sizeof(types) / sizeof(types[0]))];
	if ((m = protobuf_c_message_unpack(d, NULL, size - 1, data + 1)) == NULL)
		return 0;
	if ((j = pb_to_json(m)) != NULL) {
		char *s = json_dumps(j, 0);

		free(s);
		json_decref(j);
	}
	protobuf_c_message_free_unpacked(m, NULL);
	return 0;
}
