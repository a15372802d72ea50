/*
 * dialog.c - modal dialogs on panels: forms (ncurses form library),
 * confirmations, messages, a menu picker (menu library) and the one-line
 * prompt on the status row.
 *
 * A dialog owns the keyboard until it closes, but the world goes on under
 * it: every wait is a short poll, so a resize re-centres the dialog over a
 * fresh frame and a lost relayd shows in the title bar meanwhile.
 *
 * Forms check what they can before anything is sent: amounts parse as
 * money, numbers as E.164, ids as ids. What only the server can judge (a
 * PCRE2 pattern, a Twilio SID) comes back as its message, which the
 * caller hands to the next tui_form_run so it shows inside the form.
 */
#include <form.h>
#include <menu.h>
#include <panel.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "gw/e164.h"
#include "gw/err.h"
#include "gw/money.h"
#include "tui_impl.h"

#define FORM_W_MAX 72

struct dlg {
	WINDOW *win;
	PANEL  *panel;
	int     h;
	int     w;
};

static int
dlg_open(struct tui_app *app, struct dlg *d, int h, int w, const char *title)
{
	if (w > COLS - 2)
		w = COLS - 2;
	if (h > LINES - 2)
		h = LINES - 2;
	if (w < 20 || h < 3)
		return GW_EINVAL;
	d->h = h;
	d->w = w;
	tui_redraw(app); /* what lies under it is current */
	d->win = newwin(h, w, (LINES - h) / 2, (COLS - w) / 2);
	if (d->win == NULL)
		return GW_ENOMEM;
	d->panel = new_panel(d->win);
	if (d->panel == NULL) {
		delwin(d->win);
		return GW_ENOMEM;
	}
	wbkgd(d->win, tui_attr(app, TUI_C_DIALOG));
	keypad(d->win, TRUE);
	werase(d->win);
	box(d->win, 0, 0);
	if (title != NULL) {
		wattron(d->win, A_BOLD);
		mvwprintw(d->win, 0, 2, " %.*s ", w - 6, title);
		wattroff(d->win, A_BOLD);
	}
	app->in_dialog++;
	return GW_OK;
}

static void
dlg_close(struct tui_app *app, struct dlg *d)
{
	del_panel(d->panel);
	delwin(d->win);
	app->in_dialog--;
	curs_set(0);
	tui_redraw(app);
}

/* dlg_recenter follows a resize. */
static void
dlg_recenter(struct dlg *d)
{
	int y = (LINES - d->h) / 2;
	int x = (COLS - d->w) / 2;

	move_panel(d->panel, y < 0 ? 0 : y, x < 0 ? 0 : x);
}

/* dlg_key waits for a key in d, redrawing on resize and on connection
 * changes. Returns OK, KEY_CODE_YES or ERR (timeout). */
static int
dlg_key(struct tui_app *app, struct dlg *d, wint_t *wc)
{
	int rc;

	tui_poll(app);
	if (app->quit) {
		*wc = 27; /* unwind every dialog as if Esc */
		return OK;
	}
	wtimeout(d->win, TUI_TICK_MS);
	rc = wget_wch(d->win, wc);
	if (rc == KEY_CODE_YES && *wc == KEY_RESIZE) {
		dlg_recenter(d);
		tui_redraw(app);
	}
	return rc;
}

/* wrap writes text into rows y.. of d, at most rows lines. */
static void
wrap(struct dlg *d, int y, int rows, const char *text)
{
	int width = d->w - 4;

	for (int r = 0; r < rows; r++) {
		int n = (int) strlen(text);

		wmove(d->win, y + r, 2);
		for (int i = 0; i < width; i++)
			waddch(d->win, ' ');
		if (n == 0)
			continue;
		if (n > width) {
			n = width;
			while (n > width / 2 && text[n] != ' ')
				n--;
			if (text[n] != ' ')
				n = width;
		}
		mvwaddnstr(d->win, y + r, 2, text, n);
		text += n;
		while (*text == ' ')
			text++;
	}
}

/* ---- forms --------------------------------------------------------------- */

static int
choice_count(const struct tui_field *f)
{
	int n = 0;

	while (f->choices[n] != NULL)
		n++;
	return n;
}

static int
choice_index(const struct tui_field *f, const char *v)
{
	for (int i = 0; f->choices[i] != NULL; i++)
		if (strcmp(f->choices[i], v) == 0)
			return i;
	return 0;
}

/* check validates f->value for its kind, normalising it where that is
 * safe (E.164). Writes a reason to msg and returns false if it is bad. */
static bool
check(struct tui_field *f, char *msg, size_t len)
{
	int64_t  m;
	uint64_t id;
	char     e[GW_E164_MAX + 1];
	char    *end;

	if (f->value[0] == '\0') {
		if (f->required) {
			snprintf(msg, len, "%s: required", f->label);
			return false;
		}
		return true;
	}
	switch (f->kind) {
	case TUI_F_MONEY:
		if (gw_money_parse(f->value, &m) != GW_OK || m < 0) {
			snprintf(msg, len,
			    "%s: an amount like 10.00 or 0.0075 "
			    "(at most 6 decimals)",
			    f->label);
			return false;
		}
		break;
	case TUI_F_SMONEY:
		if (gw_money_parse(f->value, &m) != GW_OK || m == 0) {
			snprintf(msg, len,
			    "%s: a non-zero amount like 5.00 or "
			    "-2.50",
			    f->label);
			return false;
		}
		break;
	case TUI_F_INT:
		(void) strtol(f->value, &end, 10);
		if (*end != '\0' || strlen(f->value) > 10) {
			snprintf(msg, len, "%s: a whole number", f->label);
			return false;
		}
		break;
	case TUI_F_ID:
		if (tui_parse_u64(f->value, &id) != GW_OK) {
			snprintf(msg, len, "%s: a positive id", f->label);
			return false;
		}
		break;
	case TUI_F_E164:
		if (gw_e164_normalize(f->value, strlen(f->value), e) != GW_OK) {
			snprintf(msg, len,
			    "%s: not an E.164 number "
			    "(+14155550100)",
			    f->label);
			return false;
		}
		snprintf(f->value, sizeof(f->value), "%s", e);
		break;
	default:
		break;
	}
	return true;
}

static void
read_back(FIELD *fd, struct tui_field *f)
{
	const char *b = field_buffer(fd, 0);

	snprintf(f->value, sizeof(f->value), "%s", b != NULL ? b : "");
	tui_trim(f->value);
}

static void
form_hint(struct tui_app *app, struct dlg *d, int y, const char *err)
{
	wattron(d->win, tui_attr(app, TUI_C_ERR));
	if (!app->color)
		wattrset(d->win, A_BOLD);
	wrap(d, y, 2, err);
	wattrset(d->win, A_NORMAL);
}

bool
tui_form_run(struct tui_app *app, const char *title, struct tui_field *f, int n,
    const char *err)
{
	struct dlg d;
	FIELD     *fields[16];
	FORM      *form;
	WINDOW    *sub;
	char       msg[300];
	int        lw = 0;
	int        fw;
	int        w;
	bool       ok = false;
	bool       done = false;
	bool       has_choice = false;
	bool       fresh = true; /* a typed key replaces the whole value */
	int        choice[16];

	if (n > 15)
		return false;
	for (int i = 0; i < n; i++)
		if ((int) strlen(f[i].label) > lw)
			lw = (int) strlen(f[i].label);
	w = FORM_W_MAX;
	if (dlg_open(app, &d, n + 8, w, title) != GW_OK) {
		tui_status(app, TUI_ERROR, "terminal too small for this form");
		return false;
	}
	fw = d.w - lw - 7;
	for (int i = 0; i < n; i++) {
		fields[i] = new_field(1, fw, i, 0, 0, 0);
		if (fields[i] == NULL) {
			while (i-- > 0)
				free_field(fields[i]);
			dlg_close(app, &d);
			return false;
		}
		set_field_back(fields[i], tui_attr(app, TUI_C_FIELD));
		field_opts_off(fields[i], O_AUTOSKIP);
		if (f[i].kind == TUI_F_CHOICE) {
			choice[i] = choice_index(&f[i], f[i].value);
			field_opts_off(fields[i], O_EDIT);
			set_field_buffer(fields[i], 0, f[i].choices[choice[i]]);
		} else {
			field_opts_off(fields[i], O_STATIC);
			set_max_field(fields[i], (int) sizeof(f[i].value) - 1);
			if (f[i].kind == TUI_F_SECRET)
				field_opts_off(fields[i], O_PUBLIC);
			set_field_buffer(fields[i], 0, f[i].value);
		}
	}
	fields[n] = NULL;
	form = new_form(fields);
	sub = derwin(d.win, n, fw, 2, lw + 5);
	set_form_win(form, d.win);
	set_form_sub(form, sub);
	post_form(form);
	for (int i = 0; i < n; i++) {
		mvwprintw(d.win, 2 + i, 2, "%*s", lw, f[i].label);
		mvwaddstr(d.win, 2 + i, lw + 2, f[i].required ? "*:" : " :");
		if (f[i].kind == TUI_F_CHOICE)
			mvwaddstr(d.win, 2 + i, d.w - 2, "<");
	}
	form_hint(app, &d, n + 3, err != NULL ? err : "");
	for (int i = 0; i < n; i++)
		has_choice |= f[i].kind == TUI_F_CHOICE;
	mvwaddnstr(d.win, n + 6, 2,
	    has_choice
	        ? "Enter save  Tab/Up/Down move  Space/<> choose  Esc cancel"
	        : "Enter save  Tab/Up/Down move  ^U clear  Esc cancel",
	    d.w - 4);
	curs_set(1);
	pos_form_cursor(form);
	while (!done) {
		wint_t wc;
		int    rc;
		int    cur;

		update_panels();
		doupdate();
		pos_form_cursor(form);
		wrefresh(d.win);
		rc = dlg_key(app, &d, &wc);
		cur = field_index(current_field(form));
		if (rc == ERR)
			continue;
		if (rc == KEY_CODE_YES) {
			switch (wc) {
			case KEY_DOWN:
				form_driver(form, REQ_NEXT_FIELD);
				form_driver(form, REQ_END_LINE);
				fresh = true;
				continue;
			case KEY_UP:
			case KEY_BTAB:
				form_driver(form, REQ_PREV_FIELD);
				form_driver(form, REQ_END_LINE);
				fresh = true;
				continue;
			case KEY_LEFT:
			case KEY_RIGHT:
				if (f[cur].kind == TUI_F_CHOICE) {
					int nc = choice_count(&f[cur]);

					choice[cur] =
					    (choice[cur] +
					        (wc == KEY_LEFT ? nc - 1 : 1)) %
					    nc;
					set_field_buffer(fields[cur], 0,
					    f[cur].choices[choice[cur]]);
				} else {
					form_driver(form,
					    wc == KEY_LEFT ? REQ_PREV_CHAR
					                   : REQ_NEXT_CHAR);
				}
				break;
			case KEY_BACKSPACE:
				form_driver(form, REQ_DEL_PREV);
				break;
			case KEY_DC:
				form_driver(form, REQ_DEL_CHAR);
				break;
			case KEY_HOME:
				form_driver(form, REQ_BEG_LINE);
				break;
			case KEY_END:
				form_driver(form, REQ_END_LINE);
				break;
			case KEY_ENTER:
				goto submit;
			default:
				break;
			}
			fresh = false;
			continue;
		}
		switch (wc) {
		case 27:
			done = true;
			continue;
		case '\t':
			form_driver(form, REQ_NEXT_FIELD);
			form_driver(form, REQ_END_LINE);
			fresh = true;
			continue;
		case 127:
		case 8:
			form_driver(form, REQ_DEL_PREV);
			fresh = false;
			continue;
		case 21: /* ^U */
			form_driver(form, REQ_CLR_FIELD);
			fresh = false;
			continue;
		case '\r':
		case '\n':
			goto submit;
		case ' ':
			if (f[cur].kind == TUI_F_CHOICE) {
				choice[cur] =
				    (choice[cur] + 1) % choice_count(&f[cur]);
				set_field_buffer(fields[cur], 0,
				    f[cur].choices[choice[cur]]);
				continue;
			}
			break;
		default:
			break;
		}
		if (wc >= 32) {
			if (fresh && f[cur].kind != TUI_F_CHOICE)
				form_driver(form, REQ_CLR_FIELD);
			form_driver_w(form, OK, (wchar_t) wc);
		}
		fresh = false;
		continue;
	submit:
		form_driver(form, REQ_VALIDATION);
		ok = true;
		for (int i = 0; i < n; i++) {
			read_back(fields[i], &f[i]);
			if (!check(&f[i], msg, sizeof(msg))) {
				form_hint(app, &d, n + 3, msg);
				set_current_field(form, fields[i]);
				form_driver(form, REQ_END_LINE);
				fresh = false;
				ok = false;
				break;
			}
		}
		if (ok)
			done = true;
	}
	unpost_form(form);
	free_form(form);
	for (int i = 0; i < n; i++)
		free_field(fields[i]);
	delwin(sub);
	dlg_close(app, &d);
	return ok;
}

/* ---- confirm, message ------------------------------------------------ */

bool
tui_confirm(struct tui_app *app, const char *title, const char *text)
{
	struct dlg d;
	bool       yes = false;

	if (dlg_open(app, &d, 7, 60, title) != GW_OK)
		return false;
	wrap(&d, 2, 2, text);
	wattron(d.win, A_BOLD);
	mvwaddstr(d.win, 5, 2, "y Yes   n/Esc No");
	wattroff(d.win, A_BOLD);
	for (;;) {
		wint_t wc;
		int    rc;

		update_panels();
		doupdate();
		rc = dlg_key(app, &d, &wc);
		if (rc == OK && (wc == 'y' || wc == 'Y')) {
			yes = true;
			break;
		}
		if (rc == OK &&
		    (wc == 'n' || wc == 'N' || wc == 27 || wc == 'q' ||
		        wc == '\r' || wc == '\n'))
			break;
	}
	dlg_close(app, &d);
	return yes;
}

void
tui_message(
    struct tui_app *app, const char *title, const char *const *lines, int n)
{
	struct dlg d;
	int        w = 40;

	for (int i = 0; i < n; i++)
		if ((int) strlen(lines[i]) + 4 > w)
			w = (int) strlen(lines[i]) + 4;
	if (dlg_open(app, &d, n + 5, w, title) != GW_OK)
		return;
	for (int i = 0; i < n; i++)
		mvwaddnstr(d.win, 2 + i, 2, lines[i], d.w - 4);
	wattron(d.win, A_BOLD);
	mvwaddstr(d.win, n + 3, 2, "Enter/Esc close");
	wattroff(d.win, A_BOLD);
	for (;;) {
		wint_t wc;
		int    rc;

		update_panels();
		doupdate();
		rc = dlg_key(app, &d, &wc);
		if (rc == OK &&
		    (wc == 27 || wc == '\r' || wc == '\n' || wc == 'q' ||
		        wc == ' '))
			break;
		if (rc == KEY_CODE_YES && wc == KEY_ENTER)
			break;
	}
	dlg_close(app, &d);
}

/* ---- menu picker ----------------------------------------------------- */

int
tui_pick(struct tui_app *app, const char *title, const char *const *items,
    int n, int sel)
{
	struct dlg d;
	ITEM     **it;
	MENU      *menu;
	WINDOW    *sub;
	int        w = 30;
	int        chosen = -1;
	bool       done = false;

	if (n <= 0)
		return -1;
	if ((it = calloc((size_t) n + 1, sizeof(*it))) == NULL)
		return -1;
	for (int i = 0; i < n; i++)
		it[i] = new_item(items[i], "");
	if (dlg_open(app, &d, n + 4, w, title) != GW_OK)
		goto out_items;
	menu = new_menu(it);
	sub = derwin(d.win, n, w - 4, 2, 2);
	set_menu_win(menu, d.win);
	set_menu_sub(menu, sub);
	set_menu_mark(menu, "> ");
	set_menu_fore(menu, tui_attr(app, TUI_C_SEL));
	set_menu_back(menu, tui_attr(app, TUI_C_DIALOG));
	post_menu(menu);
	if (sel > 0 && sel < n)
		set_current_item(menu, it[sel]);
	while (!done) {
		wint_t wc;
		int    rc;

		update_panels();
		doupdate();
		rc = dlg_key(app, &d, &wc);
		if (rc == KEY_CODE_YES) {
			if (wc == KEY_DOWN)
				menu_driver(menu, REQ_DOWN_ITEM);
			else if (wc == KEY_UP)
				menu_driver(menu, REQ_UP_ITEM);
			else if (wc == KEY_ENTER) {
				chosen = item_index(current_item(menu));
				done = true;
			}
		} else if (rc == OK) {
			if (wc == 27 || wc == 'q')
				done = true;
			else if (wc == '\r' || wc == '\n') {
				chosen = item_index(current_item(menu));
				done = true;
			} else if (wc > 32 && wc < 127)
				menu_driver(menu, (int) wc); /* pattern match */
		}
	}
	unpost_menu(menu);
	free_menu(menu);
	delwin(sub);
	dlg_close(app, &d);
out_items:
	for (int i = 0; i < n; i++)
		free_item(it[i]);
	free(it);
	return chosen;
}

/* ---- prompt on the status row ---------------------------------------- */

bool
tui_prompt(struct tui_app *app, const char *prefix, char *buf, size_t len,
    void (*on_change)(struct tui_app *app, const char *buf))
{
	bool ok = false;

	app->prompt_prefix = prefix;
	app->prompt_buf = buf;
	curs_set(1);
	for (;;) {
		wint_t wc;
		int    rc;
		size_t n = strlen(buf);

		tui_redraw(app);
		move(LINES - 2, (int) (strlen(prefix) + strlen(buf)));
		refresh();
		tui_poll(app);
		if (app->quit)
			break;
		timeout(TUI_TICK_MS);
		rc = get_wch(&wc);
		if (rc == ERR)
			continue;
		if (rc == KEY_CODE_YES) {
			if (wc == KEY_ENTER) {
				ok = true;
				break;
			}
			if (wc != KEY_BACKSPACE)
				continue;
			wc = 127;
		}
		if (wc == 27)
			break;
		if (wc == '\r' || wc == '\n') {
			ok = true;
			break;
		}
		if (wc == 127 || wc == 8) {
			/* drop one UTF-8 character */
			while (n > 0 && (buf[n - 1] & 0xc0) == 0x80)
				n--;
			if (n > 0)
				n--;
			buf[n] = '\0';
		} else if (wc == 21) {
			buf[0] = '\0';
		} else if (wc >= 32) {
			char      mb[8];
			mbstate_t st;
			size_t    k;

			memset(&st, 0, sizeof(st));
			k = wcrtomb(mb, (wchar_t) wc, &st);
			if (k == (size_t) -1 || n + k + 1 > len)
				continue;
			memcpy(buf + n, mb, k);
			buf[n + k] = '\0';
		} else {
			continue;
		}
		if (on_change != NULL)
			on_change(app, buf);
	}
	app->prompt_prefix = NULL;
	app->prompt_buf = NULL;
	curs_set(0);
	return ok;
}
