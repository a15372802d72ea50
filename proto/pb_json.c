/* pb_json.c - descriptor-driven protobuf-c to JSON, with Relay's money and
 * time conventions (see pb/json.h). */
#include "pb/json.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gw/money.h"

static int
has_suffix(const char *s, const char *suffix, size_t *stem)
{
	size_t n = strlen(s), m = strlen(suffix);

	if (n <= m || strcmp(s + n - m, suffix) != 0)
		return 0;
	*stem = n - m;
	return 1;
}

const char *
pb_enum_label(const ProtobufCEnumDescriptor *d, int value, char *buf,
    size_t len)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(d,
	    value);
	const char               *s;
	size_t                    i;

	if (v == NULL || len == 0)
		return "unknown";
	s = strchr(v->name, '_');
	s = s != NULL ? s + 1 : v->name;
	for (i = 0; s[i] != '\0' && i + 1 < len; i++)
		buf[i] = (char) tolower((unsigned char) s[i]);
	buf[i] = '\0';
	return buf;
}

static json_t *
time_json(int64_t ms)
{
	char      buf[64];
	struct tm tm;
	time_t    t = (time_t) (ms / 1000);

	if (ms == 0)
		return json_null();
	gmtime_r(&t, &tm);
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, (int) (ms % 1000));
	return json_string(buf);
}

/* value_json converts one scalar or message at p; *key may be renamed. */
static json_t *
value_json(const ProtobufCFieldDescriptor *f, const void *p, char *key,
    size_t keylen)
{
	char   buf[GW_MONEY_STRLEN];
	size_t stem;

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return json_integer(*(const int32_t *) p);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return json_integer(*(const uint32_t *) p);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64: {
		int64_t v = *(const int64_t *) p;

		if (has_suffix(f->name, "_micros", &stem)) {
			snprintf(key, keylen, "%.*s", (int) stem, f->name);
			return json_string(gw_money_format(v, buf));
		}
		if (has_suffix(f->name, "_unix_ms", &stem)) {
			snprintf(key, keylen, "%.*s_at", (int) stem, f->name);
			return time_json(v);
		}
		return json_integer(v);
	}
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return json_integer((json_int_t) * (const uint64_t *) p);
	case PROTOBUF_C_TYPE_FLOAT:
		return json_real(*(const float *) p);
	case PROTOBUF_C_TYPE_DOUBLE:
		return json_real(*(const double *) p);
	case PROTOBUF_C_TYPE_BOOL:
		return json_boolean(*(const protobuf_c_boolean *) p);
	case PROTOBUF_C_TYPE_ENUM:
		return json_string(pb_enum_label(f->descriptor,
		    *(const int *) p, buf, sizeof(buf)));
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *) p;

		return json_string(s != NULL ? s : "");
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *m = *(ProtobufCMessage *const *) p;

		return m != NULL ? pb_to_json(m) : json_null();
	}
	case PROTOBUF_C_TYPE_BYTES:
	default:
		return NULL;
	}
}

static size_t
type_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	default:
		return 4;
	}
}

json_t *
pb_to_json(const ProtobufCMessage *msg)
{
	const ProtobufCMessageDescriptor *d   = msg->descriptor;
	json_t                           *obj = json_object();

	if (obj == NULL)
		return NULL;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f    = &d->fields[i];
		const char                     *base = (const char *) msg;
		char                            key[64];
		json_t                         *v;

		if (f->type == PROTOBUF_C_TYPE_BYTES)
			continue;
		snprintf(key, sizeof(key), "%s", f->name);
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			uint32_t which = *(const uint32_t *) (base +
			    f->quantifier_offset);

			if (which != f->id)
				continue;
		}
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t      n   = *(const size_t *) (base +
                            f->quantifier_offset);
			const char *arr = *(char *const *) (base + f->offset);

			v = json_array();
			for (size_t j = 0; v != NULL && j < n; j++) {
				json_t *e = value_json(f,
				    arr + j * type_size(f->type), key,
				    sizeof(key));

				if (e != NULL)
					json_array_append_new(v, e);
			}
		} else {
			v = value_json(f, base + f->offset, key, sizeof(key));
		}
		if (v != NULL)
			json_object_set_new(obj, key, v);
	}
	return obj;
}
