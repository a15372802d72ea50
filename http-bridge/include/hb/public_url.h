/*
 * hb/public_url.h - the public URL a provider called, rebuilt the way the
 * provider saw it, for the signature relayd checks.
 *
 * A provider signs the URL it was configured with. Behind a reverse proxy
 * relay-http sees another one (http://10.0.0.5:8080/...), so the public
 * URL is, in this order:
 *   1. the configured public base URL (--public-url) + the request path
 *      + '?' + query: the base's own path prefix is kept, forwarded
 *      headers are never read;
 *   2. when the peer address is a configured trusted proxy: the URL
 *      rebuilt from X-Forwarded-Proto/Host/Port/Prefix with werkzeug
 *      ProxyFix's rules: with hops N, each header's N-th comma-separated
 *      value from the right (repeated header lines count as one list);
 *      a header with fewer values is ignored, and what is missing comes
 *      from the request itself;
 *   3. otherwise http://<Host header, or the listen address><path>?query;
 *      forwarded headers from an untrusted peer are ignored entirely.
 * The port rules of Twilio's validators (as received, without the port,
 * with the default port) are relayd's verifier's business; here a port
 * that is the scheme's default is left out, as werkzeug does.
 *
 * Pure functions: no I/O, no globals, no allocation; safe from any thread.
 */
#ifndef HB_PUBLIC_URL_H
#define HB_PUBLIC_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HB_PUBLIC_URL_MAX 4096 /* relayd's ceiling for public_url */
#define HB_TRUST_MAX 64        /* trusted proxy entries */
#define HB_HOPS_MAX 16
#define HB_HOST_MAX 255

/* One trusted address or network. */
struct hb_net {
	uint8_t addr[16]; /* IPv4 in the first 4 bytes */
	uint8_t bits;     /* prefix length */
	bool    v4;
};

/* What the operator configured; built by hb_urlcfg_init, then read-only. */
struct hb_urlcfg {
	char          base[HB_PUBLIC_URL_MAX + 1]; /* "" when not set */
	char          fallback_host[HB_HOST_MAX + 1];
	struct hb_net trusted[HB_TRUST_MAX];
	size_t        n_trusted;
	unsigned      hops;
};

/* One request header, as civetweb's struct mg_header holds it. */
struct hb_header {
	const char *name;
	const char *value;
};

/* What one request offers; every pointer is borrowed for the call. */
struct hb_urlreq {
	const char             *peer;  /* remote address, e.g. "::1" */
	bool                    tls;   /* the connection itself is TLS */
	const char             *path;  /* raw request path, "/relay/..." */
	const char             *query; /* after '?', NULL when no '?' */
	const struct hb_header *headers;
	size_t                  n_headers;
};

/*
 * hb_urlcfg_init fills *c. public_url (NULL or "": none) is an http(s)
 * URL without query or fragment; a trailing '/' is dropped. trusted
 * (NULL or "": none) is a comma-separated list of IPv4/IPv6 addresses and
 * CIDR networks ("10.0.0.0/8, ::1, fd00::/8"). hops (NULL: 1) is a
 * decimal 1..HB_HOPS_MAX. fallback_host ("127.0.0.1:8080") names this
 * server for a request without a Host header.
 * Returns GW_OK, or GW_EINVAL with err (errlen bytes, NUL-terminated)
 * naming the bad setting.
 */
int hb_urlcfg_init(struct hb_urlcfg *c, const char *public_url,
    const char *trusted, const char *hops, const char *fallback_host, char *err,
    size_t errlen);

/* hb_urlcfg_trusts tells whether peer (an IP address as text; IPv6 may
 * carry brackets or a %zone; IPv4-mapped IPv6 matches IPv4 entries) is a
 * trusted proxy. Unparsable peers are not trusted. */
bool hb_urlcfg_trusts(const struct hb_urlcfg *c, const char *peer);

/*
 * hb_public_url writes the public URL of request r into out (outlen
 * bytes, at most HB_PUBLIC_URL_MAX + 1 used), NUL-terminated.
 * Returns GW_OK; GW_EINVAL when a header that would be used is malformed
 * (several Host lines, a bad host or port, a scheme other than http or
 * https, control characters, a prefix that is not a path) with err
 * naming it; GW_ETOOBIG when the URL does not fit. On failure out holds
 * "" (when outlen > 0).
 */
int hb_public_url(const struct hb_urlcfg *c, const struct hb_urlreq *r,
    char *out, size_t outlen, char *err, size_t errlen);

#endif
