/* hb/openapi.h - the OpenAPI 3 document served at GET /openapi.json,
 * compiled in from http-bridge/openapi.json at build time. */
#ifndef HB_OPENAPI_H
#define HB_OPENAPI_H

#include <stddef.h>

extern const char   hb_openapi_json[];
extern const size_t hb_openapi_json_len;

#endif
