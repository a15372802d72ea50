/*
 * server.c - relay-http's civetweb handlers: HTTP in, Messaging RPC out.
 *
 * One handler takes every path and dispatches on it, so that unknown
 * paths and wrong methods get our JSON errors rather than civetweb's HTML.
 * Everything a request needs sits on its worker's stack or in a
 * thread-local buffer (the body, the reply text); the only heap use on the
 * hot path is the RPC itself and protobuf-c's unpacked reply.
 *
 * relayd is the authority on every rule: the edge checks only shape (the
 * codec), so the same request gets the same verdict through relayctl,
 * relay-tui or HTTP. relayd's messages name fields as the proto does
 * ("to: ..."); the edge renames them to the HTTP names ("To: ...").
 *
 * Provider webhooks are no exception: the edge works out the public URL
 * the provider signed (public_url.c) and decodes the form; relayd, which
 * holds the tokens, verifies and applies them.
 */
#include "hb/server.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <civetweb.h>

#include "gw/clock.h"
#include "gw/err.h"
#include "gw/log.h"
#include "gw/money.h"
#include "hb/codec.h"
#include "hb/openapi.h"
#include "hb/public_url.h"
#include "hb/sendq.h"
#include "pb/json.h"
#include "relay/v1/admin.pb-c.h"
#include "relay/v1/messaging.pb-c.h"
#include "relay/v1/webhooks.pb-c.h"
#include "rpc/client.h"

#define KEY_MAX 256         /* longer X-Proxy-Auth values are not keys */
#define OUT_MAX 32768       /* reply text kept in the thread's buffer */
#define HEALTH_TIMEOUT 1000 /* ms */
#define QS_MAX 512
#define PARAMS_MAX 1024 /* form fields of a webhook (relayd's ceiling) */
#define SIG_MAX 512     /* longer X-Twilio-Signature values are not ours */

struct hb_server {
	struct mg_context *mg;
	struct rpc_client *rpc;    /* shared by every worker */
	struct hb_sendq   *sendq;  /* POST /relay/sms, over rpc */
	struct rpc_client *health; /* short timeout, so /healthz answers fast */
	int                port;
	struct hb_urlcfg   url;       /* webhooks' public URL rules */
	atomic_bool        url_ready; /* url complete: the port is known */
};

/* One request in flight, on its worker's stack. */
struct req {
	struct hb_server             *s;
	struct mg_connection         *conn;
	const struct mg_request_info *ri;
	int64_t                       t0;
	int                           status;
	size_t                        bytes;
	char                          key8[9]; /* what the log may show */
	const char                   *note; /* sid or error code for the log */
	char                          note_buf[96];
	struct tbuf                  *tb;
};

/* Each worker's buffers, made once by on_init_thread (thread-local
 * storage this size would not fit civetweb's thread stacks). */
struct tbuf {
	char body[HB_BODY_MAX + 1];
	char out[OUT_MAX];
	char wire[OUT_MAX + 1024]; /* status line, headers and body */
};

/* ---- responses ----------------------------------------------------- */

/* keep_alive mirrors civetweb's own decision (enable_keep_alive is on),
 * so that the Connection header we write is the truth. */
static bool
keep_alive(const struct req *r)
{
	const char *h = mg_get_header(r->conn, "Connection");

	if (h != NULL)
		return strcasestr(h, "keep-alive") != NULL;
	return r->ri->http_version != NULL &&
	    strcmp(r->ri->http_version, "1.1") == 0;
}

/* respond writes the whole answer, status line to body, with one
 * mg_write when it fits the thread's buffer: one TCP segment and one
 * wakeup of the client instead of two. A 413 may leave the body unread,
 * after which civetweb closes the connection; the header says so. */
static void
respond_as(struct req *r, int status, const char *ctype, const char *body,
    size_t len, const char *hname, const char *hval)
{
	char  *w = r->tb->wire;
	size_t cap = sizeof(r->tb->wire);
	int    n;

	n = snprintf(w, cap,
	    "HTTP/1.1 %d %s\r\n"
	    "%s%s%s"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "%s%s%s%s"
	    "Connection: %s\r\n\r\n",
	    status, mg_get_response_code_text(r->conn, status),
	    ctype != NULL ? "Content-Type: " : "", ctype != NULL ? ctype : "",
	    ctype != NULL ? "\r\n" : "", len, hname != NULL ? hname : "",
	    hname != NULL ? ": " : "", hval != NULL ? hval : "",
	    hname != NULL ? "\r\n" : "",
	    status != 413 && keep_alive(r) ? "keep-alive" : "close");
	if (n < 0 || (size_t) n >= cap) {
		r->status = 500;
		return;
	}
	if (len <= cap - (size_t) n) {
		memcpy(w + n, body, len);
		mg_write(r->conn, w, (size_t) n + len);
	} else {
		mg_write(r->conn, w, (size_t) n);
		mg_write(r->conn, body, len);
	}
	r->status = status;
	r->bytes = len;
}

static void
respond(struct req *r, int status, const char *body, size_t len,
    const char *hname, const char *hval)
{
	respond_as(r, status, "application/json", body, len, hname, hval);
}

/* respond_json renders doc (borrowed) through the thread's buffer, or the
 * heap when it does not fit. */
static void
respond_json(
    struct req *r, int status, json_t *doc, const char *hname, const char *hval)
{
	size_t n =
	    json_dumpb(doc, r->tb->out, sizeof(r->tb->out), JSON_COMPACT);
	char *big;

	if (n > 0 && n <= sizeof(r->tb->out)) {
		respond(r, status, r->tb->out, n, hname, hval);
		return;
	}
	if ((big = json_dumps(doc, JSON_COMPACT)) == NULL) {
		respond(r, 503,
		    "{\"error\":{\"code\":\"out_of_memory\",\"message\":"
		    "\"out of memory\"}}",
		    59, NULL, NULL);
		return;
	}
	respond(r, status, big, strlen(big), hname, hval);
	free(big);
}

static void __attribute__((format(printf, 4, 5)))
respond_error(struct req *r, int status, const char *code, const char *fmt, ...)
{
	char    msg[512];
	va_list ap;
	json_t *doc;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->note = code;
	/* json_pack checks UTF-8; a message echoing bad input might not be */
	doc = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
	if (doc == NULL)
		doc = json_pack("{s:{s:s,s:s}}", "error", "code", code,
		    "message", "(message not shown: not valid UTF-8)");
	if (doc == NULL) {
		respond(r, 503,
		    "{\"error\":{\"code\":\"out_of_memory\",\"message\":"
		    "\"out of memory\"}}",
		    59, NULL, NULL);
		return;
	}
	if (status == 429)
		respond_json(r, status, doc, "Retry-After", "1");
	else if (status == 405)
		respond_json(r, status, doc, "Allow",
		    strcmp(r->ri->local_uri, "/relay/sms") == 0 ||
		            strncmp(r->ri->local_uri, "/relay/twilio/", 14) == 0
		        ? "POST"
		        : "GET");
	else if (status == 401)
		respond_json(r, status, doc, "WWW-Authenticate",
		    "Bearer realm=\"relay\"");
	else
		respond_json(r, status, doc, NULL, NULL);
	json_decref(doc);
}

/* http_status maps a gw_err from relayd (or the client stub) to HTTP. */
static int
http_status(int err)
{
	switch (err) {
	case GW_EINVAL:
		return 400;
	case GW_EAUTH:
		return 401;
	case GW_ENOFUNDS:
		return 402;
	case GW_EPERM:
		return 403;
	case GW_ENOTFOUND:
		return 404;
	case GW_EEXIST:
	case GW_ECONFLICT:
	case GW_ESTATE:
		return 409;
	case GW_ETOOBIG:
		return 413;
	case GW_ENOROUTE:
		return 422;
	case GW_ELIMIT:
		return 429;
	case GW_EUNAVAIL:
	case GW_ENOMEM:
	case GW_ETIMEDOUT:
		return 503;
	default:
		return 500;
	}
}

/* respond_rpc_error answers a failed call; relayd's field names become
 * the HTTP ones. */
static void
respond_rpc_error(struct req *r, int err, const struct rpc_status *st)
{
	static const struct {
		const char *proto, *http;
	} names[] = {
		{ "to:", "To:" },
		{ "from:", "From:" },
		{ "body:", "Body:" },
		{ "status_callback:", "StatusCallback:" },
		{ "idempotency_key:", "Idempotency-Key:" },
	};
	const char *msg =
	    st->message[0] != '\0' ? st->message : gw_strerror(err);

	if (err == GW_EUNAVAIL && st->code == 0)
		msg = "relayd is not reachable";
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t n = strlen(names[i].proto);
		if (strncmp(msg, names[i].proto, n) == 0) {
			respond_error(r, http_status(err), gw_errname(err),
			    "%s%s", names[i].http, msg + n);
			return;
		}
	}
	respond_error(r, http_status(err), gw_errname(err), "%s", msg);
}

/* ---- request helpers ----------------------------------------------- */

/* api_key returns the caller's key (X-Proxy-Auth, else Authorization:
 * Bearer), or NULL; notes its first 8 characters for the log. */
static const char *
api_key(struct req *r)
{
	const char *k = mg_get_header(r->conn, "X-Proxy-Auth");
	const char *a;

	if (k == NULL &&
	    (a = mg_get_header(r->conn, "Authorization")) != NULL &&
	    strncasecmp(a, "Bearer ", 7) == 0) {
		k = a + 7;
		while (*k == ' ')
			k++;
	}
	if (k == NULL || k[0] == '\0')
		return NULL;
	snprintf(r->key8, sizeof(r->key8), "%.8s", k);
	for (char *p = r->key8; *p; p++)
		if (!isgraph((unsigned char) *p))
			*p = '?';
	return k;
}

/* need_key answers 401 and returns NULL when there is no usable key. */
static const char *
need_key(struct req *r)
{
	const char *k = api_key(r);

	if (k == NULL) {
		respond_error(r, 401, "unauthenticated",
		    "API key required: X-Proxy-Auth: KEY or "
		    "Authorization: Bearer KEY");
		return NULL;
	}
	if (strlen(k) >= KEY_MAX) {
		respond_error(r, 401, "unauthenticated", "API key invalid");
		return NULL;
	}
	return k;
}

/* read_body reads the request body into the thread's buffer; answers 413
 * (and returns -1) past HB_BODY_MAX, by Content-Length or while reading. */
static int
read_body(struct req *r, size_t *len)
{
	long long cl = r->ri->content_length;
	size_t    n = 0;
	int       got;

	if (cl > HB_BODY_MAX) {
		respond_error(r, 413, "too_large", "body: larger than %d bytes",
		    HB_BODY_MAX);
		return -1;
	}
	while (n <= HB_BODY_MAX &&
	    (got = mg_read(r->conn, r->tb->body + n, HB_BODY_MAX + 1 - n)) > 0)
		n += (size_t) got;
	if (n > HB_BODY_MAX) {
		respond_error(r, 413, "too_large", "body: larger than %d bytes",
		    HB_BODY_MAX);
		return -1;
	}
	r->tb->body[n] = '\0';
	*len = n;
	return 0;
}

static void
format_time(int64_t ms, char *buf, size_t len)
{
	time_t    t = (time_t) (ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, (int) (ms % 1000));
}

/* parse_time reads Unix milliseconds ("1764000000000") or an RFC 3339
 * time ("2026-11-21T15:02:34Z", "2026-11-21T15:02:34.383+01:00"). */
static int
parse_time(const char *s, int64_t *out)
{
	struct tm   tm;
	const char *p;
	char       *end;
	int64_t     ms = 0, off = 0;

	if (s[0] >= '0' && s[0] <= '9' &&
	    strspn(s, "0123456789") == strlen(s)) {
		errno = 0;
		long long v = strtoll(s, &end, 10);
		if (errno != 0 || v > INT64_MAX / 2)
			return GW_EINVAL;
		*out = v;
		return GW_OK;
	}
	memset(&tm, 0, sizeof(tm));
	if ((p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return GW_EINVAL;
	if (*p == '.') {
		int digits = 0, scale = 100;
		for (p++; *p >= '0' && *p <= '9'; p++, digits++) {
			ms += (*p - '0') * scale;
			scale /= 10;
		}
		if (digits == 0)
			return GW_EINVAL;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && isdigit((unsigned char) p[1]) &&
	    isdigit((unsigned char) p[2]) && p[3] == ':' &&
	    isdigit((unsigned char) p[4]) && isdigit((unsigned char) p[5])) {
		off = ((p[1] - '0') * 10 + (p[2] - '0')) * 60 +
		    (p[4] - '0') * 10 + (p[5] - '0');
		if (*p == '+')
			off = -off;
		p += 6;
	} else {
		return GW_EINVAL;
	}
	if (*p != '\0')
		return GW_EINVAL;
	*out = ((int64_t) timegm(&tm) + off * 60) * 1000 + ms;
	return GW_OK;
}

/* ---- endpoints ----------------------------------------------------- */

static void
route_send(struct req *r)
{
	Relay__V1__SendRequest      req;
	const Relay__V1__SendReply *rep;
	struct hb_sent              sent;
	struct rpc_status           st;
	struct hb_send         f;
	enum hb_ctype          ct;
	const char            *key, *idem;
	char err[HB_ERR_MAX], cost[GW_MONEY_STRLEN], bal[GW_MONEY_STRLEN],
	    at[80], loc[64];
	size_t len;
	int    rc, n;

	if ((key = need_key(r)) == NULL)
		return;
	ct = hb_ctype_parse(mg_get_header(r->conn, "Content-Type"));
	if (ct != HB_CT_JSON && ct != HB_CT_FORM) {
		respond_error(r, 415, "unsupported_media_type",
		    "Content-Type: application/json or "
		    "application/x-www-form-urlencoded (UTF-8)");
		return;
	}
	if (read_body(r, &len) != 0)
		return;
	if ((rc = hb_send_decode(ct, r->tb->body, len, &f, err, sizeof(err))) !=
	    GW_OK) {
		respond_error(r, http_status(rc), gw_errname(rc), "%s", err);
		return;
	}
	idem = mg_get_header(r->conn, "Idempotency-Key");
	hb_send_request(&f, idem, &req);
	if ((rc = hb_sendq_send(r->s->sendq, key, &req, &sent, &st)) != GW_OK) {
		respond_rpc_error(r, rc, &st);
		return;
	}
	rep = sent.reply;
	format_time(rep->created_unix_ms, at, sizeof(at));
	/* sid, numbers and encoding are ASCII that needs no escaping */
	n = snprintf(r->tb->out, sizeof(r->tb->out),
	    "{\"sid\":\"%s\",\"status\":\"%s\",\"cost\":\"%s\","
	    "\"remaining_balance\":\"%s\",\"segments\":%" PRIu32 ","
	    "\"encoding\":\"%s\",\"to\":\"%s\",\"from\":\"%s\","
	    "\"created_at\":\"%s\"}",
	    rep->sid, rep->status, gw_money_format(rep->cost_micros, cost),
	    gw_money_format(rep->remaining_balance_micros, bal), rep->segments,
	    rep->encoding, rep->to, rep->from, at);
	snprintf(r->note_buf, sizeof(r->note_buf), "%s%s", rep->sid,
	    rep->replayed ? " replayed" : "");
	r->note = r->note_buf;
	snprintf(loc, sizeof(loc), "/relay/messages/%s", rep->sid);
	if (rep->replayed)
		respond(r, 201, r->tb->out, (size_t) n, "Idempotent-Replayed",
		    "true");
	else
		respond(r, 201, r->tb->out, (size_t) n, "Location", loc);
	hb_sent_release(&sent);
}

static void
route_get(struct req *r, const char *sid)
{
	Relay__V1__GetMessageRequest req = RELAY__V1__GET_MESSAGE_REQUEST__INIT;
	Relay__V1__Message          *msg = NULL;
	struct rpc_status            st;
	const char                  *key;
	json_t                      *doc;
	int                          rc;

	if ((key = need_key(r)) == NULL)
		return;
	req.sid = (char *) sid;
	rc = rpc_invoke_as(r->s->rpc, key, &relay__v1__messaging__descriptor,
	    "GetMessage", &req.base, (ProtobufCMessage **) &msg, &st);
	if (rc != GW_OK) {
		respond_rpc_error(r, rc, &st);
		return;
	}
	if ((doc = pb_to_json(&msg->base)) == NULL)
		respond_error(r, 503, "out_of_memory", "out of memory");
	else
		respond_json(r, 200, doc, NULL, NULL);
	json_decref(doc);
	relay__v1__message__free_unpacked(msg, NULL);
}

/* query_var copies query parameter name into buf; 0 absent, 1 present,
 * -1 answered 400. */
static int
query_var(struct req *r, const char *name, char *buf, size_t len)
{
	const char *qs = r->ri->query_string;
	int         n;

	if (qs == NULL)
		return 0;
	n = mg_get_var2(qs, strlen(qs), name, buf, len, 0);
	if (n == -1)
		return 0;
	if (n < 0) {
		respond_error(r, 400, "invalid_argument", "%s: too long", name);
		return -1;
	}
	return n > 0;
}

static void
route_list(struct req *r)
{
	Relay__V1__ListMessagesRequest req =
	    RELAY__V1__LIST_MESSAGES_REQUEST__INIT;
	Relay__V1__MessageList *list = NULL;
	struct rpc_status       st;
	const char             *key;
	char    from[64], to[64], status[32], limit[16], token[QS_MAX];
	json_t *doc;
	int     rc, k;

	if ((key = need_key(r)) == NULL)
		return;
	if ((k = query_var(r, "from", from, sizeof(from))) < 0)
		return;
	if (k > 0 && parse_time(from, &req.from_unix_ms) != GW_OK) {
		respond_error(r, 400, "invalid_argument",
		    "from: Unix milliseconds or an RFC 3339 time");
		return;
	}
	if ((k = query_var(r, "to", to, sizeof(to))) < 0)
		return;
	if (k > 0 && parse_time(to, &req.to_unix_ms) != GW_OK) {
		respond_error(r, 400, "invalid_argument",
		    "to: Unix milliseconds or an RFC 3339 time");
		return;
	}
	if ((k = query_var(r, "status", status, sizeof(status))) < 0)
		return;
	if (k > 0)
		req.status = status;
	if ((k = query_var(r, "limit", limit, sizeof(limit))) < 0)
		return;
	if (k > 0) {
		char         *end;
		unsigned long v = strtoul(limit, &end, 10);
		if (*end != '\0' || !isdigit((unsigned char) limit[0]) ||
		    v < 1 || v > 1000) {
			respond_error(
			    r, 400, "invalid_argument", "limit: 1 to 1000");
			return;
		}
		req.limit = (uint32_t) v;
	}
	if ((k = query_var(r, "page_token", token, sizeof(token))) < 0)
		return;
	if (k > 0)
		req.page_token = token;
	rc = rpc_invoke_as(r->s->rpc, key, &relay__v1__messaging__descriptor,
	    "ListMessages", &req.base, (ProtobufCMessage **) &list, &st);
	if (rc != GW_OK) {
		respond_rpc_error(r, rc, &st);
		return;
	}
	doc = pb_to_json(&list->base);
	/* an empty repeated field may be left out; clients want [] */
	if (doc != NULL && json_object_get(doc, "messages") == NULL)
		json_object_set_new(doc, "messages", json_array());
	if (doc != NULL && json_object_get(doc, "next_page_token") == NULL)
		json_object_set_new(doc, "next_page_token", json_string(""));
	if (doc == NULL)
		respond_error(r, 503, "out_of_memory", "out of memory");
	else
		respond_json(r, 200, doc, NULL, NULL);
	json_decref(doc);
	relay__v1__message_list__free_unpacked(list, NULL);
}

static void
route_health(struct req *r)
{
	Relay__V1__PingRequest req = RELAY__V1__PING_REQUEST__INIT;
	Relay__V1__PingReply  *rep = NULL;
	struct rpc_status      st;
	int                    rc;

	rc = rpc_invoke(r->s->health, &relay__v1__health__descriptor, "Ping",
	    &req.base, (ProtobufCMessage **) &rep, &st);
	if (rc != GW_OK) {
		respond_error(r, 503, "unavailable", "%s",
		    st.message[0] ? st.message : gw_strerror(rc));
		return;
	}
	relay__v1__ping_reply__free_unpacked(rep, NULL);
	respond(r, 200, "{\"status\":\"ok\"}", 15, NULL, NULL);
}

/* ---- provider webhooks -------------------------------------------- */

/* webhook_http maps a Webhooks outcome to HTTP. Anything that is not the
 * request's fault is 503, so that the provider retries it later. */
static int
webhook_http(int err)
{
	switch (err) {
	case GW_EAUTH:
		return 403; /* Twilio's own advice: 403 for a bad signature */
	case GW_EINVAL:
		return 400;
	case GW_ETOOBIG:
		return 413;
	default:
		return 503;
	}
}

/* twilio_signature copies X-Twilio-Signature, trimmed, into buf; "" when
 * absent. false when it is too long to be one. */
static bool
twilio_signature(struct req *r, char *buf, size_t len)
{
	const char *v = mg_get_header(r->conn, "X-Twilio-Signature");
	size_t      n;

	buf[0] = '\0';
	if (v == NULL)
		return true;
	while (*v == ' ' || *v == '\t')
		v++;
	n = strlen(v);
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n >= len)
		return false;
	memcpy(buf, v, n);
	buf[n] = '\0';
	return true;
}

/* message_sid finds MessageSid (or SmsSid) among the params for the log:
 * letters and digits only, else "-". */
static void
message_sid(const struct hb_params *p, char *buf, size_t len)
{
	snprintf(buf, len, "-");
	for (size_t i = 0; i < p->n; i++) {
		const ProtobufCBinaryData *k = &p->items[i].key;
		const ProtobufCBinaryData *v = &p->items[i].value;

		if (!((k->len == 10 &&
		          memcmp(k->data, "MessageSid", 10) == 0) ||
		        (k->len == 6 && memcmp(k->data, "SmsSid", 6) == 0)))
			continue;
		if (v->len == 0 || v->len >= len)
			return;
		for (size_t j = 0; j < v->len; j++)
			if (!isalnum(v->data[j]))
				return;
		memcpy(buf, v->data, v->len);
		buf[v->len] = '\0';
		return;
	}
}

/* public_url works out the URL the provider signed; answers 400 and
 * returns -1 when the request's headers make that impossible. */
static int
public_url(struct req *r, char *url, size_t len)
{
	struct hb_header hdrs[MG_MAX_HEADERS];
	struct hb_urlreq u = { 0 };
	char             err[160];
	int              rc, n = r->ri->num_headers;

	if (n > MG_MAX_HEADERS)
		n = MG_MAX_HEADERS;
	for (int i = 0; i < n; i++) {
		hdrs[i].name = r->ri->http_headers[i].name;
		hdrs[i].value = r->ri->http_headers[i].value;
	}
	u.peer = r->ri->remote_addr;
	u.tls = r->ri->is_ssl != 0;
	u.path = r->ri->local_uri_raw != NULL ? r->ri->local_uri_raw
	                                      : r->ri->local_uri;
	u.query = r->ri->query_string;
	u.headers = hdrs;
	u.n_headers = (size_t) n;
	rc = hb_public_url(&r->s->url, &u, url, len, err, sizeof(err));
	if (rc != GW_OK) {
		respond_error(r, 400, "invalid_argument", "%s", err);
		return -1;
	}
	return 0;
}

/* route_twilio hands a Twilio status callback or inbound message to
 * relayd and answers Twilio: 200 (inbound: the TwiML), or the error that
 * makes Twilio give up (400, 403, 413) or retry (503). */
static void
route_twilio(struct req *r, bool inbound)
{
	Relay__V1__TwilioWebhookRequest req =
	    RELAY__V1__TWILIO_WEBHOOK_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	struct rpc_status st;
	struct hb_params  params = { 0 };
	enum hb_ctype     ct;
	const char       *what = inbound ? "inbound" : "status";
	char              url[HB_PUBLIC_URL_MAX + 1], sig[SIG_MAX], msid[40];
	size_t            len;
	int               rc;

	ct = hb_ctype_parse(mg_get_header(r->conn, "Content-Type"));
	if (ct != HB_CT_FORM && ct != HB_CT_JSON) {
		respond_error(r, 415, "unsupported_media_type",
		    "Content-Type: application/x-www-form-urlencoded or "
		    "application/json (UTF-8)");
		return;
	}
	if (!atomic_load_explicit(&r->s->url_ready, memory_order_acquire)) {
		respond_error(r, 503, "unavailable", "starting up");
		return;
	}
	if (read_body(r, &len) != 0 || public_url(r, url, sizeof(url)) != 0)
		return;
	if (!twilio_signature(r, sig, sizeof(sig))) {
		gw_warn("webhooks",
		    "twilio %s from %s: bad signature (oversized) for %s; "
		    "refused",
		    what, r->ri->remote_addr, r->ri->local_uri);
		respond_error(r, 403, "permission_denied", "signature invalid");
		return;
	}
	req.public_url = url;
	req.signature = sig;
	if (ct == HB_CT_JSON) {
		/* the signature covers the URL, whose bodySHA256 covers this */
		req.raw_body.data = (uint8_t *) r->tb->body;
		req.raw_body.len = len;
	} else if ((rc = hb_params_decode(
	                r->tb->body, len, PARAMS_MAX, &params)) != GW_OK) {
		if (rc == GW_ETOOBIG)
			respond_error(r, 413, "too_large",
			    "body: more than %d fields", PARAMS_MAX);
		else
			respond_error(r, 503, "out_of_memory", "out of memory");
		return;
	}
	req.params = params.ptrs;
	req.n_params = params.n;
	message_sid(&params, msid, sizeof(msid));
	rc = rpc_invoke_as(r->s->rpc, NULL, &relay__v1__webhooks__descriptor,
	    inbound ? "TwilioInbound" : "TwilioStatus", &req.base, &rep, &st);
	if (rc != GW_OK) {
		int status = webhook_http(rc);

		if (status == 403)
			gw_warn("webhooks",
			    "twilio %s from %s: bad signature for %s "
			    "(public URL %.300s); refused",
			    what, r->ri->remote_addr, r->ri->local_uri, url);
		else if (status == 503)
			gw_warn("webhooks",
			    "twilio %s from %s: %s; answered 503 so that "
			    "it is retried",
			    what, r->ri->remote_addr,
			    rc == GW_EUNAVAIL && st.code == 0
			        ? "relayd is not reachable"
			        : gw_strerror(rc));
		respond_error(r, status,
		    status == 403       ? "permission_denied"
		        : status == 400 ? "invalid_argument"
		        : status == 413 ? "too_large"
		                        : "unavailable",
		    "%s",
		    status == 403               ? "signature invalid"
		        : st.message[0] != '\0' ? st.message
		                                : gw_strerror(rc));
		hb_params_fini(&params);
		return;
	}
	if (inbound) {
		Relay__V1__TwilioInboundReply *in = (void *) rep;

		snprintf(r->note_buf, sizeof(r->note_buf), "%s%s%s", msid,
		    !in->known_number   ? " unknown-number"
		        : in->duplicate ? " replay"
		                        : "",
		    in->event_id[0] != '\0' && !in->duplicate ? " event" : "");
		r->note = r->note_buf;
		respond_as(r, 200, "text/xml; charset=utf-8", in->twiml,
		    strlen(in->twiml), NULL, NULL);
	} else {
		Relay__V1__TwilioStatusReply *sr = (void *) rep;

		if (!sr->known)
			gw_info("webhooks",
			    "twilio status from %s: unknown message %s; "
			    "answered 200",
			    r->ri->remote_addr, msid);
		snprintf(r->note_buf, sizeof(r->note_buf), "%s %s%s",
		    sr->known ? sr->sid : msid,
		    sr->known ? sr->status : "unknown",
		    sr->known && !sr->applied ? " unchanged" : "");
		r->note = r->note_buf;
		respond_as(r, 200, NULL, "", 0, NULL, NULL);
	}
	protobuf_c_message_free_unpacked(rep, NULL);
	hb_params_fini(&params);
}

static void
access_log(const struct req *r)
{
	double ms = (double) (gw_mono_ms() - r->t0);

	gw_info("access", "%s %s %s%s%s %d %zu %.0fms key=%s %s",
	    r->ri->remote_addr, r->ri->request_method, r->ri->local_uri,
	    r->ri->query_string ? "?" : "",
	    r->ri->query_string ? r->ri->query_string : "", r->status, r->bytes,
	    ms, r->key8[0] ? r->key8 : "-", r->note ? r->note : "");
}

static int
handle(struct mg_connection *conn, void *arg)
{
	struct req  r = { 0 };
	const char *uri, *m;
	const char  msgs[] = "/relay/messages/";

	r.s = arg;
	r.conn = conn;
	r.ri = mg_get_request_info(conn);
	r.t0 = gw_mono_ms();
	r.tb = mg_get_thread_pointer(conn);
	if (r.tb == NULL) {
		mg_send_http_error(conn, 503, "out of memory");
		return 503;
	}
	uri = r.ri->local_uri;
	m = r.ri->request_method;
	if (strcmp(uri, "/relay/sms") == 0) {
		if (strcmp(m, "POST") == 0)
			route_send(&r);
		else
			respond_error(&r, 405, "method_not_allowed",
			    "%s /relay/sms: use POST", m);
	} else if (strcmp(uri, "/relay/messages") == 0 ||
	    strncmp(uri, msgs, sizeof(msgs) - 1) == 0) {
		const char *sid = uri[sizeof(msgs) - 2] == '/'
		    ? uri + sizeof(msgs) - 1
		    : NULL;
		if (strcmp(m, "GET") != 0)
			respond_error(&r, 405, "method_not_allowed",
			    "%s %s: use GET", m, uri);
		else if (sid == NULL)
			route_list(&r);
		else if (sid[0] == '\0' || strchr(sid, '/') != NULL)
			respond_error(
			    &r, 404, "not_found", "no such endpoint: %s", uri);
		else
			route_get(&r, sid);
	} else if (strcmp(uri, "/relay/twilio/status") == 0 ||
	    strcmp(uri, "/relay/twilio/inbound") == 0) {
		if (strcmp(m, "POST") == 0)
			route_twilio(&r, uri[14] == 'i');
		else
			respond_error(&r, 405, "method_not_allowed",
			    "%s %s: use POST", m, uri);
	} else if (strcmp(uri, "/healthz") == 0 ||
	    strcmp(uri, "/openapi.json") == 0) {
		if (strcmp(m, "GET") != 0)
			respond_error(&r, 405, "method_not_allowed",
			    "%s %s: use GET", m, uri);
		else if (uri[1] == 'h')
			route_health(&r);
		else
			respond(&r, 200, hb_openapi_json, hb_openapi_json_len,
			    NULL, NULL);
	} else {
		respond_error(
		    &r, 404, "not_found", "no such endpoint: %s", uri);
	}
	access_log(&r);
	return r.status;
}

/* on_begin_request takes every request before civetweb looks for a
 * handler or a file (it would stat one per request). */
static int
on_begin_request(struct mg_connection *conn)
{
	return handle(conn, mg_get_request_info(conn)->user_data);
}

/* civetweb's own errors (malformed requests, headers too large) in our
 * JSON shape. */
static int
on_http_error(struct mg_connection *conn, int status, const char *errmsg)
{
	char    body[512];
	json_t *doc;
	size_t  n;

	doc = json_pack("{s:{s:s,s:s}}", "error", "code",
	    status == 413       ? "too_large"
	        : status == 404 ? "not_found"
	        : status >= 500 ? "internal"
	                        : "invalid_argument",
	    "message", errmsg != NULL ? errmsg : "bad request");
	if (doc == NULL)
		return 1;
	n = json_dumpb(doc, body, sizeof(body) - 1, JSON_COMPACT);
	json_decref(doc);
	if (n == 0 || n >= sizeof(body))
		return 1;
	mg_printf(conn,
	    "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n",
	    status, mg_get_response_code_text(conn, status), n);
	mg_write(conn, body, n);
	gw_info("access", "- - - %d %zu civetweb: %s", status, n,
	    errmsg != NULL ? errmsg : "");
	return 0;
}

static void *
on_init_thread(const struct mg_context *ctx, int type)
{
	(void) ctx;
	return type == 1 ? malloc(sizeof(struct tbuf)) : NULL;
}

static void
on_exit_thread(const struct mg_context *ctx, int type, void *p)
{
	(void) ctx;
	(void) type;
	free(p);
}

static int
on_log_message(const struct mg_connection *conn, const char *message)
{
	(void) conn;
	gw_warn("civetweb", "%s", message);
	return 1;
}

/* listen_host names this server as "host:port" from the first listening
 * address ("127.0.0.1:0", "[::1]:8080", "8080s") and the port bound, for
 * webhook URLs of requests without a Host header. */
static void
listen_host(const char *listen, int port, char *buf, size_t len)
{
	size_t      n = strcspn(listen, ",");
	const char *colon = NULL;

	for (const char *p = listen; p < listen + n; p++)
		if (*p == ':' || *p == ']')
			colon = *p == ':' ? p : NULL;
	if (colon == NULL || colon == listen)
		snprintf(buf, len, "localhost:%d", port);
	else
		snprintf(
		    buf, len, "%.*s:%d", (int) (colon - listen), listen, port);
}

int
hb_server_start(const struct hb_config *cfg, struct hb_server **out)
{
	struct mg_callbacks   cb = { 0 };
	struct mg_server_port ports[4];
	struct hb_server     *s;
	char                  threads[16], queue[16];
	const char           *opts[] = {
		          "listening_ports",
		          cfg->listen,
		          "num_threads",
		          threads,
		          "connection_queue",
		          queue,
		          "listen_backlog",
		          "1024",
		          "enable_keep_alive",
		          "yes",
		          "keep_alive_timeout_ms",
		          "60000",
		          "request_timeout_ms",
		          "30000",
		          "tcp_nodelay",
		          "1",
		          NULL,
	};
	char err[160];
	int  rc, n;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return GW_ENOMEM;
	if ((rc = hb_urlcfg_init(&s->url, cfg->public_url, cfg->trusted,
	         cfg->hops, NULL, err, sizeof(err))) != GW_OK) {
		gw_error("http", "%s", err);
		free(s);
		return rc;
	}
	if ((rc = rpc_client_open(cfg->rpc_url, &s->rpc)) != GW_OK ||
	    (rc = rpc_client_open(cfg->rpc_url, &s->health)) != GW_OK) {
		gw_error("http", "cannot use RPC URL %s: %s", cfg->rpc_url,
		    gw_strerror(rc));
		goto fail;
	}
	if (cfg->rpc_timeout_ms > 0)
		rpc_client_set_timeout(s->rpc, cfg->rpc_timeout_ms);
	if ((rc = hb_sendq_new(s->rpc, 0, &s->sendq)) != GW_OK)
		goto fail;
	rpc_client_set_timeout(s->health, HEALTH_TIMEOUT);
	snprintf(threads, sizeof(threads), "%d", cfg->threads);
	snprintf(queue, sizeof(queue), "%d", cfg->threads * 4);
	cb.begin_request = on_begin_request;
	cb.http_error = on_http_error;
	cb.log_message = on_log_message;
	cb.init_thread = on_init_thread;
	cb.exit_thread = on_exit_thread;
	s->mg = mg_start(&cb, s, opts);
	if (s->mg == NULL) {
		gw_error("http", "cannot listen on %s", cfg->listen);
		rc = GW_EINVAL;
		goto fail;
	}
	n = mg_get_server_ports(s->mg, 4, ports);
	s->port = n > 0 ? ports[0].port : 0;
	/* the port bound is known only now that workers may be running:
	 * they read url only once url_ready says it is complete */
	listen_host(cfg->listen, s->port, s->url.fallback_host,
	    sizeof(s->url.fallback_host));
	atomic_store_explicit(&s->url_ready, true, memory_order_release);
	*out = s;
	return GW_OK;
fail:
	hb_sendq_free(s->sendq);
	rpc_client_close(s->health);
	rpc_client_close(s->rpc);
	free(s);
	return rc;
}

int
hb_server_port(const struct hb_server *s)
{
	return s->port;
}

void
hb_server_stop(struct hb_server *s)
{
	if (s == NULL)
		return;
	mg_stop(s->mg);
	hb_sendq_free(s->sendq);
	rpc_client_close(s->health);
	rpc_client_close(s->rpc);
	free(s);
}
