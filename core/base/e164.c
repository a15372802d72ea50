/*
 * e164.c - E.164 number normalisation.
 *
 * The one concept here is the canonical text of a telephone number: '+'
 * and digits only, so that routing patterns, number pools and the ledger
 * compare numbers byte for byte. The parser is deliberately strict; it
 * does not strip spaces, dashes or brackets, because guessing at an
 * operator's or client's intent is how a message reaches a wrong number.
 */
#include "gw/e164.h"

#include "gw/err.h"

/* NANP: country code 1 then a 10-digit national number. */
#define NANP_DIGITS 11

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * nanp_ok checks the 10 national digits after the leading 1: NPA (area
 * code) and NXX (exchange) each start with 2-9. N11 codes and unassigned
 * areas are left to the routing rules, which change more often than code.
 */
static bool
nanp_ok(const char *national)
{
	return national[0] >= '2' && national[3] >= '2';
}

int
gw_e164_normalize(const char *in, size_t len, char out[GW_E164_MAX + 1])
{
	const char *digits;
	size_t      ndigits;
	size_t      i;

	GW_ASSERT(out != NULL);
	GW_ASSERT(in != NULL || len == 0);

	if (len == 0 || len > GW_E164_MAX)
		return GW_EINVAL;

	if (in[0] == '+') {
		digits = in + 1;
		ndigits = len - 1;
	} else {
		/* Without '+', only the 11-digit North American form. */
		digits = in;
		ndigits = len;
		if (ndigits != NANP_DIGITS || digits[0] != '1')
			return GW_EINVAL;
	}

	if (ndigits < GW_E164_MIN_DIGITS || ndigits > GW_E164_MAX_DIGITS)
		return GW_EINVAL;
	/* A NUL fails is_digit too, so embedded NULs are rejected here. */
	for (i = 0; i < ndigits; i++) {
		if (!is_digit(digits[i]))
			return GW_EINVAL;
	}
	if (digits[0] == '0')
		return GW_EINVAL;
	if (digits[0] == '1') {
		if (ndigits != NANP_DIGITS || !nanp_ok(digits + 1))
			return GW_EINVAL;
	}

	out[0] = '+';
	for (i = 0; i < ndigits; i++)
		out[i + 1] = digits[i];
	out[ndigits + 1] = '\0';
	return GW_OK;
}

bool
gw_e164_valid(const char *s)
{
	char   tmp[GW_E164_MAX + 1];
	size_t len;

	if (s == NULL || s[0] != '+')
		return false;
	/* Bounded strlen: stop one past the longest valid number. */
	for (len = 0; len <= GW_E164_MAX && s[len] != '\0'; len++)
		;
	if (len > GW_E164_MAX)
		return false;
	return gw_e164_normalize(s, len, tmp) == GW_OK;
}
