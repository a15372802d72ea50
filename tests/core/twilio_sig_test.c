/*
 * twilio_sig_test.c - gw_twilio_sig against shared/vectors.
 *
 * Usage: twilio_sig_test [VECTORS]   (VECTORS is the vectors folder or the
 * .jsonl file itself; without it, $RELAY_VECTORS_DIR). Every line of
 * twilio-signature.jsonl becomes one cmocka test named after its "case", so
 * a failure names the vector. The contract checked per vector:
 *   - compute(url, params) equals expected_signature, and
 *     compute(signed_url, params) equals x_twilio_signature;
 *   - valid_strict: verify returns GW_OK;
 *   - !valid: verify returns GW_EAUTH;
 *   - valid && !valid_strict: GW_EAUTH too, as gw/twilio_sig.h documents
 *     (no query re-escaping fallback).
 * Fixed tests after the vectors cover tampering, port variants that must
 * not match, argument errors and the out-pointer contract.
 */
#define _POSIX_C_SOURCE 200809L /* getline, stat */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* cmocka.h needs setjmp.h, stdarg.h and stddef.h first. */
#include <cmocka.h>
#include <jansson.h>

#include "gw/err.h"
#include "gw/twilio_sig.h"

#define VECTORS_FILE "twilio-signature.jsonl"
#define MAX_VECTORS 4096
#define MAX_KV 256

/* One vector, with its params flattened for the API. Strings borrow from
 * root, which the vector owns. */
struct vec {
	json_t      *root;
	const char  *name;
	const char  *token;
	size_t       token_len;
	const char  *url;
	const char  *signed_url; /* NULL for negative vectors */
	const char  *body;
	size_t       body_len;
	const char  *header;
	const char  *expected;
	int          valid;
	int          valid_strict;
	struct gw_kv kv[MAX_KV];
	size_t       nkv;
};

static struct vec *vecs;
static size_t      nvecs;
static size_t      n_strict, n_invalid, n_loose;

static const char *
str_field(json_t *o, const char *name, size_t *len)
{
	json_t *v = json_object_get(o, name);

	if (!json_is_string(v))
		return NULL;
	if (len != NULL)
		*len = json_string_length(v);
	return json_string_value(v);
}

static int
add_kv(struct vec *v, const char *key, json_t *val)
{
	if (!json_is_string(val) || v->nkv == MAX_KV)
		return -1;
	v->kv[v->nkv++] = (struct gw_kv) {
		.key = key,
		.key_len = strlen(key),
		.val = json_string_value(val),
		.val_len = json_string_length(val),
	};
	return 0;
}

static int
vec_load(struct vec *v, json_t *root)
{
	json_t     *params, *val, *item;
	const char *key;
	size_t      i;

	memset(v, 0, sizeof(*v));
	v->root = root;
	v->name = str_field(root, "case", NULL);
	v->token = str_field(root, "auth_token", &v->token_len);
	v->url = str_field(root, "url", NULL);
	v->signed_url = str_field(root, "signed_url", NULL);
	v->body = str_field(root, "body", &v->body_len);
	v->header = str_field(root, "x_twilio_signature", NULL);
	v->expected = str_field(root, "expected_signature", NULL);
	v->valid = json_is_true(json_object_get(root, "valid"));
	v->valid_strict = json_is_true(json_object_get(root, "valid_strict"));
	if (v->name == NULL || v->token == NULL || v->url == NULL ||
	    v->header == NULL || v->expected == NULL ||
	    !json_is_boolean(json_object_get(root, "valid")) ||
	    !json_is_boolean(json_object_get(root, "valid_strict")))
		return -1;
	/* valid_strict implies valid; anything else is a broken vector. */
	if (v->valid_strict && !v->valid)
		return -1;

	params = json_object_get(root, "params");
	if (params != NULL && !json_is_object(params))
		return -1;
	json_object_foreach(params, key, val)
	{
		if (json_is_array(val)) {
			json_array_foreach(val, i,
			    item) if (add_kv(v, key, item) != 0) return -1;
		} else if (add_kv(v, key, val) != 0) {
			return -1;
		}
	}
	return 0;
}

static int
load_vectors(const char *path)
{
	FILE        *f;
	char        *line = NULL;
	size_t       cap = 0, lineno = 0;
	long         n;
	json_error_t jerr;

	f = fopen(path, "r");
	if (f == NULL) {
		perror(path);
		return -1;
	}
	vecs = calloc(MAX_VECTORS, sizeof(*vecs));
	if (vecs == NULL)
		goto fail;
	while ((n = getline(&line, &cap, f)) >= 0) {
		json_t *root;

		lineno++;
		if (strspn(line, " \t\r\n") == (size_t) n)
			continue;
		if (nvecs == MAX_VECTORS) {
			fprintf(stderr, "%s: too many vectors\n", path);
			goto fail;
		}
		root = json_loadb(line, (size_t) n, JSON_ALLOW_NUL, &jerr);
		if (root == NULL || vec_load(&vecs[nvecs], root) != 0) {
			fprintf(stderr, "%s:%zu: bad vector: %s\n", path,
			    lineno, root == NULL ? jerr.text : "fields");
			json_decref(root);
			goto fail;
		}
		nvecs++;
	}
	free(line);
	fclose(f);
	return 0;
fail:
	free(line);
	fclose(f);
	return -1;
}

static void
free_vectors(void)
{
	size_t i;

	for (i = 0; i < nvecs; i++)
		json_decref(vecs[i].root);
	free(vecs);
}

static int
vec_verify(const struct vec *v, const char *url, const char *header)
{
	return gw_twilio_sig_verify(v->token, v->token_len, url, v->kv, v->nkv,
	    v->body, v->body_len, header);
}

static void
test_vector(void **state)
{
	const struct vec *v = *state;
	char              sig[GW_TWILIO_SIG_LEN + 1];
	int               want, rc;

	/* The signer itself, on the URL as received and as signed. */
	assert_int_equal(gw_twilio_sig_compute(v->token, v->token_len, v->url,
	                     v->kv, v->nkv, sig),
	    GW_OK);
	assert_string_equal(sig, v->expected);
	if (v->signed_url != NULL) {
		assert_int_equal(gw_twilio_sig_compute(v->token, v->token_len,
		                     v->signed_url, v->kv, v->nkv, sig),
		    GW_OK);
		assert_string_equal(sig, v->header);
	}

	want = v->valid_strict ? GW_OK : GW_EAUTH;
	rc = vec_verify(v, v->url, v->header);
	if (rc != want)
		print_error("case %s: verify returned %s, want %s\n", v->name,
		    gw_errname(rc), gw_errname(want));
	assert_int_equal(rc, want);
}

/* Every accepted vector must be rejected once its header, token, URL or
 * (for JSON) body is changed by one byte. */
static void
test_vector_tampered(void **state)
{
	const struct vec *v = *state;
	char              hdr[GW_TWILIO_SIG_LEN + 1];
	char             *s;
	struct vec        t;

	assert_int_equal(strlen(v->header), GW_TWILIO_SIG_LEN);
	memcpy(hdr, v->header, sizeof(hdr));
	hdr[3] = hdr[3] == 'A' ? 'B' : 'A';
	assert_int_equal(vec_verify(v, v->url, hdr), GW_EAUTH);
	hdr[3] = v->header[3];
	hdr[GW_TWILIO_SIG_LEN - 1] = '\0'; /* truncated */
	assert_int_equal(vec_verify(v, v->url, hdr), GW_EAUTH);

	t = *v;
	s = malloc(v->token_len + 1);
	assert_non_null(s);
	memcpy(s, v->token, v->token_len);
	s[v->token_len] = 'x';
	t.token = s;
	t.token_len = v->token_len + 1;
	assert_int_equal(vec_verify(&t, v->url, v->header), GW_EAUTH);
	free(s);

	s = malloc(strlen(v->url) + 2);
	assert_non_null(s);
	strcpy(s, v->url);
	strcat(s, "x");
	assert_int_equal(vec_verify(v, s, v->header), GW_EAUTH);
	free(s);

	if (strstr(v->url, "bodySHA256=") != NULL) {
		t = *v;
		s = malloc(v->body_len + 1);
		assert_non_null(s);
		memcpy(s, v->body, v->body_len);
		s[v->body_len] = ' ';
		t.body = s;
		t.body_len = v->body_len + 1;
		assert_int_equal(vec_verify(&t, v->url, v->header), GW_EAUTH);
		free(s);
	} else if (v->nkv > 0) {
		/* Drop the first parameter, not the last: dropping one copy of
		 * a repeated identical value does not change the signature. */
		t = *v;
		memmove(t.kv, t.kv + 1, (v->nkv - 1) * sizeof(t.kv[0]));
		t.nkv = v->nkv - 1;
		assert_int_equal(vec_verify(&t, v->url, v->header), GW_EAUTH);
	}
}

static void
test_counts(void **state)
{
	(void) state;
	/* An empty or all-valid file would make the suite prove nothing. */
	assert_true(nvecs > 0);
	assert_true(n_strict > 0);
	assert_true(n_invalid > 0);
	print_message("%zu vectors: %zu valid_strict, %zu invalid, "
	              "%zu valid only by twilio-node fallbacks\n",
	    nvecs, n_strict, n_invalid, n_loose);
}

static const struct gw_kv one_kv[] = {
	{ "Body", 4, "hi", 2 },
};

static void
sign(const char *url, const struct gw_kv *kv, size_t n,
    char out[GW_TWILIO_SIG_LEN + 1])
{
	assert_int_equal(
	    gw_twilio_sig_compute("tok", 3, url, kv, n, out), GW_OK);
}

static int
check(const char *url, const struct gw_kv *kv, size_t n, const char *hdr)
{
	return gw_twilio_sig_verify("tok", 3, url, kv, n, NULL, 0, hdr);
}

static void
test_port_variants(void **state)
{
	char sig[GW_TWILIO_SIG_LEN + 1];

	(void) state;
	/* Signed without a port: received with any port, it still matches
	 * once the port is stripped. */
	sign("https://h.example/p?a=1", one_kv, 1, sig);
	assert_int_equal(
	    check("https://h.example:8443/p?a=1", one_kv, 1, sig), GW_OK);
	assert_int_equal(
	    check("HTTPS://h.example/p?a=1", one_kv, 1, sig), GW_EAUTH);

	/* Signed with a non-default port: received without one, the only
	 * port tried is the default. */
	sign("https://h.example:8443/p", one_kv, 1, sig);
	assert_int_equal(
	    check("https://h.example/p", one_kv, 1, sig), GW_EAUTH);
	assert_int_equal(
	    check("https://h.example:8443/p", one_kv, 1, sig), GW_OK);

	/* The http default is 80, never 443, and vice versa. */
	sign("http://h.example:443/p", one_kv, 1, sig);
	assert_int_equal(check("http://h.example/p", one_kv, 1, sig), GW_EAUTH);
	sign("http://h.example:80/p", one_kv, 1, sig);
	assert_int_equal(check("http://h.example/p", one_kv, 1, sig), GW_OK);

	/* The port is the one after the host, not a ':' in userinfo, and an
	 * IPv6 literal keeps its colons. */
	sign("https://u:p@h.example/x", one_kv, 1, sig);
	assert_int_equal(
	    check("https://u:p@h.example:99/x", one_kv, 1, sig), GW_OK);
	sign("http://[::1]:80/x", one_kv, 1, sig);
	assert_int_equal(check("http://[::1]/x", one_kv, 1, sig), GW_OK);
	sign("http://[::1]/x", one_kv, 1, sig);
	assert_int_equal(check("http://[::1]:8080/x", one_kv, 1, sig), GW_OK);
}

static void
test_params_order_and_dups(void **state)
{
	static const struct gw_kv a[] = {
		{ "To", 2, "+1", 2 },
		{ "Digits", 6, "2", 1 },
		{ "Digits", 6, "1", 1 },
		{ "Digits", 6, "2", 1 },
		{ "A", 1, "", 0 },
	};
	static const struct gw_kv b[] = {
		{ "A", 1, NULL, 0 },
		{ "Digits", 6, "1", 1 },
		{ "Digits", 6, "2", 1 },
		{ "To", 2, "+1", 2 },
	};
	/* Byte order, a prefix first; embedded NULs are ordinary bytes. */
	static const struct gw_kv c[] = {
		{ "Sid\0x", 5, "1", 1 },
		{ "SidA", 4, "1", 1 },
		{ "Sid", 3, "1", 1 },
	};
	static const struct gw_kv d[] = {
		{ "Sid", 3, "1", 1 },
		{ "Sid\0x", 5, "1", 1 },
		{ "SidA", 4, "1", 1 },
	};
	char sa[GW_TWILIO_SIG_LEN + 1], sb[GW_TWILIO_SIG_LEN + 1];

	(void) state;
	sign("https://h/p", a, 5, sa);
	sign("https://h/p", b, 4, sb);
	assert_string_equal(sa, sb);
	assert_int_equal(check("https://h/p", b, 4, sa), GW_OK);
	/* Twilio's dedup means the count of a repeated identical value is not
	 * signed: b (Digits=2 once) verifies against a (Digits=2 twice) above.
	 * Dropping a distinct pair does change the request. */
	assert_int_equal(check("https://h/p", b, 3, sa), GW_EAUTH);
	sign("https://h/p", c, 3, sa);
	sign("https://h/p", d, 3, sb);
	assert_string_equal(sa, sb);
}

static void
test_json_body(void **state)
{
	/* sha256("{}") */
	static const char url[] =
	    "https://h/p?x=1&bodySHA256="
	    "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
	    "&y=2";
	static const char upper[] =
	    "https://h/p?bodySHA256="
	    "44136FA355B3678A1146AD16F7E8649E94FB4FC21FE77E8310C060F61CAAFF8A";
	static const char fragment[] =
	    "https://h/p#bodySHA256="
	    "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
	char sig[GW_TWILIO_SIG_LEN + 1];

	(void) state;
	sign(url, NULL, 0, sig);
	assert_int_equal(
	    gw_twilio_sig_verify("tok", 3, url, NULL, 0, "{}", 2, sig), GW_OK);
	/* Params are ignored for a JSON post: the body hash binds the body. */
	assert_int_equal(
	    gw_twilio_sig_verify("tok", 3, url, one_kv, 1, "{}", 2, sig),
	    GW_OK);
	assert_int_equal(
	    gw_twilio_sig_verify("tok", 3, url, NULL, 0, "{ }", 3, sig),
	    GW_EAUTH);
	assert_int_equal(
	    gw_twilio_sig_verify("tok", 3, url, NULL, 0, NULL, 0, sig),
	    GW_EAUTH);
	/* The hash must be lowercase hex, as Twilio sends it. */
	sign(upper, NULL, 0, sig);
	assert_int_equal(
	    gw_twilio_sig_verify("tok", 3, upper, NULL, 0, "{}", 2, sig),
	    GW_EAUTH);
	/* A fragment is not the query: this is a form post, body ignored. */
	sign(fragment, NULL, 0, sig);
	assert_int_equal(
	    gw_twilio_sig_verify("tok", 3, fragment, NULL, 0, "{ }", 3, sig),
	    GW_OK);
}

static void
test_bad_args(void **state)
{
	static const char  good[] = "https://h/p";
	char               sig[GW_TWILIO_SIG_LEN + 1];
	char               out[GW_TWILIO_SIG_LEN + 1];
	static const char *bad_urls[] = {
		"",
		"h/p",
		"ftp://h/p",
		"https://",
		"https:///p",
		"https://:443/p",
		"https://u@/p",
		"https://h:http/p",
		"https://h:65536/p",
		"https://h:000443/p",
		"https://[::1/p",
		"https://[::1]x/p",
	};
	size_t i;

	(void) state;
	sign(good, NULL, 0, sig);
	memset(out, '#', sizeof(out));
	assert_int_equal(
	    gw_twilio_sig_compute(NULL, 0, good, NULL, 0, out), GW_EINVAL);
	assert_int_equal(
	    gw_twilio_sig_compute("tok", 0, good, NULL, 0, out), GW_EINVAL);
	assert_int_equal(
	    gw_twilio_sig_compute("tok", 3, NULL, NULL, 0, out), GW_EINVAL);
	assert_int_equal(
	    gw_twilio_sig_compute("tok", 3, good, NULL, 1, out), GW_EINVAL);
	assert_int_equal(gw_twilio_sig_compute("tok", 3, good, one_kv,
	                     GW_TWILIO_SIG_MAX_PARAMS + 1, out),
	    GW_ETOOBIG);
	for (i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++) {
		assert_int_equal(
		    gw_twilio_sig_compute("tok", 3, bad_urls[i], NULL, 0, out),
		    GW_EINVAL);
		assert_int_equal(check(bad_urls[i], NULL, 0, sig), GW_EINVAL);
	}
	/* out is written only on success. */
	for (i = 0; i < sizeof(out); i++)
		assert_int_equal(out[i], '#');

	{
		struct gw_kv nullkey = { NULL, 1, "x", 1 };

		assert_int_equal(check(good, &nullkey, 1, sig), GW_EINVAL);
	}
	assert_int_equal(
	    gw_twilio_sig_verify("tok", 3, good, NULL, 0, NULL, 1, sig),
	    GW_EINVAL);
	assert_int_equal(check(good, NULL, 0, NULL), GW_EAUTH);
	assert_int_equal(check(good, NULL, 0, ""), GW_EAUTH);
	assert_int_equal(check(good, NULL, 0, sig), GW_OK);
	/* Input errors come before a missing signature. */
	assert_int_equal(check("ftp://h/p", NULL, 0, NULL), GW_EINVAL);
}

static const char *
vectors_path(int argc, char **argv, char *buf, size_t cap)
{
	const char *p = argc > 1 ? argv[1] : getenv("RELAY_VECTORS_DIR");
	struct stat st;

	if (p == NULL || *p == '\0')
		return NULL;
	if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
		return p;
	if ((size_t) snprintf(buf, cap, "%s/%s", p, VECTORS_FILE) >= cap)
		return NULL;
	return buf;
}

int
main(int argc, char **argv)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_port_variants),
		cmocka_unit_test(test_params_order_and_dups),
		cmocka_unit_test(test_json_body),
		cmocka_unit_test(test_bad_args),
	};
	const size_t       nfixed = sizeof(fixed) / sizeof(fixed[0]);
	struct CMUnitTest *tests;
	char               buf[4096], (*names)[160];
	const char        *path;
	size_t             i, n = 0;
	int                rc;

	path = vectors_path(argc, argv, buf, sizeof(buf));
	if (path == NULL) {
		fprintf(stderr,
		    "usage: %s VECTORS_DIR (or set "
		    "RELAY_VECTORS_DIR)\n",
		    argv[0]);
		return 1;
	}
	if (load_vectors(path) != 0) {
		free_vectors();
		return 1;
	}

	tests = calloc(2 * nvecs + nfixed, sizeof(*tests));
	names = calloc(nvecs, sizeof(*names));
	if (tests == NULL || names == NULL) {
		free(tests);
		free(names);
		free_vectors();
		return 1;
	}
	for (i = 0; i < nvecs; i++) {
		struct vec *v = &vecs[i];

		n_strict += v->valid_strict;
		n_invalid += !v->valid;
		n_loose += v->valid && !v->valid_strict;
		tests[n++] = (struct CMUnitTest) {
			.name = v->name,
			.test_func = test_vector,
			.initial_state = v,
		};
		if (!v->valid_strict)
			continue;
		snprintf(names[i], sizeof(names[i]), "%s/tampered", v->name);
		tests[n++] = (struct CMUnitTest) {
			.name = names[i],
			.test_func = test_vector_tampered,
			.initial_state = v,
		};
	}
	for (i = 0; i < nfixed; i++)
		tests[n++] = fixed[i];

	rc = _cmocka_run_group_tests("core/twilio_sig", tests, n, NULL, NULL);
	free(names);
	free(tests);
	free_vectors();
	return rc;
}
