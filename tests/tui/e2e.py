#!/usr/bin/env python3
"""End-to-end test of relay-tui: the real binary in a detached tmux pane
(80x24) against a real relayd in a temporary state dir.

It creates a client, tops it up, creates an API key, a Twilio account and
a routing rule, tests a number in the rule box, and checks every result
with `relayctl --json`. Then it resizes the pane and checks the screen is
whole, restarts relayd mid-session and checks the console recovers. Last,
it edits the account (the token stays unless typed), sends messages with
the client's API key (send_helper, through the sandbox account) and
checks the messages screen, its detail view and the dashboard's traffic.

usage: e2e.py RELAY_TUI RELAYD RELAYCTL SEND_HELPER
Exit 0 on success, 1 on failure (77 if tmux is missing: skipped).
"""
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

TIMEOUT = 10.0


class Fail(Exception):
    pass


class Env:
    def __init__(self, tui, relayd, relayctl, send_helper):
        self.tui = os.path.abspath(tui)
        self.send_bin = os.path.abspath(send_helper)
        self.relayd_bin = os.path.abspath(relayd)
        self.relayctl_bin = os.path.abspath(relayctl)
        self.dir = tempfile.mkdtemp(prefix="relay-tui-e2e.")
        self.url = "ipc://" + os.path.join(self.dir, "relayd.ipc")
        self.token = secrets.token_hex(16)
        self.sock = "relay-tui-e2e-%d" % os.getpid()
        self.relayd = None
        self.log = None
        self.env = dict(os.environ)
        self.env["RELAY_ADMIN_TOKEN"] = self.token
        self.env.pop("RELAY_RPC_URL", None)
        self.env["RELAY_STATE_DIR"] = self.dir

    # ---- processes -----------------------------------------------------

    def start_relayd(self):
        self.log = open(os.path.join(self.dir, "relayd.log"), "ab")
        self.relayd = subprocess.Popen(
            [self.relayd_bin, "--state-dir", self.dir, "--rpc", self.url],
            env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if self.relayd.poll() is not None:
                raise Fail("relayd exited: %s" % self.relayd_log())
            r = subprocess.run(
                [self.relayctl_bin, "--rpc", self.url, "--json", "client",
                 "list"], env=self.env, capture_output=True)
            if r.returncode == 0:
                return
            time.sleep(0.1)
        raise Fail("relayd did not come up: %s" % self.relayd_log())

    def stop_relayd(self):
        if self.relayd is not None and self.relayd.poll() is None:
            self.relayd.send_signal(signal.SIGTERM)
            try:
                self.relayd.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.relayd.kill()
                self.relayd.wait()
        self.relayd = None
        if self.log is not None:
            self.log.close()
            self.log = None

    def relayd_log(self):
        try:
            with open(os.path.join(self.dir, "relayd.log"), "rb") as f:
                return f.read()[-2000:].decode(errors="replace")
        except OSError:
            return ""

    def ctl(self, *args):
        r = subprocess.run(
            [self.relayctl_bin, "--rpc", self.url, "--json"] + list(args),
            env=self.env, capture_output=True, text=True, timeout=15)
        if r.returncode != 0:
            raise Fail("relayctl %s: %s%s" % (" ".join(args), r.stdout,
                                              r.stderr))
        return json.loads(r.stdout)

    def send(self, key, to, body, count):
        env = dict(self.env)
        env["RELAY_API_KEY"] = key
        r = subprocess.run(
            [self.send_bin, "--rpc", self.url, to, body, str(count)],
            env=env, capture_output=True, text=True, timeout=15)
        if r.returncode != 0:
            raise Fail("send_helper: %s%s" % (r.stdout, r.stderr))
        return r.stdout.split()

    # ---- tmux ----------------------------------------------------------

    def tmux(self, *args, check=True):
        r = subprocess.run(["tmux", "-L", self.sock, "-f", "/dev/null"] +
                           list(args), capture_output=True, text=True,
                           env=self.env, timeout=15)
        if check and r.returncode != 0:
            raise Fail("tmux %s: %s" % (" ".join(args), r.stderr))
        return r.stdout

    def start_tui(self):
        # the shell records how relay-tui ended (128+N for signal N)
        cmd = "sh -c '%s --rpc %s --state-dir %s; echo $? > %s/tui.exit'" % (
            self.tui, self.url, self.dir, self.dir)
        self.tmux("new-session", "-d", "-s", "tui", "-x", "80", "-y", "24",
                  "-e", "RELAY_ADMIN_TOKEN=" + self.token,
                  "-e", "TERM=screen-256color", cmd)
        # keep the pane when relay-tui exits, to read a crash
        self.tmux("set-option", "-t", "tui", "remain-on-exit", "on")

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", "tui")

    def keys(self, *keys):
        self.tmux("send-keys", "-t", "tui", *keys)

    def type(self, text):
        self.tmux("send-keys", "-t", "tui", "-l", "--", text)

    def wait(self, pattern, timeout=TIMEOUT, absent=False):
        """Polls the pane until pattern (a regex) shows (or is gone)."""
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        s = ""
        while time.monotonic() < deadline:
            s = self.screen()
            if bool(rx.search(s)) != absent:
                return s
            time.sleep(0.1)
        raise Fail("timed out waiting for %s%r; screen:\n%s" %
                   ("absence of " if absent else "", pattern, s))

    def cleanup(self):
        self.tmux("kill-server", check=False)
        self.stop_relayd()
        shutil.rmtree(self.dir, ignore_errors=True)


def step(name):
    print("# " + name, flush=True)


def check(cond, what):
    if not cond:
        raise Fail(what)


def whole(e, rows, cols):
    """The screen has its title bar, legend and nothing beyond cols."""
    s = e.screen()
    lines = s.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    check(len(lines) == rows, "expected %d rows, got %d:\n%s" %
          (rows, len(lines), s))
    check(lines[0].startswith(" Relay "), "title bar missing:\n" + s)
    check("q Quit" in lines[-1], "key legend missing:\n" + s)
    for ln in lines:
        check(len(ln) <= cols, "line wider than %d:\n%s" % (cols, s))
    return s


def run(e):
    step("start relayd and relay-tui")
    e.start_relayd()
    e.start_tui()
    e.wait(r"connected")
    e.wait(r"Dashboard")
    whole(e, 24, 80)

    step("create a client")
    e.keys("2")
    e.wait(r"Clients \(0\)")
    e.keys("n")
    e.wait(r"New client")
    e.type("E2E Corp")
    e.keys("Enter")
    s = e.wait(r'client #\d+ "E2E Corp" created')
    cid = int(re.search(r'client #(\d+) "E2E Corp"', s).group(1))

    step("form validation: a bad amount never leaves the form")
    e.keys("t")
    e.wait(r"Top up client")
    e.type("12.3.4")
    e.keys("Tab")
    e.type("oops")
    e.keys("Enter")
    e.wait(r"Amount: an amount like")
    e.keys("Escape")
    e.wait(r"Top up client", absent=True)

    step("top it up")
    e.keys("t")
    e.wait(r"Top up client")
    e.type("25.50")
    e.keys("Tab")
    e.type("e2e top-up")
    e.keys("Enter")
    e.wait(r"balance now 25\.50")

    step("server errors show in the form and the status line")
    e.keys("a")
    e.wait(r"Adjust client")
    e.type("-100")
    e.keys("Tab")
    e.type("too much")
    e.keys("Enter")
    s = e.wait(r"adjust: ")
    e.keys("Escape")

    step("the client's ledger")
    e.keys("Enter")
    e.wait(r"Ledger of #%d E2E Corp: balance 25\.50, ledger sum 25\.50 "
           r"\(ok\)" % cid)
    e.wait(r"e2e top-up")
    e.keys("Escape")
    e.wait(r"Clients \(1\)")

    step("create an API key; the raw key shows once")
    e.keys("k")
    e.wait(r"API keys of client #%d" % cid)
    e.keys("n")
    e.wait(r"New API key")
    e.keys("Enter")
    s = e.wait(r"API key #\d+ for client #%d:" % cid)
    m = re.search(r"^\s*│?\s+(\S{20,})\s*│?\s*$", s.split("API key #")[1],
                  re.M)
    check(m is not None, "raw key not shown:\n" + s)
    raw = m.group(1)
    e.keys("Enter")
    s = e.wait(r"New API key", absent=True)
    check(raw not in s, "the raw key is still on screen after the dialog")
    e.wait(re.escape(raw[:8]))

    step("create a Twilio account; the token is never shown")
    sid = "AC" + secrets.token_hex(16)
    token = secrets.token_hex(16)
    e.keys("4")
    e.wait(r"Provider accounts \(0\)")
    e.keys("n")
    e.wait(r"New provider account")
    e.keys("Tab")
    e.type(sid)
    e.keys("Tab")
    e.type(token)
    s = e.screen()
    check(token not in s, "token echoed while typing:\n" + s)
    e.keys("Tab", "Tab")
    e.type("+14155550100")
    e.keys("Tab")
    e.type("E2E Twilio")
    e.keys("Enter")
    s = e.wait(r"twilio account #\d+ created")
    aid = int(re.search(r"twilio account #(\d+)", s).group(1))
    check(token not in s, "token on screen after saving")
    e.keys("Enter")
    s = e.wait(r"never shown")
    check(token not in s, "token in the details dialog")
    e.keys("Escape")

    step("create a routing rule (a bad pattern is refused first)")
    e.keys("5")
    e.wait(r"Routing rules \(0\)")
    e.keys("n")
    e.wait(r"New routing rule")
    e.type("^+1[")
    e.keys("Tab")
    e.type("10")
    e.keys("Enter")
    e.wait(r"pattern: ")
    e.keys("C-u")
    e.type(r"^\+1")
    e.keys("Tab", "Tab", "Tab")
    e.type("0.0079")
    e.keys("Enter")
    s = e.wait(r"rule #\d+ created")
    rid = int(re.search(r"rule #(\d+) created", s).group(1))
    e.wait(r"0\.0079 yes")

    step("test a number in the rule box")
    e.keys("t")
    e.wait(r"Route test")
    e.type("415")
    e.keys("Enter")
    e.wait(r"Number: not an E\.164 number")
    e.keys("C-u")
    e.type("+14155550123")
    e.keys("Enter")
    s = e.wait(r"Route test result")
    check(re.search(r"Rule:\s+#%d\s+priority 10\s+pattern \^\\\+1" % rid,
                    s), "rule not shown:\n" + s)
    check(re.search(r"Account:\s+#%d twilio %s" % (aid, sid), s),
          "account not shown:\n" + s)
    check(re.search(r"Price:\s+0\.0079", s), "price not shown:\n" + s)
    e.keys("Enter")
    e.wait(r"Route test \(Esc closes\)")
    e.keys("Escape")
    e.wait(r"Route test", absent=True)

    step("check everything with relayctl --json")
    clients = e.ctl("client", "list")
    c = [x for x in clients if x["id"] == cid]
    check(len(c) == 1 and c[0]["name"] == "E2E Corp", "client: %r" % clients)
    check(c[0]["balance"] == "25.50", "balance: %r" % c[0])
    led = e.ctl("client", "ledger", str(cid))
    check(led["sum"] == "25.50", "ledger sum: %r" % led)
    check(any(x["reason"] == "e2e top-up" and x["amount"] == "25.50"
              for x in led["entries"]), "ledger: %r" % led)
    keys = e.ctl("key", "list", "--client", str(cid))
    check(len(keys) == 1 and keys[0]["prefix"] == raw[:8],
          "keys: %r (raw %s...)" % (keys, raw[:8]))
    accts = e.ctl("account", "list")
    check(len(accts) == 1 and accts[0]["kind"] == "twilio" and
          accts[0]["sid"] == sid and accts[0]["has_token"] and
          accts[0]["from_number"] == "+14155550100", "accounts: %r" % accts)
    check(token not in json.dumps(accts), "token in relayctl output")
    routes = e.ctl("route", "list")
    check(len(routes) == 1 and routes[0]["pattern"] == r"^\+1" and
          routes[0]["price"] == "0.0079" and routes[0]["priority"] == 10 and
          routes[0]["account_id"] == aid and routes[0]["enabled"],
          "routes: %r" % routes)
    t = e.ctl("route", "test", "+14155550123")
    check(t["route"]["id"] == rid and t["account"]["id"] == aid and
          t["price"] == "0.0079", "route test: %r" % t)

    step("disable and re-enable the rule, reorder")
    e.keys("Space")
    e.wait(r"rule #%d disabled" % rid)
    check(not e.ctl("route", "list")[0]["enabled"], "rule still enabled")
    e.keys("Space")
    e.wait(r"rule #%d enabled" % rid)
    e.keys("n")
    e.wait(r"New routing rule")
    e.type(r"^\+1415")
    e.keys("Tab")
    e.type("5")
    e.keys("Enter")
    s = e.wait(r"rule #\d+ created")
    rid2 = int(re.search(r"rule #(\d+) created", s).group(1))
    check([r["id"] for r in e.ctl("route", "list")] == [rid, rid2],
          "order before the move")
    e.keys("+")
    e.wait(r"rule #%d moved up" % rid2)
    order = e.ctl("route", "list")
    check([r["id"] for r in order] == [rid2, rid],
          "order after the move: %r" % order)
    e.wait(r"(?m)^>\s+1\s+10\s+%d " % rid2)

    step("resize the pane: the screen stays whole")
    e.keys("2")
    e.wait(r"Clients \(1\)")
    e.tmux("resize-window", "-t", "tui", "-x", "100", "-y", "30")
    e.wait(r"E2E Corp")
    time.sleep(0.5)
    s = whole(e, 30, 100)
    check("E2E Corp" in s and "25.50" in s, "list lost on resize:\n" + s)
    e.tmux("resize-window", "-t", "tui", "-x", "60", "-y", "16")
    time.sleep(0.5)
    whole(e, 16, 60)
    e.tmux("resize-window", "-t", "tui", "-x", "80", "-y", "24")
    time.sleep(0.5)
    s = whole(e, 24, 80)
    check("E2E Corp" in s, "list lost after resize:\n" + s)

    step("restart relayd mid-session: disconnected, then recovered")
    e.stop_relayd()
    e.wait(r"DISCONNECTED")
    # a key while relayd is away answers at once, no crash
    e.keys("t")
    e.wait(r"Top up client")
    e.type("1.00")
    e.keys("Tab")
    e.type("while away")
    e.keys("Enter")
    e.wait(r"disconnected from relayd")
    e.keys("Escape")
    e.start_relayd()
    e.wait(r"reconnected to relayd")
    e.wait(r"(?m)^ Relay .* connected\s*$")
    e.keys("t")
    e.wait(r"Top up client")
    e.type("1.25")
    e.keys("Tab")
    e.type("after restart")
    e.keys("Enter")
    e.wait(r"balance now 26\.75")
    check(e.ctl("client", "show", str(cid))["balance"] == "26.75",
          "top-up after restart not stored")
    whole(e, 24, 80)

    step("dashboard, TNs and messages screens")
    e.keys("1")
    e.wait(r"Clients\s+1\s+1 active")
    e.keys("6")
    e.wait(r"TN pool")
    e.keys("a")
    e.wait(r"Add a TN")
    e.type("+14155550199")
    e.keys("Enter")
    e.wait(r"\+14155550199 added to the pool")
    check(any(x["number"] == "+14155550199" for x in e.ctl("tn", "list")),
          "TN not in the pool")

    step("assign the TN to the client and account, set its auto-reply")
    e.keys("A")
    e.wait(r"Assign \+14155550199")
    e.type(str(cid))
    e.keys("Tab")
    e.type(str(aid))
    e.keys("Enter")
    e.wait(r"\+14155550199 assigned to client #%d" % cid)
    e.keys("R")
    e.wait(r"Auto-reply of \+14155550199")
    e.type("Thanks & bye")
    e.keys("Enter")
    e.wait(r"auto-reply set")
    tn = [x for x in e.ctl("tn", "list") if x["number"] == "+14155550199"]
    check(tn and tn[0]["client_id"] == cid and tn[0]["account_id"] == aid
          and tn[0]["auto_reply"] == "Thanks & bye",
          "TN assignment or auto-reply not stored: %r" % tn)
    e.wait(r"\+14155550199 +#%d +#%d .*Thanks & bye" % (cid, aid))
    e.keys("U")
    e.wait(r"Unassign \+14155550199 from client #%d" % cid)
    e.keys("y")
    e.wait(r"\+14155550199 is free")
    tn = [x for x in e.ctl("tn", "list") if x["number"] == "+14155550199"]
    check(tn and tn[0]["client_id"] == 0, "TN still assigned: %r" % tn)

    step("edit the account: the token stays unless typed")
    e.keys("4")
    e.wait(r"Provider accounts \(1\)")
    e.keys("e")
    e.wait(r"Edit twilio account #%d" % aid)
    e.keys("Tab", "Tab", "Tab", "Tab")
    e.type("E2E Twilio main")
    e.keys("Enter")
    e.wait(r"account #%d updated" % aid)
    a = e.ctl("account", "show", str(aid))
    check(a["description"] == "E2E Twilio main" and a["has_token"] and
          a["sid"] == sid, "account after edit: %r" % a)
    sid2 = "AC" + secrets.token_hex(16)
    token2 = secrets.token_hex(16)
    e.keys("e")
    e.wait(r"Edit twilio account #%d" % aid)
    e.type(sid2)
    e.keys("Enter")
    e.wait(r"token: required when the sid changes")
    e.keys("Tab")
    e.type(token2)
    s = e.screen()
    check(token2 not in s, "token echoed while editing:\n" + s)
    e.keys("Enter")
    s = e.wait(r"account #%d updated \(new token" % aid)
    check(token2 not in s, "token on screen after the edit")
    a = e.ctl("account", "show", str(aid))
    check(a["sid"] == sid2 and a["has_token"], "sid after edit: %r" % a)

    step("send messages with the client's key (sandbox account)")
    sb = e.ctl("account", "create", "--kind", "sandbox", "--from",
               "+15005550006")["id"]
    e.ctl("route", "create", "--pattern", r"^\+1628", "--priority", "50",
          "--account", str(sb), "--price", "0.01")
    sids = e.send(raw, "+16285550100", "hello from the e2e test", 3)
    check(len(sids) == 3 and all(x.startswith("SM") for x in sids),
          "sids: %r" % sids)
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        st = e.ctl("stats")
        if st["sent"] == 3 and st["outbox_depth"] == 0:
            break
        time.sleep(0.1)
    else:
        raise Fail("the sandbox did not send: %r" % st)

    step("the messages screen lists them; Enter shows one")
    e.keys("7")
    s = e.wait(r"Recent messages \(3\), newest first")
    for x in sids:
        check("SM~" + x[-10:] in s, "%s not listed:\n%s" % (x, s))
    check(len(re.findall(r"\+16285550100\s+sent\s+0\.01", s)) == 3,
          "rows:\n" + s)
    check(s.index(sids[2][-10:]) < s.index(sids[0][-10:]),
          "not newest first:\n" + s)
    e.keys("Enter")
    s = e.wait(r"SID:\s+" + sids[2])
    check(re.search(r"Client:\s+#%d" % cid, s) and
          re.search(r"Status:\s+sent", s) and
          "hello from the e2e test" in s, "detail:\n" + s)
    e.keys("Escape")
    e.wait(r"SID:", absent=True)
    e.keys("c")
    e.wait(r"Messages of client")
    e.type("999")
    e.keys("Enter")
    e.wait(r"Recent messages \(0\), newest first  client #999")
    e.wait(r"No messages match the filters")
    e.keys("c")
    e.wait(r"Messages of client")
    e.keys("C-u", "Enter")
    e.wait(r"Recent messages \(3\), newest first\s")

    step("the dashboard shows traffic")
    e.keys("1")
    e.wait(r"Messages/s\s+\d+\.\d\s+3 accepted in all")
    e.wait(r"Outbox depth\s+0\s+0 in flight")
    e.wait(r"Failures\s+0\s+0 retried, 3 sent since relayd started")
    e.keys(":")
    e.type("cli")
    e.keys("Enter")
    e.wait(r"Clients \(1\)")

    step("q quits cleanly")
    e.keys("q")
    deadline = time.monotonic() + TIMEOUT
    exit_file = os.path.join(e.dir, "tui.exit")
    while time.monotonic() < deadline:
        if os.path.exists(exit_file):
            with open(exit_file) as f:
                status = f.read().strip()
            if status:
                check(status == "0", "relay-tui exited with %s" % status)
                break
        time.sleep(0.1)
    else:
        raise Fail("relay-tui did not quit on q")


def main():
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    if shutil.which("tmux") is None:
        print("tmux not found: skipped")
        return 77
    e = Env(*sys.argv[1:])

    def on_signal(signum, frame):
        e.cleanup()
        sys.exit(1)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        run(e)
    except Fail as f:
        print("FAIL: %s" % f, file=sys.stderr)
        print("relayd log tail:\n" + e.relayd_log(), file=sys.stderr)
        return 1
    finally:
        e.cleanup()
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
