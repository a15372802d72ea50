/* sms_test.c - gw_sms_info: UTF-8 validation, encoding and segments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
/* cmocka.h needs the headers above included first. */
#include <cmocka.h>

#include "gw/err.h"
#include "gw/sms.h"

#define EMOJI "\xF0\x9F\x98\x80" /* U+1F600, a surrogate pair in UTF-16 */
#define EURO "\xE2\x82\xAC"      /* U+20AC, an extension-table character */
#define ZHE "\xD0\xB6"           /* U+0436, Cyrillic, not in GSM-7 */

/* A body built from repeated pieces, with room to go over the cap. */
struct body {
	char   b[2 * GW_SMS_BODY_MAX];
	size_t len;
};

static void
put(struct body *bd, const char *piece, unsigned times)
{
	size_t n = strlen(piece);

	while (times-- > 0) {
		assert_true(bd->len + n <= sizeof bd->b);
		memcpy(bd->b + bd->len, piece, n);
		bd->len += n;
	}
}

static void
expect_info(const struct body *bd, enum gw_sms_encoding enc, unsigned segments,
    unsigned units)
{
	struct gw_sms_info info;

	memset(&info, 0xA5, sizeof info);
	assert_int_equal(gw_sms_info(bd->b, bd->len, &info), GW_OK);
	assert_int_equal(info.encoding, enc);
	assert_int_equal(info.units, units);
	assert_int_equal(info.segments, segments);
}

/* expect_str checks a single literal body (len from strlen). */
static void
expect_str(
    const char *s, enum gw_sms_encoding enc, unsigned segments, unsigned units)
{
	struct body bd = { .len = 0 };

	put(&bd, s, 1);
	expect_info(&bd, enc, segments, units);
}

static void
expect_err(const char *s, size_t len, int err)
{
	struct gw_sms_info info, before;

	memset(&info, 0x5A, sizeof info);
	before = info;
	assert_int_equal(gw_sms_info(s, len, &info), err);
	assert_memory_equal(&info, &before, sizeof info);
}

static void
test_sms_empty(void **state)
{
	struct gw_sms_info info;

	(void) state;
	assert_int_equal(gw_sms_info("", 0, &info), GW_OK);
	assert_int_equal(info.encoding, GW_SMS_GSM7);
	assert_int_equal(info.segments, 1);
	assert_int_equal(info.units, 0);
	memset(&info, 0, sizeof info);
	assert_int_equal(gw_sms_info(NULL, 0, &info), GW_OK);
	assert_int_equal(info.encoding, GW_SMS_GSM7);
	assert_int_equal(info.segments, 1);
	assert_int_equal(info.units, 0);
}

static void
test_sms_gsm7_single_boundary(void **state)
{
	struct body a160 = { .len = 0 }, a161 = { .len = 0 };

	(void) state;
	put(&a160, "a", 160);
	expect_info(&a160, GW_SMS_GSM7, 1, 160);
	put(&a161, "a", 161);
	expect_info(&a161, GW_SMS_GSM7, 2, 161);
	expect_str("Hello, world!", GW_SMS_GSM7, 1, 13);
}

static void
test_sms_gsm7_multi_boundary(void **state)
{
	struct body b306 = { .len = 0 }, b307 = { .len = 0 };
	struct body b459 = { .len = 0 }, b460 = { .len = 0 };

	(void) state;
	put(&b306, "a", 153 * 2);
	expect_info(&b306, GW_SMS_GSM7, 2, 306);
	put(&b307, "a", 153 * 2 + 1);
	expect_info(&b307, GW_SMS_GSM7, 3, 307);
	put(&b459, "a", 153 * 3);
	expect_info(&b459, GW_SMS_GSM7, 3, 459);
	put(&b460, "a", 153 * 3 + 1);
	expect_info(&b460, GW_SMS_GSM7, 4, 460);
}

static void
test_sms_gsm7_extension_double(void **state)
{
	struct body b = { .len = 0 };

	(void) state;
	expect_str("^", GW_SMS_GSM7, 1, 2);
	expect_str("{}", GW_SMS_GSM7, 1, 4);
	expect_str("^{}\\[~]|" EURO "\f", GW_SMS_GSM7, 1, 20);
	expect_str("a" EURO "b", GW_SMS_GSM7, 1, 4);

	/* 80 extension characters fill one segment exactly... */
	put(&b, "{", 80);
	expect_info(&b, GW_SMS_GSM7, 1, 160);
	/* ...and one more septet makes it two. */
	put(&b, "a", 1);
	expect_info(&b, GW_SMS_GSM7, 2, 161);

	/* 159 + 2 septets: over the single limit by one. */
	b.len = 0;
	put(&b, "a", 158);
	put(&b, "{", 1);
	expect_info(&b, GW_SMS_GSM7, 1, 160);
	b.len = 0;
	put(&b, "a", 159);
	put(&b, "{", 1);
	expect_info(&b, GW_SMS_GSM7, 2, 161);

	/* 80 euros: 240 bytes of UTF-8, 160 septets. */
	b.len = 0;
	put(&b, EURO, 80);
	expect_info(&b, GW_SMS_GSM7, 1, 160);
	put(&b, EURO, 1);
	expect_info(&b, GW_SMS_GSM7, 2, 162);
}

static void
test_sms_gsm7_escape_not_split(void **state)
{
	struct body b = { .len = 0 };

	(void) state;
	/*
	 * 152 + '{' + 152 is 306 septets, which would fit 2 x 153, but the
	 * escape pair would straddle septets 153/154: it moves whole to the
	 * second segment, which then overflows by one into a third.
	 */
	put(&b, "a", 152);
	put(&b, "{", 1);
	put(&b, "a", 152);
	expect_info(&b, GW_SMS_GSM7, 3, 306);

	/* One septet less and the second segment holds it: 152 | 2+151. */
	b.len = 0;
	put(&b, "a", 152);
	put(&b, "{", 1);
	put(&b, "a", 151);
	expect_info(&b, GW_SMS_GSM7, 2, 305);

	/* The pair ending exactly on the boundary stays: 151+2 | 153. */
	b.len = 0;
	put(&b, "a", 151);
	put(&b, "{", 1);
	put(&b, "a", 153);
	expect_info(&b, GW_SMS_GSM7, 2, 306);

	/* Same with the euro sign. */
	b.len = 0;
	put(&b, "a", 152);
	put(&b, EURO, 1);
	put(&b, "a", 152);
	expect_info(&b, GW_SMS_GSM7, 3, 306);

	/*
	 * All euros: 76 fit a segment (152 septets, 1 wasted), so 533 of
	 * them need 8 segments where ceil(1066 / 153) would say 7.
	 */
	b.len = 0;
	put(&b, EURO, 533);
	assert_int_equal(b.len, 1599);
	expect_info(&b, GW_SMS_GSM7, 8, 1066);
}

static void
test_sms_gsm7_alphabet(void **state)
{
	(void) state;
	/* Every non-ASCII character of the default alphabet, 39 of them. */
	expect_str("\xC2\xA3\xC2\xA5\xC3\xA8\xC3\xA9\xC3\xB9\xC3\xAC\xC3\xB2"
	           "\xC3\x87\xC3\x98\xC3\xB8\xC3\x85\xC3\xA5"
	           "\xCE\x94\xCE\xA6\xCE\x93\xCE\x9B\xCE\xA9\xCE\xA0\xCE\xA8"
	           "\xCE\xA3\xCE\x98\xCE\x9E"
	           "\xC3\x86\xC3\xA6\xC3\x9F\xC3\x89\xC2\xA4\xC2\xA1"
	           "\xC3\x84\xC3\x96\xC3\x91\xC3\x9C\xC2\xA7\xC2\xBF"
	           "\xC3\xA4\xC3\xB6\xC3\xB1\xC3\xBC\xC3\xA0",
	    GW_SMS_GSM7, 1, 39);
	/* Printable ASCII less '`' and the 8 extension characters: 86. */
	expect_str(" !\"#$%&'()*+,-./0123456789:;<=>?@"
	           "ABCDEFGHIJKLMNOPQRSTUVWXYZ_"
	           "abcdefghijklmnopqrstuvwxyz\n\r",
	    GW_SMS_GSM7, 1, 88);
}

static void
test_sms_gsm7_census(void **state)
{
	/*
	 * Walk every scalar value: exactly 127 code points cost one septet
	 * (the 128 codes less ESC) and 10 cost two; the rest force UCS-2.
	 */
	unsigned           one = 0, two = 0;
	uint32_t           cp;
	unsigned char      u[4];
	size_t             n;
	struct gw_sms_info info;

	(void) state;
	for (cp = 1; cp <= 0x10FFFF; cp++) {
		if (cp >= 0xD800 && cp <= 0xDFFF)
			continue;
		if (cp < 0x80) {
			u[0] = (unsigned char) cp;
			n = 1;
		} else if (cp < 0x800) {
			u[0] = (unsigned char) (0xC0 | cp >> 6);
			u[1] = (unsigned char) (0x80 | (cp & 0x3F));
			n = 2;
		} else if (cp < 0x10000) {
			u[0] = (unsigned char) (0xE0 | cp >> 12);
			u[1] = (unsigned char) (0x80 | (cp >> 6 & 0x3F));
			u[2] = (unsigned char) (0x80 | (cp & 0x3F));
			n = 3;
		} else {
			u[0] = (unsigned char) (0xF0 | cp >> 18);
			u[1] = (unsigned char) (0x80 | (cp >> 12 & 0x3F));
			u[2] = (unsigned char) (0x80 | (cp >> 6 & 0x3F));
			u[3] = (unsigned char) (0x80 | (cp & 0x3F));
			n = 4;
		}
		if (gw_sms_info((const char *) u, n, &info) != GW_OK)
			fail_msg("U+%04X rejected", (unsigned) cp);
		assert_int_equal(info.segments, 1);
		if (info.encoding == GW_SMS_GSM7) {
			if (info.units == 1)
				one++;
			else if (info.units == 2)
				two++;
			else
				fail_msg("U+%04X: %u septets", (unsigned) cp,
				    info.units);
		} else {
			assert_int_equal(info.units, cp > 0xFFFF ? 2 : 1);
		}
	}
	assert_int_equal(one, 127);
	assert_int_equal(two, 10);
}

static void
test_sms_not_gsm7(void **state)
{
	(void) state;
	expect_str("`", GW_SMS_UCS2, 1, 1);
	expect_str("\t", GW_SMS_UCS2, 1, 1);
	expect_str("\x1B", GW_SMS_UCS2, 1, 1);
	expect_str("\x7F", GW_SMS_UCS2, 1, 1);
	expect_str("\xC3\xA7", GW_SMS_UCS2, 1, 1);     /* c cedilla */
	expect_str("\xCE\xB1", GW_SMS_UCS2, 1, 1);     /* Greek alpha */
	expect_str("\xCE\x91", GW_SMS_UCS2, 1, 1);     /* Greek Alpha */
	expect_str("\xC2\xA0", GW_SMS_UCS2, 1, 1);     /* no-break space */
	expect_str("\xE2\x80\x99", GW_SMS_UCS2, 1, 1); /* curly quote */
	/* A UCS-2 body counts extension characters once. */
	expect_str("{" ZHE "}", GW_SMS_UCS2, 1, 3);
}

static void
test_sms_one_char_flips(void **state)
{
	struct body b = { .len = 0 };

	(void) state;
	put(&b, "a", 159);
	expect_info(&b, GW_SMS_GSM7, 1, 159);
	put(&b, ZHE, 1);
	expect_info(&b, GW_SMS_UCS2, 3, 160);

	/* The odd character first, then GSM-7 text. */
	b.len = 0;
	put(&b, "`", 1);
	put(&b, "a", 69);
	expect_info(&b, GW_SMS_UCS2, 1, 70);
	put(&b, "{", 1);
	expect_info(&b, GW_SMS_UCS2, 2, 71);
}

static void
test_sms_ucs2_boundaries(void **state)
{
	struct body b = { .len = 0 };

	(void) state;
	put(&b, ZHE, 70);
	expect_info(&b, GW_SMS_UCS2, 1, 70);
	put(&b, ZHE, 1);
	expect_info(&b, GW_SMS_UCS2, 2, 71);
	b.len = 0;
	put(&b, ZHE, 67 * 2);
	expect_info(&b, GW_SMS_UCS2, 2, 134);
	put(&b, ZHE, 1);
	expect_info(&b, GW_SMS_UCS2, 3, 135);
	b.len = 0;
	put(&b, "\xE4\xB8\xAD", 67 * 3); /* CJK, 3 bytes per unit */
	expect_info(&b, GW_SMS_UCS2, 3, 201);
}

static void
test_sms_ucs2_surrogates(void **state)
{
	struct body b = { .len = 0 };

	(void) state;
	expect_str(EMOJI, GW_SMS_UCS2, 1, 2);
	expect_str("\xF0\x90\x80\x80", GW_SMS_UCS2, 1, 2);
	expect_str("\xF4\x8F\xBF\xBF", GW_SMS_UCS2, 1, 2);

	/* 35 emoji fill one segment; a further unit makes it two. */
	put(&b, EMOJI, 35);
	expect_info(&b, GW_SMS_UCS2, 1, 70);
	put(&b, "a", 1);
	expect_info(&b, GW_SMS_UCS2, 2, 71);

	/* Emoji straddling unit 67/68 moves: 66 | 2+65 | 1. */
	b.len = 0;
	put(&b, "a", 66);
	put(&b, EMOJI, 1);
	put(&b, "a", 66);
	expect_info(&b, GW_SMS_UCS2, 3, 134);
	b.len = 0;
	put(&b, "a", 66);
	put(&b, EMOJI, 1);
	put(&b, "a", 65);
	expect_info(&b, GW_SMS_UCS2, 2, 133);
	/* Ending exactly on the boundary, it stays: 65+2 | 67. */
	b.len = 0;
	put(&b, "a", 65);
	put(&b, EMOJI, 1);
	put(&b, "a", 67);
	expect_info(&b, GW_SMS_UCS2, 2, 134);

	/* 67 emoji: 33 per segment, so 3 segments, not ceil(134/67). */
	b.len = 0;
	put(&b, EMOJI, 67);
	expect_info(&b, GW_SMS_UCS2, 3, 134);
	b.len = 0;
	put(&b, EMOJI, 66);
	expect_info(&b, GW_SMS_UCS2, 2, 132);
}

static void
test_sms_utf8_valid_edges(void **state)
{
	(void) state;
	expect_str("\xC2\x80", GW_SMS_UCS2, 1, 1);     /* U+0080 */
	expect_str("\xDF\xBF", GW_SMS_UCS2, 1, 1);     /* U+07FF */
	expect_str("\xE0\xA0\x80", GW_SMS_UCS2, 1, 1); /* U+0800 */
	expect_str("\xED\x9F\xBF", GW_SMS_UCS2, 1, 1); /* U+D7FF */
	expect_str("\xEE\x80\x80", GW_SMS_UCS2, 1, 1); /* U+E000 */
	expect_str("\xEF\xBB\xBF", GW_SMS_UCS2, 1, 1); /* BOM */
	expect_str("\xEF\xBF\xBF", GW_SMS_UCS2, 1, 1); /* U+FFFF */
}

static void
test_sms_utf8_invalid(void **state)
{
	static const char *const bad[] = {
		"\x80",                     /* lone continuation */
		"\xBF",                     /* lone continuation */
		"a\x80!",                   /* continuation mid-text */
		"\xC0\x80",                 /* overlong NUL */
		"\xC0\xAF",                 /* overlong '/' */
		"\xC1\xBF",                 /* overlong U+007F */
		"\xE0\x80\xAF",             /* overlong '/' in 3 bytes */
		"\xE0\x9F\xBF",             /* overlong U+07FF */
		"\xF0\x80\x80\xAF",         /* overlong '/' in 4 bytes */
		"\xF0\x8F\xBF\xBF",         /* overlong U+FFFF */
		"\xED\xA0\x80",             /* U+D800 */
		"\xED\xAD\xBF",             /* U+DB7F */
		"\xED\xBF\xBF",             /* U+DFFF */
		"\xED\xA0\xBD\xED\xB8\x80", /* CESU-8 surrogate pair */
		"\xF4\x90\x80\x80",         /* U+110000 */
		"\xF5\x80\x80\x80",         /* lead over F4 */
		"\xF7\xBF\xBF\xBF",         /* U+1FFFFF */
		"\xF8\x88\x80\x80\x80",     /* 5-byte form */
		"\xFC\x84\x80\x80\x80\x80", /* 6-byte form */
		"\xFE",                     /* never in UTF-8 */
		"\xFF",                     /* never in UTF-8 */
		"\xC3",                     /* truncated 2-byte */
		"\xE2\x82",                 /* truncated euro */
		"\xF0\x9F\x98",             /* truncated emoji */
		"abc\xE2\x82",              /* truncated at the end */
		"\xC3\x28",                 /* bad continuation */
		"\xE2\x28\xA1",             /* bad second byte */
		"\xE2\x82\x28",             /* bad third byte */
		"\xF0\x9F\x98\x28",         /* bad fourth byte */
		"\xC3\xC3\xA9",             /* lead for continuation */
	};
	size_t i;

	(void) state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_err(bad[i], strlen(bad[i]), GW_EINVAL);
	/* Embedded and trailing NUL. */
	expect_err("a\0b", 3, GW_EINVAL);
	expect_err("\0", 1, GW_EINVAL);
	expect_err("hello\0", 6, GW_EINVAL);
	/* Truncation by len inside a valid sequence. */
	expect_err(EURO, 2, GW_EINVAL);
	expect_err(EMOJI, 3, GW_EINVAL);
}

static void
test_sms_invalid_after_ucs2(void **state)
{
	struct body b = { .len = 0 };

	(void) state;
	/* Validation goes on after the body has flipped to UCS-2. */
	put(&b, ZHE, 10);
	put(&b, "\xED\xA0\x80", 1);
	expect_err(b.b, b.len, GW_EINVAL);
}

static void
test_sms_body_cap(void **state)
{
	struct body b = { .len = 0 };

	(void) state;
	put(&b, "a", GW_SMS_BODY_MAX);
	expect_info(&b, GW_SMS_GSM7, 11, 1600);
	put(&b, "a", 1);
	expect_err(b.b, b.len, GW_ETOOBIG);

	/* The cap is in bytes: 800 two-byte characters are 1600 bytes. */
	b.len = 0;
	put(&b, ZHE, 800);
	expect_info(&b, GW_SMS_UCS2, 12, 800);
	/* 400 emoji: 800 units, 33 emoji a segment, so 13. */
	b.len = 0;
	put(&b, EMOJI, 400);
	expect_info(&b, GW_SMS_UCS2, 13, 800);
	put(&b, "a", 1);
	expect_err(b.b, b.len, GW_ETOOBIG);

	/* The cap is checked before the content. */
	memset(b.b, 0xFF, GW_SMS_BODY_MAX + 1);
	expect_err(b.b, GW_SMS_BODY_MAX + 1, GW_ETOOBIG);
	expect_err(b.b, GW_SMS_BODY_MAX, GW_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sms_empty),
		cmocka_unit_test(test_sms_gsm7_single_boundary),
		cmocka_unit_test(test_sms_gsm7_multi_boundary),
		cmocka_unit_test(test_sms_gsm7_extension_double),
		cmocka_unit_test(test_sms_gsm7_escape_not_split),
		cmocka_unit_test(test_sms_gsm7_alphabet),
		cmocka_unit_test(test_sms_gsm7_census),
		cmocka_unit_test(test_sms_not_gsm7),
		cmocka_unit_test(test_sms_one_char_flips),
		cmocka_unit_test(test_sms_ucs2_boundaries),
		cmocka_unit_test(test_sms_ucs2_surrogates),
		cmocka_unit_test(test_sms_utf8_valid_edges),
		cmocka_unit_test(test_sms_utf8_invalid),
		cmocka_unit_test(test_sms_invalid_after_ucs2),
		cmocka_unit_test(test_sms_body_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
