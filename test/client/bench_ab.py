#!/usr/bin/env python3
# A/B of client binaries: a new device's first sync of 10,000 entries with each, interleaved
# per round (the order alternates) on one stack, wall and CPU time (docs/client.md, "Speed").
# Run by test/client/bench_ab.sh; CLIENT_AB_BINS="name=path,..." (required), CLIENT_AB_ROUNDS (9).
import atexit, os, resource, statistics, subprocess, sys, time
sys.path.insert(0, os.path.dirname(__file__))
from harness import ROOT, Device, Stack  # noqa
N = 10000
bins = [x.split("=", 1) for x in os.environ["CLIENT_AB_BINS"].split(",")]
rounds = int(os.environ.get("CLIENT_AB_ROUNDS", "9"))
stack = Stack(sys.argv[1], sys.argv[2]); stack.start_proxy()
atexit.register(stack.stop_proxy)  # the shell's trap removes the cluster, not the proxy
a = Device(stack, "ab-a", "ab"); a.join()
subprocess.run([os.path.join(ROOT, "build", "client", "unit-tests"), "populate", a.home, str(N)], check=True)
a.ok("sync"); stack.psql("VACUUM ANALYZE"); stack.psql("CHECKPOINT")
wall = {n: [] for n, _ in bins}; cpu = {n: [] for n, _ in bins}
k = 0
for i in range(rounds):
    for name, path in (bins if i % 2 == 0 else bins[::-1]):
        k += 1
        b = Device(stack, f"ab-b{k}", "ab"); b.join(a)
        env = b.env(); env.pop("CREDSYNC_CHECK_APPLIED_DIGEST", None)
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        r = subprocess.run([path, "--home", b.home, "--json", "sync"], env=env, capture_output=True, text=True)
        took = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        assert r.returncode == 0 and '"pulled": %d' % N in r.stdout, r
        wall[name].append(took * 1000); cpu[name].append((r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime) * 1000)
for name, _ in bins:
    print(f"{name:8s} wall median {statistics.median(wall[name]):6.1f} ms (min {min(wall[name]):.0f})  "
          f"cpu median {statistics.median(cpu[name]):6.1f} ms (min {min(cpu[name]):.0f})")
print("load", open("/proc/loadavg").read().split()[0])
