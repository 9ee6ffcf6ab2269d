#!/usr/bin/env python3
"""Client speed (issue 12 item 7), test/client/bench.sh; in `make bench` as
target "client" (bench/run.sh).

  1. A new device's first sync of an N-entry vault (default 10,000), side by
     side with plain HTTP pulls of the same pages, in one run:
       - client: the wall time of `credsync --json sync` on a home that has
         just logged in (the login, with its Argon2id, is done before and not
         timed): the process start, opening the store, GET /v1/account (the
         server's limits, first sync only), GET /v1/zones, every page
         (since=0, then full=true, 1000 records), authenticating, decrypting
         and checking every entry, storing them in one SQLite transaction
         (synchronous=FULL), GET /v1/zones/{zone} and the local digest to
         verify it, and closing the store;
       - plain: the same pages with the same token through Python's
         http.client on one kept-alive connection, the bodies read and
         nothing decoded but next_since and more.
     ROUNDS rounds (default 5), each a new device, each round's plain pulls
     right after its sync. The ratio is of the medians; the goal (<= 2) is
     reported met or not met. CLIENT_BENCH_PROFILE=1 also prints `strace -c`
     of one more first sync.
  2. The requests a sync with nothing new makes (from the proxy's access
     log): the goal is one.

Exits 0 (a measurement, not a check)."""
import http.client
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import CLIENT, ROOT, Device, Stack  # noqa: E402

N = int(os.environ.get("CLIENT_BENCH_ENTRIES", "10000"))
ROUNDS = int(os.environ.get("CLIENT_BENCH_ROUNDS", "5"))
stack = Stack(sys.argv[1], sys.argv[2])
stack.start_proxy()
a = Device(stack, "bench-a", "bench")
a.join()
t0 = time.time()
subprocess.run([os.path.join(ROOT, "build", "client", "unit-tests"), "populate", a.home, str(N)], check=True)
print(f"# {N} entries added in {time.time() - t0:.1f} s", flush=True)
t0 = time.time()
a.ok("sync")
print(f"# pushed in {time.time() - t0:.1f} s", flush=True)
# The server settles before anything is timed (autovacuum and the checkpoint
# after 10,000 inserts would land in the first rounds of one side or the other).
stack.psql("VACUUM ANALYZE")
stack.psql("CHECKPOINT")


def plain_pulls(token):
    conn = http.client.HTTPConnection("127.0.0.1", stack.proxy_port)
    since, full, pages, got = 0, False, 0, 0
    t0 = time.perf_counter()
    while True:
        conn.request("GET", f"/v1/zones/default/pull?since={since}&limit=1000" + ("&full=true" if full else ""),
                     headers={"Authorization": "Bearer " + token})
        body = conn.getresponse().read()
        pages += 1
        got += body.count(b'"item"')
        more = b'"more":true' in body or b'"more": true' in body
        since = int(re.search(rb'"next_since":\s*(\d+)', body).group(1))
        if not more:
            break
        full = True
    took = time.perf_counter() - t0
    conn.close()
    return took, pages, got


def first_sync(dev):
    t0 = time.perf_counter()
    env = dev.env()
    env.pop("CREDSYNC_CHECK_APPLIED_DIGEST")  # a test hook: it scans the zone again
    r = subprocess.run([CLIENT, "--home", dev.home, "--json", "sync"], env=env, capture_output=True, text=True)
    took = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"first sync failed: {r.stderr}")
    return took, r


syncs, plains, pages, got = [], [], 0, 0
plain_pulls(stack.token("bench", "warm-up"))  # the server's caches, for both sides alike
for i in range(ROUNDS):
    b = Device(stack, f"bench-b{i}", "bench")
    b.join(a)
    took, r = first_sync(b)
    assert '"pulled": %d' % N in r.stdout, r.stdout
    syncs.append(took)
    # the device's own token, from its home (what the client sent)
    tok = sqlite3.connect(os.path.join(b.home, "credsync.db")).execute(
        "SELECT value FROM meta WHERE key = 'token'").fetchone()[0]
    tok = tok.decode() if isinstance(tok, bytes) else tok
    p, pages, got = plain_pulls(tok)
    plains.append(p)
    print(f"# round {i + 1}: first sync {took * 1000:.0f} ms, plain pulls {p * 1000:.0f} ms", flush=True)

ms = lambda xs: " ".join(f"{x * 1000:.0f}" for x in sorted(xs))  # noqa: E731
s_med, p_med = statistics.median(syncs), statistics.median(plains)
ratio = s_med / p_med
print(f"first sync of {N} entries ({pages} pages, {got} records), {ROUNDS} rounds, median (all, ms):")
print(f"  client credsync sync      {s_med * 1000:7.1f} ms   ({ms(syncs)})")
print(f"  plain HTTP pulls          {p_med * 1000:7.1f} ms   ({ms(plains)})")
print(f"  ratio {ratio:.2f} (best-of-{ROUNDS} ratio {min(syncs) / min(plains):.2f}); goal <= 2: "
      f"{'met' if ratio <= 2 else 'NOT met'}")
print(f"  load average at the end: {open('/proc/loadavg').read().split()[0]} on {os.cpu_count()} CPUs")

if os.environ.get("CLIENT_BENCH_PROFILE") == "1":
    b = Device(stack, "bench-strace", "bench")
    b.join(a)
    out = os.path.join(stack.work, "strace.txt")
    env = b.env()
    env.pop("CREDSYNC_CHECK_APPLIED_DIGEST")
    subprocess.run(["strace", "-f", "-c", "-o", out, CLIENT, "--home", b.home, "sync"], env=env,
                   capture_output=True, check=True)
    print("# strace -c -f of one more first sync:")
    print("".join("#   " + line for line in open(out).readlines()[:14]))

time.sleep(1)  # the proxy writes its log from its own thread
log_before = open(stack.proxy_log).read().count("\n")
b.ok("sync")
time.sleep(1)
stack.stop_proxy()
lines = open(stack.proxy_log).read().splitlines()[log_before:]
reqs = [line for line in lines if " /v1/" in line]
print(f"a sync with nothing new: {len(reqs)} request{'s' if len(reqs) != 1 else ''} "
      f"(goal 1: {'met' if len(reqs) == 1 else 'NOT met'}): " + "; ".join(re.sub(r'^\S+ \S+ ', '', x) for x in reqs))
