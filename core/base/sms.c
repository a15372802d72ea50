/*
 * sms.c - how many segments an SMS body costs.
 *
 * The one concept here is the price unit of a message: the route's
 * price is multiplied by the segment count computed here, so the count
 * must match what the upstream provider will bill. It is computed in one
 * pass that decodes strict UTF-8 and tallies, side by side, the body as
 * GSM-7 septets and as UTF-16 units, each packed greedily into segments
 * without splitting an escape pair or a surrogate pair.
 */
#include "gw/sms.h"

#include <stdbool.h>
#include <stdint.h>

#include "gw/err.h"

#define GSM7_ESC_COST 2 /* ESC (0x1B) and the extension-table code */

/*
 * The default alphabet of TS 23.038 6.2.1 by Unicode code point, minus
 * ESC at 0x1B which is not a character. The ASCII range is handled apart.
 */
static const uint16_t gsm7_basic_non_ascii[] = { 0x00A1, 0x00A3, 0x00A4, 0x00A5,
	0x00A7, 0x00BF, 0x00C4, 0x00C5, 0x00C6, 0x00C7, 0x00C9, 0x00D1, 0x00D6,
	0x00D8, 0x00DC, 0x00DF, 0x00E0, 0x00E4, 0x00E5, 0x00E6, 0x00E8, 0x00E9,
	0x00EC, 0x00F1, 0x00F2, 0x00F6, 0x00F8, 0x00F9, 0x00FC, 0x0393, 0x0394,
	0x0398, 0x039B, 0x039E, 0x03A0, 0x03A3, 0x03A6, 0x03A8, 0x03A9 };

/*
 * gsm7_cost returns the septets cp costs in GSM-7: 1 in the default
 * alphabet, 2 in the extension table (6.2.1.1), 0 when it has no code.
 */
static unsigned
gsm7_cost(uint32_t cp)
{
	size_t n = sizeof gsm7_basic_non_ascii / sizeof gsm7_basic_non_ascii[0];
	size_t i;

	if (cp < 0x80) {
		switch (cp) {
		case '\n':
		case '\r':
			return 1;
		case '\f':
		case '^':
		case '{':
		case '}':
		case '\\':
		case '[':
		case '~':
		case ']':
		case '|':
			return GSM7_ESC_COST;
		case '`':
			return 0;
		default:
			/* Other controls, ESC itself included, have no code. */
			return cp >= 0x20 && cp < 0x7F ? 1 : 0;
		}
	}
	if (cp == 0x20AC) /* euro sign */
		return GSM7_ESC_COST;
	for (i = 0; i < n; i++) {
		if (gsm7_basic_non_ascii[i] == cp)
			return 1;
	}
	return 0;
}

/*
 * utf8_next decodes one code point from s[0..len), len >= 1, into *cp and
 * *used. Overlong forms, surrogates, values over U+10FFFF, truncated
 * sequences and NUL are errors.
 */
static int
utf8_next(const unsigned char *s, size_t len, uint32_t *cp, size_t *used)
{
	uint32_t c = s[0];
	uint32_t min;
	size_t   n, i;

	if (c == 0)
		return GW_EINVAL;
	if (c < 0x80) {
		*cp = c;
		*used = 1;
		return GW_OK;
	}
	if ((c & 0xE0) == 0xC0) {
		n = 2;
		min = 0x80;
		c &= 0x1F;
	} else if ((c & 0xF0) == 0xE0) {
		n = 3;
		min = 0x800;
		c &= 0x0F;
	} else if ((c & 0xF8) == 0xF0) {
		n = 4;
		min = 0x10000;
		c &= 0x07;
	} else {
		return GW_EINVAL; /* continuation byte or 0xF8-0xFF */
	}
	if (len < n)
		return GW_EINVAL;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return GW_EINVAL;
		c = (c << 6) | (s[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return GW_EINVAL;
	*cp = c;
	*used = n;
	return GW_OK;
}

/*
 * A tally packs characters of 1 or 2 units into segments of per units,
 * greedily, moving a 2-unit character that would straddle a boundary.
 * It tracks the concatenated layout from the start; whether the body
 * fits a single segment after all is decided at the end from the total.
 */
struct tally {
	unsigned units;    /* total units */
	unsigned segments; /* concatenated segments begun */
	unsigned room;     /* units left in the current segment */
};

static void
tally_add(struct tally *t, unsigned cost, unsigned per)
{
	if (cost > t->room) {
		t->segments++;
		t->room = per;
	}
	t->room -= cost;
	t->units += cost;
}

static unsigned
tally_segments(const struct tally *t, unsigned single)
{
	return t->units <= single ? 1 : t->segments;
}

int
gw_sms_info(const char *utf8, size_t len, struct gw_sms_info *out)
{
	const unsigned char *s = (const unsigned char *) utf8;
	struct tally         gsm = { 0, 0, 0 };
	struct tally         ucs = { 0, 0, 0 };
	bool                 is_gsm = true;
	size_t               off, used;
	uint32_t             cp;
	unsigned             cost;
	int                  rc;

	GW_ASSERT(out != NULL);
	GW_ASSERT(utf8 != NULL || len == 0);

	if (len > GW_SMS_BODY_MAX)
		return GW_ETOOBIG;

	/* Keep validating after the body turns out not to be GSM-7. */
	for (off = 0; off < len; off += used) {
		rc = utf8_next(s + off, len - off, &cp, &used);
		if (rc != GW_OK)
			return rc;
		if (is_gsm) {
			cost = gsm7_cost(cp);
			if (cost == 0)
				is_gsm = false;
			else
				tally_add(&gsm, cost, GW_SMS_GSM7_MULTI);
		}
		tally_add(&ucs, cp > 0xFFFF ? 2 : 1, GW_SMS_UCS2_MULTI);
	}

	if (is_gsm) {
		out->encoding = GW_SMS_GSM7;
		out->units = gsm.units;
		out->segments = tally_segments(&gsm, GW_SMS_GSM7_SINGLE);
	} else {
		out->encoding = GW_SMS_UCS2;
		out->units = ucs.units;
		out->segments = tally_segments(&ucs, GW_SMS_UCS2_SINGLE);
	}
	return GW_OK;
}
