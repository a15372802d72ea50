/*
 * gw/router.h - routing rules compiled once, matched with bounded cost.
 *
 * The router keeps every enabled rule compiled (PCRE2, JIT when
 * available), ordered by priority (higher first) then id (creation order).
 * It reloads from the store when its generation changes: writers of routes
 * call gw_router_invalidate() after their commit, so an edit applies to
 * the next message without a restart.
 */
#ifndef GW_ROUTER_H
#define GW_ROUTER_H

#include <stddef.h>
#include <stdint.h>

struct gw_router;
struct gw_store;

#define GW_PATTERN_MAX 512

int  gw_router_new(struct gw_store *st, struct gw_router **out);
void gw_router_free(struct gw_router *r);
void gw_router_invalidate(struct gw_router *r);

/* gw_pattern_check compiles pattern to validate it. On GW_EINVAL, err
 * holds a message naming the offset of the problem. */
int gw_pattern_check(const char *pattern, char *err, size_t errlen);

struct gw_route_match {
	uint64_t route_id;
	uint64_t account_id;
	int64_t  price_micros;
};

/* gw_router_match finds the first enabled rule matching number (E.164).
 * GW_ENOROUTE if none; GW_ESTORE if the rules could not be loaded. */
int gw_router_match(struct gw_router *r, const char *number,
    struct gw_route_match *out);

#endif
