#!/usr/bin/env python3
"""Provider webhooks end to end: real relayd, three relay-http processes,
the fake upstream, the test playing Twilio, and a client receiver.

usage: webhooks_e2e.py RELAYD RELAY_HTTP RELAYCTL FAKE_UPSTREAM

relayd runs with --public-url https://relay.example.com, so the
StatusCallback it hands the upstream is the URL Twilio would sign. Three
relay-http processes serve the same relayd:
  proxied  --trusted-proxy 127.0.0.1: the test is the reverse proxy and
           sends X-Forwarded-Proto/Host;
  plain    no proxy trusted: forwarded headers are ignored, the URL is
           http://<Host><path>?<query>;
  based    --public-url https://relay.example.com.
The test signs each request as Twilio does (HMAC-SHA1 of URL + sorted
params, with the token it gave the account) and checks: status callbacks
in scrambled order end in the right status and never move backwards;
every forwarded event carries a valid X-Relay-Signature and reaches a
receiver that fails for a few seconds, exactly once per event id;
inbound with auto-reply (TwiML, XML-escaped), unknown number, forwarding
and replay; trusted vs untrusted proxy; forged, tampered, replayed and
oversized requests; 405/415; relayd unreachable -> 503; every answer
against openapi.json.
Exit 0 when every check passed, 1 otherwise.
"""
import base64
import hashlib
import hmac
import http.server
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import http_e2e as H  # noqa: E402  (same argv: RELAYD RELAY_HTTP ...)
from http_e2e import ok, request  # noqa: E402

RELAYD, RELAY_HTTP, RELAYCTL, FAKE = sys.argv[1:5]
ACCOUNT_SID = "AC" + "fedcba9876543210" * 2
TOKEN = "7e57" * 8
FROM = "+14155550100"
PUBLIC = "https://relay.example.com"
TN = "+12062992129"
AUTO_REPLY = 'Thanks <3 & "see" you > soon'
FAIL_SECS = 3
RANK = {"queued": 1, "accepted": 2, "scheduled": 2, "sending": 2,
        "sent": 3, "delivered": 4, "read": 4, "undelivered": 4,
        "failed": 4, "canceled": 4}
OURS = {"accepted": "sending", "scheduled": "sending", "queued": "sending",
        "read": "delivered", "canceled": "failed"}
FORM = "application/x-www-form-urlencoded"


def twilio_sign(token, url, params):
    """X-Twilio-Signature of a form post: base64(HMAC-SHA1(token, URL +
    each key and value, keys sorted))."""
    s = url
    for k, v in sorted(params, key=lambda kv: kv[0]):
        s += k + v
    mac = hmac.new(token.encode(), s.encode(), hashlib.sha1).digest()
    return base64.b64encode(mac).decode()


class Receiver:
    """The client's webhook endpoint: verifies every X-Relay-Signature,
    answers 500 while failing, records what it acknowledged."""

    def __init__(self):
        self.lock = threading.Lock()
        self.secret = None
        self.fail_until = 0.0
        self.acked = {}       # event id -> body doc (first ack)
        self.acks = []        # every acknowledged (id, type)
        self.refused = 0      # 500s answered while failing
        self.bad_sig = []
        rx = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                rx.take(self.path, self.headers, body, self)

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.srv.server_address[1]
        self.t = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.t.start()

    def verify(self, header, body):
        parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
        t, sig = parts.get("t", ""), parts.get("v1", "")
        if not t.isdigit() or abs(time.time() - int(t)) > 300:
            return False
        want = hmac.new(self.secret.encode(), t.encode() + b"." + body,
                        hashlib.sha256).hexdigest()
        return hmac.compare_digest(want, sig)

    def take(self, path, headers, body, h):
        eid = headers.get("X-Relay-Event-Id", "")
        try:
            doc = json.loads(body)
        except ValueError:
            doc = {}
        with self.lock:
            good = (self.secret is not None and
                    self.verify(headers.get("X-Relay-Signature", ""), body)
                    and doc.get("id") == eid and
                    doc.get("type") == headers.get("X-Relay-Event-Type"))
            if not good:
                self.bad_sig.append((path, eid))
                status = 400
            elif time.time() < self.fail_until:
                self.refused += 1
                status = 500
            else:
                if eid in self.acked and self.acked[eid] != doc:
                    self.bad_sig.append((path, eid + " changed body"))
                self.acked.setdefault(eid, doc)
                self.acks.append((eid, doc.get("type"), path))
                status = 200
        h.send_response(status)
        h.send_header("Content-Length", "0")
        h.end_headers()

    def events(self, typ):
        with self.lock:
            return {k: v for k, v in self.acked.items()
                    if v.get("type") == typ}

    def stop(self):
        self.srv.shutdown()


class Stack:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="relay-webhooks-e2e.")
        self.env = dict(os.environ, RELAY_STATE_DIR=self.dir)
        for k in ("RELAY_RPC_URL", "RELAY_ADMIN_TOKEN",
                  "MASTER_ENCRYPTION_KEY", "RELAY_HTTP_LISTEN",
                  "RELAY_PUBLIC_URL", "RELAY_TRUSTED_PROXIES",
                  "RELAY_PROXY_HOPS"):
            self.env.pop(k, None)
        self.procs = []
        log = open(os.path.join(self.dir, "relayd.log"), "ab")
        self.relayd = subprocess.Popen([RELAYD, "--public-url", PUBLIC],
                                       env=self.env, stderr=log, stdout=log)
        self.procs.append(self.relayd)
        for _ in range(200):
            if subprocess.run([RELAYCTL, "settings", "get"], env=self.env,
                              capture_output=True).returncode == 0:
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("relayd did not come up")

    def start_http(self, name, *flags):
        path = os.path.join(self.dir, name + ".log")
        log = open(path, "ab")
        p = subprocess.Popen([RELAY_HTTP, "--listen", "127.0.0.1:0",
                              "--threads", "16"] + list(flags),
                             env=self.env, stderr=log, stdout=log)
        self.procs.insert(0, p)
        for _ in range(200):
            m = re.search(r"\(port (\d+)\)", open(path).read())
            if m:
                return int(m.group(1))
            if p.poll() is not None:
                raise RuntimeError("relay-http %s exited: %s" %
                                   (name, open(path).read()))
            time.sleep(0.05)
        raise RuntimeError("relay-http did not come up")

    def log(self, name):
        return open(os.path.join(self.dir, name + ".log")).read()

    def ctl(self, *args, stdin=None):
        r = subprocess.run([RELAYCTL, "--json"] + list(args), env=self.env,
                           input=stdin, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("relayctl %s: %s" % (args, r.stderr))
        return json.loads(r.stdout) if r.stdout.strip() else None

    def stop(self):
        rcs = []
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            rcs.append(p.returncode)
        return rcs


def post_hook(port, path, params, url, token=TOKEN, headers=None,
              sign_params=None, sig=None):
    """POST a form webhook to relay-http on port, signed for url."""
    if sig is None:
        sig = twilio_sign(token, url,
                          sign_params if sign_params is not None else params)
    h = {"Content-Type": FORM, "X-Twilio-Signature": sig}
    h.update(headers or {})
    body = urllib.parse.urlencode(params)
    return request(port, "POST", path, body, h)


PROXY = {"X-Forwarded-Proto": "https", "X-Forwarded-Host":
         "relay.example.com"}


def status_params(msid, status, extra=()):
    return [("AccountSid", ACCOUNT_SID), ("MessageSid", msid),
            ("SmsSid", msid), ("MessageStatus", status),
            ("SmsStatus", status), ("To", "+14155551234"),
            ("From", FROM), ("ApiVersion", "2010-04-01")] + list(extra)


def msg_status(st, sid):
    return st.ctl("message", "show", sid)["status"]


def wait_for(pred, secs, step=0.1):
    deadline = time.time() + secs
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def main():
    up = H.Upstream()
    rx = Receiver()
    st = Stack()
    try:
        run(st, up, rx)
    finally:
        rcs = st.stop()
        up.stop()
        rx.stop()
        ok(all(rc == 0 for rc in rcs), "every process exits 0 on SIGTERM "
           "(%s)" % rcs)
        if H.failures:
            print("logs kept in", st.dir)
        else:
            shutil.rmtree(st.dir, ignore_errors=True)
    print("%d failure(s)" % len(H.failures))
    return 1 if H.failures else 0


def run(st, up, rx):
    proxied = st.start_http("proxied", "--trusted-proxy", "127.0.0.1, ::1")
    plain = st.start_http("plain")
    based = st.start_http("based", "--public-url", PUBLIC + "/")
    s, _, spec = request(proxied, "GET", "/openapi.json", record=False)
    ok(s == 200 and {"/relay/twilio/status", "/relay/twilio/inbound"} <=
       set(spec["paths"]), "openapi.json documents both webhooks")

    acct = st.ctl("account", "create", "--kind", "twilio", "--sid",
                  ACCOUNT_SID, "--token", "-", "--from", FROM,
                  "--base-url", up.url, stdin=TOKEN + "\n")["id"]
    st.ctl("route", "create", "--pattern", r"^\+1", "--priority", "10",
           "--account", str(acct), "--price", "0.01")
    rxu = "http://127.0.0.1:%d" % rx.port
    cid = st.ctl("client", "create", "--name", "Hooked", "--balance",
                 "1.00", "--status-callback", rxu + "/status",
                 "--inbound-url", rxu + "/inbound")["id"]
    key = st.ctl("key", "create", "--client", str(cid))["key"]
    rx.secret = st.ctl("client", "webhook-secret", str(cid))["secret"]
    ok(rx.secret.startswith("whsec_"), "webhook secret set")

    sids = status_callbacks(st, up, rx, proxied, plain, based, key, cid)
    attacks(st, rx, proxied, plain, sids)
    inbound(st, rx, proxied, plain, cid)
    limits(proxied, sids)

    relayd_down(st, proxied, sids)
    H.check_openapi(spec)
    log = st.log("proxied") + st.log("plain") + st.log("based")
    ok(TOKEN not in log and TOKEN not in st.log("relayd") and
       rx.secret not in log, "no token or secret in any log")
    ok(not rx.bad_sig, "every forwarded event verified (X-Relay-Signature, "
       "id, type): %s" % rx.bad_sig[:3])


def status_callbacks(st, up, rx, proxied, plain, based, key, cid):
    """Signed status callbacks for five messages, scrambled."""
    print("# status callbacks")
    sids = []
    for i in range(5):
        s, _, doc = request(proxied, "POST", "/relay/sms",
                            {"To": "+1415555%04d" % (1234 + i),
                             "Body": "hook %d" % i},
                            {"X-Proxy-Auth": key}, record=False)
        ok(s == 201, "send %d -> 201" % i)
        sids.append(doc["sid"])
    # the dispatcher hands the upstream Relay's callback URL
    wait_for(lambda: all(msg_status(st, s) != "queued" for s in sids), 10)
    cbs = {}
    for r in up.dump():
        f = urllib.parse.parse_qs(r["body"])
        if f.get("Body", [""])[0].startswith("hook "):
            cbs[f["Body"][0]] = f.get("StatusCallback", [""])[0]
    want = {"hook %d" % i: PUBLIC + "/relay/twilio/status?relay_sid=" + sid
            for i, sid in enumerate(sids)}
    ok(cbs == want, "StatusCallback = public URL + /relay/twilio/status"
       "?relay_sid=SM... (%s)" % list(cbs.values())[:1])
    cur = {s: msg_status(st, s) for s in sids}
    ok(all(v in ("sending", "sent") for v in cur.values()),
       "messages handed to the upstream: %s" % sorted(set(cur.values())))

    plan = [
        (0, "sent"), (0, "delivered"),
        (1, "queued"), (1, "sent"), (1, "undelivered"),
        (2, "sending"), (2, "sent"), (2, "failed"),
        (3, "accepted"), (3, "sent"), (3, "read"),
    ]
    rng = random.Random(4)
    rng.shuffle(plan)
    # expected: a status applies when its rank beats the current one
    rank = {s: RANK[cur[s]] for s in sids}
    expect = set()
    for i, tw in plan:
        ours = OURS.get(tw, tw)
        if RANK[tw] > rank[sids[i]]:
            rank[sids[i]] = RANK[tw]
            expect.add((sids[i], ours))
    print("# plan %s" % [(i, tw) for i, tw in plan])

    bal_before = st.ctl("client", "show", str(cid))["balance"]
    rx.fail_until = time.time() + FAIL_SECS
    backwards = []
    seen = {s: RANK[cur[s]] for s in sids}
    for i, tw in plan:
        sid = sids[i]
        path = "/relay/twilio/status?relay_sid=" + sid
        extra = [("ErrorCode", "30003")] if tw == "undelivered" else []
        s, h, body = post_hook(proxied, path,
                               status_params("SMup%030d" % i, tw, extra),
                               PUBLIC + path, headers=PROXY)
        ok(s == 200 and body == b"", "status %s for message %d -> 200, "
           "empty body (%s)" % (tw, i, s))
        r = RANK[msg_status(st, sid)]
        if r < seen[sid]:
            backwards.append((i, tw))
        seen[sid] = r
    ok(not backwards, "no status ever moved backwards %s" % backwards)
    final = {i: msg_status(st, sids[i]) for i in range(4)}
    ok(final == {0: "delivered", 1: "undelivered", 2: "failed",
                 3: "delivered"}, "final statuses right: %s" % final)
    m1 = st.ctl("message", "show", sids[1])
    ok(m1.get("error_code") == "30003", "ErrorCode recorded: %s" %
       m1.get("error_code"))
    s, _, doc = request(proxied, "GET", "/relay/messages/" + sids[2],
                        headers={"X-Proxy-Auth": key})
    ok(s == 200 and doc["status"] == "failed",
       "GET /relay/messages/{sid} agrees: %s" % doc.get("status"))
    bal = st.ctl("client", "show", str(cid))["balance"]
    ok(float(bal) == float(bal_before) + 0.01,
       "the failed message was refunded once (%s -> %s)" % (bal_before, bal))

    # message 4 through the two other edges: based (configured public
    # URL, no forwarded headers) and plain (the URL as relay-http sees it)
    path = "/relay/twilio/status?relay_sid=" + sids[4]
    s, _, _ = post_hook(based, path, status_params("SMup4", "sent"),
                        PUBLIC + path)
    ok(s == 200 and msg_status(st, sids[4]) == "sent",
       "--public-url edge: signed for the public URL -> 200, applied")
    s, _, _ = post_hook(plain, path, status_params("SMup4", "delivered"),
                        "http://127.0.0.1:%d%s" % (plain, path))
    ok(s == 200 and msg_status(st, sids[4]) == "delivered",
       "no proxy: signed for http://Host/path?query -> 200, applied")
    if RANK[cur[sids[4]]] < 3:
        expect.add((sids[4], "sent"))
    expect.add((sids[4], "delivered"))

    # every expected event arrives once the receiver recovers
    def arrived():
        got = {(d["data"]["sid"], d["data"]["status"])
               for d in rx.events("message.status").values()}
        return got if got >= expect else None
    wait_for(arrived, 40, 0.2)
    evs = rx.events("message.status")
    got = {(d["data"]["sid"], d["data"]["status"]) for d in evs.values()}
    ok(rx.refused > 0, "the receiver failed for %d s (%d attempts refused)"
       % (FAIL_SECS, rx.refused))
    ok(got == expect, "every status event delivered after the failures, "
       "none extra (%d of %d; missing %s, extra %s)" %
       (len(got & expect), len(expect), sorted(expect - got)[:3],
        sorted(got - expect)[:3]))
    ok(len(evs) == len(expect), "one event id per status change "
       "(%d ids, %d changes)" % (len(evs), len(expect)))
    bad = [d for d in evs.values() if RANK[d["data"]["status"]] <=
           RANK.get(d["data"]["previous_status"], 0)]
    ok(not bad, "every event moves forward (previous_status < status)")
    with rx.lock:
        dup = len(rx.acks) - len(rx.acked)
    print("# %d events acknowledged, %d redelivered with the same id" %
          (len(rx.acked), dup))
    return sids


def attacks(st, rx, proxied, plain, sids):
    print("# forged, tampered, replayed, untrusted proxy")
    sid = sids[3]
    path = "/relay/twilio/status?relay_sid=" + sid
    before = st.ctl("message", "show", sid)
    n_events = len(rx.acked)
    params = status_params("SMup3", "failed")
    cases = [
        ("forged (wrong token)", proxied, params, None,
         {"sig": twilio_sign("0" * 32, PUBLIC + path, params)}),
        ("tampered (status changed after signing)", proxied, params,
         None, {"sign_params": status_params("SMup3", "read")}),
        ("tampered (extra param)", proxied,
         params + [("Extra", "1")], None, {"sign_params": params}),
        ("signed for another message", proxied, params, None,
         {"sig": twilio_sign(TOKEN, PUBLIC + "/relay/twilio/status?"
                             "relay_sid=" + sids[0], params)}),
        ("no signature", proxied, params, None, {"sig": ""}),
        # relay-http without --trusted-proxy: the forwarded headers are
        # ignored, so a signature for the forwarded URL does not match
        ("untrusted proxy, signed for the forwarded URL", plain, params,
         None, {}),
    ]
    for name, port, p, _, kw in cases:
        s, h, doc = post_hook(port, path, p, PUBLIC + path, headers=PROXY,
                              **kw)
        ok(s == 403 and doc["error"]["code"] == "permission_denied",
           "%s -> 403 (%s)" % (name, s))
    time.sleep(1.5)
    after = st.ctl("message", "show", sid)
    ok(after["status"] == before["status"] and
       after.get("updated_at") == before.get("updated_at") and
       len(rx.acked) == n_events, "refused requests changed nothing and "
       "sent no event")
    logs = st.log("proxied") + st.log("plain")
    lines = [ln for ln in logs.splitlines() if "bad signature" in ln]
    ok(len(lines) >= len(cases) and all("127.0.0.1" in ln and
                                        "/relay/twilio/status" in ln
                                        for ln in lines),
       "one log line per bad signature, naming peer and path (%d)" %
       len(lines))

    # replay: the very same request again -> same answer, no new event
    params = status_params("SMup0", "delivered")
    p0 = "/relay/twilio/status?relay_sid=" + sids[0]
    s1, _, b1 = post_hook(proxied, p0, params, PUBLIC + p0, headers=PROXY)
    s2, _, b2 = post_hook(proxied, p0, params, PUBLIC + p0, headers=PROXY)
    time.sleep(1.5)
    ok(s1 == s2 == 200 and b1 == b2 and len(rx.acked) == n_events and
       msg_status(st, sids[0]) == "delivered",
       "replayed callback -> 200 again, no second event")

    # an authentic callback for a message Relay does not know: 200 + log
    unk = "/relay/twilio/status"
    s, _, _ = post_hook(proxied, unk, status_params("SMnotours", "sent"),
                        PUBLIC + unk, headers=PROXY)
    ok(s == 200 and "unknown message SMnotours" in st.log("proxied"),
       "callback for an unknown message -> 200 and a log line")

    # JSON post: the signature covers the URL, which carries bodySHA256
    body = json.dumps({"MessageSid": "SMup0", "MessageStatus": "sent"})
    sha = hashlib.sha256(body.encode()).hexdigest()
    jp = p0 + "&bodySHA256=" + sha
    sig = twilio_sign(TOKEN, PUBLIC + jp, [])
    h = dict(PROXY, **{"Content-Type": "application/json",
                       "X-Twilio-Signature": sig})
    s, _, _ = request(proxied, "POST", jp, body, h)
    ok(s == 200, "JSON callback signed over URL + bodySHA256 -> 200 (%s)" %
       s)
    s, _, _ = request(proxied, "POST", jp, body.replace("sent", "read"), h)
    ok(s == 403, "JSON body changed after signing -> 403 (%s)" % s)


def inbound(st, rx, proxied, plain, cid):
    print("# inbound")
    st.ctl("tn", "add", TN)
    st.ctl("tn", "assign", TN, "--client", str(cid))
    st.ctl("tn", "autoreply", TN, AUTO_REPLY)
    path = "/relay/twilio/inbound"
    params = [("ToCountry", "US"), ("SmsMessageSid", "SMin1"),
              ("NumMedia", "0"), ("SmsSid", "SMin1"),
              ("Body", "Hello & <bye>"), ("To", TN),
              ("MessageSid", "SMin1"), ("AccountSid", ACCOUNT_SID),
              ("From", "+14155550123"), ("ApiVersion", "2010-04-01")]
    s, h, body = post_hook(proxied, path, params, PUBLIC + path,
                           headers=PROXY)
    ok(s == 200 and h.get("content-type", "").startswith("text/xml"),
       "inbound -> 200 text/xml (%s %s)" % (s, h.get("content-type")))
    try:
        root = ET.fromstring(body)
        msg = root.find("Message")
        good = root.tag == "Response" and msg is not None and \
            msg.text == AUTO_REPLY
    except ET.ParseError:
        good = False
    ok(good and b"&lt;3 &amp;" in body, "TwiML carries the auto-reply, "
       "XML-escaped: %r" % body)
    s2, _, body2 = post_hook(proxied, path, params, PUBLIC + path,
                             headers=PROXY)
    ok(s2 == 200 and body2 == body, "replayed inbound -> the same answer")

    def got():
        return rx.events("message.inbound")
    wait_for(lambda: got(), 15, 0.2)
    evs = got()
    data = [d["data"] for d in evs.values()]
    ok(len(evs) == 1 and data[0]["body"] == "Hello & <bye>" and
       data[0]["provider_sid"] == "SMin1" and data[0]["to"] == TN and
       data[0]["from"] == "+14155550123",
       "message.inbound forwarded to the client's inbound_url, once: %s" %
       data)
    with rx.lock:
        paths = {p for e, t, p in rx.acks if t == "message.inbound"}
    ok(paths == {"/inbound"}, "delivered at inbound_url (%s)" % paths)
    lst = st.ctl("inbound", "list", "--client", str(cid))
    items = lst.get("messages", lst.get("inbound", [])) \
        if isinstance(lst, dict) else lst
    ok(len(items) == 1, "stored once (%d)" % len(items))

    # a number not in the pool: an empty answer, nothing stored
    p2 = [(k, "+12065550000" if k == "To" else
           "SMin2" if k in ("MessageSid", "SmsSid", "SmsMessageSid")
           else v) for k, v in params]
    s, h, body = post_hook(proxied, path, p2, PUBLIC + path, headers=PROXY)
    root = ET.fromstring(body) if s == 200 else None
    ok(s == 200 and root is not None and root.tag == "Response" and
       len(root) == 0, "unknown number -> <Response/> (%r)" % body)
    # forged inbound; untrusted proxy
    s, _, _ = post_hook(proxied, path, params, PUBLIC + path,
                        headers=PROXY, token="1" * 32)
    ok(s == 403, "forged inbound -> 403")
    s, _, _ = post_hook(plain, path, params, PUBLIC + path, headers=PROXY)
    ok(s == 403, "inbound via an untrusted proxy -> 403")


def relayd_down(st, port, sids):
    """relayd unreachable: 503, so that Twilio retries (after the RPC
    timeout, 10 s)."""
    print("# relayd down")
    st.relayd.send_signal(signal.SIGKILL)
    st.relayd.wait()
    st.procs.remove(st.relayd)
    path = "/relay/twilio/status?relay_sid=" + sids[0]
    s, _, doc = post_hook(port, path, status_params("SMup0", "delivered"),
                          PUBLIC + path, headers=PROXY)
    ok(s == 503 and doc["error"]["code"] == "unavailable",
       "relayd unreachable -> 503 (%s)" % s)


def limits(port, sids):
    print("# limits and shapes")
    path = "/relay/twilio/status?relay_sid=" + sids[0]
    big = "Body=" + "x" * (70 * 1024)
    s, h, doc = request(port, "POST", path, big,
                        dict(PROXY, **{"Content-Type": FORM,
                                       "X-Twilio-Signature": "x"}))
    ok(s == 413 and doc["error"]["code"] == "too_large",
       "body over 64 KiB -> 413")
    for p in ("/relay/twilio/status", "/relay/twilio/inbound"):
        s, h, doc = request(port, "GET", p)
        ok(s == 405 and h.get("allow") == "POST", "GET %s -> 405" % p)
        s, h, doc = request(port, "POST", p, "hi",
                            {"Content-Type": "text/plain"})
        ok(s == 415 and doc["error"]["code"] == "unsupported_media_type",
           "text/plain to %s -> 415" % p)
    s, h, doc = request(port, "POST", path, "a=1",
                        dict(PROXY, **{"Content-Type": FORM,
                                       "X-Forwarded-Host": "a b"}))
    ok(s == 400 and doc["error"]["message"].startswith("X-Forwarded-Host"),
       "malformed forwarded header from a trusted proxy -> 400")


if __name__ == "__main__":
    sys.exit(main())
