#!/usr/bin/env bash
# The webhook admin commands of relayctl against a real relayd: assign a
# TN to a client and an account, set and clear its auto-reply, set and
# rotate a client's webhook secret (printed once, never stored or logged
# in clear), list inbound messages and webhook events; usage errors.
#
# usage: webhooks_e2e.sh PATH/TO/relayd PATH/TO/relayctl
set -euo pipefail
RELAYD=$1 RELAYCTL=$2
dir=$(mktemp -d /tmp/relay-e2e-hooks.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
export RELAY_STATE_DIR=$dir
unset RELAY_RPC_URL RELAY_ADMIN_TOKEN MASTER_ENCRYPTION_KEY
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
grep -q "forward: 1 thread" "$dir/relayd.log" && ok "relayd runs the forwarder" || fail "no forwarder in the log"

cid=$(jget "$(ctl client create --name Acme --inbound-url http://127.0.0.1:9/in)" 'd["id"]')
aid=$(jget "$(echo 5eed5eed5eed5eed5eed5eed5eed5eed | ctl account create --kind twilio \
	--sid AC0123456789abcdef0123456789abcdef --token -)" 'd["id"]')
ctl tn add 12062992129 >/dev/null
t=$(ctl tn assign 12062992129 --client "$cid" --account "$aid")
[ "$(jget "$t" 'd["client_id"], d["account_id"]')" = "($cid, $aid)" ] && ok "tn assigned" || fail "tn assign: $t"
t=$(ctl tn autoreply +12062992129 'Thanks! We got it <3')
[ "$(jget "$t" 'd["auto_reply"]')" = "Thanks! We got it <3" ] && ok "auto-reply set" || fail "autoreply: $t"
human=$("$RELAYCTL" tn list)
[[ $human == *"AUTO-REPLY"*"Thanks! We got it"* ]] && ok "tn list shows it" || fail "tn list: $human"
t=$(ctl tn autoreply +12062992129 --clear)
[ "$(jget "$t" 'd["auto_reply"]')" = "" ] && ok "auto-reply cleared" || fail "clear: $t"
set +e
"$RELAYCTL" tn autoreply +12062992129 >/dev/null 2>&1; rc1=$?
"$RELAYCTL" tn assign 12062992129 >/dev/null 2>&1; rc2=$?
"$RELAYCTL" tn assign 12062992130 --client "$cid" >/dev/null 2>"$dir/err"; rc3=$?
set -e
[ $rc1 = 2 ] && [ $rc2 = 2 ] && ok "usage errors exit 2" || fail "usage: $rc1 $rc2"
[ $rc3 = 1 ] && grep -q "NOT_FOUND" "$dir/err" && ok "unknown number refused" || fail "unknown tn: $rc3 $(cat "$dir/err")"

out=$("$RELAYCTL" client webhook-secret "$cid")
secret=$(echo "$out" | sed -n 's/^webhook secret for client [0-9]*: \(whsec_[A-Za-z0-9_-]*\)$/\1/p')
[ ${#secret} = 49 ] && ok "webhook secret printed once" || fail "secret: $out"
second=$(jget "$(ctl client webhook-secret "$cid")" 'd["secret"]')
[ "$second" != "$secret" ] && ok "rotated" || fail "rotation gave the same secret"
show=$(ctl client show "$cid")
[ "$(jget "$show" 'd["has_webhook_secret"]')" = "True" ] && [[ $show != *whsec_* ]] \
	&& ok "client shows has_webhook_secret only" || fail "show: $show"

list=$(ctl inbound list --client "$cid")
[ "$list" = "[]" ] && ok "inbound list (empty)" || fail "inbound: $list"
[ "$("$RELAYCTL" inbound list)" = "ID  CLIENT  TO  FROM  BODY  EVENT  RECEIVED
(none)" ] && ok "inbound table" || fail "inbound table: $("$RELAYCTL" inbound list)"
[ "$(ctl events list --state dead)" = "[]" ] && ok "events list" || fail "events"

kill -TERM "$pid"; wait "$pid" || true; pid=
for s in "$secret" "$second"; do
	if grep -qF "$s" "$dir/data.mdb" "$dir/relayd.log"; then
		fail "a webhook secret reached the store or the log"
	fi
done
ok "secrets neither stored nor logged in clear"
[ $fails = 0 ] || { echo "$fails failure(s)" >&2; exit 1; }
