#!/usr/bin/env python3
"""Twilio conformance: Relay's deliveries against Stoplight Prism.

usage: prism_twilio.py RELAYD RELAY_HTTP RELAYCTL TWILIO_SPEC

Prism serves Twilio's published OpenAPI description
(../shared/upstream/twilio_api_v2010.json) as a validating mock: a request
that breaks the description gets 422 (or 401 without Basic auth), a
conforming one 201. relayd's twilio account points at it; messages are
sent through relay-http and every one must end up accepted by the
upstream (status "sending"), none failed.

Prism comes from npm into a cache outside the repository
($XDG_CACHE_HOME/relay/prism, else ~/.cache/relay/prism), installed once.
Without node/npm, or when the install fails, the test is skipped (exit 77)
with the reason.
"""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

RELAYD, RELAY_HTTP, RELAYCTL, SPEC = sys.argv[1:5]
PRISM_VERSION = "5"


def skip(why):
    print("SKIP: " + why)
    sys.exit(77)


def prism_bin():
    if not shutil.which("node") or not shutil.which("npm"):
        skip("node and npm are needed to run Stoplight Prism")
    cache = os.path.join(os.environ.get("XDG_CACHE_HOME") or
                         os.path.expanduser("~/.cache"), "relay", "prism")
    exe = os.path.join(cache, "node_modules", ".bin", "prism")
    if os.path.exists(exe):
        return exe
    os.makedirs(cache, exist_ok=True)
    print("# installing @stoplight/prism-cli@%s into %s" %
          (PRISM_VERSION, cache), flush=True)
    try:
        r = subprocess.run(["npm", "install", "--prefix", cache, "--no-audit",
                            "--no-fund", "--loglevel=error",
                            "@stoplight/prism-cli@" + PRISM_VERSION],
                           capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        skip("npm install of prism timed out")
    if r.returncode != 0 or not os.path.exists(exe):
        skip("npm install of prism failed: " + r.stderr.strip()[-300:])
    return exe


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, secs):
    deadline = time.time() + secs
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return True
        except OSError:
            time.sleep(0.2)
    return False


def main():
    exe = prism_bin()
    if not os.path.exists(SPEC):
        skip("no Twilio description at " + SPEC)
    d = tempfile.mkdtemp(prefix="relay-prism.")
    env = dict(os.environ, RELAY_STATE_DIR=d)
    for k in ("RELAY_RPC_URL", "RELAY_ADMIN_TOKEN", "MASTER_ENCRYPTION_KEY"):
        env.pop(k, None)
    procs, failures = [], []
    pport = free_port()
    prism_log = os.path.join(d, "prism.log")
    try:
        procs.append(subprocess.Popen(
            [exe, "mock", "-h", "127.0.0.1", "-p", str(pport), SPEC],
            stdout=open(prism_log, "wb"), stderr=subprocess.STDOUT,
            start_new_session=True))
        if not wait_port(pport, 120):
            print(open(prism_log).read()[-2000:])
            print("FAIL: prism did not start")
            return 1
        log = open(os.path.join(d, "relayd.log"), "wb")
        procs.append(subprocess.Popen(
            [RELAYD, "--public-url", "https://relay.example.com",
             "--retry-deadline", "5"], env=env, stdout=log, stderr=log))
        ctl = lambda *a, stdin=None: json.loads(subprocess.run(
            [RELAYCTL, "--json"] + list(a), env=env, input=stdin,
            capture_output=True, text=True, check=True).stdout)
        for _ in range(200):
            if subprocess.run([RELAYCTL, "settings", "get"], env=env,
                              capture_output=True).returncode == 0:
                break
            time.sleep(0.05)
        acct = ctl("account", "create", "--kind", "twilio", "--sid",
                   "AC" + "0123456789abcdef" * 2, "--token", "-",
                   "--from", "+14155550100",
                   "--base-url", "http://127.0.0.1:%d" % pport,
                   stdin="5eed" * 8 + "\n")["id"]
        ctl("route", "create", "--pattern", ".*", "--priority", "1",
            "--account", str(acct), "--price", "0.0075")
        cid = ctl("client", "create", "--name", "Conf", "--balance", "1")["id"]
        key = ctl("key", "create", "--client", str(cid))["key"]
        hlog = os.path.join(d, "http.log")
        procs.append(subprocess.Popen(
            [RELAY_HTTP, "--listen", "127.0.0.1:0"], env=env,
            stdout=open(hlog, "wb"), stderr=subprocess.STDOUT))
        port = None
        for _ in range(100):
            m = re.search(r"\(port (\d+)\)", open(hlog).read())
            if m:
                port = int(m.group(1))
                break
            time.sleep(0.05)
        bodies = [
            {"To": "+14155551234", "Body": "plain GSM-7"},
            {"To": "+14155551234", "From": "+14155550199",
             "Body": "with From and a callback",
             "StatusCallback": "https://example.com/cb?x=1&y=2"},
            {"To": "+447911123456", "Body": "UCS-2 \u00e9\u4e2d\U0001f600"},
            {"To": "14155551234", "Body": "x" * 400},
        ]
        sids = []
        for b in bodies:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
            c.request("POST", "/relay/sms", json.dumps(b),
                      {"X-Proxy-Auth": key,
                       "Content-Type": "application/json"})
            r = c.getresponse()
            doc = json.loads(r.read())
            if r.status != 201:
                failures.append("POST %s -> %d %s" % (b, r.status, doc))
            else:
                sids.append(doc["sid"])
        deadline = time.time() + 20
        states = {}
        while time.time() < deadline:
            for sid in sids:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
                c.request("GET", "/relay/messages/" + sid, headers={
                    "X-Proxy-Auth": key})
                states[sid] = json.loads(c.getresponse().read())
            if all(m["status"] != "queued" for m in states.values()):
                break
            time.sleep(0.3)
        for sid, m in states.items():
            ok = m["status"] in ("sending", "sent")
            print("%s - %s: %s %s %s" % ("ok" if ok else "FAIL", sid,
                                         m["status"], m["error_code"],
                                         m["error_message"]))
            if not ok:
                failures.append(sid)
        # Prism's own log after it started: one "Request received" per
        # request, then the validator's verdict and the status it answers
        plog = open(prism_log, errors="replace").read()
        plog = plog[plog.find("Prism is listening"):]
        received = len(re.findall(r"\[HTTP SERVER\] post \S*/Messages\.json"
                                  r".*Request received", plog))
        passed = plog.count("The request passed the validation rules")
        n201 = plog.count('Responding with "201"')
        bad = [l for l in plog.splitlines() if "\u2716" in l or
               re.search(r'Responding with "(4|5)\d\d"', l)]
        print("# prism: %d request(s) received, %d passed validation, %d "
              "answered 201, %d error line(s)" % (received, passed, n201,
                                                  len(bad)))
        if not (received == len(bodies) and passed == received and
                n201 == received and not bad):
            failures.append("prism did not accept every delivery")
            print("\n".join(bad[-20:]))
    finally:
        for p in reversed(procs):
            try:
                os.killpg(p.pid, signal.SIGTERM) if p is procs[0] else \
                    p.send_signal(signal.SIGTERM)
                p.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                p.kill()
    if failures:
        print("FAIL: %d; logs kept in %s" % (len(failures), d))
        return 1
    shutil.rmtree(d, ignore_errors=True)
    print("ok - every delivery got 201 from Prism")
    return 0


if __name__ == "__main__":
    sys.exit(main())
