/*
 * gw/twilio_sig.h - Twilio webhook signatures (X-Twilio-Signature).
 *
 * Pure functions: no I/O, no logging, no globals. They never copy the auth
 * token anywhere but into OpenSSL's HMAC context (which cleanses it on
 * free) and never return or expose it. Safe to call from any thread.
 *
 * What Twilio signs (twilio-python / twilio-node RequestValidator):
 *
 *   Form posts:  base64(HMAC-SHA1(token, URL + k1 v1 + k2 v2 + ...))
 *                where the URL is the full public URL with its query
 *                string exactly as Twilio called it, and the decoded
 *                POST parameters are sorted by key, then by value, byte
 *                order (memcmp; a shorter prefix first), with identical
 *                (key, value) pairs counted once, and concatenated with
 *                no separators. Query parameters are part of the URL and
 *                are not appended again.
 *   JSON posts:  the URL carries a bodySHA256=<hex> query parameter; the
 *                signature covers the URL alone (no parameters) and the
 *                lowercase hex SHA-256 of the raw body must equal it.
 *
 * A post is treated as a JSON post if and only if the query of url holds a
 * parameter whose name is exactly "bodySHA256" (not percent-decoded; the
 * first one counts, as in URLSearchParams.get and parse_qs). The content
 * type is not consulted, as Twilio's own validators do not consult it.
 *
 * Caveat for callers: when url has no bodySHA256, the body is ignored and
 * only params are authenticated. A caller that receives a body it does not
 * decode into params (JSON, say) without bodySHA256 in the URL must not
 * trust that body.
 */
#ifndef GW_TWILIO_SIG_H
#define GW_TWILIO_SIG_H

#include <stddef.h>

/* Length of a signature in base64 (HMAC-SHA1, 20 bytes), without the NUL. */
#define GW_TWILIO_SIG_LEN 28

/* Ceiling on the number of form parameters one request may carry. */
#define GW_TWILIO_SIG_MAX_PARAMS 1024

/* One decoded form parameter. Neither string needs a NUL terminator and
 * either may hold any bytes; a pointer may be NULL only if its length is 0.
 * A key repeated with several values appears once per value. */
struct gw_kv {
	const char *key;
	size_t      key_len;
	const char *val;
	size_t      val_len;
};

/* gw_twilio_sig_compute computes the signature Twilio would send for url
 * (NUL-terminated, taken verbatim: no port variants, no bodySHA256
 * handling) and params (decoded, in any order; the function sorts a private
 * copy of pointers and never modifies them). For a JSON post pass
 * nparams 0. Borrows all arguments for the call only.
 *
 * url must be an absolute http:// or https:// URL (scheme case-insensitive)
 * with a non-empty host and at most a decimal port <= 65535.
 *
 * Returns GW_OK and writes the NUL-terminated base64 signature to out;
 * GW_EINVAL for a NULL or empty token, a NULL or malformed url, or NULL
 * pointers with non-zero lengths; GW_ETOOBIG if nparams exceeds
 * GW_TWILIO_SIG_MAX_PARAMS; GW_ENOMEM; GW_ECRYPTO if OpenSSL fails.
 * out is written only on GW_OK. */
int gw_twilio_sig_compute(const char *token, size_t token_len, const char *url,
    const struct gw_kv *params, size_t nparams,
    char out[GW_TWILIO_SIG_LEN + 1]);

/* gw_twilio_sig_verify checks signature_header (the X-Twilio-Signature
 * value, NUL-terminated, already trimmed by the HTTP layer) for a request
 * received at url (the public URL, NUL-terminated) with decoded form params
 * and the raw body. Borrows all arguments for the call only.
 *
 * The signature is checked against these URL variants, as Twilio's
 * validators do, and accepted if any matches:
 *   - url exactly as given;
 *   - url with its port removed, if it has one ("https://h:8443/p" ->
 *     "https://h/p");
 *   - url with the scheme's default port added, if it has none
 *     ("https://h/p" -> "https://h:443/p", "http://h/p" -> "http://h:80/p").
 * No other normalisation is tried: in particular, unlike twilio-node's
 * fallbacks, the query is never re-escaped, so a URL received with a
 * literal ' but signed with %27 (or the reverse) is rejected. Relay builds
 * its callback URLs itself and keeps such characters out of them.
 *
 * If url holds bodySHA256 (see the top of this file), params are ignored
 * (the body, which the caller decodes them from, is bound by the hash
 * instead), the signature must cover the URL alone, and the lowercase hex
 * SHA-256 of body[0..body_len) must equal the bodySHA256 value. Otherwise
 * body is ignored and may be NULL.
 *
 * Signatures and the body hash are compared in constant time; the time
 * taken reveals only their lengths and which URL variant matched.
 *
 * Returns GW_OK if the request is authentic; GW_EAUTH if signature_header
 * is NULL, empty or does not match, or the body hash does not match;
 * GW_EINVAL, GW_ETOOBIG, GW_ENOMEM or GW_ECRYPTO as for
 * gw_twilio_sig_compute (also GW_EINVAL for a NULL body with a non-zero
 * body_len). Input errors are reported before a missing signature. */
int gw_twilio_sig_verify(const char *token, size_t token_len, const char *url,
    const struct gw_kv *params, size_t nparams, const char *body,
    size_t body_len, const char *signature_header);

#endif
