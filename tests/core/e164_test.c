/* e164_test.c - gw_e164_normalize and gw_e164_valid. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
/* cmocka.h needs the headers above included first. */
#include <cmocka.h>

#include "gw/e164.h"
#include "gw/err.h"

/* A sentinel that a rejected call must leave untouched in out. */
#define SENTINEL "untouched-buffer"

static void
expect_ok(const char *in, const char *want)
{
	char out[GW_E164_MAX + 1];

	memset(out, 'x', sizeof out);
	assert_int_equal(gw_e164_normalize(in, strlen(in), out), GW_OK);
	assert_string_equal(out, want);
	assert_true(gw_e164_valid(out));
}

static void
expect_einval_len(const char *in, size_t len)
{
	char out[GW_E164_MAX + 1] = SENTINEL;

	assert_int_equal(gw_e164_normalize(in, len, out), GW_EINVAL);
	assert_string_equal(out, SENTINEL);
}

static void
expect_einval(const char *in)
{
	expect_einval_len(in, strlen(in));
}

static void
test_e164_plus_forms(void **state)
{
	(void) state;
	expect_ok("+447911123456", "+447911123456");
	expect_ok("+14155550100", "+14155550100");
	expect_ok("+33612345678", "+33612345678");
	expect_ok("+8613800138000", "+8613800138000");
}

static void
test_e164_digit_bounds(void **state)
{
	(void) state;
	/* 8 digits is the shortest accepted, 15 the longest. */
	expect_ok("+49301234", "+49301234");
	expect_einval("+4930123");
	expect_ok("+491234567890123", "+491234567890123");
	expect_einval("+4912345678901234");
	assert_int_equal(strlen("+491234567890123"), GW_E164_MAX);
}

static void
test_e164_too_short(void **state)
{
	(void) state;
	expect_einval("+");
	expect_einval("+1");
	expect_einval("+12");
	expect_einval("+4471");
}

static void
test_e164_nanp_bare(void **state)
{
	(void) state;
	expect_ok("14155550100", "+14155550100");
	expect_ok("12025550173", "+12025550173");
	/* Only the 11-digit form starting with 1 is accepted bare. */
	expect_einval("4155550100");
	expect_einval("447911123456");
	expect_einval("24155550100");
	expect_einval("141555501000");
	expect_einval("1415555010");
}

static void
test_e164_nanp_shape(void **state)
{
	(void) state;
	/* NPA starting 0 or 1. */
	expect_einval("+10155550100");
	expect_einval("+11155550100");
	expect_einval("10155550100");
	/* NXX starting 0 or 1. */
	expect_einval("+14150550100");
	expect_einval("+14151550100");
	expect_einval("14151550100");
	/* The lowest shape that passes. */
	expect_ok("+12002000000", "+12002000000");
	/* +1 numbers must be exactly 11 digits. */
	expect_einval("+1415555010");
	expect_einval("+141555501001");
}

static void
test_e164_leading_zero(void **state)
{
	(void) state;
	expect_einval("+0447911123456");
	expect_einval("00447911123456");
	expect_einval("07911123456");
}

static void
test_e164_junk(void **state)
{
	(void) state;
	expect_einval("");
	expect_einval(" +14155550100");
	expect_einval("+14155550100 ");
	expect_einval("+1 415 555 0100");
	expect_einval("+1-415-555-0100");
	expect_einval("+1(415)5550100");
	expect_einval("+1415555O100");
	expect_einval("++14155550100");
	expect_einval("+44+7911123456");
	expect_einval("tel:+14155550100");
	expect_einval("+4479111234\xd9\xa5");
}

static void
test_e164_embedded_nul(void **state)
{
	static const char nul_mid[] = { '+', '4', '4', '7', '9', '1', '1', '1',
		'2', '\0', '3', '4', '5', '6' };

	(void) state;
	expect_einval_len(nul_mid, sizeof nul_mid);
	expect_einval_len("1415555010\0", 11);
	/* The len bytes are all that is read: a short len is a short number. */
	expect_einval_len("+14155550100", 3);
	expect_ok("+14155550100", "+14155550100");
}

static void
test_e164_too_long(void **state)
{
	(void) state;
	expect_einval("+12345678901234567890");
	expect_einval("11111111111111111111111111111111111111111111111111");
}

static void
test_e164_null_empty(void **state)
{
	char out[GW_E164_MAX + 1] = SENTINEL;

	(void) state;
	assert_int_equal(gw_e164_normalize(NULL, 0, out), GW_EINVAL);
	assert_string_equal(out, SENTINEL);
}

static void
test_e164_valid(void **state)
{
	(void) state;
	assert_true(gw_e164_valid("+14155550100"));
	assert_true(gw_e164_valid("+447911123456"));
	assert_true(gw_e164_valid("+491234567890123"));
	assert_false(gw_e164_valid(NULL));
	assert_false(gw_e164_valid(""));
	assert_false(gw_e164_valid("+"));
	assert_false(gw_e164_valid("+12"));
	/* Accepted by normalize, but not normalised. */
	assert_false(gw_e164_valid("14155550100"));
	assert_false(gw_e164_valid("+10155550100"));
	assert_false(gw_e164_valid("+4912345678901234"));
	assert_false(gw_e164_valid("+4912345678901234567890123456789"));
	assert_false(gw_e164_valid("+447911123456 "));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e164_plus_forms),
		cmocka_unit_test(test_e164_digit_bounds),
		cmocka_unit_test(test_e164_too_short),
		cmocka_unit_test(test_e164_nanp_bare),
		cmocka_unit_test(test_e164_nanp_shape),
		cmocka_unit_test(test_e164_leading_zero),
		cmocka_unit_test(test_e164_junk),
		cmocka_unit_test(test_e164_embedded_nul),
		cmocka_unit_test(test_e164_too_long),
		cmocka_unit_test(test_e164_null_empty),
		cmocka_unit_test(test_e164_valid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
