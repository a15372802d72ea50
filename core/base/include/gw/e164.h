/*
 * gw/e164.h - E.164 telephone number normalisation.
 *
 * A normalised number is '+', a country code digit 1-9, and 7 to 14 more
 * digits (8 to 15 digits in all). Numbers under country code 1 must also
 * have the North American Numbering Plan shape: exactly 11 digits,
 * +1 NPA NXX XXXX, where NPA and NXX each start with 2-9.
 *
 * libc only; no state, safe to call from any thread.
 */
#ifndef GW_E164_H
#define GW_E164_H

#include <stdbool.h>
#include <stddef.h>

/* GW_E164_MAX is the longest normalised number: '+' and 15 digits. */
#define GW_E164_MAX 16

/* GW_E164_MIN_DIGITS and GW_E164_MAX_DIGITS bound the digits after '+'. */
#define GW_E164_MIN_DIGITS 8
#define GW_E164_MAX_DIGITS 15

/*
 * gw_e164_normalize checks the len bytes at in (no terminator needed) and
 * writes the normalised, NUL-terminated number to out. Accepted forms:
 *   "+CC..."       8 to 15 digits, the first 1-9 ("+447911123456")
 *   "1NPANXXXXXX"  11 digits without '+', taken as North American
 *                  ("14155550100" -> "+14155550100")
 * Anything else - whitespace, punctuation, letters, an embedded NUL, a
 * leading 0 or 00, empty or over-long input - is rejected; no cleanup
 * is attempted. in may be NULL only when len is 0.
 * Returns GW_OK or GW_EINVAL; out is written only on GW_OK.
 */
int gw_e164_normalize(const char *in, size_t len, char out[GW_E164_MAX + 1]);

/*
 * gw_e164_valid tells whether the NUL-terminated s is already in the
 * normalised form gw_e164_normalize produces (so "+14155550100" is valid
 * and "14155550100" is not). s may be NULL, which is not valid.
 */
bool gw_e164_valid(const char *s);

#endif
