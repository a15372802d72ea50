/*
 * scr_tns.c - the pool of virtual numbers (TNs) used for proxy sessions:
 * add, remove, and who each is assigned to.
 *
 * Assigning a TN to a client and listing a TN's sessions need RPCs the
 * Admin service does not have yet; the screen says so where they belong
 * rather than hiding the columns.
 */
#include <stdio.h>
#include <string.h>

#include "gw/err.h"
#include "tui_impl.h"

static const struct tui_col cols[] = {
	{ "Number", 16, 0 },
	{ "Client", 8, TUI_COL_RIGHT },
	{ "State", 10, 0 },
	{ "Added", 16, 0 },
	{ "Sessions", 0, 0 },
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
		char                 cl[24], ad[32];
		const char          *cells[5] = { t->number, cl,
                        t->client_id != 0 ? "assigned" : "free", ad, "n/a" };

		if (t->client_id != 0)
			snprintf(cl, sizeof(cl), "#%llu",
			    (unsigned long long) t->client_id);
		else
			snprintf(cl, sizeof(cl), "-");
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
		tui_status(app, TUI_INFO,
		    "assigning a TN needs an AssignTn "
		    "RPC (not yet in relayd)");
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
	.legend = "a Add|d Remove|A Assign|Enter Sessions",
	.table = &tns,
	.load = tns_load,
	.key = tns_key,
	.heading = tns_heading,
};
