/*
 * hb/codec.h - the body of POST /relay/sms, JSON or form-encoded, into the
 * fields of a Messaging SendRequest.
 *
 * Pure functions: no I/O, no globals, safe from any thread. The fields are
 * copied into fixed-size buffers inside struct hb_send (no allocation per
 * field), so a decoded request lives exactly as long as its struct.
 *
 * Names follow Twilio's: To, From, Body, StatusCallback. The codec checks
 * shape only - presence, JSON types, UTF-8, size ceilings; whether To is
 * a number we can route is relayd's business.
 */
#ifndef HB_CODEC_H
#define HB_CODEC_H

#include <stddef.h>

#include "gw/sms.h"
#include "relay/v1/messaging.pb-c.h"
#include "relay/v1/webhooks.pb-c.h"

#define HB_NUMBER_MAX 64 /* bytes of To / From before relayd's E.164 check */
#define HB_CALLBACK_MAX 2048 /* bytes of StatusCallback (relayd's URL cap) */
#define HB_ERR_MAX 160

enum hb_ctype {
	HB_CT_NONE, /* no Content-Type header */
	HB_CT_JSON, /* application/json (any charset=utf-8 parameter) */
	HB_CT_FORM, /* application/x-www-form-urlencoded */
	HB_CT_OTHER,
};

struct hb_send {
	char to[HB_NUMBER_MAX + 1];
	char from[HB_NUMBER_MAX + 1];
	char body[GW_SMS_BODY_MAX + 1];
	char status_callback[HB_CALLBACK_MAX + 1];
};

/* hb_ctype_parse classifies a Content-Type header value; case-insensitive,
 * parameters after ';' are ignored except a charset other than utf-8,
 * which makes the type HB_CT_OTHER. value may be NULL (HB_CT_NONE). */
enum hb_ctype hb_ctype_parse(const char *value);

/*
 * hb_send_decode reads the len bytes at data (no terminator needed) as a
 * body of type ct (HB_CT_JSON or HB_CT_FORM) into *out.
 * Returns GW_OK; GW_EINVAL with err naming the field first ("To: must be
 * a string", "Body: required", "Body: not valid UTF-8"; "body: ..." when
 * the document itself is malformed); GW_ETOOBIG when a field is over its
 * ceiling (err names it); GW_ENOMEM. err (errlen bytes, HB_ERR_MAX is
 * enough) is always NUL-terminated; *out may be partly written on failure.
 */
int hb_send_decode(enum hb_ctype ct, const char *data, size_t len,
    struct hb_send *out, char *err, size_t errlen);

/* hb_send_request fills *req (initialised here) from s and idem_key (NULL
 * or the Idempotency-Key header). req borrows s's buffers and idem_key:
 * valid while they are. */
void hb_send_request(
    const struct hb_send *s, const char *idem_key, Relay__V1__SendRequest *req);

/*
 * A provider webhook's form body as Webhooks FormParams: every field, in
 * the order received, a repeated key once per value, keys and values
 * percent-decoded ('+' is a space) by civetweb's mg_url_decode into bytes
 * that may hold anything (the signature covers exactly those bytes).
 */
struct hb_params {
	Relay__V1__FormParam **ptrs; /* n of them, for the request */
	Relay__V1__FormParam  *items;
	size_t                 n;
	uint8_t               *bytes; /* the decoded keys and values */
};

/*
 * hb_params_decode splits the len bytes at data ("a=1&b=&c&a=2"; empty
 * segments are skipped, a segment without '=' is a key with an empty
 * value) into *p, allocated here. Returns GW_OK; GW_ETOOBIG with more
 * than max fields; GW_ENOMEM. On failure *p holds nothing to free.
 * Release with hb_params_fini.
 */
int hb_params_decode(
    const char *data, size_t len, size_t max, struct hb_params *p);

/* hb_params_fini frees what hb_params_decode allocated; accepts a zeroed
 * struct. */
void hb_params_fini(struct hb_params *p);

#endif
