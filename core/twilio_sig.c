/*
 * twilio_sig.c - computes and checks Twilio's X-Twilio-Signature.
 *
 * The signed string is never built in memory: the URL variants are fed to
 * HMAC-SHA1 as up to three slices of the received URL (before the port,
 * an optional default port, after the port), followed by the sorted
 * parameters. The only allocation is the array of pointers that sorts the
 * parameters. HMAC, SHA-256 and base64 are OpenSSL's.
 */
#include "gw/twilio_sig.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gw/err.h"

#define SHA1_LEN 20
#define SHA256_LEN 32
#define BODY_PARAM "bodySHA256"

/* Where the port sits in a parsed URL. Offsets index the URL string. */
struct url_parts {
	size_t      len;          /* strlen(url) */
	size_t      host_end;     /* just past the host: ':' or authority end */
	size_t      port_end;     /* just past the port; host_end if none */
	int         has_port;     /* a ':' follows the host */
	const char *default_port; /* ":443" or ":80" */
	size_t      query;        /* index of '?' if url has a query */
	size_t      query_end;    /* index of '#' or len */
};

/* One URL variant as up to three slices fed to the MAC in order. */
struct url_variant {
	const char *part[3];
	size_t      part_len[3];
};

static int
ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int
has_prefix_nocase(const char *s, const char *prefix)
{
	for (; *prefix != '\0'; s++, prefix++)
		if (ascii_lower((unsigned char) *s) != *prefix)
			return 0;
	return 1;
}

/* Bounded strlen: C17 has no strnlen, and the header is untrusted. */
static size_t
bounded_len(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n] != '\0')
		n++;
	return n;
}

/* url_parse accepts only absolute http(s) URLs with a non-empty host and
 * at most a decimal port <= 65535, so that "the port" is well defined. */
static int
url_parse(const char *url, struct url_parts *out)
{
	struct url_parts u = { 0 };
	size_t           auth, auth_end, host, i;
	unsigned long    port = 0;

	u.len = strlen(url);
	if (has_prefix_nocase(url, "https://")) {
		auth = 8;
		u.default_port = ":443";
	} else if (has_prefix_nocase(url, "http://")) {
		auth = 7;
		u.default_port = ":80";
	} else {
		return GW_EINVAL;
	}
	auth_end = auth + strcspn(url + auth, "/?#");

	/* Userinfo may hold ':' (user:pass@); the host follows the last '@'. */
	host = auth;
	for (i = auth; i < auth_end; i++)
		if (url[i] == '@')
			host = i + 1;
	if (host == auth_end)
		return GW_EINVAL;

	if (url[host] == '[') {
		const char *rb = memchr(url + host, ']', auth_end - host);

		if (rb == NULL)
			return GW_EINVAL;
		u.host_end = (size_t) (rb - url) + 1;
		if (u.host_end != auth_end && url[u.host_end] != ':')
			return GW_EINVAL;
	} else {
		const char *colon = memchr(url + host, ':', auth_end - host);

		u.host_end = colon != NULL ? (size_t) (colon - url) : auth_end;
		if (u.host_end == host)
			return GW_EINVAL;
	}

	u.port_end = u.host_end;
	if (u.host_end < auth_end) {
		u.has_port = 1;
		if (auth_end - u.host_end - 1 > 5)
			return GW_EINVAL;
		for (i = u.host_end + 1; i < auth_end; i++) {
			if (url[i] < '0' || url[i] > '9')
				return GW_EINVAL;
			port = port * 10 + (unsigned long) (url[i] - '0');
		}
		if (port > 65535)
			return GW_EINVAL;
		u.port_end = auth_end;
	}

	u.query = auth_end + strcspn(url + auth_end, "?#");
	u.query_end = u.query + strcspn(url + u.query, "#");
	*out = u;
	return GW_OK;
}

/* find_body_sha256 looks for the first bodySHA256=<value> in the query. */
static int
find_body_sha256(const char *url, const struct url_parts *u, const char **val,
    size_t *val_len)
{
	const size_t name_len = sizeof(BODY_PARAM) - 1;
	size_t       i, end;

	if (url[u->query] != '?')
		return 0;
	for (i = u->query + 1; i <= u->query_end; i = end + 1) {
		const char *eq;
		size_t      name_end;

		end = i + strcspn(url + i, "&#");
		eq = memchr(url + i, '=', end - i);
		name_end = eq != NULL ? (size_t) (eq - url) : end;
		if (name_end - i == name_len &&
		    memcmp(url + i, BODY_PARAM, name_len) == 0) {
			*val = url + name_end + (eq != NULL);
			*val_len = end - name_end - (eq != NULL);
			return 1;
		}
	}
	return 0;
}

static int
bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int    c = n > 0 ? memcmp(a, b, n) : 0;

	if (c != 0)
		return c;
	return (alen > blen) - (alen < blen);
}

static int
kv_cmp(const void *pa, const void *pb)
{
	const struct gw_kv *a = *(const struct gw_kv *const *) pa;
	const struct gw_kv *b = *(const struct gw_kv *const *) pb;
	int c = bytes_cmp(a->key, a->key_len, b->key, b->key_len);

	return c != 0 ? c : bytes_cmp(a->val, a->val_len, b->val, b->val_len);
}

static int
check_args(const char *token, size_t token_len, const char *url,
    const struct gw_kv *params, size_t nparams)
{
	size_t i;

	if (token == NULL || token_len == 0 || url == NULL)
		return GW_EINVAL;
	if (params == NULL && nparams > 0)
		return GW_EINVAL;
	if (nparams > GW_TWILIO_SIG_MAX_PARAMS)
		return GW_ETOOBIG;
	for (i = 0; i < nparams; i++)
		if ((params[i].key == NULL && params[i].key_len > 0) ||
		    (params[i].val == NULL && params[i].val_len > 0))
			return GW_EINVAL;
	return GW_OK;
}

/* sort_params returns an owned array of pointers into params, sorted by
 * key then value, with repeated (key, value) pairs dropped: Twilio's
 * validators sort each key's values as a set. */
static int
sort_params(const struct gw_kv *params, size_t nparams,
    const struct gw_kv ***out, size_t *out_n)
{
	const struct gw_kv **v;
	size_t               i, n = 0;

	*out = NULL;
	*out_n = 0;
	if (nparams == 0)
		return GW_OK;
	v = malloc(nparams * sizeof(*v));
	if (v == NULL)
		return GW_ENOMEM;
	for (i = 0; i < nparams; i++)
		v[i] = &params[i];
	qsort(v, nparams, sizeof(*v), kv_cmp);
	for (i = 0; i < nparams; i++)
		if (n == 0 || kv_cmp(&v[n - 1], &v[i]) != 0)
			v[n++] = v[i];
	*out = v;
	*out_n = n;
	return GW_OK;
}

static int
mac_new(const char *token, size_t token_len, EVP_MAC_CTX **out)
{
	EVP_MAC     *mac;
	EVP_MAC_CTX *ctx;
	OSSL_PARAM   p[2];

	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (mac == NULL)
		return GW_ECRYPTO;
	ctx = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac);
	if (ctx == NULL)
		return GW_ECRYPTO;
	p[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_MAC_PARAM_DIGEST, (char *) "SHA1", 0);
	p[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(ctx, (const unsigned char *) token, token_len, p)) {
		EVP_MAC_CTX_free(ctx);
		return GW_ECRYPTO;
	}
	*out = ctx;
	return GW_OK;
}

static int
mac_update(EVP_MAC_CTX *ctx, const char *p, size_t n)
{
	if (n == 0)
		return 1;
	return EVP_MAC_update(ctx, (const unsigned char *) p, n);
}

/* sign_variant MACs one URL variant plus the sorted params with a copy of
 * keyed, leaving keyed ready for the next variant. */
static int
sign_variant(const EVP_MAC_CTX *keyed, const struct url_variant *url,
    const struct gw_kv *const *kv, size_t n, char out[GW_TWILIO_SIG_LEN + 1])
{
	EVP_MAC_CTX  *ctx;
	unsigned char md[EVP_MAX_MD_SIZE];
	size_t        md_len = 0, i;
	int           ok;

	ctx = EVP_MAC_CTX_dup(keyed);
	if (ctx == NULL)
		return GW_ECRYPTO;
	ok = 1;
	for (i = 0; ok && i < 3; i++)
		ok = mac_update(ctx, url->part[i], url->part_len[i]);
	for (i = 0; ok && i < n; i++)
		ok = mac_update(ctx, kv[i]->key, kv[i]->key_len) &&
		    mac_update(ctx, kv[i]->val, kv[i]->val_len);
	if (ok)
		ok = EVP_MAC_final(ctx, md, &md_len, sizeof(md));
	EVP_MAC_CTX_free(ctx);
	if (!ok || md_len != SHA1_LEN)
		return GW_ECRYPTO;
	EVP_EncodeBlock((unsigned char *) out, md, SHA1_LEN);
	return GW_OK;
}

static void
variant_verbatim(
    const char *url, const struct url_parts *u, struct url_variant *v)
{
	*v = (struct url_variant) { { url, NULL, NULL }, { u->len, 0, 0 } };
}

/* variant_other gives the one port variant that differs from the URL as
 * received: without its port if it has one, else with the default port. */
static void
variant_other(const char *url, const struct url_parts *u, struct url_variant *v)
{
	if (u->has_port)
		*v = (struct url_variant) {
			{ url, url + u->port_end, NULL },
			{ u->host_end, u->len - u->port_end, 0 },
		};
	else
		*v = (struct url_variant) {
			{ url, u->default_port, url + u->host_end },
			{ u->host_end, strlen(u->default_port),
			    u->len - u->host_end },
		};
}

int
gw_twilio_sig_compute(const char *token, size_t token_len, const char *url,
    const struct gw_kv *params, size_t nparams, char out[GW_TWILIO_SIG_LEN + 1])
{
	const struct gw_kv **kv = NULL;
	EVP_MAC_CTX         *keyed = NULL;
	struct url_parts     u;
	struct url_variant   v;
	char                 sig[GW_TWILIO_SIG_LEN + 1];
	size_t               n;
	int                  rc;

	rc = check_args(token, token_len, url, params, nparams);
	if (rc != GW_OK)
		return rc;
	rc = url_parse(url, &u);
	if (rc != GW_OK)
		return rc;
	rc = sort_params(params, nparams, &kv, &n);
	if (rc != GW_OK)
		return rc;
	rc = mac_new(token, token_len, &keyed);
	if (rc != GW_OK)
		goto fail;
	variant_verbatim(url, &u, &v);
	rc = sign_variant(keyed, &v, kv, n, sig);
	if (rc != GW_OK)
		goto fail;
	memcpy(out, sig, sizeof(sig));
fail:
	EVP_MAC_CTX_free(keyed);
	free(kv);
	return rc;
}

/* body_hash_ok compares hex(SHA-256(body)) with want in constant time. */
static int
body_hash_ok(const char *body, size_t body_len, const char *want,
    size_t want_len, int *ok)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char     md[SHA256_LEN];
	char              md_hex[2 * SHA256_LEN];
	unsigned int      md_len = 0;
	size_t            i;

	if (!EVP_Digest(body_len > 0 ? body : "", body_len, md, &md_len,
	        EVP_sha256(), NULL) ||
	    md_len != SHA256_LEN)
		return GW_ECRYPTO;
	for (i = 0; i < SHA256_LEN; i++) {
		md_hex[2 * i] = hex[md[i] >> 4];
		md_hex[2 * i + 1] = hex[md[i] & 0x0f];
	}
	*ok = want_len == sizeof(md_hex) &&
	    CRYPTO_memcmp(md_hex, want, sizeof(md_hex)) == 0;
	return GW_OK;
}

int
gw_twilio_sig_verify(const char *token, size_t token_len, const char *url,
    const struct gw_kv *params, size_t nparams, const char *body,
    size_t body_len, const char *signature_header)
{
	const struct gw_kv **kv = NULL;
	EVP_MAC_CTX         *keyed = NULL;
	struct url_parts     u;
	struct url_variant   v[2];
	char                 sig[GW_TWILIO_SIG_LEN + 1];
	const char          *want_hash = NULL;
	size_t               want_hash_len = 0, n = 0, i;
	int                  is_json, sig_ok = 0, body_ok = 1, rc;

	rc = check_args(token, token_len, url, params, nparams);
	if (rc != GW_OK)
		return rc;
	if (body == NULL && body_len > 0)
		return GW_EINVAL;
	rc = url_parse(url, &u);
	if (rc != GW_OK)
		return rc;
	/* The length of a signature is public; only its bytes are secret. */
	if (signature_header == NULL ||
	    bounded_len(signature_header, GW_TWILIO_SIG_LEN + 1) !=
	        GW_TWILIO_SIG_LEN)
		return GW_EAUTH;

	is_json = find_body_sha256(url, &u, &want_hash, &want_hash_len);
	if (!is_json) {
		rc = sort_params(params, nparams, &kv, &n);
		if (rc != GW_OK)
			return rc;
	}
	rc = mac_new(token, token_len, &keyed);
	if (rc != GW_OK)
		goto fail;

	variant_verbatim(url, &u, &v[0]);
	variant_other(url, &u, &v[1]);
	for (i = 0; i < 2 && !sig_ok; i++) {
		rc = sign_variant(keyed, &v[i], kv, n, sig);
		if (rc != GW_OK)
			goto fail;
		sig_ok = CRYPTO_memcmp(
		             sig, signature_header, GW_TWILIO_SIG_LEN) == 0;
	}
	if (is_json) {
		rc = body_hash_ok(
		    body, body_len, want_hash, want_hash_len, &body_ok);
		if (rc != GW_OK)
			goto fail;
	}
	rc = sig_ok && body_ok ? GW_OK : GW_EAUTH;
fail:
	EVP_MAC_CTX_free(keyed);
	free(kv);
	return rc;
}
