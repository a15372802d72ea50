/*
 * views_impl.h - replies that list stored records as their wire views.
 *
 * A list reply (ClientList, KeyList, MessageList, ...) has one repeated
 * message field; gw_views_fill fills it from records through a view
 * function, found through the reply's descriptor, so every list handler
 * shares one loop and one allocation.
 */
#ifndef GW_VIEWS_IMPL_H
#define GW_VIEWS_IMPL_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

/* gw_view_fn writes the wire view of a stored record into view; view's
 * strings may borrow from the record. */
typedef void (*gw_view_fn)(const void *record, void *view);

/* gw_views_fill sets out's first repeated message field to the views of
 * records[0..n), each view_size bytes, made by view. *mem receives the one
 * allocation holding them: free() it once out has been packed (after the
 * handler's done()); the records must outlive it too. Returns GW_OK or
 * GW_ENOMEM (out unchanged, *mem NULL). */
int gw_views_fill(ProtobufCMessage *out, void *const *records, size_t n,
    size_t view_size, gw_view_fn view, void **mem);

#endif
