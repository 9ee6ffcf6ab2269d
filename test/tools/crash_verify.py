#!/usr/bin/env python3
"""Checks the database against a pusher log after a crash (test/suites/31-crash.sh).

    crash_verify.py LOG PUSHER ROUND

LOG is the pusher's log (SEND/ACK/FAIL lines, see pusher.cpp), PUSHER the
pusher binary (its --replay mode re-sends pushes), ROUND a label. psql reaches
the restarted server through PGHOST/PGPORT/PGUSER/PGDATABASE. Prints one
"ok - ..." / "not ok - ..." line per check. Replayed and probe pushes are
appended to LOG as acknowledged, so the next round checks them too.
"""
import hashlib
import random
import subprocess
import sys
import uuid

log_path, pusher, rnd = sys.argv[1], sys.argv[2], sys.argv[3]
results = []


def check(name, good, detail=""):
    results.append(good)
    print(("ok - " if good else "not ok - ") + f"crash round {rnd}: {name}" + ("" if good or not detail else f" ({detail})"))


def psql(sql):
    out = subprocess.run(["psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-F", "\t", "-c", sql],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"psql failed: {out.stderr.strip()}\n{sql[:300]}")
    return [line.split("\t") for line in out.stdout.splitlines() if line]


def lit(s):
    return "'" + s.replace("'", "''") + "'"


def read_log():
    sends, acks = {}, {}
    with open(log_path) as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            if parts[0] == "SEND":
                op, user, zone, k = parts[1], parts[2], parts[3], int(parts[4])
                recs = [(parts[5 + 2 * i], parts[6 + 2 * i]) for i in range(k)]
                sends[op] = (user, zone, recs)
            elif parts[0] == "ACK":
                acks[parts[1]] = [(parts[2 + 2 * i], int(parts[3 + 2 * i])) for i in range((len(parts) - 2) // 2)]
    return sends, acks


def db_state(zones):
    """{(user, zone): (gencount, items, horizon, [(item, gencount, deleted, blobhex)])}; digests[(user, zone)]"""
    state = {}
    for (u, z) in sorted(zones):
        g, items, horizon, digest = psql(
            f"SELECT gencount, items, horizon, encode(digest, 'hex') FROM credsync.sync_state({lit(u)}, {lit(z)})")[0]
        g, items, horizon = int(g), int(items), int(horizon)
        digests[(u, z)] = digest
        recs, since = [], 0
        while True:
            page = psql(f"SELECT item, gencount, deleted, encode(blob, 'hex') FROM "
                        f"credsync.sync_pull({lit(u)}, {lit(z)}, {since}, 10000)")
            recs += [(r[0], int(r[1]), r[2] == "t", r[3]) for r in page]
            if len(page) < 10000:
                break
            since = int(page[-1][1])
        state[(u, z)] = (g, items, horizon, recs)
    return state


def expected_digest(recs):
    """PROTOCOL.md: sum mod 2^256 of SHA-256(item's 16 bytes || gencount, 8 bytes big-endian) over live records."""
    total = 0
    for item, g, deleted, _ in recs:
        if not deleted:
            total += int.from_bytes(hashlib.sha256(uuid.UUID(item).bytes + g.to_bytes(8, "big")).digest(), "big")
    return (total % 2 ** 256).to_bytes(32, "big").hex()


digests = {}


def replay(ops):
    if not ops:
        return {}
    out = subprocess.run([pusher, "--db", "", "--replay", log_path], input="\n".join(ops) + "\n",
                         capture_output=True, text=True)
    res = {}
    for line in out.stdout.splitlines():
        parts = line.split()
        if parts[0] == "REPLAY":
            res[parts[1]] = [(parts[2 + 2 * i], int(parts[3 + 2 * i])) for i in range((len(parts) - 2) // 2)]
        else:
            res[parts[1]] = "error: " + " ".join(parts[2:])
    for op in ops:
        res.setdefault(op, "no answer: " + out.stderr.strip()[:200])
    return res


def append(lines):
    with open(log_path, "a") as f:
        for line in lines:
            f.write(line + "\n")


sends, acks = read_log()
zones = {(u, z) for (u, z, _) in sends.values()}
state = db_state(zones)

# Where each blob is in the database: blob -> (user, zone, item, gencount).
where, dup_blobs = {}, 0
for (u, z), (_, _, _, recs) in state.items():
    for item, g, deleted, blob in recs:
        if blob in where:
            dup_blobs += 1
        where[blob] = (u, z, item, g)

# 1. Every acknowledged push is there, with its gencounts and blobs.
missing, wrong = 0, []
for op, ack in acks.items():
    u, z, recs = sends[op]
    if len(ack) != len(recs):
        wrong.append(f"{op}: {len(ack)} results for {len(recs)} records")
        continue
    for (item, blob), (aitem, ag) in zip(recs, ack):
        if item != "-" and item != aitem:
            wrong.append(f"{op}: acknowledged item {aitem}, sent {item}")
        if blob not in where:
            missing += 1
        elif where[blob] != (u, z, aitem, ag):
            wrong.append(f"{op}: acknowledged {u}/{z} {aitem}@{ag}, database has {where[blob]}")
check(f"all {len(acks)} acknowledged pushes are present with their gencounts and blobs",
      missing == 0 and not wrong, f"{missing} missing; " + "; ".join(wrong[:3]))

# 2. A batch's records got consecutive gencounts in array order.
bad = [op for op, ack in acks.items() if [g for _, g in ack] != list(range(ack[0][1], ack[0][1] + len(ack)))]
check("every acknowledged batch has consecutive gencounts in array order", not bad, ", ".join(bad[:3]))

# 3. Dense and unique: per zone, the committed gencounts are exactly 1..gencount.
bad = []
for (u, z), (g, items, _, recs) in sorted(state.items()):
    gens = [r[1] for r in recs]
    if gens != list(range(1, g + 1)) or items != len(recs):
        bad.append(f"{u}/{z}: gencount {g}, items {items}, {len(recs)} records, "
                   f"gaps/dups at {sorted(set(range(1, g + 1)) ^ set(gens))[:5]}")
check(f"{len(state)} zones: committed gencounts are exactly 1..gencount, in order", not bad, "; ".join(bad[:3]))

# 3b. The incrementally maintained digest matches the records that survived.
bad = [f"{u}/{z}" for (u, z), (_, _, _, recs) in sorted(state.items()) if digests[(u, z)] != expected_digest(recs)]
check("each zone's digest equals the PROTOCOL.md formula over its surviving records", not bad, ", ".join(bad))

# 4. Nothing in the database that no client sent, and no blob twice.
known = {blob for (_, _, recs) in sends.values() for (_, blob) in recs}
phantoms = [b for b in where if b not in known]
check("every record was sent by a client, exactly once", not phantoms and dup_blobs == 0,
      f"{len(phantoms)} unknown, {dup_blobs} duplicated")

# 5. The zone's counter is at least its highest acknowledged gencount.
high = {}
for op, ack in acks.items():
    u, z, _ = sends[op]
    high[(u, z)] = max(high.get((u, z), 0), max(g for _, g in ack))
bad = [f"{k}: {state[k][0]} < {v}" for k, v in high.items() if state[k][0] < v]
check("each zone's gencount is at or above its highest acknowledged value", not bad, "; ".join(bad[:3]))

# 6. In-flight pushes (sent, never acknowledged) are all-or-nothing.
inflight = [op for op in sends if op not in acks]
committed, partial = [], []
for op in inflight:
    n = sum(1 for (_, blob) in sends[op][2] if blob in where)
    if n == len(sends[op][2]):
        committed.append(op)
    elif n:
        partial.append(op)
check(f"{len(inflight)} in-flight pushes ({len(committed)} committed) are all-or-nothing", not partial,
      ", ".join(partial[:3]))

# 7. Re-sending every in-flight op_id (and a few acknowledged ones) converges:
#    the original result if it committed, applied once otherwise; a second
#    re-send returns the same result again.
sample = random.sample(sorted(acks), min(5, len(acks)))
first = replay(inflight + sample)
second = replay(inflight + sample)
bad = []
for op in sample:
    if first[op] != acks[op]:
        bad.append(f"acknowledged {op}: replay gave {first[op]}, original {acks[op]}")
for op in committed:
    orig = [(where[blob][2], where[blob][3]) for (_, blob) in sends[op][2]]
    if first[op] != orig:
        bad.append(f"committed {op}: replay gave {first[op]}, database has {orig}")
for op in inflight:
    if first[op] != second[op]:
        bad.append(f"{op}: second replay gave {second[op]}, first {first[op]}")
check(f"re-sending {len(inflight)} in-flight and {len(sample)} acknowledged op_ids returns the original result",
      not bad, "; ".join(bad[:3]))
append(f"ACK {op} " + " ".join(f"{i} {g}" for i, g in first[op]) for op in inflight if isinstance(first[op], list))

# After the re-sends: the uncommitted ones are applied exactly once, zones stay dense.
after = db_state(zones)
where2 = {}
for (u, z), (_, _, _, recs) in after.items():
    for item, g, _, blob in recs:
        where2.setdefault(blob, []).append((u, z, item, g))
bad = []
for op in inflight:
    u, z, recs = sends[op]
    res = first[op]
    if not isinstance(res, list) or len(res) != len(recs):
        bad.append(f"{op}: {res}")
        continue
    for (_, blob), (item, g) in zip(recs, res):
        if where2.get(blob) != [(u, z, item, g)]:
            bad.append(f"{op}: returned {item}@{g}, database has {where2.get(blob)}")
for (u, z), (g, items, _, recs) in after.items():
    if [r[1] for r in recs] != list(range(1, g + 1)):
        bad.append(f"{u}/{z} not dense after re-sends")
applied = len(inflight) - len(committed)
check(f"the {applied} uncommitted in-flight pushes are applied exactly once; zones stay dense", not bad,
      "; ".join(bad[:3]))

# 8. Each zone's next push continues right above its counter (and so above
#    its highest acknowledged value).
probes, lines = {}, []
for (u, z) in sorted(zones):
    op = str(uuid.uuid4())
    item = str(uuid.uuid4())
    blob = uuid.UUID(op).bytes.hex() + "ff" + "00" * 8
    probes[op] = (u, z, item)
    lines.append(f"SEND {op} {u} {z} 1 {item} {blob}")
append(lines)
res = replay(list(probes))
bad = []
for op, (u, z, item) in probes.items():
    want = after[(u, z)][0] + 1
    if res[op] != [(item, want)] or want <= high.get((u, z), 0):
        bad.append(f"{u}/{z}: got {res[op]}, want {item}@{want} (highest acknowledged {high.get((u, z), 0)})")
check(f"each zone's next push gets its gencount + 1, above the highest acknowledged", not bad, "; ".join(bad[:3]))
append(f"ACK {op} " + " ".join(f"{i} {g}" for i, g in res[op]) for op in probes if isinstance(res[op], list))

sys.exit(0)
