/* messaging_bench.c - Send's throughput and latency in process (core's
 * dispatcher, no socket): 64 threads, durable group commits.
 *   meson test -C build --benchmark messaging_send  (or run it directly:
 *   messaging_bench [threads] [sends per thread] [dir]) */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw/core.h"
#include "gw/err.h"
#include "gw/store.h"
#include "relay/v1/admin.pb-c.h"
#include "relay/v1/messaging.pb-c.h"
#include "th.h"

#define TOKEN "bench-admin-token"

static struct gw_core *core;
static char            key[128];
static int             per_thread;

static int
call(const char *method, const char *apikey, const ProtobufCMessage *req,
    const ProtobufCMessageDescriptor *out_desc, ProtobufCMessage **out)
{
	struct gw_call c;
	uint8_t        buf[4096];
	size_t         n = protobuf_c_message_pack(req, buf);
	int            rc;

	memset(&c, 0, sizeof(c));
	c.api_key = apikey;
	rc = gw_call_dispatch(core, &c, method, TOKEN, buf, n);
	if (rc == GW_OK && out != NULL)
		*out = protobuf_c_message_unpack(
		    out_desc, NULL, c.reply_len, c.reply);
	free(c.reply);
	return rc;
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;

	return x < y ? -1 : x > y;
}

static void *
sender(void *arg)
{
	int64_t               *lat = arg;
	Relay__V1__SendRequest req = RELAY__V1__SEND_REQUEST__INIT;

	req.to = "+14155550100";
	req.body = "benchmark message";
	for (int i = 0; i < per_thread; i++) {
		struct timespec a, b;

		clock_gettime(CLOCK_MONOTONIC, &a);
		if (call("relay.v1.Messaging/Send", key, &req.base, NULL,
		        NULL) != GW_OK)
			abort();
		clock_gettime(CLOCK_MONOTONIC, &b);
		lat[i] = (b.tv_sec - a.tv_sec) * 1000000 +
		    (b.tv_nsec - a.tv_nsec) / 1000;
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	int                   threads = argc > 1 ? atoi(argv[1]) : 64;
	char                 *dir = argc > 3 ? strdup(argv[3]) : th_tmpdir();
	struct gw_core_config cfg = { .state_dir = dir, .admin_token = TOKEN };
	Relay__V1__CreateClientRequest cc =
	    RELAY__V1__CREATE_CLIENT_REQUEST__INIT;
	Relay__V1__CreateKeyRequest ck = RELAY__V1__CREATE_KEY_REQUEST__INIT;
	Relay__V1__CreateAccountRequest ca =
	    RELAY__V1__CREATE_ACCOUNT_REQUEST__INIT;
	Relay__V1__CreateRouteRequest cr =
	    RELAY__V1__CREATE_ROUTE_REQUEST__INIT;
	Relay__V1__Client     *cl;
	Relay__V1__CreatedKey *k;
	Relay__V1__Account    *acct;
	struct gw_store_stats  st;
	pthread_t             *t;
	int64_t               *lat;
	struct timespec        a, b;
	double                 secs;
	size_t                 n;

	per_thread = argc > 2 ? atoi(argv[2]) : 500;
	n = (size_t) threads * (size_t) per_thread;
	if (gw_core_open(&cfg, &core) != GW_OK)
		return 1;
	cc.name = "bench";
	cc.balance_micros = 1000000LL * 1000000LL;
	call("relay.v1.Admin/CreateClient", NULL, &cc.base,
	    &relay__v1__client__descriptor, (ProtobufCMessage **) &cl);
	ck.client_id = cl->id;
	call("relay.v1.Admin/CreateKey", NULL, &ck.base,
	    &relay__v1__created_key__descriptor, (ProtobufCMessage **) &k);
	snprintf(key, sizeof(key), "%s", k->raw_key);
	ca.kind = RELAY__V1__ACCOUNT_KIND__ACCOUNT_SANDBOX;
	ca.from_number = "+15005550006";
	call("relay.v1.Admin/CreateAccount", NULL, &ca.base,
	    &relay__v1__account__descriptor, (ProtobufCMessage **) &acct);
	cr.pattern = "^\\+1";
	cr.account_id = acct->id;
	cr.price_micros = 7500;
	call("relay.v1.Admin/CreateRoute", NULL, &cr.base, NULL, NULL);

	t = calloc((size_t) threads, sizeof(*t));
	lat = calloc(n, sizeof(*lat));
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < threads; i++)
		pthread_create(
		    &t[i], NULL, sender, lat + (size_t) i * per_thread);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (double) (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	qsort(lat, n, sizeof(*lat), cmp64);
	gw_store_stats(gw_core_store(core), &st);
	printf("send: %zu msgs, %d threads, %.0f msg/s, p50 %.2f ms, "
	       "p99 %.2f ms, max %.2f ms; %llu commits, max batch %llu "
	       "(state dir %s)\n",
	    n, threads, (double) n / secs, lat[n / 2] / 1000.0,
	    lat[n * 99 / 100] / 1000.0, lat[n - 1] / 1000.0,
	    (unsigned long long) st.commits, (unsigned long long) st.max_batch,
	    dir);
	gw_core_close(core);
	th_rmtree(dir);
	free(t);
	free(lat);
	return 0;
}
