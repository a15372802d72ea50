/*
 * ledger.c - the one place a client's balance changes: a ledger entry and
 * the client record, written together.
 */
#include "gw/err.h"
#include "gw/money.h"
#include "ledger_impl.h"

void
gw_ledger_key(uint8_t k[16], uint64_t client, uint64_t seq)
{
	gw_key_put_u64(k, client);
	gw_key_put_u64(k + 8, seq);
}

int
gw_ledger_apply(struct gw_txn *txn, Relay__V1__ClientRecord *c,
    Relay__V1__LedgerKind kind, int64_t amount, const char *reason,
    const char *ref, int64_t now, Relay__V1__LedgerEntry *e)
{
	uint8_t k[16];
	int64_t bal;
	int     rc;

	if (gw_money_add(c->balance_micros, amount, &bal) != GW_OK)
		return GW_EINVAL;
	relay__v1__ledger_entry__init(e);
	e->client_id = c->id;
	e->seq = ++c->ledger_seq;
	e->kind = kind;
	e->amount_micros = amount;
	e->balance_after_micros = bal;
	e->reason = (char *) reason;
	e->ref = (char *) ref;
	e->created_unix_ms = now;
	c->balance_micros = bal;
	c->updated_unix_ms = now;
	gw_ledger_key(k, c->id, e->seq);
	if ((rc = gw_txn_put(txn, GW_DB_LEDGER, k, 16, &e->base,
	         GW_PUT_NOOVERWRITE)) != GW_OK)
		return rc;
	gw_key_put_u64(k, c->id);
	return gw_txn_put(txn, GW_DB_CLIENTS, k, 8, &c->base, 0);
}
