#!/usr/bin/env python3
"""Model-based convergence test of the client (issue 12 item 6,
test/suites/73-client-model.sh).

Per seed: one account, DEVICES devices (each its own home), STEPS random
operations -- add, edit, rm, sync, offline stretches -- interleaved with the
injected faults: a proxy restart, a kill -9 of the database, a restore from an
older dump, compaction with a short keep, a revoked device that logs in
again, and a kill -9 of a client in the middle of a sync. Then the faults
stop, every device syncs until nothing moves, and:

  * all devices hold the same entries, field for field, history included;
  * the server holds exactly those entries and every device is in sync;
  * nothing is lost: every password any device ever saved for an entry is its
    password or in its history; an entry may be missing only if every edit
    made to it was seen by a device that then deleted it (a delete with no
    concurrent edit).

"Seen" is tracked by a model of knowledge: each device knows the edits it made
and those it pulled; the server knows what devices pushed; a sync exchanges
both ways; a restore puts the server's knowledge back to the dump's. A failed
sync counts as having exchanged everything (that can only make the check more
lenient, never report a false loss).

Usage: model.py CLUSTER_DIR WORK_DIR; CREDSYNC_CLIENT_MODEL_SEEDS (default
"1 2 3"), CREDSYNC_CLIENT_MODEL_STEPS (default 150), CREDSYNC_CLIENT_MODEL_DEVICES
(default 3). `make stress` runs many seeds (test/client/stress.sh)."""
import os
import random
import signal
import sys
import time
from collections import defaultdict

sys.path.insert(0, os.path.dirname(__file__))
from harness import Device, Stack, Tap  # noqa: E402

tap = Tap()
check = tap.check
stack = Stack(sys.argv[1], sys.argv[2])
stack.start_proxy()
SEEDS = [int(s) for s in os.environ.get("CREDSYNC_CLIENT_MODEL_SEEDS", "1 2 3").split()]
STEPS = int(os.environ.get("CREDSYNC_CLIENT_MODEL_STEPS", "150"))
NDEV = int(os.environ.get("CREDSYNC_CLIENT_MODEL_DEVICES", "3"))
ZONES = ["default", "work"]
WORDS = ["mail", "bank", "shop", "vpn", "wifi", "git", "cloud", "tax", "gym", "car"]


class Model:
    def __init__(self, devices):
        self.devices = devices
        self.know = {d.name: set() for d in devices}   # edit ids each device has seen
        self.server = set()                             # edit ids the server has
        self.edits = {}                                 # edit id -> (entry, device, password or None)
        self.entry_edits = defaultdict(list)
        self.rms = defaultdict(list)                    # entry -> [frozenset(knowledge of the deleter)]
        self.dumps = []                                 # (path, frozenset(server knowledge))
        self.next_edit = 0

    def edit(self, dev, entry, password):
        eid = self.next_edit
        self.next_edit += 1
        self.edits[eid] = (entry, dev.name, password)
        self.entry_edits[entry].append(eid)
        self.know[dev.name].add(eid)

    def exchanged(self, dev):
        self.server |= self.know[dev.name]
        self.know[dev.name] |= self.server


def run_seed(seed):
    rng = random.Random(seed)
    if not stack.proxy or stack.proxy.poll() is not None:
        print(f"# seed {seed}: the proxy was not running at the start; starting it", flush=True)
        stack.start_proxy()
    t0 = time.time()
    if not stack.wait_healthy(60):
        raise RuntimeError("the proxy did not answer /healthz within 60 s at the start of the seed")
    if time.time() - t0 > 1:
        print(f"# seed {seed}: the proxy took {time.time() - t0:.1f} s to answer /healthz at the start", flush=True)
    user = f"model-{seed}-{int(time.time() * 1000) % 100000}"
    devices = [Device(stack, f"{user}-d{i}", user) for i in range(NDEV)]
    devices[0].join()
    for d in devices[1:]:
        d.join(devices[0])
    m = Model(devices)
    stats = defaultdict(int)
    timeline = []
    needs_login = set()
    proxy_down_until = -1
    # Each fault at least once, at random steps (a dump comes before its restore).
    faults = ["proxy_restart", "kill9_db", "compact", "revoke", "kill_client", "offline", "compact", "kill_client"]
    plan = {}
    for f in faults:
        plan.setdefault(rng.randrange(STEPS // 10, STEPS - 10), []).append(f)
    dump_at = rng.randrange(STEPS // 10, STEPS // 2)
    plan.setdefault(dump_at, []).append("dump")
    plan.setdefault(rng.randrange(dump_at + 5, STEPS - 5), []).append("restore")

    def sync(dev, background_kill=None):
        if background_kill is not None:
            p = dev.spawn("sync")
            time.sleep(background_kill)
            p.send_signal(signal.SIGKILL)
            p.wait()
            m.exchanged(dev)
            stats["client killed"] += 1
            return
        r = dev.sync()
        stats["sync ok" if r.rc == 0 else "sync failed"] += 1
        if r.rc != 0 and "no longer authorized" in r.err:
            needs_login.add(dev.name)
        if r.rc != 0 and "Traceback" in r.err:
            raise RuntimeError(f"crash: {r}")
        m.exchanged(dev)
        return r

    def relogin(dev):
        try:
            dev.join(devices[0] if dev is not devices[0] else devices[1])
        except RuntimeError as e:
            if "cannot reach the server" not in str(e) and "503" not in str(e):
                raise
            stats["login failed (server away)"] += 1
            return
        needs_login.discard(dev.name)
        stats["logged in again"] += 1

    for step in range(STEPS):
        if step == proxy_down_until:
            stack.start_proxy()
        for f in plan.get(step, []):
            stats[f] += 1
            timeline.append(f"{step}:{f}")
            if f == "proxy_restart" and stack.proxy:
                stack.restart_proxy()
            elif f == "kill9_db":
                stack.kill9_database()
            elif f == "compact":
                stack.psql("SELECT credsync.compact('0 seconds')")
            elif f == "dump":
                path = os.path.join(stack.work, f"{user}-{step}.dump")
                stack.dump(path)
                m.dumps.append((path, frozenset(m.server)))
            elif f == "restore" and m.dumps:
                path, known = m.dumps[0]
                if not stack.proxy:
                    stack.start_proxy()
                    proxy_down_until = -1
                stack.restore(path)
                m.server = set(known)
            elif f == "revoke":
                victim = rng.choice(devices)
                if victim.token:
                    stack.psql(f"SELECT credsync.revoke_token('{victim.token}')")
                else:
                    # In SQL, so that it works while the proxy is away too.
                    stack.psql(f"SELECT credsync.device_revoke('{user}', id) FROM credsync.device_list('{user}') "
                               f"WHERE label = '{victim.name}'")
            elif f == "kill_client":
                sync(rng.choice(devices), background_kill=rng.uniform(0.0, 0.25))
            elif f == "offline" and stack.proxy:
                stack.stop_proxy()
                proxy_down_until = step + rng.randrange(3, 12)
        dev = rng.choice(devices)
        if dev.name in needs_login and rng.random() < 0.5:
            relogin(dev)
            continue
        op = rng.choices(["add", "edit", "rm", "sync"], weights=[14, 30, 7, 30])[0]
        if op == "add":
            pw = f"pw-{seed}-{step}-{rng.randrange(10**6)}"
            eid = dev.add(f"{rng.choice(WORDS)} {step}", pw, zone=rng.choice(ZONES), username=f"u{step}")
            m.edit(dev, eid, pw)
            stats["add"] += 1
        elif op in ("edit", "rm"):
            entries = dev.json("list")
            if not entries:
                continue
            e = rng.choice(entries)["id"]
            if op == "rm":
                dev.ok("rm", e)
                m.rms[e].append(frozenset(m.know[dev.name]))
                stats["rm"] += 1
            else:
                kind = rng.random()
                pw = None
                if kind < 0.6:
                    pw = f"pw-{seed}-{step}-{rng.randrange(10**6)}"
                    dev.edit(e, password=pw)
                elif kind < 0.8:
                    dev.edit(e, notes=f"notes {seed}-{step}-{rng.randrange(10**6)}")
                else:
                    pw = f"pw-{seed}-{step}-{rng.randrange(10**6)}"
                    dev.edit(e, password=pw, username=f"user-{step}", url=f"https://{step}.example")
                m.edit(dev, e, pw)
                stats["edit"] += 1
        else:
            sync(dev)

    # Heal: the server is up, every device can log in; sync until nothing moves.
    if not stack.proxy:
        stack.start_proxy()
    stack.wait_healthy()
    for d in devices:
        r = d.sync()
        if (r.rc != 0 and "no longer authorized" in r.err) or d.name in needs_login:
            relogin(d)
            if d.name in needs_login:
                raise RuntimeError(f"{d.name} cannot log in again with the server up")
    rounds, quiet = 0, False
    while rounds < 8 and not quiet:
        rounds += 1
        quiet = True
        for d in devices:
            r = sync(d)
            if r.rc != 0:
                raise RuntimeError(f"final sync of {d.name} failed: {r}")
            j = r.json()
            if j["pulled"] or j["pushed"] or j["merged"] or j["resyncs"]:
                quiet = False
    print(f"# seed {seed}: {dict(sorted(stats.items()))}, settled after {rounds} rounds; faults at {' '.join(timeline)}",
          flush=True)
    check(f"seed {seed}: every device's sync settles (a round with nothing pulled or pushed)", quiet)

    states = [d.state() for d in devices]
    check(f"seed {seed}: all {NDEV} devices hold the same entries, field for field",
          all(s == states[0] for s in states),
          [sorted(set(s) ^ set(states[0])) for s in states])
    final = states[0]
    live = stack.live_items(user)
    on_server = {i for z in live.values() for i in z}
    check(f"seed {seed}: the server holds exactly the devices' entries", on_server == set(final),
          sorted(on_server ^ set(final)))
    zones_ok = all(z["in_sync"] for d in devices for z in d.json("status")["zones"])
    check(f"seed {seed}: every device says every zone is in sync", zones_ok)

    lost = []
    for entry, eids in m.entry_edits.items():
        if entry in final:
            have = {final[entry]["password"]} | {h["password"] for h in final[entry]["history"]}
            for eid in eids:
                pw = m.edits[eid][2]
                if pw and pw not in have:
                    lost.append(f"{entry[:8]}: password {pw} (by {m.edits[eid][1]}) missing")
        else:
            for eid in eids:
                if not any(eid in k for k in m.rms[entry]):
                    lost.append(f"{entry[:8]}: deleted, but edit {eid} by {m.edits[eid][1]} was seen by no delete")
    check(f"seed {seed}: nothing lost ({len(m.entry_edits)} entries, {len(m.edits)} edits, "
          f"{sum(len(v) for v in m.rms.values())} deletes)", not lost, lost[:20])


print(f"# devices join by {'signup/login (accounts API)' if stack.accounts() else 'attach (tokens; no accounts API)'}", flush=True)
for seed in SEEDS:
    tap.run(f"seed {seed}", run_seed, seed)
stack.stop_proxy()
sys.exit(1 if tap.failures else 0)
