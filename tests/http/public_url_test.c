/* public_url_test.c - the public URL of a webhook (http-bridge/public_url.c):
 * configured base, trusted and untrusted proxies, hops, IPv6, prefix,
 * ports, and headers that try to smuggle something into the URL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
/* cmocka after its prerequisites */
#include <cmocka.h>

#include "gw/err.h"
#include "hb/public_url.h"

#define PATH "/relay/twilio/status"
#define QUERY "relay_sid=SM0123"

static struct hb_urlcfg cfg;

static void
setup(const char *base, const char *trusted, const char *hops)
{
	char err[160];

	assert_int_equal(hb_urlcfg_init(&cfg, base, trusted, hops,
	                     "127.0.0.1:8080", err, sizeof(err)),
	    GW_OK);
}

/* url runs one request with the headers given as name, value, ...,
 * NULL; returns the gw_err and leaves the URL (or the error) in out. */
static int
url_of(const char *peer, const char *query, char *out, size_t outlen, ...)
{
	struct hb_header h[16];
	struct hb_urlreq r = { 0 };
	char             err[160];
	size_t           n = 0;
	va_list          ap;
	int              rc;

	va_start(ap, outlen);
	for (const char *name; (name = va_arg(ap, const char *)) != NULL;) {
		h[n].name = name;
		h[n].value = va_arg(ap, const char *);
		n++;
	}
	va_end(ap);
	r.peer = peer;
	r.path = PATH;
	r.query = query;
	r.headers = h;
	r.n_headers = n;
	rc = hb_public_url(&cfg, &r, out, outlen, err, sizeof(err));
	if (rc != GW_OK) {
		assert_string_equal(out, "");
		assert_true(err[0] != '\0');
		snprintf(out, outlen, "%s", err);
	}
	return rc;
}

#define EXPECT_URL(want, peer, ...)                                       \
	do {                                                              \
		char out_[HB_PUBLIC_URL_MAX + 1];                         \
		assert_int_equal(                                         \
		    url_of(peer, QUERY, out_, sizeof(out_), __VA_ARGS__), \
		    GW_OK);                                               \
		assert_string_equal(out_, want);                          \
	} while (0)

#define EXPECT_BAD(prefix, peer, ...)                                     \
	do {                                                              \
		char out_[HB_PUBLIC_URL_MAX + 1];                         \
		assert_int_equal(                                         \
		    url_of(peer, QUERY, out_, sizeof(out_), __VA_ARGS__), \
		    GW_EINVAL);                                           \
		assert_true(strncmp(out_, prefix, strlen(prefix)) == 0);  \
	} while (0)

static void
test_public_url_config(void **state)
{
	char err[160];

	(void) state;
	assert_int_equal(
	    hb_urlcfg_init(&cfg, NULL, NULL, NULL, NULL, err, sizeof(err)),
	    GW_OK);
	assert_int_equal(cfg.hops, 1);
	assert_int_equal(cfg.n_trusted, 0);
	assert_int_equal(hb_urlcfg_init(&cfg, "https://relay.example.com/sms/",
	                     " 10.0.0.0/8 ,::1, fd00::/8,,192.168.1.7", "2",
	                     NULL, err, sizeof(err)),
	    GW_OK);
	assert_string_equal(cfg.base, "https://relay.example.com/sms");
	assert_int_equal(cfg.n_trusted, 4);
	assert_int_equal(cfg.hops, 2);
	/* bad settings name themselves */
	static const char *bad_urls[] = { "ftp://x", "https://", "relay.com",
		"https://h/p?q=1", "https://h/p#f", "https://u@h/",
		"https://h:0/", "https://h:99999/", "https://h h/" };
	for (size_t i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++) {
		assert_int_equal(hb_urlcfg_init(&cfg, bad_urls[i], NULL, NULL,
		                     NULL, err, sizeof(err)),
		    GW_EINVAL);
		assert_true(strncmp(err, "--public-url", 12) == 0);
	}
	static const char *bad_nets[] = { "10.0.0.1/33", "::1/129",
		"example.com", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.256",
		"10.0.0.1 10.0.0.2", "1.2.3.4/8x" };
	for (size_t i = 0; i < sizeof(bad_nets) / sizeof(bad_nets[0]); i++) {
		assert_int_equal(hb_urlcfg_init(&cfg, NULL, bad_nets[i], NULL,
		                     NULL, err, sizeof(err)),
		    GW_EINVAL);
		assert_true(strncmp(err, "--trusted-proxy", 15) == 0);
	}
	static const char *bad_hops[] = { "0", "17", "-1", "1x", "", " 1" };
	for (size_t i = 0; i < sizeof(bad_hops) / sizeof(bad_hops[0]); i++)
		assert_int_equal(hb_urlcfg_init(&cfg, NULL, NULL, bad_hops[i],
		                     NULL, err, sizeof(err)),
		    GW_EINVAL);
}

static void
test_public_url_trusts(void **state)
{
	(void) state;
	setup(NULL,
	    "127.0.0.1, 10.1.0.0/16, ::1, fd00:1::/32, ::ffff:172.16.0.0/108",
	    NULL);
	assert_true(hb_urlcfg_trusts(&cfg, "127.0.0.1"));
	assert_false(hb_urlcfg_trusts(&cfg, "127.0.0.2"));
	assert_true(hb_urlcfg_trusts(&cfg, "10.1.255.3"));
	assert_false(hb_urlcfg_trusts(&cfg, "10.2.0.1"));
	assert_true(hb_urlcfg_trusts(&cfg, "::1"));
	assert_true(hb_urlcfg_trusts(&cfg, "[::1]"));
	assert_true(hb_urlcfg_trusts(&cfg, "fd00:1:ffff::9"));
	assert_false(hb_urlcfg_trusts(&cfg, "fd00:2::9"));
	/* an IPv4 client on a dual-stack socket */
	assert_true(hb_urlcfg_trusts(&cfg, "::ffff:127.0.0.1"));
	assert_true(hb_urlcfg_trusts(&cfg, "::ffff:10.1.2.3"));
	assert_true(hb_urlcfg_trusts(&cfg, "172.16.9.9"));
	assert_false(hb_urlcfg_trusts(&cfg, "172.32.0.1"));
	assert_true(hb_urlcfg_trusts(&cfg, "fe80::1%eth0") == false);
	assert_false(hb_urlcfg_trusts(&cfg, ""));
	assert_false(hb_urlcfg_trusts(&cfg, NULL));
	assert_false(hb_urlcfg_trusts(&cfg, "localhost"));
	/* a v4 entry never matches a v6 peer of the same bytes */
	assert_false(hb_urlcfg_trusts(&cfg, "7f00:1::"));
	setup(NULL, "0.0.0.0/0", NULL);
	assert_true(hb_urlcfg_trusts(&cfg, "203.0.113.9"));
	assert_false(hb_urlcfg_trusts(&cfg, "2001:db8::1"));
	setup(NULL, NULL, NULL);
	assert_false(hb_urlcfg_trusts(&cfg, "127.0.0.1"));
}

static void
test_public_url_base(void **state)
{
	(void) state;
	/* the base wins over everything, its prefix kept */
	setup("https://relay.example.com/edge/", "127.0.0.1", NULL);
	EXPECT_URL("https://relay.example.com/edge" PATH "?" QUERY, "127.0.0.1",
	    "Host", "10.0.0.5:8080", "X-Forwarded-Host", "evil.example",
	    "X-Forwarded-Proto", "http", NULL);
	setup("http://relay.example.com:8443", NULL, NULL);
	EXPECT_URL(
	    "http://relay.example.com:8443" PATH "?" QUERY, "1.2.3.4", NULL);
	char out[HB_PUBLIC_URL_MAX + 1];
	assert_int_equal(
	    url_of("1.2.3.4", NULL, out, sizeof(out), NULL), GW_OK);
	assert_string_equal(out, "http://relay.example.com:8443" PATH);
	/* "?" with nothing after it is kept: it was signed that way */
	assert_int_equal(url_of("1.2.3.4", "", out, sizeof(out), NULL), GW_OK);
	assert_string_equal(out, "http://relay.example.com:8443" PATH "?");
}

static void
test_public_url_direct(void **state)
{
	(void) state;
	setup(NULL, NULL, NULL);
	EXPECT_URL("http://relay.example.com" PATH "?" QUERY, "203.0.113.9",
	    "Host", "relay.example.com", NULL);
	EXPECT_URL("http://127.0.0.1:8080" PATH "?" QUERY, "203.0.113.9", NULL);
	EXPECT_URL("http://[::1]:9000" PATH "?" QUERY, "::1", "Host",
	    "[::1]:9000", NULL);
	/* the default port is left out; another one kept */
	EXPECT_URL("http://relay.example.com" PATH "?" QUERY, "203.0.113.9",
	    "host", "relay.example.com:80", NULL);
	EXPECT_URL("http://relay.example.com:443" PATH "?" QUERY, "203.0.113.9",
	    "Host", "relay.example.com:443", NULL);
	/* untrusted peer: forwarded headers are ignored entirely */
	EXPECT_URL("http://10.0.0.5:8080" PATH "?" QUERY, "127.0.0.1", "Host",
	    "10.0.0.5:8080", "X-Forwarded-Proto", "https", "X-Forwarded-Host",
	    "relay.example.com", "X-Forwarded-Port", "8443",
	    "X-Forwarded-Prefix", "/edge", NULL);
	/* ... even when malformed */
	EXPECT_URL("http://10.0.0.5:8080" PATH "?" QUERY, "127.0.0.1", "Host",
	    "10.0.0.5:8080", "X-Forwarded-Proto", "gopher\r\nX: y",
	    "X-Forwarded-Host", "a b", NULL);
}

static void
test_public_url_trusted(void **state)
{
	(void) state;
	setup(NULL, "127.0.0.1, ::1", NULL);
	EXPECT_URL("https://relay.example.com" PATH "?" QUERY, "127.0.0.1",
	    "Host", "10.0.0.5:8080", "X-Forwarded-Proto", "https",
	    "X-Forwarded-Host", "relay.example.com", NULL);
	EXPECT_URL("https://relay.example.com" PATH "?" QUERY, "::1", "Host",
	    "10.0.0.5:8080", "X-Forwarded-Proto", "HTTPS", "X-Forwarded-Host",
	    "relay.example.com", NULL);
	/* missing headers: what the request itself says */
	EXPECT_URL("http://10.0.0.5:8080" PATH "?" QUERY, "127.0.0.1", "Host",
	    "10.0.0.5:8080", NULL);
	EXPECT_URL("https://10.0.0.5:8080" PATH "?" QUERY, "127.0.0.1", "Host",
	    "10.0.0.5:8080", "X-Forwarded-Proto", "https", NULL);
	EXPECT_URL("http://relay.example.com" PATH "?" QUERY, "127.0.0.1",
	    "X-Forwarded-Host", "relay.example.com", NULL);
	EXPECT_URL("http://127.0.0.1:8080" PATH "?" QUERY, "127.0.0.1", NULL);
	/* empty values count as absent */
	EXPECT_URL("http://10.0.0.5:8080" PATH "?" QUERY, "127.0.0.1", "Host",
	    "10.0.0.5:8080", "X-Forwarded-Proto", "", "X-Forwarded-Host", " ",
	    NULL);
	/* port: X-Forwarded-Port replaces the host's; the default drops */
	EXPECT_URL("https://relay.example.com:8443" PATH "?" QUERY, "127.0.0.1",
	    "Host", "10.0.0.5:8080", "X-Forwarded-Proto", "https",
	    "X-Forwarded-Host", "relay.example.com:9999", "X-Forwarded-Port",
	    "8443", NULL);
	EXPECT_URL("https://relay.example.com" PATH "?" QUERY, "127.0.0.1",
	    "X-Forwarded-Proto", "https", "X-Forwarded-Host",
	    "relay.example.com", "X-Forwarded-Port", "443", NULL);
	EXPECT_URL("https://relay.example.com:8443" PATH "?" QUERY, "127.0.0.1",
	    "X-Forwarded-Proto", "https", "X-Forwarded-Host",
	    "relay.example.com:8443", NULL);
	EXPECT_URL("http://10.0.0.5:81" PATH "?" QUERY, "127.0.0.1", "Host",
	    "10.0.0.5:8080", "X-Forwarded-Port", "81", NULL);
	EXPECT_URL("https://[2001:db8::1]:8443" PATH "?" QUERY, "127.0.0.1",
	    "X-Forwarded-Proto", "https", "X-Forwarded-Host", "[2001:db8::1]",
	    "X-Forwarded-Port", "8443", NULL);
	/* prefix: the proxy's mount point, a trailing '/' dropped */
	EXPECT_URL("https://relay.example.com/edge" PATH "?" QUERY, "127.0.0.1",
	    "X-Forwarded-Proto", "https", "X-Forwarded-Host",
	    "relay.example.com", "X-Forwarded-Prefix", "/edge/", NULL);
	EXPECT_URL("https://relay.example.com" PATH "?" QUERY, "127.0.0.1",
	    "X-Forwarded-Proto", "https", "X-Forwarded-Host",
	    "relay.example.com", "X-Forwarded-Prefix", "/", NULL);
}

static void
test_public_url_hops(void **state)
{
	(void) state;
	/* one hop: the rightmost value, the one our proxy appended; the
	 * client's own values to its left are not believed */
	setup(NULL, "127.0.0.1", "1");
	EXPECT_URL("https://relay.example.com" PATH "?" QUERY, "127.0.0.1",
	    "X-Forwarded-Proto", "http, https", "X-Forwarded-Host",
	    "evil.example, relay.example.com", NULL);
	/* repeated header lines are one list */
	EXPECT_URL("https://relay.example.com" PATH "?" QUERY, "127.0.0.1",
	    "X-Forwarded-Host", "evil.example", "X-Forwarded-Proto", "https",
	    "X-Forwarded-Host", "relay.example.com", NULL);
	/* two hops: the second from the right */
	setup(NULL, "127.0.0.1", "2");
	EXPECT_URL("https://relay.example.com/edge" PATH "?" QUERY, "127.0.0.1",
	    "Host", "10.0.0.5:8080", "X-Forwarded-Proto", "http,https,http",
	    "X-Forwarded-Host", "evil.example,relay.example.com, inner.local",
	    "X-Forwarded-Prefix", "/edge, /inner", NULL);
	/* fewer values than hops: that header is ignored */
	EXPECT_URL("https://10.0.0.5:8080" PATH "?" QUERY, "127.0.0.1", "Host",
	    "10.0.0.5:8080", "X-Forwarded-Proto", "https,http",
	    "X-Forwarded-Host", "relay.example.com", NULL);
	EXPECT_URL("http://10.0.0.5:8080" PATH "?" QUERY, "127.0.0.1", "Host",
	    "10.0.0.5:8080", "X-Forwarded-Port", "8443", NULL);
	/* a header split over two lines still counts both values */
	EXPECT_URL("https://relay.example.com" PATH "?" QUERY, "127.0.0.1",
	    "X-Forwarded-Proto", "https", "X-Forwarded-Proto", "http",
	    "X-Forwarded-Host", "relay.example.com", "X-Forwarded-Host",
	    "inner.local", NULL);
}

static void
test_public_url_injection(void **state)
{
	(void) state;
	setup(NULL, "127.0.0.1", NULL);
	/* several Host lines: ambiguous, refused (trusted or not) */
	EXPECT_BAD("Host:", "127.0.0.1", "Host", "relay.example.com", "Host",
	    "evil.example", NULL);
	EXPECT_BAD("Host:", "203.0.113.9", "Host", "relay.example.com", "Host",
	    "evil.example", NULL);
	/* hosts that are not hosts */
	static const char *hosts[] = { "relay.example.com\r\nX-Evil: 1",
		"relay.example.com/evil", "relay.example.com?x=1",
		"user@relay.example.com", "relay.example.com:http",
		"relay.example.com:0", "relay.example.com:65536",
		"relay.example.com:", "[::1", "[fe80::1%25eth0]", "[zz]", ":80",
		"relay example.com", "relay.example.com#x", "a,b" };
	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		EXPECT_BAD("Host:", "203.0.113.9", "Host", hosts[i], NULL);
		if (strchr(hosts[i], ',') == NULL)
			EXPECT_BAD("X-Forwarded-Host:", "127.0.0.1",
			    "X-Forwarded-Host", hosts[i], NULL);
	}
	EXPECT_BAD("X-Forwarded-Proto:", "127.0.0.1", "X-Forwarded-Proto",
	    "javascript", NULL);
	EXPECT_BAD("X-Forwarded-Proto:", "127.0.0.1", "X-Forwarded-Proto",
	    "https\r\n", NULL);
	EXPECT_BAD("X-Forwarded-Proto:", "127.0.0.1", "X-Forwarded-Proto",
	    "https\n", NULL);
	EXPECT_BAD("X-Forwarded-Port:", "127.0.0.1", "X-Forwarded-Port",
	    "80 80", NULL);
	EXPECT_BAD(
	    "X-Forwarded-Port:", "127.0.0.1", "X-Forwarded-Port", "-1", NULL);
	EXPECT_BAD("X-Forwarded-Prefix:", "127.0.0.1", "X-Forwarded-Prefix",
	    "edge", NULL);
	EXPECT_BAD("X-Forwarded-Prefix:", "127.0.0.1", "X-Forwarded-Prefix",
	    "/edge?x=1", NULL);
	EXPECT_BAD("X-Forwarded-Prefix:", "127.0.0.1", "X-Forwarded-Prefix",
	    "/edge#x", NULL);
	EXPECT_BAD("X-Forwarded-Prefix:", "127.0.0.1", "X-Forwarded-Prefix",
	    "//evil.example", NULL);
	EXPECT_BAD("X-Forwarded-Host:", "127.0.0.1", "X-Forwarded-Host",
	    "relay.example.com\x7f", NULL);
	/* a bad value to the left of the one we use is not our business */
	EXPECT_URL("https://relay.example.com" PATH "?" QUERY, "127.0.0.1",
	    "X-Forwarded-Proto", "gopher, https", "X-Forwarded-Host",
	    "a b, relay.example.com", NULL);

	/* a query that is not one */
	char out[HB_PUBLIC_URL_MAX + 1];
	assert_int_equal(
	    url_of("1.2.3.4", "a=1\r\nX: y", out, sizeof(out), NULL),
	    GW_EINVAL);
	assert_int_equal(
	    url_of("1.2.3.4", "a=1#f", out, sizeof(out), NULL), GW_EINVAL);
}

static void
test_public_url_sizes(void **state)
{
	static char q[HB_PUBLIC_URL_MAX + 2];
	char        out[HB_PUBLIC_URL_MAX + 1], small[16];
	char        host[HB_HOST_MAX + 2];

	(void) state;
	setup(NULL, NULL, NULL);
	memset(q, 'a', sizeof(q) - 1);
	q[sizeof(q) - 1] = '\0';
	assert_int_equal(
	    url_of("1.2.3.4", q, out, sizeof(out), NULL), GW_ETOOBIG);
	q[HB_PUBLIC_URL_MAX - strlen("http://127.0.0.1:8080" PATH "?")] = '\0';
	assert_int_equal(url_of("1.2.3.4", q, out, sizeof(out), NULL), GW_OK);
	assert_int_equal(strlen(out), HB_PUBLIC_URL_MAX);
	assert_int_equal(
	    url_of("1.2.3.4", QUERY, small, sizeof(small), NULL), GW_ETOOBIG);
	memset(host, 'h', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	EXPECT_BAD("Host:", "1.2.3.4", "Host", host, NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_public_url_config),
		cmocka_unit_test(test_public_url_trusts),
		cmocka_unit_test(test_public_url_base),
		cmocka_unit_test(test_public_url_direct),
		cmocka_unit_test(test_public_url_trusted),
		cmocka_unit_test(test_public_url_hops),
		cmocka_unit_test(test_public_url_injection),
		cmocka_unit_test(test_public_url_sizes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
