/*
 * relayctl - Relay's admin RPCs from the command line, for operators and
 * scripts. Human tables by default; --json prints one JSON document per
 * command (lists as arrays, money as decimal strings). Exit 0 on success,
 * 1 when relayd refuses (status name and message on stderr), 2 on usage
 * errors.
 *
 * Every reply goes through pb_to_json() once; the tables are drawn from
 * that JSON, so both outputs show the same fields the same way.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gw/e164.h"
#include "gw/err.h"
#include "gw/money.h"
#include "pb/json.h"
#include "pb/status.h"
#include "relay/v1/admin.pb-c.h"
#include "rpc/client.h"

#define MAX_OPTS 16
#define MAX_POS  4

/* ---- argument parsing ------------------------------------------------ */

struct args {
	const char *pos[MAX_POS];
	int         npos;
	const char *key[MAX_OPTS];
	const char *val[MAX_OPTS];
	int         nopt;
};

struct ctl {
	struct rpc_client *client; /* opened by the first call */
	const char        *url;
	const char        *state_dir;
	bool               json;
};

static const char usage_text[] =
    "usage: relayctl [--rpc URL] [--state-dir DIR] [--json] COMMAND\n"
    "\n"
    "  client create --name NAME [--balance 10.00] [--status-callback URL]\n"
    "                [--inbound-url URL]\n"
    "  client list | show ID | suspend ID | resume ID\n"
    "  client topup ID AMOUNT --reason TEXT\n"
    "  client adjust ID [+-]AMOUNT --reason TEXT\n"
    "  client ledger ID [--after SEQ] [--limit N]\n"
    "  key create --client ID | list [--client ID] | revoke KEY_ID\n"
    "  account create --kind twilio|flowroute|sandbox [--sid SID]\n"
    "                 [--token TOKEN|-] [--base-url URL] [--from NUMBER]\n"
    "                 [--description TEXT]\n"
    "  account list | show ID | delete ID\n"
    "  account update ID [--sid SID] [--token TOKEN|-] [--base-url URL]\n"
    "                 [--from NUMBER] [--description TEXT]\n"
    "  route create --pattern REGEX --priority N --account ID --price 0.0075\n"
    "               [--disabled]\n"
    "  route list | delete ID | test NUMBER [--body TEXT]\n"
    "  route update ID [--pattern REGEX] [--priority N] [--account ID]\n"
    "               [--price AMOUNT] [--enabled true|false]\n"
    "  tn add NUMBER | list | remove NUMBER\n"
    "  tn assign NUMBER --client ID [--account ID] | unassign NUMBER\n"
    "  tn autoreply NUMBER TEXT | autoreply NUMBER --clear\n"
    "  client webhook-secret ID       (sets or rotates; printed once)\n"
    "  inbound list [--client ID] [--before ID] [--limit N]\n"
    "  events list [--client ID] [--state pending|delivered|dead] "
    "[--limit N]\n"
    "  message list [--client ID] [--status S] [--limit N] [--page TOKEN]\n"
    "  message show SID\n"
    "  stats [--low-balance 1.00]\n"
    "  settings get | set KEY VALUE\n"
    "\n"
    "  RELAY_RPC_URL, RELAY_STATE_DIR and RELAY_ADMIN_TOKEN are read too;\n"
    "  flags win. The admin token defaults to STATE_DIR/admin.token.\n"
    "  --token - reads the provider token from standard input.\n"
    "  message list is newest first; a further page is --page TOKEN.\n";

static int usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static int
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "relayctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nrun 'relayctl --help' for usage\n");
	return 2;
}

/* parse_args splits argv into positionals and --key value pairs; flags in
 * `flags` (space-separated) take no value. */
static int
parse_args(int argc, char **argv, const char *allowed, const char *flags,
    struct args *a)
{
	memset(a, 0, sizeof(*a));
	for (int i = 0; i < argc; i++) {
		const char *s = argv[i];
		char        name[64];
		const char *eq;

		if (strncmp(s, "--", 2) != 0 || s[2] == '\0') {
			if (a->npos == MAX_POS)
				return usage_error("too many arguments at '%s'",
				    s);
			a->pos[a->npos++] = s;
			continue;
		}
		s += 2;
		eq = strchr(s, '=');
		snprintf(name, sizeof(name), "%.*s",
		    (int) (eq ? (size_t) (eq - s) : strlen(s)), s);
		if (a->nopt == MAX_OPTS)
			return usage_error("too many options at '%s'", s);
		if (strstr(flags, name) != NULL) {
			a->key[a->nopt]   = s;
			a->val[a->nopt++] = "true";
			continue;
		}
		{
			char padded[70];

			snprintf(padded, sizeof(padded), " %s ", name);
			if (strstr(allowed, padded) == NULL)
				return usage_error("unknown option --%s", name);
		}
		if (eq == NULL && i + 1 == argc)
			return usage_error("--%s needs a value", name);
		a->key[a->nopt]   = argv[i] + 2; /* compared by prefix below */
		a->val[a->nopt++] = eq ? eq + 1 : argv[++i];
	}
	return 0;
}

static const char *
opt(const struct args *a, const char *name)
{
	size_t n = strlen(name);

	for (int i = 0; i < a->nopt; i++)
		if (strncmp(a->key[i], name, n) == 0 &&
		    (a->key[i][n] == '\0' || a->key[i][n] == '='))
			return a->val[i];
	return NULL;
}

static int
parse_id(const char *s, const char *what, uint64_t *out)
{
	char              *end;
	unsigned long long v;

	if (s == NULL)
		return usage_error("%s is required", what);
	v = strtoull(s, &end, 10);
	if (*s == '\0' || *end != '\0' || *s == '-' || v == 0)
		return usage_error("%s must be a positive whole number", what);
	*out = v;
	return 0;
}

static int
parse_money(const char *s, const char *what, int64_t *out)
{
	if (s == NULL)
		return usage_error("%s is required", what);
	if (gw_money_parse(s, out) != GW_OK)
		return usage_error("%s: not an amount like 10.00 or 0.0075 "
		    "(at most 6 decimals)", what);
	return 0;
}

/* ---- output ---------------------------------------------------------- */

struct col {
	const char *head;
	const char *key;
};

/* cell renders one value; max > 0 shortens it to fit a table column. */
static void
cell(json_t *v, char *buf, size_t len, size_t max)
{
	if (v == NULL || json_is_null(v))
		snprintf(buf, len, "-");
	else if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long) json_integer_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, len, "%s", json_is_true(v) ? "yes" : "no");
	else
		snprintf(buf, len, "?");
	if (max > 3 && strlen(buf) > max) /* --json has it all */
		strcpy(buf + max - 3, "...");
}

static void
print_table(json_t *rows, const struct col *cols)
{
	size_t ncol = 0, w[16] = { 0 };
	char   buf[64];
	size_t i;
	json_t *row;

	for (; cols[ncol].head != NULL; ncol++)
		w[ncol] = strlen(cols[ncol].head);
	json_array_foreach(rows, i, row) {
		for (size_t c = 0; c < ncol; c++) {
			cell(json_object_get(row, cols[c].key), buf, sizeof(buf),
			    40);
			if (strlen(buf) > w[c])
				w[c] = strlen(buf);
		}
	}
	for (size_t c = 0; c < ncol; c++)
		printf("%-*s%s", (int) w[c], cols[c].head,
		    c + 1 < ncol ? "  " : "\n");
	json_array_foreach(rows, i, row) {
		for (size_t c = 0; c < ncol; c++) {
			cell(json_object_get(row, cols[c].key), buf, sizeof(buf),
			    40);
			printf("%-*s%s", (int) w[c], buf,
			    c + 1 < ncol ? "  " : "\n");
		}
	}
	if (json_array_size(rows) == 0)
		printf("(none)\n");
}

static void
print_object(json_t *obj, const char *indent)
{
	const char *k;
	json_t     *v;
	char        buf[512];

	json_object_foreach(obj, k, v) {
		if (json_is_object(v)) {
			printf("%s%s:\n", indent, k);
			print_object(v, "  ");
			continue;
		}
		cell(v, buf, sizeof(buf), 0);
		printf("%s%-20s %s\n", indent, k, buf);
	}
}

/* emit prints doc (owned, consumed): as JSON, or as a table of the array
 * at list_key with cols, or as key/value lines. */
static int
emit(struct ctl *ctl, json_t *doc, const char *list_key,
    const struct col *cols)
{
	json_t *out = doc;

	if (doc == NULL) {
		fprintf(stderr, "relayctl: out of memory\n");
		return 1;
	}
	if (list_key != NULL)
		out = json_object_get(doc, list_key);
	if (ctl->json) {
		char *s = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

		puts(s != NULL ? s : "null");
		free(s);
	} else if (list_key != NULL) {
		print_table(out, cols);
	} else {
		print_object(out, "");
	}
	json_decref(doc);
	return 0;
}

/* call invokes an Admin method and converts the reply to JSON. */
static int
call(struct ctl *ctl, const char *method, const ProtobufCMessage *req,
    json_t **doc)
{
	ProtobufCMessage *resp;
	struct rpc_status st;

	/* connect only once the command line is known to be good: nothing
	 * dials relayd for a usage error */
	if (ctl->client == NULL) {
		char token[256];

		if (rpc_client_open(ctl->url, &ctl->client) != GW_OK) {
			fprintf(stderr, "relayctl: --rpc: cannot use '%s'\n",
			    ctl->url);
			return 2;
		}
		if (rpc_default_admin_token(ctl->state_dir, token,
			sizeof(token)) == GW_OK)
			rpc_client_set_admin_token(ctl->client, token);
		explicit_bzero(token, sizeof(token));
		rpc_client_set_timeout(ctl->client, 5000);
	}
	if (rpc_invoke(ctl->client, &relay__v1__admin__descriptor, method, req,
		&resp, &st) != GW_OK) {
		fprintf(stderr, "relayctl: %s: %s\n", pb_status_name(st.code),
		    st.message);
		return 1;
	}
	*doc = pb_to_json(resp);
	protobuf_c_message_free_unpacked(resp, NULL);
	return 0;
}

static int
call_emit(struct ctl *ctl, const char *method, const ProtobufCMessage *req,
    const char *list_key, const struct col *cols)
{
	json_t *doc;
	int     rc = call(ctl, method, req, &doc);

	return rc != 0 ? rc : emit(ctl, doc, list_key, cols);
}

static const struct col client_cols[] = {
	{ "ID", "id" }, { "NAME", "name" }, { "BALANCE", "balance" },
	{ "STATUS", "status" }, { "CREATED", "created_at" }, { NULL, NULL },
};
static const struct col ledger_cols[] = {
	{ "SEQ", "seq" }, { "KIND", "kind" }, { "AMOUNT", "amount" },
	{ "BALANCE", "balance_after" }, { "REASON", "reason" },
	{ "REF", "ref" }, { "AT", "created_at" }, { NULL, NULL },
};
static const struct col key_cols[] = {
	{ "ID", "id" }, { "CLIENT", "client_id" }, { "PREFIX", "prefix" },
	{ "CREATED", "created_at" }, { "REVOKED", "revoked_at" },
	{ NULL, NULL },
};
static const struct col account_cols[] = {
	{ "ID", "id" }, { "KIND", "kind" }, { "SID", "sid" },
	{ "FROM", "from_number" }, { "TOKEN", "has_token" },
	{ "BASE URL", "base_url" }, { "DESCRIPTION", "description" },
	{ NULL, NULL },
};
static const struct col route_cols[] = {
	{ "ID", "id" }, { "PRIORITY", "priority" }, { "PATTERN", "pattern" },
	{ "ACCOUNT", "account_id" }, { "PRICE", "price" },
	{ "ENABLED", "enabled" }, { NULL, NULL },
};
static const struct col tn_cols[] = {
	{ "NUMBER", "number" }, { "CLIENT", "client_id" },
	{ "ACCOUNT", "account_id" }, { "AUTO-REPLY", "auto_reply" },
	{ "ADDED", "created_at" }, { NULL, NULL },
};
static const struct col inbound_cols[] = {
	{ "ID", "id" }, { "CLIENT", "client_id" }, { "TO", "to" },
	{ "FROM", "from" }, { "BODY", "body" }, { "EVENT", "event_id" },
	{ "RECEIVED", "received_at" }, { NULL, NULL },
};
static const struct col event_cols[] = {
	{ "SEQ", "seq" }, { "ID", "id" }, { "TYPE", "type" },
	{ "CLIENT", "client_id" }, { "STATE", "state" },
	{ "ATTEMPTS", "attempts" }, { "LAST ERROR", "last_error" },
	{ "CREATED", "created_at" }, { NULL, NULL },
};

/* ---- commands -------------------------------------------------------- */

static int
cmd_client(struct ctl *ctl, int argc, char **argv)
{
	struct args a;
	const char *sub = argc > 0 ? argv[0] : "";
	uint64_t    id = 0;
	int         rc;

	if ((rc = parse_args(argc - 1, argv + 1,
		 " name balance status-callback inbound-url reason after "
		 "limit ",
		 "", &a)) != 0)
		return rc;
	if (strcmp(sub, "create") == 0) {
		Relay__V1__CreateClientRequest req =
		    RELAY__V1__CREATE_CLIENT_REQUEST__INIT;
		const char *bal = opt(&a, "balance");

		if ((req.name = (char *) opt(&a, "name")) == NULL)
			return usage_error("%s", "client create: --name is "
						 "required");
		if (bal != NULL &&
		    (rc = parse_money(bal, "--balance", &req.balance_micros)))
			return rc;
		req.status_callback_url = (char *) (opt(&a, "status-callback")
			?: "");
		req.inbound_url = (char *) (opt(&a, "inbound-url") ?: "");
		return call_emit(ctl, "CreateClient", &req.base, NULL, NULL);
	}
	if (strcmp(sub, "list") == 0) {
		Relay__V1__Empty req = RELAY__V1__EMPTY__INIT;

		return call_emit(ctl, "ListClients", &req.base, "clients",
		    client_cols);
	}
	if ((rc = parse_id(a.pos[0], "client ID", &id)) != 0)
		return rc;
	if (strcmp(sub, "webhook-secret") == 0) {
		Relay__V1__IdRequest req = RELAY__V1__ID_REQUEST__INIT;
		json_t              *doc;

		req.id = id;
		if ((rc = call(ctl, "RotateWebhookSecret", &req.base, &doc)))
			return rc;
		if (ctl->json)
			return emit(ctl, doc, NULL, NULL);
		printf("webhook secret for client %llu: %s\n",
		    (unsigned long long) id,
		    json_string_value(json_object_get(doc, "secret")));
		printf("Store it now: it is not shown again. Events are signed "
		       "with it from now on.\n");
		json_decref(doc);
		return 0;
	}
	if (strcmp(sub, "show") == 0) {
		Relay__V1__IdRequest req = RELAY__V1__ID_REQUEST__INIT;

		req.id = id;
		return call_emit(ctl, "GetClient", &req.base, NULL, NULL);
	}
	if (strcmp(sub, "topup") == 0 || strcmp(sub, "adjust") == 0) {
		Relay__V1__ChangeBalanceRequest req =
		    RELAY__V1__CHANGE_BALANCE_REQUEST__INIT;

		req.client_id = id;
		req.change    = sub[0] == 't'
			   ? RELAY__V1__BALANCE_CHANGE__BALANCE_TOPUP
			   : RELAY__V1__BALANCE_CHANGE__BALANCE_ADJUST;
		if ((rc = parse_money(a.pos[1], "AMOUNT", &req.amount_micros)))
			return rc;
		if ((req.reason = (char *) opt(&a, "reason")) == NULL)
			return usage_error("%s", "--reason is required: every "
						 "balance change is explained "
						 "in the ledger");
		return call_emit(ctl, "ChangeBalance", &req.base, NULL, NULL);
	}
	if (strcmp(sub, "suspend") == 0 || strcmp(sub, "resume") == 0) {
		Relay__V1__SetClientStatusRequest req =
		    RELAY__V1__SET_CLIENT_STATUS_REQUEST__INIT;

		req.client_id = id;
		req.status    = sub[0] == 's'
			? RELAY__V1__CLIENT_STATUS__CLIENT_SUSPENDED
			: RELAY__V1__CLIENT_STATUS__CLIENT_ACTIVE;
		return call_emit(ctl, "SetClientStatus", &req.base, NULL, NULL);
	}
	if (strcmp(sub, "ledger") == 0) {
		Relay__V1__ListLedgerRequest req =
		    RELAY__V1__LIST_LEDGER_REQUEST__INIT;
		json_t *doc;

		req.client_id = id;
		if (opt(&a, "after") != NULL)
			req.after_seq = strtoull(opt(&a, "after"), NULL, 10);
		if (opt(&a, "limit") != NULL)
			req.limit = (uint32_t) strtoul(opt(&a, "limit"), NULL,
			    10);
		if ((rc = call(ctl, "ListLedger", &req.base, &doc)) != 0)
			return rc;
		if (ctl->json)
			return emit(ctl, doc, NULL, NULL);
		printf("client %llu  balance %s  ledger sum %s\n",
		    (unsigned long long) id,
		    json_string_value(json_object_get(
			json_object_get(doc, "client"), "balance")),
		    json_string_value(json_object_get(doc, "sum")));
		return emit(ctl, doc, "entries", ledger_cols);
	}
	return usage_error("unknown command 'client %s'", sub);
}

static int
cmd_key(struct ctl *ctl, int argc, char **argv)
{
	struct args a;
	const char *sub = argc > 0 ? argv[0] : "";
	int         rc;

	if ((rc = parse_args(argc - 1, argv + 1, " client ", "", &a)) != 0)
		return rc;
	if (strcmp(sub, "create") == 0) {
		Relay__V1__CreateKeyRequest req =
		    RELAY__V1__CREATE_KEY_REQUEST__INIT;
		json_t *doc, *key;

		if ((rc = parse_id(opt(&a, "client"), "--client", &req.client_id)))
			return rc;
		if ((rc = call(ctl, "CreateKey", &req.base, &doc)) != 0)
			return rc;
		/* flatten: the key object, plus the raw key shown once */
		key = json_incref(json_object_get(doc, "key"));
		json_object_set(key, "key", json_object_get(doc, "raw_key"));
		json_decref(doc);
		if (!ctl->json) {
			printf("key %lld for client %lld: %s\n",
			    (long long) json_integer_value(
				json_object_get(key, "id")),
			    (long long) json_integer_value(
				json_object_get(key, "client_id")),
			    json_string_value(json_object_get(key, "key")));
			printf("Store it now: it is not shown again.\n");
			json_decref(key);
			return 0;
		}
		return emit(ctl, key, NULL, NULL);
	}
	if (strcmp(sub, "list") == 0) {
		Relay__V1__ListKeysRequest req =
		    RELAY__V1__LIST_KEYS_REQUEST__INIT;

		if (opt(&a, "client") != NULL &&
		    (rc = parse_id(opt(&a, "client"), "--client",
			 &req.client_id)))
			return rc;
		return call_emit(ctl, "ListKeys", &req.base, "keys", key_cols);
	}
	if (strcmp(sub, "revoke") == 0) {
		Relay__V1__IdRequest req = RELAY__V1__ID_REQUEST__INIT;

		if ((rc = parse_id(a.pos[0], "KEY_ID", &req.id)) != 0)
			return rc;
		return call_emit(ctl, "RevokeKey", &req.base, NULL, NULL);
	}
	return usage_error("unknown command 'key %s'", sub);
}

/* read_token reads a provider token from stdin for --token -. */
static char *
read_token(char *buf, size_t len)
{
	size_t n;

	if (fgets(buf, (int) len, stdin) == NULL)
		return NULL;
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	return buf;
}

/* account_update sends only the fields given; the token is write-only
 * and "-" reads it from standard input. */
static int
account_update(struct ctl *ctl, const struct args *a)
{
	Relay__V1__UpdateAccountRequest req =
	    RELAY__V1__UPDATE_ACCOUNT_REQUEST__INIT;
	const char *v;
	char        tok[256] = "";
	int         rc;

	if ((rc = parse_id(a->pos[0], "account ID", &req.id)) != 0)
		return rc;
	if ((v = opt(a, "sid")) != NULL) {
		req.set_sid_case =
		    RELAY__V1__UPDATE_ACCOUNT_REQUEST__SET_SID_SID;
		req.sid          = (char *) v;
	}
	if ((v = opt(a, "token")) != NULL) {
		req.set_token_case =
		    RELAY__V1__UPDATE_ACCOUNT_REQUEST__SET_TOKEN_TOKEN;
		req.token = (char *) v;
		if (strcmp(v, "-") == 0 &&
		    (req.token = read_token(tok, sizeof(tok))) == NULL)
			return usage_error("%s", "--token -: nothing on "
						 "standard input");
	}
	if ((v = opt(a, "base-url")) != NULL) {
		req.set_base_url_case =
		    RELAY__V1__UPDATE_ACCOUNT_REQUEST__SET_BASE_URL_BASE_URL;
		req.base_url = (char *) v;
	}
	if ((v = opt(a, "from")) != NULL) {
		req.set_from_number_case =
		    RELAY__V1__UPDATE_ACCOUNT_REQUEST__SET_FROM_NUMBER_FROM_NUMBER;
		req.from_number = (char *) v;
	}
	if ((v = opt(a, "description")) != NULL) {
		req.set_description_case =
		    RELAY__V1__UPDATE_ACCOUNT_REQUEST__SET_DESCRIPTION_DESCRIPTION;
		req.description = (char *) v;
	}
	if (a->nopt == 0)
		return usage_error("%s", "account update: nothing to change");
	rc = call_emit(ctl, "UpdateAccount", &req.base, NULL, NULL);
	explicit_bzero(tok, sizeof(tok));
	return rc;
}

static int
cmd_account(struct ctl *ctl, int argc, char **argv)
{
	struct args a;
	const char *sub = argc > 0 ? argv[0] : "";
	int         rc;

	if ((rc = parse_args(argc - 1, argv + 1,
		 " kind sid token base-url from description ", "", &a)) != 0)
		return rc;
	if (strcmp(sub, "create") == 0) {
		Relay__V1__CreateAccountRequest req =
		    RELAY__V1__CREATE_ACCOUNT_REQUEST__INIT;
		const char *kind = opt(&a, "kind") ?: "";
		char        tok[256];

		if (strcmp(kind, "twilio") == 0)
			req.kind = RELAY__V1__ACCOUNT_KIND__ACCOUNT_TWILIO;
		else if (strcmp(kind, "flowroute") == 0)
			req.kind = RELAY__V1__ACCOUNT_KIND__ACCOUNT_FLOWROUTE;
		else if (strcmp(kind, "sandbox") == 0)
			req.kind = RELAY__V1__ACCOUNT_KIND__ACCOUNT_SANDBOX;
		else
			return usage_error("%s", "--kind: twilio, flowroute "
						 "or sandbox");
		req.sid   = (char *) (opt(&a, "sid") ?: "");
		req.token = (char *) (opt(&a, "token") ?: "");
		if (strcmp(req.token, "-") == 0 &&
		    (req.token = read_token(tok, sizeof(tok))) == NULL)
			return usage_error("%s", "--token -: nothing on "
						 "standard input");
		req.base_url    = (char *) (opt(&a, "base-url") ?: "");
		req.from_number = (char *) (opt(&a, "from") ?: "");
		req.description = (char *) (opt(&a, "description") ?: "");
		rc = call_emit(ctl, "CreateAccount", &req.base, NULL, NULL);
		explicit_bzero(tok, sizeof(tok));
		return rc;
	}
	if (strcmp(sub, "list") == 0) {
		Relay__V1__Empty req = RELAY__V1__EMPTY__INIT;

		return call_emit(ctl, "ListAccounts", &req.base, "accounts",
		    account_cols);
	}
	if (strcmp(sub, "update") == 0)
		return account_update(ctl, &a);
	if (strcmp(sub, "show") == 0 || strcmp(sub, "delete") == 0) {
		Relay__V1__IdRequest req = RELAY__V1__ID_REQUEST__INIT;

		if ((rc = parse_id(a.pos[0], "account ID", &req.id)) != 0)
			return rc;
		return call_emit(ctl, sub[0] == 's' ? "GetAccount"
						    : "DeleteAccount",
		    &req.base, NULL, NULL);
	}
	return usage_error("unknown command 'account %s'", sub);
}

static int
parse_priority(const char *s, int32_t *out)
{
	char *end;
	long  v;

	if (s == NULL)
		return usage_error("%s", "--priority is required");
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < -1000000 || v > 1000000)
		return usage_error("--priority: a whole number, got '%s'", s);
	*out = (int32_t) v;
	return 0;
}

static int
cmd_route(struct ctl *ctl, int argc, char **argv)
{
	struct args a;
	const char *sub = argc > 0 ? argv[0] : "";
	int         rc;

	if ((rc = parse_args(argc - 1, argv + 1,
		 " pattern priority account price enabled body ", "disabled",
		 &a)) != 0)
		return rc;
	if (strcmp(sub, "create") == 0) {
		Relay__V1__CreateRouteRequest req =
		    RELAY__V1__CREATE_ROUTE_REQUEST__INIT;

		if ((req.pattern = (char *) opt(&a, "pattern")) == NULL)
			return usage_error("%s", "--pattern is required");
		if ((rc = parse_priority(opt(&a, "priority"), &req.priority)) ||
		    (rc = parse_id(opt(&a, "account"), "--account",
			 &req.account_id)) ||
		    (rc = parse_money(opt(&a, "price"), "--price",
			 &req.price_micros)))
			return rc;
		req.disabled = opt(&a, "disabled") != NULL;
		return call_emit(ctl, "CreateRoute", &req.base, NULL, NULL);
	}
	if (strcmp(sub, "list") == 0) {
		Relay__V1__Empty req = RELAY__V1__EMPTY__INIT;

		return call_emit(ctl, "ListRoutes", &req.base, "routes",
		    route_cols);
	}
	if (strcmp(sub, "update") == 0) {
		Relay__V1__UpdateRouteRequest req =
		    RELAY__V1__UPDATE_ROUTE_REQUEST__INIT;
		const char *v;

		if ((rc = parse_id(a.pos[0], "route ID", &req.id)) != 0)
			return rc;
		if ((v = opt(&a, "pattern")) != NULL) {
			req.set_pattern_case =
			    RELAY__V1__UPDATE_ROUTE_REQUEST__SET_PATTERN_PATTERN;
			req.pattern = (char *) v;
		}
		if ((v = opt(&a, "priority")) != NULL) {
			if ((rc = parse_priority(v, &req.priority)) != 0)
				return rc;
			req.set_priority_case =
			    RELAY__V1__UPDATE_ROUTE_REQUEST__SET_PRIORITY_PRIORITY;
		}
		if ((v = opt(&a, "account")) != NULL) {
			if ((rc = parse_id(v, "--account", &req.account_id)))
				return rc;
			req.set_account_id_case =
			    RELAY__V1__UPDATE_ROUTE_REQUEST__SET_ACCOUNT_ID_ACCOUNT_ID;
		}
		if ((v = opt(&a, "price")) != NULL) {
			if ((rc = parse_money(v, "--price", &req.price_micros)))
				return rc;
			req.set_price_micros_case =
			    RELAY__V1__UPDATE_ROUTE_REQUEST__SET_PRICE_MICROS_PRICE_MICROS;
		}
		if ((v = opt(&a, "enabled")) != NULL) {
			if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
				return usage_error("%s",
				    "--enabled: true or false");
			req.enabled = v[0] == 't';
			req.set_enabled_case =
			    RELAY__V1__UPDATE_ROUTE_REQUEST__SET_ENABLED_ENABLED;
		}
		return call_emit(ctl, "UpdateRoute", &req.base, NULL, NULL);
	}
	if (strcmp(sub, "delete") == 0) {
		Relay__V1__IdRequest req = RELAY__V1__ID_REQUEST__INIT;

		if ((rc = parse_id(a.pos[0], "route ID", &req.id)) != 0)
			return rc;
		return call_emit(ctl, "DeleteRoute", &req.base, NULL, NULL);
	}
	if (strcmp(sub, "test") == 0) {
		Relay__V1__TestRouteRequest req =
		    RELAY__V1__TEST_ROUTE_REQUEST__INIT;
		json_t *doc, *r, *acct;

		if ((req.number = (char *) a.pos[0]) == NULL)
			return usage_error("%s", "route test: NUMBER is "
						 "required");
		req.body = (char *) (opt(&a, "body") ?: "");
		if ((rc = call(ctl, "TestRoute", &req.base, &doc)) != 0)
			return rc;
		if (ctl->json)
			return emit(ctl, doc, NULL, NULL);
		r    = json_object_get(doc, "route");
		acct = json_object_get(doc, "account");
		printf("%s -> route %lld (priority %lld, pattern %s) -> account "
		       "%lld (%s%s%s)\n",
		    json_string_value(json_object_get(doc, "number")),
		    (long long) json_integer_value(json_object_get(r, "id")),
		    (long long) json_integer_value(
			json_object_get(r, "priority")),
		    json_string_value(json_object_get(r, "pattern")),
		    (long long) json_integer_value(json_object_get(acct, "id")),
		    json_string_value(json_object_get(acct, "kind")),
		    json_string_length(json_object_get(acct, "sid")) ? " " : "",
		    json_string_value(json_object_get(acct, "sid")));
		printf("price %s per segment; this body: %lld segment(s) %s = "
		       "%s\n",
		    json_string_value(json_object_get(r, "price")),
		    (long long) json_integer_value(
			json_object_get(doc, "segments")),
		    json_string_value(json_object_get(doc, "encoding")),
		    json_string_value(json_object_get(doc, "price")));
		json_decref(doc);
		return 0;
	}
	return usage_error("unknown command 'route %s'", sub);
}

static int
cmd_tn(struct ctl *ctl, int argc, char **argv)
{
	struct args a;
	const char *sub = argc > 0 ? argv[0] : "";
	int         rc;

	if ((rc = parse_args(argc - 1, argv + 1, " client account ", "clear",
		 &a)) != 0)
		return rc;
	if (strcmp(sub, "list") == 0) {
		Relay__V1__Empty req = RELAY__V1__EMPTY__INIT;

		return call_emit(ctl, "ListTns", &req.base, "tns", tn_cols);
	}
	if (strcmp(sub, "assign") == 0 || strcmp(sub, "unassign") == 0) {
		Relay__V1__AssignTnRequest req =
		    RELAY__V1__ASSIGN_TN_REQUEST__INIT;

		if ((req.number = (char *) a.pos[0]) == NULL)
			return usage_error("tn %s: NUMBER is required", sub);
		if (sub[0] == 'a' &&
		    (rc = parse_id(opt(&a, "client"), "--client",
			 &req.client_id)))
			return rc;
		if (sub[0] == 'a' && opt(&a, "account") != NULL &&
		    (rc = parse_id(opt(&a, "account"), "--account",
			 &req.account_id)))
			return rc;
		return call_emit(ctl, "AssignTn", &req.base, NULL, NULL);
	}
	if (strcmp(sub, "autoreply") == 0) {
		Relay__V1__SetTnAutoReplyRequest req =
		    RELAY__V1__SET_TN_AUTO_REPLY_REQUEST__INIT;
		bool clear = opt(&a, "clear") != NULL;

		if ((req.number = (char *) a.pos[0]) == NULL)
			return usage_error("%s", "tn autoreply: NUMBER is "
						 "required");
		if (clear == (a.pos[1] != NULL))
			return usage_error("%s", "tn autoreply NUMBER TEXT, or "
						 "NUMBER --clear");
		req.text = (char *) (clear ? "" : a.pos[1]);
		if (!clear && req.text[0] == '\0')
			return usage_error("%s", "tn autoreply: TEXT is empty "
						 "(use --clear)");
		return call_emit(ctl, "SetTnAutoReply", &req.base, NULL, NULL);
	}
	if (strcmp(sub, "add") == 0 || strcmp(sub, "remove") == 0) {
		Relay__V1__TnRequest req = RELAY__V1__TN_REQUEST__INIT;

		if ((req.number = (char *) a.pos[0]) == NULL)
			return usage_error("tn %s: NUMBER is required", sub);
		return call_emit(ctl, sub[0] == 'a' ? "AddTn" : "RemoveTn",
		    &req.base, NULL, NULL);
	}
	return usage_error("unknown command 'tn %s'", sub);
}

static int
parse_limit(const char *s, uint32_t *out)
{
	char         *end;
	unsigned long v;

	if (s == NULL)
		return 0;
	v = strtoul(s, &end, 10);
	if (*s == '\0' || *end != '\0' || *s == '-' || v == 0 || v > 1000)
		return usage_error("--limit: 1 to 1000, got '%s'", s);
	*out = (uint32_t) v;
	return 0;
}

static int
cmd_inbound(struct ctl *ctl, int argc, char **argv)
{
	struct args a;
	const char *sub = argc > 0 ? argv[0] : "";
	int         rc;

	if ((rc = parse_args(argc - 1, argv + 1, " client before limit ", "",
		 &a)) != 0)
		return rc;
	if (strcmp(sub, "list") == 0) {
		Relay__V1__ListInboundRequest req =
		    RELAY__V1__LIST_INBOUND_REQUEST__INIT;

		if (opt(&a, "client") != NULL &&
		    (rc = parse_id(opt(&a, "client"), "--client",
			 &req.client_id)))
			return rc;
		if (opt(&a, "before") != NULL &&
		    (rc = parse_id(opt(&a, "before"), "--before",
			 &req.before_id)))
			return rc;
		if ((rc = parse_limit(opt(&a, "limit"), &req.limit)) != 0)
			return rc;
		return call_emit(ctl, "ListInbound", &req.base, "messages",
		    inbound_cols);
	}
	return usage_error("unknown command 'inbound %s'", sub);
}

static int
cmd_events(struct ctl *ctl, int argc, char **argv)
{
	struct args a;
	const char *sub = argc > 0 ? argv[0] : "";
	int         rc;

	if ((rc = parse_args(argc - 1, argv + 1, " client state limit ", "",
		 &a)) != 0)
		return rc;
	if (strcmp(sub, "list") == 0) {
		Relay__V1__ListWebhookEventsRequest req =
		    RELAY__V1__LIST_WEBHOOK_EVENTS_REQUEST__INIT;
		const char *st = opt(&a, "state");

		if (opt(&a, "client") != NULL &&
		    (rc = parse_id(opt(&a, "client"), "--client",
			 &req.client_id)))
			return rc;
		if (st == NULL)
			req.state = 0;
		else if (strcmp(st, "pending") == 0)
			req.state = RELAY__V1__WEBHOOK_EVENT_STATE__EVENT_PENDING;
		else if (strcmp(st, "delivered") == 0)
			req.state =
			    RELAY__V1__WEBHOOK_EVENT_STATE__EVENT_DELIVERED;
		else if (strcmp(st, "dead") == 0)
			req.state = RELAY__V1__WEBHOOK_EVENT_STATE__EVENT_DEAD;
		else
			return usage_error("%s", "--state: pending, delivered "
						 "or dead");
		if ((rc = parse_limit(opt(&a, "limit"), &req.limit)) != 0)
			return rc;
		return call_emit(ctl, "ListWebhookEvents", &req.base, "events",
		    event_cols);
	}
	return usage_error("unknown command 'events %s'", sub);
}

static const struct col message_cols[] = {
	{ "SID", "sid" }, { "CLIENT", "client_id" }, { "TO", "to" },
	{ "STATUS", "status" }, { "COST", "cost" }, { "SEG", "segments" },
	{ "ERROR", "error_code" }, { "CREATED", "created_at" }, { NULL, NULL },
};

static int
message_list(struct ctl *ctl, const struct args *a)
{
	Relay__V1__AdminListMessagesRequest req =
	    RELAY__V1__ADMIN_LIST_MESSAGES_REQUEST__INIT;
	json_t     *doc;
	const char *next;
	char        more[128] = "";
	int         rc;

	if (opt(a, "client") != NULL &&
	    (rc = parse_id(opt(a, "client"), "--client", &req.client_id)))
		return rc;
	if ((rc = parse_limit(opt(a, "limit"), &req.limit)) != 0)
		return rc;
	req.status     = (char *) (opt(a, "status") ?: "");
	req.page_token = (char *) (opt(a, "page") ?: "");
	if ((rc = call(ctl, "ListMessages", &req.base, &doc)) != 0)
		return rc;
	next = json_string_value(json_object_get(doc, "next_page_token"));
	if (next != NULL && next[0] != '\0')
		snprintf(more, sizeof(more), "%s", next);
	rc = emit(ctl, doc, "messages", message_cols);
	/* --json keeps stdout one array; the token goes to stderr there */
	if (rc == 0 && more[0] != '\0')
		fprintf(ctl->json ? stderr : stdout,
		    "more: relayctl message list ... --page %s\n", more);
	return rc;
}

static int
cmd_message(struct ctl *ctl, int argc, char **argv)
{
	struct args a;
	const char *sub = argc > 0 ? argv[0] : "";
	int         rc;

	if ((rc = parse_args(argc - 1, argv + 1, " client status limit page ",
		 "", &a)) != 0)
		return rc;
	if (strcmp(sub, "list") == 0)
		return message_list(ctl, &a);
	if (strcmp(sub, "show") == 0) {
		Relay__V1__MessageSidRequest req =
		    RELAY__V1__MESSAGE_SID_REQUEST__INIT;

		if ((req.sid = (char *) a.pos[0]) == NULL)
			return usage_error("%s", "message show: SID is "
						 "required");
		return call_emit(ctl, "GetMessage", &req.base, NULL, NULL);
	}
	return usage_error("unknown command 'message %s'", sub);
}

static int
cmd_stats(struct ctl *ctl, int argc, char **argv)
{
	Relay__V1__GetStatsRequest req = RELAY__V1__GET_STATS_REQUEST__INIT;
	struct args                a;
	int                        rc;

	if ((rc = parse_args(argc, argv, " low-balance ", "", &a)) != 0)
		return rc;
	if (a.npos > 0)
		return usage_error("stats takes no argument ('%s')", a.pos[0]);
	if (opt(&a, "low-balance") != NULL &&
	    (rc = parse_money(opt(&a, "low-balance"), "--low-balance",
		 &req.low_balance_micros)))
		return rc;
	return call_emit(ctl, "GetStats", &req.base, NULL, NULL);
}

static int
cmd_settings(struct ctl *ctl, int argc, char **argv)
{
	struct args a;
	const char *sub = argc > 0 ? argv[0] : "";
	int         rc;

	if ((rc = parse_args(argc - 1, argv + 1, " ", "", &a)) != 0)
		return rc;
	if (strcmp(sub, "get") == 0) {
		Relay__V1__Empty req = RELAY__V1__EMPTY__INIT;

		return call_emit(ctl, "GetSettings", &req.base, NULL, NULL);
	}
	if (strcmp(sub, "set") == 0) {
		Relay__V1__SetSettingRequest req =
		    RELAY__V1__SET_SETTING_REQUEST__INIT;

		if (a.npos != 2)
			return usage_error("%s", "settings set KEY VALUE");
		req.key   = (char *) a.pos[0];
		req.value = (char *) a.pos[1];
		return call_emit(ctl, "SetSetting", &req.base, NULL, NULL);
	}
	return usage_error("unknown command 'settings %s'", sub);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rpc", required_argument, NULL, 'r' },
		{ "state-dir", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct {
		const char *name;
		int (*fn)(struct ctl *, int, char **);
	} cmds[] = {
		{ "client", cmd_client }, { "key", cmd_key },
		{ "account", cmd_account }, { "route", cmd_route },
		{ "tn", cmd_tn }, { "settings", cmd_settings },
		{ "inbound", cmd_inbound }, { "events", cmd_events },
		{ "message", cmd_message }, { "stats", cmd_stats },
	};
	struct ctl  ctl       = { 0 };
	const char *url_flag  = NULL;
	const char *state_dir = NULL;
	char        url[RPC_URL_MAX];
	int         c, rc;

	/* '+': stop at the first command word */
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			url_flag = optarg;
			break;
		case 'd':
			state_dir = optarg;
			break;
		case 'j':
			ctl.json = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			fputs(usage_text, stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fputs(usage_text, stderr);
		return 2;
	}
	if (url_flag != NULL)
		snprintf(url, sizeof(url), "%s", url_flag);
	else
		rpc_default_url(state_dir, url, sizeof(url));
	ctl.url       = url;
	ctl.state_dir = state_dir;

	rc = -1;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[optind], cmds[i].name) == 0)
			rc = cmds[i].fn(&ctl, argc - optind - 1,
			    argv + optind + 1);
	if (rc == -1)
		rc = usage_error("unknown command '%s'", argv[optind]);
	rpc_client_close(ctl.client);
	return rc;
}
