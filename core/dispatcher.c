/*
 * dispatcher.c - the outbox worker: takes due outbox entries, calls the
 * provider through libcurl multi, and records each outcome in the same
 * transaction that removes or reschedules the entry.
 *
 * Each worker thread owns a multi handle (its connection cache is what
 * reuses connections) and the messages whose id falls to it (id modulo
 * the number of threads), so no two threads ever send the same message.
 * What is in flight is known only in memory: the outbox entry stays at its
 * due time until the outcome is written, which is what makes a crash
 * resend rather than lose. A loop turn: scan the due entries that are not
 * in flight, start them, let curl work, then write every finished outcome
 * of the turn in one write function (one group commit).
 */
#include "gw/dispatcher.h"

#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "core_impl.h"
#include "gw/clock.h"
#include "gw/err.h"
#include "gw/log.h"
#include "ledger_impl.h"
#include "retry_impl.h"
#include "webhooks_impl.h"

#define RESP_MAX (64 * 1024)
#define SID_MAX 64
#define ERR_CODE_MAX 32
#define ERR_MSG_MAX 256
#define SCAN_MAX 4096 /* outbox rows looked at per turn */
#define TWILIO_BASE "https://api.twilio.com"
#define FLOWROUTE_BASE "https://api.flowroute.com"
#define STATUS_PATH_TWILIO "/relay/twilio/status"
#define STATUS_PATH_FLOWROUTE "/relay/flowroute/status"

enum outcome {
	OUT_SENT,  /* the provider took it */
	OUT_RETRY, /* transient: try again later */
	OUT_FAIL,  /* permanent: fail and refund */
	OUT_DROP,  /* the message is gone: just drop the entry */
};

struct job {
	uint64_t               id;
	uint8_t                okey[16]; /* its outbox key */
	uint32_t               attempts; /* before this one */
	int64_t                created_ms;
	Relay__V1__AccountKind kind;

	CURL             *easy;
	char             *body;   /* request body, malloc'd */
	struct curl_slist hdr[2]; /* ours: the auth node is wiped after */
	char             *auth;   /* sodium_malloc'd "Authorization: ..." */
	char             *resp;
	size_t            resp_len;
	bool              truncated;

	/* the outcome */
	enum outcome             outcome;
	Relay__V1__MessageStatus status; /* on OUT_SENT */
	char                     upstream_sid[SID_MAX];
	char                     err_code[ERR_CODE_MAX];
	char                     err_msg[ERR_MSG_MAX];
	int64_t                  retry_after_ms;
	int64_t next_due; /* on OUT_RETRY, fixed before the write */
	bool    done;
};

struct worker {
	struct gw_dispatcher *d;
	unsigned              idx;
	pthread_t             thread;
	CURLM                *multi;
	struct job          **jobs; /* in flight, max_in_flight slots */
	struct job          **done; /* settle's scratch, as many */
	size_t                n_jobs;
};

struct gw_dispatcher {
	struct gw_core             *core;
	struct gw_dispatcher_config cfg;
	char                       *public_url;
	char                       *twilio_base;
	char                       *flowroute_base;
	int                         sandbox_fd;
	pthread_mutex_t             sandbox_mu;
	atomic_bool                 stopping;
	struct worker              *workers;
	unsigned                    n_workers;

	atomic_uint_fast64_t attempts, sent, retried, failed, in_flight;
};

/* ---- jobs ------------------------------------------------------------ */

static void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	if (j->easy != NULL)
		curl_easy_cleanup(j->easy);
	if (j->auth != NULL) {
		sodium_memzero(j->auth, strlen(j->auth));
		sodium_free(j->auth);
	}
	free(j->body);
	free(j->resp);
	free(j);
}

static void job_result(struct job *j, enum outcome o, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
job_result(
    struct job *j, enum outcome o, const char *code, const char *fmt, ...)
{
	va_list ap;

	j->outcome = o;
	j->done = true;
	snprintf(j->err_code, sizeof(j->err_code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(j->err_msg, sizeof(j->err_msg), fmt, ap);
	va_end(ap);
}

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	struct job *j = arg;
	size_t      len = size * n;
	char       *r;

	if (j->resp_len + len > RESP_MAX) {
		j->truncated = true;
		return len; /* keep reading; the answer is judged on its code */
	}
	if ((r = realloc(j->resp, j->resp_len + len + 1)) == NULL)
		return 0;
	memcpy(r + j->resp_len, p, len);
	j->resp = r;
	j->resp_len += len;
	j->resp[j->resp_len] = '\0';
	return len;
}

/* basic_auth builds "Authorization: Basic b64(user:secret)" in guarded
 * memory. secret is wiped by the caller. */
static char *
basic_auth(const char *user, const uint8_t *secret, size_t slen)
{
	static const char pfx[] = "Authorization: Basic ";
	size_t            ulen = strlen(user), plen = ulen + 1 + slen;
	size_t            blen =
	    sodium_base64_ENCODED_LEN(plen, sodium_base64_VARIANT_ORIGINAL);
	uint8_t *plain = sodium_malloc(plen);
	char    *out = sodium_malloc(sizeof(pfx) + blen);

	if (plain == NULL || out == NULL) {
		sodium_free(plain);
		sodium_free(out);
		return NULL;
	}
	memcpy(plain, user, ulen);
	plain[ulen] = ':';
	memcpy(plain + ulen + 1, secret, slen);
	memcpy(out, pfx, sizeof(pfx) - 1);
	sodium_bin2base64(out + sizeof(pfx) - 1, blen, plain, plen,
	    sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(plain, plen);
	sodium_free(plain);
	return out;
}

/* unseal_auth decrypts acct's token just long enough to build the
 * Authorization header. */
static int
unseal_auth(struct gw_dispatcher *d, const Relay__V1__AccountRecord *acct,
    struct job *j)
{
	char     ad[128];
	uint8_t *pt;
	size_t   len = 0;
	int      rc;

	if (acct->token_sealed.len == 0)
		return GW_EINVAL;
	if ((pt = sodium_malloc(acct->token_sealed.len)) == NULL)
		return GW_ENOMEM;
	snprintf(ad, sizeof(ad), "relay.v1.account.token:%s", acct->sid);
	rc = gw_unseal(d->core->keyring, ad, acct->token_sealed.data,
	    acct->token_sealed.len, pt, &len);
	if (rc == GW_OK && (j->auth = basic_auth(acct->sid, pt, len)) == NULL)
		rc = GW_ENOMEM;
	sodium_memzero(pt, acct->token_sealed.len);
	sodium_free(pt);
	return rc;
}

/* form_add appends "&name=escaped(value)" (no '&' first) to *s. */
static int
form_add(CURL *easy, char **s, size_t *len, const char *name, const char *value)
{
	char  *esc = curl_easy_escape(easy, value, 0);
	size_t n;
	char  *r;

	if (esc == NULL)
		return GW_ENOMEM;
	n = strlen(name) + strlen(esc) + 2;
	if ((r = realloc(*s, *len + n + 1)) == NULL) {
		curl_free(esc);
		return GW_ENOMEM;
	}
	*len += (size_t) snprintf(
	    r + *len, n + 1, "%s%s=%s", *len ? "&" : "", name, esc);
	*s = r;
	curl_free(esc);
	return GW_OK;
}

static int
twilio_request(struct gw_dispatcher *d, const Relay__V1__AccountRecord *acct,
    const Relay__V1__MessageRecord *m, struct job *j, char *url, size_t ulen)
{
	const char *base = acct->base_url[0] ? acct->base_url : d->twilio_base;
	size_t      n = 0;
	char        cb[2048];
	int         rc;

	snprintf(url, ulen, "%s/2010-04-01/Accounts/%s/Messages.json", base,
	    acct->sid);
	if ((rc = form_add(j->easy, &j->body, &n, "To", m->to)) != GW_OK ||
	    (rc = form_add(j->easy, &j->body, &n, "From", m->from)) != GW_OK ||
	    (rc = form_add(j->easy, &j->body, &n, "Body", m->body)) != GW_OK)
		return rc;
	if (d->public_url[0] != '\0') {
		/* relay_sid lets the callback find the message even when it
		 * overtakes the answer that tells us Twilio's sid; it is
		 * signed with the rest of the URL */
		snprintf(cb, sizeof(cb),
		    "%s" STATUS_PATH_TWILIO "?relay_sid=%s", d->public_url,
		    m->sid);
		if ((rc = form_add(
		         j->easy, &j->body, &n, "StatusCallback", cb)) != GW_OK)
			return rc;
	}
	curl_easy_setopt(j->easy, CURLOPT_POSTFIELDSIZE, (long) n);
	return GW_OK;
}

static int
flowroute_request(struct gw_dispatcher *d, const Relay__V1__AccountRecord *acct,
    const Relay__V1__MessageRecord *m, struct job *j, char *url, size_t ulen)
{
	const char *base =
	    acct->base_url[0] ? acct->base_url : d->flowroute_base;
	json_t *o;
	char    cb[2048];

	snprintf(url, ulen, "%s/v2.1/messages", base);
	/* Flowroute writes numbers as bare digits */
	o = json_pack("{s:s, s:s, s:s}", "to", m->to + (m->to[0] == '+'),
	    "from", m->from + (m->from[0] == '+'), "body", m->body);
	if (o == NULL)
		return GW_ENOMEM;
	if (d->public_url[0] != '\0') {
		snprintf(
		    cb, sizeof(cb), "%s" STATUS_PATH_FLOWROUTE, d->public_url);
		json_object_set_new(o, "dlr_callback", json_string(cb));
	}
	j->body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (j->body == NULL)
		return GW_ENOMEM;
	curl_easy_setopt(
	    j->easy, CURLOPT_POSTFIELDSIZE, (long) strlen(j->body));
	return GW_OK;
}

/* sandbox_send records the message and answers at once. */
static void
sandbox_send(
    struct gw_dispatcher *d, const Relay__V1__MessageRecord *m, struct job *j)
{
	uint8_t rnd[16];
	char    sid[3 + 32];
	json_t *o;
	char   *line;
	int     ok = 0;

	randombytes_buf(rnd, sizeof(rnd));
	memcpy(sid, "SM", 2);
	sodium_bin2hex(sid + 2, sizeof(sid) - 2, rnd, sizeof(rnd));
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "sid", sid,
	    "relay_sid", m->sid, "to", m->to, "from", m->from, "body", m->body,
	    "segments", (json_int_t) m->segments, "date_created_ms",
	    (json_int_t) gw_now_ms());
	if (o != NULL && (line = json_dumps(o, JSON_COMPACT)) != NULL) {
		size_t n = strlen(line);

		line[n] = '\n'; /* replaces the NUL; write n + 1 bytes */
		pthread_mutex_lock(&d->sandbox_mu);
		ok = write(d->sandbox_fd, line, n + 1) == (ssize_t) (n + 1);
		pthread_mutex_unlock(&d->sandbox_mu);
		free(line);
	}
	json_decref(o);
	if (!ok) {
		job_result(j, OUT_RETRY, "sandbox",
		    "writing sandbox.jsonl "
		    "failed");
		return;
	}
	j->outcome = OUT_SENT;
	j->done = true;
	/* Twilio's test credentials answer "queued"; nothing will ever
	 * report progress for a sandbox message, so it is "sent" here */
	j->status = RELAY__V1__MESSAGE_STATUS__MESSAGE_SENT;
	snprintf(j->upstream_sid, sizeof(j->upstream_sid), "%s", sid);
}

/* job_start builds and starts the request for message m. On return the
 * job is either in flight (j->easy added to the multi) or done. */
static void
job_start(struct worker *w, const Relay__V1__MessageRecord *m,
    const Relay__V1__AccountRecord *acct, struct job *j)
{
	struct gw_dispatcher *d = w->d;
	char                  url[2048 + 128];
	int                   rc;

	atomic_fetch_add(&d->attempts, 1);
	j->kind = acct->kind;
	if (acct->kind == RELAY__V1__ACCOUNT_KIND__ACCOUNT_SANDBOX) {
		sandbox_send(d, m, j);
		return;
	}
	if (acct->kind != RELAY__V1__ACCOUNT_KIND__ACCOUNT_TWILIO &&
	    acct->kind != RELAY__V1__ACCOUNT_KIND__ACCOUNT_FLOWROUTE) {
		job_result(j, OUT_FAIL, "relay_account",
		    "account %llu has no "
		    "adapter",
		    (unsigned long long) acct->id);
		return;
	}
	if ((j->easy = curl_easy_init()) == NULL) {
		job_result(j, OUT_RETRY, "relay_oom", "out of memory");
		return;
	}
	if ((rc = unseal_auth(d, acct, j)) != GW_OK) {
		if (rc == GW_ENOMEM)
			job_result(j, OUT_RETRY, "relay_oom", "out of memory");
		else
			job_result(j, OUT_FAIL, "relay_credentials",
			    "account "
			    "%llu: token missing or unreadable",
			    (unsigned long long) acct->id);
		return;
	}
	rc = acct->kind == RELAY__V1__ACCOUNT_KIND__ACCOUNT_TWILIO
	    ? twilio_request(d, acct, m, j, url, sizeof(url))
	    : flowroute_request(d, acct, m, j, url, sizeof(url));
	if (rc != GW_OK) {
		job_result(j, OUT_RETRY, "relay_oom", "out of memory");
		return;
	}
	j->hdr[0].data = j->auth;
	j->hdr[0].next = &j->hdr[1];
	j->hdr[1].data = acct->kind == RELAY__V1__ACCOUNT_KIND__ACCOUNT_TWILIO
	    ? "Content-Type: application/x-www-form-urlencoded"
	    : "Content-Type: application/vnd.api+json";
	j->hdr[1].next = NULL;
	curl_easy_setopt(j->easy, CURLOPT_URL, url);
	curl_easy_setopt(j->easy, CURLOPT_POSTFIELDS, j->body);
	curl_easy_setopt(j->easy, CURLOPT_HTTPHEADER, j->hdr);
	curl_easy_setopt(j->easy, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(j->easy, CURLOPT_WRITEDATA, j);
	curl_easy_setopt(j->easy, CURLOPT_PRIVATE, j);
	curl_easy_setopt(j->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(j->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(
	    j->easy, CURLOPT_TIMEOUT_MS, (long) d->cfg.request_timeout_ms);
	curl_easy_setopt(j->easy, CURLOPT_CONNECTTIMEOUT_MS,
	    (long) (d->cfg.request_timeout_ms < 10000
	            ? d->cfg.request_timeout_ms
	            : 10000));
	curl_easy_setopt(j->easy, CURLOPT_USERAGENT, "relay/0.1");
	if (curl_multi_add_handle(w->multi, j->easy) != CURLM_OK)
		job_result(j, OUT_RETRY, "relay_curl",
		    "could not start the "
		    "request");
}

/* ---- outcomes -------------------------------------------------------- */

static void
parse_twilio(struct job *j, long http)
{
	json_t *o = j->resp ? json_loadb(j->resp, j->resp_len, 0, NULL) : NULL;
	const char *s;
	json_t     *v;

	if (http >= 200 && http < 300) {
		j->status = RELAY__V1__MESSAGE_STATUS__MESSAGE_SENDING;
		if (o != NULL &&
		    (s = json_string_value(json_object_get(o, "sid"))) != NULL)
			snprintf(
			    j->upstream_sid, sizeof(j->upstream_sid), "%s", s);
		if (o != NULL &&
		    (s = json_string_value(json_object_get(o, "status"))) !=
		        NULL) {
			if (strcmp(s, "sent") == 0)
				j->status =
				    RELAY__V1__MESSAGE_STATUS__MESSAGE_SENT;
			else if (strcmp(s, "delivered") == 0)
				j->status =
				    RELAY__V1__MESSAGE_STATUS__MESSAGE_DELIVERED;
		}
	} else if (o != NULL) {
		if ((v = json_object_get(o, "code")) != NULL &&
		    json_is_integer(v))
			snprintf(j->err_code, sizeof(j->err_code), "%lld",
			    (long long) json_integer_value(v));
		if ((s = json_string_value(json_object_get(o, "message"))) !=
		    NULL)
			snprintf(j->err_msg, sizeof(j->err_msg), "%s", s);
	}
	json_decref(o);
}

static void
parse_flowroute(struct job *j, long http)
{
	json_t *o = j->resp ? json_loadb(j->resp, j->resp_len, 0, NULL) : NULL;
	json_t *e;
	const char *s;

	if (http >= 200 && http < 300) {
		j->status = RELAY__V1__MESSAGE_STATUS__MESSAGE_SENDING;
		if (o != NULL &&
		    (s = json_string_value(json_object_get(
		         json_object_get(o, "data"), "id"))) != NULL)
			snprintf(
			    j->upstream_sid, sizeof(j->upstream_sid), "%s", s);
	} else if (o != NULL &&
	    (e = json_array_get(json_object_get(o, "errors"), 0)) != NULL) {
		if ((s = json_string_value(json_object_get(e, "detail"))) ||
		    (s = json_string_value(json_object_get(e, "title"))))
			snprintf(j->err_msg, sizeof(j->err_msg), "%s", s);
		if ((s = json_string_value(json_object_get(e, "code"))) != NULL)
			snprintf(j->err_code, sizeof(j->err_code), "%s", s);
	}
	json_decref(o);
}

/* job_finish classifies a finished transfer. */
static void
job_finish(void *job, CURLcode cc)
{
	struct job *j = job;
	long        http = 0;
	curl_off_t  ra = 0;

	j->done = true;
	if (cc != CURLE_OK) {
		job_result(j, gw_curl_transient(cc) ? OUT_RETRY : OUT_FAIL,
		    "relay_network", "%s", curl_easy_strerror(cc));
		return;
	}
	curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &http);
	j->err_code[0] = j->err_msg[0] = '\0';
	if (j->kind == RELAY__V1__ACCOUNT_KIND__ACCOUNT_TWILIO)
		parse_twilio(j, http);
	else
		parse_flowroute(j, http);
	if (http >= 200 && http < 300) {
		j->outcome = OUT_SENT;
		return;
	}
	if (j->err_code[0] == '\0')
		snprintf(j->err_code, sizeof(j->err_code), "http_%ld", http);
	if (j->err_msg[0] == '\0')
		snprintf(j->err_msg, sizeof(j->err_msg),
		    "the provider "
		    "answered HTTP %ld",
		    http);
	if (http == 408 || http == 429 || http >= 500) {
		j->outcome = OUT_RETRY;
		if (curl_easy_getinfo(j->easy, CURLINFO_RETRY_AFTER, &ra) ==
		        CURLE_OK &&
		    ra > 0)
			j->retry_after_ms = (int64_t) ra * 1000;
	} else {
		j->outcome = OUT_FAIL; /* 4xx, and anything else unexpected */
	}
}

static int64_t
backoff_ms(const struct gw_dispatcher *d, uint32_t attempts, int64_t floor)
{
	return gw_backoff_ms(
	    d->cfg.backoff_base_ms, d->cfg.backoff_max_ms, attempts, floor);
}

struct apply {
	struct gw_dispatcher *d;
	struct job          **jobs;
	size_t                n;
	int64_t               now;
};

static int
apply_one(struct gw_txn *txn, struct apply *a, struct job *j)
{
	Relay__V1__MessageRecord *m = NULL;
	Relay__V1__ClientRecord  *c = NULL;
	Relay__V1__OutboxEntry   *ob = NULL, nob;
	Relay__V1__LedgerEntry    e;
	char                     *own[3] = { NULL, NULL, NULL };
	uint8_t                   k[16];
	int                       rc;

	rc = gw_txn_get(txn, GW_DB_OUTBOX, j->okey, 16,
	    &relay__v1__outbox_entry__descriptor, (ProtobufCMessage **) &ob);
	if (rc == GW_ENOTFOUND)
		return GW_OK; /* not ours any more */
	if (rc != GW_OK)
		return rc;
	if ((rc = gw_txn_del(txn, GW_DB_OUTBOX, j->okey, 16)) != GW_OK)
		goto out;
	if (j->outcome == OUT_DROP)
		goto out;
	gw_key_put_u64(k, j->id);
	rc = gw_txn_get(txn, GW_DB_MESSAGES, k, 8,
	    &relay__v1__message_record__descriptor, (ProtobufCMessage **) &m);
	if (rc == GW_ENOTFOUND) {
		rc = GW_OK;
		goto out;
	}
	if (rc != GW_OK)
		goto out;
	/* the strings set below belong to j: give m its own back before it
	 * is freed */
	own[0] = m->upstream_sid;
	own[1] = m->error_code;
	own[2] = m->error_message;
	m->attempts = ob->attempts + 1;
	m->updated_unix_ms = a->now;
	switch (j->outcome) {
	case OUT_SENT:
		/* a status callback may have overtaken this answer: never
		 * move the status backwards (webhooks.c) */
		if (gw_status_rank(j->status) > gw_status_rank(m->status)) {
			m->status = j->status;
			m->error_code = "";
			m->error_message = "";
		}
		m->upstream_sid = j->upstream_sid;
		/* status callbacks find the message by the relay_sid of the
		 * StatusCallback URL we gave, else by the provider's sid (a
		 * callback URL set in the provider's console): index that.
		 * No provider ever reports on a sandbox message, and the
		 * index's random keys cost a page write per message. */
		if (j->upstream_sid[0] != '\0' &&
		    j->kind != RELAY__V1__ACCOUNT_KIND__ACCOUNT_SANDBOX &&
		    (rc = gw_txn_put_raw(txn, GW_DB_MSG_BY_UPSTREAM,
		         j->upstream_sid, strlen(j->upstream_sid), k, 8, 0)) !=
		        GW_OK)
			goto out;
		break;
	case OUT_RETRY:
		relay__v1__outbox_entry__init(&nob);
		nob.message_id = j->id;
		nob.attempts = m->attempts;
		nob.last_error = j->err_msg;
		gw_key_put_u64(k, (uint64_t) j->next_due);
		gw_key_put_u64(k + 8, j->id);
		if ((rc = gw_txn_put(txn, GW_DB_OUTBOX, k, 16, &nob.base, 0)) !=
		    GW_OK)
			goto out;
		m->error_code = j->err_code;
		m->error_message = j->err_msg;
		break;
	case OUT_FAIL:
		m->status = RELAY__V1__MESSAGE_STATUS__MESSAGE_FAILED;
		m->error_code = j->err_code;
		m->error_message = j->err_msg;
		if (m->refunded || m->cost_micros == 0)
			break;
		gw_key_put_u64(k, m->client_id);
		rc = gw_txn_get(txn, GW_DB_CLIENTS, k, 8,
		    &relay__v1__client_record__descriptor,
		    (ProtobufCMessage **) &c);
		if (rc != GW_OK)
			goto out;
		if ((rc = gw_ledger_apply(txn, c,
		         RELAY__V1__LEDGER_KIND__LEDGER_REFUND, m->cost_micros,
		         "sms failed", m->sid, a->now, &e)) != GW_OK)
			goto out;
		m->refunded = true;
		break;
	case OUT_DROP:
		break;
	}
	gw_key_put_u64(k, j->id);
	rc = gw_txn_put(txn, GW_DB_MESSAGES, k, 8, &m->base, 0);
out:
	if (m != NULL) {
		m->upstream_sid = own[0];
		m->error_code = own[1];
		m->error_message = own[2];
		relay__v1__message_record__free_unpacked(m, NULL);
	}
	if (c != NULL)
		relay__v1__client_record__free_unpacked(c, NULL);
	relay__v1__outbox_entry__free_unpacked(ob, NULL);
	return rc;
}

static int
apply_fn(struct gw_txn *txn, void *arg)
{
	struct apply *a = arg;
	int           rc;

	for (size_t i = 0; i < a->n; i++)
		if ((rc = apply_one(txn, a, a->jobs[i])) != GW_OK)
			return rc;
	return GW_OK;
}

/* ---- the worker loop ------------------------------------------------- */

static bool
in_flight(const struct worker *w, uint64_t id)
{
	for (size_t i = 0; i < w->n_jobs; i++)
		if (w->jobs[i]->id == id)
			return true;
	return false;
}

struct fill {
	struct worker *w;
	struct gw_txn *txn;
	int64_t        now;
	size_t         seen;
	int64_t        next_due; /* the first entry not yet due, 0: none */
};

static void
fill_start(struct fill *f, const uint8_t *key, const Relay__V1__OutboxEntry *ob)
{
	struct worker            *w = f->w;
	Relay__V1__MessageRecord *m = NULL;
	Relay__V1__AccountRecord *acct = NULL;
	struct job               *j;
	uint8_t                   k[8];
	int                       rc;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return;
	j->id = ob->message_id;
	j->attempts = ob->attempts;
	memcpy(j->okey, key, 16);
	w->jobs[w->n_jobs++] = j;
	atomic_fetch_add(&w->d->in_flight, 1);

	gw_key_put_u64(k, j->id);
	rc = gw_txn_get(f->txn, GW_DB_MESSAGES, k, 8,
	    &relay__v1__message_record__descriptor, (ProtobufCMessage **) &m);
	if (rc == GW_ENOTFOUND) {
		j->outcome = OUT_DROP;
		j->done = true;
		return;
	}
	if (rc != GW_OK) {
		job_result(j, OUT_RETRY, "relay_store", "store read failed");
		return;
	}
	j->created_ms = m->created_unix_ms;
	gw_key_put_u64(k, m->account_id);
	rc = gw_txn_get(f->txn, GW_DB_ACCOUNTS, k, 8,
	    &relay__v1__account_record__descriptor,
	    (ProtobufCMessage **) &acct);
	if (rc == GW_ENOTFOUND)
		job_result(j, OUT_FAIL, "relay_account",
		    "provider account "
		    "%llu no longer exists",
		    (unsigned long long) m->account_id);
	else if (rc != GW_OK)
		job_result(j, OUT_RETRY, "relay_store", "store read failed");
	else
		job_start(w, m, acct, j);
	relay__v1__message_record__free_unpacked(m, NULL);
	if (acct != NULL)
		relay__v1__account_record__free_unpacked(acct, NULL);
}

static int
fill_one(const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
	struct fill            *f = arg;
	struct worker          *w = f->w;
	Relay__V1__OutboxEntry *ob;
	int64_t                 due;

	if (klen != 16)
		return 0;
	due = (int64_t) gw_key_get_u64(key);
	if (due > f->now) {
		f->next_due = due;
		return 1;
	}
	if (++f->seen > SCAN_MAX || w->n_jobs == w->d->cfg.max_in_flight)
		return 1;
	if (gw_key_get_u64((const uint8_t *) key + 8) % w->d->n_workers !=
	    w->idx)
		return 0;
	if (in_flight(w, gw_key_get_u64((const uint8_t *) key + 8)))
		return 0;
	if ((ob = relay__v1__outbox_entry__unpack(NULL, vlen, val)) == NULL) {
		gw_error("dispatch", "undecodable outbox entry skipped");
		return 0;
	}
	fill_start(f, key, ob);
	relay__v1__outbox_entry__free_unpacked(ob, NULL);
	return 0;
}

static int64_t
fill(void *arg, int64_t now)
{
	struct worker *w = arg;
	struct fill    f = { .w = w, .now = now };

	if (w->n_jobs == w->d->cfg.max_in_flight)
		return 0;
	if (gw_store_read(w->d->core->store, &f.txn) != GW_OK)
		return 0;
	gw_txn_scan(f.txn, GW_DB_OUTBOX, NULL, 0, NULL, 0, fill_one, &f);
	gw_txn_end(f.txn);
	return f.next_due;
}

/* settle writes the outcomes of every finished job, then forgets them. */
static void
settle(void *arg, int64_t now)
{
	struct worker        *w = arg;
	struct gw_dispatcher *d = w->d;
	struct job          **done = w->done;
	struct apply          a = { .d = d, .jobs = done, .now = now };
	size_t                keep = 0;
	int                   rc;

	for (size_t i = 0; i < w->n_jobs; i++) {
		struct job *j = w->jobs[i];

		if (!j->done) {
			w->jobs[keep++] = j;
			continue;
		}
		if (j->outcome == OUT_RETRY) {
			int64_t at = now +
			    backoff_ms(d, j->attempts + 1, j->retry_after_ms);

			if (at > j->created_ms + d->cfg.retry_deadline_ms) {
				j->outcome = OUT_FAIL;
				snprintf(j->err_code, sizeof(j->err_code),
				    "relay_deadline");
				/* keep the last error's text for the client */
			}
			j->next_due = at;
		}
		done[a.n++] = j;
	}
	if (a.n == 0)
		return;
	w->n_jobs = keep;
	rc = gw_store_write(d->core->store, apply_fn, &a);
	for (size_t i = 0; i < a.n; i++) {
		struct job *j = done[i];

		if (rc != GW_OK) {
			/* the entries stay where they were: sent again */
			gw_error("dispatch",
			    "recording message %llu failed: %s",
			    (unsigned long long) j->id, gw_strerror(rc));
		} else if (j->outcome == OUT_SENT) {
			atomic_fetch_add(&d->sent, 1);
			gw_debug("dispatch", "message %llu sent (%s)",
			    (unsigned long long) j->id, j->upstream_sid);
		} else if (j->outcome == OUT_RETRY) {
			atomic_fetch_add(&d->retried, 1);
			gw_info("dispatch",
			    "message %llu: %s; retry in %lld ms",
			    (unsigned long long) j->id, j->err_msg,
			    (long long) (j->next_due - now));
		} else if (j->outcome == OUT_FAIL) {
			atomic_fetch_add(&d->failed, 1);
			gw_info("dispatch", "message %llu failed: %s %s",
			    (unsigned long long) j->id, j->err_code,
			    j->err_msg);
		}
		if (j->easy != NULL)
			curl_multi_remove_handle(w->multi, j->easy);
		job_free(j);
	}
	atomic_fetch_sub(&d->in_flight, a.n);
}

/* ---- the queue loop (gw_queue_run) ------------------------------- */

static const struct gw_queue_ops queue_ops = {
	.fill = fill,
	.finish = job_finish,
	.settle = settle,
};

static void *
worker_main(void *arg)
{
	struct worker        *w = arg;
	struct gw_dispatcher *d = w->d;

	gw_queue_run(w->multi, &d->stopping, d->cfg.poll_ms, &queue_ops, w);
	/* abandon what is in flight: the outbox still has it */
	for (size_t i = 0; i < w->n_jobs; i++) {
		if (w->jobs[i]->easy != NULL)
			curl_multi_remove_handle(w->multi, w->jobs[i]->easy);
		job_free(w->jobs[i]);
	}
	atomic_fetch_sub(&d->in_flight, w->n_jobs);
	w->n_jobs = 0;
	return NULL;
}

/* ---- start / stop ---------------------------------------------------- */

void
gw_dispatcher_kick(struct gw_dispatcher *d)
{
	if (d == NULL)
		return;
	for (unsigned i = 0; i < d->n_workers; i++)
		curl_multi_wakeup(d->workers[i].multi);
}

static char *
dup_trim(const char *s, const char *dflt)
{
	char  *r;
	size_t n;

	if (s == NULL || s[0] == '\0')
		s = dflt;
	if ((r = strdup(s)) == NULL)
		return NULL;
	for (n = strlen(r); n > 0 && r[n - 1] == '/'; n--)
		r[n - 1] = '\0';
	return r;
}

int
gw_dispatcher_start(struct gw_core    *core,
    const struct gw_dispatcher_config *cfg, struct gw_dispatcher **out)
{
	struct gw_dispatcher *d;
	char                  path[4096];
	unsigned              started = 0;
	int                   rc = GW_ENOMEM;

	if (cfg->state_dir == NULL)
		return GW_EINVAL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return GW_ENOMEM;
	d->core = core;
	d->cfg = *cfg;
	d->sandbox_fd = -1;
	pthread_mutex_init(&d->sandbox_mu, NULL);
#define DFLT(f, v)         \
	if (d->cfg.f == 0) \
	d->cfg.f = (v)
	DFLT(threads, 1);
	DFLT(max_in_flight, 256);
	DFLT(retry_deadline_ms, 3600 * 1000);
	DFLT(backoff_base_ms, 1000);
	DFLT(backoff_max_ms, 300 * 1000);
	DFLT(request_timeout_ms, 30 * 1000);
	DFLT(poll_ms, 250);
#undef DFLT
	if (d->cfg.max_in_flight > 4096)
		d->cfg.max_in_flight = 4096;
	d->public_url = dup_trim(cfg->public_url, "");
	d->twilio_base = dup_trim(cfg->twilio_base_url, TWILIO_BASE);
	d->flowroute_base = dup_trim(cfg->flowroute_base_url, FLOWROUTE_BASE);
	d->workers = calloc(d->cfg.threads, sizeof(*d->workers));
	if (d->public_url == NULL || d->twilio_base == NULL ||
	    d->flowroute_base == NULL || d->workers == NULL)
		goto fail;
	snprintf(path, sizeof(path), "%s/sandbox.jsonl", cfg->state_dir);
	d->sandbox_fd =
	    open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (d->sandbox_fd < 0) {
		gw_error("dispatch", "cannot open %s", path);
		rc = GW_ESTORE;
		goto fail;
	}
	d->n_workers = d->cfg.threads;
	for (unsigned i = 0; i < d->n_workers; i++) {
		struct worker *w = &d->workers[i];

		w->d = d;
		w->idx = i;
		w->jobs = calloc(d->cfg.max_in_flight, sizeof(*w->jobs));
		w->done = calloc(d->cfg.max_in_flight, sizeof(*w->done));
		if (w->jobs == NULL || w->done == NULL ||
		    (w->multi = curl_multi_init()) == NULL)
			goto fail;
		curl_multi_setopt(w->multi, CURLMOPT_MAXCONNECTS,
		    (long) d->cfg.max_in_flight);
	}
	for (; started < d->n_workers; started++) {
		if (pthread_create(&d->workers[started].thread, NULL,
		        worker_main, &d->workers[started]) != 0)
			goto fail;
		pthread_setname_np(d->workers[started].thread, "dispatcher");
	}
	atomic_store(&core->dispatcher, d);
	gw_info("dispatch",
	    "%u thread(s), %u in flight each, retry deadline "
	    "%lld s%s",
	    d->n_workers, d->cfg.max_in_flight,
	    (long long) d->cfg.retry_deadline_ms / 1000,
	    d->public_url[0] ? "" : ", no public URL: no status callbacks");
	*out = d;
	return GW_OK;
fail:
	atomic_store(&d->stopping, true);
	for (unsigned i = 0; i < started; i++) {
		curl_multi_wakeup(d->workers[i].multi);
		pthread_join(d->workers[i].thread, NULL);
	}
	d->n_workers = d->cfg.threads; /* free every worker's parts */
	started = 0;
	d->core = NULL;
	gw_dispatcher_stop(d);
	return rc;
}

void
gw_dispatcher_stop(struct gw_dispatcher *d)
{
	if (d == NULL)
		return;
	if (d->core != NULL) {
		atomic_store(&d->core->dispatcher, NULL);
		atomic_store(&d->stopping, true);
		for (unsigned i = 0; i < d->n_workers; i++) {
			curl_multi_wakeup(d->workers[i].multi);
			pthread_join(d->workers[i].thread, NULL);
		}
	}
	for (unsigned i = 0; d->workers != NULL && i < d->n_workers; i++) {
		if (d->workers[i].multi != NULL)
			curl_multi_cleanup(d->workers[i].multi);
		free(d->workers[i].jobs);
		free(d->workers[i].done);
	}
	if (d->sandbox_fd >= 0)
		close(d->sandbox_fd);
	pthread_mutex_destroy(&d->sandbox_mu);
	free(d->workers);
	free(d->public_url);
	free(d->twilio_base);
	free(d->flowroute_base);
	free(d);
}

void
gw_dispatcher_stats(struct gw_dispatcher *d, struct gw_dispatcher_stats *out)
{
	out->attempts = atomic_load(&d->attempts);
	out->sent = atomic_load(&d->sent);
	out->retried = atomic_load(&d->retried);
	out->failed = atomic_load(&d->failed);
	out->in_flight = atomic_load(&d->in_flight);
}
