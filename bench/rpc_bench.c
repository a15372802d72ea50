/*
 * rpc_bench.c - RPC round trips and durable writes per second.
 *
 * N threads share one rpc_client (one REQ socket, a context per call) and
 * each makes synchronous calls in a loop: Health/Ping for the transport
 * cost, or Admin/ChangeBalance top-ups for a durable LMDB write per call.
 * After a warm-up, every call that starts inside the measured window is
 * timed into a per-thread log-linear histogram; the histograms are merged
 * at the end for p50 and p99. Every call must return GW_OK: errors are
 * counted, the first few are printed, and any error fails the run.
 *
 * Output is one line of key=value pairs so that bench/rpc can parse it.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <protobuf-c/protobuf-c.h>

#include "gw/err.h"
#include "relay/v1/admin.pb-c.h"
#include "relay/v1/rpc.pb-c.h"
#include "rpc/client.h"

#define CALLERS_MAX 1024
#define ERRORS_SHOWN 5
#define TOKEN_LEN_MAX 256
#define PROBE_TIMEOUT 1000

/*
 * Latency histogram in microseconds: exact below 2^LIN_BITS, then
 * SUB_BUCKETS buckets per power of two (under 1.6% error), up to 2^40 us.
 */
#define LIN_BITS 10
#define SUB_BITS 6
#define SUB_BUCKETS (1u << SUB_BITS)
#define TOP_BITS 40
#define NBUCKETS ((1u << LIN_BITS) + (TOP_BITS - LIN_BITS) * SUB_BUCKETS)

enum mode { MODE_PING, MODE_WRITE };

enum phase { PHASE_WARMUP, PHASE_MEASURE, PHASE_STOP };

struct bench {
	struct rpc_client   *client;
	enum mode            mode;
	uint64_t             client_id; /* write mode: the client topped up */
	atomic_int           phase;
	atomic_uint_fast64_t errors;
	pthread_mutex_t      print_mu;
	unsigned             errors_shown;
};

struct caller {
	struct bench *b;
	pthread_t     thread;
	uint64_t      calls;  /* measured calls */
	uint64_t      topups; /* write mode: every GW_OK top-up */
	uint64_t      hist[NBUCKETS];
	/* --async: a REQ context driven by its aio callback */
	nng_ctx          ctx;
	nng_aio         *aio;
	bool             sending;
	uint64_t         t0;
	const uint8_t   *env; /* the packed envelope to send */
	size_t           envlen;
	atomic_bool      done;
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static void
sleep_ns(uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t) (ns / 1000000000u),
		.tv_nsec = (long) (ns % 1000000000u),
	};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static unsigned
bucket_of(uint64_t us)
{
	unsigned top;

	if (us < (1u << LIN_BITS))
		return (unsigned) us;
	top = 63u - (unsigned) __builtin_clzll(us); /* >= LIN_BITS */
	if (top >= TOP_BITS)
		return NBUCKETS - 1;
	return (1u << LIN_BITS) + (top - LIN_BITS) * SUB_BUCKETS +
	    (unsigned) ((us >> (top - SUB_BITS)) & (SUB_BUCKETS - 1));
}

/* bucket_value returns the midpoint of bucket i, in microseconds. */
static double
bucket_value(unsigned i)
{
	unsigned top, sub;
	uint64_t lo, width;

	if (i < (1u << LIN_BITS))
		return (double) i;
	top = LIN_BITS + (i - (1u << LIN_BITS)) / SUB_BUCKETS;
	sub = (i - (1u << LIN_BITS)) % SUB_BUCKETS;
	width = 1ull << (top - SUB_BITS);
	lo = (1ull << top) + sub * width;
	return (double) lo + (double) width / 2;
}

static double
percentile(const uint64_t *hist, uint64_t total, double p)
{
	uint64_t rank, seen = 0;

	if (total == 0)
		return 0;
	rank = (uint64_t) (p * (double) total);
	if (rank >= total)
		rank = total - 1;
	for (unsigned i = 0; i < NBUCKETS; i++) {
		seen += hist[i];
		if (seen > rank)
			return bucket_value(i);
	}
	return bucket_value(NBUCKETS - 1);
}

static void
report_error(
    struct bench *b, const char *what, int rc, const struct rpc_status *st)
{
	atomic_fetch_add(&b->errors, 1);
	pthread_mutex_lock(&b->print_mu);
	if (b->errors_shown < ERRORS_SHOWN) {
		b->errors_shown++;
		fprintf(stderr, "rpc_bench: %s: %s (%s): %s\n", what,
		    gw_strerror(rc), st->details, st->message);
	}
	pthread_mutex_unlock(&b->print_mu);
}

/* call_once makes one call of the bench's mode. Returns GW_OK or the
 * error, already reported. */
static int
call_once(struct caller *cl)
{
	struct bench     *b = cl->b;
	ProtobufCMessage *resp = NULL;
	struct rpc_status st = { 0 };
	int               rc;

	if (b->mode == MODE_PING) {
		Relay__V1__PingRequest req = RELAY__V1__PING_REQUEST__INIT;

		rc = rpc_invoke(b->client, &relay__v1__health__descriptor,
		    "Ping", &req.base, &resp, &st);
		if (rc != GW_OK) {
			report_error(b, "Ping", rc, &st);
			return rc;
		}
	} else {
		Relay__V1__ChangeBalanceRequest req =
		    RELAY__V1__CHANGE_BALANCE_REQUEST__INIT;
		Relay__V1__ChangeBalanceReply *reply;

		req.client_id = b->client_id;
		req.change = RELAY__V1__BALANCE_CHANGE__BALANCE_TOPUP;
		req.amount_micros = 1;
		req.reason = "bench";
		rc = rpc_invoke(b->client, &relay__v1__admin__descriptor,
		    "ChangeBalance", &req.base, &resp, &st);
		if (rc != GW_OK) {
			report_error(b, "ChangeBalance", rc, &st);
			return rc;
		}
		reply = (Relay__V1__ChangeBalanceReply *) resp;
		if (reply->client == NULL ||
		    reply->client->id != b->client_id) {
			snprintf(st.message, sizeof(st.message),
			    "reply names another client");
			report_error(b, "ChangeBalance", GW_EINTERNAL, &st);
			protobuf_c_message_free_unpacked(resp, NULL);
			return GW_EINTERNAL;
		}
		cl->topups++;
	}
	protobuf_c_message_free_unpacked(resp, NULL);
	return GW_OK;
}

/* async_send posts the next call on cl's context. */
static void
async_send(struct caller *cl)
{
	nng_msg *m;

	if (nng_msg_alloc(&m, cl->envlen) != 0) {
		atomic_fetch_add(&cl->b->errors, 1);
		atomic_store(&cl->done, true);
		return;
	}
	memcpy(nng_msg_body(m), cl->env, cl->envlen);
	cl->sending = true;
	cl->t0      = now_ns();
	nng_aio_set_msg(cl->aio, m);
	nng_ctx_send(cl->ctx, cl->aio);
}

/* async_cb alternates: send done -> receive; reply -> check, count, send
 * the next call until the bench stops. Runs on nng's threads. */
static void
async_cb(void *arg)
{
	struct caller          *cl = arg;
	struct bench           *b  = cl->b;
	Relay__V1__RpcResponse *r;
	nng_msg                *m;
	int                     ph = atomic_load(&b->phase);

	if (nng_aio_result(cl->aio) != 0) {
		if (cl->sending)
			nng_msg_free(nng_aio_get_msg(cl->aio));
		atomic_fetch_add(&b->errors, 1);
		atomic_store(&cl->done, true);
		return;
	}
	if (cl->sending) {
		cl->sending = false;
		nng_ctx_recv(cl->ctx, cl->aio);
		return;
	}
	m = nng_aio_get_msg(cl->aio);
	r = relay__v1__rpc_response__unpack(NULL, nng_msg_len(m),
	    nng_msg_body(m));
	nng_msg_free(m);
	if (r == NULL || r->code != RELAY__V1__STATUS_CODE__OK) {
		fprintf(stderr, "rpc_bench: async call failed: %s\n",
		    r != NULL ? r->message : "undecodable reply");
		atomic_fetch_add(&b->errors, 1);
	} else {
		if (b->mode == MODE_WRITE)
			cl->topups++;
		if (ph == PHASE_MEASURE) {
			cl->calls++;
			cl->hist[bucket_of((now_ns() - cl->t0) / 1000)]++;
		}
	}
	if (r != NULL)
		relay__v1__rpc_response__free_unpacked(r, NULL);
	if (ph == PHASE_STOP)
		atomic_store(&cl->done, true);
	else
		async_send(cl);
}

/* pack_envelope packs the bench's request once; every async call sends
 * the same bytes (relayd keys nothing on the request id). */
static size_t
pack_envelope(struct bench *b, const char *token, uint8_t *buf, size_t cap)
{
	Relay__V1__RpcRequest           env = RELAY__V1__RPC_REQUEST__INIT;
	Relay__V1__PingRequest          ping = RELAY__V1__PING_REQUEST__INIT;
	Relay__V1__ChangeBalanceRequest cb =
	    RELAY__V1__CHANGE_BALANCE_REQUEST__INIT;
	uint8_t payload[256];

	if (b->mode == MODE_PING) {
		env.method      = "relay.v1.Health/Ping";
		env.payload.len = relay__v1__ping_request__pack(&ping, payload);
	} else {
		cb.client_id     = b->client_id;
		cb.change        = RELAY__V1__BALANCE_CHANGE__BALANCE_TOPUP;
		cb.amount_micros = 1;
		cb.reason        = "bench";
		env.method       = "relay.v1.Admin/ChangeBalance";
		env.admin_token  = (char *) (token != NULL ? token : "");
		env.payload.len =
		    relay__v1__change_balance_request__pack(&cb, payload);
	}
	env.payload.data = payload;
	if (relay__v1__rpc_request__get_packed_size(&env) > cap)
		return 0;
	return relay__v1__rpc_request__pack(&env, buf);
}

static void *
caller_main(void *arg)
{
	struct caller *cl = arg;
	int            ph;

	while ((ph = atomic_load(&cl->b->phase)) != PHASE_STOP) {
		uint64_t t0 = now_ns();
		int      rc = call_once(cl);

		if (ph == PHASE_MEASURE && rc == GW_OK) {
			cl->calls++;
			cl->hist[bucket_of((now_ns() - t0) / 1000)]++;
		}
	}
	return NULL;
}

static int
create_client(struct bench *b)
{
	Relay__V1__CreateClientRequest req =
	    RELAY__V1__CREATE_CLIENT_REQUEST__INIT;
	Relay__V1__Client *client = NULL;
	struct rpc_status  st = { 0 };
	char               name[64];
	int                rc;

	snprintf(name, sizeof(name), "bench-%ld-%" PRIu64, (long) getpid(),
	    now_ns());
	req.name = name;
	rc = rpc_invoke(b->client, &relay__v1__admin__descriptor,
	    "CreateClient", &req.base, (ProtobufCMessage **) &client, &st);
	if (rc != GW_OK) {
		fprintf(stderr, "rpc_bench: CreateClient: %s (%s): %s\n",
		    gw_strerror(rc), st.details, st.message);
		return rc;
	}
	b->client_id = client->id;
	protobuf_c_message_free_unpacked(&client->base, NULL);
	return GW_OK;
}

/* check_balance verifies that the balance holds every acknowledged
 * top-up: a lost durable write would show here. */
static int
check_balance(struct bench *b, uint64_t topups)
{
	Relay__V1__IdRequest req = RELAY__V1__ID_REQUEST__INIT;
	Relay__V1__Client   *client = NULL;
	struct rpc_status    st = { 0 };
	int                  rc;

	req.id = b->client_id;
	rc = rpc_invoke(b->client, &relay__v1__admin__descriptor, "GetClient",
	    &req.base, (ProtobufCMessage **) &client, &st);
	if (rc != GW_OK) {
		fprintf(stderr, "rpc_bench: GetClient: %s (%s): %s\n",
		    gw_strerror(rc), st.details, st.message);
		return rc;
	}
	if ((uint64_t) client->balance_micros != topups) {
		fprintf(stderr,
		    "rpc_bench: balance is %" PRId64 " micros, but %" PRIu64
		    " top-ups of 1 were acknowledged\n",
		    client->balance_micros, topups);
		rc = GW_EINTERNAL;
	}
	protobuf_c_message_free_unpacked(&client->base, NULL);
	return rc;
}

/* probe makes one Ping with a short timeout: exit 0 once relayd answers. */
static int
probe(struct rpc_client *c)
{
	Relay__V1__PingRequest req = RELAY__V1__PING_REQUEST__INIT;
	ProtobufCMessage      *resp = NULL;
	struct rpc_status      st = { 0 };
	int                    rc;

	rpc_client_set_timeout(c, PROBE_TIMEOUT);
	rc = rpc_invoke(
	    c, &relay__v1__health__descriptor, "Ping", &req.base, &resp, &st);
	if (rc != GW_OK)
		return 1;
	protobuf_c_message_free_unpacked(resp, NULL);
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: rpc_bench --rpc URL [--seconds S] [--callers N]\n"
	    "                 [--mode ping|write] [--warmup S] [--probe]"
	    " [--async]\n"
	    "  --rpc URL       relayd's RPC address, e.g. ipc:///tmp/x.ipc\n"
	    "  --seconds S     measured time                  default 5\n"
	    "  --callers N     concurrent callers (threads)   default 1\n"
	    "  --async         callers are N outstanding calls driven by nng\n"
	    "                  callbacks in one thread pool, not N threads\n"
	    "  --mode M        ping: Health/Ping; write: Admin/ChangeBalance\n"
	    "                  top-ups (durable)              default ping\n"
	    "  --warmup S      unmeasured time before         default 0.5\n"
	    "  --probe         one Ping with a 1 s timeout; exit 0 if it "
	    "answers\n"
	    "environment:\n"
	    "  RELAY_ADMIN_TOKEN  admin token (write mode)\n");
}

static bool
parse_seconds(const char *s, double *out)
{
	char  *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= 0) || v > 3600)
		return false;
	*out = v;
	return true;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rpc", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 's' },
		{ "callers", required_argument, NULL, 'c' },
		{ "async", no_argument, NULL, 'A' },
		{ "mode", required_argument, NULL, 'm' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "probe", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct bench b;
	const char         *url = NULL;
	const char         *token;
	double              seconds = 5, warmup = 0.5, elapsed;
	long                ncallers = 1;
	bool                do_probe = false, async = false;
	nng_socket          asock;
	uint8_t             env[512];
	size_t              envlen = 0;
	struct caller      *callers;
	uint64_t           *hist, calls = 0, topups = 0, t0 = 0, t1 = 0;
	uint64_t            errors;
	char               *end;
	int                 c, rc, started = 0, status = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			url = optarg;
			break;
		case 's':
			if (!parse_seconds(optarg, &seconds) || seconds == 0) {
				fprintf(stderr,
				    "rpc_bench: --seconds: a "
				    "number in (0, 3600]\n");
				return 2;
			}
			break;
		case 'w':
			if (!parse_seconds(optarg, &warmup)) {
				fprintf(stderr,
				    "rpc_bench: --warmup: a "
				    "number in [0, 3600]\n");
				return 2;
			}
			break;
		case 'c':
			errno = 0;
			ncallers = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || ncallers < 1 ||
			    ncallers > CALLERS_MAX) {
				fprintf(stderr,
				    "rpc_bench: --callers: 1 to "
				    "%d\n",
				    CALLERS_MAX);
				return 2;
			}
			break;
		case 'm':
			if (strcmp(optarg, "ping") == 0) {
				b.mode = MODE_PING;
			} else if (strcmp(optarg, "write") == 0) {
				b.mode = MODE_WRITE;
			} else {
				fprintf(stderr,
				    "rpc_bench: --mode: ping or "
				    "write\n");
				return 2;
			}
			break;
		case 'p':
			do_probe = true;
			break;
		case 'A':
			async = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (url == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	if ((rc = rpc_client_open(url, &b.client)) != GW_OK) {
		fprintf(stderr, "rpc_bench: %s: %s\n", url, gw_strerror(rc));
		return 1;
	}
	if (do_probe) {
		status = probe(b.client);
		rpc_client_close(b.client);
		return status;
	}
	token = getenv("RELAY_ADMIN_TOKEN");
	if (token != NULL && token[0] != '\0' &&
	    rpc_client_set_admin_token(b.client, token) != GW_OK) {
		fprintf(stderr,
		    "rpc_bench: RELAY_ADMIN_TOKEN: too long "
		    "or out of memory\n");
		rpc_client_close(b.client);
		return 1;
	}
	if (b.mode == MODE_WRITE && create_client(&b) != GW_OK) {
		rpc_client_close(b.client);
		return 1;
	}

	callers = calloc((size_t) ncallers, sizeof(*callers));
	hist = calloc(NBUCKETS, sizeof(*hist));
	if (callers == NULL || hist == NULL) {
		fprintf(stderr, "rpc_bench: out of memory\n");
		status = 1;
		goto out;
	}
	pthread_mutex_init(&b.print_mu, NULL);
	atomic_init(&b.phase, PHASE_WARMUP);
	atomic_init(&b.errors, 0);
	if (async) {
		/* one socket, N contexts, each re-arming from its callback */
		if ((envlen = pack_envelope(&b, token, env, sizeof(env))) == 0 ||
		    nng_req0_open(&asock) != 0 ||
		    nng_dial(asock, url, NULL, 0) != 0) {
			fprintf(stderr, "rpc_bench: --async: cannot connect\n");
			status = 1;
			goto out;
		}
		for (long i = 0; i < ncallers; i++) {
			struct caller *cl = &callers[i];

			cl->b      = &b;
			cl->env    = env;
			cl->envlen = envlen;
			atomic_init(&cl->done, false);
			if (nng_ctx_open(&cl->ctx, asock) != 0 ||
			    nng_aio_alloc(&cl->aio, async_cb, cl) != 0) {
				fprintf(stderr, "rpc_bench: out of memory\n");
				status = 1;
				break;
			}
			started++;
		}
		for (int i = 0; status == 0 && i < started; i++)
			async_send(&callers[i]);
	} else {
		for (long i = 0; i < ncallers; i++) {
			callers[i].b = &b;
			if (pthread_create(&callers[i].thread, NULL,
				caller_main, &callers[i]) != 0) {
				fprintf(stderr,
				    "rpc_bench: cannot start thread\n");
				status = 1;
				break;
			}
			started++;
		}
	}
	if (status == 0) {
		sleep_ns((uint64_t) (warmup * 1e9));
		t0 = now_ns();
		atomic_store(&b.phase, PHASE_MEASURE);
		sleep_ns((uint64_t) (seconds * 1e9));
		atomic_store(&b.phase, PHASE_STOP);
		t1 = now_ns();
	}
	atomic_store(&b.phase, PHASE_STOP);
	for (int i = 0; async && i < started; i++) {
		/* the last call in flight finishes, then the context rests */
		for (int w = 0; w < 5000 && !atomic_load(&callers[i].done); w++)
			sleep_ns(1000000);
		nng_aio_stop(callers[i].aio);
		nng_aio_free(callers[i].aio);
	}
	if (async)
		nng_close(asock);
	for (int i = 0; i < started; i++) {
		if (!async)
			pthread_join(callers[i].thread, NULL);
		calls += callers[i].calls;
		topups += callers[i].topups;
		for (unsigned j = 0; j < NBUCKETS; j++)
			hist[j] += callers[i].hist[j];
	}
	if (status != 0)
		goto out;
	if (b.mode == MODE_WRITE && check_balance(&b, topups) != GW_OK)
		atomic_fetch_add(&b.errors, 1);

	elapsed = (double) (t1 - t0) / 1e9;
	errors = atomic_load(&b.errors);
	printf("mode=%s%s callers=%ld seconds=%.2f calls=%" PRIu64
	       " calls_per_s=%.0f p50_us=%.0f p99_us=%.0f errors=%" PRIu64 "\n",
	    b.mode == MODE_PING ? "ping" : "write", async ? "-async" : "",
	    ncallers, elapsed, calls,
	    (double) calls / elapsed, percentile(hist, calls, 0.50),
	    percentile(hist, calls, 0.99), errors);
	if (errors != 0) {
		fprintf(
		    stderr, "rpc_bench: %" PRIu64 " call(s) failed\n", errors);
		status = 1;
	}
out:
	free(hist);
	free(callers);
	rpc_client_close(b.client);
	return status;
}
