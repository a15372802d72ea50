/*
 * scr_clients.c - the clients screen and a client's ledger: create,
 * top-up, adjust with a reason, suspend and resume.
 *
 * The ledger view also shows the sum of the whole ledger next to the
 * balance, so an operator sees at a glance that the two agree.
 */
#include <stdio.h>
#include <string.h>

#include "gw/err.h"
#include "gw/money.h"
#include "tui_impl.h"

static const struct tui_col client_cols[] = {
	{ "ID", 5, TUI_COL_RIGHT },
	{ "Name", 0, 0 },
	{ "Balance", 14, TUI_COL_RIGHT },
	{ "Status", 9, 0 },
	{ "Updated", 16, 0 },
};

static const struct tui_col ledger_cols[] = {
	{ "Seq", 5, TUI_COL_RIGHT },
	{ "When", 16, 0 },
	{ "Kind", 7, 0 },
	{ "Amount", 12, TUI_COL_RIGHT },
	{ "Balance", 12, TUI_COL_RIGHT },
	{ "Reason", 0, 0 },
};

static struct tui_table       clients;
static struct tui_table       ledger;
static Relay__V1__ClientList *list;
static Relay__V1__Client     *ledger_client;
static int64_t                ledger_sum;
static bool                   inited;

static void
init_once(void)
{
	if (inited)
		return;
	tui_table_init(&clients, client_cols, 5);
	snprintf(clients.empty, sizeof(clients.empty),
	    "No clients yet: press n to create one");
	tui_table_init(&ledger, ledger_cols, 6);
	inited = true;
}

static const Relay__V1__Client *
find(uint64_t id)
{
	for (size_t i = 0; list != NULL && i < list->n_clients; i++)
		if (list->clients[i]->id == id)
			return list->clients[i];
	return NULL;
}

static void
clients_load(struct tui_app *app)
{
	Relay__V1__Empty       req = RELAY__V1__EMPTY__INIT;
	Relay__V1__ClientList *out;
	uint64_t               keep = 0;

	init_once();
	if (tui_call(app, "list clients", "ListClients", &req.base,
	        (ProtobufCMessage **) &out) != GW_OK)
		return;
	tui_table_sel_id(&clients, &keep);
	tui_free(list);
	list = out;
	tui_table_clear(&clients);
	for (size_t i = 0; i < list->n_clients; i++) {
		const Relay__V1__Client *c = list->clients[i];
		char                     id[24], bal[GW_MONEY_STRLEN], upd[32];
		const char              *cells[5] = { id, c->name, bal,
			             tui_client_status_name(c->status), upd };

		snprintf(id, sizeof(id), "%llu", (unsigned long long) c->id);
		gw_money_format(c->balance_micros, bal);
		tui_fmt_time(c->updated_unix_ms, upd, sizeof(upd));
		tui_table_add(&clients, c->id, cells);
	}
	tui_table_done(&clients, keep);
}

static void
clients_heading(struct tui_app *app, char *buf, size_t len)
{
	int64_t total = 0;
	char    t[GW_MONEY_STRLEN];

	(void) app;
	for (size_t i = 0; list != NULL && i < list->n_clients; i++)
		gw_money_add(total, list->clients[i]->balance_micros, &total);
	snprintf(buf, len, "Clients (%zu)   total balance %s",
	    list != NULL ? list->n_clients : (size_t) 0,
	    gw_money_format(total, t));
}

static void
create_client(struct tui_app *app)
{
	struct tui_field f[] = {
		{ .label = "Name", .kind = TUI_F_TEXT, .required = true },
		{ .label = "Opening balance",
		    .kind = TUI_F_MONEY,
		    .value = "0.00" },
		{ .label = "Status callback URL", .kind = TUI_F_TEXT },
		{ .label = "Inbound URL", .kind = TUI_F_TEXT },
	};
	char err[300] = "";

	for (;;) {
		Relay__V1__CreateClientRequest req =
		    RELAY__V1__CREATE_CLIENT_REQUEST__INIT;
		Relay__V1__Client *out;
		int64_t            bal = 0;

		if (!tui_form_run(app, "New client", f, 4, err))
			return;
		if (f[1].value[0] != '\0')
			gw_money_parse(f[1].value, &bal);
		req.name = f[0].value;
		req.balance_micros = bal;
		req.status_callback_url = f[2].value;
		req.inbound_url = f[3].value;
		if (tui_call(app, "create client", "CreateClient", &req.base,
		        (ProtobufCMessage **) &out) == GW_OK) {
			char b[GW_MONEY_STRLEN];

			tui_status(app, TUI_OK,
			    "client #%llu \"%s\" created, "
			    "balance %s",
			    (unsigned long long) out->id, out->name,
			    gw_money_format(out->balance_micros, b));
			clients.sel = 0;
			tui_reload(app);
			/* select the new client */
			for (int i = 0; i < clients.nvis; i++)
				if (clients.ids[clients.vis[i]] == out->id)
					clients.sel = i;
			tui_free(out);
			return;
		}
		snprintf(err, sizeof(err), "%s", app->last.message);
	}
}

/* change_balance runs the top-up or adjust form for client id. */
static void
change_balance(struct tui_app *app, uint64_t id, const char *name, bool topup)
{
	struct tui_field f[] = {
		{ .label = topup ? "Amount" : "Amount (+/-)",
		    .kind = topup ? TUI_F_MONEY : TUI_F_SMONEY,
		    .required = true },
		{ .label = "Reason", .kind = TUI_F_TEXT, .required = true },
	};
	char title[160];
	char err[300] = "";

	snprintf(title, sizeof(title), "%s client #%llu %s",
	    topup ? "Top up" : "Adjust", (unsigned long long) id, name);
	for (;;) {
		Relay__V1__ChangeBalanceRequest req =
		    RELAY__V1__CHANGE_BALANCE_REQUEST__INIT;
		Relay__V1__ChangeBalanceReply *out;
		int64_t                        amt = 0;

		if (!tui_form_run(app, title, f, 2, err))
			return;
		gw_money_parse(f[0].value, &amt);
		if (topup && amt <= 0) {
			snprintf(err, sizeof(err),
			    "Amount: a top-up is "
			    "more than 0");
			continue;
		}
		req.client_id = id;
		req.change = topup ? RELAY__V1__BALANCE_CHANGE__BALANCE_TOPUP
		                   : RELAY__V1__BALANCE_CHANGE__BALANCE_ADJUST;
		req.amount_micros = amt;
		req.reason = f[1].value;
		if (tui_call(app, topup ? "top-up" : "adjust", "ChangeBalance",
		        &req.base, (ProtobufCMessage **) &out) == GW_OK) {
			char a[GW_MONEY_STRLEN], b[GW_MONEY_STRLEN];

			tui_status(app, TUI_OK,
			    "client #%llu: %s %s, balance "
			    "now %s",
			    (unsigned long long) id,
			    topup ? "topped up" : "adjusted",
			    gw_money_format(amt, a),
			    out->client != NULL
			        ? gw_money_format(
			              out->client->balance_micros, b)
			        : "?");
			tui_free(out);
			tui_reload(app);
			return;
		}
		snprintf(err, sizeof(err), "%s", app->last.message);
	}
}

static void
set_status(struct tui_app *app, const Relay__V1__Client *c)
{
	Relay__V1__SetClientStatusRequest req =
	    RELAY__V1__SET_CLIENT_STATUS_REQUEST__INIT;
	Relay__V1__Client *out;
	bool suspend = c->status != RELAY__V1__CLIENT_STATUS__CLIENT_SUSPENDED;
	char q[200];

	snprintf(q, sizeof(q), "%s client #%llu \"%s\"?%s",
	    suspend ? "Suspend" : "Resume", (unsigned long long) c->id, c->name,
	    suspend ? " Its API keys stop working until resumed." : "");
	if (!tui_confirm(app, suspend ? "Suspend client" : "Resume client", q))
		return;
	req.client_id = c->id;
	req.status = suspend ? RELAY__V1__CLIENT_STATUS__CLIENT_SUSPENDED
	                     : RELAY__V1__CLIENT_STATUS__CLIENT_ACTIVE;
	if (tui_call(app, suspend ? "suspend" : "resume", "SetClientStatus",
	        &req.base, (ProtobufCMessage **) &out) != GW_OK)
		return;
	tui_status(app, TUI_OK, "client #%llu is now %s",
	    (unsigned long long) out->id, tui_client_status_name(out->status));
	tui_free(out);
	tui_reload(app);
}

static bool
clients_key(struct tui_app *app, int ch)
{
	const Relay__V1__Client *c = NULL;
	uint64_t                 id;

	if (tui_table_sel_id(&clients, &id))
		c = find(id);
	switch (ch) {
	case 'n':
		create_client(app);
		return true;
	case 't':
	case 'a':
		if (c != NULL)
			change_balance(app, c->id, c->name, ch == 't');
		return true;
	case 's':
		if (c != NULL)
			set_status(app, c);
		return true;
	case 'l':
	case '\r':
	case '\n':
	case KEY_ENTER:
		if (c != NULL) {
			app->ctx_client = c->id;
			tui_goto(app, &tui_scr_ledger);
		}
		return true;
	case 'k':
		if (c != NULL) {
			app->ctx_client = c->id;
			tui_goto(app, &tui_scr_keys);
		}
		return true;
	default:
		return false;
	}
}

const struct tui_screen tui_scr_clients = {
	.name = "clients",
	.title = "Clients",
	.legend = "n New|t Top-up|a Adjust|s Suspend|Enter Ledger|k Keys",
	.table = &clients,
	.load = clients_load,
	.key = clients_key,
	.heading = clients_heading,
};

/* ---- ledger ------------------------------------------------------------- */

static void
ledger_load(struct tui_app *app)
{
	Relay__V1__ListLedgerRequest req = RELAY__V1__LIST_LEDGER_REQUEST__INIT;
	uint64_t                     after = 0;
	bool                         first = true;

	init_once();
	tui_table_clear(&ledger);
	tui_free(ledger_client);
	ledger_client = NULL;
	if (app->ctx_client == 0) {
		snprintf(ledger.empty, sizeof(ledger.empty),
		    "Pick a client on the clients screen (Enter)");
		tui_table_done(&ledger, 0);
		return;
	}
	snprintf(ledger.empty, sizeof(ledger.empty), "No ledger entries");
	/* page through; the ceiling keeps a huge ledger from stalling */
	while (ledger.nrows < 10000) {
		Relay__V1__LedgerList *out;

		req.client_id = app->ctx_client;
		req.after_seq = after;
		req.limit = 1000;
		if (tui_call(app, "ledger", "ListLedger", &req.base,
		        (ProtobufCMessage **) &out) != GW_OK)
			break;
		if (first && out->client != NULL) {
			ledger_client = out->client;
			out->client = NULL;
			ledger_sum = out->sum_micros;
			first = false;
		}
		for (size_t i = 0; i < out->n_entries; i++) {
			const Relay__V1__LedgerEntry *e = out->entries[i];
			char s[24], w[32], a[GW_MONEY_STRLEN],
			    b[GW_MONEY_STRLEN];
			const char *cells[6] = { s, w,
				tui_ledger_kind_name(e->kind), a, b,
				e->reason };

			snprintf(
			    s, sizeof(s), "%llu", (unsigned long long) e->seq);
			tui_fmt_time(e->created_unix_ms, w, sizeof(w));
			gw_money_format(e->amount_micros, a);
			gw_money_format(e->balance_after_micros, b);
			tui_table_add(&ledger, e->seq, cells);
			after = e->seq;
		}
		if (out->n_entries < 1000) {
			tui_free(out);
			break;
		}
		tui_free(out);
	}
	tui_table_done(&ledger, 0);
	if (ledger.nvis > 0)
		ledger.sel = ledger.nvis - 1; /* the newest entry */
}

static void
ledger_heading(struct tui_app *app, char *buf, size_t len)
{
	char b[GW_MONEY_STRLEN], s[GW_MONEY_STRLEN];

	(void) app;
	if (ledger_client == NULL) {
		snprintf(buf, len, "Ledger");
		return;
	}
	snprintf(buf, len, "Ledger of #%llu %s: balance %s, ledger sum %s%s",
	    (unsigned long long) ledger_client->id, ledger_client->name,
	    gw_money_format(ledger_client->balance_micros, b),
	    gw_money_format(ledger_sum, s),
	    ledger_sum == ledger_client->balance_micros ? " (ok)"
	                                                : " (MISMATCH)");
}

static bool
ledger_key(struct tui_app *app, int ch)
{
	if (ledger_client == NULL)
		return false;
	switch (ch) {
	case 't':
	case 'a':
		change_balance(
		    app, ledger_client->id, ledger_client->name, ch == 't');
		return true;
	default:
		return false;
	}
}

const struct tui_screen tui_scr_ledger = {
	.name = "ledger",
	.title = "Ledger",
	.legend = "t Top-up|a Adjust|r Reload",
	.hidden = true,
	.table = &ledger,
	.load = ledger_load,
	.key = ledger_key,
	.heading = ledger_heading,
};
