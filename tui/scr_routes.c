/*
 * scr_routes.c - routing rules in evaluation order (priority, then id),
 * with create, edit, enable/disable, reorder and a test box.
 *
 * Reordering is a change of priority through UpdateRoute: moving a rule
 * above its neighbour swaps their priorities, or, when they tie, lifts it
 * one above. The list is reloaded from relayd afterwards, so what shows is
 * always the order relayd evaluates.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw/err.h"
#include "gw/money.h"
#include "tui_impl.h"

static const struct tui_col cols[] = {
	{ "#", 3, TUI_COL_RIGHT },
	{ "Prio", 6, TUI_COL_RIGHT },
	{ "ID", 4, TUI_COL_RIGHT },
	{ "Pattern", 0, 0 },
	{ "Account", 16, 0 },
	{ "Price", 10, TUI_COL_RIGHT },
	{ "On", 3, 0 },
};

static const char *const yesno[] = { "yes", "no", NULL };

/* the oneof case that marks a field of UpdateRouteRequest as set */
#define SET(x) RELAY__V1__UPDATE_ROUTE_REQUEST__SET_##x

static struct tui_table        routes;
static Relay__V1__RouteList   *list;
static Relay__V1__AccountList *accts;
static bool                    inited;

static int
find_index(uint64_t id)
{
	for (size_t i = 0; list != NULL && i < list->n_routes; i++)
		if (list->routes[i]->id == id)
			return (int) i;
	return -1;
}

static const Relay__V1__Account *
account(uint64_t id)
{
	for (size_t i = 0; accts != NULL && i < accts->n_accounts; i++)
		if (accts->accounts[i]->id == id)
			return accts->accounts[i];
	return NULL;
}

static void
routes_load(struct tui_app *app)
{
	Relay__V1__Empty        req = RELAY__V1__EMPTY__INIT;
	Relay__V1__RouteList   *out;
	Relay__V1__AccountList *a;
	uint64_t                keep = 0;

	if (!inited) {
		tui_table_init(&routes, cols, 7);
		snprintf(routes.empty, sizeof(routes.empty),
		    "No routing rules: press n to add one");
		inited = true;
	}
	if (tui_call(app, "list routes", "ListRoutes", &req.base,
	        (ProtobufCMessage **) &out) != GW_OK)
		return;
	if (tui_call(app, "list accounts", "ListAccounts", &req.base,
	        (ProtobufCMessage **) &a) == GW_OK) {
		tui_free(accts);
		accts = a;
	}
	tui_table_sel_id(&routes, &keep);
	tui_free(list);
	list = out;
	tui_table_clear(&routes);
	for (size_t i = 0; i < list->n_routes; i++) {
		const Relay__V1__Route   *r = list->routes[i];
		const Relay__V1__Account *ac = account(r->account_id);
		char n[24], pr[16], id[24], acc[64], price[GW_MONEY_STRLEN];
		const char *cells[7] = { n, pr, id, r->pattern, acc, price,
			r->enabled ? "yes" : "no" };

		snprintf(n, sizeof(n), "%zu", i + 1);
		snprintf(pr, sizeof(pr), "%d", r->priority);
		snprintf(id, sizeof(id), "%llu", (unsigned long long) r->id);
		snprintf(acc, sizeof(acc), "#%llu %s",
		    (unsigned long long) r->account_id,
		    ac != NULL ? tui_account_kind_name(ac->kind) : "(gone)");
		gw_money_format(r->price_micros, price);
		tui_table_add(&routes, r->id, cells);
	}
	tui_table_done(&routes, keep);
}

static void
routes_heading(struct tui_app *app, char *buf, size_t len)
{
	(void) app;
	snprintf(buf, len, "Routing rules (%zu), first match wins",
	    list != NULL ? list->n_routes : (size_t) 0);
}

/* edit_route creates a rule (r NULL) or edits r. */
static void
edit_route(struct tui_app *app, const Relay__V1__Route *r)
{
	struct tui_field f[] = {
		{ .label = "Pattern (PCRE2)",
		    .kind = TUI_F_TEXT,
		    .required = true },
		{ .label = "Priority",
		    .kind = TUI_F_INT,
		    .required = true,
		    .value = "100" },
		{ .label = "Account ID", .kind = TUI_F_ID, .required = true },
		{ .label = "Price/segment",
		    .kind = TUI_F_MONEY,
		    .required = true,
		    .value = "0.0075" },
		{ .label = "Enabled",
		    .kind = TUI_F_CHOICE,
		    .choices = yesno,
		    .value = "yes" },
	};
	char err[300] = "";

	if (r != NULL) {
		char p[GW_MONEY_STRLEN];

		snprintf(f[0].value, sizeof(f[0].value), "%s", r->pattern);
		snprintf(f[1].value, sizeof(f[1].value), "%d", r->priority);
		snprintf(f[2].value, sizeof(f[2].value), "%llu",
		    (unsigned long long) r->account_id);
		snprintf(f[3].value, sizeof(f[3].value), "%s",
		    gw_money_format(r->price_micros, p));
		snprintf(f[4].value, sizeof(f[4].value), "%s",
		    r->enabled ? "yes" : "no");
	} else if (accts != NULL && accts->n_accounts > 0) {
		snprintf(f[2].value, sizeof(f[2].value), "%llu",
		    (unsigned long long) accts->accounts[0]->id);
	}
	for (;;) {
		ProtobufCMessage *out;
		Relay__V1__Route *rt;
		int64_t           price = 0;
		uint64_t          acc = 0;
		int32_t           prio;
		bool              en;
		int               rc;

		if (!tui_form_run(app,
		        r ? "Edit routing rule"
		          : "New routing "
		            "rule",
		        f, 5, err))
			return;
		prio = (int32_t) strtol(f[1].value, NULL, 10);
		tui_parse_u64(f[2].value, &acc);
		gw_money_parse(f[3].value, &price);
		en = strcmp(f[4].value, "yes") == 0;
		if (r == NULL) {
			Relay__V1__CreateRouteRequest req =
			    RELAY__V1__CREATE_ROUTE_REQUEST__INIT;

			req.pattern = f[0].value;
			req.priority = prio;
			req.account_id = acc;
			req.price_micros = price;
			req.disabled = !en;
			rc = tui_call(
			    app, "create rule", "CreateRoute", &req.base, &out);
		} else {
			Relay__V1__UpdateRouteRequest req =
			    RELAY__V1__UPDATE_ROUTE_REQUEST__INIT;

			req.id = r->id;
			if (strcmp(f[0].value, r->pattern) != 0) {
				req.set_pattern_case = SET(PATTERN_PATTERN);
				req.pattern = f[0].value;
			}
			if (prio != r->priority) {
				req.set_priority_case = SET(PRIORITY_PRIORITY);
				req.priority = prio;
			}
			if (acc != r->account_id) {
				req.set_account_id_case =
				    SET(ACCOUNT_ID_ACCOUNT_ID);
				req.account_id = acc;
			}
			if (price != r->price_micros) {
				req.set_price_micros_case =
				    SET(PRICE_MICROS_PRICE_MICROS);
				req.price_micros = price;
			}
			if (en != (bool) r->enabled) {
				req.set_enabled_case = SET(ENABLED_ENABLED);
				req.enabled = en;
			}
			rc = tui_call(
			    app, "update rule", "UpdateRoute", &req.base, &out);
		}
		if (rc == GW_OK) {
			rt = (Relay__V1__Route *) out;
			tui_status(app, TUI_OK,
			    "rule #%llu %s: %s -> account "
			    "#%llu",
			    (unsigned long long) rt->id,
			    r ? "saved" : "created", rt->pattern,
			    (unsigned long long) rt->account_id);
			tui_reload(app);
			for (int i = 0; i < routes.nvis; i++)
				if (routes.ids[routes.vis[i]] == rt->id)
					routes.sel = i;
			tui_free(out);
			return;
		}
		snprintf(err, sizeof(err), "%s", app->last.message);
	}
}

static int
update(struct tui_app *app, uint64_t id, int32_t *prio, int enabled)
{
	Relay__V1__UpdateRouteRequest req =
	    RELAY__V1__UPDATE_ROUTE_REQUEST__INIT;
	ProtobufCMessage *out;
	int               rc;

	req.id = id;
	if (prio != NULL) {
		req.set_priority_case = SET(PRIORITY_PRIORITY);
		req.priority = *prio;
	}
	if (enabled >= 0) {
		req.set_enabled_case = SET(ENABLED_ENABLED);
		req.enabled = enabled;
	}
	rc = tui_call(app, "update rule", "UpdateRoute", &req.base, &out);
	tui_free(out);
	return rc;
}

/* reorder shifts rule i one place up (dir -1) or down (+1). */
static void
reorder(struct tui_app *app, int i, int dir)
{
	const Relay__V1__Route *a, *b;
	int32_t                 pa, pb;
	uint64_t                id;

	if (routes.filter[0] != '\0') {
		tui_status(app, TUI_INFO, "clear the filter (Esc) to reorder");
		return;
	}
	if (i + dir < 0 || i + dir >= (int) list->n_routes)
		return;
	a = list->routes[i];
	b = list->routes[i + dir];
	id = a->id;
	pa = a->priority;
	pb = b->priority;
	if (pa != pb) {
		/* swap: evaluation is by priority, so they trade places */
		if (update(app, a->id, &pb, -1) != GW_OK)
			return;
		if (update(app, b->id, &pa, -1) != GW_OK)
			goto reload;
	} else {
		int32_t p = dir < 0 ? pb + 1 : pb - 1;

		if (update(app, a->id, &p, -1) != GW_OK)
			return;
	}
	tui_status(app, TUI_OK, "rule #%llu moved %s", (unsigned long long) id,
	    dir < 0 ? "up" : "down");
reload:
	tui_reload(app);
	tui_table_done(&routes, id);
}

static void
toggle(struct tui_app *app, const Relay__V1__Route *r)
{
	uint64_t id = r->id;
	bool     en = !r->enabled;

	if (update(app, id, NULL, en) != GW_OK)
		return;
	tui_status(app, TUI_OK, "rule #%llu %s", (unsigned long long) id,
	    en ? "enabled" : "disabled");
	tui_reload(app);
}

static void
delete_route(struct tui_app *app, const Relay__V1__Route *r)
{
	Relay__V1__IdRequest req = RELAY__V1__ID_REQUEST__INIT;
	ProtobufCMessage    *out;
	char                 q[300];

	snprintf(q, sizeof(q), "Delete rule #%llu (%s)?",
	    (unsigned long long) r->id, r->pattern);
	if (!tui_confirm(app, "Delete routing rule", q))
		return;
	req.id = r->id;
	if (tui_call(app, "delete rule", "DeleteRoute", &req.base, &out) !=
	    GW_OK)
		return;
	tui_status(
	    app, TUI_OK, "rule #%llu deleted", (unsigned long long) req.id);
	tui_free(out);
	tui_reload(app);
}

/* test_box asks for a number and a sample body and shows where it goes,
 * until Esc. */
static void
test_box(struct tui_app *app)
{
	struct tui_field f[] = {
		{ .label = "Number", .kind = TUI_F_E164, .required = true },
		{ .label = "Sample body",
		    .kind = TUI_F_TEXT,
		    .value = "Hello from Relay" },
	};
	char err[300] = "";

	for (;;) {
		Relay__V1__TestRouteRequest req =
		    RELAY__V1__TEST_ROUTE_REQUEST__INIT;
		Relay__V1__TestRouteReply *out;
		char        l[6][200], p[GW_MONEY_STRLEN], rp[GW_MONEY_STRLEN];
		const char *lines[6];

		if (!tui_form_run(app, "Route test (Esc closes)", f, 2, err))
			return;
		req.number = f[0].value;
		req.body = f[1].value;
		if (tui_call(app, "route test", "TestRoute", &req.base,
		        (ProtobufCMessage **) &out) != GW_OK) {
			snprintf(err, sizeof(err), "%s", app->last.message);
			continue;
		}
		err[0] = '\0';
		snprintf(l[0], sizeof(l[0]), "Number:   %s", out->number);
		if (out->route != NULL)
			snprintf(l[1], sizeof(l[1]),
			    "Rule:     #%llu  "
			    "priority %d  pattern %s",
			    (unsigned long long) out->route->id,
			    out->route->priority, out->route->pattern);
		else
			snprintf(l[1], sizeof(l[1]), "Rule:     ?");
		if (out->account != NULL)
			snprintf(l[2], sizeof(l[2]), "Account:  #%llu %s %s",
			    (unsigned long long) out->account->id,
			    tui_account_kind_name(out->account->kind),
			    out->account->sid);
		else
			snprintf(l[2], sizeof(l[2]), "Account:  ?");
		snprintf(l[3], sizeof(l[3]), "Body:     %u segment%s, %s",
		    out->segments, out->segments == 1 ? "" : "s",
		    out->encoding);
		snprintf(l[4], sizeof(l[4]), "Price:    %s  (%s per segment)",
		    gw_money_format(out->price_micros, p),
		    out->route != NULL
		        ? gw_money_format(out->route->price_micros, rp)
		        : "?");
		snprintf(l[5], sizeof(l[5]), "Enter: test another number");
		for (int i = 0; i < 6; i++)
			lines[i] = l[i];
		tui_status(app, TUI_OK, "%s -> rule #%llu, price %s",
		    out->number,
		    (unsigned long long) (out->route ? out->route->id : 0), p);
		tui_free(out);
		tui_message(app, "Route test result", lines, 6);
	}
}

static bool
routes_key(struct tui_app *app, int ch)
{
	const Relay__V1__Route *r = NULL;
	uint64_t                id;
	int                     i = -1;

	if (tui_table_sel_id(&routes, &id) && (i = find_index(id)) >= 0)
		r = list->routes[i];
	switch (ch) {
	case 'n':
		edit_route(app, NULL);
		return true;
	case 'e':
	case '\r':
	case '\n':
	case KEY_ENTER:
		if (r != NULL)
			edit_route(app, r);
		return true;
	case ' ':
		if (r != NULL)
			toggle(app, r);
		return true;
	case '+':
	case KEY_SR: /* shift-up */
		if (r != NULL)
			reorder(app, i, -1);
		return true;
	case '-':
	case KEY_SF: /* shift-down */
		if (r != NULL)
			reorder(app, i, +1);
		return true;
	case 'd':
	case KEY_DC:
		if (r != NULL)
			delete_route(app, r);
		return true;
	case 't':
		test_box(app);
		return true;
	default:
		return false;
	}
}

const struct tui_screen tui_scr_routes = {
	.name = "routes",
	.title = "Routes",
	.legend = "n New|e Edit|Spc On/off|+/- Move|d Del|t Test",
	.table = &routes,
	.load = routes_load,
	.key = routes_key,
	.heading = routes_heading,
};
