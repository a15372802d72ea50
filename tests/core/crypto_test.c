/* crypto_test.c - keyring files, sealing, admin token checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
/* cmocka after its prerequisites */
#include <cmocka.h>

#include "gw/crypto.h"
#include "gw/err.h"
#include "th.h"

static mode_t
mode_of(const char *dir, const char *name)
{
	char        path[4096];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(stat(path, &sb), 0);
	return sb.st_mode & 0777;
}

static void
test_keyring_creates_private_files(void **state)
{
	char              *dir = th_tmpdir();
	struct gw_keyring *kr;
	char               path[4096], tok[128];
	FILE              *f;

	(void) state;
	assert_int_equal(gw_keyring_open(dir, NULL, NULL, &kr), GW_OK);
	assert_int_equal(mode_of(dir, "master.key"), 0600);
	assert_int_equal(mode_of(dir, "admin.token"), 0600);
	snprintf(path, sizeof(path), "%s/admin.token", dir);
	f = fopen(path, "r");
	assert_non_null(fgets(tok, sizeof(tok), f));
	fclose(f);
	tok[strcspn(tok, "\n")] = '\0';
	assert_true(gw_keyring_check_admin(kr, tok, strlen(tok)));
	assert_false(gw_keyring_check_admin(kr, tok, strlen(tok) - 1));
	assert_false(gw_keyring_check_admin(kr, "", 0));
	assert_false(gw_keyring_check_admin(kr, NULL, 0));
	gw_keyring_close(kr);
	th_rmtree(dir);
}

static void
test_keyring_env_values(void **state)
{
	char              *dir = th_tmpdir();
	struct gw_keyring *kr  = NULL;
	/* base64 of 32 bytes 0x01..0x20 */
	const char *good = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";

	(void) state;
	assert_int_equal(gw_keyring_open(dir, "c2hvcnQ=", NULL, &kr),
	    GW_EINVAL);
	assert_int_equal(gw_keyring_open(dir, "not base64!", NULL, &kr),
	    GW_EINVAL);
	assert_null(kr);
	assert_int_equal(gw_keyring_open(dir, good, "s3cret-admin", &kr), GW_OK);
	assert_true(gw_keyring_check_admin(kr, "s3cret-admin", 12));
	assert_false(gw_keyring_check_admin(kr, "s3cret-admiN", 12));
	gw_keyring_close(kr);
	th_rmtree(dir);
}

static void
test_seal_roundtrip_and_tamper(void **state)
{
	char              *dir = th_tmpdir();
	struct gw_keyring *kr, *other;
	const char        *secret = "0123456789abcdef0123456789abcdef";
	size_t             n      = strlen(secret), len;
	uint8_t            sealed[128], pt[128];

	(void) state;
	assert_int_equal(gw_keyring_open(dir, NULL, NULL, &kr), GW_OK);
	assert_int_equal(gw_seal(kr, "ad:1", (const uint8_t *) secret, n,
			     sealed),
	    GW_OK);
	assert_null(memmem(sealed, gw_sealed_len(n), secret, n));
	assert_int_equal(gw_unseal(kr, "ad:1", sealed, gw_sealed_len(n), pt,
			     &len),
	    GW_OK);
	assert_int_equal(len, n);
	assert_memory_equal(pt, secret, n);
	/* bound to its associated data */
	assert_int_equal(gw_unseal(kr, "ad:2", sealed, gw_sealed_len(n), pt,
			     &len),
	    GW_ECRYPTO);
	/* any flipped bit is caught */
	sealed[30] ^= 1;
	assert_int_equal(gw_unseal(kr, "ad:1", sealed, gw_sealed_len(n), pt,
			     &len),
	    GW_ECRYPTO);
	sealed[30] ^= 1;
	assert_int_equal(gw_unseal(kr, "ad:1", sealed, 10, pt, &len),
	    GW_ECRYPTO);
	/* another master key cannot open it */
	assert_int_equal(gw_keyring_open(dir,
			     "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=",
			     NULL, &other),
	    GW_OK);
	assert_int_equal(gw_unseal(other, "ad:1", sealed, gw_sealed_len(n),
			     pt, &len),
	    GW_ECRYPTO);
	gw_keyring_close(other);
	gw_keyring_close(kr);
	th_rmtree(dir);
}

static void
test_api_key_shape(void **state)
{
	char a[GW_RAW_KEY_LEN + 1], b[GW_RAW_KEY_LEN + 1];

	(void) state;
	gw_api_key_new(a);
	gw_api_key_new(b);
	assert_int_equal(strlen(a), GW_RAW_KEY_LEN);
	assert_memory_equal(a, "rk_", 3);
	assert_string_not_equal(a, b);
	for (size_t i = 3; i < GW_RAW_KEY_LEN; i++)
		assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklm"
				       "nopqrstuvwxyz0123456789-_",
		    a[i]));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keyring_creates_private_files),
		cmocka_unit_test(test_keyring_env_values),
		cmocka_unit_test(test_seal_roundtrip_and_tamper),
		cmocka_unit_test(test_api_key_shape),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
