#!/usr/bin/env python3
"""The sync engine through the `credsync` command, on a real proxy and
PostgreSQL (test/suites/71-client-sync.sh): offline work, merges, edit beats
delete, paging, 410 expired, the outbox's op_id after a lost answer, a kill -9
in the middle of a pull, a tampered zone digest, watch mode, two syncs at once.
Prints ok/not ok lines."""
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Device, Stack, Tap, wait_for  # noqa: E402

tap = Tap()
check = tap.check
stack = Stack(sys.argv[1], sys.argv[2], proxy_flags=["--open-registration", "--max-page-bytes", "20000"])
stack.start_proxy()
counter = [0]


def account(n, prefix):
    """n devices of one new account."""
    counter[0] += 1
    user = f"{prefix}-{counter[0]}"
    devs = [Device(stack, f"{user}-d{i}", user) for i in range(n)]
    devs[0].join()
    for d in devs[1:]:
        d.join(devs[0])
    return devs


def synced(*devs):
    for d in devs:
        r = d.sync()
        if r.rc != 0:
            raise RuntimeError(f"sync of {d.name} failed: {r}")
    return True


def t_offline():
    a, b = account(2, "offline")
    stack.stop_proxy()
    try:
        i1 = a.add("Mail", "pw-offline-1", username="me")
        i2 = a.add("Bank", "pw-offline-2")
        r = a.run("edit", i1, "--url", "https://mail.example")
        check("offline: add and edit work without the server", r.rc == 0 and i1 and i2, r)
        a.ok("rm", i2)
        check("offline: list and show work without the server",
              [e["id"] for e in a.json("list")] == [i1] and a.json("show", "Mail")["url"] == "https://mail.example")
        r = a.run("sync")
        check("offline: sync fails with exit status 1 and one line on stderr naming the server",
              r.rc == 1 and r.err.count("\n") == 1 and stack.url in r.err and "Traceback" not in r.err, r)
        st = a.json("status")["zones"]
        check("offline: status --json works, server_gencount null, changes pending, not in sync",
              len(st) == 1 and st[0]["server_gencount"] is None and st[0]["pending"] == 2 and st[0]["in_sync"] is False, st)
    finally:
        stack.start_proxy()
    synced(a, b)
    check("offline: the changes made offline reach the other device at the next sync",
          list(b.state()) == [i1] and b.json("show", i1)["password"] == "pw-offline-1")
    st = a.json("status")["zones"][0]
    check("status: in sync after sync, cursor = server gencount, nothing pending",
          st["in_sync"] and st["cursor"] == st["server_gencount"] and st["pending"] == 0, st)


def t_merge():
    a, b = account(2, "merge")
    i = a.add("Shop", "pw-0", username="u0")
    synced(a, b)
    a.edit(i, password="pw-from-a", username="u-a")
    time.sleep(0.01)
    b.edit(i, password="pw-from-b", url="https://b.example")
    synced(a, b, a)
    ea, eb = a.json("show", i), b.json("show", i)
    check("merge: both devices hold the same entry", ea == eb, (ea, eb))
    check("merge: the later password wins, the losing one and the old one are in the history",
          ea["password"] == "pw-from-b" and [h["password"] for h in ea["history"]] == ["pw-from-a", "pw-0"], ea)
    check("merge: fields changed on one side only are kept from both sides",
          ea["username"] == "u-a" and ea["url"] == "https://b.example", ea)
    r = b.sync()
    check("merge: a sync with nothing new changes nothing", r.rc == 0 and r.json()["pulled"] == 0 and r.json()["pushed"] == 0, r)


def t_edit_beats_delete():
    a, b = account(2, "ebd")
    i = a.add("Router", "admin-1")
    j = a.add("Printer", "pr-1")
    k = a.add("Old", "old-1")
    synced(a, b)
    # 1: the delete reaches the server first, the edit comes later
    a.ok("rm", i)
    synced(a)
    b.edit(i, password="admin-2")
    synced(b, a)
    check("edit beats delete (delete synced first): the entry lives on both devices with the edit",
          a.json("show", i)["password"] == "admin-2" and b.json("show", i)["password"] == "admin-2")
    # 2: the edit reaches the server first, the delete comes later
    b.edit(j, password="pr-2")
    synced(b)
    a.ok("rm", j)
    synced(a, b)
    check("edit beats delete (edit synced first): the delete gives way",
          a.json("show", j)["password"] == "pr-2" and b.json("show", j)["password"] == "pr-2")
    # 3: a delete without a concurrent edit wins
    a.ok("rm", k)
    synced(a, b)
    check("a delete with no concurrent edit removes the entry everywhere",
          k not in a.state() and k not in b.state() and k not in stack.live_items(a.user).get("default", {}))


def t_paging():
    a, b = account(2, "paging")
    ids = [a.add(f"entry {n:04d}", f"pw-{n}", notes="x" * 200) for n in range(300)]
    synced(a)
    r = b.sync()
    check("paging: a new device pulls 300 entries over pages of ~20 kB (full=true continuation)",
          r.rc == 0 and sorted(e["id"] for e in b.json("list")) == sorted(ids), r)
    # Deletes and edits while another device is behind: incremental paging.
    for n in range(0, 300, 3):
        a.ok("rm", ids[n])
    for n in range(1, 300, 3):
        a.edit(ids[n], password=f"pw-{n}-v2")
    synced(a)
    r = b.sync()
    st = b.state()
    check("paging: an incremental pull over many pages applies every delete and edit",
          r.rc == 0 and len(st) == 200 and st[ids[1]]["password"] == "pw-1-v2" and ids[0] not in st, r)


def t_expired():
    a, c = account(2, "expired")
    ids = [a.add(f"e{n}", f"pw-{n}") for n in range(6)]
    synced(a, c)
    c.edit(ids[0], password="c-offline-edit")   # concurrent with a's delete below
    c.edit(ids[1], notes="c was here")           # an entry nobody deletes
    c.add("made by c offline", "c-new")
    a.ok("rm", ids[0])
    a.ok("rm", ids[2])
    synced(a)
    stack.psql("SELECT credsync.compact('0 seconds')")
    r = c.sync()
    check("410 expired: the sync after compaction succeeds, with a warning about the full resync",
          r.rc == 0 and "full resync" in r.err, r)
    st = c.state()
    check("410 expired: deletes made meanwhile apply (their tombstones were compacted)", ids[2] not in st, list(st))
    check("410 expired: unsynced local edits are kept (and one beats a concurrent delete)",
          st.get(ids[0], {}).get("password") == "c-offline-edit" and st.get(ids[1], {}).get("notes") == "c was here"
          and any(e["title"] == "made by c offline" for e in st.values()), st)
    synced(a)
    check("410 expired: both devices converge", a.state() == c.state())


def t_outbox():
    a, b = account(2, "outbox")
    synced(a, b)
    for n in range(5):
        a.add(f"op{n}", f"pw-op-{n}")
    ops_before = int(stack.psql(f"SELECT count(*) FROM credsync.ops WHERE user_id = '{a.user}'"))
    r = a.run("sync", env={"CREDSYNC_FAILPOINT": "push-answered"})
    gen1 = int(stack.psql(f"SELECT gencount FROM credsync.zones WHERE user_id = '{a.user}' AND zone = 'default'"))
    check("outbox: the push reached the server, then the client died before recording the answer",
          r.rc != 0 and gen1 == 5, (r, gen1))
    r = a.sync()
    gen2 = int(stack.psql(f"SELECT gencount FROM credsync.zones WHERE user_id = '{a.user}' AND zone = 'default'"))
    ops = int(stack.psql(f"SELECT count(*) FROM credsync.ops WHERE user_id = '{a.user}'"))
    check("outbox: the retry sends the same op_id: the server replays its answer, nothing is written twice",
          r.rc == 0 and gen2 == 5 and ops == ops_before + 1 and r.json()["pushed"] == 5, (r, gen2, ops))
    synced(b)
    check("outbox: the other device gets the five entries once", len(b.state()) == 5)


def t_kill_mid_pull():
    a, b = account(2, "kill")
    for n in range(120):
        a.add(f"k{n}", f"pw-k-{n}", notes="n" * 300)
    synced(a)
    r = b.sync()  # first sync: a full resync, committed at its end
    for n in range(0, 120, 2):
        a.edit(a.json("list")[n]["id"], password=f"k-v2-{n}")
    synced(a)
    r = b.run("sync", env={"CREDSYNC_FAILPOINT": "pull-page"})
    mid = b.json("status")["zones"][0]
    check("kill mid-pull: the client died after committing its first page", r.rc != 0 and 0 < mid["cursor"], (r, mid))
    r = b.sync()
    check("kill mid-pull: the next sync resumes and converges", r.rc == 0 and a.state() == b.state(), r)
    # A real kill -9 at a random moment, several times.
    for n in range(120):
        if n % 3 == 0:
            a.edit(f"k{n}", notes=f"round-2-{n}")
    synced(a)
    for delay in (0.05, 0.1, 0.2):
        p = b.spawn("sync")
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait()
    r = b.sync()
    check("kill -9 at random moments: the next sync converges", r.rc == 0 and a.state() == b.state(), r)


def t_digest_tamper():
    a, = account(1, "digest")
    a.add("d1", "pw-d1")
    synced(a)
    stack.psql(f"UPDATE credsync.zones SET digest = '\\x{'11' * 32}' WHERE user_id = '{a.user}'")
    r = a.sync()
    check("digest: a zone digest that does not match the records fails the sync (after one full resync)",
          r.rc == 1 and "digest" in r.err and "full resync" in r.err, r)


def requests_during(fn):
    """The proxy's access-log lines for /v1/ routes written while fn ran
    (the log writer flushes within 50 ms; nothing else talks to this proxy
    while a case runs)."""
    time.sleep(0.3)
    before = open(stack.proxy_log, errors="replace").read().count("\n")
    out = fn()
    time.sleep(0.3)
    lines = open(stack.proxy_log, errors="replace").read().splitlines()[before:]
    return out, [x for x in lines if " /v1/" in x]


def t_one_request():
    """Issue 12 item 7: a sync with nothing new is one request (GET /v1/zones,
    which carries every zone's gencount and digest), whatever the number of
    zones; a zone another device made is still found and pulled."""
    a, b = account(2, "quiet")
    a.add("q1", "pw-q1", zone="default")
    a.add("q2", "pw-q2", zone="home")
    a.add("q3", "pw-q3", zone="work")
    synced(a, b)
    r, reqs = requests_during(b.sync)
    check("one request: a sync with nothing new (3 zones) is exactly one request, GET /v1/zones",
          r.rc == 0 and len(reqs) == 1 and "GET /v1/zones " in reqs[0] + " ", (r, reqs))
    check("one request: it still reports every zone at its gencount",
          r.rc == 0 and sorted(z["zone"] for z in r.json()["zones"]) == ["default", "home", "work"], r)
    a.add("q4", "pw-q4", zone="travel")
    synced(a)
    r, reqs = requests_during(b.sync)
    check("one request: a zone another device created is pulled (the zone list names it)",
          r.rc == 0 and r.json()["pulled"] == 1 and any(e["title"] == "q4" for e in b.json("list")), (r, reqs))
    r, reqs = requests_during(b.sync)
    check("one request: and the sync after it is one request again", r.rc == 0 and len(reqs) == 1, (r, reqs))
    b.add("q5", "pw-q5", zone="home")
    r, reqs = requests_during(b.sync)
    check("one request: a pending local change is pushed (more than the zone list)",
          r.rc == 0 and r.json()["pushed"] == 1 and len(reqs) > 1, (r, reqs))
    # A zone only this device knows, left empty (an entry added to it offline and
    # removed before any sync; the sync after that settles the removal): cursor
    # 0, not listed by the server, which holds nothing in it. Nothing is new
    # there, so no request beyond the list.
    b.ok("rm", b.add("q6", "pw-q6", zone="lonely"))
    check("one request: a sync settles an entry added and removed before it was pushed", b.sync().rc == 0)
    for n in ("first", "second"):
        r, reqs = requests_during(b.sync)
        check(f"one request: with a local-only empty zone too ({n} sync with nothing new)",
              r.rc == 0 and len(reqs) == 1 and "GET /v1/zones " in reqs[0] + " " and
              {"zone": "lonely", "gencount": 0} in r.json()["zones"], (r, reqs))


def t_full_resync_digest():
    """A full resync computes the zone's digest from the rows it writes
    (client/src/sync.cpp) and the check after the last page uses it: a row
    that stops counting (its item deleted on the server, or gone from it) must
    leave it, one that changes must change it."""
    a, b = account(2, "fulldig")
    a.add("f1", "pw-f1")
    a.add("f2", "pw-f2")
    a.add("f3", "pw-f3")
    synced(a, b)
    # No checkpoint when the store closes (client/src/db.cpp): what b's first
    # sync committed is still in the WAL, and the next process reads it there.
    wal = os.path.join(b.home, "credsync.db-wal")
    check("full resync digest: the first sync leaves its commits in the WAL (no checkpoint at close)",
          os.path.exists(wal) and os.path.getsize(wal) > 0)
    check("full resync digest: and the next process reads them from it",
          sorted(e["title"] for e in b.json("list")) == ["f1", "f2", "f3"])
    b.ok("rm", "f1")
    b.edit("f2", password="pw-f2-new")
    synced(b)
    r = a.sync("--full")
    check("full resync digest: a full resync that applies a delete and an edit verifies",
          r.rc == 0 and r.json()["resyncs"] == 1, r)
    titles = sorted(e["title"] for e in a.json("list"))
    check("full resync digest: and holds what the server holds", titles == ["f2", "f3"], titles)
    r, reqs = requests_during(a.sync)
    check("full resync digest: the sync after it has nothing new (one request)", r.rc == 0 and len(reqs) == 1, (r, reqs))


def t_changed_while_paging():
    """A new device's first sync stores each page as it comes (client/src/sync.cpp,
    full_resync_into_empty): an item edited or deleted on the server while
    it pages comes again in a later page, whose version replaces the first;
    an add on the paging device itself waits for the sync's commit and is
    kept."""
    a, b = account(2, "paging-change")
    for n in range(120):
        a.add(f"c{n}", f"pw-c-{n}", notes="n" * 300)
    synced(a)
    pause = os.path.join(stack.work, "listing-pause")
    p = b.spawn("--json", "sync", env={"CREDSYNC_TEST_LISTING_PAUSE": pause})
    paused = wait_for(lambda: os.path.exists(pause), timeout=30)
    # The two oldest records: both in the first page, which b holds now.
    first = sorted(stack.live_items(a.user)["default"].items(), key=lambda kv: kv[1])[:2]
    edited, deleted = first[0][0], first[1][0]
    a.edit(edited, password="pw-edited-while-paging")
    a.ok("rm", deleted)
    synced(a)
    add = b.spawn("add", "local during paging", "--generate")
    time.sleep(0.3)
    os.remove(pause)
    out, err = p.communicate(timeout=120)
    add_out, add_err = add.communicate(timeout=60)
    check("changed while paging: the first sync paused after its first page and finished",
          paused and p.returncode == 0, (paused, p.returncode, out, err))
    st = b.state()
    check("changed while paging: the later version of an edited entry replaces the first",
          st.get(edited, {}).get("password") == "pw-edited-while-paging", st.get(edited))
    check("changed while paging: an entry deleted meanwhile is deleted", deleted not in st and len(st) == 120,
          len(st))
    check("changed while paging: an add on the paging device during the sync is kept",
          add.returncode == 0 and "local during paging" in [v["title"] for v in st.values()], (add.returncode, add_err))
    synced(b, a)
    check("changed while paging: both devices converge", a.state() == b.state())


def t_gone_back_while_paging():
    """The server goes back (restored to an older dump) while a new device
    pages its first sync: the next page is a 410, the sync's transaction is
    rolled back and the listing starts over (client/src/sync.cpp,
    full_resync_into_empty). Nothing of the abandoned pages stays."""
    a, b = account(2, "paging-back")
    for n in range(10):
        a.add(f"o{n}", f"pw-o-{n}", notes="n" * 300)
    synced(a)
    dump = os.path.join(stack.work, f"{a.user}.dump")
    stack.dump(dump)  # gencount 10: o0..o9
    for n in range(110):
        a.add(f"p{n}", f"pw-p-{n}", notes="n" * 300)
    synced(a)  # gencount 120, in several pages
    pause = os.path.join(stack.work, "listing-pause-back")

    def paused_sync():
        p = b.spawn("--json", "sync", env={"CREDSYNC_TEST_LISTING_PAUSE": pause})
        paused = wait_for(lambda: os.path.exists(pause), timeout=30)
        stack.restore(dump)  # b's next page starts past gencount 10: 410
        os.remove(pause)
        out, err = p.communicate(timeout=120)
        return paused, p.returncode, out, err

    (paused, rc, out, err), reqs = requests_during(paused_sync)
    gone = [i for i, x in enumerate(reqs) if "/pull " in x and " 410 " in x]
    check("gone back while paging: the first sync paused after its first page, met a 410 and finished",
          paused and rc == 0 and len(gone) > 0, (paused, rc, out, err, reqs))
    srv = set(stack.live_items(a.user).get("default", {}))
    st = b.state()
    check("gone back while paging: it holds what the restored server holds, nothing of the abandoned pages",
          len(srv) == 10 and set(st) == srv and sorted(v["title"] for v in st.values()) == [f"o{n}" for n in range(10)],
          (len(srv), sorted(v["title"] for v in st.values())))
    check("gone back while paging: and paged again after the 410",
          len(gone) > 0 and any("/pull " in x and " 200 " in x for x in reqs[gone[0]:]), reqs)
    synced(a, b)  # a re-uploads what the server lost
    check("gone back while paging: after a's re-upload both devices hold all 120 entries",
          len(b.state()) == 120 and a.state() == b.state(), len(b.state()))


def t_first_sync_requests():
    """The server's limits (GET /v1/account) are learnt at login: a new
    device's first sync asks for nothing but the zone list, the pages and the
    zone's state, and neither does its first push. A home that does not hold
    them (forgotten after a 413, or logged in by an older client) asks at its
    next push, once, and keeps them; a sync that only pulls never asks."""
    a, b = account(2, "firstreq")
    for n in range(3):
        a.add(f"r{n}", f"pw-r-{n}")
    synced(a)
    r, reqs = requests_during(b.sync)
    check("first sync requests: a new device's first sync does not ask for the server's limits (no GET /v1/account)",
          r.rc == 0 and r.json()["pulled"] == 3 and not any("/v1/account" in x for x in reqs)
          and any("/pull" in x for x in reqs), (r, reqs))
    b.add("r3", "pw-r-3")
    r, reqs = requests_during(b.sync)
    check("first sync requests: nor does its first push (the login learnt them)",
          r.rc == 0 and r.json()["pushed"] == 1 and not any("/v1/account" in x for x in reqs), (r, reqs))
    forget_limits(b)
    a.add("r4", "pw-r-4")
    synced(a)
    r, reqs = requests_during(b.sync)
    check("first sync requests: a home without them does not ask when it only pulls",
          r.rc == 0 and r.json()["pulled"] == 1 and not any("/v1/account" in x for x in reqs), (r, reqs))
    b.add("r5", "pw-r-5")
    r, reqs = requests_during(b.sync)
    check("first sync requests: it asks at its next push, once",
          r.rc == 0 and r.json()["pushed"] == 1 and sum("GET /v1/account " in x for x in reqs) == 1, (r, reqs))
    b.add("r6", "pw-r-6")
    r, reqs = requests_during(b.sync)
    check("first sync requests: and keeps them (the push after does not ask again)",
          r.rc == 0 and r.json()["pushed"] == 1 and not any("/v1/account" in x for x in reqs), (r, reqs))


def t_state_before_commit():
    """A new device's first sync reads the zone's state (the digest check's
    GET /v1/zones/{zone}) on the listing's thread right after the last page,
    while it still stores the last pages (client/src/listing.cpp): the request
    is made before the commit, and the check compares with what it read."""
    a, b, c = account(3, "state-early")
    for n in range(30):
        a.add(f"s{n}", f"pw-s-{n}")
    synced(a)
    r, reqs = requests_during(lambda: b.run("sync", env={"CREDSYNC_FAILPOINT": "first-sync-stored"}))
    check("state before commit: the zone's state is read before the first sync commits",
          r.rc != 0 and any(re.search(r"GET /v1/zones/\{zone\} ", x) for x in reqs), (r, reqs))
    check("state before commit: a first sync cut short there leaves the store empty", b.json("list") == [])
    r = b.sync()
    check("state before commit: the next sync stores and verifies it all", r.rc == 0 and a.state() == b.state(), r)
    # The state read after the last page is the one compared: a digest that
    # does not match the records fails the new device's sync.
    stack.psql(f"UPDATE credsync.zones SET digest = '\\x{'22' * 32}' WHERE user_id = '{a.user}'")
    r = c.sync()
    check("state before commit: a zone digest that does not match the records fails a new device's first sync",
          r.rc == 1 and "digest" in r.err, r)


def t_digest_same_gencount():
    """The server's content changes while its gencount comes back to the
    device's cursor (restored to an older dump, then pushed to by another
    device up to the same gencount): the zone list's digest, not its
    gencount, shows it, and the device resyncs and re-uploads what was lost."""
    a, b, c = account(3, "samegen")
    x = a.add("x", "pw-x")
    synced(a, b)
    dump = os.path.join(stack.work, f"{a.user}.dump")
    stack.dump(dump)                 # the zone at gencount 1: x
    y = a.add("y", "pw-y")
    synced(a, b)                     # b's cursor: 2 (x, y)
    stack.restore(dump)              # back to gencount 1
    z = c.add("z", "pw-z")
    synced(c)                        # c pulls x, pushes z: gencount 2 again, without y
    srv = stack.live_items(a.user).get("default", {})
    check("same gencount: the server is back at b's cursor (2) with other content (x, z; no y)",
          stack.psql(f"SELECT gencount FROM credsync.zones WHERE user_id = '{a.user}' AND zone = 'default'") == "2"
          and set(srv) == {x, z}, srv)
    r = b.sync()
    check("same gencount: b's sync sees the digest differ, resyncs and succeeds",
          r.rc == 0 and "digest" in r.err and r.json()["resyncs"] >= 1, r)
    synced(a, b, c)
    ids = {x, y, z}
    check("same gencount: every device and the server hold x, y and z",
          all({e["id"] for e in d.json("list")} == ids for d in (a, b, c))
          and set(stack.live_items(a.user).get("default", {})) == ids, [d.json("list") for d in (a, b, c)])


def t_zones_and_watch():
    a, b = account(2, "watch")
    a.add("home wifi", "wifi-1", zone="home")
    a.add("work vpn", "vpn-1", zone="work")
    synced(a)
    w = b.spawn("sync", "--watch")
    try:
        got = wait_for(lambda: len(b.json("list")) == 2, timeout=15)
        check("watch: the watching device gets both zones", got)
        a.add("late entry", "late-1", zone="work")
        synced(a)
        got = wait_for(lambda: any(e["title"] == "late entry" for e in b.json("list")), timeout=15)
        check("watch: a push from another device arrives within seconds (long-poll)", got)
        b.add("local while watching", "lw-1", zone="home")
        got = wait_for(lambda: any(e["title"] == "local while watching" for e in (synced(a) and a.json("list"))), timeout=15)
        check("watch: a local change made by another process is pushed by the watcher", got)
    finally:
        w.send_signal(signal.SIGTERM)
        w.wait()
    check("list --zone shows one zone", [e["title"] for e in b.json("list", "--zone", "work")] == ["late entry", "work vpn"])
    st = {z["zone"]: z for z in b.json("status")["zones"]}
    check("status lists every zone", set(st) == {"home", "work"}, st)


def t_two_syncs():
    a, b = account(2, "twice")
    for n in range(30):
        a.add(f"t{n}", f"pw-t-{n}")
    p1, p2 = a.spawn("sync"), a.spawn("sync")
    r1, r2 = p1.communicate(), p2.communicate()
    check("two syncs of one home at once both succeed (they take turns)", p1.returncode == 0 and p2.returncode == 0, (r1, r2))
    synced(b)
    check("two syncs at once: each entry is on the server once",
          len(stack.live_items(a.user)["default"]) == 30 and len(b.state()) == 30)


def t_example():
    """docs/client.md's embedding example, run on a real home."""
    a, b = account(2, "example")
    exe = os.path.join(os.environ.get("CREDSYNC_ROOT", "."), "build", "client", "example")
    r = subprocess.run([exe, a.home, stack.url], capture_output=True, text=True, timeout=60)
    check("docs/client.md's example adds, syncs, lists and edits on a logged-in home",
          r.returncode == 0 and "pushed 1" in r.stdout and "Mail" in r.stdout, (r.returncode, r.stdout, r.stderr))
    synced(a, b)
    e = [x for x in b.state().values() if x["title"] == "Mail"]
    check("docs/client.md's example: its entry reaches another device, its edit too",
          len(e) == 1 and e[0]["password"] == "a new password" and len(e[0]["history"]) == 1, e)


def forget_limits(dev):
    """Removes the server's limits the home learnt at login (a home logged in
    by an older client, or after a 413)."""
    db = sqlite3.connect(os.path.join(dev.home, "credsync.db"))
    db.execute("DELETE FROM meta WHERE key = 'limits'")
    db.commit()
    db.close()


def t_too_large():
    a, b = account(2, "large")
    forget_limits(a)  # so that add lets the big entry through and the server refuses it (413)
    small1 = a.add("small one", "s1")
    big = a.add("big one", "b1", notes="n" * 70000)  # pads to 128 KiB, over the suite's 64 kB max_blob_bytes
    small2 = a.add("small two", "s2")
    r = a.run("sync")
    check("too large: the sync fails (exit 1) and names the entry the server refuses",
          r.rc == 1 and "larger than the server accepts" in r.err and big in r.err, r)
    synced(b)
    st = b.state()
    check("too large: the other entries were pushed all the same", small1 in st and small2 in st and big not in st, list(st))
    r = b.run("add", "huge on b", "--notes", "x" * 70000)
    check("too large: a device that has only logged in and pulled refuses it too (its login learnt the limits)",
          r.rc == 1 and "too large" in r.err, r)
    a.edit(big, notes="short now")
    synced(a, b)
    check("too large: once shortened it syncs", b.json("show", big)["notes"] == "short now")
    r = a.run("add", "huge", "--notes", "x" * 70000)
    check("too large: once the server's limits are known, add refuses an entry that cannot sync",
          r.rc == 1 and "too large" in r.err, r)


def t_https():
    import shutil
    work = os.path.join(stack.work, "tls")
    os.makedirs(work, exist_ok=True)
    cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
    if not shutil.which("openssl"):
        tap.skip("https", "no openssl command")
        return
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    tls = Stack(stack.dir, work, proxy_flags=["--tls-cert", cert, "--tls-key", key])
    tls._accounts = False
    # The proxy's health probe is plain HTTP: start it by hand and wait for the port.
    import socket
    log = open(os.path.join(work, "proxy.log"), "ab")
    conninfo = f"host={stack.dir}/sock port={stack.pg_port} user=credsync_proxy dbname=credsync"
    from harness import PROXY
    p = subprocess.Popen([PROXY, "--db", conninfo, "--listen", f"127.0.0.1:{tls.proxy_port}", "--tls-cert", cert,
                          "--tls-key", key], stdout=log, stderr=log)
    try:
        ok = wait_for(lambda: socket.socket().connect_ex(("127.0.0.1", tls.proxy_port)) == 0, timeout=10)
        check("https: the proxy serves TLS", ok)
        a, = account(1, "tls")
        a.add("over tls", "tls-pw")
        url = f"https://127.0.0.1:{tls.proxy_port}"
        r = a.run("--server", url, "sync")
        check("https: a certificate the system does not trust is refused (exit 1, says so)",
              r.rc == 1 and "not trusted" in r.err, r)
        r = a.run("--server", url, "sync", env={"CREDSYNC_CA_FILE": cert})
        check("https: with CREDSYNC_CA_FILE naming its CA, the sync goes over TLS", r.rc == 0, r)
        check("https: the entry reached the server", len(stack.live_items(a.user).get("default", {})) == 1)
    finally:
        p.terminate()
        p.wait()


for name, fn in [("example", t_example), ("too large", t_too_large), ("https", t_https), ("offline", t_offline), ("merge", t_merge), ("edit beats delete", t_edit_beats_delete),
                 ("paging", t_paging), ("expired", t_expired), ("outbox", t_outbox), ("kill", t_kill_mid_pull),
                 ("digest", t_digest_tamper), ("one request", t_one_request), ("full resync digest", t_full_resync_digest),
                 ("changed while paging", t_changed_while_paging), ("gone back while paging", t_gone_back_while_paging),
                 ("first sync requests", t_first_sync_requests), ("state before commit", t_state_before_commit),
                 ("same gencount", t_digest_same_gencount), ("zones and watch", t_zones_and_watch), ("two syncs", t_two_syncs)]:
    # CREDSYNC_CLIENT_CASES="one request,same gencount" runs only those (debugging).
    only = os.environ.get("CREDSYNC_CLIENT_CASES")
    if only and name not in only.split(","):
        continue
    tap.run(name, fn)
stack.stop_proxy()
sys.exit(1 if tap.failures else 0)
