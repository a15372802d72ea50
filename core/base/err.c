/* err.c - texts and names for enum gw_err. */
#include "gw/err.h"

#include <stdio.h>
#include <stdlib.h>

static const struct {
	const char *name;
	const char *text;
} errs[GW_ERR_COUNT] = {
	[GW_OK]        = { "ok", "success" },
	[GW_EINVAL]    = { "invalid_argument", "invalid argument" },
	[GW_ENOTFOUND] = { "not_found", "not found" },
	[GW_EEXIST]    = { "already_exists", "already exists" },
	[GW_EPERM]     = { "permission_denied", "permission denied" },
	[GW_EAUTH]     = { "unauthenticated", "missing or invalid credentials" },
	[GW_ENOFUNDS]  = { "insufficient_funds", "insufficient funds" },
	[GW_ENOROUTE]  = { "no_route", "no routing rule matches" },
	[GW_ELIMIT]    = { "rate_limited", "rate limit exceeded" },
	[GW_ESTATE]    = { "failed_precondition", "not allowed in this state" },
	[GW_ECONFLICT] = { "conflict", "conflicting request" },
	[GW_ETOOBIG]   = { "too_large", "input too large" },
	[GW_ETIMEDOUT] = { "deadline_exceeded", "deadline exceeded" },
	[GW_EUNAVAIL]  = { "unavailable", "service unavailable" },
	[GW_ENOMEM]    = { "out_of_memory", "out of memory" },
	[GW_ESTORE]    = { "store_error", "storage error" },
	[GW_ECRYPTO]   = { "crypto_error", "cryptographic failure" },
	[GW_EINTERNAL] = { "internal", "internal error" },
};

const char *
gw_strerror(int err)
{
	if (err < 0 || err >= GW_ERR_COUNT)
		return "unknown error";
	return errs[err].text;
}

const char *
gw_errname(int err)
{
	if (err < 0 || err >= GW_ERR_COUNT)
		return "unknown";
	return errs[err].name;
}

void
gw_assert_fail(const char *expr, const char *file, int line)
{
	fprintf(stderr, "assertion failed: %s (%s:%d)\n", expr, file, line);
	abort();
}
