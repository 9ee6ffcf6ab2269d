#!/usr/bin/env python3
"""HTTP integration tests of credsync-proxy (issue 3), run by
test/suites/40-http.sh against the real proxy binary and a throwaway cluster.

Prints one "ok - name" / "not ok - name" line per check (test/lib/tap.sh).
Every group runs even when an earlier one failed; an exception inside a
group is reported as a failed check of that group."""
import hashlib
import http.client
import json
import os
import re
import socket
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from client import Client, Cluster, Proxy, b64, free_port, raw_request, ROOT  # noqa: E402

CLUSTER = Cluster(sys.argv[1])
WORK = sys.argv[2]
MAX_BODY = 65536
# 40-http.sh sets these database settings, so that limits come from the database.
MAX_BLOB = 4096          # credsync.max_blob_bytes = '4kB'
MAX_BATCH = 50           # credsync.max_batch_records = 50
FLAGS = ["--open-registration", "--max-body-bytes", str(MAX_BODY), "--threads", "16",
         "--max-waiters", "3", "--pool-size", "6", "--pool-timeout-ms", "1000",
         "--max-page-bytes", "10000"]

failures = 0
secrets = []  # tokens and blobs that must never show up in the proxy's log


def check(name, cond, detail=""):
    global failures
    if cond:
        print(f"ok - {name}", flush=True)
    else:
        failures += 1
        print(f"not ok - {name}" + (f" ({detail})" if detail else ""), flush=True)
    return cond


def is_error(r, status, code):
    return r.status == status and r.code == code and set(r.json["error"]) >= {"code", "message"}


def new_user(proxy):
    r = proxy.client().request("POST", "/v1/register")
    assert r.status == 201, r
    secrets.append(r.json["token"])
    return r.json["user"], proxy.client(r.json["token"])


def admin_token(user):
    tok = CLUSTER.psql(f"SELECT credsync.issue_token('{user}')")
    secrets.append(tok)
    return tok


def expected_digest(records):
    """PROTOCOL.md: sum mod 2^256 of SHA-256(uuid bytes || gencount BE8) over live records."""
    total = 0
    for item, gencount in records:
        h = hashlib.sha256(uuid.UUID(item).bytes + gencount.to_bytes(8, "big")).digest()
        total = (total + int.from_bytes(h, "big")) % (1 << 256)
    return total.to_bytes(32, "big").hex()


def until(fn, timeout, step=0.05):
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() >= deadline:
            return v
        time.sleep(step)


# --------------------------------------------------------------------------

def t_basics(p):
    c = p.client()
    r = c.get("/healthz")
    check("healthz answers 200 while the database is up", r.status == 200, r)
    r = c.get("/metrics")
    check("metrics answers 200 in Prometheus text format",
          r.status == 200 and r.headers.get("content-type", "").startswith("text/plain")
          and b"# TYPE credsync_http_requests_total counter" in r.raw, r)
    r = c.request("POST", "/v1/register")
    check("register answers 201 with a server-chosen uuid user and a token",
          r.status == 201 and re.fullmatch(r"[0-9a-f-]{36}", r.json.get("user", "")) and r.json.get("token"), r)
    r2 = c.request("POST", "/v1/register")
    check("two registrations give two different users", r2.status == 201 and r2.json["user"] != r.json["user"], r2)
    secrets.extend([r.json["token"], r2.json["token"]])


def t_account(p):
    user, c = new_user(p)
    r = c.get("/v1/account")
    j = r.json or {}
    check("account has the contract's shape",
          r.status == 200 and j.get("user") == user and set(j.get("usage", {})) == {"bytes", "items"}
          and set(j.get("quota", {})) == {"max_bytes", "max_items"}
          and set(j.get("limits", {})) == {"max_blob_bytes", "max_batch_records", "max_body_bytes", "max_pull_records"}, r)
    lim = j.get("limits", {})
    check("account limits come from the database settings and the flags",
          lim == {"max_blob_bytes": MAX_BLOB, "max_batch_records": MAX_BATCH,
                  "max_body_bytes": MAX_BODY, "max_pull_records": 10000}, lim)
    c.push("acct", [{"blob": b64(b"x" * 100)}, {"blob": b64(b"y" * 20)}])
    r = c.get("/v1/account")
    check("account usage counts the user's live records", r.json["usage"] == {"bytes": 120, "items": 2}, r)


def t_push_pull(p):
    user, c = new_user(p)
    blobs = [os.urandom(300), b"\x00\x01\x02\xff" * 10, b""]
    r = c.push("main", [{"blob": b64(b)} for b in blobs])
    ok = r.status == 200 and r.json["gencount"] == 3 and [x["gencount"] for x in r.json["results"]] == [1, 2, 3]
    check("push of 3 records answers gencounts 1..3 and the highest", ok, r)
    items = [x["item"] for x in r.json["results"]]
    check("push makes new uuids for records without item",
          all(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", i) for i in items), items)
    r = c.pull("main", "since=0")
    got = [(x["item"], x["gencount"], x["deleted"], x["blob"]) for x in r.json["records"]]
    check("pull returns the records with their blobs byte for byte",
          got == [(items[i], i + 1, False, b64(blobs[i])) for i in range(3)], r)
    check("pull of everything: more false, next_since = last, gencount = zone's",
          r.json["more"] is False and r.json["next_since"] == 3 and r.json["gencount"] == 3, r)
    r = c.get("/v1/zones/main")
    j = r.json
    check("zone state has the contract's shape",
          r.status == 200 and j["zone"] == "main" and j["gencount"] == 3 and j["items"] == 3
          and j["bytes"] == sum(map(len, blobs)) and j["horizon"] == 0 and re.fullmatch("[0-9a-f]{64}", j["digest"]), r)
    check("zone digest matches the client-side formula",
          j["digest"] == expected_digest([(items[i], i + 1) for i in range(3)]), j)
    r = c.get("/v1/zones/never-pushed")
    check("an unknown zone reads as zeros",
          r.status == 200 and r.json["gencount"] == 0 and r.json["digest"] == "0" * 64 and r.json["items"] == 0, r)
    # Update an item, delete another.
    new = os.urandom(10)
    r = c.push("main", [{"item": items[0], "blob": b64(new)}, {"item": items[1], "blob": None}])
    check("update and delete in one push take gencounts 4, 5",
          r.status == 200 and [x["gencount"] for x in r.json["results"]] == [4, 5]
          and [x["item"] for x in r.json["results"]] == items[:2], r)
    r = c.pull("main", "since=3")
    recs = r.json["records"]
    check("pull since>0 includes the tombstone (deleted, blob null)",
          [(x["item"], x["gencount"], x["deleted"], x["blob"]) for x in recs]
          == [(items[0], 4, False, b64(new)), (items[1], 5, True, None)], r)
    r = c.pull("main", "since=0")
    check("pull since=0 leaves tombstones out",
          sorted(x["gencount"] for x in r.json["records"]) == [3, 4] and not any(x["deleted"] for x in r.json["records"]), r)
    r = c.request("DELETE", f"/v1/zones/main/items/{items[2]}")
    check("DELETE answers item and the tombstone's gencount",
          r.status == 200 and r.json == {"item": items[2], "gencount": 6}, r)
    r = c.request("DELETE", f"/v1/zones/main/items/{items[2].upper()}?if_match=6&op_id={uuid.uuid4()}")
    check("DELETE with if_match and op_id (upper-case uuid accepted)",
          r.status == 200 and r.json == {"item": items[2], "gencount": 7}, r)
    r = c.push("main", [])
    check("an empty push answers the zone's current gencount", r.status == 200 and r.json == {"gencount": 7, "results": []}, r)
    r = c.push("empty-zone", [])
    check("an empty push to a new zone answers 0 and creates no zone",
          r.json == {"gencount": 0, "results": []} and "empty-zone" not in [z["zone"] for z in c.get("/v1/zones").json["zones"]], r)
    r = c.get("/v1/zones")
    st = c.get("/v1/zones/main").json
    check("zones lists the user's zones with counters, digest and horizon (as GET /v1/zones/{zone}; extension 1.5)",
          r.status == 200 and {"zone": "main", "gencount": 7, "digest": st["digest"], "items": 1, "bytes": 10,
                               "horizon": 0} in r.json["zones"]
          and st["digest"] == expected_digest([(items[0], 4)]), r)
    # A zone with a horizon: pushed (1), deleted (2: the horizon), pushed again (3).
    c.push("main-2", [{"blob": b64(b"x")}])
    c.request("DELETE", "/v1/zones/main-2")
    new_item = c.push("main-2", [{"blob": b64(b"y")}]).json["results"][0]["item"]
    zl = {z["zone"]: z for z in c.get("/v1/zones").json["zones"]}
    st2 = c.get("/v1/zones/main-2").json
    check("every listed zone carries its own digest (64 lower-case hex) and horizon",
          all(re.fullmatch("[0-9a-f]{64}", z["digest"]) for z in zl.values())
          and zl["main-2"]["digest"] == st2["digest"] == expected_digest([(new_item, 3)])
          and zl["main-2"]["horizon"] == st2["horizon"] == 2 and zl["main"]["digest"] == st["digest"], zl)
    secrets.append(b64(blobs[0]))


def t_paging(p):
    user, c = new_user(p)
    c.push("pages", [{"blob": b64(bytes([i]) * 8)} for i in range(5)])
    r = c.pull("pages", "since=0&limit=2")
    check("a page of 2 of 5: more true, next_since 2", r.json["more"] is True and r.json["next_since"] == 2
          and len(r.json["records"]) == 2 and r.json["gencount"] == 5, r)
    r = c.pull("pages", "since=2&limit=3")
    check("a full last page: more false (nothing beyond it)", r.json["more"] is False and r.json["next_since"] == 5
          and len(r.json["records"]) == 3, r)
    r = c.pull("pages", "since=5&limit=3")
    check("nothing newer: empty, more false, next_since = since", r.json == {"records": [], "more": False,
          "next_since": 5, "gencount": 5}, r)
    items = [x["item"] for x in c.pull("pages", "since=0").json["records"]]
    c.push("pages", [{"item": items[4], "blob": None}])  # only a tombstone beyond gencount 5
    r = c.pull("pages", "since=0&limit=4")
    check("more counts a tombstone beyond the page", r.json["more"] is True and len(r.json["records"]) == 4, r)
    # Record 5 was replaced by its tombstone, gencount 6.
    r = c.pull("pages", "since=3&limit=1&full=true")
    check("full=true page after 3 returns record 4", [(x["gencount"], x["deleted"]) for x in r.json["records"]]
          == [(4, False)] and r.json["more"] is True, r)
    r = c.pull("pages", "since=4&limit=1&full=1")
    check("full=1 page returns the tombstone", [(x["gencount"], x["deleted"]) for x in r.json["records"]]
          == [(6, True)] and r.json["more"] is False, r)


def t_page_bytes(p):
    user, c = new_user(p)
    c.push("big", [{"blob": b64(bytes([i]) * 3000)} for i in range(5)])
    r = c.pull("big", "since=0&limit=10")
    check("a page stops early at --max-page-bytes with more true",
          r.status == 200 and len(r.json["records"]) == 3 and r.json["more"] is True and r.json["next_since"] == 3, r)
    r = c.pull("big", "since=3&limit=10")
    check("the next page carries the rest", [x["gencount"] for x in r.json["records"]] == [4, 5]
          and r.json["more"] is False, r)


def t_conflicts_and_ops(p):
    user, c = new_user(p)
    r = c.push("z", [{"blob": b64(b"one")}])
    item = r.json["results"][0]["item"]
    absent = str(uuid.uuid4())
    r = c.push("z", [{"item": item, "blob": b64(b"two"), "if_match": 1}])
    check("if_match equal to the current gencount succeeds", r.status == 200 and r.json["gencount"] == 2, r)
    r = c.push("z", [{"item": item, "blob": b64(b"three"), "if_match": 1},
                     {"item": absent, "blob": b64(b"x"), "if_match": 5}])
    conflicts = (r.json or {}).get("error", {}).get("conflicts")
    check("a failed if_match is 409 conflict with the server's versions",
          is_error(r, 409, "conflict") and sorted(conflicts, key=lambda x: x["gencount"]) ==
          [{"item": absent, "gencount": 0, "deleted": False}, {"item": item, "gencount": 2, "deleted": False}], r)
    check("a rejected push writes nothing", c.get("/v1/zones/z").json["gencount"] == 2)
    r = c.push("z", [{"item": item, "blob": b64(b"x"), "if_match": 0}])
    check("if_match 0 on an existing item is a conflict", is_error(r, 409, "conflict"), r)
    op = str(uuid.uuid4())
    r1 = c.push("z", [{"blob": b64(b"op")}], op_id=op)
    r2 = c.push("z", [{"blob": b64(b"op")}], op_id=op)
    check("a replayed op_id answers the original result and writes nothing",
          r1.status == 200 and r2.status == 200 and r1.json == r2.json and c.get("/v1/zones/z").json["gencount"] == 3,
          (r1, r2))
    r = c.push("z", [{"blob": b64(b"different")}], op_id=op)
    check("an op_id reused for a different request is 422 op_reused", is_error(r, 422, "op_reused"), r)
    r = c.pull("z", "since=99")
    e = (r.json or {}).get("error", {})
    check("since beyond the zone's gencount is 410 cursor_invalid, reason ahead",
          is_error(r, 410, "cursor_invalid") and e.get("reason") == "ahead" and e.get("gencount") == 3
          and e.get("horizon") == 0, r)
    # Expired: compact away a tombstone, then pull from below the horizon.
    c.push("old", [{"blob": b64(b"a")}, {"blob": b64(b"b")}])
    it = c.pull("old").json["records"][0]["item"]
    c.request("DELETE", f"/v1/zones/old/items/{it}")
    CLUSTER.psql("SELECT credsync.compact('0 seconds')")
    r = c.pull("old", "since=1")
    e = (r.json or {}).get("error", {})
    check("since below the horizon is 410 cursor_invalid, reason expired",
          is_error(r, 410, "cursor_invalid") and e.get("reason") == "expired" and e.get("horizon") == 3, r)
    r = c.pull("old", "since=1&full=true")
    check("a full-sync page below the horizon is not expired", r.status == 200, r)
    t_next_since_after_compaction(c)


def t_next_since_after_compaction(c):
    """PROTOCOL.md: when more is false, next_since is the zone's gencount from
    the page's snapshot. A zone whose newest changes are deletes, compacted:
    a client that follows next_since from a full sync must never be sent to
    "expired" (the last record it received lies below the horizon)."""
    r = c.push("tail", [{"blob": b64(b"keep")}, {"blob": b64(b"gone1")}, {"blob": b64(b"gone2")}])
    items = [x["item"] for x in r.json["results"]]
    c.push("tail", [{"item": items[1], "blob": None}, {"item": items[2], "blob": None}])  # gencounts 4, 5
    CLUSTER.psql("SELECT credsync.compact('0')")
    check("next_since setup: the tombstones were compacted (horizon 5)",
          c.get("/v1/zones/tail").json.get("horizon") == 5, c.get("/v1/zones/tail"))
    for limit in (1000, 1):
        # A full sync: since=0, then full=true pages while more is true.
        r = c.pull("tail", f"since=0&limit={limit}")
        pages = [r]
        while r.status == 200 and r.json["more"] and len(pages) < 10:
            r = c.pull("tail", f"since={r.json['next_since']}&limit={limit}&full=true")
            pages.append(r)
        last = pages[-1]
        check(f"full sync (limit {limit}) of a zone whose newest changes were compacted deletes:"
              " the last page's next_since is the zone's gencount",
              all(p.status == 200 for p in pages) and last.json["more"] is False
              and last.json["next_since"] == last.json["gencount"] == 5, pages)
        # Then incremental pulls from next_since, as a client does forever after.
        since, answers = last.json["next_since"] if last.status == 200 else 0, []
        for _ in range(3):
            r = c.pull("tail", f"since={since}")
            answers.append(r)
            if r.status != 200:
                break
            since = r.json["next_since"]
        check(f"following next_since after that full sync (limit {limit}) is never 410 expired",
              all(a.status == 200 for a in answers), answers)
    # A page with more records beyond it still points at its own last record.
    r = c.push("tail2", [{"blob": b64(b"a")}, {"blob": b64(b"b")}, {"blob": b64(b"c")}])
    r = c.pull("tail2", "since=0&limit=2")
    check("while more is true, next_since is the last returned record's gencount",
          r.json["more"] is True and r.json["next_since"] == r.json["records"][-1]["gencount"] == 2, r)


def t_limits(p):
    user, c = new_user(p)
    r = c.push("lim", [{"blob": b64(b"x" * (MAX_BLOB + 1))}])
    check("a blob over credsync.max_blob_bytes is 413 too_large", is_error(r, 413, "too_large"), r)
    r = c.push("lim", [{"blob": b64(b"x")} for _ in range(MAX_BATCH + 1)])
    check("a batch over credsync.max_batch_records is 413 too_large", is_error(r, 413, "too_large"), r)
    r = c.push("lim", [{"blob": b64(b"x" * 4000)} for _ in range(20)])
    check("a body over --max-body-bytes is 413 too_large", is_error(r, 413, "too_large"), r)
    check("nothing was written by refused pushes", c.get("/v1/zones/lim").json["gencount"] == 0)
    CLUSTER.psql(f"SELECT credsync.set_quota('{user}', 100, 3)")
    r = c.push("lim", [{"blob": b64(b"x" * 60)}, {"blob": b64(b"x" * 60)}])
    check("a push over the user's byte quota is 507 quota_exceeded", is_error(r, 507, "quota_exceeded"), r)
    r = c.push("lim", [{"blob": b64(b"x")} for _ in range(4)])
    check("a push over the user's item quota is 507 quota_exceeded", is_error(r, 507, "quota_exceeded"), r)


def t_auth(p):
    c = p.client()
    r = c.get("/v1/account")
    check("no token: 401 unauthorized with WWW-Authenticate: Bearer",
          is_error(r, 401, "unauthorized") and r.headers.get("www-authenticate", "").startswith("Bearer"), r)
    for name, hdr in [("unknown token", "Bearer cs_0000"), ("basic scheme", "Basic dXNlcjpwYXNz"),
                      ("empty bearer", "Bearer "), ("token with a space", "Bearer a b")]:
        r = c.get("/v1/zones", headers={"Authorization": hdr})
        check(f"{name}: 401", is_error(r, 401, "unauthorized"), r)
    for path, method in [("/v1/zones/z/push", "POST"), ("/v1/zones/z/pull", "GET"), ("/v1/zones/z", "GET"),
                         (f"/v1/zones/z/items/{uuid.uuid4()}", "DELETE"), ("/v1/zones", "GET")]:
        r = c.request(method, path, body={"records": []} if method == "POST" else None)
        check(f"{method} {path.split('/')[-1] or path} without a token: 401", r.status == 401, r)
    user = f"revoke-{uuid.uuid4()}"
    tok = admin_token(user)
    ca = p.client(tok)
    check("an issued token works", ca.get("/v1/account").status == 200)
    check("lower-case 'bearer' scheme is accepted",
          c.get("/v1/account", headers={"Authorization": "bearer " + tok}).status == 200)
    CLUSTER.psql(f"SELECT credsync.revoke_token('{tok}')")
    t0 = time.time()
    gone = until(lambda: ca.get("/v1/account").status == 401, 3, 0.05)
    took = time.time() - t0
    check("a revoked token stops working within 2 s", gone and took <= 2.0, f"took {took:.2f}s")

    # While the listener hears revocations (NOTIFY credsync_tokens), a token's
    # answer is kept beyond --token-cache-ms: no second lookup 1.5 s later...
    def lookups():
        m = re.search(rb"credsync_token_lookups_total (\d+)", p.client().get("/metrics").raw)
        return int(m.group(1)) if m else -1
    tok2 = admin_token(f"cached-{uuid.uuid4()}")
    c2 = p.client(tok2)
    first = c2.get("/v1/account").status
    before = lookups()
    time.sleep(1.5)
    again = c2.get("/v1/account").status
    check("a token's answer is reused beyond --token-cache-ms while revocations are heard",
          first == 200 and again == 200 and lookups() == before, f"lookups {before} -> {lookups()}")
    # ...and its revocation still takes effect at once.
    CLUSTER.psql(f"SELECT credsync.revoke_token('{tok2}')")
    t0 = time.time()
    gone = until(lambda: c2.get("/v1/account").status == 401, 3, 0.02)
    took = time.time() - t0
    check("a cached token's revocation is heard: it stops working within 1 s", gone and took <= 1.0,
          f"took {took:.2f}s")
    # When the listening connection is lost, cached answers are dropped: a
    # revocation the proxy cannot hear still takes effect within 2 s.
    tok3 = admin_token(f"unheard-{uuid.uuid4()}")
    c3 = p.client(tok3)
    c3.get("/v1/account")
    CLUSTER.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                 " WHERE application_name = 'credsync-proxy-listener'")
    CLUSTER.psql(f"SELECT credsync.revoke_token('{tok3}')")
    t0 = time.time()
    gone = until(lambda: c3.get("/v1/account").status == 401, 3, 0.05)
    took = time.time() - t0
    check("with the listener's connection killed, a revoked cached token stops working within 2 s",
          gone and took <= 2.0, f"took {took:.2f}s")
    until(lambda: b"credsync_longpoll_listener_up 1" in p.client().get("/metrics").raw, 10, 0.2)


def t_isolation(p):
    ua, a = new_user(p)
    ub, b = new_user(p)
    r = a.push("shared", [{"blob": b64(b"A-secret")}, {"blob": b64(b"A-two")}])
    items = [x["item"] for x in r.json["results"]]
    op = str(uuid.uuid4())
    a.push("shared", [{"blob": b64(b"A-op")}], op_id=op)
    r = b.pull("shared", "since=0")
    check("B pulling A's zone name sees an empty zone of its own",
          r.status == 200 and r.json["records"] == [] and r.json["gencount"] == 0, r)
    r = b.get("/v1/zones/shared")
    check("B's zone state of the same name is zeros", r.json["gencount"] == 0 and r.json["items"] == 0, r)
    check("B's zone list does not show A's zones", b.get("/v1/zones").json["zones"] == [])
    r = b.push("shared", [{"item": items[0], "blob": b64(b"B"), "if_match": 1}])
    check("B's if_match on A's item reports it absent (no leak of A's version)",
          is_error(r, 409, "conflict") and r.json["error"]["conflicts"] == [{"item": items[0], "gencount": 0, "deleted": False}], r)
    r = b.request("DELETE", f"/v1/zones/shared/items/{items[0]}")
    check("B deleting A's item id only writes B's own tombstone",
          r.status == 200 and r.json["gencount"] == 1 and a.pull("shared").json["records"][0]["item"] == items[0], r)
    r = b.push("shared", [{"blob": b64(b"B-op")}], op_id=op)
    check("B reusing A's op_id is independent (no 422, no replay of A's answer)",
          r.status == 200 and r.json["gencount"] == 2, r)
    r = a.pull("shared", "since=0")
    check("A's zone is untouched by B", [x["gencount"] for x in r.json["records"]] == [1, 2, 3], r)
    check("B's account does not count A's data", b.get("/v1/account").json["usage"]["items"] == 1)
    r = b.get(f"/v1/zones/shared/pull?since=0&user={ua}")
    check("a user parameter in the query is refused (400 naming it), nothing of A's in the answer",
          is_error(r, 400, "bad_request") and "'user'" in r.json["error"]["message"] and ua.encode() not in r.raw, r)
    r = b.get("/v1/account", headers={"X-User": ua, "REMOTE_ADDR": "10.9.9.9"})
    check("headers cannot name another user", r.json["user"] == ub, r)


def t_bad_input(p):
    user, c = new_user(p)
    item = str(uuid.uuid4())
    bodies = [
        ("malformed JSON", b'{"records": ['),
        ("JSON that is not an object", b'[1,2]'),
        ("records missing", b'{}'),
        ("records not an array", b'{"records": {}}'),
        ("a record not an object", b'{"records": [1]}'),
        ("unknown top-level field", b'{"records": [], "recs": []}'),
        ("unknown record field", b'{"records": [{"blob": null, "item": "%s", "ifmatch": 1}]}' % item.encode()),
        ("blob missing", b'{"records": [{"item": "%s"}]}' % item.encode()),
        ("blob not a string", b'{"records": [{"blob": 12}]}'),
        ("base64 with a bad character", b'{"records": [{"blob": "QQ=*"}]}'),
        ("base64 without padding", b'{"records": [{"blob": "QQ"}]}'),
        ("base64 with whitespace", b'{"records": [{"blob": "QU JD"}]}'),
        ("base64url alphabet", b'{"records": [{"blob": "-_-_"}]}'),
        ("non-canonical base64 (stray bits)", b'{"records": [{"blob": "QR=="}]}'),
        ("padding in the middle", b'{"records": [{"blob": "QQ==QQ=="}]}'),
        ("bad item uuid", b'{"records": [{"item": "not-a-uuid", "blob": "QQ=="}]}'),
        ("item uuid without dashes", b'{"records": [{"item": "%s", "blob": "QQ=="}]}' % item.replace("-", "").encode()),
        ("item not a string", b'{"records": [{"item": 5, "blob": "QQ=="}]}'),
        ("bad op_id", b'{"op_id": "x", "records": []}'),
        ("negative if_match", b'{"records": [{"blob": "QQ==", "if_match": -1}]}'),
        ("fractional if_match", b'{"records": [{"blob": "QQ==", "if_match": 1.5}]}'),
        ("string if_match", b'{"records": [{"blob": "QQ==", "if_match": "1"}]}'),
        ("huge if_match", b'{"records": [{"blob": "QQ==", "if_match": 99999999999999999999}]}'),
        ("delete without an item", b'{"records": [{"blob": null}]}'),
        ("the same item twice in one push", b'{"records": [{"item": "%s", "blob": "QQ=="}, {"item": "%s", "blob": "Qg=="}]}'
         % (item.encode(), item.encode())),
        ("invalid UTF-8 in JSON", b'{"records": [{"blob": "\xff\xfe"}]}'),
        ("empty body", b''),
    ]
    for name, body in bodies:
        r = c.request("POST", "/v1/zones/bad/push", body=body, headers={"Content-Type": "application/json"})
        check(f"push with {name}: 400 bad_request", is_error(r, 400, "bad_request"), r)
    r = c.request("POST", "/v1/zones/bad/push", body=b'{"records": []}', headers={"Content-Type": "text/plain"})
    check("push with Content-Type text/plain: 400", is_error(r, 400, "bad_request"), r)
    r = c.request("POST", "/v1/zones/bad/push", body=b'{"records": []}',
                  headers={"Content-Type": "application/json; charset=utf-8"})
    check("push with application/json; charset=utf-8 is accepted", r.status == 200, r)
    check("nothing was written by bad pushes", c.get("/v1/zones/bad").json["gencount"] == 0)
    for name, zone in [("too long", "z" * 65), ("a space", "a%20b"), ("a slash", "a%2Fb"), ("unicode", "%C3%A9"),
                       ("a quote", "a%22b"), ("percent-encoded NUL", "a%00b")]:
        r = c.get(f"/v1/zones/{zone}")
        check(f"zone with {name}: 400 (or 404 when it splits the path)",
              is_error(r, 400, "bad_request") or is_error(r, 404, "not_found"), r)
        r = c.push(zone, [{"blob": "QQ=="}])
        check(f"push to a zone with {name}: 400/404", r.status in (400, 404) and r.code in ("bad_request", "not_found"), r)
    r = c.get("/v1/zones/" + "z" * 64)
    check("a 64-character zone is fine", r.status == 200, r)
    for q in ["since=-1", "since=abc", "since=1.5", "since=", "since=%2B1", "since=99999999999999999999",
              "limit=0", "limit=10001", "limit=x", "wait=61", "wait=-1", "wait=0.5", "full=yes", "full=TRUE",
              "since=1&since=2"]:
        r = c.pull("bad", q)
        check(f"pull with {q}: 400 bad_request", is_error(r, 400, "bad_request"), r)
    r = c.pull("bad", "since=0&limit=10000&wait=0&full=false")
    check("pull with every parameter at its bound is fine", r.status == 200, r)
    for name, path in [("bad item uuid", "/v1/zones/bad/items/nope"),
                       ("bad if_match", f"/v1/zones/bad/items/{item}?if_match=-2"),
                       ("bad op_id", f"/v1/zones/bad/items/{item}?op_id=zzz")]:
        r = c.request("DELETE", path)
        check(f"DELETE with {name}: 400", is_error(r, 400, "bad_request"), r)
    for name, path, method in [("unknown route", "/v1/nothing", "GET"), ("root", "/", "GET"),
                               ("trailing slash", "/v1/account/", "GET"), ("unknown version", "/v2/account", "GET"),
                               ("item route without item", "/v1/zones/z/items", "DELETE"),
                               ("extra segment", "/v1/zones/z/pull/x", "GET")]:
        r = c.request(method, path)
        check(f"{name}: 404 not_found", is_error(r, 404, "not_found"), r)
    for path, method, allow in [("/v1/account", "POST", "GET, DELETE"), ("/v1/zones/z/push", "GET", "POST"),
                                ("/v1/zones/z/pull", "POST", "GET"), ("/v1/zones/z", "POST", "GET, DELETE"),
                                ("/v1/devices", "POST", "GET"), (f"/v1/devices/{item}", "GET", "DELETE"),
                                ("/v1/account/login", "GET", "PUT"), ("/v1/login", "GET", "POST"),
                                ("/v1/login/challenge", "DELETE", "POST"),
                                (f"/v1/zones/z/items/{item}", "GET", "DELETE"), ("/healthz", "PUT", "GET"),
                                ("/v1/register", "GET", "POST")]:
        r = c.request(method, path, body=b"" if method in ("POST", "PUT") else None)
        check(f"{method} {path}: 405 method_not_allowed with Allow: {allow}",
              is_error(r, 405, "method_not_allowed") and r.headers.get("allow") == allow, r)


def t_framing(p):
    user, c = new_user(p)
    tok = c.token.encode()
    head = b"POST /v1/zones/frame/push HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok + b"\r\n"
    smuggled = b"DELETE /v1/zones/frame/items/" + str(uuid.uuid4()).encode() + \
        b" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok + b"\r\n\r\n"
    chunk = b"%x\r\n" % len(smuggled) + smuggled + b"\r\n0\r\n\r\n"
    out, closed = raw_request(p.port, head + b"Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n" + chunk)
    check("a chunked body is 411 length_required, and the connection is closed",
          out.startswith(b"HTTP/1.1 411") and b'"length_required"' in out and closed, out[:200])
    check("nothing hidden in the chunked body was executed",
          out.count(b"HTTP/1.1") == 1 and c.get("/v1/zones/frame").json["gencount"] == 0, out)
    body = b'{"records": [{"blob": "QQ=="}]}'
    out, closed = raw_request(p.port, head + b"Content-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    check("a Content-Encoding body is 415 unsupported_encoding, connection closed",
          out.startswith(b"HTTP/1.1 415") and b'"unsupported_encoding"' in out and closed, out[:200])
    out, closed = raw_request(p.port, head + b"Content-Encoding: identity\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    check("even Content-Encoding: identity is refused (415)", out.startswith(b"HTTP/1.1 415"), out[:200])
    out, closed = raw_request(p.port, head + b"Content-Length: 1000000000\r\n\r\n" + b"x" * 1000)
    check("a Content-Length over the limit is 413 before the body is read, connection closed",
          out.startswith(b"HTTP/1.1 413") and b'"too_large"' in out and closed, out[:200])
    out, closed = raw_request(p.port, head + b"Expect: 100-continue\r\nContent-Length: 1000000000\r\n\r\n")
    check("Expect: 100-continue with an oversized body: 413 without 100 Continue",
          out.startswith(b"HTTP/1.1 413") and b"100 Continue" not in out and closed, out[:200])
    out, closed = raw_request(p.port, head + b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body), 1.0)
    check("Expect: 100-continue with a good request gets 100 Continue", out.startswith(b"HTTP/1.1 100"), out[:200])
    out, closed = raw_request(p.port, head.replace(tok, b"wrong") + b"Expect: 100-continue\r\nContent-Length: 10\r\n\r\n")
    check("Expect: 100-continue without a valid token: 401 before the body", out.startswith(b"HTTP/1.1 401"), out[:200])
    out, closed = raw_request(p.port, head + b"\r\n")
    check("a push without Content-Length is 411", out.startswith(b"HTTP/1.1 411"), out[:200])
    out, closed = raw_request(p.port, head + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\n12345")
    check("two Content-Length headers: 400", out.startswith(b"HTTP/1.1 400"), out[:200])
    out, closed = raw_request(p.port, head + b"Content-Length: -1\r\n\r\n")
    check("a negative Content-Length: 400", out.startswith(b"HTTP/1.1 400"), out[:200])
    get = b"GET /v1/zones HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok + b"\r\n"
    out, closed = raw_request(p.port, get + b"Content-Length: %d\r\n\r\n" % len(smuggled) + smuggled)
    check("a body on a GET is answered, then the connection is closed (never parsed as a request)",
          out.count(b"HTTP/1.1 ") == 1 and closed and out.startswith(b"HTTP/1.1 200"), out[:300])
    conn = http.client.HTTPConnection("127.0.0.1", p.port, timeout=5)
    statuses = []
    for _ in range(3):
        conn.request("GET", "/v1/zones", headers={"Authorization": "Bearer " + c.token})
        resp = conn.getresponse()
        resp.read()
        statuses.append(resp.status)
    conn.close()
    check("keep-alive: three requests on one connection get three answers", statuses == [200, 200, 200], statuses)
    out, closed = raw_request(p.port, get + b"Range: bytes=0-3\r\n\r\n", 1.0)
    check("a Range header does not truncate JSON", out.startswith(b"HTTP/1.1 200") and out.rstrip().endswith(b"}"), out)
    out, closed = raw_request(p.port, b"BLAH /\r\n\r\n")
    check("a malformed request line: 400 with a JSON body", out.startswith(b"HTTP/1.1 400") and b'"bad_request"' in out, out)
    out, closed = raw_request(p.port, b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    check("a huge request line is refused (4xx)", out.startswith(b"HTTP/1.1 4"), out[:100])


def t_longpoll(p):
    user, c = new_user(p)
    c.push("lp", [{"blob": b64(b"first")}])
    out = {}

    def waiter(key, query):
        t0 = time.time()
        out[key] = (c.pull("lp", query), time.time() - t0)

    th = threading.Thread(target=waiter, args=("w", "since=1&wait=10"))
    th.start()
    time.sleep(0.7)
    c.push("lp", [{"blob": b64(b"second")}])
    th.join(15)
    r, took = out.get("w", (None, 99))
    check("a long-poll is woken by a push to its zone and returns the new record",
          r is not None and r.status == 200 and [x["gencount"] for x in r.json["records"]] == [2] and took < 5,
          f"{r} after {took:.2f}s")
    t0 = time.time()
    r = c.pull("lp", "since=2&wait=2")
    took = time.time() - t0
    check("a long-poll with nothing new times out after wait seconds, empty",
          r.status == 200 and r.json["records"] == [] and 1.8 <= took < 4, f"{r} after {took:.2f}s")
    t0 = time.time()
    r = c.pull("lp", "since=0&wait=30")
    check("wait with records already there answers at once", r.status == 200 and len(r.json["records"]) == 2
          and time.time() - t0 < 2)
    # Other users' and other zones' pushes do not end the wait with records.
    ub, b = new_user(p)
    th = threading.Thread(target=waiter, args=("iso", "since=2&wait=2"))
    th.start()
    time.sleep(0.3)
    b.push("lp", [{"blob": b64(b"other user")}])
    c.push("lp-other", [{"blob": b64(b"other zone")}])
    th.join(10)
    r, took = out["iso"]
    check("another user's push to the same zone name does not reach the waiter",
          r.status == 200 and r.json["records"] == [] and took >= 1.8, f"{r} {took:.2f}")
    # Bounded waiters: --max-waiters 3.
    threads = [threading.Thread(target=waiter, args=(f"b{i}", "since=2&wait=8")) for i in range(3)]
    for t in threads:
        t.start()
    until(lambda: b"credsync_longpoll_waiters 3" in p.client().get("/metrics").raw, 3)
    t0 = time.time()
    r = c.pull("lp", "since=2&wait=8")
    took = time.time() - t0
    check("above --max-waiters a long-poll is refused at once: 503 unavailable with Retry-After (not an empty 200)",
          is_error(r, 503, "unavailable") and r.headers.get("retry-after") and took < 1.5, f"{r} {took:.2f}s")
    m = p.client().get("/metrics").raw
    check("metrics show the waiters and the rejected long-poll",
          b"credsync_longpoll_waiters 3" in m and b"credsync_longpoll_rejected_total 1" in m, m[-800:])
    c.push("lp", [{"blob": b64(b"third")}])
    for t in threads:
        t.join(10)
    check("one push wakes every waiter of the zone",
          all(out[f"b{i}"][0].status == 200 and len(out[f"b{i}"][0].json["records"]) == 1 and out[f"b{i}"][1] < 6
              for i in range(3)), [out.get(f"b{i}") for i in range(3)])


def t_concurrency(p):
    """Many clients at once through a pool smaller than them: every push is
    answered, and each zone's gencounts come out dense and unique."""
    users = {"A": new_user(p)[1], "B": new_user(p)[1]}
    gens = {"A": [], "B": []}
    errors = []
    lock = threading.Lock()

    def worker(name, n):
        for _ in range(n):
            r = users[name].push("conc", [{"blob": b64(os.urandom(20))}, {"blob": b64(os.urandom(20))}])
            with lock:
                if r.status == 200:
                    gens[name] += [x["gencount"] for x in r.json["results"]]
                else:
                    errors.append(r)

    threads = [threading.Thread(target=worker, args=("AB"[i % 2], 15)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    check("10 concurrent clients through a 6-connection pool: every push succeeds", not errors, errors[:2])
    for name in "AB":
        check(f"concurrent pushes: user {name}'s gencounts are exactly 1..150",
              sorted(gens[name]) == list(range(1, 151)), sorted(gens[name])[:5])


def t_pool_timeout(p):
    # A second proxy with one connection: a push stuck behind a row lock holds
    # it; another request must get 503 after --pool-timeout-ms, not hang.
    user = f"pool-{uuid.uuid4()}"
    tok = admin_token(user)
    q = Proxy(CLUSTER, os.path.join(WORK, "pool.log"), ["--pool-size", "1", "--pool-timeout-ms", "300",
                                                         "--token-cache-ms", "1000"]).start()
    try:
        c = q.client(tok)
        check("single-connection proxy serves", c.get("/v1/account").status == 200)
        holder = CLUSTER.psql_background(
            f"BEGIN; SELECT credsync.sync_push('{user}', 'lock', '\\x00'::bytea); SELECT pg_sleep(3); COMMIT;")
        time.sleep(0.5)
        out = {}
        th = threading.Thread(target=lambda: out.setdefault("push", c.push("lock", [{"blob": "QQ=="}])))
        th.start()
        time.sleep(0.5)
        t0 = time.time()
        r = c.get("/v1/zones")
        took = time.time() - t0
        check("no pool connection in time: 503 unavailable with Retry-After, after the pool timeout",
              is_error(r, 503, "unavailable") and "retry-after" in r.headers and 0.2 <= took < 2, f"{r} {took:.2f}s")
        th.join(10)
        holder.wait(10)
        check("the blocked push completes once the lock is released",
              out.get("push") is not None and out["push"].status == 200 and out["push"].json["gencount"] == 2, out)
        check("metrics count the pool timeout", b"credsync_pool_timeouts 1" in q.client().get("/metrics").raw)
    finally:
        q.stop()


def t_tls(p):
    cert, key = os.path.join(WORK, "cert.pem"), os.path.join(WORK, "key.pem")
    import subprocess
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                        "-keyout", key, "-out", cert], capture_output=True)
    if r.returncode != 0:
        check("openssl can make a test certificate", False, r.stderr[-200:])
        return
    q = Proxy(CLUSTER, os.path.join(WORK, "tls.log"), ["--tls-cert", cert, "--tls-key", key], tls=True).start()
    try:
        r = q.client().get("/healthz")
        check("--tls-cert/--tls-key serve HTTPS", r.status == 200, r)
        out, _ = raw_request(q.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 1.0)
        check("the TLS port does not answer plain HTTP", not out.startswith(b"HTTP/1.1 200"), out[:100])
    finally:
        q.stop()
    bad = Proxy(CLUSTER, os.path.join(WORK, "tls-bad.log"), ["--tls-cert", "/nonexistent", "--tls-key", key])
    try:
        bad.start(timeout=3)
        check("a missing certificate makes the proxy refuse to start", False)
    except RuntimeError:
        check("a missing certificate makes the proxy refuse to start", True)
    finally:
        bad.stop()


def t_closed_registration():
    q = Proxy(CLUSTER, os.path.join(WORK, "closed.log")).start()
    try:
        r = q.client().request("POST", "/v1/register")
        check("without --open-registration, POST /v1/register is 404 not_found", is_error(r, 404, "not_found"), r)
    finally:
        q.stop()


def t_seed_over_restart(p):
    """The seed scenario over HTTP with a proxy restart in the middle."""
    ua, a = new_user(p)
    r = a.push("seed", [{"blob": b64(b"a1")}, {"blob": b64(b"a2")}])
    check("seed: A pushes 2 and gets gencount 2", r.status == 200 and r.json["gencount"] == 2, r)
    code = p.stop()
    check("seed: the proxy exits 0 on SIGTERM", code == 0, code)
    p.start()
    ub, b = new_user(p)
    r = b.push("seed", [{"blob": b64(b"b1")}])
    check("seed: after the restart B pushes 1 and gets gencount 1", r.status == 200 and r.json["gencount"] == 1, r)
    r = a.get("/v1/zones/seed")
    check("seed: A's zone still reads 2", r.status == 200 and r.json["gencount"] == 2, r)
    r = a.push("seed", [{"blob": b64(b"a3")}])
    item = r.json["results"][0]["item"] if r.status == 200 else None
    check("seed: A's next push gets 3", r.status == 200 and r.json["gencount"] == 3, r)
    r = a.pull("seed", "since=2")
    check("seed: A's pull since=2 returns only that record",
          r.status == 200 and [(x["item"], x["gencount"], x["blob"]) for x in r.json["records"]] == [(item, 3, b64(b"a3"))], r)


def t_sigterm_inflight(p):
    user, c = new_user(p)
    out = {}

    def lp():
        t0 = time.time()
        out["r"] = (c.pull("term", "since=0&wait=20"), time.time() - t0)

    th = threading.Thread(target=lp)
    th.start()
    until(lambda: b"credsync_longpoll_waiters 1" in p.client().get("/metrics").raw, 3)
    t0 = time.time()
    code = p.stop()
    th.join(10)
    r, took = out.get("r", (None, 99))
    check("SIGTERM: a waiting long-poll is answered (200, empty) instead of cut off",
          r is not None and r.status == 200 and r.json["records"] == [] and took < 10, f"{r} {took:.2f}")
    check("SIGTERM: the proxy exits 0 promptly", code == 0 and time.time() - t0 < 10, code)
    check("SIGTERM: the log says it stopped", "credsync-proxy stopped" in p.log())
    p.start()


def t_sigterm_idle():
    """Idle keep-alive connections end as soon as the proxy stops, not at
    their keep-alive timeout: each waits in a poll on its socket and the
    server's stop eventfd, which stop() signals (connection.cpp)."""
    q = Proxy(CLUSTER, os.path.join(WORK, "idle.log"), ["--keepalive-timeout", "60"]).start()
    idle = []
    for _ in range(3):
        s = socket.create_connection(("127.0.0.1", q.port), timeout=10)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        s.recv(65536)  # answered; the connection stays open, waiting for a next request
        idle.append(s)
    time.sleep(0.3)
    t0 = time.time()
    code = q.stop(timeout=30)
    took = time.time() - t0
    check("SIGTERM: the proxy exits 0 at once with idle keep-alive connections (--keepalive-timeout 60)",
          code == 0 and took < 3, f"exit {code} after {took:.2f} s")
    ends = []
    for s in idle:
        s.settimeout(2)
        try:
            ends.append(s.recv(1))
        except OSError as e:
            ends.append(type(e).__name__)
        s.close()
    check("SIGTERM: each idle connection was closed", ends == [b""] * 3, ends)


def t_database_restart(p):
    user, c = new_user(p)
    c.push("dbr", [{"blob": b64(b"before")}])
    CLUSTER.stop()
    r = c.push("dbr", [{"blob": b64(b"during")}])
    check("database down: push is 503 unavailable with Retry-After",
          is_error(r, 503, "unavailable") and r.headers.get("retry-after"), r)
    r = c.pull("dbr", "since=0")
    check("database down: pull is 503 unavailable", is_error(r, 503, "unavailable"), r)
    r = p.client().get("/healthz")
    check("database down: /healthz is 503", r.status == 503 and "retry-after" in r.headers, r)
    r = p.client().get("/metrics")
    check("database down: /metrics still answers", r.status == 200 and b"credsync_database_up 0" in r.raw, r)
    check("database down: the proxy keeps running", p.proc.poll() is None)
    CLUSTER.start()
    t0 = time.time()
    back = until(lambda: p.client().get("/healthz").status == 200, 15, 0.2)
    check("database back: /healthz 200 again without restarting the proxy", back, f"{time.time() - t0:.1f}s")
    r = c.push("dbr", [{"blob": b64(b"after")}])
    check("database back: push works and continues the gencount", r.status == 200 and r.json["gencount"] == 2, r)
    up = until(lambda: b"credsync_longpoll_listener_up 1" in p.client().get("/metrics").raw, 10, 0.2)
    check("database back: the LISTEN connection is back", up)
    out = {}
    th = threading.Thread(target=lambda: out.setdefault("r", c.pull("dbr", "since=2&wait=10")))
    th.start()
    time.sleep(0.5)
    t0 = time.time()
    c.push("dbr", [{"blob": b64(b"wake")}])
    th.join(12)
    check("database back: long-polls are woken by pushes again",
          out.get("r") is not None and out["r"].status == 200 and len(out["r"].json["records"]) == 1
          and time.time() - t0 < 5, out)


def t_logs_and_metrics(p):
    log = p.log()
    leaked = [s[:12] for s in secrets if s and len(s) >= 8 and s in log]
    check("the log holds no token and no blob", not leaked, leaked)
    check("the access log has method, route template, status and duration",
          re.search(r"127\.0\.0\.1 POST /v1/zones/\{zone\}/push 200 [0-9.]+ms", log) is not None)
    check("the client address comes from the socket, not a REMOTE_ADDR header", "10.9.9.9" not in log)
    check("the log has one line when ready", "credsync-proxy ready on http://127.0.0.1:" in log)
    m = p.client().get("/metrics").raw.decode()
    check("metrics count requests by route template and status",
          re.search(r'credsync_http_requests_total\{method="POST",route="/v1/zones/\{zone\}/push",status="200"\} \d+', m)
          is not None, m[:500])
    check("metrics have a latency histogram",
          'credsync_http_request_duration_seconds_bucket{route="/v1/zones/{zone}/pull",le="+Inf"}' in m)
    check("metrics have pool gauges", "credsync_pool_in_use" in m and "credsync_pool_size 6" in m)
    uuids = re.findall(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", m)
    check("metrics carry no user ids, zones or items", not uuids and "zones/main" not in m, uuids[:3])


def t_help():
    import subprocess
    r = subprocess.run([os.path.join(ROOT, "proxy", "credsync-proxy"), "--help"], capture_output=True, text=True)
    flags = ["--db", "--listen", "--open-registration", "--pool-size", "--pool-timeout-ms", "--max-body-bytes",
             "--max-waiters", "--threads", "--tls-cert", "--tls-key"]
    check("--help lists every flag", r.returncode == 0 and all(f in r.stdout for f in flags), r.stdout)
    r = subprocess.run([os.path.join(ROOT, "proxy", "credsync-proxy"), "--db", "x", "--bogus"], capture_output=True, text=True)
    check("an unknown flag is an error (exit 2)", r.returncode == 2 and "--bogus" in r.stderr, r.stderr)


def main():
    proxy = Proxy(CLUSTER, os.path.join(WORK, "proxy.log"), FLAGS)
    proxy.start()
    groups = [
        ("basics", lambda: t_basics(proxy)),
        ("account", lambda: t_account(proxy)),
        ("push and pull", lambda: t_push_pull(proxy)),
        ("paging", lambda: t_paging(proxy)),
        ("page bytes", lambda: t_page_bytes(proxy)),
        ("conflicts, op ids, cursors", lambda: t_conflicts_and_ops(proxy)),
        ("limits and quotas", lambda: t_limits(proxy)),
        ("auth", lambda: t_auth(proxy)),
        ("tenant isolation", lambda: t_isolation(proxy)),
        ("bad input", lambda: t_bad_input(proxy)),
        ("body framing", lambda: t_framing(proxy)),
        ("long-poll", lambda: t_longpoll(proxy)),
        ("concurrency", lambda: t_concurrency(proxy)),
        ("pool timeout", lambda: t_pool_timeout(proxy)),
        ("tls", lambda: t_tls(proxy)),
        ("closed registration", t_closed_registration),
        ("seed scenario over a proxy restart", lambda: t_seed_over_restart(proxy)),
        ("SIGTERM with a request in flight", lambda: t_sigterm_inflight(proxy)),
        ("SIGTERM with idle keep-alive connections", t_sigterm_idle),
        ("database restart under the proxy", lambda: t_database_restart(proxy)),
        ("logs and metrics", lambda: t_logs_and_metrics(proxy)),
        ("flags", t_help),
    ]
    only = os.environ.get("HTTP_TESTS")
    try:
        for name, fn in groups:
            if only and name not in only.split(","):
                continue
            try:
                fn()
            except Exception as e:  # a crash in a group is a failure of that group, not the end of the run
                check(f"{name}: ran to the end", False, f"{type(e).__name__}: {e}")
                if proxy.proc.poll() is not None:
                    proxy.start()
    finally:
        proxy.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
