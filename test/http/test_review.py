#!/usr/bin/env python3
"""The proxy's share of the outside review (issue 10), run by
test/suites/44-http-review.sh against the real proxy binary and a throwaway
cluster whose credsync.max_batch_records is 1500.

- hostile push bodies: sixteen 8 MiB bodies at once keep the proxy's peak RSS
  (VmHWM) at or below 400 MiB, every one is refused, nothing is stored, and
  the proxy keeps serving (item 3); the batch limit is the database's, not the
  proxy's default;
- a long-poll whose token is revoked while it waits answers 401, at once,
  and never returns a record written after the revocation (item 4);
- with --max-waiters 0 a pull with wait is an ordinary pull, not refused
  (item 5: refused long-polls are 503, tested in 40-http);
- the long-poll listener survives a failed poll() and a terminated backend
  (item 9);
- with log_statement = 'all', PostgreSQL's log holds no bearer token (item 10).

Prints one "ok - name" / "not ok - name" line per check."""
import os
import re
import subprocess
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from client import Cluster, Proxy, b64, ROOT  # noqa: E402

CLUSTER = Cluster(sys.argv[1])
WORK = sys.argv[2]
MAX_BATCH = 1500  # 44-http-review.sh sets credsync.max_batch_records
MIB = 1024 * 1024

failures = 0


def check(name, cond, detail=""):
    global failures
    if cond:
        print(f"ok - {name}", flush=True)
    else:
        failures += 1
        print(f"not ok - {name}" + (f" ({str(detail)[:600]})" if detail else ""), flush=True)
    return cond


def is_error(r, status, code):
    return r is not None and r.status == status and r.code == code


def until(fn, timeout, step=0.05):
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() >= deadline:
            return v
        time.sleep(step)


def token_for(user):
    return CLUSTER.psql(f"SELECT credsync.issue_token('{user}')")


def metric(p, name):
    m = re.search(rb"^credsync_" + name.encode() + rb" (\d+)", p.client().get("/metrics").raw, re.M)
    return int(m.group(1)) if m else None


def vm(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return None


# ---------------------------------------------------------------- item 3

def hostile_bodies(size):
    """Bodies of exactly `size` bytes that a document-tree parser turns into
    many times their size: unique keys, tiny records, deep nesting, a flat
    array of numbers, one huge (valid base64) string."""
    def fill(head, unit, tail):
        n = (size - len(head) - len(tail)) // len(unit)
        body = head + unit * n + tail
        return body + b" " * (size - len(body))

    keys = b'{"records":[]' + b"".join(b',"k%07d":0' % i for i in range((size - 16) // 13)) + b"}"
    keys = keys + b" " * (size - len(keys))
    return {
        "unique keys": keys,
        "tiny records": fill(b'{"records":[{"blob":""}', b',{"blob":""}', b"]}"),
        "deep nesting": b"[" * size,
        "flat numbers": fill(b'{"records":[[0', b",0", b"]]}"),
        "huge string": fill(b'{"records":[{"blob":"', b"AAAA", b'"}]}'),
    }


def t_hostile_memory(cluster):
    user = f"mem-{uuid.uuid4()}"
    tok = token_for(user)
    # A long --pool-timeout-ms: large bodies wait for their turn (--max-large-bodies)
    # instead of getting 503 on a loaded machine, so that every answer here is
    # the parser's (43-big-bodies covers the 503s).
    q = Proxy(cluster, os.path.join(WORK, "memory.log"), ["--threads", "40", "--max-waiters", "4", "--pool-size", "4",
                                                          "--pool-timeout-ms", "120000"]).start()
    try:
        c = q.client(tok)
        check("memory: the proxy serves with the default --max-body-bytes (8 MiB)", c.get("/v1/account").status == 200)
        bodies = hostile_bodies(8 * MIB)
        names = list(bodies)
        before = vm(q.proc.pid, "VmHWM")
        answers = {}

        def send(i):
            name = names[i % len(names)]
            t0 = time.time()
            r = c.request("POST", "/v1/zones/mem/push", body=bodies[name],
                          headers={"Content-Type": "application/json"}, timeout=120)
            answers[i] = (name, r, time.time() - t0)

        threads = [threading.Thread(target=send, args=(i,)) for i in range(16)]
        t0 = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join(180)
        took = time.time() - t0
        peak = vm(q.proc.pid, "VmHWM")
        print(f"# 16 hostile 8 MiB bodies in {took:.1f} s: VmHWM {before / MIB:.0f} MiB before, {peak / MIB:.0f} MiB after",
              flush=True)
        check("memory: sixteen concurrent 8 MiB hostile bodies keep VmHWM <= 400 MiB",
              peak is not None and peak <= 400 * MIB, f"{peak / MIB:.0f} MiB")
        refused = all(i in answers and answers[i][1].status in (400, 413) for i in range(16))
        check("memory: every hostile body is refused (400, or 413 for too many records)", refused,
              sorted((a[0], a[1].status, (a[1].json or {}).get("error", {}).get("message")) for a in answers.values()))
        by_name = {a[0]: a[1] for a in answers.values()}
        r = by_name.get("tiny records")
        check("memory: 700k records are refused as over the database's batch limit (413 too_large, max_batch_records=1500)",
              is_error(r, 413, "too_large") and "max_batch_records=1500" in r.json["error"]["message"], r)
        check("memory: the proxy keeps serving", q.proc.poll() is None and q.client().get("/healthz").status == 200)
        check("memory: nothing was stored", c.get("/v1/zones/mem").json["gencount"] == 0)
    finally:
        q.stop()


def t_batch_limit(p):
    user = f"batch-{uuid.uuid4()}"
    c = p.client(token_for(user))
    r = c.push("batch", [{"blob": ""} for _ in range(1200)])
    check("a batch over the proxy's default 1000 but within the database's 1500 is accepted",
          r.status == 200 and r.json["gencount"] == 1200, r)
    r = c.push("batch", [{"blob": ""} for _ in range(MAX_BATCH + 1)])
    check("a batch over the database's limit is 413 too_large naming max_batch_records=1500",
          is_error(r, 413, "too_large") and r.json["error"]["message"].endswith("max_batch_records=1500"), r)
    check("the refused batch wrote nothing", c.get("/v1/zones/batch").json["gencount"] == 1200)


# ---------------------------------------------------------------- item 4

def t_revoked_longpoll(p):
    user = f"lp-revoke-{uuid.uuid4()}"
    tok, other_tok = token_for(user), token_for(user)
    waiting, writer = p.client(tok), p.client(other_tok)
    # Another user's long-poll, whose token stays valid, waits meanwhile.
    bystander = p.client(token_for(f"lp-bystander-{uuid.uuid4()}"))
    out = {}

    def lp(key, client, zone, wait):
        r = client.pull(zone, f"since=0&wait={wait}")
        out[key] = (r, time.time())

    ta = threading.Thread(target=lp, args=("revoked", waiting, "rv", 30))
    tb = threading.Thread(target=lp, args=("bystander", bystander, "rv", 8))
    ta.start()
    tb.start()
    check("revocation: both long-polls are waiting", until(lambda: metric(p, "longpoll_waiters") == 2, 5))
    t_revoke = time.time()
    CLUSTER.psql(f"SELECT credsync.revoke_token('{tok}')")
    # The same user writes with another token right after the revocation.
    w = writer.push("rv", [{"blob": b64(b"written after the revocation")}])
    ta.join(35)
    r, at = out.get("revoked", (None, 0))
    check("revocation: the same user's push with another token works", w.status == 200, w)
    check("revocation: the waiting long-poll answers 401 unauthorized, not the record written after it",
          is_error(r, 401, "unauthorized") and b"records" not in r.raw, r)
    check("revocation: ... within 2 s of the revocation", r is not None and at - t_revoke <= 2.0,
          f"{at - t_revoke:.2f}s")
    time.sleep(0.5)
    check("revocation: another user's long-poll is still waiting (woken, re-checked, waiting again)",
          "bystander" not in out and metric(p, "longpoll_waiters") == 1, out.get("bystander"))
    bystander.push("rv", [{"blob": b64(b"for the bystander")}])
    tb.join(10)
    r, _ = out.get("bystander", (None, 0))
    check("revocation: that long-poll still gets its own user's push",
          r is not None and r.status == 200 and len(r.json["records"]) == 1, r)

    # A revocation alone, with no push at all, must end the wait too.
    tok2 = token_for(user)
    c2 = p.client(tok2)
    tc = threading.Thread(target=lp, args=("alone", c2, "rv-alone", 20))
    tc.start()
    until(lambda: metric(p, "longpoll_waiters") == 1, 5)
    t_revoke = time.time()
    CLUSTER.psql(f"SELECT credsync.revoke_token('{tok2}')")
    tc.join(25)
    r, at = out.get("alone", (None, 0))
    check("revocation without any push: the long-poll answers 401 within 2 s",
          is_error(r, 401, "unauthorized") and at - t_revoke <= 2.0, f"{r} after {at - t_revoke:.2f}s")


# ---------------------------------------------------------------- item 5

def t_waiting_off(cluster):
    """Refused long-polls are 503 (40-http, --max-waiters 3); with waiting
    turned off (--max-waiters 0) a pull with wait is an ordinary pull."""
    q = Proxy(cluster, os.path.join(WORK, "nowait.log"), ["--max-waiters", "0"]).start()
    try:
        c = q.client(token_for(f"nowait-{uuid.uuid4()}"))
        t0 = time.time()
        r = c.pull("nowait", "since=0&wait=5")
        check("--max-waiters 0: a pull with wait answers at once, 200 (waiting is off, not refused)",
              r.status == 200 and r.json["records"] == [] and time.time() - t0 < 1.5, r)
        check("--max-waiters 0: nothing counted as a refused long-poll", metric(q, "longpoll_rejected_total") == 0)
    finally:
        q.stop()


# ---------------------------------------------------------------- item 9

def longpoll_woken(p, client, zone, label):
    """A long-poll on zone is woken by a push within a few seconds."""
    out = {}

    def lp():
        out["r"] = client.pull(zone, "since=0&wait=10")

    th = threading.Thread(target=lp)
    th.start()
    until(lambda: metric(p, "longpoll_waiters") == 1, 5)
    t0 = time.time()
    client.push(zone, [{"blob": b64(b"wake " + label.encode())}])
    th.join(12)
    r = out.get("r")
    check(f"{label}: a long-poll is woken by a push (within 3 s)",
          r is not None and r.status == 200 and len(r.json["records"]) == 1 and time.time() - t0 < 3, r)


def t_listener_poll_error(cluster):
    shim = os.path.join(WORK, "poll_fail.so")
    r = subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", shim, os.path.join(ROOT, "test/http/poll_fail.c"), "-ldl"],
                       capture_output=True, text=True)
    if not check("listener: build the poll() failure shim", r.returncode == 0, r.stderr[-300:]):
        return
    trigger = os.path.join(WORK, "poll-fail-now")
    env = dict(os.environ, LD_PRELOAD=shim, CREDSYNC_POLL_FAIL=trigger)
    q = Proxy(cluster, os.path.join(WORK, "listener.log"), ["--max-waiters", "4"], env=env).start()
    try:
        c = q.client(token_for(f"listener-{uuid.uuid4()}"))
        check("listener: up before the failure", until(lambda: metric(q, "longpoll_listener_up") == 1, 10))
        open(trigger, "w").close()
        consumed = until(lambda: not os.path.exists(trigger), 5)
        check("listener: poll() failed once (the shim fired)", consumed)
        check("listener: back up after a failed poll()",
              until(lambda: metric(q, "longpoll_listener_up") == 1, 5) and q.proc.poll() is None)
        longpoll_woken(q, c, "after-poll", "listener after a failed poll()")
        check("listener: the log says why it reconnected", "poll failed" in q.log(), q.log()[-300:])
    finally:
        q.stop()


def t_listener_backend_killed(p):
    c = p.client(token_for(f"killed-{uuid.uuid4()}"))
    CLUSTER.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                 " WHERE application_name = 'credsync-proxy-listener'")
    time.sleep(0.3)
    check("listener: back up after its backend was terminated",
          until(lambda: metric(p, "longpoll_listener_up") == 1, 10))
    longpoll_woken(p, c, "after-kill", "listener after pg_terminate_backend")


# ---------------------------------------------------------------- item 10

def t_no_token_in_statement_log(cluster):
    log_path = os.path.join(cluster.dir, "data", "server.log")
    CLUSTER.psql("ALTER SYSTEM SET log_statement = 'all'")
    CLUSTER.psql("SELECT pg_reload_conf()")
    q = None
    try:
        time.sleep(0.5)
        start = os.path.getsize(log_path)
        # A fresh proxy, so every token below is looked up in the database.
        q = Proxy(cluster, os.path.join(WORK, "statements.log"), ["--open-registration"]).start()
        tokens = []
        for _ in range(3):
            r = q.client().request("POST", "/v1/register")
            tokens.append(r.json["token"])
        for tok in tokens:
            c = q.client(tok)
            c.get("/v1/account")
            c.push("logged", [{"blob": b64(b"x")}])
            c.pull("logged", "since=0")
        bad = q.client("cs_not_a_real_token_" + uuid.uuid4().hex)
        bad.get("/v1/account")
        tokens.append(bad.token)
        time.sleep(0.5)
        with open(log_path, "rb") as f:
            f.seek(start)
            log = f.read().decode(errors="replace")
        check("statement log: the proxy's token lookups were logged (log_statement = 'all' took effect)",
              "token_identity" in log, log[-400:])
        leaked = [t[:10] for t in tokens if t in log]
        check("statement log: no bearer token appears in PostgreSQL's log", not leaked and len(tokens) == 4, leaked)
    finally:
        if q:
            q.stop()
        CLUSTER.psql("ALTER SYSTEM RESET log_statement")
        CLUSTER.psql("SELECT pg_reload_conf()")


def main():
    proxy = Proxy(CLUSTER, os.path.join(WORK, "proxy.log"), ["--max-waiters", "8", "--threads", "24"])
    proxy.start()
    groups = [
        ("hostile memory", lambda: t_hostile_memory(CLUSTER)),
        ("batch limit", lambda: t_batch_limit(proxy)),
        ("revoked long-poll", lambda: t_revoked_longpoll(proxy)),
        ("waiting off", lambda: t_waiting_off(CLUSTER)),
        ("listener poll error", lambda: t_listener_poll_error(CLUSTER)),
        ("listener backend killed", lambda: t_listener_backend_killed(proxy)),
        ("statement log", lambda: t_no_token_in_statement_log(CLUSTER)),
    ]
    only = os.environ.get("HTTP_TESTS")
    try:
        for name, fn in groups:
            if only and name not in only.split(","):
                continue
            try:
                fn()
            except Exception as e:  # a crash in a group fails that group only
                check(f"{name}: ran to the end", False, f"{type(e).__name__}: {e}")
                if proxy.proc.poll() is not None:
                    proxy.start()
    finally:
        proxy.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
