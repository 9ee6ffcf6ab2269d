#!/usr/bin/env python3
"""Sends every request of test/hostile/corpus.ndjson, byte for byte over a raw
socket, to a real credsync-proxy on a throwaway cluster (test/suites/45-hostile.sh),
and checks that:

  - each gets an answer it expects: a 4xx with the contract's JSON error body
    {"error": {"code", "message"}} whose code matches the status (401 with
    WWW-Authenticate), or, only for bytes that are not HTTP at all, no answer;
  - no answer carries SQL text, a stack trace or sanitizer output, nor another
    user's token, user id or data (and 409/410 answers to user B about user A's
    ids describe B's own, empty state);
  - nothing is stored: every table of the credsync schema (all users' zones,
    records, ops, tokens, quotas, accounts, login challenges and failure
    counts) is the same before and after (but tokens.last_seen, which any
    authenticated request may record);
  - the proxy stays up: /healthz is 200 after each batch and at the end, and its
    log shows no 5xx.

Then user B writes unconditionally with user A's zone, item and op_id (which
is allowed: it writes B's own records) and A's data must not change, nor may B
be answered with A's results.

Usage: run_corpus.py CLUSTER_DIR WORK_DIR (CREDSYNC_PROXY_BIN picks the binary)."""
import concurrent.futures
import json
import os
import re
import select
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "http"))
from client import Cluster, Proxy, b64  # noqa: E402

CLUSTER = Cluster(sys.argv[1])
WORK = sys.argv[2]
CORPUS = os.environ.get("HOSTILE_CORPUS", os.path.join(HERE, "corpus.ndjson"))
FLAGS = ["--max-body-bytes", "65536", "--threads", "16", "--max-waiters", "4", "--read-timeout", "2",
         "--keepalive-timeout", "2", "--pool-size", "4"]
BATCH = 40
WORKERS = 6
CODES = {400: "bad_request", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed", 409: "conflict",
         410: "cursor_invalid", 411: "length_required", 413: "too_large", 415: "unsupported_encoding",
         422: "op_reused", 507: "quota_exceeded"}
# Server-side SQL, database errors, stack traces, sanitizer and library noise.
# The corpus's own SQL payloads avoid these words, since some error messages
# echo the client's own field names back.
LEAK = re.compile(r"credsync\.(?!max_blob_bytes|max_batch_records)|sync_push|sync_pull|sync_delete|token_user|issue_token|\$[0-9]|LINE [0-9]|syntax error|"
                  r"SQLSTATE|sqlstate|violates|relation \"|pg_catalog|PL/pgSQL|CONTEXT:|STATEMENT:|"
                  r"terminate called|what\(\)|\.cpp:[0-9]|#[0-9]+ 0x|std::|Traceback|Segmentation|Sanitizer|"
                  r"runtime error|nlohmann|json\.exception|\[json\.")

failures = 0


def check(name, cond, detail=""):
    global failures
    if not cond:
        failures += 1
    print(("ok - " if cond else "not ok - ") + name + ("" if cond or not detail else f" ({detail})"), flush=True)
    return cond


# ---------------------------------------------------------------- raw HTTP

def exchange(port, data, timeout=6.0):
    """Sends data while reading; returns (status or None, headers, body, raw).
    Stops at the end of the first complete response, at close, or at timeout
    (then status None: no answer)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.setblocking(False)
    out = b""
    sent = 0
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            want_w = [s] if sent < len(data) else []
            r, w, _ = select.select([s], want_w, [], max(0.0, deadline - time.time()))
            if w:
                try:
                    sent += s.send(data[sent:sent + 65536])
                except (BrokenPipeError, ConnectionResetError):
                    sent = len(data)  # the server stopped reading: look for its answer
            if r:
                try:
                    d = s.recv(65536)
                except ConnectionResetError:
                    break
                if not d:
                    break
                out += d
                resp = parse_response(out)
                if resp:
                    return resp + (out,)
    finally:
        s.close()
    resp = parse_response(out, final=True)
    return (resp or (None, {}, b"")) + (out,)


def parse_response(buf, final=False):
    head, sep, rest = buf.partition(b"\r\n\r\n")
    if not sep:
        return None
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.[01] (\d{3})", lines[0])
    if not m:
        return (0, {}, buf) if final else None
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0") or 0)
    if int(m.group(1)) == 100:  # 100 Continue: the real answer follows
        inner = parse_response(rest, final)
        return inner
    if len(rest) < n and not final:
        return None
    return int(m.group(1)), headers, rest[:n]


# ---------------------------------------------------------------- database

def snapshot(user=None):
    tables = CLUSTER.psql("SELECT string_agg(tablename, ' ' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'credsync'").split()
    out = {}
    for t in tables:
        where = ""
        if user is not None:
            has_user = CLUSTER.psql(f"SELECT count(*) FROM information_schema.columns WHERE table_schema = 'credsync' "
                                    f"AND table_name = '{t}' AND column_name = 'user_id'")
            if has_user != "1":
                continue
            where = f"WHERE user_id = '{user}'"
        # Every column but tokens.last_seen (1.4): a token's use records it
        # (at most once a minute), which is no change of anyone's data.
        out[t] = CLUSTER.psql(f"SELECT count(*) || ' ' || md5(coalesce(string_agg((to_jsonb(x) - 'last_seen')::text, '|'"
                              f" ORDER BY (to_jsonb(x) - 'last_seen')::text), '')) "
                              f"FROM credsync.{t} x {where}")
    return out


# ---------------------------------------------------------------- setup

USER_A = "user-a-3f9c2e"
ZA = "vault-a"
OA = "6f1c1a3e-6a43-4a55-9d1e-6cbb2c9b1f00"
A_BLOBS = [b"A-secret-password-1", b"A-secret-password-2", b"A-secret-totp-seed"]


def setup(proxy):
    ta = CLUSTER.psql(f"SELECT credsync.issue_token('{USER_A}')")
    tb = CLUSTER.psql("SELECT credsync.issue_token('user-b')")
    tc = CLUSTER.psql("SELECT credsync.issue_token('user-c')")
    CLUSTER.psql(f"SELECT credsync.revoke_token('{tc}')")
    a = proxy.client(ta)
    r = a.push(ZA, [{"blob": b64(x)} for x in A_BLOBS], op_id=OA)
    assert r.status == 200, r
    ia = r.json["results"][0]["item"]
    r = a.push(ZA, [{"item": ia, "blob": b64(b"A-secret-password-1-v2"), "if_match": 1}])
    assert r.status == 200, r
    ga = r.json["gencount"]
    assert a.push("other-a", [{"blob": b64(b"A-secret-other-zone")}]).status == 200
    b = proxy.client(tb)
    assert b.push("zb-own", [{"blob": b64(b"B-own-record")}]).status == 200
    subs = {"TA": ta, "TB": tb, "TC": tc, "ZA": ZA, "IA": ia, "IA_UPPER": ia.upper(), "GA": str(ga), "OA": OA}
    secrets = [ta, tc, USER_A] + [b64(x) for x in A_BLOBS] + [x.decode() for x in A_BLOBS] + \
              [b64(b"A-secret-password-1-v2"), b64(b"A-secret-other-zone"), "other-a"]
    return subs, secrets, ta, tb


def expand(req, subs):
    req = re.sub(r"@@REPEAT:(\d+):(.*?)@@", lambda m: m.group(2) * int(m.group(1)), req, flags=re.S)
    for k, v in subs.items():
        req = req.replace(f"@@{k}@@", v)
    head, sep, body = req.partition("\r\n\r\n")
    return (head.replace("@@LEN@@", str(len(body.encode("latin-1")))) + sep + body).encode("latin-1")


def judge(e, result, secrets):
    """Returns a list of problems with one answer."""
    status, headers, body, raw = result
    problems = []
    if status is None:
        if "noreply" not in e["expect"]:
            problems.append("no answer")
        return problems
    if status not in e["expect"]:
        problems.append(f"status {status}, expected {e['expect']}: {body[:200]!r}")
    text = raw.decode("latin-1")
    if LEAK.search(text):
        problems.append(f"leaks server internals: {LEAK.search(text).group(0)!r} in {body[:300]!r}")
    for s in secrets:
        if s in text:
            problems.append(f"answer carries another user's data ({s[:12]}...)")
    if 400 <= status <= 499:
        try:
            j = json.loads(body)
            err = j["error"]
            if not (isinstance(err["code"], str) and isinstance(err["message"], str)):
                problems.append("error code/message not strings")
            elif err["code"] != CODES.get(status, "bad_request"):
                problems.append(f"code {err['code']} for status {status}")
        except (ValueError, KeyError, TypeError):
            problems.append(f"not a JSON error body: {body[:200]!r}")
            return problems
        if status == 401 and "bearer" not in headers.get("www-authenticate", "").lower():
            problems.append("401 without WWW-Authenticate: Bearer")
        extra = e.get("extra", {})
        if "conflict_gencount" in extra and status == 409:
            cs = err.get("conflicts", [])
            if not cs or any(c.get("gencount") != extra["conflict_gencount"] or c.get("deleted") for c in cs):
                problems.append(f"409 describes another user's item: {cs}")
        if "cursor_gencount" in extra and status == 410:
            if err.get("gencount") != extra["cursor_gencount"] or err.get("reason") != "ahead":
                problems.append(f"410 describes another user's zone: {err}")
    elif status >= 500:
        problems.append(f"server error {status}")
    return problems


def rss_kb(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return -1


def main():
    entries = [json.loads(line) for line in open(CORPUS) if line.strip()]
    proxy = Proxy(CLUSTER, os.path.join(WORK, "proxy-hostile.log"), FLAGS).start()
    try:
        subs, secrets, ta, tb = setup(proxy)
        health = proxy.client()
        before = snapshot()
        rss0 = rss_kb(proxy.proc.pid)
        by_cat, bad = {}, {}
        t0 = time.time()
        healthy_batches = 0
        for start in range(0, len(entries), BATCH):
            batch = entries[start:start + BATCH]
            with concurrent.futures.ThreadPoolExecutor(WORKERS) as ex:
                results = list(ex.map(lambda e: exchange(proxy.port, expand(e["req"], subs)), batch))
            for e, res in zip(batch, results):
                by_cat[e["cat"]] = by_cat.get(e["cat"], 0) + 1
                problems = judge(e, res, secrets)
                if problems:
                    bad.setdefault(e["cat"], []).append((e, problems))
            alive = proxy.proc.poll() is None
            h = health.get("/healthz") if alive else None
            if alive and h.status == 200:
                healthy_batches += 1
            else:
                check(f"proxy up after batch {start // BATCH + 1}", False,
                      "proxy exited" if not alive else f"healthz {h.status}")
                if not alive:
                    proxy.start()
        secs = time.time() - t0
        for cat in by_cat:
            fails = bad.get(cat, [])
            for e, problems in fails:
                check(f"hostile {e['id']} ({e['note']})", False, "; ".join(problems))
            if not fails:
                check(f"hostile [{cat}]: {by_cat[cat]} requests refused as expected, no leaks", True)
        batches = (len(entries) + BATCH - 1) // BATCH
        check(f"proxy up and /healthz 200 after each of {batches} batches", healthy_batches == batches)
        after = snapshot()
        diff = [t for t in before if before[t] != after.get(t)]
        check(f"nothing stored: all {len(before)} credsync tables identical after {len(entries)} requests", not diff,
              f"changed: {diff}")
        log = proxy.log()
        five = re.findall(r"^\S+ \S+ \S+ \S+ (5\d\d) ", log, re.M)
        check("no 5xx and no internal error in the proxy log", not five and "internal error" not in log,
              f"{len(five)} 5xx")
        print(f"# hostile corpus: {len(entries)} requests in {secs:.1f} s; proxy RSS {rss0} kB before, "
              f"{rss_kb(proxy.proc.pid)} kB after", flush=True)

        # B writes with A's ids, unconditionally: allowed, and it must only touch B.
        a_before = snapshot(USER_A)
        b = proxy.client(tb)
        r = b.request("DELETE", f"/v1/zones/{ZA}/items/{subs['IA']}")
        check("B's unconditional delete of A's item id writes B's own tombstone (gencount 1 in B's zone)",
              r.status == 200 and r.json["gencount"] == 1, r)
        r = b.push(ZA, [{"item": subs["IA"], "blob": b64(b"B-overwrite")}])
        check("B's unconditional overwrite of A's item id is B's own record (gencount 2)",
              r.status == 200 and r.json["gencount"] == 2, r)
        r = b.push(ZA, [{"blob": b64(x)} for x in A_BLOBS], op_id=OA)
        check("B reusing A's op_id with A's request gets B's own result, not a replay of A's",
              r.status == 200 and [x["gencount"] for x in r.json["results"]] == [3, 4, 5], r)
        r = b.pull(ZA, "since=0")
        theirs = [x for x in r.json.get("records", []) if x["blob"] in [b64(y) for y in A_BLOBS[1:]] and x["gencount"] < 3]
        check("B's pull of the zone name A uses shows only B's records", r.status == 200 and not theirs
              and len(r.json["records"]) == 4 and r.json["gencount"] == 5, r)
        check("A's zones, records, ops and tokens unchanged by B's writes", snapshot(USER_A) == a_before)
        r = proxy.client(ta).pull(ZA, "since=0")
        check("A still reads its own records", r.status == 200 and sorted(x["blob"] for x in r.json["records"]) ==
              sorted([b64(b"A-secret-password-1-v2")] + [b64(x) for x in A_BLOBS[1:]]), r)
        check("proxy up at the end", proxy.proc.poll() is None and health.get("/healthz").status == 200)
    finally:
        proxy.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
