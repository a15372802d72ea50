/*
 * e164_fuzz.c - gw_e164_normalize on arbitrary bytes.
 *
 * Beyond memory safety, it checks the contract: a normalised number is
 * '+' and 8-15 digits, is accepted by gw_e164_valid, normalises to
 * itself, and differs from the input only by the '+' added to the bare
 * North American form.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gw/e164.h"
#include "gw/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *) data;
	char        out[GW_E164_MAX + 1];
	char        again[GW_E164_MAX + 1];
	char        term[GW_E164_MAX + 2];
	size_t      n, i;
	int         rc;

	rc = gw_e164_normalize(size ? in : NULL, size, out);

	/* gw_e164_valid on the input as a C string agrees with normalize. */
	if (size <= GW_E164_MAX && memchr(in, '\0', size) == NULL) {
		memcpy(term, in, size);
		term[size] = '\0';
		if (gw_e164_valid(term) !=
		    (rc == GW_OK && size > 0 && in[0] == '+'))
			abort();
	}

	if (rc != GW_OK) {
		if (rc != GW_EINVAL)
			abort();
		return 0;
	}

	n = strlen(out);
	if (n < 9 || n > GW_E164_MAX || out[0] != '+' || out[1] == '0')
		abort();
	for (i = 1; i < n; i++) {
		if (out[i] < '0' || out[i] > '9')
			abort();
	}
	if (out[1] == '1' && (n != 12 || out[2] < '2' || out[5] < '2'))
		abort();
	if (in[0] == '+') {
		if (n != size || memcmp(out, in, size) != 0)
			abort();
	} else if (size != 11 || memcmp(out + 1, in, size) != 0) {
		abort();
	}
	if (!gw_e164_valid(out))
		abort();
	if (gw_e164_normalize(out, n, again) != GW_OK ||
	    strcmp(again, out) != 0)
		abort();
	return 0;
}
