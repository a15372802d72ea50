/*
 * codec.c - the POST /relay/sms body (JSON or form) into a SendRequest.
 *
 * jansson parses JSON (and guarantees its strings are UTF-8); civetweb's
 * mg_get_var2 finds and percent-decodes form fields. What is left to us is
 * the table of fields, their types and ceilings, and naming the field in
 * every error, so that a client reading a 400 knows what to fix.
 */
#include "hb/codec.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <civetweb.h>

#include "gw/err.h"
#include "gw/sms.h"

enum field_kind {
	FK_NUMBER, /* To, From: UTF-8 here, E.164 checked by relayd */
	FK_BODY,   /* Body: UTF-8 without NUL, GW_SMS_BODY_MAX bytes */
	FK_URL,    /* StatusCallback: printable ASCII */
};

struct field {
	const char     *name;
	size_t          off; /* of the buffer in struct hb_send */
	size_t          cap; /* bytes, without the terminator */
	enum field_kind kind;
	bool            required;
};

static const struct field fields[] = {
	{ "To", offsetof(struct hb_send, to), HB_NUMBER_MAX, FK_NUMBER, true },
	{ "From", offsetof(struct hb_send, from), HB_NUMBER_MAX, FK_NUMBER,
	    false },
	{ "Body", offsetof(struct hb_send, body), GW_SMS_BODY_MAX, FK_BODY,
	    true },
	{ "StatusCallback", offsetof(struct hb_send, status_callback),
	    HB_CALLBACK_MAX, FK_URL, false },
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static int __attribute__((format(printf, 4, 5)))
fail(int rc, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

enum hb_ctype
hb_ctype_parse(const char *value)
{
	static const struct {
		const char   *name;
		enum hb_ctype ct;
	} types[] = {
		{ "application/json", HB_CT_JSON },
		{ "application/x-www-form-urlencoded", HB_CT_FORM },
	};
	const char *p;
	size_t      n;

	if (value == NULL || value[0] == '\0')
		return HB_CT_NONE;
	while (*value == ' ' || *value == '\t')
		value++;
	n = strcspn(value, "; \t");
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (strlen(types[i].name) != n ||
		    strncasecmp(value, types[i].name, n) != 0)
			continue;
		/* only UTF-8 text is accepted: a charset says otherwise */
		p = strcasestr(value + n, "charset=");
		if (p != NULL) {
			p += 8;
			if (*p == '"')
				p++;
			if (strncasecmp(p, "utf-8", 5) != 0 &&
			    strncasecmp(p, "utf8", 4) != 0)
				return HB_CT_OTHER;
		}
		return types[i].ct;
	}
	return HB_CT_OTHER;
}

/* check validates the n bytes just copied into dst for field f. */
static int
check(
    const struct field *f, const char *dst, size_t n, char *err, size_t errlen)
{
	struct gw_sms_info info;

	if (n == 0)
		return f->required
		    ? fail(GW_EINVAL, err, errlen, "%s: required", f->name)
		    : GW_OK;
	if (f->kind == FK_URL) {
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char) dst[i];
			if (c <= 0x20 || c >= 0x7f)
				return fail(GW_EINVAL, err, errlen,
				    "%s: an http(s) URL of printable ASCII",
				    f->name);
		}
		return GW_OK;
	}
	/* gw_sms_info is the strict UTF-8 check (it also refuses NUL) */
	if (gw_sms_info(dst, n, &info) != GW_OK)
		return fail(GW_EINVAL, err, errlen,
		    "%s: not valid UTF-8 (or contains NUL)", f->name);
	return GW_OK;
}

/* json_field_near names the field whose value holds byte pos of the
 * document, for jansson errors that only give a position. */
static const char *
json_field_near(const char *data, size_t len, size_t pos)
{
	const char *best = NULL;
	size_t      best_at = 0;
	char        quoted[24];

	if (pos > len)
		pos = len;
	for (size_t i = 0; i < NFIELDS; i++) {
		size_t q = (size_t) snprintf(
		    quoted, sizeof(quoted), "\"%s\"", fields[i].name);
		for (size_t at = 0; at + q <= pos; at++) {
			if (memcmp(data + at, quoted, q) == 0 &&
			    (best == NULL || at > best_at)) {
				best = fields[i].name;
				best_at = at;
			}
		}
	}
	return best;
}

static int
decode_json(
    const char *data, size_t len, struct hb_send *out, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t      *doc, *v;
	const char  *name;
	int          rc = GW_OK;

	doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL) {
		if (strstr(jerr.text, "decode byte") != NULL ||
		    strstr(jerr.text, "UTF-8") != NULL) {
			name =
			    json_field_near(data, len, (size_t) jerr.position);
			snprintf(err, errlen, "%s: not valid UTF-8",
			    name != NULL ? name : "body");
		} else {
			snprintf(err, errlen,
			    "body: invalid JSON: %s (at byte %d)", jerr.text,
			    jerr.position);
		}
		return GW_EINVAL;
	}
	if (!json_is_object(doc)) {
		snprintf(err, errlen, "body: a JSON object expected");
		json_decref(doc);
		return GW_EINVAL;
	}
	for (size_t i = 0; i < NFIELDS && rc == GW_OK; i++) {
		const struct field *f = &fields[i];
		char               *dst = (char *) out + f->off;
		size_t              n = 0;

		v = json_object_get(doc, f->name);
		if (v != NULL && !json_is_null(v)) {
			if (!json_is_string(v)) {
				rc = fail(GW_EINVAL, err, errlen,
				    "%s: must be a string", f->name);
				break;
			}
			n = json_string_length(v);
			if (n > f->cap) {
				rc = fail(GW_ETOOBIG, err, errlen,
				    "%s: longer than %zu bytes", f->name,
				    f->cap);
				break;
			}
			memcpy(dst, json_string_value(v), n);
		}
		dst[n] = '\0';
		rc = check(f, dst, n, err, errlen);
	}
	json_decref(doc);
	return rc;
}

static int
decode_form(
    const char *data, size_t len, struct hb_send *out, char *err, size_t errlen)
{
	for (size_t i = 0; i < NFIELDS; i++) {
		const struct field *f = &fields[i];
		char               *dst = (char *) out + f->off;
		int                 n;
		int                 rc;

		n = mg_get_var2(data, len, f->name, dst, f->cap + 1, 0);
		if (n == -2)
			return fail(GW_ETOOBIG, err, errlen,
			    "%s: longer than %zu bytes", f->name, f->cap);
		if (n < 0) /* absent */
			n = 0;
		dst[n] = '\0';
		/* a decoded %00 would hide the rest of the value */
		if (memchr(dst, '\0', (size_t) n) != NULL)
			return fail(GW_EINVAL, err, errlen, "%s: contains NUL",
			    f->name);
		if ((rc = check(f, dst, (size_t) n, err, errlen)) != GW_OK)
			return rc;
	}
	return GW_OK;
}

int
hb_send_decode(enum hb_ctype ct, const char *data, size_t len,
    struct hb_send *out, char *err, size_t errlen)
{
	if (errlen > 0)
		err[0] = '\0';
	if (data == NULL)
		len = 0;
	switch (ct) {
	case HB_CT_JSON:
		if (len == 0) {
			snprintf(err, errlen, "body: a JSON object expected");
			return GW_EINVAL;
		}
		return decode_json(data, len, out, err, errlen);
	case HB_CT_FORM:
		return decode_form(
		    data != NULL ? data : "", len, out, err, errlen);
	default:
		snprintf(err, errlen,
		    "Content-Type: application/json or "
		    "application/x-www-form-urlencoded");
		return GW_EINVAL;
	}
}

void
hb_send_request(
    const struct hb_send *s, const char *idem_key, Relay__V1__SendRequest *req)
{
	relay__v1__send_request__init(req);
	/* protobuf-c's string fields are char *, never written through */
	req->to = (char *) s->to;
	req->from = (char *) s->from;
	req->body = (char *) s->body;
	req->status_callback = (char *) s->status_callback;
	if (idem_key != NULL)
		req->idempotency_key = (char *) idem_key;
}

/* ---- webhook form bodies ---------------------------------------------- */

/* decode_piece decodes n bytes at src into dst (room for n + 1) and
 * returns the decoded length. */
static size_t
decode_piece(const char *src, size_t n, uint8_t *dst)
{
	int got;

	if (n == 0)
		return 0;
	/* decoding never grows: n + 1 bytes always hold the result and its
	 * terminator; the body cap keeps n far below INT_MAX */
	got = mg_url_decode(src, (int) n, (char *) dst, (int) n + 1, 1);
	return got > 0 ? (size_t) got : 0;
}

int
hb_params_decode(const char *data, size_t len, size_t max, struct hb_params *p)
{
	const char *end = data + len, *seg;
	size_t      n = 0, used = 0;

	memset(p, 0, sizeof(*p));
	for (seg = data; seg < end;) {
		const char *amp = memchr(seg, '&', (size_t) (end - seg));
		const char *stop = amp != NULL ? amp : end;

		if (stop > seg)
			n++;
		seg = stop + 1;
	}
	if (n > max)
		return GW_ETOOBIG;
	if (n == 0)
		return GW_OK;
	p->ptrs = calloc(n, sizeof(*p->ptrs));
	p->items = calloc(n, sizeof(*p->items));
	p->bytes = malloc(len + 1);
	if (p->ptrs == NULL || p->items == NULL || p->bytes == NULL) {
		hb_params_fini(p);
		return GW_ENOMEM;
	}
	for (seg = data; seg < end;) {
		const char *amp = memchr(seg, '&', (size_t) (end - seg));
		const char *stop = amp != NULL ? amp : end;
		const char *eq = memchr(seg, '=', (size_t) (stop - seg));
		const char *kend = eq != NULL ? eq : stop;
		const char *vbeg = eq != NULL ? eq + 1 : stop;

		if (stop > seg) {
			Relay__V1__FormParam *fp = &p->items[p->n];

			relay__v1__form_param__init(fp);
			fp->key.data = p->bytes + used;
			fp->key.len = decode_piece(
			    seg, (size_t) (kend - seg), p->bytes + used);
			used += fp->key.len;
			fp->value.data = p->bytes + used;
			fp->value.len = decode_piece(
			    vbeg, (size_t) (stop - vbeg), p->bytes + used);
			used += fp->value.len;
			p->ptrs[p->n++] = fp;
		}
		seg = stop + 1;
	}
	return GW_OK;
}

void
hb_params_fini(struct hb_params *p)
{
	free(p->ptrs);
	free(p->items);
	free(p->bytes);
	memset(p, 0, sizeof(*p));
}
