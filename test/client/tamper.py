#!/usr/bin/env python3
"""A server that tampers with blobs is caught (issue 12 items 2 and 6,
test/suites/74-client-tamper.sh). Each attack is made in SQL on the server's
tables, either in place (the same gencount: only a full resync reads it
again) or as a new version (a write through credsync.sync_push, so devices
pull it):

  swap    two entries' blobs exchanged: the associated data names the item
  move    a blob copied into another zone, or another user's zone
  replay  an entry's older blob served again: the version vector is older
  garbage a blob with flipped bits

A blob that fails authentication is reported (exit status 1, one line) and
never imported; the device's own version goes back up over it. An older
version is reported and the newer one kept."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import Device, Stack, Tap  # noqa: E402

tap = Tap()
check = tap.check
stack = Stack(sys.argv[1], sys.argv[2])
stack.start_proxy()
n_accounts = [0]


def account(n, prefix):
    n_accounts[0] += 1
    user = f"{prefix}-{n_accounts[0]}"
    devs = [Device(stack, f"{user}-d{i}", user) for i in range(n)]
    devs[0].join()
    for d in devs[1:]:
        d.join(devs[0])
    return devs


def sync_ok(d, *args):
    r = d.sync(*args)
    if r.rc != 0:
        raise RuntimeError(f"sync of {d.name} failed: {r}")
    return r


def blob_hex(user, item, zone="default"):
    return stack.psql(f"SELECT encode(blob, 'hex') FROM credsync.records WHERE user_id = '{user}' AND zone = '{zone}' AND item = '{item}'")


def push_as_server(user, zone, item, hexblob):
    """The server writing a record of its own making (a new gencount)."""
    stack.psql(f"SELECT credsync.sync_push('{user}', '{zone}', '\\x{hexblob}'::bytea, '{item}')")


def t_swap():
    a, b = account(2, "swap")
    x = a.add("x-entry", "x-secret")
    y = a.add("y-entry", "y-secret")
    sync_ok(a), sync_ok(b)
    hx, hy = blob_hex(a.user, x), blob_hex(a.user, y)
    # In place: the same gencounts, blobs exchanged.
    stack.psql(f"UPDATE credsync.records SET blob = CASE item WHEN '{x}' THEN '\\x{hy}'::bytea ELSE '\\x{hx}'::bytea END "
               f"WHERE user_id = '{a.user}' AND item IN ('{x}', '{y}')")
    c = Device(stack, f"{a.user}-new", a.user)
    c.join(a)
    r = c.sync()
    check("swap in place: a new device's sync fails with exit status 1 and says the blobs failed authentication",
          r.rc == 1 and "failed authentication" in r.err and "Traceback" not in r.err, r)
    st = c.state()
    check("swap in place: neither swapped blob is imported", x not in st and y not in st, st)
    r = b.sync()
    check("swap in place: an incremental sync does not read the unchanged gencounts again (documented)", r.rc == 0, r)
    r = b.sync("--full")
    check("swap in place: sync --full finds both and reports them", r.rc == 1 and r.json()["tampered"] == 2, r)
    sync_ok(b)  # its own versions went back over the bad ones
    r = c.sync()
    st = c.state()
    check("swap in place: after the healthy device's re-upload, the new device gets the right entries",
          r.rc == 0 and st[x]["password"] == "x-secret" and st[y]["password"] == "y-secret", r)
    # As a new version: the server writes y's blob as x's next version.
    push_as_server(a.user, "default", x, blob_hex(a.user, y))
    r = a.sync()
    check("swap as a new version: the device reports it (exit 1) and keeps its own entry",
          r.rc == 1 and "failed authentication" in r.err and a.json("show", x)["password"] == "x-secret", r)
    sync_ok(a), sync_ok(b), sync_ok(c)
    check("swap as a new version: the good version went back up; every device agrees",
          b.json("show", x)["password"] == "x-secret" and a.state() == b.state() == c.state())


def t_move():
    a, b = account(2, "move")
    x = a.add("moving", "move-secret")
    a.add("stays", "other", zone="work")
    sync_ok(a), sync_ok(b)
    hx = blob_hex(a.user, x)
    push_as_server(a.user, "work", x, hx)   # the same item id, another zone
    r = b.sync()
    check("move to another zone: the sync reports it and fails (exit 1)", r.rc == 1 and "failed authentication" in r.err, r)
    check("move to another zone: it is not imported into that zone",
          [e["title"] for e in b.json("list", "--zone", "work")] == ["stays"])
    other, = account(1, "move-victim")
    other.add("victim's own", "v")
    sync_ok(other)
    push_as_server(other.user, "default", x, hx)  # another user's blob
    r = other.sync()
    check("move to another user: that user's device reports it and does not import it",
          r.rc == 1 and x not in other.state(), r)
    st = other.json("status")["zones"][0]
    check("move: status still counts the rejected record's gencount (the digest matches; nothing to resync forever)",
          st["cursor"] == st["server_gencount"], st)


def t_replay():
    a, b = account(2, "replay")
    x = a.add("replayed", "v1-secret")
    sync_ok(a), sync_ok(b)
    old = blob_hex(a.user, x)
    a.edit(x, password="v2-secret")
    sync_ok(a), sync_ok(b)
    # As a new version: the server serves the old blob again.
    push_as_server(a.user, "default", x, old)
    r = b.sync()
    check("replay as a new version: the device warns that the server sent an older version",
          r.rc == 0 and "older version" in r.err and r.json()["rolled_back"] == 1, r)
    check("replay as a new version: the device keeps the newer password", b.json("show", x)["password"] == "v2-secret")
    sync_ok(a)
    check("replay as a new version: the newer version went back to the server (a new device reads it)",
          a.json("show", x)["password"] == "v2-secret")
    # In place: the old blob under the current gencount.
    stack.psql(f"UPDATE credsync.records SET blob = '\\x{old}'::bytea WHERE user_id = '{a.user}' AND item = '{x}'")
    r = a.sync("--full")
    check("replay in place: sync --full finds it", r.rc == 0 and r.json()["rolled_back"] == 1 and "older version" in r.err, r)
    sync_ok(a)
    c = Device(stack, f"{a.user}-new", a.user)
    c.join(a)
    sync_ok(c)
    check("replay: after the re-upload a new device gets the newer version with the old one in its history",
          c.json("show", x)["password"] == "v2-secret" and "v1-secret" in [h["password"] for h in c.json("show", x)["history"]])


def t_garbage():
    a, = account(1, "garbage")
    x = a.add("flipped", "flip-secret")
    sync_ok(a)
    h = blob_hex(a.user, x)
    flipped = h[:-2] + ("00" if h[-2:] != "00" else "01")
    push_as_server(a.user, "default", x, flipped)
    r = a.run("sync")
    check("a blob with a flipped bit: exit 1 and one line on stderr for the failure",
          r.rc == 1 and "failed authentication" in r.err and r.err.strip().splitlines()[-1].startswith("credsync: "), r)
    check("a blob with a flipped bit: the entry keeps its password", a.json("show", x)["password"] == "flip-secret")
    for junk in ("00", "01" + "00" * 30):
        push_as_server(a.user, "default", x, junk)
        r = a.run("sync")
        check(f"a blob that is not a sealed entry ({len(junk) // 2} bytes) is rejected, not a crash",
              r.rc == 1 and "failed authentication" in r.err, r)


for name, fn in [("swap", t_swap), ("move", t_move), ("replay", t_replay), ("garbage", t_garbage)]:
    tap.run(name, fn)
stack.stop_proxy()
sys.exit(1 if tap.failures else 0)
