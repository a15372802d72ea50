/*
 * scr_keys.c - API keys, for all clients or for the one the clients
 * screen was on. A new key's raw value is shown once, in a dialog, and
 * kept nowhere: the buffer is wiped when the dialog closes.
 */
#include <stdio.h>
#include <string.h>

#include "gw/err.h"
#include "tui_impl.h"

static const struct tui_col cols[] = {
	{ "ID", 5, TUI_COL_RIGHT },
	{ "Client", 6, TUI_COL_RIGHT },
	{ "Prefix", 10, 0 },
	{ "State", 8, 0 },
	{ "Created", 16, 0 },
	{ "Revoked", 0, 0 },
};

static struct tui_table    keys;
static Relay__V1__KeyList *list;
static bool                inited;

static const Relay__V1__ApiKey *
find(uint64_t id)
{
	for (size_t i = 0; list != NULL && i < list->n_keys; i++)
		if (list->keys[i]->id == id)
			return list->keys[i];
	return NULL;
}

static void
keys_load(struct tui_app *app)
{
	Relay__V1__ListKeysRequest req = RELAY__V1__LIST_KEYS_REQUEST__INIT;
	Relay__V1__KeyList        *out;
	uint64_t                   keep = 0;

	if (!inited) {
		tui_table_init(&keys, cols, 6);
		snprintf(keys.empty, sizeof(keys.empty),
		    "No API keys: press n to create one");
		inited = true;
	}
	req.client_id = app->ctx_client;
	if (tui_call(app, "list keys", "ListKeys", &req.base,
	        (ProtobufCMessage **) &out) != GW_OK)
		return;
	tui_table_sel_id(&keys, &keep);
	tui_free(list);
	list = out;
	tui_table_clear(&keys);
	for (size_t i = 0; i < list->n_keys; i++) {
		const Relay__V1__ApiKey *k = list->keys[i];
		char                     id[24], cl[24], cr[32], rv[32];
		const char              *cells[6] = { id, cl, k->prefix,
                        k->revoked_unix_ms != 0 ? "revoked" : "active", cr,
			             rv };

		snprintf(id, sizeof(id), "%llu", (unsigned long long) k->id);
		snprintf(
		    cl, sizeof(cl), "%llu", (unsigned long long) k->client_id);
		tui_fmt_time(k->created_unix_ms, cr, sizeof(cr));
		tui_fmt_time(k->revoked_unix_ms, rv, sizeof(rv));
		tui_table_add(&keys, k->id, cells);
	}
	tui_table_done(&keys, keep);
}

static void
keys_heading(struct tui_app *app, char *buf, size_t len)
{
	size_t n = list != NULL ? list->n_keys : 0;

	if (app->ctx_client != 0)
		snprintf(buf, len, "API keys of client #%llu (%zu)",
		    (unsigned long long) app->ctx_client, n);
	else
		snprintf(buf, len, "API keys, all clients (%zu)", n);
}

static void
create_key(struct tui_app *app)
{
	struct tui_field f[] = {
		{ .label = "Client ID", .kind = TUI_F_ID, .required = true },
	};
	char err[300] = "";

	if (app->ctx_client != 0)
		snprintf(f[0].value, sizeof(f[0].value), "%llu",
		    (unsigned long long) app->ctx_client);
	for (;;) {
		Relay__V1__CreateKeyRequest req =
		    RELAY__V1__CREATE_KEY_REQUEST__INIT;
		Relay__V1__CreatedKey *out;
		uint64_t               cid = 0;

		if (!tui_form_run(app, "New API key", f, 1, err))
			return;
		tui_parse_u64(f[0].value, &cid);
		req.client_id = cid;
		if (tui_call(app, "create key", "CreateKey", &req.base,
		        (ProtobufCMessage **) &out) == GW_OK) {
			char        l1[96], l3[300];
			const char *lines[] = {
				l1,
				"",
				l3,
				"",
				"Copy it now: it is not stored and will not",
				"be shown again.",
			};

			snprintf(l1, sizeof(l1),
			    "API key #%llu for client "
			    "#%llu:",
			    (unsigned long long) out->key->id,
			    (unsigned long long) cid);
			snprintf(l3, sizeof(l3), "  %s", out->raw_key);
			tui_status(app, TUI_OK,
			    "key #%llu (%s...) created for "
			    "client #%llu",
			    (unsigned long long) out->key->id, out->key->prefix,
			    (unsigned long long) cid);
			tui_message(app, "New API key", lines, 6);
			memset(l3, 0, sizeof(l3));
			memset(out->raw_key, 0, strlen(out->raw_key));
			tui_free(out);
			tui_reload(app);
			return;
		}
		snprintf(err, sizeof(err), "%s", app->last.message);
	}
}

static void
revoke_key(struct tui_app *app, const Relay__V1__ApiKey *k)
{
	Relay__V1__IdRequest req = RELAY__V1__ID_REQUEST__INIT;
	Relay__V1__ApiKey   *out;
	char                 q[200];

	if (k->revoked_unix_ms != 0) {
		tui_status(app, TUI_INFO, "key #%llu is already revoked",
		    (unsigned long long) k->id);
		return;
	}
	snprintf(q, sizeof(q),
	    "Revoke key #%llu (%s...) of client #%llu? "
	    "Requests with it fail from now on; this cannot be undone.",
	    (unsigned long long) k->id, k->prefix,
	    (unsigned long long) k->client_id);
	if (!tui_confirm(app, "Revoke API key", q))
		return;
	req.id = k->id;
	if (tui_call(app, "revoke key", "RevokeKey", &req.base,
	        (ProtobufCMessage **) &out) != GW_OK)
		return;
	tui_status(
	    app, TUI_OK, "key #%llu revoked", (unsigned long long) out->id);
	tui_free(out);
	tui_reload(app);
}

static bool
keys_key(struct tui_app *app, int ch)
{
	const Relay__V1__ApiKey *k = NULL;
	uint64_t                 id;

	if (tui_table_sel_id(&keys, &id))
		k = find(id);
	switch (ch) {
	case 'n':
		create_key(app);
		return true;
	case 'x':
	case 'd':
	case KEY_DC:
		if (k != NULL)
			revoke_key(app, k);
		return true;
	case 'A':
		app->ctx_client = 0;
		tui_reload(app);
		return true;
	default:
		return false;
	}
}

const struct tui_screen tui_scr_keys = {
	.name = "keys",
	.title = "Keys",
	.legend = "n New|d Revoke|A All clients",
	.table = &keys,
	.load = keys_load,
	.key = keys_key,
	.heading = keys_heading,
};
