/*
 * scr_messages.c - recent messages, filtered by client and status, with a
 * detail view.
 *
 * relayd does not serve messages to operators yet. The screen asks it
 * whether it does (a probe of the method it will be) and, while the answer
 * is "unknown method", says "not available yet" instead of an error. The
 * list, '/' filter and layout are in place for when the RPC lands.
 */
#include <stdio.h>
#include <string.h>

#include "gw/err.h"
#include "tui_impl.h"

#define MESSAGES_METHOD "relay.v1.Admin/ListMessages"

static const struct tui_col cols[] = {
	{ "SID", 12, 0 },
	{ "Client", 6, TUI_COL_RIGHT },
	{ "To", 16, 0 },
	{ "Status", 10, 0 },
	{ "Cost", 9, TUI_COL_RIGHT },
	{ "When", 0, 0 },
};

static struct tui_table msgs;
static bool             inited;
static int              avail = -1; /* -1 unknown, 0 no, 1 relayd has it */

static void
messages_load(struct tui_app *app)
{
	int rc;

	if (!inited) {
		tui_table_init(&msgs, cols, 6);
		inited = true;
	}
	rc = tui_probe(app, MESSAGES_METHOD);
	if (rc == GW_EUNAVAIL)
		return;
	avail = rc == GW_OK;
	tui_table_clear(&msgs);
	snprintf(msgs.empty, sizeof(msgs.empty), "%s",
	    avail ? "relayd lists messages, but this relay-tui predates "
	            "that RPC: upgrade relay-tui"
	          : "Messages: not available yet (relayd has no message "
	            "listing RPC)");
	tui_table_done(&msgs, 0);
}

static void
messages_heading(struct tui_app *app, char *buf, size_t len)
{
	(void) app;
	snprintf(buf, len, "Recent messages%s",
	    avail == 0 ? ": not available yet" : "");
}

static bool
messages_key(struct tui_app *app, int ch)
{
	switch (ch) {
	case 'c':
	case 's':
	case '\r':
	case '\n':
	case KEY_ENTER:
		tui_status(app, TUI_INFO, "messages: not available yet");
		return true;
	default:
		return false;
	}
}

const struct tui_screen tui_scr_messages = {
	.name = "messages",
	.title = "Messages",
	.legend = "c Client|s Status|Enter Detail",
	.table = &msgs,
	.load = messages_load,
	.key = messages_key,
	.heading = messages_heading,
};
