/*
 * twilio_sig_fuzz.c - gw_twilio_sig_compute/verify on arbitrary input.
 *
 * Input layout, fields separated by '\n':
 *   token \n url \n signature header \n {key=value \n}* \n body
 * Params run until an empty line; everything after it is the raw body
 * (a line without '=' is a key with an empty value). The token, URL and
 * header are copied into NUL-terminated buffers, so an embedded NUL simply
 * ends them early.
 *
 * Besides "never crash", it checks one property: a signature from
 * gw_twilio_sig_compute must verify for the same form request.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gw/err.h"
#include "gw/twilio_sig.h"

#define FUZZ_MAX_PARAMS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* next_line returns the next '\n'-terminated field of [*p, end). */
static const char *
next_line(const char **p, const char *end, size_t *len)
{
	const char *s = *p;
	const char *nl = memchr(s, '\n', (size_t) (end - s));

	if (nl == NULL) {
		*len = (size_t) (end - s);
		*p = end;
	} else {
		*len = (size_t) (nl - s);
		*p = nl + 1;
	}
	return s;
}

static char *
dup_str(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d == NULL)
		abort();
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char  *p = (const char *) data, *end = p + size;
	const char  *tok, *line, *eq;
	char        *url, *hdr;
	struct gw_kv kv[FUZZ_MAX_PARAMS];
	char         sig[GW_TWILIO_SIG_LEN + 1];
	size_t       tok_len, len, n = 0;
	int          rc;

	if (size == 0)
		return 0;
	tok = next_line(&p, end, &tok_len);
	line = next_line(&p, end, &len);
	url = dup_str(line, len);
	line = next_line(&p, end, &len);
	hdr = dup_str(line, len);
	while (p < end && n < FUZZ_MAX_PARAMS) {
		line = next_line(&p, end, &len);
		if (len == 0)
			break;
		eq = memchr(line, '=', len);
		kv[n] = (struct gw_kv) {
			.key = line,
			.key_len = eq != NULL ? (size_t) (eq - line) : len,
			.val = eq != NULL ? eq + 1 : NULL,
			.val_len =
			    eq != NULL ? (size_t) (line + len - eq - 1) : 0,
		};
		n++;
	}

	rc = gw_twilio_sig_verify(
	    tok, tok_len, url, kv, n, p, (size_t) (end - p), hdr);
	if (rc != GW_OK && rc != GW_EAUTH && rc != GW_EINVAL)
		abort();

	/* Round trip: compute's own signature must verify. JSON posts are
	 * left out, since their body hash is not under compute's control. */
	rc = gw_twilio_sig_compute(tok, tok_len, url, kv, n, sig);
	if (rc == GW_OK) {
		if (strlen(sig) != GW_TWILIO_SIG_LEN)
			abort();
		if (strstr(url, "bodySHA256") == NULL &&
		    gw_twilio_sig_verify(
		        tok, tok_len, url, kv, n, NULL, 0, sig) != GW_OK)
			abort();
	} else if (rc != GW_EINVAL) {
		abort();
	}

	free(hdr);
	free(url);
	return 0;
}
