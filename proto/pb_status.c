/* pb_status.c - gw_err <-> gRPC status codes. */
#include "pb/status.h"

#include <string.h>

#include "gw/err.h"
#include "relay/v1/rpc.pb-c.h"

static const uint32_t err_to_code[GW_ERR_COUNT] = {
	[GW_OK]        = RELAY__V1__STATUS_CODE__OK,
	[GW_EINVAL]    = RELAY__V1__STATUS_CODE__INVALID_ARGUMENT,
	[GW_ENOTFOUND] = RELAY__V1__STATUS_CODE__NOT_FOUND,
	[GW_EEXIST]    = RELAY__V1__STATUS_CODE__ALREADY_EXISTS,
	[GW_EPERM]     = RELAY__V1__STATUS_CODE__PERMISSION_DENIED,
	[GW_EAUTH]     = RELAY__V1__STATUS_CODE__UNAUTHENTICATED,
	[GW_ENOFUNDS]  = RELAY__V1__STATUS_CODE__FAILED_PRECONDITION,
	[GW_ENOROUTE]  = RELAY__V1__STATUS_CODE__FAILED_PRECONDITION,
	[GW_ELIMIT]    = RELAY__V1__STATUS_CODE__RESOURCE_EXHAUSTED,
	[GW_ESTATE]    = RELAY__V1__STATUS_CODE__FAILED_PRECONDITION,
	[GW_ECONFLICT] = RELAY__V1__STATUS_CODE__ABORTED,
	[GW_ETOOBIG]   = RELAY__V1__STATUS_CODE__RESOURCE_EXHAUSTED,
	[GW_ETIMEDOUT] = RELAY__V1__STATUS_CODE__DEADLINE_EXCEEDED,
	[GW_EUNAVAIL]  = RELAY__V1__STATUS_CODE__UNAVAILABLE,
	[GW_ENOMEM]    = RELAY__V1__STATUS_CODE__RESOURCE_EXHAUSTED,
	[GW_ESTORE]    = RELAY__V1__STATUS_CODE__INTERNAL,
	[GW_ECRYPTO]   = RELAY__V1__STATUS_CODE__INTERNAL,
	[GW_EINTERNAL] = RELAY__V1__STATUS_CODE__INTERNAL,
};

uint32_t
pb_status_from_err(int err)
{
	if (err < 0 || err >= GW_ERR_COUNT)
		return RELAY__V1__STATUS_CODE__UNKNOWN;
	return err_to_code[err];
}

int
pb_err_from_status(uint32_t code, const char *details)
{
	if (code == RELAY__V1__STATUS_CODE__OK)
		return GW_OK;
	if (details != NULL)
		for (int e = 1; e < GW_ERR_COUNT; e++)
			if (strcmp(details, gw_errname(e)) == 0)
				return e;
	for (int e = 1; e < GW_ERR_COUNT; e++)
		if (err_to_code[e] == code)
			return e;
	return GW_EINTERNAL;
}

const char *
pb_status_name(uint32_t code)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
	    &relay__v1__status_code__descriptor, (int) code);

	return v != NULL ? v->name : "UNKNOWN";
}
