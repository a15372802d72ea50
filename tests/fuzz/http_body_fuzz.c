/*
 * http_body_fuzz.c - hb_send_decode (the POST /relay/sms body codec) on
 * arbitrary bytes.
 *
 * The first byte picks the type: 'F' form, anything else JSON; the rest is the
 * body. Whatever the input, the decoder must not crash or leak, must terminate
 * every field within its buffer and write a NUL-terminated error; on success To
 * and Body are non-empty valid UTF-8 within their ceilings, and the fields make
 * a SendRequest that packs and unpacks to the same strings.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gw/err.h"
#include "gw/sms.h"
#include "hb/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_field(const char *f, size_t cap)
{
	size_t n = strnlen(f, cap + 1);

	if (n > cap)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hb_send         s;
	struct gw_sms_info     info;
	Relay__V1__SendRequest req, *back;
	uint8_t                packed[8192];
	char                   err[HB_ERR_MAX];
	enum hb_ctype          ct;
	size_t                 n;
	int                    rc;

	if (size < 1)
		return 0;
	ct = data[0] == 'F' ? HB_CT_FORM : HB_CT_JSON;
	memset(&s, 0xa5, sizeof(s));
	rc = hb_send_decode(
	    ct, (const char *) data + 1, size - 1, &s, err, sizeof(err));
	if (memchr(err, '\0', sizeof(err)) == NULL)
		abort();
	if (rc != GW_OK) {
		if (rc != GW_EINVAL && rc != GW_ETOOBIG && rc != GW_ENOMEM)
			abort();
		if (rc != GW_ENOMEM && err[0] == '\0')
			abort();
		return 0;
	}
	check_field(s.to, HB_NUMBER_MAX);
	check_field(s.from, HB_NUMBER_MAX);
	check_field(s.body, GW_SMS_BODY_MAX);
	check_field(s.status_callback, HB_CALLBACK_MAX);
	if (s.to[0] == '\0' || s.body[0] == '\0')
		abort();
	if (gw_sms_info(s.body, strlen(s.body), &info) != GW_OK ||
	    gw_sms_info(s.to, strlen(s.to), &info) != GW_OK)
		abort();
	hb_send_request(&s, "k", &req);
	n = relay__v1__send_request__get_packed_size(&req);
	if (n > sizeof(packed))
		abort();
	relay__v1__send_request__pack(&req, packed);
	back = relay__v1__send_request__unpack(NULL, n, packed);
	if (back == NULL || strcmp(back->to, s.to) != 0 ||
	    strcmp(back->body, s.body) != 0 ||
	    strcmp(back->from, s.from) != 0 ||
	    strcmp(back->status_callback, s.status_callback) != 0 ||
	    strcmp(back->idempotency_key, "k") != 0)
		abort();
	relay__v1__send_request__free_unpacked(back, NULL);
	return 0;
}
