/*
 * public_url.c - the URL a provider called, as the provider saw it.
 *
 * Forwarded headers are believed only from a configured proxy, and only
 * as far as the configured number of hops: each proxy appends to
 * X-Forwarded-*, so with N proxies of ours the N-th value from the right
 * is the one our outermost proxy wrote, and anything further left came
 * from the client and may be forged (werkzeug's ProxyFix reasoning).
 * Every value that ends up in the URL is checked against a strict
 * grammar, so a header cannot smuggle a second host, a query or a line
 * break into the URL that relayd signs.
 */
#include "hb/public_url.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gw/err.h"

#define LIST_MAX 1024 /* a joined X-Forwarded-* header */

static int __attribute__((format(printf, 3, 4)))
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return GW_EINVAL;
}

static bool
is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static bool
is_unreserved(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

/* ---- addresses ------------------------------------------------------- */

/* parse_ip reads an IPv4 or IPv6 address of n bytes at s (brackets and a
 * %zone allowed around IPv6); an IPv4-mapped IPv6 address reads as IPv4. */
static bool
parse_ip(const char *s, size_t n, uint8_t addr[16], bool *v4)
{
	char buf[64];

	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*v4 = true;
		return true;
	}
	buf[strcspn(buf, "%")] = '\0';
	if (inet_pton(AF_INET6, buf, addr) != 1)
		return false;
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
		0xff };
	if (memcmp(addr, mapped, 12) == 0) {
		memmove(addr, addr + 12, 4);
		memset(addr + 4, 0, 12);
		*v4 = true;
		return true;
	}
	*v4 = false;
	return true;
}

static bool
net_contains(const struct hb_net *net, const uint8_t addr[16], bool v4)
{
	unsigned full = net->bits / 8u, rest = net->bits % 8u;

	if (net->v4 != v4)
		return false;
	if (memcmp(net->addr, addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t) (0xffu << (8u - rest));
	return (net->addr[full] & mask) == (addr[full] & mask);
}

/* parse_net reads "ADDR" or "ADDR/BITS" (n bytes at s). */
static bool
parse_net(const char *s, size_t n, struct hb_net *net)
{
	const char   *slash = memchr(s, '/', n);
	size_t        alen = slash != NULL ? (size_t) (slash - s) : n;
	unsigned long bits;
	unsigned      max;
	bool          mapped;

	memset(net, 0, sizeof(*net));
	if (!parse_ip(s, alen, net->addr, &net->v4))
		return false;
	/* "::ffff:10.0.0.0/104" reads as IPv4: its prefix counts the
	 * mapping's 96 bits */
	mapped = net->v4 && memchr(s, ':', alen) != NULL;
	max = net->v4 && !mapped ? 32 : 128;
	if (slash == NULL) {
		net->bits = net->v4 ? 32 : 128;
		return true;
	}
	bits = 0;
	if (n - alen < 2 || n - alen > 4)
		return false;
	for (const char *p = slash + 1; p < s + n; p++) {
		if (*p < '0' || *p > '9')
			return false;
		bits = bits * 10 + (unsigned long) (*p - '0');
	}
	if (bits > max)
		return false;
	if (mapped) {
		if (bits < 96)
			return false;
		bits -= 96;
	}
	net->bits = (uint8_t) bits;
	return true;
}

bool
hb_urlcfg_trusts(const struct hb_urlcfg *c, const char *peer)
{
	uint8_t addr[16];
	bool    v4;

	if (peer == NULL || c->n_trusted == 0 ||
	    !parse_ip(peer, strlen(peer), addr, &v4))
		return false;
	for (size_t i = 0; i < c->n_trusted; i++)
		if (net_contains(&c->trusted[i], addr, v4))
			return true;
	return false;
}

/* ---- grammar of the parts -------------------------------------------- */

/* valid_port: 1..65535, decimal, no sign. */
static bool
valid_port(const char *s, size_t n)
{
	unsigned long v = 0;

	if (n == 0 || n > 5)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long) (s[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

/* split_host finds the port of an authority "host[:port]" (n bytes):
 * *hlen gets the host's length; the port, if any, follows it after ':'.
 * Checks the whole grammar: a DNS name or IPv4 address of unreserved
 * characters, or an IPv6 literal in brackets. */
static bool
split_host(const char *s, size_t n, size_t *hlen)
{
	size_t h;

	if (n == 0 || n > HB_HOST_MAX)
		return false;
	if (s[0] == '[') {
		const char *end = memchr(s, ']', n);
		uint8_t     a[16];
		bool        v4;

		if (end == NULL)
			return false;
		h = (size_t) (end - s) + 1;
		if (!parse_ip(s, h, a, &v4) || memchr(s, '%', h) != NULL)
			return false;
	} else {
		for (h = 0; h < n && s[h] != ':'; h++)
			if (!is_unreserved((unsigned char) s[h]))
				return false;
		if (h == 0)
			return false;
	}
	if (h < n && (s[h] != ':' || !valid_port(s + h + 1, n - h - 1)))
		return false;
	*hlen = h;
	return true;
}

/* valid_path: '/' then RFC 3986 path characters (pchar and '/'). */
static bool
valid_path(const char *s, size_t n)
{
	if (n == 0 || s[0] != '/')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char) s[i];

		if (!is_unreserved(c) && strchr("/%!$&'()*+,;=:@", c) == NULL)
			return false;
	}
	return true;
}

/* valid_query: printable ASCII but '#'; as received otherwise. */
static bool
valid_query(const char *s)
{
	for (; *s; s++)
		if ((unsigned char) *s <= 0x20 || (unsigned char) *s >= 0x7f ||
		    *s == '#')
			return false;
	return true;
}

/* ---- configuration --------------------------------------------------- */

int
hb_urlcfg_init(struct hb_urlcfg *c, const char *public_url, const char *trusted,
    const char *hops, const char *fallback_host, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	c->hops = 1;
	if (errlen > 0)
		err[0] = '\0';
	if (public_url != NULL && public_url[0] != '\0') {
		size_t      n = strlen(public_url), skip, hlen, rest;
		const char *auth, *slash;

		while (n > 0 && public_url[n - 1] == '/')
			n--;
		if (strncasecmp(public_url, "http://", 7) == 0)
			skip = 7;
		else if (strncasecmp(public_url, "https://", 8) == 0)
			skip = 8;
		else
			return fail(err, errlen,
			    "--public-url: an http:// or https:// URL");
		if (n <= skip || n > HB_PUBLIC_URL_MAX / 2)
			return fail(err, errlen,
			    "--public-url: a host, at most %d bytes",
			    HB_PUBLIC_URL_MAX / 2);
		auth = public_url + skip;
		slash = memchr(auth, '/', n - skip);
		rest = slash != NULL ? (size_t) (public_url + n - slash) : 0;
		if (!split_host(auth, n - skip - rest, &hlen) ||
		    (rest > 0 && !valid_path(slash, rest)))
			return fail(err, errlen,
			    "--public-url: scheme://host[:port][/prefix], no "
			    "query, fragment or user");
		memcpy(c->base, public_url, n);
		c->base[n] = '\0';
	}
	if (trusted != NULL) {
		const char *p = trusted;

		while (*p != '\0') {
			size_t n, len = strcspn(p, ",");
			size_t lead = 0;

			while (lead < len && is_ows(p[lead]))
				lead++;
			n = len - lead;
			while (n > 0 && is_ows(p[lead + n - 1]))
				n--;
			if (n > 0) {
				if (c->n_trusted == HB_TRUST_MAX)
					return fail(err, errlen,
					    "--trusted-proxy: at most %d "
					    "entries",
					    HB_TRUST_MAX);
				if (!parse_net(
				        p + lead, n, &c->trusted[c->n_trusted]))
					return fail(err, errlen,
					    "--trusted-proxy: '%.*s' is not an "
					    "IP address or CIDR network",
					    (int) (n > 64 ? 64 : n), p + lead);
				c->n_trusted++;
			}
			p += len;
			if (*p == ',')
				p++;
		}
	}
	if (hops != NULL) {
		char         *end;
		unsigned long v = strtoul(hops, &end, 10);

		if (hops[0] < '0' || hops[0] > '9' || *end != '\0' || v < 1 ||
		    v > HB_HOPS_MAX)
			return fail(
			    err, errlen, "--proxy-hops: 1 to %d", HB_HOPS_MAX);
		c->hops = (unsigned) v;
	}
	if (fallback_host == NULL || fallback_host[0] == '\0')
		fallback_host = "localhost";
	if (strlen(fallback_host) > HB_HOST_MAX)
		return fail(err, errlen, "listen address too long");
	snprintf(
	    c->fallback_host, sizeof(c->fallback_host), "%s", fallback_host);
	return GW_OK;
}

/* ---- one request ----------------------------------------------------- */

/* header_list joins every line of header name with ',' into buf (a list
 * header split over lines is one list, RFC 9110 5.3). Returns the number
 * of lines, or -1 when the join does not fit or holds a control
 * character. */
static int
header_list(const struct hb_urlreq *r, const char *name, char *buf, size_t len)
{
	size_t used = 0;
	int    lines = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < r->n_headers; i++) {
		const char *v = r->headers[i].value;
		size_t      n;

		if (r->headers[i].name == NULL || v == NULL ||
		    strcasecmp(r->headers[i].name, name) != 0)
			continue;
		n = strlen(v);
		if (used + n + 2 > len)
			return -1;
		for (size_t j = 0; j < n; j++)
			if ((unsigned char) v[j] < 0x20 && v[j] != '\t')
				return -1;
			else if ((unsigned char) v[j] == 0x7f)
				return -1;
		if (lines > 0)
			buf[used++] = ',';
		memcpy(buf + used, v, n);
		used += n;
		buf[used] = '\0';
		lines++;
	}
	return lines;
}

/* nth_from_right finds the hops-th comma-separated value from the right
 * of list, trimmed. false when there are fewer values or it is empty. */
static bool
nth_from_right(const char *list, unsigned hops, const char **v, size_t *n)
{
	size_t end = strlen(list), start;

	for (unsigned k = 1;; k++) {
		start = end;
		while (start > 0 && list[start - 1] != ',')
			start--;
		if (k == hops)
			break;
		if (start == 0)
			return false;
		end = start - 1;
	}
	while (start < end && is_ows(list[start]))
		start++;
	while (end > start && is_ows(list[end - 1]))
		end--;
	*v = list + start;
	*n = end - start;
	return *n > 0;
}

/* forwarded reads the value X-Forwarded-<name> gives with c's hops, into
 * buf; *n is 0 when the header gives none. -1 on a malformed header. */
static int
forwarded(const struct hb_urlcfg *c, const struct hb_urlreq *r,
    const char *name, char *buf, size_t len, size_t *n)
{
	char        list[LIST_MAX];
	const char *v;

	*n = 0;
	if (header_list(r, name, list, sizeof(list)) < 0)
		return -1;
	if (!nth_from_right(list, c->hops, &v, n)) {
		*n = 0;
		return 0;
	}
	if (*n >= len)
		return -1;
	memcpy(buf, v, *n);
	buf[*n] = '\0';
	return 0;
}

int
hb_public_url(const struct hb_urlcfg *c, const struct hb_urlreq *r, char *out,
    size_t outlen, char *err, size_t errlen)
{
	char        host[HB_HOST_MAX + 8], val[HB_PUBLIC_URL_MAX / 2];
	char        prefix[HB_PUBLIC_URL_MAX / 2] = "";
	const char *scheme = r->tls ? "https" : "http";
	size_t      n, hlen, plen;
	int         lines, w;

	if (errlen > 0)
		err[0] = '\0';
	if (outlen > 0)
		out[0] = '\0';
	plen = r->path != NULL ? strlen(r->path) : 0;
	if (!valid_path(r->path != NULL ? r->path : "", plen))
		return fail(err, errlen, "request path: not a URL path");
	if (r->query != NULL && !valid_query(r->query))
		return fail(err, errlen, "request query: not a URL query");

	if (c->base[0] != '\0') {
		w = snprintf(out, outlen, "%s%s%s%s", c->base, r->path,
		    r->query != NULL ? "?" : "",
		    r->query != NULL ? r->query : "");
		goto done;
	}

	/* what the request itself says */
	lines = header_list(r, "Host", val, sizeof(val));
	if (lines < 0 || lines > 1)
		return fail(err, errlen, "Host: exactly one, a host[:port]");
	if (lines == 1) {
		n = strlen(val);
		if (!split_host(val, n, &hlen))
			return fail(err, errlen, "Host: not a host[:port]");
		memcpy(host, val, n + 1);
	} else {
		snprintf(host, sizeof(host), "%s", c->fallback_host);
	}

	if (hb_urlcfg_trusts(c, r->peer)) {
		if (forwarded(c, r, "X-Forwarded-Proto", val, sizeof(val), &n) <
		    0)
			return fail(
			    err, errlen, "X-Forwarded-Proto: malformed");
		if (n == 5 && strncasecmp(val, "https", 5) == 0)
			scheme = "https";
		else if (n == 4 && strncasecmp(val, "http", 4) == 0)
			scheme = "http";
		else if (n > 0)
			return fail(
			    err, errlen, "X-Forwarded-Proto: http or https");

		if (forwarded(c, r, "X-Forwarded-Host", val, sizeof(val), &n) <
		        0 ||
		    (n > 0 && !split_host(val, n, &hlen)))
			return fail(
			    err, errlen, "X-Forwarded-Host: not a host[:port]");
		if (n > 0)
			memcpy(host, val, n + 1);

		if (forwarded(c, r, "X-Forwarded-Port", val, sizeof(val), &n) <
		        0 ||
		    (n > 0 && !valid_port(val, n)))
			return fail(
			    err, errlen, "X-Forwarded-Port: 1 to 65535");
		if (n > 0) {
			if (!split_host(host, strlen(host), &hlen))
				return fail(err, errlen, "host: malformed");
			snprintf(host + hlen, sizeof(host) - hlen, ":%s", val);
		}

		if (forwarded(
		        c, r, "X-Forwarded-Prefix", val, sizeof(val), &n) < 0 ||
		    (n > 0 &&
		        (!valid_path(val, n) || (n > 1 && val[1] == '/'))))
			return fail(
			    err, errlen, "X-Forwarded-Prefix: not a URL path");
		while (n > 0 && val[n - 1] == '/')
			n--;
		memcpy(prefix, val, n);
		prefix[n] = '\0';
	}

	/* the scheme's default port is left out, as a browser would */
	if (split_host(host, strlen(host), &hlen) && host[hlen] == ':' &&
	    ((strcmp(scheme, "http") == 0 && strcmp(host + hlen, ":80") == 0) ||
	        (strcmp(scheme, "https") == 0 &&
	            strcmp(host + hlen, ":443") == 0)))
		host[hlen] = '\0';

	w = snprintf(out, outlen, "%s://%s%s%s%s%s", scheme, host, prefix,
	    r->path, r->query != NULL ? "?" : "",
	    r->query != NULL ? r->query : "");
done:
	if (w < 0 || (size_t) w >= outlen || w > HB_PUBLIC_URL_MAX) {
		if (outlen > 0)
			out[0] = '\0';
		if (errlen > 0)
			snprintf(err, errlen, "URL: longer than %d bytes",
			    HB_PUBLIC_URL_MAX);
		return GW_ETOOBIG;
	}
	return GW_OK;
}
