/*
 * tui_impl.h - relay-tui internals: the application, the table widget,
 * modal dialogs and the screens.
 *
 * Layout at any size (80x24 is the design point):
 *
 *	row 0		title bar: screen tabs, connection state
 *	rows 1..h-3	the current screen
 *	row h-2		status line: the last result or error
 *	row h-1		key legend, always visible
 *
 * Everything runs on the main thread except a pinger that watches relayd
 * and flips app->connected; the main loop notices the change and reloads.
 */
#ifndef TUI_IMPL_H
#define TUI_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curses.h>
#include <protobuf-c/protobuf-c.h>

#include "relay/v1/admin.pb-c.h"
#include "rpc/client.h"

#define TUI_CALL_TIMEOUT_MS 3000 /* one operator action */
#define TUI_PING_TIMEOUT_MS 800  /* the pinger's liveness probe */
#define TUI_PING_PERIOD_MS 1000
#define TUI_TICK_MS 200 /* input poll; bounds redraw latency */
#define TUI_STATUS_MAX 256
#define TUI_FILTER_MAX 64
#define TUI_CELL_MAX 128

struct tui_app;

/* ---- the table widget ---------------------------------------------- */

enum tui_col_flags {
	TUI_COL_RIGHT = 1, /* right-align (numbers, money) */
};

struct tui_col {
	const char *title;
	int         width; /* 0: take what is left */
	int         flags;
};

/* A list of rows of text cells, each row with a 64-bit id so that the
 * selection survives a reload. The filter hides rows that contain no
 * cell matching it (case-insensitive substring). */
struct tui_table {
	const struct tui_col *cols;
	int                   ncols;
	char                **cells; /* nrows * ncols, owned */
	uint64_t             *ids;
	int                   nrows;
	int                   cap;
	int                  *vis; /* indices of the rows the filter passes */
	int                   nvis;
	int                   sel; /* index into vis */
	int                   top; /* first visible index into vis */
	char                  filter[TUI_FILTER_MAX];
	char                  empty[80]; /* shown when nothing is visible */
};

void tui_table_init(struct tui_table *t, const struct tui_col *cols, int n);
void tui_table_fini(struct tui_table *t);

/* tui_table_clear drops the rows, keeping filter and selection. */
void tui_table_clear(struct tui_table *t);

/* tui_table_add appends a row of t->ncols cells. Returns GW_OK or
 * GW_ENOMEM. */
int tui_table_add(struct tui_table *t, uint64_t id, const char *const *cells);

/* tui_table_done applies the filter and selects the row with id keep if
 * it is still there. Call after a batch of tui_table_add. */
void tui_table_done(struct tui_table *t, uint64_t keep);

/* tui_table_refilter reapplies t->filter after it changed. */
void tui_table_refilter(struct tui_table *t);

void tui_table_draw(struct tui_table *t, WINDOW *w, int y, int h, int cols);

/* tui_table_key moves the selection for the arrow, page and home/end
 * keys. Returns true if it used ch. */
bool tui_table_key(struct tui_table *t, int ch, int h);

/* tui_table_sel returns the selected row index (into cells), or -1. */
int tui_table_sel(const struct tui_table *t);

/* tui_table_sel_id writes the selected row's id. Returns false if no row
 * is selected. */
bool tui_table_sel_id(const struct tui_table *t, uint64_t *id);

/* ---- screens ------------------------------------------------------- */

struct tui_screen {
	const char       *name;   /* what ':' accepts */
	const char       *title;  /* tab label */
	const char       *legend; /* "n New|d Delete", key then label */
	bool              hidden; /* not a tab (reached from another screen) */
	int               refresh_ms; /* reload period while shown; 0: never */
	struct tui_table *table;      /* the list '/' filters; NULL if none */
	void (*load)(struct tui_app *app);
	/* draw fills rows y..y+h-1; NULL draws the table under a header. */
	void (*draw)(struct tui_app *app, WINDOW *w, int y, int h, int cols);
	/* key handles a key first; returns true if it used it. */
	bool (*key)(struct tui_app *app, int ch);
	/* heading writes the header line of a table screen. */
	void (*heading)(struct tui_app *app, char *buf, size_t len);
};

extern const struct tui_screen tui_scr_dashboard;
extern const struct tui_screen tui_scr_clients;
extern const struct tui_screen tui_scr_ledger;
extern const struct tui_screen tui_scr_keys;
extern const struct tui_screen tui_scr_accounts;
extern const struct tui_screen tui_scr_routes;
extern const struct tui_screen tui_scr_tns;
extern const struct tui_screen tui_scr_messages;

/* ---- the application ----------------------------------------------- */

enum tui_status_kind {
	TUI_INFO,
	TUI_OK,
	TUI_ERROR,
};

enum tui_color {
	TUI_C_TITLE = 1,
	TUI_C_TAB,
	TUI_C_OK,
	TUI_C_ERR,
	TUI_C_KEY,
	TUI_C_HEAD,
	TUI_C_SEL,
	TUI_C_DIALOG,
	TUI_C_FIELD,
	TUI_C_DIM,
};

#define TUI_STACK_MAX 8

struct tui_app {
	struct rpc_client *rpc;  /* operator actions, main thread */
	struct rpc_client *ping; /* the pinger's own */
	char               url[RPC_URL_MAX];
	const char        *state_dir;   /* NULL: the default */
	bool               token_fixed; /* RELAY_ADMIN_TOKEN: never reread */

	pthread_t   pinger;
	bool        pinger_started;
	atomic_bool stop;
	atomic_int  connected;      /* -1 unknown, 0 down, 1 up */
	int         seen_connected; /* what the main loop last acted on */
	unsigned    conn_gen; /* counts reconnections: probes are redone */

	const struct tui_screen *screen;
	const struct tui_screen *stack[TUI_STACK_MAX];
	int                      depth;
	int64_t                  loaded_at; /* gw_mono_ms of the last load */

	char    status[TUI_STATUS_MAX];
	int     status_kind;
	int64_t status_until; /* 0: until replaced */

	struct rpc_status last; /* of the last failed call */

	bool color;
	bool quit;
	int  in_dialog; /* modal dialogs open */

	/* A ':' or '/' prompt being edited on the status row. */
	const char *prompt_prefix;
	const char *prompt_buf;

	/* Context handed between screens. */
	uint64_t ctx_client; /* ledger's client; keys' filter (0: all) */
};

/* tui_app_run is relay-tui: opens the terminal, runs until q, restores
 * it. Returns the process exit code. */
int tui_app_run(const char *url, const char *state_dir);

/* tui_call invokes Admin/method. On failure it shows the error on the
 * status line (prefixed by what) and leaves it in app->last; a transport
 * failure marks relayd disconnected. Returns the gw_err. */
int tui_call(struct tui_app *app, const char *what, const char *method,
    const ProtobufCMessage *req, ProtobufCMessage **resp);

/* tui_probe asks whether relayd serves method ("relay.v1.Svc/Method")
 * by calling it with an empty request: GW_OK if it answered anything
 * but NOT_FOUND/UNIMPLEMENTED, GW_ENOTFOUND if it does not know it,
 * GW_EUNAVAIL if relayd is away. Quiet: no status line. */
int tui_probe(struct tui_app *app, const char *method);

/* tui_free frees a reply from tui_call; accepts NULL. */
void tui_free(void *msg);

void tui_status(struct tui_app *app, int kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* tui_goto shows screen, pushing the current one for Esc. */
void tui_goto(struct tui_app *app, const struct tui_screen *screen);

/* tui_reload reloads the current screen now. */
void tui_reload(struct tui_app *app);

/* tui_redraw draws the whole screen under any dialog and updates the
 * terminal (without clearing it: no flicker). */
void tui_redraw(struct tui_app *app);

bool tui_connected(const struct tui_app *app);

/* tui_attr returns the attribute for a color role, degrading to
 * monochrome attributes without colors. */
attr_t tui_attr(const struct tui_app *app, int role);

/* tui_getch waits for a key for up to TUI_TICK_MS, handles resize and
 * connection changes by redrawing; returns ERR on timeout. */
int tui_getch(struct tui_app *app);

/* tui_poll acts on a connection change the pinger published: status
 * line, token, reload (outside dialogs), redraw. */
void tui_poll(struct tui_app *app);

/* ---- dialogs (modal, on panels) ------------------------------------- */

enum tui_field_kind {
	TUI_F_TEXT,
	TUI_F_SECRET, /* typed characters are never shown */
	TUI_F_MONEY,  /* gw_money_parse */
	TUI_F_SMONEY, /* signed money */
	TUI_F_INT,    /* a decimal integer */
	TUI_F_ID,     /* a positive integer id */
	TUI_F_E164,   /* gw_e164_normalize */
	TUI_F_CHOICE, /* one of choices, cycled with Space/Left/Right */
};

struct tui_field {
	const char        *label;
	int                kind;
	bool               required;
	const char *const *choices; /* TUI_F_CHOICE, NULL-terminated */
	char               value[TUI_CELL_MAX * 2]; /* in: initial; out */
};

/* tui_form_run shows a form; err, if not empty, is shown in it (a
 * server error from a previous attempt). Each field is checked for its
 * kind before the form returns. Returns true on submit, false on Esc. */
bool tui_form_run(struct tui_app *app, const char *title, struct tui_field *f,
    int n, const char *err);

/* tui_confirm asks a yes/no question; only y confirms. */
bool tui_confirm(struct tui_app *app, const char *title, const char *text);

/* tui_message shows lines of text until a key is pressed. */
void tui_message(
    struct tui_app *app, const char *title, const char *const *lines, int n);

/* tui_pick shows a menu of n items and returns the index chosen, or -1. */
int tui_pick(struct tui_app *app, const char *title, const char *const *items,
    int n, int sel);

/* tui_prompt edits buf on the status row after prefix (':' or '/');
 * on_change, if set, is called after every edit. Returns true on Enter,
 * false on Esc. */
bool tui_prompt(struct tui_app *app, const char *prefix, char *buf, size_t len,
    void (*on_change)(struct tui_app *app, const char *buf));

/* ---- formatting helpers --------------------------------------------- */

/* tui_fmt_time writes a Unix ms time as "YYYY-mm-dd HH:MM" (local), or
 * "-" for 0. */
char *tui_fmt_time(int64_t unix_ms, char *buf, size_t len);

const char *tui_client_status_name(int status);
const char *tui_account_kind_name(int kind);
const char *tui_ledger_kind_name(int kind);

/* tui_trim removes surrounding blanks in place; returns s. */
char *tui_trim(char *s);

/* tui_parse_u64 reads a positive decimal id. Returns GW_OK or GW_EINVAL. */
int tui_parse_u64(const char *s, uint64_t *out);

#endif
