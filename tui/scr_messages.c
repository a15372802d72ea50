/*
 * scr_messages.c - recent messages of every client, newest first, with a
 * client filter ('c'), a status filter ('s') and a detail view (Enter).
 *
 * One page of relayd's Admin/ListMessages (MESSAGES_PAGE rows) is shown;
 * the heading says when older messages exist. The SID column shows the
 * sid's random tail (the head is the zero-padded id); the detail view
 * reads the message afresh and shows all of it. Against a relayd that
 * predates the RPC the screen says "not available yet" instead of an
 * error (probed once per connection).
 */
#include <stdio.h>
#include <string.h>

#include "gw/err.h"
#include "gw/money.h"
#include "tui_impl.h"

#define MESSAGES_METHOD "relay.v1.Admin/ListMessages"
#define MESSAGES_PAGE 500
#define SID_TAIL 10

static const struct tui_col cols[] = {
	{ "SID", 13, 0 },
	{ "Client", 6, TUI_COL_RIGHT },
	{ "To", 16, 0 },
	{ "Status", 11, 0 },
	{ "Cost", 9, TUI_COL_RIGHT },
	{ "When", 0, 0 },
};

static const char *const statuses[] = { "any", "queued", "sending", "sent",
	"delivered", "undelivered", "failed", NULL };

static struct tui_table             msgs;
static Relay__V1__AdminMessageList *list; /* the rows' messages */
static bool                         inited;
static int      avail = -1; /* -1 unknown, 0 no, 1 relayd has it */
static unsigned avail_gen;
static size_t   shown;
static bool     more;
static uint64_t f_client; /* 0: every client */
static int      f_status; /* index into statuses; 0: any */

static void
messages_load(struct tui_app *app)
{
	Relay__V1__AdminListMessagesRequest req =
	    RELAY__V1__ADMIN_LIST_MESSAGES_REQUEST__INIT;
	Relay__V1__AdminMessageList *out;
	uint64_t                     keep = 0;
	int                          rc;

	if (!inited) {
		tui_table_init(&msgs, cols, 6);
		inited = true;
	}
	/* relayd only gains methods on a restart */
	if (avail != 1 || avail_gen != app->conn_gen) {
		if ((rc = tui_probe(app, MESSAGES_METHOD)) == GW_EUNAVAIL)
			return;
		avail = rc == GW_OK;
		avail_gen = app->conn_gen;
	}
	if (!avail) {
		tui_table_clear(&msgs);
		snprintf(msgs.empty, sizeof(msgs.empty), "%s",
		    "Messages: not available yet (relayd has no message "
		    "listing RPC)");
		tui_table_done(&msgs, 0);
		return;
	}
	req.client_id = f_client;
	req.status = (char *) (f_status > 0 ? statuses[f_status] : "");
	req.limit = MESSAGES_PAGE;
	if (tui_call(app, "list messages", "ListMessages", &req.base,
	        (ProtobufCMessage **) &out) != GW_OK)
		return;
	tui_table_sel_id(&msgs, &keep);
	tui_table_clear(&msgs);
	for (size_t i = 0; i < out->n_messages; i++) {
		const Relay__V1__AdminMessage *m = out->messages[i];
		size_t                         sl = strlen(m->sid);
		char sid[24], client[24], cost[GW_MONEY_STRLEN], when[32];
		const char *cells[6] = { sid, client, m->to, m->status, cost,
			when };

		snprintf(sid, sizeof(sid), "SM~%s",
		    sl > SID_TAIL ? m->sid + sl - SID_TAIL : m->sid);
		snprintf(client, sizeof(client), "%llu",
		    (unsigned long long) m->client_id);
		gw_money_format(m->cost_micros, cost);
		tui_fmt_time(m->created_unix_ms, when, sizeof(when));
		tui_table_add(&msgs, m->id, cells);
	}
	shown = out->n_messages;
	more = out->next_page_token[0] != '\0';
	tui_free(list);
	list = out;
	snprintf(msgs.empty, sizeof(msgs.empty), "%s",
	    f_client != 0 || f_status > 0
	        ? "No messages match the filters (c client, s status)"
	        : "No messages yet");
	tui_table_done(&msgs, keep);
}

static void
messages_heading(struct tui_app *app, char *buf, size_t len)
{
	char c[40] = "", s[40] = "";

	(void) app;
	if (avail == 0) {
		snprintf(buf, len, "Recent messages: not available yet");
		return;
	}
	if (f_client != 0)
		snprintf(c, sizeof(c), "  client #%llu",
		    (unsigned long long) f_client);
	if (f_status > 0)
		snprintf(s, sizeof(s), "  status %s", statuses[f_status]);
	snprintf(buf, len, "Recent messages (%zu%s), newest first%s%s", shown,
	    more ? ", older not shown" : "", c, s);
}

static void
filter_client(struct tui_app *app)
{
	struct tui_field f[] = {
		{ .label = "Client id (empty: all)", .kind = TUI_F_ID },
	};

	if (f_client != 0)
		snprintf(f[0].value, sizeof(f[0].value), "%llu",
		    (unsigned long long) f_client);
	if (!tui_form_run(app, "Messages of client", f, 1, ""))
		return;
	f_client = 0;
	if (f[0].value[0] != '\0')
		tui_parse_u64(f[0].value, &f_client);
	tui_reload(app);
}

static void
filter_status(struct tui_app *app)
{
	int n = 0, i;

	while (statuses[n] != NULL)
		n++;
	if ((i = tui_pick(app, "Status", statuses, n, f_status)) < 0)
		return;
	f_status = i;
	tui_reload(app);
}

/* find returns the full sid of the listed message id, or NULL. */
static const char *
find_sid(uint64_t id)
{
	for (size_t i = 0; list != NULL && i < list->n_messages; i++)
		if (list->messages[i]->id == id)
			return list->messages[i]->sid;
	return NULL;
}

static void
show_message(struct tui_app *app, uint64_t id)
{
	Relay__V1__MessageSidRequest req = RELAY__V1__MESSAGE_SID_REQUEST__INIT;
	Relay__V1__AdminMessage     *m;
	char        l[13][200], cr[32], up[32], cost[GW_MONEY_STRLEN];
	const char *lines[13];
	int         n = 0;

	if ((req.sid = (char *) find_sid(id)) == NULL)
		return;
	/* afresh: the status may have moved since the list was read */
	if (tui_call(app, "message", "GetMessage", &req.base,
	        (ProtobufCMessage **) &m) != GW_OK)
		return;
	snprintf(l[n++], sizeof(l[0]), "SID:       %s", m->sid);
	snprintf(l[n++], sizeof(l[0]), "Client:    #%llu",
	    (unsigned long long) m->client_id);
	snprintf(l[n++], sizeof(l[0]), "To/From:   %s  from %s", m->to,
	    m->from[0] ? m->from : "-");
	snprintf(l[n++], sizeof(l[0]), "Status:    %s%s%s%s", m->status,
	    m->refunded ? " (refunded)" : "",
	    m->error_code[0] ? "  error " : "", m->error_code);
	if (m->error_message[0])
		snprintf(l[n++], sizeof(l[0]), "Error:     %.150s",
		    m->error_message);
	snprintf(l[n++], sizeof(l[0]), "Cost:      %s  (%u segment%s, %s)",
	    gw_money_format(m->cost_micros, cost), m->segments,
	    m->segments == 1 ? "" : "s", m->encoding);
	snprintf(l[n++], sizeof(l[0]), "Route:     rule #%llu -> account #%llu",
	    (unsigned long long) m->route_id,
	    (unsigned long long) m->account_id);
	snprintf(l[n++], sizeof(l[0]), "Upstream:  %s  (%u attempt%s)",
	    m->upstream_sid[0] ? m->upstream_sid : "-", m->attempts,
	    m->attempts == 1 ? "" : "s");
	snprintf(l[n++], sizeof(l[0]), "Created:   %s",
	    tui_fmt_time(m->created_unix_ms, cr, sizeof(cr)));
	snprintf(l[n++], sizeof(l[0]), "Updated:   %s",
	    tui_fmt_time(m->updated_unix_ms, up, sizeof(up)));
	/* the body on two lines at most; control characters shown as '.' */
	for (int part = 0; part < 2; part++) {
		const char *b = m->body + (part ? 60 : 0);
		size_t      len = strlen(m->body);
		char       *o;

		if (part && len <= 60)
			break;
		o = l[n];
		snprintf(o, sizeof(l[0]), "%s%.60s%s",
		    part ? "           " : "Body:      ", b,
		    part && len > 120 ? "~" : "");
		for (char *p = o; *p != '\0'; p++)
			if ((unsigned char) *p < 0x20 || *p == 0x7f)
				*p = '.';
		n++;
	}
	for (int i = 0; i < n; i++)
		lines[i] = l[i];
	tui_message(app, "Message", lines, n);
	tui_free(m);
}

static bool
messages_key(struct tui_app *app, int ch)
{
	uint64_t id;

	if (avail == 0 &&
	    (ch == 'c' || ch == 's' || ch == '\r' || ch == '\n' ||
	        ch == KEY_ENTER)) {
		tui_status(app, TUI_INFO, "messages: not available yet");
		return true;
	}
	switch (ch) {
	case 'c':
		filter_client(app);
		return true;
	case 's':
		filter_status(app);
		return true;
	case '\r':
	case '\n':
	case KEY_ENTER:
		if (tui_table_sel_id(&msgs, &id))
			show_message(app, id);
		return true;
	default:
		return false;
	}
}

const struct tui_screen tui_scr_messages = {
	.name = "messages",
	.title = "Messages",
	.legend = "c Client|s Status|Enter Detail",
	.refresh_ms = 5000,
	.table = &msgs,
	.load = messages_load,
	.key = messages_key,
	.heading = messages_heading,
};
