/*
 * app.c - the relay-tui application: terminal setup, the main loop, the
 * title bar, status line and key legend, screen navigation, and the one
 * place RPC calls are made and their failures shown.
 *
 * The console must never hang on a dead relayd. A pinger thread probes
 * Health/Ping with a short timeout and publishes app->connected; while it
 * reads 0 the main thread does not call relayd at all, so keys are
 * answered at once with "disconnected". When the pinger sees relayd again
 * the main loop reloads the current screen: the operator does nothing.
 *
 * Drawing never clears the terminal: each frame is written over the last
 * one with werase and the changes go out in one doupdate, so the
 * dashboard's refresh does not flicker.
 */
#include <locale.h>
#include <panel.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw/clock.h"
#include "gw/err.h"
#include "relay/v1/admin.pb-c.h"
#include "relay/v1/rpc.pb-c.h"
#include "tui_impl.h"

static const struct tui_screen *const tabs[] = {
	&tui_scr_dashboard,
	&tui_scr_clients,
	&tui_scr_keys,
	&tui_scr_accounts,
	&tui_scr_routes,
	&tui_scr_tns,
	&tui_scr_messages,
};

#define NTABS ((int) (sizeof(tabs) / sizeof(tabs[0])))

static const char global_legend[] = "/ Find|: Go|q Quit";

/* SIGINT, SIGTERM, SIGHUP: leave through endwin, not mid-frame */
static volatile sig_atomic_t got_signal;

static void
on_signal(int sig)
{
	got_signal = sig;
}

/* ---- status, colors, helpers ---------------------------------------- */

void
tui_status(struct tui_app *app, int kind, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(app->status, sizeof(app->status), fmt, ap);
	va_end(ap);
	app->status_kind = kind;
	/* errors stay until replaced; the rest fade after a while */
	app->status_until = kind == TUI_ERROR ? 0 : gw_mono_ms() + 6000;
}

attr_t
tui_attr(const struct tui_app *app, int role)
{
	if (app->color) {
		switch (role) {
		case TUI_C_TAB:
		case TUI_C_HEAD:
		case TUI_C_OK:
		case TUI_C_ERR:
			return COLOR_PAIR(role) | A_BOLD;
		case TUI_C_DIM:
			return A_DIM;
		default:
			return COLOR_PAIR(role);
		}
	}
	switch (role) {
	case TUI_C_TITLE:
	case TUI_C_KEY:
	case TUI_C_SEL:
		return A_REVERSE;
	case TUI_C_TAB:
		return A_BOLD;
	case TUI_C_OK:
	case TUI_C_HEAD:
		return A_BOLD;
	case TUI_C_ERR:
		return A_BOLD | A_REVERSE;
	case TUI_C_FIELD:
		return A_UNDERLINE;
	case TUI_C_DIM:
		return A_DIM;
	default:
		return A_NORMAL;
	}
}

static void
colors_init(struct tui_app *app)
{
	const char *no = getenv("NO_COLOR");

	app->color = false;
	if (!has_colors() || (no != NULL && no[0] != '\0'))
		return;
	if (start_color() != OK)
		return;
	use_default_colors();
	init_pair(TUI_C_TITLE, COLOR_BLACK, COLOR_CYAN);
	init_pair(TUI_C_TAB, COLOR_WHITE, COLOR_BLUE);
	init_pair(TUI_C_OK, COLOR_GREEN, -1);
	init_pair(TUI_C_ERR, COLOR_RED, -1);
	init_pair(TUI_C_KEY, COLOR_BLACK, COLOR_CYAN);
	init_pair(TUI_C_HEAD, COLOR_CYAN, -1);
	init_pair(TUI_C_SEL, COLOR_BLACK, COLOR_CYAN);
	init_pair(TUI_C_DIALOG, COLOR_WHITE, COLOR_BLUE);
	init_pair(TUI_C_FIELD, COLOR_BLACK, COLOR_WHITE);
	init_pair(TUI_C_DIM, -1, -1);
	app->color = true;
}

char *
tui_fmt_time(int64_t unix_ms, char *buf, size_t len)
{
	time_t    t = (time_t) (unix_ms / 1000);
	struct tm tm;

	if (unix_ms <= 0 || localtime_r(&t, &tm) == NULL) {
		snprintf(buf, len, "-");
		return buf;
	}
	strftime(buf, len, "%Y-%m-%d %H:%M", &tm);
	return buf;
}

const char *
tui_client_status_name(int status)
{
	switch (status) {
	case RELAY__V1__CLIENT_STATUS__CLIENT_ACTIVE:
		return "active";
	case RELAY__V1__CLIENT_STATUS__CLIENT_SUSPENDED:
		return "suspended";
	default:
		return "?";
	}
}

const char *
tui_account_kind_name(int kind)
{
	switch (kind) {
	case RELAY__V1__ACCOUNT_KIND__ACCOUNT_TWILIO:
		return "twilio";
	case RELAY__V1__ACCOUNT_KIND__ACCOUNT_FLOWROUTE:
		return "flowroute";
	case RELAY__V1__ACCOUNT_KIND__ACCOUNT_SANDBOX:
		return "sandbox";
	default:
		return "?";
	}
}

const char *
tui_ledger_kind_name(int kind)
{
	switch (kind) {
	case RELAY__V1__LEDGER_KIND__LEDGER_INITIAL:
		return "initial";
	case RELAY__V1__LEDGER_KIND__LEDGER_TOPUP:
		return "top-up";
	case RELAY__V1__LEDGER_KIND__LEDGER_ADJUST:
		return "adjust";
	case RELAY__V1__LEDGER_KIND__LEDGER_DEBIT:
		return "debit";
	case RELAY__V1__LEDGER_KIND__LEDGER_REFUND:
		return "refund";
	default:
		return "?";
	}
}

char *
tui_trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		memmove(s, s + 1, strlen(s));
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

int
tui_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return GW_EINVAL;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return GW_EINVAL;
		v = v * 10 + (uint64_t) (*s - '0');
	}
	if (v == 0)
		return GW_EINVAL;
	*out = v;
	return GW_OK;
}

/* ---- RPC ---------------------------------------------------------------- */

bool
tui_connected(const struct tui_app *app)
{
	return atomic_load(&app->connected) != 0;
}

static int
token_load(struct tui_app *app)
{
	char tok[512];
	int  rc;

	rc = rpc_default_admin_token(app->state_dir, tok, sizeof(tok));
	if (rc == GW_OK) {
		tui_trim(tok);
		rc = rpc_client_set_admin_token(app->rpc, tok);
	}
	memset(tok, 0, sizeof(tok));
	return rc;
}

void
tui_free(void *msg)
{
	if (msg != NULL)
		protobuf_c_message_free_unpacked(msg, NULL);
}

int
tui_call(struct tui_app *app, const char *what, const char *method,
    const ProtobufCMessage *req, ProtobufCMessage **resp)
{
	struct rpc_status st;
	int               rc;

	*resp = NULL;
	memset(&st, 0, sizeof(st));
	if (atomic_load(&app->connected) == 0) {
		app->last = st;
		app->last.err = GW_EUNAVAIL;
		snprintf(app->last.message, sizeof(app->last.message),
		    "disconnected from relayd");
		tui_status(app, TUI_ERROR,
		    "%s: disconnected from relayd; reconnecting", what);
		return GW_EUNAVAIL;
	}
	rc = rpc_invoke(
	    app->rpc, &relay__v1__admin__descriptor, method, req, resp, &st);
	/* relayd writes its token file on first start: look again */
	if (rc == GW_EAUTH && !app->token_fixed && token_load(app) == GW_OK) {
		memset(&st, 0, sizeof(st));
		rc = rpc_invoke(app->rpc, &relay__v1__admin__descriptor, method,
		    req, resp, &st);
	}
	if (rc == GW_OK)
		return GW_OK;
	*resp = NULL;
	app->last = st;
	app->last.err = rc;
	if (app->last.message[0] == '\0')
		snprintf(app->last.message, sizeof(app->last.message), "%s",
		    gw_strerror(rc));
	if (rc == GW_EUNAVAIL || rc == GW_ETIMEDOUT) {
		atomic_store(&app->connected, 0);
		tui_status(app, TUI_ERROR,
		    "%s: relayd not reachable; reconnecting", what);
	} else {
		tui_status(app, TUI_ERROR, "%s: %s", what, app->last.message);
	}
	return rc;
}

int
tui_probe(struct tui_app *app, const char *method)
{
	struct rpc_status st;
	uint8_t          *out = NULL;
	size_t            n = 0;
	int               rc;

	if (atomic_load(&app->connected) == 0)
		return GW_EUNAVAIL;
	memset(&st, 0, sizeof(st));
	rc = rpc_call_raw(app->rpc, method, NULL, NULL, 0, &out, &n, &st);
	free(out);
	if (rc == GW_EUNAVAIL)
		return rc;
	if ((rc == GW_ENOTFOUND && strstr(st.message, "unknown") != NULL) ||
	    st.code == RELAY__V1__STATUS_CODE__UNIMPLEMENTED)
		return GW_ENOTFOUND;
	return GW_OK;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* pinger publishes whether relayd answers Health/Ping. */
static void *
pinger(void *arg)
{
	struct tui_app        *app = arg;
	Relay__V1__PingRequest req = RELAY__V1__PING_REQUEST__INIT;
	Relay__V1__PingReply  *rep;
	int                    rc;

	while (!atomic_load(&app->stop)) {
		rep = NULL;
		rc = rpc_invoke(app->ping, &relay__v1__health__descriptor,
		    "Ping", &req.base, (ProtobufCMessage **) &rep, NULL);
		tui_free(rep);
		atomic_store(&app->connected, rc == GW_OK ? 1 : 0);
		for (int t = 0;
		     t < TUI_PING_PERIOD_MS && !atomic_load(&app->stop);
		     t += 50) {
			/* a main-thread failure asks for an early probe */
			if (rc == GW_OK && atomic_load(&app->connected) == 0)
				break;
			sleep_ms(50);
		}
	}
	return NULL;
}

/* ---- drawing ------------------------------------------------------------ */

static void
draw_title(struct tui_app *app, int cols)
{
	const char *conn;
	int         role;
	int         x;
	int         c = atomic_load(&app->connected);

	if (c == 1) {
		conn = " connected ";
		role = TUI_C_TITLE;
	} else if (c == 0) {
		conn = " DISCONNECTED ";
		role = TUI_C_ERR;
	} else {
		conn = " connecting ";
		role = TUI_C_TITLE;
	}
	attrset(tui_attr(app, TUI_C_TITLE));
	mvhline(0, 0, ' ', cols);
	mvaddstr(0, 0, " Relay ");
	x = 7;
	for (int i = 0; i < NTABS; i++) {
		char lab[32];
		bool cur = app->screen == tabs[i] ||
		    (app->screen->hidden && app->depth > 0 &&
		        app->stack[app->depth - 1] == tabs[i]);
		int n =
		    snprintf(lab, sizeof(lab), " %d%s ", i + 1, tabs[i]->title);

		if (x + n >= cols - (int) strlen(conn))
			break;
		attrset(cur ? tui_attr(app, TUI_C_TAB) | A_REVERSE
		            : tui_attr(app, TUI_C_TITLE));
		if (!app->color && cur)
			attrset(A_BOLD);
		mvaddstr(0, x, lab);
		x += n;
	}
	attrset(tui_attr(app, role) | (c == 0 ? A_REVERSE | A_BOLD : 0));
	if (app->color && c == 0)
		attrset(COLOR_PAIR(TUI_C_ERR) | A_REVERSE | A_BOLD);
	mvaddstr(0, cols - (int) strlen(conn), conn);
	attrset(A_NORMAL);
}

static void
draw_status(struct tui_app *app, int y, int cols)
{
	move(y, 0);
	clrtoeol();
	if (app->prompt_prefix != NULL) {
		mvaddstr(y, 0, app->prompt_prefix);
		addnstr(app->prompt_buf, cols - 2);
		return;
	}
	if (app->status_until != 0 && gw_mono_ms() > app->status_until)
		app->status[0] = '\0';
	if (app->status[0] == '\0')
		return;
	attrset(app->status_kind == TUI_ERROR ? tui_attr(app, TUI_C_ERR)
	        : app->status_kind == TUI_OK  ? tui_attr(app, TUI_C_OK)
	                                      : A_NORMAL);
	mvaddnstr(y, 1, app->status, cols - 2);
	attrset(A_NORMAL);
}

/* legend_items draws "k Label|k Label" from x; returns the next x. */
static int
legend_items(struct tui_app *app, int y, int x, int maxx, const char *s)
{
	while (*s != '\0' && x < maxx) {
		const char *end = strchr(s, '|');
		const char *sp;
		int         n = end ? (int) (end - s) : (int) strlen(s);
		int         kn;

		sp = memchr(s, ' ', (size_t) n);
		kn = sp ? (int) (sp - s) : n;
		if (x + n + 1 > maxx)
			break;
		attrset(tui_attr(app, TUI_C_KEY));
		mvaddnstr(y, x, s, kn);
		attrset(A_NORMAL);
		if (sp != NULL)
			mvaddnstr(y, x + kn, sp, n - kn);
		x += n + 1;
		s += n;
		if (*s == '|')
			s++;
	}
	return x;
}

/* legend_width is the width legend_items needs for s. */
static int
legend_width(const char *s)
{
	return s[0] != '\0' ? (int) strlen(s) + 1 : 0;
}

static void
draw_legend(struct tui_app *app, int y, int cols)
{
	const char *sl = app->screen->legend;
	const char *back = "Esc Back";
	int         gx = cols - (int) strlen(global_legend) - 1;

	move(y, 0);
	clrtoeol();
	/* "Esc Back" only where it fits beside the screen's own keys */
	if (app->depth > 0 && legend_width(sl) + legend_width(back) + 1 <= gx) {
		legend_items(app, y, gx - legend_width(back) - 1, gx, back);
		gx -= legend_width(back) + 1;
	}
	legend_items(app, y, 0, gx - 1, sl);
	legend_items(app, y, cols - (int) strlen(global_legend) - 1, cols,
	    global_legend);
}

static void
draw_screen(struct tui_app *app, int y, int h, int cols)
{
	const struct tui_screen *s = app->screen;
	char                     head[160];

	if (s->draw != NULL) {
		s->draw(app, stdscr, y, h, cols);
		return;
	}
	head[0] = '\0';
	if (s->heading != NULL)
		s->heading(app, head, sizeof(head));
	else
		snprintf(head, sizeof(head), "%s", s->title);
	move(y, 0);
	clrtoeol();
	attrset(tui_attr(app, TUI_C_HEAD));
	mvaddnstr(y, 1, head, cols - 2);
	attrset(A_NORMAL);
	if (s->table != NULL && s->table->filter[0] != '\0') {
		char f[TUI_FILTER_MAX + 16];
		int  n =
		    snprintf(f, sizeof(f), " filter: %s ", s->table->filter);

		if (n < cols / 2)
			mvaddstr(y, cols - n - 1, f);
	}
	if (s->table != NULL)
		tui_table_draw(s->table, stdscr, y + 1, h - 1, cols);
}

void
tui_redraw(struct tui_app *app)
{
	int rows = LINES;
	int cols = COLS;

	erase();
	if (rows < 8 || cols < 40) {
		mvaddnstr(0, 0, "relay-tui: terminal too small", cols);
		mvaddnstr(1, 0, "(80x24 is best)", cols);
	} else {
		draw_title(app, cols);
		draw_screen(app, 1, rows - 3, cols);
		draw_status(app, rows - 2, cols);
		draw_legend(app, rows - 1, cols);
	}
	update_panels();
	doupdate();
}

/* ---- navigation --------------------------------------------------------- */

static void
load(struct tui_app *app)
{
	app->loaded_at = gw_mono_ms();
	if (app->screen->load != NULL && tui_connected(app))
		app->screen->load(app);
}

void
tui_reload(struct tui_app *app)
{
	load(app);
}

void
tui_goto(struct tui_app *app, const struct tui_screen *screen)
{
	if (screen != app->screen) {
		if (app->depth == TUI_STACK_MAX) {
			memmove(app->stack, app->stack + 1,
			    sizeof(app->stack[0]) * (TUI_STACK_MAX - 1));
			app->depth--;
		}
		app->stack[app->depth++] = app->screen;
		app->screen = screen;
	}
	load(app);
}

static void
back(struct tui_app *app)
{
	if (app->screen->table != NULL && app->screen->table->filter[0]) {
		app->screen->table->filter[0] = '\0';
		tui_table_refilter(app->screen->table);
		return;
	}
	if (app->depth == 0)
		return;
	app->screen = app->stack[--app->depth];
	load(app);
}

static void
filter_changed(struct tui_app *app, const char *buf)
{
	struct tui_table *t = app->screen->table;

	snprintf(t->filter, sizeof(t->filter), "%s", buf);
	tui_table_refilter(t);
}

static void
command(struct tui_app *app)
{
	const char *names[NTABS];
	char        buf[64] = "";
	int         hit = -1;
	int         nhit = 0;

	if (!tui_prompt(app, ":", buf, sizeof(buf), NULL))
		return;
	tui_trim(buf);
	if (strcmp(buf, "q") == 0 || strcmp(buf, "quit") == 0) {
		app->quit = true;
		return;
	}
	for (int i = 0; i < NTABS; i++) {
		names[i] = tabs[i]->name;
		if (buf[0] != '\0' &&
		    strncasecmp(tabs[i]->name, buf, strlen(buf)) == 0) {
			hit = i;
			nhit++;
		}
	}
	if (buf[0] != '\0' && strcasecmp(buf, "ledger") == 0) {
		tui_goto(app, &tui_scr_ledger);
		return;
	}
	if (nhit != 1) {
		if (buf[0] != '\0')
			tui_status(app, TUI_INFO, "\"%s\": pick a screen", buf);
		hit = tui_pick(app, "Go to screen", names, NTABS, 0);
	}
	if (hit >= 0) {
		if (tabs[hit] == &tui_scr_keys)
			app->ctx_client = 0;
		tui_goto(app, tabs[hit]);
	}
}

static void
handle_key(struct tui_app *app, int ch)
{
	const struct tui_screen *s = app->screen;
	char                     buf[TUI_FILTER_MAX];

	if (s->key != NULL && s->key(app, ch))
		return;
	if (s->table != NULL && tui_table_key(s->table, ch, LINES - 5))
		return;
	switch (ch) {
	case 'q':
	case 'Q':
		app->quit = true;
		break;
	case ':':
		command(app);
		break;
	case '/':
		if (s->table == NULL) {
			tui_status(app, TUI_INFO, "nothing to filter here");
			break;
		}
		snprintf(buf, sizeof(buf), "%s", s->table->filter);
		if (!tui_prompt(app, "/", buf, sizeof(buf), filter_changed))
			filter_changed(app, "");
		break;
	case 27: /* Esc */
		back(app);
		break;
	case 'r':
	case KEY_F(5):
		load(app);
		tui_status(app, TUI_INFO, "reloaded");
		break;
	case '\t':
	case KEY_BTAB: {
		int i = 0;

		while (i < NTABS && tabs[i] != s)
			i++;
		i = ch == '\t' ? (i + 1) % NTABS : (i + NTABS - 1) % NTABS;
		if (tabs[i] == &tui_scr_keys)
			app->ctx_client = 0;
		tui_goto(app, tabs[i]);
		break;
	}
	case 12: /* ^L */
		clearok(curscr, TRUE);
		break;
	default:
		if (ch >= '1' && ch < '1' + NTABS) {
			if (tabs[ch - '1'] == &tui_scr_keys)
				app->ctx_client = 0;
			tui_goto(app, tabs[ch - '1']);
		}
		break;
	}
}

void
tui_poll(struct tui_app *app)
{
	int c = atomic_load(&app->connected);

	if (got_signal)
		app->quit = true;
	if (c != app->seen_connected) {
		if (c == 1 && app->seen_connected == 0)
			tui_status(app, TUI_OK, "reconnected to relayd");
		else if (c == 0)
			tui_status(app, TUI_ERROR,
			    "disconnected from relayd; reconnecting");
		if (c == 1 && !app->token_fixed)
			token_load(app);
		if (c == 1)
			app->conn_gen++;
		app->seen_connected = c;
		if (c == 1 && !app->in_dialog)
			load(app);
		tui_redraw(app);
	}
}

int
tui_getch(struct tui_app *app)
{
	int ch;

	tui_poll(app);
	timeout(TUI_TICK_MS);
	ch = getch();
	if (ch == KEY_RESIZE)
		tui_redraw(app);
	return ch;
}

/* ---- setup -------------------------------------------------------------- */

static int
app_init(struct tui_app *app, const char *url, const char *state_dir)
{
	const char *env = getenv("RELAY_ADMIN_TOKEN");
	int         rc;

	memset(app, 0, sizeof(*app));
	atomic_init(&app->stop, false);
	atomic_init(&app->connected, -1);
	app->seen_connected = -1;
	app->state_dir = state_dir;
	app->token_fixed = env != NULL && env[0] != '\0';
	app->screen = &tui_scr_dashboard;
	if (url != NULL)
		snprintf(app->url, sizeof(app->url), "%s", url);
	else
		rpc_default_url(state_dir, app->url, sizeof(app->url));
	if ((rc = rpc_client_open(app->url, &app->rpc)) != GW_OK)
		return rc;
	if ((rc = rpc_client_open(app->url, &app->ping)) != GW_OK)
		return rc;
	rpc_client_set_timeout(app->rpc, TUI_CALL_TIMEOUT_MS);
	rpc_client_set_timeout(app->ping, TUI_PING_TIMEOUT_MS);
	/* missing now is fine: relayd may not have written it yet */
	(void) token_load(app);
	if (pthread_create(&app->pinger, NULL, pinger, app) != 0)
		return GW_ENOMEM;
	app->pinger_started = true;
	return GW_OK;
}

static void
app_fini(struct tui_app *app)
{
	atomic_store(&app->stop, true);
	if (app->pinger_started)
		pthread_join(app->pinger, NULL);
	rpc_client_close(app->ping);
	rpc_client_close(app->rpc);
}

int
tui_app_run(const char *url, const char *state_dir)
{
	struct tui_app   app;
	struct sigaction sa;
	PANEL           *base;
	int              rc;
	int64_t          t0;

	setlocale(LC_ALL, "");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if ((rc = app_init(&app, url, state_dir)) != GW_OK) {
		fprintf(
		    stderr, "relay-tui: %s: %s\n", app.url, gw_strerror(rc));
		app_fini(&app);
		return 1;
	}
	/* wait briefly for the first ping so the first frame is not empty */
	t0 = gw_mono_ms();
	while (atomic_load(&app.connected) < 0 && gw_mono_ms() - t0 < 1500)
		sleep_ms(20);
	if (initscr() == NULL) {
		app_fini(&app);
		return 1;
	}
	set_escdelay(25);
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	curs_set(0);
	colors_init(&app);
	/* stdscr as the bottom panel, so update_panels() composes it with
	 * the dialogs above instead of leaving it to getch's refresh */
	base = new_panel(stdscr);
	tui_status(&app, TUI_INFO, "relayd at %s", app.url);
	while (!app.quit) {
		const struct tui_screen *s = app.screen;
		int                      ch;

		if (s->refresh_ms > 0 && tui_connected(&app) &&
		    gw_mono_ms() - app.loaded_at >= s->refresh_ms)
			load(&app);
		tui_redraw(&app);
		ch = tui_getch(&app);
		if (ch == ERR || ch == KEY_RESIZE)
			continue;
		handle_key(&app, ch);
	}
	del_panel(base);
	endwin();
	app_fini(&app);
	return 0;
}
