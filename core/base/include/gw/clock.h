/* gw/clock.h - wall and monotonic time in milliseconds. */
#ifndef GW_CLOCK_H
#define GW_CLOCK_H

#include <stdint.h>

/* gw_now_ms returns Unix time in milliseconds (CLOCK_REALTIME). */
int64_t gw_now_ms(void);

/* gw_mono_ms returns a monotonic clock in milliseconds. */
int64_t gw_mono_ms(void);

#endif
