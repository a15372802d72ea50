/*
 * gw/log.h - one line per event on stderr.
 *
 * Lines read "2026-11-21T14:51:46.123Z INFO  store: opened ./var (map 64 MiB)".
 * Thread-safe. Never pass a secret: callers log ids and prefixes only.
 */
#ifndef GW_LOG_H
#define GW_LOG_H

enum gw_log_level {
	GW_LOG_DEBUG,
	GW_LOG_INFO,
	GW_LOG_WARN,
	GW_LOG_ERROR,
};

/* gw_log_set_level drops events below level (default GW_LOG_INFO;
 * RELAY_LOG_LEVEL=debug|info|warn|error sets it at gw_log_init()). */
void gw_log_set_level(enum gw_log_level level);
void gw_log_init(void);

void gw_log(enum gw_log_level level, const char *component, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

#define gw_debug(c, ...) gw_log(GW_LOG_DEBUG, c, __VA_ARGS__)
#define gw_info(c, ...)  gw_log(GW_LOG_INFO, c, __VA_ARGS__)
#define gw_warn(c, ...)  gw_log(GW_LOG_WARN, c, __VA_ARGS__)
#define gw_error(c, ...) gw_log(GW_LOG_ERROR, c, __VA_ARGS__)

#endif
