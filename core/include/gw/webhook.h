/*
 * gw/webhook.h - the small pure pieces of webhook handling: reading a
 * parameter out of a URL's query, answering TwiML, and signing the events
 * Relay forwards to its clients. No I/O, no globals; thread-safe.
 *
 * Forwarded events are signed like this (documented for clients in
 * core/README-webhooks.md):
 *
 *   X-Relay-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
 *                                                 "<t>.<raw body>")>
 *
 * where secret is the client's webhook secret exactly as shown once by
 * `relayctl client webhook-secret` ("whsec_..."), used as the HMAC key
 * byte for byte.
 */
#ifndef GW_WEBHOOK_H
#define GW_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

/* Hex HMAC-SHA256, without the NUL. */
#define GW_WEBHOOK_SIG_HEX 64

/* The longest X-Relay-Signature value gw_webhook_sign_header writes,
 * without the NUL. */
#define GW_WEBHOOK_SIG_HEADER_MAX (2 + 20 + 4 + GW_WEBHOOK_SIG_HEX)

/* gw_url_query_get finds the first parameter of url's query (after the
 * first '?', before any '#') whose name is exactly name, byte for byte,
 * without percent-decoding, and copies its raw value, NUL-terminated, to
 * out. Borrows its arguments for the call. Returns GW_OK, GW_ENOTFOUND,
 * GW_ETOOBIG (the value does not fit in outlen - 1 bytes; out untouched)
 * or GW_EINVAL (a NULL argument or outlen 0). */
int gw_url_query_get(
    const char *url, const char *name, char *out, size_t outlen);

/* gw_twiml_reply builds the TwiML answer to an inbound message: an XML
 * declaration and <Response><Message>text</Message></Response> with text
 * XML-escaped (& < > " ' as entities; control characters other than tab,
 * CR and LF, which XML 1.0 cannot carry, dropped), or <Response/> when
 * text is NULL or "". *out is malloc'd and NUL-terminated; the caller
 * frees it. Returns GW_OK, GW_EINVAL (out NULL) or GW_ENOMEM. */
int gw_twiml_reply(const char *text, char **out);

/* gw_webhook_sign computes the hex HMAC-SHA256 of "<t>.<body>" under
 * key (klen bytes, any length) into out (NUL-terminated). Returns GW_OK,
 * GW_EINVAL (NULL pointers with non-zero lengths, t < 0) or GW_ECRYPTO. */
int gw_webhook_sign(const void *key, size_t klen, int64_t t, const void *body,
    size_t blen, char out[GW_WEBHOOK_SIG_HEX + 1]);

/* gw_webhook_sign_header writes the X-Relay-Signature value
 * "t=<t>,v1=<hex>" for body into out. Returns as gw_webhook_sign. */
int gw_webhook_sign_header(const void *key, size_t klen, int64_t t,
    const void *body, size_t blen, char out[GW_WEBHOOK_SIG_HEADER_MAX + 1]);

#endif
