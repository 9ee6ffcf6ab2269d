#!/usr/bin/env python3
"""A/B of two credsync-proxy binaries, each behind its own nginx (bench/cpu.py's
start_nginx: target 7's configuration), on one cluster, interleaved: in round r
the (call, binary) pairs run in an order rotated by r, so that a change in the
machine's load hits both sides alike. Not part of make bench: it measures a
change to the proxy before it lands (issue 15's cuts).

    BENCH_KEEP=1 BENCH_ONLY=cpu BENCH_QUICK=1 BENCH_DOC=0 bash bench/run.sh   # a cluster
    python3 bench/ab.py CLUSTER_DIR OUT_DIR A_BINARY B_BINARY \\
        [--calls pull-1,push-1,pull-100,push-100] [--conns 8] [--rounds 4] [--dur 4]
        [--flags-a "..."] [--flags-b "..."]

A_BINARY and B_BINARY may be the same file with other flags (--flags-b
"--pool-size 32": the same proxy with a larger pool).

CLUSTER_DIR: the kept cluster (its database `big` seeded by bench/run.sh and
cpu.py). Prints, per call and side, the proxy's and nginx's CPU µs per request
of every round and their medians, the proxy's context switches per request
and req/s; writes the same to OUT_DIR/ab.txt and one JSON line per run to
OUT_DIR/runs.jsonl (wrk's output in OUT_DIR/raw/).
"""
import os
import statistics
import subprocess
import sys
import tempfile

args = sys.argv[1:]
opts = {}
for name in ("--calls", "--conns", "--rounds", "--dur", "--flags-a", "--flags-b"):
    if name in args:
        i = args.index(name)
        opts[name] = args[i + 1]
        del args[i:i + 2]
cluster, out, binaries = args[0], args[1], {"A": args[2], "B": args[3]}
calls = opts.get("--calls", "pull-1,push-1,pull-100,push-100").split(",")
conns = int(opts.get("--conns", "8"))
rounds = int(opts.get("--rounds", "4"))
dur = int(opts.get("--dur", "4"))
flags = {"A": opts.get("--flags-a", "").split(), "B": opts.get("--flags-b", "").split()}

os.makedirs(os.path.join(out, "raw"), exist_ok=True)
port = open(os.path.join(cluster, "port")).read().strip()
os.environ.update(PGHOST=os.path.join(cluster, "sock"), PGPORT=port, PGUSER="postgres", RES=out,
                  PULL_SIZES="1000", BIG_USERS="1000", BENCH_QUICK="1")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.dont_write_bytecode = True
import bench as b  # noqa: E402  (reads RES and the environment above)
import cpu  # noqa: E402

CALLS = {"%s-%d" % (c, n): (c, n, lua, env) for c, n, lua, env in cpu.CALLS}
tokens = os.path.join(out, "tokens.txt")
with open(tokens, "w") as f:
    f.write(b.psql("big", "SELECT credsync.issue_token('u' || g) FROM generate_series(1, 1000) g") + "\n")
cpu.seed(b)
work = tempfile.mkdtemp(prefix="credsync-ab-")
procs = []
sides = {}
try:
    conninfo = "host=%s port=%s user=postgres dbname=big options='-c synchronous_commit=off'" % (
        os.environ["PGHOST"], port)
    for side, binary in binaries.items():
        proxy_port, nginx_port = b.free_port(), b.free_port()
        log = open(os.path.join(out, "raw", "proxy-%s.log" % side), "w")
        proxy = subprocess.Popen([binary, "--db", conninfo, "--listen", "127.0.0.1:%d" % proxy_port,
                                  "--threads", "96"] + flags[side], stdout=log, stderr=subprocess.STDOUT)
        procs.append(proxy)
        cpu.wait_port(proxy_port, proxy, "credsync-proxy " + side)
        d = os.path.join(work, side)
        os.makedirs(d)
        nginx, _ = cpu.start_nginx(d, nginx_port, proxy_port, True)
        procs.append(nginx)
        sides[side] = (cpu.Meter(b, nginx.pid, proxy.pid, cpu.postmaster_pid(b)), "http://127.0.0.1:%d" % nginx_port)
    for side, (meter, url) in sides.items():
        for name in calls:
            call, n, lua, env = CALLS[name]
            b.wrk("ab-warmup-%s-%s" % (name, side), url, lua, 32, duration=2, script_env=env)
    loadavg_start = open("/proc/loadavg").read().split()[:3]
    pairs = [(name, side) for name in calls for side in sides]
    results = {}
    for r in range(rounds):
        order = pairs[r % len(pairs):] + pairs[:r % len(pairs)]
        for name, side in order:
            call, n, lua, env = CALLS[name]
            meter, url = sides[side]
            m = cpu.measured(b, meter, url, call, n, lua, env, conns, dur, "ab-%s-%s-r%d" % (name, side, r))
            m.update(side=side, round=r, binary=binaries[side])
            b.record(dict(m, target="ab", case=name, variant=side))
            results.setdefault((name, side), []).append(m)
    loadavg_end = open("/proc/loadavg").read().split()[:3]
finally:
    for p in procs:
        cpu.stop(p)
    os.unlink(tokens)

lines = ["A: %s %s" % (binaries["A"], " ".join(flags["A"])), "B: %s %s" % (binaries["B"], " ".join(flags["B"])),
         "%d connections, %d s runs, %d rounds interleaved; load average %s at the start, %s at the end" % (
             conns, dur, rounds, " ".join(loadavg_start), " ".join(loadavg_end)), ""]
for name in calls:
    med = {}
    for side in sides:
        ms = results[(name, side)]
        proxy = [m["cpu_us"]["proxy"] for m in ms if "cpu_us" in m]
        nginx = [m["cpu_us"]["nginx"] for m in ms if "cpu_us" in m]
        sw = [m["switches"]["proxy"] for m in ms if "switches" in m]
        ratio = [m["proxy_over_nginx"] for m in ms if m.get("proxy_over_nginx")]
        med[side] = statistics.median(proxy)
        lines.append("%-8s %s proxy us %s (median %.1f)  nginx us %s (median %.1f)  proxy/nginx median %.2f "
                     "[%.2f..%.2f]  proxy switches/req %s  req/s %s%s" % (
                         name, side, " ".join("%.1f" % x for x in proxy), med[side],
                         " ".join("%.1f" % x for x in nginx), statistics.median(nginx), statistics.median(ratio),
                         min(ratio), max(ratio), " ".join("%.1f" % x for x in sw),
                         " ".join("%.0f" % m["tps"] for m in ms),
                         "  ERRORS" if any(m.get("error") for m in ms) else ""))
    lines.append("%-8s B - A: %+.1f us per request (proxy, medians)" % (name, med["B"] - med["A"]))
text = "\n".join(lines) + "\n"
open(os.path.join(out, "ab.txt"), "w").write(text)
print(text)
