#!/usr/bin/env python3
"""The seed report's scenario end to end (issue 12 item 6,
test/suites/72-client-seed.sh): two devices add entries, the database is
restored from a dump taken earlier, another device adds one; after everyone
syncs, every device and the server hold every entry.

Two ways the devices can meet the restored server:
  A. behind their cursors: the pull answers 410 "ahead";
  B. written past their cursors by others first: no 410, the digest does not
     match, the full resync sees the history changed under it.
In both, nothing acknowledged may be lost: entries added and edited after
the dump come back from the devices."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import Device, Stack, Tap  # noqa: E402

tap = Tap()
check = tap.check
stack = Stack(sys.argv[1], sys.argv[2])
stack.start_proxy()


def sync_ok(d):
    r = d.sync()
    if r.rc != 0:
        raise RuntimeError(f"sync of {d.name} failed: {r}")
    return r


def everything_everywhere(label, devices, expect):
    """expect: {id: password}."""
    states = [d.state() for d in devices]
    for d, st in zip(devices, states):
        got = {i: e["password"] for i, e in st.items()}
        check(f"{label}: {d.name} holds every entry with its newest password", got == expect,
              {"missing": sorted(set(expect) - set(got)), "extra": sorted(set(got) - set(expect)),
               "wrong": sorted(i for i in expect if i in got and got[i] != expect[i])})
    check(f"{label}: all devices are equal", all(s == states[0] for s in states))
    live = stack.live_items(devices[0].user).get("default", {})
    check(f"{label}: the server holds every entry", set(live) == set(expect), sorted(set(expect) ^ set(live)))
    for d in devices:
        st = d.json("status")["zones"]
        check(f"{label}: {d.name} is in sync", all(z["in_sync"] for z in st), st)


def scenario(label, user, push_past):
    dump = os.path.join(stack.work, f"{user}.dump")
    a, b = Device(stack, f"{user}-a", user), Device(stack, f"{user}-b", user)
    a.join()
    b.join(a)
    expect = {}
    for n in range(3):
        expect[a.add(f"a-before-{n}", f"a-before-pw-{n}")] = f"a-before-pw-{n}"
        expect[b.add(f"b-before-{n}", f"b-before-pw-{n}")] = f"b-before-pw-{n}"
    sync_ok(a), sync_ok(b), sync_ok(a)
    stack.dump(dump)
    # After the dump: adds, an edit, a delete, all acknowledged by the server.
    for n in range(3):
        expect[a.add(f"a-after-{n}", f"a-after-pw-{n}")] = f"a-after-pw-{n}"
        expect[b.add(f"b-after-{n}", f"b-after-pw-{n}")] = f"b-after-pw-{n}"
    edited = next(i for i, p in expect.items() if p == "a-before-pw-0")
    b.edit(edited, password="edited-after-dump")
    expect[edited] = "edited-after-dump"
    deleted = next(i for i, p in expect.items() if p == "b-before-pw-1")
    a.ok("rm", deleted)
    del expect[deleted]
    sync_ok(a), sync_ok(b), sync_ok(a)
    before = stack.live_items(user)["default"]
    check(f"{label}: before the restore the server holds all {len(expect)} entries", set(before) == set(expect))
    # B also has an offline edit pending when the server goes back.
    pending = next(i for i, p in expect.items() if p == "b-after-pw-2")
    b.edit(pending, password="b-offline-during-restore")
    expect[pending] = "b-offline-during-restore"

    stack.restore(dump)
    after = stack.live_items(user)["default"]
    check(f"{label}: the restore lost what came after the dump", len(after) == 6 and edited in after and deleted in after)

    c = Device(stack, f"{user}-c", user)
    c.join(a)
    expect[c.add("c-after-restore", "c-pw")] = "c-pw"
    if push_past:
        # Enough writes that the server's gencount passes A's and B's cursors.
        for n in range(25):
            expect[c.add(f"c-bulk-{n}", f"c-bulk-pw-{n}")] = f"c-bulk-pw-{n}"
    sync_ok(c)
    gen = int(stack.psql(f"SELECT gencount FROM credsync.zones WHERE user_id = '{user}'"))
    cur_a = a.json("status")["zones"][0]["cursor"]
    check(f"{label}: the server's gencount is {'past' if push_past else 'behind'} the devices' cursors",
          (gen > cur_a) if push_past else (gen < cur_a), (gen, cur_a))

    ra = sync_ok(a)
    rb = sync_ok(b)
    if push_past:
        check(f"{label}: without a 410, the digest check and the changed history send A into a full resync",
              "digest" in ra.err and "history" in ra.err, ra)
    else:
        check(f"{label}: A meets 410 ahead and says so", "behind this device" in ra.err, ra)
    check(f"{label}: A re-uploads what the server lost or holds older", ra.json()["reuploaded"] >= 4, ra)
    for d in (c, a, b, c):
        sync_ok(d)
    everything_everywhere(label, [a, b, c], expect)
    check(f"{label}: the entry deleted after the dump stays deleted", all(deleted not in d.state() for d in (a, b, c)))


def unverified_push():
    """A device's push is acknowledged, then the device dies before the
    digest check that would have verified it. The server is restored to
    before that push; another device writes there and rewrites its own
    records above the device's cursor, so that nothing at or below it looks
    different. The device's next sync pulls without a 410; only the digest
    disagrees. Its acknowledged entry must come back, not be taken for
    deleted."""
    user = "seed-unverified"
    dump = os.path.join(stack.work, f"{user}.dump")
    d, e = Device(stack, f"{user}-d", user), Device(stack, f"{user}-e", user)
    d.join()
    e.join(d)
    d.add("d-before", "d-before-pw")
    sync_ok(d), sync_ok(e)
    stack.dump(dump)
    x = d.add("d-unverified", "d-unverified-pw")
    r = d.run("sync", env={"CREDSYNC_FAILPOINT": "push-recorded"})
    st = d.json("status")["zones"][0]
    check("unverified push: acknowledged, then the device died before verifying",
          r.rc != 0 and st["pending"] == 0 and x in stack.live_items(user)["default"], (r, st))
    stack.restore(dump)
    y = e.add("e-after-restore", "e-1")
    sync_ok(e)
    e.edit(y, password="e-2")       # y moves above d's cursor: nothing at or below it differs
    sync_ok(e)
    r = sync_ok(d)
    check("unverified push: the digest check catches what no 410 says", "digest" in r.err, r)
    sync_ok(e)
    check("unverified push: the device's acknowledged entry is back on the server and on the other device",
          x in stack.live_items(user)["default"] and x in e.state() and e.json("show", x)["password"] == "d-unverified-pw")
    check("unverified push: both devices are equal", d.state() == e.state())


tap.run("unverified push", unverified_push)
tap.run("410 ahead", scenario, "restore behind cursors (410 ahead)", "seed-ahead", False)
tap.run("digest", scenario, "restore then written past cursors (digest)", "seed-past", True)
stack.stop_proxy()
sys.exit(1 if tap.failures else 0)
