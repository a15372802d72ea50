/* valid.c - small input checks shared by core's services. */
#include <string.h>

#include "valid_impl.h"

bool
gw_text_ok(const char *s, size_t max)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++)
		if ((unsigned char) s[n] < 0x20 || s[n] == 0x7f)
			return false;
	return n <= max;
}

bool
gw_url_ok(const char *s)
{
	if (s[0] == '\0')
		return true;
	if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
		return false;
	if (strpbrk(s, " \"<>\\^`{|}") != NULL)
		return false;
	return gw_text_ok(s, GW_URL_MAX_LEN) && strlen(s) > 8;
}
