/*
 * ledger_impl.h - balance changes, shared by the services that move money
 * (admin top-ups and adjustments, message debits and refunds).
 *
 * A balance never changes without its ledger entry, in the same write
 * transaction, so a client's balance always equals the sum of its ledger.
 */
#ifndef GW_LEDGER_IMPL_H
#define GW_LEDGER_IMPL_H

#include <stdint.h>

#include "gw/store.h"
#include "relay/v1/records.pb-c.h"

/* gw_ledger_key writes the GW_DB_LEDGER key of (client, seq). */
void gw_ledger_key(uint8_t k[16], uint64_t client, uint64_t seq);

/* gw_ledger_apply changes c's balance by amount and appends the ledger
 * entry that says so, in txn (a write transaction), and writes c back.
 * e receives the entry; its strings are borrowed from reason and ref.
 * Returns GW_OK, GW_EINVAL (the balance would overflow) or a store error.
 * It does not check for a negative balance: callers decide that. */
int gw_ledger_apply(struct gw_txn *txn, Relay__V1__ClientRecord *c,
    Relay__V1__LedgerKind kind, int64_t amount, const char *reason,
    const char *ref, int64_t now, Relay__V1__LedgerEntry *e);

#endif
