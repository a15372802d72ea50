/* replay.c - runs a fuzz target over corpus files without libFuzzer, so
 * ordinary (and sanitizer) builds replay every corpus as a test. Reads
 * files only; never writes to the corpus.
 *
 * usage: NAME_replay DIR_OR_FILE... */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
run_file(const char *path)
{
	FILE    *f = fopen(path, "rb");
	uint8_t *buf;
	long     n;

	if (f == NULL)
		return -1;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(n > 0 ? (size_t) n : 1);
	if (buf == NULL || fread(buf, 1, (size_t) n, f) != (size_t) n) {
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t) n);
	free(buf);
	return 0;
}

int
main(int argc, char **argv)
{
	int files = 0;

	for (int i = 1; i < argc; i++) {
		struct stat    sb;
		DIR           *d;
		struct dirent *e;

		if (stat(argv[i], &sb) != 0) {
			fprintf(stderr, "%s: not found\n", argv[i]);
			return 1;
		}
		if (!S_ISDIR(sb.st_mode)) {
			files += run_file(argv[i]) == 0;
			continue;
		}
		if ((d = opendir(argv[i])) == NULL)
			return 1;
		while ((e = readdir(d)) != NULL) {
			char path[4096];

			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
			if (run_file(path) != 0) {
				fprintf(stderr, "%s: unreadable\n", path);
				closedir(d);
				return 1;
			}
			files++;
		}
		closedir(d);
	}
	printf("replayed %d input(s)\n", files);
	return files > 0 ? 0 : 1;
}
