/*
 * scr_dashboard.c - the first screen: traffic, inventory and the clients
 * about to run dry, reloaded every two seconds.
 *
 * A reload replaces the numbers in place; the frame is redrawn over the
 * old one and only changed cells reach the terminal, so it does not
 * flicker. Traffic comes from relayd's Admin/GetStats: messages/s is the
 * difference of two successive replies' accepted counts over the
 * difference of their server times, so it needs a second reload. Against
 * a relayd without GetStats (probed once per connection) the traffic
 * figures read "not available yet".
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw/clock.h"
#include "gw/err.h"
#include "gw/money.h"
#include "tui_impl.h"

#define STATS_METHOD "relay.v1.Admin/GetStats"
#define LOW_BALANCE (1 * GW_MICROS_PER_UNIT)
#define LOW_MAX 32

struct low {
	uint64_t id;
	char     name[64];
	int64_t  balance;
	int      status;
};

static struct {
	bool       have;
	int        stats; /* tui_probe result */
	unsigned   gen;   /* app->conn_gen of the probe */
	size_t     clients, active, suspended;
	int64_t    total;
	size_t     keys, keys_active;
	size_t     accounts;
	size_t     routes, routes_on;
	size_t     tns, tns_assigned;
	struct low low[LOW_MAX];
	int        nlow;
	int64_t    at;
	/* GetStats: this reply and the one before */
	bool             have_stats, have_rate;
	Relay__V1__Stats st;
	uint64_t         prev_total;
	int64_t          prev_ms;
	double           rate; /* messages accepted per second */
} d;

static int
low_cmp(const void *x, const void *y)
{
	const struct low *a = x, *b = y;

	return (a->balance > b->balance) - (a->balance < b->balance);
}

static void
stats_load(struct tui_app *app)
{
	Relay__V1__GetStatsRequest req = RELAY__V1__GET_STATS_REQUEST__INIT;
	Relay__V1__Stats          *st;

	req.low_balance_micros = LOW_BALANCE;
	if (tui_call(app, "dashboard", "GetStats", &req.base,
	        (ProtobufCMessage **) &st) != GW_OK)
		return;
	if (d.have_stats && st->server_unix_ms > d.st.server_unix_ms &&
	    st->messages_total >= d.st.messages_total) {
		d.prev_total = d.st.messages_total;
		d.prev_ms = d.st.server_unix_ms;
		d.rate = (double) (st->messages_total - d.prev_total) * 1000.0 /
		    (double) (st->server_unix_ms - d.prev_ms);
		d.have_rate = true;
	}
	d.st = *st; /* numbers only: drop the one pointer */
	d.st.base.n_unknown_fields = 0;
	d.st.base.unknown_fields = NULL;
	d.have_stats = true;
	tui_free(st);
}

static void
dash_load(struct tui_app *app)
{
	Relay__V1__Empty           e = RELAY__V1__EMPTY__INIT;
	Relay__V1__ListKeysRequest kr = RELAY__V1__LIST_KEYS_REQUEST__INIT;
	Relay__V1__ClientList     *cl;
	Relay__V1__KeyList        *kl;
	Relay__V1__AccountList    *al;
	Relay__V1__RouteList      *rl;
	Relay__V1__TnList         *tl;

	if (tui_call(app, "dashboard", "ListClients", &e.base,
	        (ProtobufCMessage **) &cl) != GW_OK)
		return;
	d.clients = cl->n_clients;
	d.active = d.suspended = 0;
	d.total = 0;
	d.nlow = 0;
	for (size_t i = 0; i < cl->n_clients; i++) {
		const Relay__V1__Client *c = cl->clients[i];

		if (c->status == RELAY__V1__CLIENT_STATUS__CLIENT_SUSPENDED)
			d.suspended++;
		else
			d.active++;
		gw_money_add(d.total, c->balance_micros, &d.total);
		if (c->balance_micros < LOW_BALANCE && d.nlow < LOW_MAX) {
			struct low *l = &d.low[d.nlow++];

			l->id = c->id;
			l->balance = c->balance_micros;
			l->status = c->status;
			snprintf(l->name, sizeof(l->name), "%s", c->name);
		}
	}
	qsort(d.low, (size_t) d.nlow, sizeof(d.low[0]), low_cmp);
	tui_free(cl);
	if (tui_call(app, "dashboard", "ListKeys", &kr.base,
	        (ProtobufCMessage **) &kl) == GW_OK) {
		d.keys = kl->n_keys;
		d.keys_active = 0;
		for (size_t i = 0; i < kl->n_keys; i++)
			d.keys_active += kl->keys[i]->revoked_unix_ms == 0;
		tui_free(kl);
	}
	if (tui_call(app, "dashboard", "ListAccounts", &e.base,
	        (ProtobufCMessage **) &al) == GW_OK) {
		d.accounts = al->n_accounts;
		tui_free(al);
	}
	if (tui_call(app, "dashboard", "ListRoutes", &e.base,
	        (ProtobufCMessage **) &rl) == GW_OK) {
		d.routes = rl->n_routes;
		d.routes_on = 0;
		for (size_t i = 0; i < rl->n_routes; i++)
			d.routes_on += rl->routes[i]->enabled != 0;
		tui_free(rl);
	}
	if (tui_call(app, "dashboard", "ListTns", &e.base,
	        (ProtobufCMessage **) &tl) == GW_OK) {
		d.tns = tl->n_tns;
		d.tns_assigned = 0;
		for (size_t i = 0; i < tl->n_tns; i++)
			d.tns_assigned += tl->tns[i]->client_id != 0;
		tui_free(tl);
	}
	/* once per connection: relayd only gains methods on a restart */
	if (!d.have || d.gen != app->conn_gen) {
		d.stats = tui_probe(app, STATS_METHOD);
		d.gen = app->conn_gen;
		d.have_rate = false;
	}
	if (d.stats == GW_OK)
		stats_load(app);
	d.have = true;
	d.at = gw_now_ms();
}

static void
section(struct tui_app *app, WINDOW *w, int y, const char *title)
{
	wattrset(w, tui_attr(app, TUI_C_HEAD));
	mvwaddstr(w, y, 1, title);
	wattrset(w, A_NORMAL);
}

static void line(WINDOW *w, int y, int cols, const char *label, const char *fmt,
    ...) __attribute__((format(printf, 5, 6)));

static void
line(WINDOW *w, int y, int cols, const char *label, const char *fmt, ...)
{
	char    buf[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	mvwaddnstr(w, y, 3, label, cols - 4);
	if (cols > 24)
		mvwaddnstr(w, y, 21, buf, cols - 22);
}

static void
dash_draw(struct tui_app *app, WINDOW *w, int y, int h, int cols)
{
	const char *na = "not available yet";
	int         end = y + h;
	char        t[32], m[GW_MONEY_STRLEN];
	time_t      now;
	struct tm   tm;

	wattrset(w, tui_attr(app, TUI_C_HEAD));
	mvwaddstr(w, y, 1, "Dashboard");
	wattrset(w, A_NORMAL);
	if (!d.have) {
		mvwaddnstr(w, y + 2, 3,
		    tui_connected(app) ? "loading..." : "waiting for relayd...",
		    cols - 4);
		return;
	}
	now = (time_t) (d.at / 1000);
	localtime_r(&now, &tm);
	strftime(t, sizeof(t), "%H:%M:%S", &tm);
	mvwprintw(w, y, cols - 26, "updated %s (2s)", t);
	if (!tui_connected(app)) {
		wattrset(w, tui_attr(app, TUI_C_ERR));
		mvwaddstr(w, y, cols - 44, "stale");
		wattrset(w, A_NORMAL);
	}
	section(app, w, y + 2, "Traffic");
	if (d.stats == GW_OK && d.have_stats) {
		const Relay__V1__Stats *s = &d.st;

		if (d.have_rate)
			line(w, y + 3, cols, "Messages/s",
			    "%-9.1f %llu accepted in all", d.rate,
			    (unsigned long long) s->messages_total);
		else
			line(w, y + 3, cols, "Messages/s",
			    "%-9s %llu accepted in all", "measuring",
			    (unsigned long long) s->messages_total);
		line(w, y + 4, cols, "Outbox depth", "%-9llu %llu in flight%s",
		    (unsigned long long) s->outbox_depth,
		    (unsigned long long) s->in_flight,
		    s->dispatcher_running ? "" : ", dispatcher stopped");
		if (s->failed > 0)
			wattrset(w, tui_attr(app, TUI_C_ERR));
		line(w, y + 5, cols, "Failures",
		    "%-9llu %llu retried, %llu sent since relayd started",
		    (unsigned long long) s->failed,
		    (unsigned long long) s->retried,
		    (unsigned long long) s->sent);
		wattrset(w, A_NORMAL);
	} else {
		if (d.stats == GW_OK)
			na = "loading...";
		line(w, y + 3, cols, "Messages/s", "%s", na);
		line(w, y + 4, cols, "Outbox depth", "%s", na);
		line(w, y + 5, cols, "Failures", "%s", na);
	}
	section(app, w, y + 7, "Inventory");
	line(w, y + 8, cols, "Clients",
	    "%-5zu %zu active, %zu suspended; "
	    "total balance %s",
	    d.clients, d.active, d.suspended, gw_money_format(d.total, m));
	line(w, y + 9, cols, "API keys", "%-5zu %zu active", d.keys,
	    d.keys_active);
	line(w, y + 10, cols, "Provider accounts", "%zu", d.accounts);
	line(w, y + 11, cols, "Routing rules", "%-5zu %zu enabled", d.routes,
	    d.routes_on);
	line(w, y + 12, cols, "TNs", "%-5zu %zu assigned", d.tns,
	    d.tns_assigned);
	if (y + 14 >= end)
		return;
	section(app, w, y + 14, "Clients near zero balance (below 1.00)");
	if (d.nlow == 0)
		mvwaddnstr(w, y + 15, 3, "none", cols - 4);
	for (int i = 0; i < d.nlow && y + 15 + i < end; i++) {
		char b[GW_MONEY_STRLEN];

		if (y + 16 + i == end && i + 1 < d.nlow) {
			mvwprintw(
			    w, y + 15 + i, 3, "... and %d more", d.nlow - i);
			break;
		}
		if (d.low[i].balance <= 0)
			wattrset(w, tui_attr(app, TUI_C_ERR));
		mvwprintw(w, y + 15 + i, 3, "#%-5llu %-30.30s %14s  %s",
		    (unsigned long long) d.low[i].id, d.low[i].name,
		    gw_money_format(d.low[i].balance, b),
		    tui_client_status_name(d.low[i].status));
		wattrset(w, A_NORMAL);
	}
}

const struct tui_screen tui_scr_dashboard = {
	.name = "dashboard",
	.title = "Dash",
	.legend = "r Reload|Tab Next|1-7 Screens",
	.refresh_ms = 2000,
	.load = dash_load,
	.draw = dash_draw,
};
