/*
 * sms_fuzz.c - gw_sms_info on arbitrary bytes.
 *
 * The UTF-8 verdict is checked against a second, independently written
 * validator (the byte ranges of RFC 3629 section 4), and the result
 * against what must hold for any body: the single-segment limits, and
 * segment counts between ceil(units / per) and ceil(units / (per - 1)),
 * the worst case when every boundary wastes a unit.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "gw/err.h"
#include "gw/sms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
in_range(uint8_t b, uint8_t lo, uint8_t hi)
{
	return b >= lo && b <= hi;
}

/* ref_utf8 validates per RFC 3629, and also rejects NUL; counts units. */
static bool
ref_utf8(const uint8_t *s, size_t n, size_t *u16)
{
	size_t  i = 0, k, need;
	uint8_t lo, b;

	*u16 = 0;
	while (i < n) {
		b = s[i];
		lo = 0x80;
		if (b == 0x00)
			return false;
		if (b <= 0x7F) {
			i++;
			*u16 += 1;
			continue;
		}
		if (in_range(b, 0xC2, 0xDF)) {
			need = 1;
		} else if (in_range(b, 0xE0, 0xEF)) {
			need = 2;
		} else if (in_range(b, 0xF0, 0xF4)) {
			need = 3;
		} else {
			return false;
		}
		if (n - i - 1 < need)
			return false;
		for (k = 1; k <= need; k++) {
			uint8_t hi = 0xBF;

			if (k == 1) {
				if (b == 0xE0)
					lo = 0xA0;
				if (b == 0xED)
					hi = 0x9F;
				if (b == 0xF0)
					lo = 0x90;
				if (b == 0xF4)
					hi = 0x8F;
			} else {
				lo = 0x80;
			}
			if (!in_range(s[i + k], lo, hi))
				return false;
		}
		*u16 += need == 3 ? 2 : 1;
		i += need + 1;
	}
	return true;
}

static unsigned
ceil_div(unsigned a, unsigned b)
{
	return (a + b - 1) / b;
}

static void
check_segments(const struct gw_sms_info *info, unsigned single, unsigned per)
{
	if (info->units <= single) {
		if (info->segments != 1)
			abort();
		return;
	}
	if (info->segments < ceil_div(info->units, per) ||
	    info->segments > ceil_div(info->units, per - 1))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_sms_info info;
	size_t             u16;
	bool               ok;
	int                rc;

	rc = gw_sms_info(size ? (const char *) data : NULL, size, &info);
	if (size > GW_SMS_BODY_MAX) {
		if (rc != GW_ETOOBIG)
			abort();
		return 0;
	}
	ok = ref_utf8(data, size, &u16);
	if (ok != (rc == GW_OK))
		abort();
	if (!ok) {
		if (rc != GW_EINVAL)
			abort();
		return 0;
	}

	switch (info.encoding) {
	case GW_SMS_GSM7:
		/* Each GSM-7 character is 1-3 bytes and 1-2 septets. */
		if (info.units > 2 * size || info.units < size / 3)
			abort();
		check_segments(&info, GW_SMS_GSM7_SINGLE, GW_SMS_GSM7_MULTI);
		break;
	case GW_SMS_UCS2:
		if (info.units != u16 || size == 0)
			abort();
		check_segments(&info, GW_SMS_UCS2_SINGLE, GW_SMS_UCS2_MULTI);
		break;
	default:
		abort();
	}
	return 0;
}
