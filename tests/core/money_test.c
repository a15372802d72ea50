/* money_test.c - decimal money parsing and formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka after its prerequisites */
#include <cmocka.h>

#include "gw/err.h"
#include "gw/money.h"

static void
test_money_parse_good(void **state)
{
	static const struct {
		const char *s;
		int64_t     v;
	} cases[] = {
		{ "10", 10000000 }, { "10.00", 10000000 }, { "0.0075", 7500 },
		{ "-2.5", -2500000 }, { "+1.000001", 1000001 }, { ".5", 500000 },
		{ "0", 0 }, { "1000000000000", GW_MONEY_MAX },
	};
	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t v = -1;

		assert_int_equal(gw_money_parse(cases[i].s, &v), GW_OK);
		assert_int_equal(v, cases[i].v);
	}
}

static void
test_money_parse_bad(void **state)
{
	static const char *bad[] = { "", "-", ".", "1.", "1.0000001", "1e3",
		"1,00", " 1", "1 ", "abc", "0x10", "1000000000001",
		"99999999999999999999", "--1", "1.2.3" };
	(void) state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t v = 42;

		assert_int_equal(gw_money_parse(bad[i], &v), GW_EINVAL);
		assert_int_equal(v, 42); /* untouched on error */
	}
	assert_int_equal(gw_money_parse(NULL, NULL), GW_EINVAL);
}

static void
test_money_format(void **state)
{
	char buf[GW_MONEY_STRLEN];

	(void) state;
	assert_string_equal(gw_money_format(10000000, buf), "10.00");
	assert_string_equal(gw_money_format(7500, buf), "0.0075");
	assert_string_equal(gw_money_format(99992500, buf), "99.9925");
	assert_string_equal(gw_money_format(-1500000, buf), "-1.50");
	assert_string_equal(gw_money_format(1, buf), "0.000001");
	assert_string_equal(gw_money_format(0, buf), "0.00");
	assert_string_equal(gw_money_format(INT64_MIN, buf),
	    "-9223372036854.775808");
}

static void
test_money_roundtrip_and_add(void **state)
{
	char    buf[GW_MONEY_STRLEN];
	int64_t v, r;

	(void) state;
	for (int64_t x = -3000001; x <= 3000001; x += 999983) {
		assert_int_equal(gw_money_parse(gw_money_format(x, buf), &v),
		    GW_OK);
		assert_int_equal(v, x);
	}
	assert_int_equal(gw_money_add(GW_MONEY_MAX, 1, &r), GW_EINVAL);
	assert_int_equal(gw_money_add(INT64_MAX, INT64_MAX, &r), GW_EINVAL);
	assert_int_equal(gw_money_add(5, -7, &r), GW_OK);
	assert_int_equal(r, -2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_money_parse_good),
		cmocka_unit_test(test_money_parse_bad),
		cmocka_unit_test(test_money_format),
		cmocka_unit_test(test_money_roundtrip_and_add),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
