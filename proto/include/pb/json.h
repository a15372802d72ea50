/*
 * pb/json.h - protobuf-c messages as JSON documents, driven by descriptors.
 *
 * Conventions, so that every tool shows the same shapes:
 *   - an int64 field named x_micros is shown as "x": "12.50" (money as a
 *     decimal string);
 *   - an int64 field named x_unix_ms is shown as "x_at": an RFC 3339 UTC
 *     time, or null when 0;
 *   - enum values drop their type prefix and are lower case
 *     (CLIENT_ACTIVE -> "active");
 *   - bytes fields are never shown (they hold hashes and sealed secrets);
 *   - unset oneof members are omitted; uint64 ids are JSON integers.
 */
#ifndef PB_JSON_H
#define PB_JSON_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

/* pb_to_json returns a new JSON object for msg (owned; json_decref it),
 * or NULL on allocation failure. */
json_t *pb_to_json(const ProtobufCMessage *msg);

/* pb_enum_label writes the JSON label of an enum value ("active") into
 * buf; returns buf, or "unknown". */
const char *pb_enum_label(const ProtobufCEnumDescriptor *d, int value,
    char *buf, size_t len);

#endif
