/* money.c - fixed-point decimal parsing and formatting for micro-units. */
#include "gw/money.h"

#include <stdio.h>
#include <string.h>

#include "gw/err.h"

int
gw_money_parse(const char *s, int64_t *out)
{
	int64_t whole = 0, frac = 0;
	int     sign = 1, ndig = 0, nfrac = 0;

	if (s == NULL)
		return GW_EINVAL;
	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	for (; *s >= '0' && *s <= '9'; s++, ndig++) {
		whole = whole * 10 + (*s - '0');
		if (whole > GW_MONEY_MAX / GW_MICROS_PER_UNIT)
			return GW_EINVAL;
	}
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++, nfrac++) {
			if (nfrac == 6)
				return GW_EINVAL;
			frac = frac * 10 + (*s - '0');
		}
		if (nfrac == 0)
			return GW_EINVAL;
	}
	if (*s != '\0' || ndig + nfrac == 0)
		return GW_EINVAL;
	for (int i = nfrac; i < 6; i++)
		frac *= 10;
	*out = sign * (whole * GW_MICROS_PER_UNIT + frac);
	return GW_OK;
}

char *
gw_money_format(int64_t micros, char buf[GW_MONEY_STRLEN])
{
	/* |INT64_MIN| is not representable; format via unsigned */
	uint64_t mag = micros < 0 ? -(uint64_t) micros : (uint64_t) micros;
	int      n;

	n = snprintf(buf, GW_MONEY_STRLEN, "%s%llu.%06llu", micros < 0 ? "-" : "",
	    (unsigned long long) (mag / GW_MICROS_PER_UNIT),
	    (unsigned long long) (mag % GW_MICROS_PER_UNIT));
	/* keep at least two decimals: trim at most four zeros */
	for (int i = 0; i < 4 && buf[n - 1] == '0'; i++)
		buf[--n] = '\0';
	return buf;
}

int
gw_money_add(int64_t a, int64_t b, int64_t *out)
{
	int64_t r;

	if (__builtin_add_overflow(a, b, &r) || r > GW_MONEY_MAX ||
	    r < -GW_MONEY_MAX)
		return GW_EINVAL;
	*out = r;
	return GW_OK;
}
