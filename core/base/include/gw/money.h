/*
 * gw/money.h - money is an integer count of micro-units (1e-6) of the
 * account currency, never a float. At the edges it is a decimal string.
 */
#ifndef GW_MONEY_H
#define GW_MONEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GW_MICROS_PER_UNIT 1000000LL
/* Ceiling for any single amount or balance: one trillion units. */
#define GW_MONEY_MAX (1000000000000LL * GW_MICROS_PER_UNIT)
#define GW_MONEY_STRLEN 32

/* gw_money_parse reads "[+-]digits[.up to 6 digits]" ("10", "0.0075",
 * "-2.5") into micro-units. Returns GW_OK, or GW_EINVAL for anything else
 * (empty, exponent, more than 6 decimals, over GW_MONEY_MAX). */
int gw_money_parse(const char *s, int64_t *out);

/* gw_money_format writes micros as a decimal string with at least two
 * decimals and no trailing zeros beyond ("10.00", "0.0075", "-1.50").
 * Returns buf. */
char *gw_money_format(int64_t micros, char buf[GW_MONEY_STRLEN]);

/* gw_money_add sets *out = a + b; GW_EINVAL if the result leaves
 * [-GW_MONEY_MAX, GW_MONEY_MAX]. */
int gw_money_add(int64_t a, int64_t b, int64_t *out);

#endif
