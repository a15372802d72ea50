/*
 * gw/err.h - the one error vocabulary of Relay.
 *
 * Every function that can fail returns int: GW_OK (0) or an enum gw_err.
 * Library codes (MDB_*, CURLE_*, NNG_E*) are translated where they are
 * called and never travel further up.
 */
#ifndef GW_ERR_H
#define GW_ERR_H

enum gw_err {
	GW_OK = 0,
	GW_EINVAL,    /* malformed or out-of-range input */
	GW_ENOTFOUND, /* no such record */
	GW_EEXIST,    /* the record already exists */
	GW_EPERM,     /* authenticated but not allowed */
	GW_EAUTH,     /* missing or wrong credentials */
	GW_ENOFUNDS,  /* balance below the price */
	GW_ENOROUTE,  /* no enabled routing rule matches */
	GW_ELIMIT,    /* rate limit or quota reached */
	GW_ESTATE,    /* valid request, wrong state (suspended, revoked) */
	GW_ECONFLICT, /* idempotency key reused with another request */
	GW_ETOOBIG,   /* input over its ceiling */
	GW_ETIMEDOUT, /* deadline passed */
	GW_EUNAVAIL,  /* a peer or upstream is not reachable */
	GW_ENOMEM,    /* allocation failed */
	GW_ESTORE,    /* the store failed (I/O, corruption) */
	GW_ECRYPTO,   /* a cryptographic operation failed */
	GW_EINTERNAL, /* a bug or an unexpected library failure */
	GW_ERR_COUNT
};

/* gw_strerror returns a static, human-readable text for err. */
const char *gw_strerror(int err);

/* gw_errname returns a static, stable snake_case name for err
 * ("not_found"), used as a machine-readable reason on the wire. */
const char *gw_errname(int err);

#define GW_ASSERT(x)                                                           \
	do {                                                                   \
		if (!(x))                                                      \
			gw_assert_fail(#x, __FILE__, __LINE__);                \
	} while (0)

_Noreturn void gw_assert_fail(const char *expr, const char *file, int line);

#endif
