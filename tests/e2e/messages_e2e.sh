#!/usr/bin/env bash
# relayctl's operator view of traffic against a real relayd: messages sent
# with an API key (send_helper) through the sandbox account are listed
# newest first, filtered, paged and shown; stats count them once the
# dispatcher sent them; account update edits fields and re-seals a token,
# which never reaches the store or the log in clear.
#
# usage: messages_e2e.sh PATH/TO/relayd PATH/TO/relayctl PATH/TO/send_helper
set -euo pipefail
RELAYD=$1 RELAYCTL=$2 SEND=$3
dir=$(mktemp -d /tmp/relay-e2e.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
export RELAY_STATE_DIR=$dir
unset RELAY_RPC_URL RELAY_ADMIN_TOKEN MASTER_ENCRYPTION_KEY RELAY_API_KEY
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
ok() { echo "ok - $*"; }
ctl() { "$RELAYCTL" --json "$@"; }
jget() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"; }

"$RELAYD" 2>>"$dir/relayd.log" &
pid=$!
for _ in $(seq 100); do
	"$RELAYCTL" settings get >/dev/null 2>&1 && break
	sleep 0.05
done

a=$(jget "$(ctl client create --name Acme --balance 10.00)" 'd["id"]')
b=$(jget "$(ctl client create --name Tiny --balance 0.50)" 'd["id"]')
ka=$(jget "$(ctl key create --client "$a")" 'd["key"]')
kb=$(jget "$(ctl key create --client "$b")" 'd["key"]')
sb=$(jget "$(ctl account create --kind sandbox --from 15005550006)" 'd["id"]')
ctl route create --pattern '^\+1' --priority 10 --account "$sb" --price 0.0075 >/dev/null

mapfile -t sids_a < <(RELAY_API_KEY=$ka "$SEND" +14155550100 "hello from acme" 3)
sleep 0.01
mapfile -t sids_b < <(RELAY_API_KEY=$kb "$SEND" +14155550101 "hello from tiny" 1)
[ ${#sids_a[@]} = 3 ] && [ ${#sids_b[@]} = 1 ] && ok "4 messages sent with API keys" \
	|| fail "sends: ${sids_a[*]} / ${sids_b[*]}"

# the sandbox dispatcher sends them at once
for _ in $(seq 100); do
	st=$(ctl stats)
	[ "$(jget "$st" 'd["outbox_depth"] == 0 and d["sent"] == 4')" = True ] && break
	sleep 0.05
done
[ "$(jget "$st" 'd["messages_total"]')" = 4 ] && [ "$(jget "$st" 'd["sent"]')" = 4 ] \
	&& [ "$(jget "$st" 'd["outbox_depth"]')" = 0 ] && [ "$(jget "$st" 'd["failed"]')" = 0 ] \
	&& [ "$(jget "$st" 'd["dispatcher_running"]')" = True ] \
	&& ok "stats: 4 accepted, 4 sent, outbox empty" || fail "stats: $st"
[ "$(jget "$st" 'd["clients_low_balance"]')" = 1 ] && [ "$(jget "$st" 'd["low_balance"]')" = 1.00 ] \
	&& ok "stats: one client below 1.00" || fail "stats low balance: $st"
st=$(ctl stats --low-balance 20)
[ "$(jget "$st" 'd["clients_low_balance"]')" = 2 ] && ok "stats --low-balance" || fail "stats --low-balance: $st"

all=$(ctl message list)
[ "$(jget "$all" '[m["sid"] for m in d]')" = "$(python3 -c 'import sys; print(sys.argv[1:][::-1])' "${sids_a[@]}" "${sids_b[@]}")" ] \
	&& ok "message list: every client's, newest first" || fail "message list: $all"
[ "$(jget "$all" 'all(m["status"] == "sent" and m["upstream_sid"] for m in d)')" = True ] \
	&& ok "message list: sent, with upstream sids" || fail "statuses: $all"
l=$(ctl message list --client "$a")
[ "$(jget "$l" 'len(d)')" = 3 ] && [ "$(jget "$l" 'all(m["client_id"] == '"$a"' for m in d)')" = True ] \
	&& ok "message list --client" || fail "--client: $l"
l=$(ctl message list --status queued)
[ "$(jget "$l" 'len(d)')" = 0 ] && ok "message list --status" || fail "--status: $l"
l=$(ctl message list --limit 2 2>"$dir/more")
tok=$(sed -n 's/.*--page \([0-9a-f]*\)$/\1/p' "$dir/more")
l2=$(ctl message list --limit 2 --page "$tok")
[ "$(jget "$l" 'len(d)')" = 2 ] && [ "$(jget "$l2" '[m["sid"] for m in d]')" = "['${sids_a[1]}', '${sids_a[0]}']" ] \
	&& ok "message list --limit/--page" || fail "paging: $l / $tok / $l2"
human=$("$RELAYCTL" message list --client "$b")
[[ $human == SID*CLIENT*STATUS*"${sids_b[0]}"*sent* ]] && ok "message list table" || fail "table: $human"

m=$(ctl message show "${sids_b[0]}")
[ "$(jget "$m" 'd["sid"]')" = "${sids_b[0]}" ] && [ "$(jget "$m" 'd["client_id"]')" = "$b" ] \
	&& [ "$(jget "$m" 'd["account_id"]')" = "$sb" ] && [ "$(jget "$m" 'd["cost"]')" = 0.0075 ] \
	&& [ "$(jget "$m" 'd["body"]')" = "hello from tiny" ] && ok "message show" || fail "show: $m"

set +e
err=$("$RELAYCTL" message show SM00000000000000ff0000000000000000 2>&1 >/dev/null); rc=$?
[ $rc = 1 ] && [[ $err == *NOT_FOUND* ]] && ok "unknown sid: NOT_FOUND" || fail "unknown sid: $rc $err"
err=$("$RELAYCTL" message list --status lost 2>&1 >/dev/null); rc=$?
[ $rc = 1 ] && [[ $err == *INVALID_ARGUMENT*status* ]] && ok "bad status refused" || fail "bad status: $rc $err"
err=$("$RELAYCTL" message list --page "$tok" --client "$a" 2>&1 >/dev/null); rc=$?
[ $rc = 1 ] && [[ $err == *page_token* ]] && ok "token of another filter refused" || fail "token: $rc $err"
set -e

# account update
SID=AC0123456789abcdef0123456789abcdef NSID=ACfedcba9876543210fedcba9876543210
TOK1=5eed5eed5eed5eed5eed5eed5eed5eed TOK2=c0ffeec0ffeec0ffeec0ffeec0ffee42
tw=$(jget "$(echo "$TOK1" | ctl account create --kind twilio --sid $SID --token - --from 14155550100)" 'd["id"]')
u=$(ctl account update "$tw" --description "Twilio main" --from 14155550199)
[ "$(jget "$u" 'd["description"]')" = "Twilio main" ] && [ "$(jget "$u" 'd["from_number"]')" = +14155550199 ] \
	&& [ "$(jget "$u" 'd["has_token"]')" = True ] && [ "$(jget "$u" 'd["sid"]')" = $SID ] \
	&& ok "account update: description and from" || fail "update: $u"
set +e
err=$("$RELAYCTL" account update "$tw" --sid $NSID 2>&1 >/dev/null); rc=$?
[ $rc = 1 ] && [[ $err == *INVALID_ARGUMENT*token* ]] && ok "sid change without token refused" || fail "sid only: $rc $err"
err=$("$RELAYCTL" account update "$tw" 2>&1 >/dev/null); rc=$?
[ $rc = 2 ] && ok "account update with nothing is a usage error" || fail "nothing: $rc"
set -e
u=$(echo "$TOK2" | ctl account update "$tw" --sid $NSID --token -)
[ "$(jget "$u" 'd["sid"]')" = $NSID ] && [ "$(jget "$u" '"token" in d')" = False ] \
	&& ok "account update: sid with a new token (not echoed)" || fail "sid+token: $u"

kill -TERM "$pid"; wait "$pid" || true; pid=
for secret in "$TOK1" "$TOK2" "$ka" "$kb"; do
	if grep -qaF -- "$secret" "$dir/data.mdb" "$dir/relayd.log"; then
		fail "a secret (${secret:0:4}...) is in the store or the log"
	fi
done
[ $fails = 0 ] && ok "no token or key in data.mdb or the log"
if [ $fails != 0 ]; then
	echo "$fails failure(s); relayd's log ends:"
	tail -n 30 "$dir/relayd.log"
	exit 1
fi
