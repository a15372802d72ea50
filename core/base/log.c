/*
 * log.c - line-at-a-time logging to stderr.
 *
 * Each event is formatted into one buffer and written with one write(2),
 * so lines from concurrent threads never interleave.
 */
#include "gw/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static atomic_int min_level = GW_LOG_INFO;

static const char *const names[] = { "DEBUG", "INFO ", "WARN ", "ERROR" };

void
gw_log_set_level(enum gw_log_level level)
{
	atomic_store(&min_level, level);
}

void
gw_log_init(void)
{
	const char *v = getenv("RELAY_LOG_LEVEL");

	if (v == NULL)
		return;
	for (int i = GW_LOG_DEBUG; i <= GW_LOG_ERROR; i++) {
		char name[8];

		snprintf(name, sizeof(name), "%s", names[i]);
		name[strcspn(name, " ")] = '\0';
		if (strcasecmp(v, name) == 0)
			gw_log_set_level(i);
	}
}

void
gw_log(enum gw_log_level level, const char *component, const char *fmt, ...)
{
	char            line[1024];
	struct timespec ts;
	struct tm       tm;
	va_list         ap;
	int             n, m;

	if ((int) level < atomic_load(&min_level))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line),
	    "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    ts.tv_nsec / 1000000, names[level], component);
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t) n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	if (n > (int) sizeof(line) - 2)
		n = (int) sizeof(line) - 2;
	/* one event, one line: fold any newline a caller let through */
	for (int i = 0; i < n; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	line[n++] = '\n';
	(void) !write(STDERR_FILENO, line, (size_t) n);
}
