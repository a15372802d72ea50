/*
 * fake_upstream.c - a small threaded HTTP/1.1 server for tests: one
 * thread accepts, one thread per connection parses requests
 * (Content-Length bodies only, which is what libcurl sends for a POST
 * with POSTFIELDS) and answers from the script.
 */
#include "fake_upstream.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 2048 /* over a test's lifetime: relayd restarts redial */
#define MAX_REQUESTS 4096
#define MAX_SCRIPT 64
#define BUF_MAX (64 * 1024)

struct conn {
	struct th_upstream *u;
	int                 fd;
	size_t              idx;
	pthread_t           thread;
};

struct th_upstream {
	int                lfd;
	char               url[64];
	pthread_t          acceptor;
	atomic_bool        stopping;
	pthread_mutex_t    mu;
	pthread_cond_t     cv;
	struct conn        conns[MAX_CONNS];
	size_t             n_conns;
	struct th_request *reqs;
	size_t             n_reqs;
	enum th_answer     script[MAX_SCRIPT];
	size_t             n_script, next_script;
	enum th_answer     then;
	unsigned           sid_seq;
};

static enum th_answer
next_answer(struct th_upstream *u)
{
	enum th_answer a = u->then;

	if (u->next_script < u->n_script)
		a = u->script[u->next_script++];
	return a;
}

static void
header_value(const char *hdrs, const char *name, char *out, size_t len)
{
	size_t      n = strlen(name);
	const char *p = hdrs;

	out[0] = '\0';
	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1, *e;

			while (*v == ' ')
				v++;
			e = strstr(v, "\r\n");
			snprintf(out, len, "%.*s", (int) (e ? e - v : 0), v);
			return;
		}
	}
}

static int
send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t) w;
	}
	return 0;
}

static int
answer(struct th_upstream *u, int fd, enum th_answer a)
{
	char        body[512], out[1024];
	const char *status, *extra = "";
	unsigned    seq;

	switch (a) {
	case TH_ANSWER_201:
		pthread_mutex_lock(&u->mu);
		seq = ++u->sid_seq;
		pthread_mutex_unlock(&u->mu);
		status = "201 Created";
		snprintf(body, sizeof(body),
		    "{\"sid\":\"SM%032x\",\"status\":\"queued\","
		    "\"num_segments\":\"1\",\"error_code\":null}",
		    seq);
		break;
	case TH_ANSWER_400:
		status = "400 Bad Request";
		snprintf(body, sizeof(body),
		    "{\"code\":21211,\"message\":\"The 'To' number is not a "
		    "valid phone number.\",\"more_info\":"
		    "\"https://www.twilio.com/docs/errors/21211\","
		    "\"status\":400}");
		break;
	case TH_ANSWER_429:
		status = "429 Too Many Requests";
		extra = "Retry-After: 1\r\n";
		snprintf(body, sizeof(body),
		    "{\"code\":20429,\"message\":\"Too Many Requests\","
		    "\"status\":429}");
		break;
	case TH_ANSWER_500:
		status = "500 Internal Server Error";
		snprintf(body, sizeof(body),
		    "{\"code\":20500,\"message\":\"Internal Server Error\","
		    "\"status\":500}");
		break;
	case TH_ANSWER_HANG:
	default:
		while (!atomic_load(&u->stopping)) {
			struct pollfd p = { .fd = fd, .events = POLLIN };

			/* the client hanging up ends the hang */
			if (poll(&p, 1, 20) > 0)
				return -1;
		}
		return -1;
	}
	snprintf(out, sizeof(out),
	    "HTTP/1.1 %s\r\nContent-Type: application/json\r\n%s"
	    "Content-Length: %zu\r\n\r\n%s",
	    status, extra, strlen(body), body);
	return send_all(fd, out, strlen(out));
}

static void *
conn_main(void *arg)
{
	struct conn        *c = arg;
	struct th_upstream *u = c->u;
	char               *buf = malloc(BUF_MAX + 1);
	size_t              have = 0;

	while (buf != NULL && !atomic_load(&u->stopping)) {
		char             *end, cl[32];
		size_t            hlen, blen;
		ssize_t           r;
		struct th_request req;
		enum th_answer    a;

		buf[have] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) == NULL ||
		    (header_value(buf, "Content-Length", cl, sizeof(cl)),
		        have <
		            (size_t) (end + 4 - buf) + strtoul(cl, NULL, 10))) {
			if (have == BUF_MAX)
				break;
			r = recv(c->fd, buf + have, BUF_MAX - have, 0);
			if (r <= 0)
				break;
			have += (size_t) r;
			continue;
		}
		hlen = (size_t) (end + 4 - buf);
		blen = strtoul(cl, NULL, 10);
		memset(&req, 0, sizeof(req));
		sscanf(buf, "%7s %255s", req.method, req.path);
		header_value(buf, "Authorization", req.authorization,
		    sizeof(req.authorization));
		header_value(buf, "Content-Type", req.content_type,
		    sizeof(req.content_type));
		header_value(buf, "X-Relay-Signature", req.relay_signature,
		    sizeof(req.relay_signature));
		header_value(buf, "X-Relay-Event-Id", req.relay_event_id,
		    sizeof(req.relay_event_id));
		req.body_len = blen;
		snprintf(
		    req.body, sizeof(req.body), "%.*s", (int) blen, buf + hlen);
		req.conn = c->idx;
		pthread_mutex_lock(&u->mu);
		if (u->n_reqs < MAX_REQUESTS)
			u->reqs[u->n_reqs++] = req;
		a = next_answer(u);
		pthread_cond_broadcast(&u->cv);
		pthread_mutex_unlock(&u->mu);
		memmove(buf, buf + hlen + blen, have - hlen - blen);
		have -= hlen + blen;
		if (answer(u, c->fd, a) != 0)
			break;
	}
	free(buf);
	shutdown(c->fd, SHUT_RDWR);
	return NULL;
}

static void *
accept_main(void *arg)
{
	struct th_upstream *u = arg;

	for (;;) {
		int fd = accept(u->lfd, NULL, NULL);

		if (fd < 0 || atomic_load(&u->stopping)) {
			if (fd >= 0)
				close(fd);
			break;
		}
		pthread_mutex_lock(&u->mu);
		if (u->n_conns == MAX_CONNS) {
			pthread_mutex_unlock(&u->mu);
			close(fd);
			continue;
		}
		u->conns[u->n_conns] =
		    (struct conn) { .u = u, .fd = fd, .idx = u->n_conns };
		pthread_create(&u->conns[u->n_conns].thread, NULL, conn_main,
		    &u->conns[u->n_conns]);
		u->n_conns++;
		pthread_mutex_unlock(&u->mu);
	}
	return NULL;
}

struct th_upstream *
th_upstream_start(void)
{
	struct th_upstream *u = calloc(1, sizeof(*u));
	struct sockaddr_in  sa = { .sin_family = AF_INET };
	socklen_t           sl = sizeof(sa);
	int                 one = 1;

	if (u == NULL ||
	    (u->reqs = calloc(MAX_REQUESTS, sizeof(*u->reqs))) == NULL)
		abort();
	pthread_mutex_init(&u->mu, NULL);
	pthread_cond_init(&u->cv, NULL);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	u->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(u->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (u->lfd < 0 || bind(u->lfd, (struct sockaddr *) &sa, sl) != 0 ||
	    listen(u->lfd, 128) != 0 ||
	    getsockname(u->lfd, (struct sockaddr *) &sa, &sl) != 0)
		abort();
	snprintf(
	    u->url, sizeof(u->url), "http://127.0.0.1:%u", ntohs(sa.sin_port));
	u->then = TH_ANSWER_201;
	pthread_create(&u->acceptor, NULL, accept_main, u);
	return u;
}

const char *
th_upstream_url(const struct th_upstream *u)
{
	return u->url;
}

void
th_upstream_script(struct th_upstream *u, const enum th_answer *first, size_t n,
    enum th_answer then)
{
	pthread_mutex_lock(&u->mu);
	if (n > MAX_SCRIPT)
		n = MAX_SCRIPT;
	if (n > 0)
		memcpy(u->script, first, n * sizeof(*first));
	u->n_script = n;
	u->next_script = 0;
	u->then = then;
	pthread_mutex_unlock(&u->mu);
}

size_t
th_upstream_count(struct th_upstream *u)
{
	size_t n;

	pthread_mutex_lock(&u->mu);
	n = u->n_reqs;
	pthread_mutex_unlock(&u->mu);
	return n;
}

size_t
th_upstream_connections(struct th_upstream *u)
{
	size_t n;

	pthread_mutex_lock(&u->mu);
	n = u->n_conns;
	pthread_mutex_unlock(&u->mu);
	return n;
}

bool
th_upstream_request(struct th_upstream *u, size_t i, struct th_request *out)
{
	bool ok;

	pthread_mutex_lock(&u->mu);
	if ((ok = i < u->n_reqs))
		*out = u->reqs[i];
	pthread_mutex_unlock(&u->mu);
	return ok;
}

bool
th_upstream_wait(struct th_upstream *u, size_t n, int ms)
{
	struct timespec ts;
	bool            ok;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long) (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&u->mu);
	while (
	    u->n_reqs < n && pthread_cond_timedwait(&u->cv, &u->mu, &ts) == 0)
		;
	ok = u->n_reqs >= n;
	pthread_mutex_unlock(&u->mu);
	return ok;
}

void
th_upstream_stop(struct th_upstream *u)
{
	if (u == NULL)
		return;
	atomic_store(&u->stopping, true);
	shutdown(u->lfd, SHUT_RDWR);
	pthread_join(u->acceptor, NULL);
	close(u->lfd);
	/* no new connections now: n_conns is stable */
	for (size_t i = 0; i < u->n_conns; i++)
		shutdown(u->conns[i].fd, SHUT_RDWR);
	for (size_t i = 0; i < u->n_conns; i++) {
		pthread_join(u->conns[i].thread, NULL);
		close(u->conns[i].fd);
	}
	pthread_mutex_destroy(&u->mu);
	pthread_cond_destroy(&u->cv);
	free(u->reqs);
	free(u);
}
