/* codec_test.c - the POST /relay/sms body codec (http-bridge/codec.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
/* cmocka after its prerequisites */
#include <cmocka.h>

#include "gw/err.h"
#include "hb/codec.h"

struct bad {
	enum hb_ctype ct;
	const char   *body;
	int           rc;
	const char   *prefix; /* the error must start with it */
};

static int
decode(enum hb_ctype ct, const char *body, struct hb_send *s, char *err)
{
	return hb_send_decode(ct, body, strlen(body), s, err, HB_ERR_MAX);
}

static void
test_codec_ctype(void **state)
{
	(void) state;
	assert_int_equal(hb_ctype_parse(NULL), HB_CT_NONE);
	assert_int_equal(hb_ctype_parse(""), HB_CT_NONE);
	assert_int_equal(hb_ctype_parse("application/json"), HB_CT_JSON);
	assert_int_equal(
	    hb_ctype_parse("Application/JSON; charset=UTF-8"), HB_CT_JSON);
	assert_int_equal(
	    hb_ctype_parse("application/x-www-form-urlencoded"), HB_CT_FORM);
	assert_int_equal(hb_ctype_parse("application/x-www-form-urlencoded; "
	                                "charset=\"utf-8\""),
	    HB_CT_FORM);
	assert_int_equal(
	    hb_ctype_parse("application/json; charset=latin1"), HB_CT_OTHER);
	assert_int_equal(hb_ctype_parse("application/jsonx"), HB_CT_OTHER);
	assert_int_equal(hb_ctype_parse("text/plain"), HB_CT_OTHER);
	assert_int_equal(hb_ctype_parse("multipart/form-data"), HB_CT_OTHER);
}

static void
test_codec_json_good(void **state)
{
	struct hb_send         s;
	Relay__V1__SendRequest req;
	char                   err[HB_ERR_MAX];

	(void) state;
	assert_int_equal(
	    decode(HB_CT_JSON,
	        "{\"To\":\"+14155550100\",\"From\":\"+14155550199\","
	        "\"Body\":\"h\\u00e9llo\",\"StatusCallback\":"
	        "\"https://x.example/cb\",\"Extra\":[1]}",
	        &s, err),
	    GW_OK);
	assert_string_equal(s.to, "+14155550100");
	assert_string_equal(s.from, "+14155550199");
	assert_string_equal(s.body, "h\xc3\xa9llo");
	assert_string_equal(s.status_callback, "https://x.example/cb");
	hb_send_request(&s, "key-1", &req);
	assert_string_equal(req.to, "+14155550100");
	assert_string_equal(req.body, "h\xc3\xa9llo");
	assert_string_equal(req.idempotency_key, "key-1");

	/* null optional fields are absent */
	assert_int_equal(decode(HB_CT_JSON,
	                     "{\"To\":\"+14155550100\",\"Body\":\"x\","
	                     "\"From\":null,\"StatusCallback\":null}",
	                     &s, err),
	    GW_OK);
	assert_string_equal(s.from, "");
	assert_string_equal(s.status_callback, "");
	hb_send_request(&s, NULL, &req);
	assert_string_equal(req.idempotency_key, "");
}

static void
test_codec_form_good(void **state)
{
	struct hb_send s;
	char           err[HB_ERR_MAX];

	(void) state;
	assert_int_equal(
	    decode(HB_CT_FORM,
	        "To=%2B14155550100&Body=hello+w%C3%B6rld%21"
	        "&StatusCallback=https%3A%2F%2Fx.example%2Fcb%3Fa%3D1",
	        &s, err),
	    GW_OK);
	assert_string_equal(s.to, "+14155550100");
	assert_string_equal(s.from, "");
	assert_string_equal(s.body, "hello w\xc3\xb6rld!");
	assert_string_equal(s.status_callback, "https://x.example/cb?a=1");
}

static void
test_codec_bad(void **state)
{
	static const struct bad cases[] = {
		{ HB_CT_JSON, "", GW_EINVAL, "body:" },
		{ HB_CT_JSON, "{\"To\":", GW_EINVAL, "body: invalid JSON" },
		{ HB_CT_JSON, "[]", GW_EINVAL, "body: a JSON object" },
		{ HB_CT_JSON, "\"To\"", GW_EINVAL, "body:" },
		{ HB_CT_JSON, "{\"To\":1,\"Body\":\"x\"}", GW_EINVAL,
		    "To: must be a string" },
		{ HB_CT_JSON, "{\"To\":\"+1\",\"Body\":true}", GW_EINVAL,
		    "Body: must be a string" },
		{ HB_CT_JSON, "{\"To\":\"+1\",\"Body\":\"x\",\"From\":1.5}",
		    GW_EINVAL, "From: must be a string" },
		{ HB_CT_JSON,
		    "{\"To\":\"+1\",\"Body\":\"x\",\"StatusCallback\":{}}",
		    GW_EINVAL, "StatusCallback: must be a string" },
		{ HB_CT_JSON, "{\"Body\":\"x\"}", GW_EINVAL, "To: required" },
		{ HB_CT_JSON, "{\"To\":\"\",\"Body\":\"x\"}", GW_EINVAL,
		    "To: required" },
		{ HB_CT_JSON, "{\"To\":\"+1\"}", GW_EINVAL, "Body: required" },
		{ HB_CT_JSON, "{\"To\":\"+1\",\"To\":\"+2\",\"Body\":\"x\"}",
		    GW_EINVAL, "body: invalid JSON" },
		{ HB_CT_JSON, "{\"To\":\"+1\",\"Body\":\"\xff\"}", GW_EINVAL,
		    "Body: not valid UTF-8" },
		{ HB_CT_JSON, "{\"To\":\"+1\xc3\",\"Body\":\"x\"}", GW_EINVAL,
		    "To: not valid UTF-8" },
		{ HB_CT_JSON, "{\"To\":\"+1\",\"Body\":\"a\\u0000b\"}",
		    GW_EINVAL, "body: invalid JSON" },
		{ HB_CT_JSON,
		    "{\"To\":\"+1\",\"Body\":\"x\",\"StatusCallback\":\"http://"
		    "a b\"}",
		    GW_EINVAL, "StatusCallback:" },
		{ HB_CT_FORM, "", GW_EINVAL, "To: required" },
		{ HB_CT_FORM, "To=%2B1", GW_EINVAL, "Body: required" },
		{ HB_CT_FORM, "To=%2B1&Body=%C3%28", GW_EINVAL,
		    "Body: not valid UTF-8" },
		{ HB_CT_FORM, "To=%2B1&Body=a%00b", GW_EINVAL,
		    "Body: contains NUL" },
		{ HB_CT_FORM, "To=%FF&Body=x", GW_EINVAL,
		    "To: not valid UTF-8" },
		{ HB_CT_FORM,
		    "To=%2B1&Body=x&StatusCallback=http%3A%2F%2F%C3%A9",
		    GW_EINVAL, "StatusCallback:" },
		{ HB_CT_OTHER, "To=1&Body=x", GW_EINVAL, "Content-Type:" },
	};
	struct hb_send s;
	char           err[HB_ERR_MAX];

	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = decode(cases[i].ct, cases[i].body, &s, err);

		if (rc != cases[i].rc ||
		    strncmp(err, cases[i].prefix, strlen(cases[i].prefix)) != 0)
			fail_msg("case %zu (%s): rc %d, err \"%s\"", i,
			    cases[i].body, rc, err);
	}
}

static void
test_codec_ceilings(void **state)
{
	static char    body[8192], big[GW_SMS_BODY_MAX + 2];
	struct hb_send s;
	char           err[HB_ERR_MAX];

	(void) state;
	/* exactly 1600 bytes is fine, 1601 is too big, naming Body */
	memset(big, 'x', GW_SMS_BODY_MAX);
	big[GW_SMS_BODY_MAX] = '\0';
	snprintf(body, sizeof(body), "{\"To\":\"+1\",\"Body\":\"%s\"}", big);
	assert_int_equal(decode(HB_CT_JSON, body, &s, err), GW_OK);
	assert_int_equal(strlen(s.body), GW_SMS_BODY_MAX);
	big[GW_SMS_BODY_MAX] = 'x';
	big[GW_SMS_BODY_MAX + 1] = '\0';
	snprintf(body, sizeof(body), "{\"To\":\"+1\",\"Body\":\"%s\"}", big);
	assert_int_equal(decode(HB_CT_JSON, body, &s, err), GW_ETOOBIG);
	assert_true(strncmp(err, "Body: longer than 1600", 22) == 0);
	snprintf(body, sizeof(body), "To=1&Body=%s", big);
	assert_int_equal(decode(HB_CT_FORM, body, &s, err), GW_ETOOBIG);
	assert_true(strncmp(err, "Body:", 5) == 0);
	/* To over its 64 bytes */
	snprintf(body, sizeof(body), "To=%0100d&Body=x", 1);
	assert_int_equal(decode(HB_CT_FORM, body, &s, err), GW_ETOOBIG);
	assert_true(strncmp(err, "To:", 3) == 0);
}

/* expect_param checks field i of p against key and value (n bytes). */
static void
expect_param(const struct hb_params *p, size_t i, const char *key,
    const char *value, size_t n)
{
	assert_true(i < p->n);
	assert_ptr_equal(p->ptrs[i], &p->items[i]);
	assert_int_equal(p->items[i].key.len, strlen(key));
	assert_memory_equal(p->items[i].key.data, key, strlen(key));
	assert_int_equal(p->items[i].value.len, n);
	if (n > 0)
		assert_memory_equal(p->items[i].value.data, value, n);
}

static void
test_codec_params(void **state)
{
	const char      *body = "To=%2B14155550100&Body=hi+there%21&Body=again"
	                        "&&flag&Empty=&a%3Db=c%26d&bad=%zz%4&nul=a%00b"
	                        "&Media%5B0%5D=x=y";
	struct hb_params p;

	(void) state;
	assert_int_equal(hb_params_decode(body, strlen(body), 100, &p), GW_OK);
	assert_int_equal(p.n, 9);
	/* order kept, repeated keys kept, '+' a space, %XX decoded */
	expect_param(&p, 0, "To", "+14155550100", 12);
	expect_param(&p, 1, "Body", "hi there!", 9);
	expect_param(&p, 2, "Body", "again", 5);
	/* a key alone has an empty value; an empty segment is skipped */
	expect_param(&p, 3, "flag", "", 0);
	expect_param(&p, 4, "Empty", "", 0);
	/* only the first '=' splits */
	expect_param(&p, 5, "a=b", "c&d", 3);
	/* malformed escapes stay as they are; NUL is a byte like others */
	expect_param(&p, 6, "bad", "%zz%4", 5);
	expect_param(&p, 7, "nul", "a\0b", 3);
	expect_param(&p, 8, "Media[0]", "x=y", 3);
	hb_params_fini(&p);
	hb_params_fini(&p); /* a zeroed struct is fine */

	assert_int_equal(hb_params_decode("", 0, 100, &p), GW_OK);
	assert_int_equal(p.n, 0);
	hb_params_fini(&p);
	assert_int_equal(hb_params_decode("&&&", 3, 100, &p), GW_OK);
	assert_int_equal(p.n, 0);
	assert_int_equal(hb_params_decode("a&b&c", 5, 3, &p), GW_OK);
	assert_int_equal(p.n, 3);
	hb_params_fini(&p);
	assert_int_equal(hb_params_decode("a&b&c&d", 7, 3, &p), GW_ETOOBIG);
	assert_null(p.ptrs);
	/* the length is what counts, not a NUL */
	assert_int_equal(hb_params_decode("k=v\0w&x", 8, 10, &p), GW_OK);
	assert_int_equal(p.n, 2);
	expect_param(&p, 0, "k", "v\0w", 3);
	hb_params_fini(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codec_ctype),
		cmocka_unit_test(test_codec_json_good),
		cmocka_unit_test(test_codec_form_good),
		cmocka_unit_test(test_codec_bad),
		cmocka_unit_test(test_codec_ceilings),
		cmocka_unit_test(test_codec_params),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
