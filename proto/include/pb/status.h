/*
 * pb/status.h - mapping between enum gw_err and gRPC status codes.
 *
 * On the wire a failure carries a gRPC code and, in `details`, the stable
 * name of the gw_err (gw_errname()), so a caller can recover the exact
 * error: both insufficient funds and no route are FAILED_PRECONDITION, but
 * the HTTP edge answers them 402 and 422.
 */
#ifndef PB_STATUS_H
#define PB_STATUS_H

#include <stdint.h>

/* pb_status_from_err returns the gRPC status code for err. */
uint32_t pb_status_from_err(int err);

/* pb_err_from_status recovers the gw_err from details (a gw_errname())
 * when it names one, else the closest gw_err for the gRPC code. */
int pb_err_from_status(uint32_t code, const char *details);

/* pb_status_name returns "INVALID_ARGUMENT" etc. for a gRPC code. */
const char *pb_status_name(uint32_t code);

#endif
