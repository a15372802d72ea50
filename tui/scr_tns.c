/*
 * scr_tns.c - the pool of virtual numbers (TNs): add, remove, assign to
 * a client (and the account whose token checks its webhooks), and the
 * auto-reply answered to inbound messages.
 *
 * Listing a TN's proxy sessions needs a sessions RPC relayd does not have
 * yet; the screen says so where it belongs rather than hiding the column.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw/err.h"
#include "tui_impl.h"

static const struct tui_col cols[] = {
	{ "Number", 16, 0 },
	{ "Client", 8, TUI_COL_RIGHT },
	{ "Account", 8, TUI_COL_RIGHT },
	{ "Added", 16, 0 },
	{ "Auto-reply", 0, 0 },
};

static struct tui_table   tns;
static Relay__V1__TnList *list;
static bool               inited;

static const Relay__V1__Tn *
selected(void)
{
	int r = tui_table_sel(&tns);

	if (r < 0 || list == NULL || (size_t) r >= list->n_tns)
		return NULL;
	return list->tns[r];
}

static void
tns_load(struct tui_app *app)
{
	Relay__V1__Empty   req = RELAY__V1__EMPTY__INIT;
	Relay__V1__TnList *out;
	uint64_t           keep = 0;

	if (!inited) {
		tui_table_init(&tns, cols, 5);
		snprintf(tns.empty, sizeof(tns.empty),
		    "The pool is empty: press a to add a number");
		inited = true;
	}
	if (tui_call(app, "list TNs", "ListTns", &req.base,
	        (ProtobufCMessage **) &out) != GW_OK)
		return;
	tui_table_sel_id(&tns, &keep);
	tui_free(list);
	list = out;
	tui_table_clear(&tns);
	for (size_t i = 0; i < list->n_tns; i++) {
		const Relay__V1__Tn *t = list->tns[i];
		char                 cl[24], ac[24], ad[32];
		const char          *cells[5] = { t->number, cl, ac, ad,
                        t->auto_reply[0] != '\0' ? t->auto_reply : "-" };

		if (t->client_id != 0)
			snprintf(cl, sizeof(cl), "#%llu",
			    (unsigned long long) t->client_id);
		else
			snprintf(cl, sizeof(cl), "free");
		if (t->account_id != 0)
			snprintf(ac, sizeof(ac), "#%llu",
			    (unsigned long long) t->account_id);
		else
			snprintf(ac, sizeof(ac), "-");
		tui_fmt_time(t->created_unix_ms, ad, sizeof(ad));
		/* row ids index the reply: numbers are not ids */
		tui_table_add(&tns, i + 1, cells);
	}
	tui_table_done(&tns, keep);
}

static void
tns_heading(struct tui_app *app, char *buf, size_t len)
{
	size_t assigned = 0;

	(void) app;
	for (size_t i = 0; list != NULL && i < list->n_tns; i++)
		if (list->tns[i]->client_id != 0)
			assigned++;
	snprintf(buf, len,
	    "TN pool (%zu numbers, %zu assigned, %zu free); "
	    "sessions: not available yet",
	    list != NULL ? list->n_tns : (size_t) 0, assigned,
	    list != NULL ? list->n_tns - assigned : (size_t) 0);
}

static void
add_tn(struct tui_app *app)
{
	struct tui_field f[] = {
		{ .label = "Number", .kind = TUI_F_E164, .required = true },
	};
	char err[300] = "";

	for (;;) {
		Relay__V1__TnRequest req = RELAY__V1__TN_REQUEST__INIT;
		Relay__V1__Tn       *out;

		if (!tui_form_run(app, "Add a TN to the pool", f, 1, err))
			return;
		req.number = f[0].value;
		if (tui_call(app, "add TN", "AddTn", &req.base,
		        (ProtobufCMessage **) &out) == GW_OK) {
			tui_status(
			    app, TUI_OK, "%s added to the pool", out->number);
			tui_free(out);
			tui_reload(app);
			return;
		}
		snprintf(err, sizeof(err), "%s", app->last.message);
	}
}

static void
remove_tn(struct tui_app *app, const Relay__V1__Tn *t)
{
	Relay__V1__TnRequest req = RELAY__V1__TN_REQUEST__INIT;
	Relay__V1__Tn       *out;
	char                 q[160], num[32];

	snprintf(num, sizeof(num), "%s", t->number);
	snprintf(q, sizeof(q), "Remove %s from the pool?", num);
	if (!tui_confirm(app, "Remove TN", q))
		return;
	req.number = num;
	if (tui_call(app, "remove TN", "RemoveTn", &req.base,
	        (ProtobufCMessage **) &out) != GW_OK)
		return;
	tui_status(app, TUI_OK, "%s removed from the pool", num);
	tui_free(out);
	tui_reload(app);
}

/* assign_tn asks for a client (and optionally an account) for t, or with
 * unassign set clears t's client. */
static void
assign_tn(struct tui_app *app, const Relay__V1__Tn *t, bool unassign)
{
	struct tui_field f[] = {
		{ .label = "Client ID", .kind = TUI_F_ID, .required = true },
		{ .label = "Account ID (empty: by AccountSid)",
		    .kind = TUI_F_ID },
	};
	char num[32], title[80], err[300] = "";

	snprintf(num, sizeof(num), "%s", t->number);
	for (;;) {
		Relay__V1__AssignTnRequest req =
		    RELAY__V1__ASSIGN_TN_REQUEST__INIT;
		Relay__V1__Tn *out;

		req.number = num;
		if (unassign) {
			snprintf(title, sizeof(title),
			    "Unassign %s from client #%llu?", num,
			    (unsigned long long) t->client_id);
			if (!tui_confirm(app, "Unassign TN", title))
				return;
		} else {
			snprintf(title, sizeof(title), "Assign %s", num);
			if (!tui_form_run(app, title, f, 2, err))
				return;
			req.client_id = strtoull(f[0].value, NULL, 10);
			if (f[1].value[0] != '\0')
				req.account_id = strtoull(f[1].value, NULL, 10);
		}
		if (tui_call(app, "assign TN", "AssignTn", &req.base,
		        (ProtobufCMessage **) &out) == GW_OK) {
			if (unassign)
				tui_status(app, TUI_OK, "%s is free", num);
			else
				tui_status(app, TUI_OK,
				    "%s assigned to client #%llu", num,
				    (unsigned long long) out->client_id);
			tui_free(out);
			tui_reload(app);
			return;
		}
		if (unassign)
			return; /* the status line has relayd's error */
		snprintf(err, sizeof(err), "%s", app->last.message);
	}
}

/* auto_reply sets or clears the text answered to t's inbound messages. */
static void
auto_reply(struct tui_app *app, const Relay__V1__Tn *t)
{
	struct tui_field f[] = {
		{ .label = "Reply (empty: none)", .kind = TUI_F_TEXT },
	};
	char num[32], title[80], err[300] = "";

	snprintf(num, sizeof(num), "%s", t->number);
	snprintf(f[0].value, sizeof(f[0].value), "%s", t->auto_reply);
	snprintf(title, sizeof(title), "Auto-reply of %s", num);
	for (;;) {
		Relay__V1__SetTnAutoReplyRequest req =
		    RELAY__V1__SET_TN_AUTO_REPLY_REQUEST__INIT;
		Relay__V1__Tn *out;

		if (!tui_form_run(app, title, f, 1, err))
			return;
		req.number = num;
		req.text   = f[0].value;
		if (tui_call(app, "set auto-reply", "SetTnAutoReply", &req.base,
		        (ProtobufCMessage **) &out) == GW_OK) {
			tui_status(app, TUI_OK, "%s: auto-reply %s", num,
			    out->auto_reply[0] != '\0' ? "set" : "cleared");
			tui_free(out);
			tui_reload(app);
			return;
		}
		snprintf(err, sizeof(err), "%s", app->last.message);
	}
}

static bool
tns_key(struct tui_app *app, int ch)
{
	const Relay__V1__Tn *t = selected();

	switch (ch) {
	case 'a':
	case 'n':
		add_tn(app);
		return true;
	case 'd':
	case KEY_DC:
		if (t != NULL)
			remove_tn(app, t);
		return true;
	case 'A':
		if (t != NULL)
			assign_tn(app, t, false);
		return true;
	case 'U':
		if (t != NULL && t->client_id != 0)
			assign_tn(app, t, true);
		else if (t != NULL)
			tui_status(app, TUI_INFO, "%s is not assigned",
			    t->number);
		return true;
	case 'R':
		if (t != NULL)
			auto_reply(app, t);
		return true;
	case '\r':
	case '\n':
	case KEY_ENTER:
		if (t != NULL)
			tui_status(app, TUI_INFO,
			    "sessions of %s: not "
			    "available yet (no sessions RPC in relayd)",
			    t->number);
		return true;
	default:
		return false;
	}
}

const struct tui_screen tui_scr_tns = {
	.name = "tns",
	.title = "TNs",
	.legend = "a Add|d Remove|A Assign|U Unassign|R Auto-reply",
	.table = &tns,
	.load = tns_load,
	.key = tns_key,
	.heading = tns_heading,
};
