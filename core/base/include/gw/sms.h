/*
 * gw/sms.h - SMS body encoding and segment counting.
 *
 * A body is sent as GSM-7 (3GPP TS 23.038 default alphabet plus its
 * extension table) when every character has a GSM-7 code, and as UCS-2 -
 * in practice UTF-16, since characters outside the BMP go as surrogate
 * pairs - otherwise. One non-GSM character switches the whole body.
 *
 *            single segment   per segment of a concatenated message
 *   GSM-7    160 septets      153 septets (7-octet UDH)
 *   UCS-2     70 units         67 units
 *
 * An extension character (FF ^ { } \ [ ~ ] | and the euro sign) costs two
 * septets, ESC and the character, and the pair is never split across
 * segments; likewise a surrogate pair. The character that would straddle
 * a boundary moves whole to the next segment, so a concatenated message
 * can need more segments than ceil(units / per segment).
 *
 * No transliteration is done (curly quotes, non-breaking spaces and the
 * like force UCS-2); that is a policy for the caller, not the codec.
 *
 * libc only; no state, safe to call from any thread.
 */
#ifndef GW_SMS_H
#define GW_SMS_H

#include <stddef.h>

/* GW_SMS_BODY_MAX is the largest body accepted, in bytes of UTF-8. */
#define GW_SMS_BODY_MAX 1600

#define GW_SMS_GSM7_SINGLE 160 /* septets in a single-segment message */
#define GW_SMS_GSM7_MULTI 153  /* septets per concatenated segment */
#define GW_SMS_UCS2_SINGLE 70  /* UTF-16 units in a single segment */
#define GW_SMS_UCS2_MULTI 67   /* UTF-16 units per concatenated segment */

/* Values start at 1 so that a zeroed struct gw_sms_info is not GSM-7. */
enum gw_sms_encoding {
	GW_SMS_GSM7 = 1,
	GW_SMS_UCS2 = 2,
};

struct gw_sms_info {
	enum gw_sms_encoding encoding;
	unsigned             segments; /* 1 or more */
	unsigned             units;    /* GSM-7 septets or UTF-16 units */
};

/*
 * gw_sms_info validates the len bytes of UTF-8 at utf8 (no terminator
 * needed) and reports the encoding, segment count and size of the body.
 * UTF-8 is checked strictly: overlong forms, surrogates (U+D800-DFFF),
 * code points over U+10FFFF, truncated sequences and NUL are rejected.
 * The empty body is valid here - GSM-7, 1 segment, 0 units - because
 * whether an empty message may be sent is the caller's rule, not the
 * codec's. utf8 may be NULL only when len is 0.
 * Returns GW_OK, GW_EINVAL for bad UTF-8, or GW_ETOOBIG when len is over
 * GW_SMS_BODY_MAX (checked first); *out is written only on GW_OK.
 */
int gw_sms_info(const char *utf8, size_t len, struct gw_sms_info *out);

#endif
