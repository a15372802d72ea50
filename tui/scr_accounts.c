/*
 * scr_accounts.c - upstream provider accounts. The token is typed into a
 * field that never echoes it, sent once, wiped, and never shown again:
 * relayd only ever says whether an account has one.
 *
 * 'e' edits an account through Admin/UpdateAccount, sending only the
 * fields that changed. The token field starts empty and stays unchanged
 * when left empty; relayd re-seals a new token for the account's SID and
 * asks for the token again when the SID changes.
 */
#include <stdio.h>
#include <string.h>

#include "gw/err.h"
#include "tui_impl.h"

static const struct tui_col cols[] = {
	{ "ID", 4, TUI_COL_RIGHT },
	{ "Kind", 9, 0 },
	{ "SID", 34, 0 },
	{ "From", 12, 0 },
	{ "Tok", 3, 0 },
	{ "Description", 0, 0 },
};

static const char *const kinds[] = { "twilio", "flowroute", "sandbox", NULL };

static struct tui_table        accts;
static Relay__V1__AccountList *list;
static bool                    inited;

static const Relay__V1__Account *
find(uint64_t id)
{
	for (size_t i = 0; list != NULL && i < list->n_accounts; i++)
		if (list->accounts[i]->id == id)
			return list->accounts[i];
	return NULL;
}

static void
accounts_load(struct tui_app *app)
{
	Relay__V1__Empty        req = RELAY__V1__EMPTY__INIT;
	Relay__V1__AccountList *out;
	uint64_t                keep = 0;

	if (!inited) {
		tui_table_init(&accts, cols, 6);
		snprintf(accts.empty, sizeof(accts.empty),
		    "No provider accounts: press n to add one");
		inited = true;
	}
	if (tui_call(app, "list accounts", "ListAccounts", &req.base,
	        (ProtobufCMessage **) &out) != GW_OK)
		return;
	tui_table_sel_id(&accts, &keep);
	tui_free(list);
	list = out;
	tui_table_clear(&accts);
	for (size_t i = 0; i < list->n_accounts; i++) {
		const Relay__V1__Account *a = list->accounts[i];
		char                      id[24];
		const char *cells[6] = { id, tui_account_kind_name(a->kind),
			a->sid, a->from_number, a->has_token ? "yes" : "no",
			a->description };

		snprintf(id, sizeof(id), "%llu", (unsigned long long) a->id);
		tui_table_add(&accts, a->id, cells);
	}
	tui_table_done(&accts, keep);
}

static void
accounts_heading(struct tui_app *app, char *buf, size_t len)
{
	(void) app;
	snprintf(buf, len, "Provider accounts (%zu)",
	    list != NULL ? list->n_accounts : (size_t) 0);
}

static void
wipe(struct tui_field *f)
{
	volatile char *p = (volatile char *) f->value;

	for (size_t i = 0; i < sizeof(f->value); i++)
		p[i] = 0;
}

static void
create_account(struct tui_app *app)
{
	struct tui_field f[] = {
		{ .label = "Kind",
		    .kind = TUI_F_CHOICE,
		    .choices = kinds,
		    .value = "twilio" },
		{ .label = "SID / access key", .kind = TUI_F_TEXT },
		{ .label = "Token", .kind = TUI_F_SECRET },
		{ .label = "Base URL", .kind = TUI_F_TEXT },
		{ .label = "From number", .kind = TUI_F_E164 },
		{ .label = "Description", .kind = TUI_F_TEXT },
	};
	char err[300] = "";

	for (;;) {
		Relay__V1__CreateAccountRequest req =
		    RELAY__V1__CREATE_ACCOUNT_REQUEST__INIT;
		Relay__V1__Account *out;
		int                 rc;

		if (!tui_form_run(app, "New provider account", f, 6, err))
			break;
		if (strcmp(f[0].value, "twilio") == 0)
			req.kind = RELAY__V1__ACCOUNT_KIND__ACCOUNT_TWILIO;
		else if (strcmp(f[0].value, "flowroute") == 0)
			req.kind = RELAY__V1__ACCOUNT_KIND__ACCOUNT_FLOWROUTE;
		else
			req.kind = RELAY__V1__ACCOUNT_KIND__ACCOUNT_SANDBOX;
		req.sid = f[1].value;
		req.token = f[2].value;
		req.base_url = f[3].value;
		req.from_number = f[4].value;
		req.description = f[5].value;
		rc = tui_call(app, "create account", "CreateAccount", &req.base,
		    (ProtobufCMessage **) &out);
		if (rc == GW_OK) {
			tui_status(app, TUI_OK, "%s account #%llu created%s",
			    tui_account_kind_name(out->kind),
			    (unsigned long long) out->id,
			    out->has_token ? " (token stored encrypted)" : "");
			tui_free(out);
			tui_reload(app);
			break;
		}
		snprintf(err, sizeof(err), "%s", app->last.message);
	}
	wipe(&f[2]);
}

/* changed points *dst at v and returns true when v differs from was. */
static bool
changed(const char *v, const char *was, char **dst)
{
	if (strcmp(v, was) == 0)
		return false;
	*dst = (char *) v;
	return true;
}

static void
edit_account(struct tui_app *app, const Relay__V1__Account *a)
{
	struct tui_field f[] = {
		{ .label = "SID / access key", .kind = TUI_F_TEXT },
		{ .label = "Token (empty: unchanged)", .kind = TUI_F_SECRET },
		{ .label = "Base URL", .kind = TUI_F_TEXT },
		{ .label = "From number", .kind = TUI_F_E164 },
		{ .label = "Description", .kind = TUI_F_TEXT },
	};
	char     err[300] = "", title[80], was[4][TUI_CELL_MAX * 2];
	uint64_t id = a->id;

	snprintf(was[0], sizeof(was[0]), "%s", a->sid);
	snprintf(was[1], sizeof(was[1]), "%s", a->base_url);
	snprintf(was[2], sizeof(was[2]), "%s", a->from_number);
	snprintf(was[3], sizeof(was[3]), "%s", a->description);
	snprintf(f[0].value, sizeof(f[0].value), "%s", was[0]);
	snprintf(f[2].value, sizeof(f[2].value), "%s", was[1]);
	snprintf(f[3].value, sizeof(f[3].value), "%s", was[2]);
	snprintf(f[4].value, sizeof(f[4].value), "%s", was[3]);
	snprintf(title, sizeof(title), "Edit %s account #%llu",
	    tui_account_kind_name(a->kind), (unsigned long long) id);
	/* a may go stale on a reload: only id and the copies are used */
	for (;;) {
		Relay__V1__UpdateAccountRequest req =
		    RELAY__V1__UPDATE_ACCOUNT_REQUEST__INIT;
		Relay__V1__Account *out;

		if (!tui_form_run(app, title, f, 5, err))
			break;
		req.id = id;
		if (changed(f[0].value, was[0], &req.sid))
			req.set_sid_case =
			    RELAY__V1__UPDATE_ACCOUNT_REQUEST__SET_SID_SID;
		if (f[1].value[0] != '\0') {
			req.token = f[1].value;
			req.set_token_case =
			    RELAY__V1__UPDATE_ACCOUNT_REQUEST__SET_TOKEN_TOKEN;
		}
		if (changed(f[2].value, was[1], &req.base_url))
			req.set_base_url_case =
			    RELAY__V1__UPDATE_ACCOUNT_REQUEST__SET_BASE_URL_BASE_URL;
		if (changed(f[3].value, was[2], &req.from_number))
			req.set_from_number_case =
			    RELAY__V1__UPDATE_ACCOUNT_REQUEST__SET_FROM_NUMBER_FROM_NUMBER;
		if (changed(f[4].value, was[3], &req.description))
			req.set_description_case =
			    RELAY__V1__UPDATE_ACCOUNT_REQUEST__SET_DESCRIPTION_DESCRIPTION;
		if (req.set_sid_case == 0 && req.set_token_case == 0 &&
		    req.set_base_url_case == 0 &&
		    req.set_from_number_case == 0 &&
		    req.set_description_case == 0) {
			tui_status(app, TUI_INFO,
			    "account #%llu: nothing changed",
			    (unsigned long long) id);
			break;
		}
		if (tui_call(app, "update account", "UpdateAccount", &req.base,
		        (ProtobufCMessage **) &out) == GW_OK) {
			tui_status(app, TUI_OK, "account #%llu updated%s",
			    (unsigned long long) out->id,
			    req.set_token_case ? " (new token stored encrypted)"
			                       : "");
			tui_free(out);
			tui_reload(app);
			break;
		}
		snprintf(err, sizeof(err), "%s", app->last.message);
	}
	wipe(&f[1]);
}

static void
delete_account(struct tui_app *app, const Relay__V1__Account *a)
{
	Relay__V1__IdRequest req = RELAY__V1__ID_REQUEST__INIT;
	Relay__V1__Account  *out;
	char                 q[200];

	snprintf(q, sizeof(q),
	    "Delete %s account #%llu %s? Routing rules "
	    "that use it must be deleted first.",
	    tui_account_kind_name(a->kind), (unsigned long long) a->id, a->sid);
	if (!tui_confirm(app, "Delete account", q))
		return;
	req.id = a->id;
	if (tui_call(app, "delete account", "DeleteAccount", &req.base,
	        (ProtobufCMessage **) &out) != GW_OK)
		return;
	tui_status(
	    app, TUI_OK, "account #%llu deleted", (unsigned long long) out->id);
	tui_free(out);
	tui_reload(app);
}

static void
show_account(struct tui_app *app, const Relay__V1__Account *a)
{
	char        l[7][160], cr[32];
	const char *lines[7];

	snprintf(l[0], sizeof(l[0]), "Kind:        %s",
	    tui_account_kind_name(a->kind));
	snprintf(l[1], sizeof(l[1]), "SID:         %s", a->sid);
	snprintf(l[2], sizeof(l[2]), "Token:       %s",
	    a->has_token ? "set (stored encrypted, never shown)" : "none");
	snprintf(l[3], sizeof(l[3]), "Base URL:    %s",
	    a->base_url[0] ? a->base_url : "(provider default)");
	snprintf(l[4], sizeof(l[4]), "From:        %s",
	    a->from_number[0] ? a->from_number : "-");
	snprintf(l[5], sizeof(l[5]), "Description: %s", a->description);
	snprintf(l[6], sizeof(l[6]), "Created:     %s",
	    tui_fmt_time(a->created_unix_ms, cr, sizeof(cr)));
	for (int i = 0; i < 7; i++)
		lines[i] = l[i];
	snprintf(cr, sizeof(cr), "Account #%llu", (unsigned long long) a->id);
	tui_message(app, cr, lines, 7);
}

static bool
accounts_key(struct tui_app *app, int ch)
{
	const Relay__V1__Account *a = NULL;
	uint64_t                  id;

	if (tui_table_sel_id(&accts, &id))
		a = find(id);
	switch (ch) {
	case 'n':
		create_account(app);
		return true;
	case 'e':
		if (a != NULL)
			edit_account(app, a);
		return true;
	case 'd':
	case KEY_DC:
		if (a != NULL)
			delete_account(app, a);
		return true;
	case '\r':
	case '\n':
	case KEY_ENTER:
		if (a != NULL)
			show_account(app, a);
		return true;
	default:
		return false;
	}
}

const struct tui_screen tui_scr_accounts = {
	.name = "accounts",
	.title = "Accounts",
	.legend = "n New|e Edit|d Delete|Enter Details",
	.table = &accts,
	.load = accounts_load,
	.key = accounts_key,
	.heading = accounts_heading,
};
