#!/usr/bin/env python3
"""Client speed (issue 12 item 7), test/client/bench.sh:

  1. a new device's first sync of an N-entry vault (default 10,000) against
     plain HTTP pulls of the same pages (since=0, then full=true, 1000 per
     page, one kept-alive connection, no JSON decoding beyond next_since);
  2. the requests a sync with nothing new makes (from the proxy's log).

Prints the figures and the ratio; exits 0 (a measurement, not a check)."""
import http.client
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Device, Stack  # noqa: E402

N = int(os.environ.get("CLIENT_BENCH_ENTRIES", "10000"))
stack = Stack(sys.argv[1], sys.argv[2])
stack.start_proxy()
a = Device(stack, "bench-a", "bench")
a.join()
t0 = time.time()
import subprocess  # noqa: E402
from harness import ROOT  # noqa: E402
subprocess.run([os.path.join(ROOT, "build", "client", "unit-tests"), "populate", a.home, str(N)], check=True)
print(f"# {N} entries added in {time.time() - t0:.1f} s", flush=True)
t0 = time.time()
a.ok("sync")
print(f"# pushed in {time.time() - t0:.1f} s", flush=True)

b = Device(stack, "bench-b", "bench")
b.join(a)
t0 = time.time()
r = b.ok("--json", "sync")
t_sync = time.time() - t0
assert r.json()["pulled"] == N, r


def plain_pulls(token):
    conn = http.client.HTTPConnection("127.0.0.1", stack.proxy_port)
    since, full, pages, got = 0, False, 0, 0
    t0 = time.time()
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
    return time.time() - t0, pages, got


tok = b.token or stack.token("bench", "plain")
best = min(plain_pulls(tok) for _ in range(3))
print(f"first sync of {N} entries: {t_sync:.3f} s; plain HTTP pulls of the same pages: {best[0]:.3f} s "
      f"({best[1]} pages, {best[2]} records); ratio {t_sync / best[0]:.2f} (goal <= 2)")

time.sleep(1)  # the proxy writes its log from its own thread
log_before = open(stack.proxy_log).read().count("\n")
b.ok("sync")
stack.stop_proxy()
lines = open(stack.proxy_log).read().splitlines()[log_before:]
reqs = [line for line in lines if " /v1/" in line]
print(f"a sync with nothing new: {len(reqs)} requests: " + "; ".join(re.sub(r'^\S+ \S+ ', '', x) for x in reqs))
