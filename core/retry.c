/* retry.c - backoff and error classification for core's durable HTTP
 * queues (see retry_impl.h). */
#include <sodium.h>

#include "retry_impl.h"

int64_t
gw_backoff_ms(
    int64_t base_ms, int64_t max_ms, uint32_t attempts, int64_t floor_ms)
{
	int64_t win = base_ms;

	for (uint32_t i = 1; i < attempts && win < max_ms; i++)
		win *= 2;
	if (win > max_ms)
		win = max_ms;
	win = win / 2 + (int64_t) randombytes_uniform((uint32_t) (win / 2 + 1));
	return win > floor_ms ? win : floor_ms;
}

bool
gw_curl_transient(CURLcode c)
{
	switch (c) {
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_NOT_BUILT_IN:
		return false;
	default:
		return true; /* timeouts, refused, resets, DNS, TLS... */
	}
}
