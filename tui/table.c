/*
 * table.c - the list widget every screen uses: fixed columns, a filter,
 * a selection that survives reloads, scrolling that keeps it in view.
 *
 * Cells are stored as UTF-8 and drawn with display widths in mind, so a
 * client named in another script does not push the next column along.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wchar.h>

#include "gw/err.h"
#include "tui_impl.h"

void
tui_table_init(struct tui_table *t, const struct tui_col *cols, int n)
{
	memset(t, 0, sizeof(*t));
	t->cols = cols;
	t->ncols = n;
	snprintf(t->empty, sizeof(t->empty), "(nothing here yet)");
}

void
tui_table_clear(struct tui_table *t)
{
	for (int i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	t->nrows = 0;
	t->nvis = 0;
}

void
tui_table_fini(struct tui_table *t)
{
	tui_table_clear(t);
	free(t->cells);
	free(t->ids);
	free(t->vis);
	t->cells = NULL;
	t->ids = NULL;
	t->vis = NULL;
	t->cap = 0;
}

int
tui_table_add(struct tui_table *t, uint64_t id, const char *const *cells)
{
	if (t->nrows == t->cap) {
		int    cap = t->cap ? t->cap * 2 : 32;
		char **c = realloc(
		    t->cells, (size_t) cap * (size_t) t->ncols * sizeof(*c));
		uint64_t *ids;
		int      *vis;

		if (c == NULL)
			return GW_ENOMEM;
		t->cells = c;
		if ((ids = realloc(t->ids, (size_t) cap * sizeof(*ids))) ==
		    NULL)
			return GW_ENOMEM;
		t->ids = ids;
		if ((vis = realloc(t->vis, (size_t) cap * sizeof(*vis))) ==
		    NULL)
			return GW_ENOMEM;
		t->vis = vis;
		t->cap = cap;
	}
	for (int i = 0; i < t->ncols; i++) {
		char *s = strdup(cells[i] != NULL ? cells[i] : "");

		if (s == NULL) {
			while (i-- > 0)
				free(t->cells[t->nrows * t->ncols + i]);
			return GW_ENOMEM;
		}
		t->cells[t->nrows * t->ncols + i] = s;
	}
	t->ids[t->nrows++] = id;
	return GW_OK;
}

static bool
row_matches(const struct tui_table *t, int r)
{
	if (t->filter[0] == '\0')
		return true;
	for (int i = 0; i < t->ncols; i++)
		if (strcasestr(t->cells[r * t->ncols + i], t->filter) != NULL)
			return true;
	return false;
}

static void
apply(struct tui_table *t, uint64_t keep, bool by_id)
{
	int old = t->sel;

	t->nvis = 0;
	for (int r = 0; r < t->nrows; r++)
		if (row_matches(t, r))
			t->vis[t->nvis++] = r;
	if (by_id) {
		for (int i = 0; i < t->nvis; i++)
			if (t->ids[t->vis[i]] == keep) {
				t->sel = i;
				goto clamp;
			}
	}
	t->sel = old;
clamp:
	if (t->sel >= t->nvis)
		t->sel = t->nvis - 1;
	if (t->sel < 0)
		t->sel = 0;
	if (t->top > t->sel)
		t->top = t->sel;
}

void
tui_table_done(struct tui_table *t, uint64_t keep)
{
	apply(t, keep, true);
}

void
tui_table_refilter(struct tui_table *t)
{
	uint64_t id = 0;
	bool     had = tui_table_sel_id(t, &id);

	apply(t, id, had);
}

int
tui_table_sel(const struct tui_table *t)
{
	if (t->nvis == 0 || t->sel < 0 || t->sel >= t->nvis)
		return -1;
	return t->vis[t->sel];
}

bool
tui_table_sel_id(const struct tui_table *t, uint64_t *id)
{
	int r = tui_table_sel(t);

	if (r < 0)
		return false;
	*id = t->ids[r];
	return true;
}

/* put writes s into w at the cursor, clipped to width display columns
 * and padded with blanks (right-aligned if right). */
static void
put(WINDOW *w, const char *s, int width, bool right)
{
	wchar_t   wbuf[TUI_CELL_MAX];
	mbstate_t st;
	int       used = 0;
	int       n = 0;
	size_t    k;

	memset(&st, 0, sizeof(st));
	while (*s != '\0' && n < TUI_CELL_MAX - 1) {
		wchar_t wc;
		int     cw;

		k = mbrtowc(&wc, s, strlen(s), &st);
		if (k == (size_t) -1 || k == (size_t) -2 || k == 0) {
			wc = L'?';
			k = 1;
			memset(&st, 0, sizeof(st));
		}
		cw = wcwidth(wc);
		if (cw < 0) {
			wc = L'?';
			cw = 1;
		}
		if (used + cw > width) {
			/* mark the cut so a clipped value is not mistaken */
			if (n > 0 && width > 1) {
				used -= wcwidth(wbuf[n - 1]) > 0
				    ? wcwidth(wbuf[n - 1])
				    : 1;
				wbuf[n - 1] = L'~';
				used++;
			}
			break;
		}
		wbuf[n++] = wc;
		used += cw;
		s += k;
	}
	wbuf[n] = L'\0';
	if (right)
		for (int i = used; i < width; i++)
			waddch(w, ' ');
	waddnwstr(w, wbuf, n);
	if (!right)
		for (int i = used; i < width; i++)
			waddch(w, ' ');
}

/* widths computes each column's width for cols screen columns. */
static void
widths(const struct tui_table *t, int cols, int *wd)
{
	int fixed = 0;
	int flex = -1;

	for (int i = 0; i < t->ncols; i++) {
		wd[i] = t->cols[i].width;
		if (wd[i] == 0 && flex < 0)
			flex = i;
		fixed += wd[i] + 1;
	}
	if (flex >= 0) {
		wd[flex] = cols - 1 - fixed;
		if (wd[flex] < 4)
			wd[flex] = 4;
	}
}

void
tui_table_draw(struct tui_table *t, WINDOW *w, int y, int h, int cols)
{
	int wd[16];
	int rows = h - 1;

	if (h < 2 || t->ncols > 16)
		return;
	widths(t, cols, wd);
	wmove(w, y, 0);
	wattron(w, A_BOLD | A_UNDERLINE);
	waddch(w, ' ');
	for (int i = 0, x = 1; i < t->ncols && x < cols; i++) {
		int cw = wd[i] < cols - x ? wd[i] : cols - x;

		put(w, t->cols[i].title, cw, t->cols[i].flags & TUI_COL_RIGHT);
		x += cw;
		if (x < cols) {
			waddch(w, ' ');
			x++;
		}
	}
	wattroff(w, A_BOLD | A_UNDERLINE);
	wclrtoeol(w);
	if (t->sel < 0)
		t->sel = 0;
	if (t->sel < t->top)
		t->top = t->sel;
	if (t->sel >= t->top + rows)
		t->top = t->sel - rows + 1;
	if (t->top > 0 && t->top + rows > t->nvis)
		t->top = t->nvis - rows > 0 ? t->nvis - rows : 0;
	for (int i = 0; i < rows; i++) {
		int vi = t->top + i;

		wmove(w, y + 1 + i, 0);
		wclrtoeol(w);
		if (vi >= t->nvis) {
			if (i == 0 && t->nvis == 0) {
				wattron(w, A_DIM);
				mvwaddnstr(w, y + 1, 2,
				    t->nrows > 0 ? "(no rows match the filter)"
				                 : t->empty,
				    cols - 3);
				wattroff(w, A_DIM);
			}
			continue;
		}
		if (vi == t->sel)
			wattron(w, A_REVERSE);
		waddch(w, vi == t->sel ? '>' : ' ');
		for (int c = 0, x = 1; c < t->ncols && x < cols; c++) {
			int cw = wd[c] < cols - x ? wd[c] : cols - x;

			put(w, t->cells[t->vis[vi] * t->ncols + c], cw,
			    t->cols[c].flags & TUI_COL_RIGHT);
			x += cw;
			if (x < cols) {
				waddch(w, ' ');
				x++;
			}
		}
		if (vi == t->sel)
			wattroff(w, A_REVERSE);
	}
	if (t->nvis > rows) {
		char more[64];

		snprintf(more, sizeof(more), " %d-%d/%d ", t->top + 1,
		    t->top + rows < t->nvis ? t->top + rows : t->nvis, t->nvis);
		mvwaddstr(w, y, cols - (int) strlen(more), more);
	}
}

bool
tui_table_key(struct tui_table *t, int ch, int h)
{
	int page = h > 3 ? h - 2 : 1;

	switch (ch) {
	case KEY_UP:
		t->sel--;
		break;
	case KEY_DOWN:
		t->sel++;
		break;
	case KEY_PPAGE:
		t->sel -= page;
		break;
	case KEY_NPAGE:
		t->sel += page;
		break;
	case KEY_HOME:
		t->sel = 0;
		break;
	case KEY_END:
		t->sel = t->nvis - 1;
		break;
	default:
		return false;
	}
	if (t->sel >= t->nvis)
		t->sel = t->nvis - 1;
	if (t->sel < 0)
		t->sel = 0;
	return true;
}
