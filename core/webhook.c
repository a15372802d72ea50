/*
 * webhook.c - the pure helpers of gw/webhook.h: query parameters, TwiML
 * and the HMAC-SHA256 signature of forwarded events.
 */
#include "gw/webhook.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "gw/err.h"

int
gw_url_query_get(const char *url, const char *name, char *out, size_t outlen)
{
	const char *q, *end;
	size_t      nlen;

	if (url == NULL || name == NULL || out == NULL || outlen == 0)
		return GW_EINVAL;
	if ((q = strchr(url, '?')) == NULL)
		return GW_ENOTFOUND;
	q++;
	if ((end = strchr(q, '#')) == NULL)
		end = q + strlen(q);
	nlen = strlen(name);
	while (q < end) {
		const char *amp = memchr(q, '&', (size_t) (end - q));
		const char *pe = amp != NULL ? amp : end;
		const char *eq = memchr(q, '=', (size_t) (pe - q));
		const char *ne = eq != NULL ? eq : pe;

		if ((size_t) (ne - q) == nlen && memcmp(q, name, nlen) == 0) {
			const char *v = eq != NULL ? eq + 1 : pe;
			size_t      vlen = (size_t) (pe - v);

			if (vlen >= outlen)
				return GW_ETOOBIG;
			memcpy(out, v, vlen);
			out[vlen] = '\0';
			return GW_OK;
		}
		q = pe + 1;
	}
	return GW_ENOTFOUND;
}

#define TWIML_DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
#define TWIML_EMPTY TWIML_DECL "<Response/>"
#define TWIML_OPEN TWIML_DECL "<Response><Message>"
#define TWIML_CLOSE "</Message></Response>"

int
gw_twiml_reply(const char *text, char **out)
{
	size_t n = 0, len;
	char  *s, *p;

	if (out == NULL)
		return GW_EINVAL;
	if (text == NULL || text[0] == '\0') {
		if ((*out = strdup(TWIML_EMPTY)) == NULL)
			return GW_ENOMEM;
		return GW_OK;
	}
	/* every byte grows to at most 6 ("&quot;") */
	len = strlen(text);
	if (len > (SIZE_MAX - sizeof(TWIML_OPEN TWIML_CLOSE)) / 6)
		return GW_ENOMEM;
	if ((s = malloc(sizeof(TWIML_OPEN TWIML_CLOSE) + len * 6)) == NULL)
		return GW_ENOMEM;
	memcpy(s, TWIML_OPEN, sizeof(TWIML_OPEN) - 1);
	p = s + sizeof(TWIML_OPEN) - 1;
	for (const unsigned char *c = (const unsigned char *) text; *c; c++) {
		const char *e = NULL;

		switch (*c) {
		case '&':
			e = "&amp;";
			break;
		case '<':
			e = "&lt;";
			break;
		case '>':
			e = "&gt;";
			break;
		case '"':
			e = "&quot;";
			break;
		case '\'':
			e = "&apos;";
			break;
		default:
			if ((*c < 0x20 && *c != '\t' && *c != '\n' &&
			        *c != '\r') ||
			    *c == 0x7f)
				continue;
			*p++ = (char) *c;
			continue;
		}
		n = strlen(e);
		memcpy(p, e, n);
		p += n;
	}
	memcpy(p, TWIML_CLOSE, sizeof(TWIML_CLOSE));
	*out = s;
	return GW_OK;
}

int
gw_webhook_sign(const void *key, size_t klen, int64_t t, const void *body,
    size_t blen, char out[GW_WEBHOOK_SIG_HEX + 1])
{
	crypto_auth_hmacsha256_state st;
	unsigned char                mac[crypto_auth_hmacsha256_BYTES];
	char                         ts[24];
	int                          n;

	if ((key == NULL && klen > 0) || (body == NULL && blen > 0) || t < 0 ||
	    out == NULL)
		return GW_EINVAL;
	n = snprintf(ts, sizeof(ts), "%" PRId64 ".", t);
	if (crypto_auth_hmacsha256_init(&st, key, klen) != 0 ||
	    crypto_auth_hmacsha256_update(
	        &st, (const unsigned char *) ts, (size_t) n) != 0 ||
	    crypto_auth_hmacsha256_update(&st, body, blen) != 0 ||
	    crypto_auth_hmacsha256_final(&st, mac) != 0) {
		sodium_memzero(&st, sizeof(st));
		return GW_ECRYPTO;
	}
	sodium_bin2hex(out, GW_WEBHOOK_SIG_HEX + 1, mac, sizeof(mac));
	sodium_memzero(&st, sizeof(st));
	return GW_OK;
}

int
gw_webhook_sign_header(const void *key, size_t klen, int64_t t,
    const void *body, size_t blen, char out[GW_WEBHOOK_SIG_HEADER_MAX + 1])
{
	char hex[GW_WEBHOOK_SIG_HEX + 1];
	int  rc;

	if ((rc = gw_webhook_sign(key, klen, t, body, blen, hex)) != GW_OK)
		return rc;
	snprintf(
	    out, GW_WEBHOOK_SIG_HEADER_MAX + 1, "t=%" PRId64 ",v1=%s", t, hex);
	return GW_OK;
}
