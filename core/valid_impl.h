/* valid_impl.h - input checks shared by core's services. */
#ifndef GW_VALID_IMPL_H
#define GW_VALID_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#define GW_URL_MAX_LEN 2048

/* gw_text_ok accepts NUL-terminated text of at most max bytes without
 * control characters. */
bool gw_text_ok(const char *s, size_t max);

/* gw_url_ok accepts "" or an http(s) URL of at most GW_URL_MAX_LEN bytes
 * without spaces, control characters or characters URLs never carry
 * unescaped. */
bool gw_url_ok(const char *s);

#endif
