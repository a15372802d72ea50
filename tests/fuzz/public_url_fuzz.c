/*
 * public_url_fuzz.c - hb_public_url (the public URL a webhook was signed
 * for) on arbitrary headers, from a trusted and an untrusted peer.
 *
 * The input is split at NUL bytes: the first piece is the query, then
 * pairs of header name and value. Whatever the input, the function must
 * not crash, must answer GW_OK, GW_EINVAL or GW_ETOOBIG with a
 * NUL-terminated error, and on GW_OK write an http(s) URL of at most
 * HB_PUBLIC_URL_MAX printable ASCII bytes that ends with the request's
 * path and query; from an untrusted peer the forwarded headers must make
 * no difference.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gw/err.h"
#include "hb/public_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PATH "/relay/twilio/status"
#define HDR_MAX 16

static int
run(const struct hb_urlcfg *c, const char *peer, const char *query,
    const struct hb_header *h, size_t n, char *out, size_t outlen)
{
	struct hb_urlreq r = { 0 };
	char             err[160];
	size_t           len;
	int              rc;

	r.peer = peer;
	r.path = PATH;
	r.query = query;
	r.headers = h;
	r.n_headers = n;
	memset(err, 0x5a, sizeof(err));
	rc = hb_public_url(c, &r, out, outlen, err, sizeof(err));
	if (memchr(err, '\0', sizeof(err)) == NULL)
		abort();
	if (rc != GW_OK) {
		if ((rc != GW_EINVAL && rc != GW_ETOOBIG) || err[0] == '\0' ||
		    out[0] != '\0')
			abort();
		return rc;
	}
	len = strlen(out);
	if (len > HB_PUBLIC_URL_MAX ||
	    (strncmp(out, "http://", 7) != 0 &&
	        strncmp(out, "https://", 8) != 0))
		abort();
	for (size_t i = 0; i < len; i++)
		if ((unsigned char) out[i] <= 0x20 ||
		    (unsigned char) out[i] >= 0x7f || out[i] == '#')
			abort();
	if (query != NULL) {
		size_t q = strlen(query);

		if (len < q + 1 || strcmp(out + len - q, query) != 0 ||
		    out[len - q - 1] != '?')
			abort();
	} else if (len < sizeof(PATH) - 1 ||
	    strcmp(out + len - (sizeof(PATH) - 1), PATH) != 0) {
		abort();
	}
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hb_urlcfg trusted, untrusted;
	static int              ready;
	struct hb_header        h[HDR_MAX], hosts[HDR_MAX];
	char                   *buf, *p, *end, *query;
	char                    a[HB_PUBLIC_URL_MAX + 1];
	char                    b[HB_PUBLIC_URL_MAX + 1];
	char                    err[160];
	size_t                  n = 0, nh = 0;
	int                     ra, rb;

	if (!ready) {
		if (hb_urlcfg_init(&trusted, NULL, "127.0.0.1, ::1/128", "2",
		        "127.0.0.1:8080", err, sizeof(err)) != GW_OK ||
		    hb_urlcfg_init(&untrusted, NULL, NULL, NULL,
		        "127.0.0.1:8080", err, sizeof(err)) != GW_OK)
			abort();
		ready = 1;
	}
	if ((buf = malloc(size + 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	end = buf + size;
	query = buf;
	p = buf + strlen(buf) + 1;
	while (p < end && n < HDR_MAX) {
		char *name = p, *value;

		p += strlen(p) + 1;
		if (p >= end)
			break;
		value = p;
		p += strlen(p) + 1;
		h[n].name = name;
		h[n].value = value;
		n++;
	}
	/* the query "-" stands for no '?' at all */
	if (strcmp(query, "-") == 0)
		query = NULL;
	(void) run(&trusted, "::1", query, h, n, a, sizeof(a));
	ra = run(&untrusted, "::1", query, h, n, a, sizeof(a));
	/* untrusted: only Host matters */
	for (size_t i = 0; i < n; i++)
		if (strncasecmp(h[i].name, "X-Forwarded-", 12) != 0)
			hosts[nh++] = h[i];
	rb = run(&untrusted, "::1", query, hosts, nh, b, sizeof(b));
	if (ra != rb || (ra == GW_OK && strcmp(a, b) != 0))
		abort();
	free(buf);
	return 0;
}
