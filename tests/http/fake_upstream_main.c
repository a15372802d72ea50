/*
 * fake_upstream_main.c - tests/lib/fake_upstream as a process, for tests
 * that drive real relayd and relay-http processes from a script.
 *
 * Prints "url http://127.0.0.1:PORT" on stdout, then answers one line per
 * command read from stdin:
 *   script A B ... then Z   answer the next requests A, B, ..., then Z
 *                           (each 201, 400, 429, 500 or hang)  -> "ok"
 *   count                   requests so far                   -> "N"
 *   dump [FROM]             requests FROM.. (default 0), one JSON object a
 *                           line {method,path,authorization,content_type,
 *                           body,conn}, then "end"
 *   quit                    stop
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_upstream.h"

static int
parse_answer(const char *s, enum th_answer *out)
{
	static const struct {
		const char    *name;
		enum th_answer a;
	} names[] = {
		{ "201", TH_ANSWER_201 },
		{ "400", TH_ANSWER_400 },
		{ "429", TH_ANSWER_429 },
		{ "500", TH_ANSWER_500 },
		{ "hang", TH_ANSWER_HANG },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i].name) == 0) {
			*out = names[i].a;
			return 0;
		}
	}
	return -1;
}

static void
cmd_script(struct th_upstream *u, char *args)
{
	enum th_answer first[64], then = TH_ANSWER_201;
	size_t         n = 0;
	int            saw_then = 0;

	for (char *t = strtok(args, " \t"); t != NULL;
	     t = strtok(NULL, " \t")) {
		if (strcmp(t, "then") == 0) {
			saw_then = 1;
			continue;
		}
		enum th_answer a;
		if (parse_answer(t, &a) != 0) {
			printf("error: unknown answer %s\n", t);
			return;
		}
		if (saw_then)
			then = a;
		else if (n < 64)
			first[n++] = a;
	}
	th_upstream_script(u, first, n, then);
	printf("ok\n");
}

static void
cmd_dump(struct th_upstream *u, size_t from)
{
	struct th_request r;

	for (size_t i = from; th_upstream_request(u, i, &r); i++) {
		json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s%,s:i}", "method",
		    r.method, "path", r.path, "authorization", r.authorization,
		    "content_type", r.content_type, "body", r.body,
		    strlen(r.body), "conn", (json_int_t) r.conn);
		char   *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
		printf("%s\n", s != NULL ? s : "{}");
		free(s);
		json_decref(o);
	}
	printf("end\n");
}

int
main(void)
{
	struct th_upstream *u = th_upstream_start();
	char                line[1024];

	if (u == NULL) {
		fprintf(stderr, "fake-upstream: cannot start\n");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("url %s\n", th_upstream_url(u));
	while (fgets(line, sizeof(line), stdin) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (strncmp(line, "script", 6) == 0)
			cmd_script(u, line + 6);
		else if (strcmp(line, "count") == 0)
			printf("%zu\n", th_upstream_count(u));
		else if (strncmp(line, "dump", 4) == 0)
			cmd_dump(u, (size_t) strtoul(line + 4, NULL, 10));
		else if (strcmp(line, "quit") == 0)
			break;
		else
			printf("error: unknown command\n");
	}
	th_upstream_stop(u);
	return 0;
}
