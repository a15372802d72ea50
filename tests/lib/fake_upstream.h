/*
 * fake_upstream.h - a provider stand-in for tests: an HTTP/1.1 server on
 * 127.0.0.1, port 0, that records every request and answers as told.
 *
 * Answers look like Twilio's: 201 {"sid":"SM…","status":"queued"}, 400
 * {"code":21211,"message":…}, 429 with Retry-After: 1, 500, or no answer
 * at all (hang: the connection stays open until the client gives up).
 * Keep-alive is honoured, so tests can see connection reuse.
 */
#ifndef TH_FAKE_UPSTREAM_H
#define TH_FAKE_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>

enum th_answer {
	TH_ANSWER_201,
	TH_ANSWER_400,
	TH_ANSWER_429,
	TH_ANSWER_500,
	TH_ANSWER_HANG,
};

struct th_request {
	char   method[8];
	char   path[256];
	char   authorization[256];
	char   content_type[128];
	char   relay_signature[160]; /* X-Relay-Signature (forwarded events) */
	char   relay_event_id[64];   /* X-Relay-Event-Id */
	char   body[4096]; /* NUL-terminated, truncated beyond */
	size_t body_len;   /* as received, even when truncated */
	size_t conn;       /* which connection (0, 1, ...) carried it */
};

struct th_upstream;

/* th_upstream_start listens on 127.0.0.1:0; answers 201 until told. */
struct th_upstream *th_upstream_start(void);

/* th_upstream_url returns "http://127.0.0.1:PORT" (lives as long as u). */
const char *th_upstream_url(const struct th_upstream *u);

/* th_upstream_script answers the next n requests with first[0..n-1] and
 * every later one with then. */
void th_upstream_script(struct th_upstream *u, const enum th_answer *first,
    size_t n, enum th_answer then);

/* th_upstream_count returns how many requests arrived so far. */
size_t th_upstream_count(struct th_upstream *u);

/* th_upstream_connections returns how many connections were accepted. */
size_t th_upstream_connections(struct th_upstream *u);

/* th_upstream_request copies the i-th request (0-based); false if none. */
bool th_upstream_request(
    struct th_upstream *u, size_t i, struct th_request *out);

/* th_upstream_wait waits up to ms for at least n requests. */
bool th_upstream_wait(struct th_upstream *u, size_t n, int ms);

/* th_upstream_stop closes every connection and frees u. Accepts NULL. */
void th_upstream_stop(struct th_upstream *u);

#endif
