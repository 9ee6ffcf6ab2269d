#!/usr/bin/env python3
"""Runs the side-by-side measurements of `make bench` (called by bench/run.sh).

The cluster, the databases and their datasets are ready (run.sh); this runs
every target's variants interleaved (round r runs the variants in an order
rotated by r, so no variant always goes first or last), keeps each run's raw
output under RES/raw/, and appends one JSON line per run to RES/runs.jsonl.
report.py turns that file into the tables of docs/performance.md.

Environment: RES, PGHOST, PGPORT (the cluster), BENCH_QUICK, BENCH_DURATION,
BENCH_ROUNDS, BENCH_ONLY (comma list of targets t1..t6, cpu, profile), PULL_SIZES,
BIG_USERS, PROXY (path of credsync-proxy); bench/cpu.py lists the cpu target's own.
"""
import json
import os
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time

from perf_script import short_symbol

RES = os.environ["RES"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
QUICK = os.environ.get("BENCH_QUICK", "0") == "1"
DUR = int(os.environ.get("BENCH_DURATION", "2" if QUICK else "4"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "1" if QUICK else "3"))
ONLY = [t for t in os.environ.get("BENCH_ONLY", "").split(",") if t]
PULL_SIZES = [int(x) for x in os.environ["PULL_SIZES"].split(",")]
BIG_USERS = int(os.environ["BIG_USERS"])
TOKEN_USERS = 1000
PROXY = os.environ.get("PROXY", os.path.join(ROOT, "proxy", "credsync-proxy"))
RAW = os.path.join(RES, "raw")
os.makedirs(RAW, exist_ok=True)
RUNS = open(os.path.join(RES, "runs.jsonl"), "a")
seq = 0


def log(msg):
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def wanted(target):
    return not ONLY or target in ONLY


def record(row):
    RUNS.write(json.dumps(row) + "\n")
    RUNS.flush()


def psql(db, sql):
    return subprocess.run(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql],
                          check=True, capture_output=True, text=True).stdout.strip()


def script(name):
    return os.path.join(BENCH, "pgbench", name + ".sql")


def pgbench(tag, db, name, clients, defines=None, options="", duration=None, latency_log=False):
    """One pgbench run; returns {tps, lat_ms, failed, ...} and keeps the raw output."""
    global seq
    seq += 1
    duration = duration or DUR
    base = os.path.join(RAW, "%03d-%s" % (seq, tag))
    cmd = ["pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", str(min(clients, 2)),
           "-T", str(duration), "-f", script(name)]
    for k, v in (defines or {}).items():
        cmd += ["-D", "%s=%s" % (k, v)]
    if latency_log:
        cmd += ["-l", "--log-prefix", base + ".lat"]
    cmd.append(db)
    env = dict(os.environ, PGOPTIONS=options)
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    with open(base + ".log", "w") as f:
        f.write("$ PGOPTIONS=%r %s\n%s\n%s" % (options, " ".join(cmd), p.stdout, p.stderr))
    out = p.stdout + p.stderr
    m = re.search(r"^tps = ([\d.]+) \(without initial connection time\)", out, re.M)
    lat = re.search(r"^latency average = ([\d.]+) ms", out, re.M)
    failed = re.search(r"^number of failed transactions: (\d+)", out, re.M)
    result = {"tps": float(m.group(1)) if m else 0.0, "lat_ms": float(lat.group(1)) if lat else None,
              "failed": int(failed.group(1)) if failed else None, "rc": p.returncode,
              "raw": os.path.relpath(base + ".log", RES)}
    if p.returncode != 0 or not m or "aborted" in out:
        result["error"] = True
        log("  ! pgbench %s failed (rc %d): %s" % (tag, p.returncode, out.strip().splitlines()[-1:]))
    if latency_log:
        lats = []
        for fn in sorted(os.listdir(RAW)):
            if fn.startswith(os.path.basename(base) + ".lat"):
                with open(os.path.join(RAW, fn)) as f:
                    lats += [int(line.split()[2]) for line in f if line.strip()]
                os.unlink(os.path.join(RAW, fn))
        if lats:
            lats.sort()
            result["p50_ms"] = lats[len(lats) // 2] / 1000.0
            result["p99_ms"] = lats[min(len(lats) - 1, int(len(lats) * 0.99))] / 1000.0
    return result


def interleave(target, case, variants, rounds=None, **common):
    """variants: list of (name, fn(round) -> metrics dict); runs them A,B,C / B,C,A / ..."""
    rounds = rounds or ROUNDS
    for r in range(rounds):
        order = variants[r % len(variants):] + variants[:r % len(variants)]
        for name, fn in order:
            metrics = fn(r)
            row = dict(common, target=target, case=case, variant=name, round=r, **metrics)
            record(row)
            log("  %s %s %-22s round %d: %.0f/s%s" % (target, case, name, r, metrics.get("tps", 0),
                                                        " ERROR" if metrics.get("error") else ""))


def sync_opts(sync, notify=None):
    o = "-c synchronous_commit=%s" % sync
    if notify is not None:
        o += " -c credsync.notify=%s -c plcredsync.notify=%s" % (notify, notify)
    return o


# --- target 1: single-record push: floor vs PL/pgSQL vs credsync ------------
def t1():
    log("target 1: single-record push, %d users" % BIG_USERS)
    d = {"users": BIG_USERS}
    for sync in ("on", "off"):
        for c in (1, 8, 32):
            case = "sync_%s" % sync
            interleave("t1", case, [
                ("floor", lambda r, c=c, sync=sync: pgbench("t1-floor-%s-c%d" % (sync, c), "bench", "push_floor", c, d, sync_opts(sync))),
                ("plpgsql", lambda r, c=c, sync=sync: pgbench("t1-plpgsql-%s-c%d" % (sync, c), "bench", "push_plpgsql", c, d, sync_opts(sync))),
                ("credsync", lambda r, c=c, sync=sync: pgbench("t1-credsync-%s-c%d" % (sync, c), "bench", "push_credsync", c, d, sync_opts(sync))),
            ], clients=c, sync=sync)


# --- target 2: batch of 100 vs single pushes ---------------------------------
def t2():
    log("target 2: batch of 100 records per call vs single-record pushes (8 clients)")
    d = {"users": BIG_USERS}
    for sync in ("on", "off"):
        interleave("t2", "sync_%s" % sync, [
            ("single", lambda r, sync=sync: scale(pgbench("t2-single-%s" % sync, "bench", "push_credsync", 8, d, sync_opts(sync)), 1)),
            ("batch100", lambda r, sync=sync: scale(pgbench("t2-batch-%s" % sync, "bench", "push_many_credsync", 8, d, sync_opts(sync)), 100)),
            ("plpgsql_batch100", lambda r, sync=sync: scale(pgbench("t2-plbatch-%s" % sync, "bench", "push_many_plpgsql", 8, d, sync_opts(sync)), 100)),
            # the floor's own batch/single ratio: what PostgreSQL's insert path allows
            ("floor_single", lambda r, sync=sync: scale(pgbench("t2-floor-single-%s" % sync, "bench", "push_floor", 8, d, sync_opts(sync)), 1)),
            ("floor_batch100", lambda r, sync=sync: scale(pgbench("t2-floor-batch-%s" % sync, "bench", "push_many_floor", 8, d, sync_opts(sync)), 100)),
        ], clients=8, sync=sync)


def scale(m, k):
    m["records_per_s"] = m["tps"] * k
    return m


# --- target 3: pull of 1,000 changes vs zone size ----------------------------
def t3():
    log("target 3: pull of the last 1,000 changes from zones of %s records" % PULL_SIZES)
    variants = []
    for n in PULL_SIZES:
        variants.append(("zone_%d" % n, lambda r, n=n: pgbench(
            "t3-pull-%d" % n, "pull", "pull_credsync", 1, {"zone": "z%d" % n, "since": n})))
    interleave("t3", "pull_1000", variants, clients=1)


# --- target 4: push into a big database vs an empty one ----------------------
def t4():
    log("target 4: push, %d users x 100 records stored vs none (8 clients)" % BIG_USERS)
    d = {"users": BIG_USERS}
    opts = sync_opts("off", "off")
    # warm both databases first (not measured): the first pushes into `big` would
    # otherwise pay for reading its index pages into shared_buffers
    for db in ("fresh", "big"):
        pgbench("t4-warmup-%s" % db, db, "push_credsync", 8, d, opts, duration=3)
    interleave("t4", "push_sync_off", [
        ("empty", lambda r: pgbench("t4-empty", "fresh", "push_credsync", 8, d, opts)),
        ("big", lambda r: pgbench("t4-big", "big", "push_credsync", 8, d, opts)),
    ], clients=8)


# --- target 5: the proxy vs the direct path ----------------------------------
def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def rss_kb(pid, field="VmRSS"):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def wrk(tag, url, lua, conns, duration=None, sample_pid=None, script_env=None):
    """One wrk run; script_env: variables for the Lua script (BENCH_RECORDS, BENCH_ZONE, ...)."""
    global seq
    seq += 1
    duration = duration or DUR
    base = os.path.join(RAW, "%03d-%s" % (seq, tag))
    cmd = ["wrk", "-t", "2", "-c", str(conns), "-d", "%ds" % duration, "--latency"]
    cmd += ["-s", os.path.join(BENCH, "wrk", lua)] if lua else []
    cmd.append(url)
    env = dict(os.environ, BENCH_TOKENS=os.path.join(RES, "tokens.txt"), **(script_env or {}))
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = 0
    if sample_pid:
        while p.poll() is None:
            peak = max(peak, rss_kb(sample_pid) or 0)
            time.sleep(0.2)
    out, _ = p.communicate()
    with open(base + ".log", "w") as f:
        f.write("$ %s\n%s" % (" ".join(cmd), out))

    def ms(s):
        v, unit = re.match(r"([\d.]+)(us|ms|s)", s).groups()
        return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    done = re.search(r"^\s*(\d+) requests in ", out, re.M)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errs = re.search(r"Socket errors: (.*)", out)
    result = {"tps": float(m.group(1)) if m else 0.0, "p50_ms": ms(p50.group(1)) if p50 else None,
              "p99_ms": ms(p99.group(1)) if p99 else None,
              "non2xx": int(non2xx.group(1)) if non2xx else 0,
              "socket_errors": errs.group(1) if errs else "", "raw": os.path.relpath(base + ".log", RES),
              "requests": int(done.group(1)) if done else 0}
    if sample_pid:
        result["rss_peak_kb"] = peak
    if not m or result["non2xx"]:
        result["error"] = True
        log("  ! wrk %s: %s non-2xx, output: %s" % (tag, result["non2xx"], out.strip().splitlines()[-3:]))
    return result


def proc_ticks(pid):
    """utime + stime of one process, in clock ticks."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def busy_ticks():
    """The machine's non-idle CPU time (user, nice, system, irq, softirq, steal), in clock ticks."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return sum(v) - v[3] - v[4]


def children_cpu_s():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def cpu_split(run, duration, proxy_pid=None):
    """Runs run() (one wrk or pgbench call, whose process this script reaps) and
    adds where the machine's CPU went, in microseconds per request: the load
    generator's own (rusage of the reaped child), the proxy's (/proc), and the
    rest (all other busy CPU: the database, the kernel's share, other noise)."""
    hz = os.sysconf("SC_CLK_TCK")
    c0, b0, p0 = children_cpu_s(), busy_ticks(), proc_ticks(proxy_pid) if proxy_pid else 0
    m = run()
    c1, b1, p1 = children_cpu_s(), busy_ticks(), proc_ticks(proxy_pid) if proxy_pid else 0
    n = m["tps"] * duration
    if n > 0:
        client, proxy, busy = (c1 - c0), (p1 - p0) / hz, (b1 - b0) / hz
        m["cpu_us"] = {"client": client * 1e6 / n, "proxy": proxy * 1e6 / n,
                       "rest": max(0.0, busy - client - proxy) * 1e6 / n, "total": busy * 1e6 / n}
    return m


def t5_cpu(url, proxy_pid, opts):
    """Where a request's CPU goes, 8 connections: push and pull through the
    proxy and direct, and GET /healthz (one SELECT 1) as the proxy's floor."""
    d = {"users": TOKEN_USERS}
    calls = [("push", "proxy", lambda: wrk("t5-cpu-proxy-push", url, "push.lua", 8), proxy_pid),
             ("push", "direct", lambda: pgbench("t5-cpu-direct-push", "big", "push_credsync", 8, d, opts), None),
             ("pull", "proxy", lambda: wrk("t5-cpu-proxy-pull", url, "pull.lua", 8), proxy_pid),
             ("pull", "direct", lambda: pgbench("t5-cpu-direct-pull", "big", "pull_page", 8, d, opts), None),
             ("healthz", "proxy", lambda: wrk("t5-cpu-proxy-healthz", url + "/healthz", None, 8), proxy_pid)]
    for call, variant, run, pid in calls:
        m = cpu_split(run, DUR, pid)
        record(dict(target="t5", case="cpu_" + call, variant=variant, round=0, clients=8, **m))
        if "cpu_us" in m:
            log("  cpu per %s request, %s: %s" % (call, variant, ", ".join(
                "%s %.0f us" % kv for kv in sorted(m["cpu_us"].items()))))


def profile_proxy(pid, url):
    """perf of the proxy process during a pull run: which of its functions the CPU is spent under."""
    if subprocess.run(["perf", "--version"], capture_output=True).returncode != 0 or not wanted("profile"):
        return
    pdir = os.path.join(RES, "profile")
    os.makedirs(pdir, exist_ok=True)
    for call, lua in (("pull", "pull.lua"), ("push", "push.lua")):
        data = os.path.join(pdir, "proxy-%s.perf.data" % call)
        env = dict(os.environ, BENCH_TOKENS=os.path.join(RES, "tokens.txt"))
        w = subprocess.Popen(["wrk", "-t", "2", "-c", "32", "-d", "6s", "-s", os.path.join(BENCH, "wrk", lua), url],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(1)
        subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-F", "499", "--call-graph", "dwarf,16384",
                        "-p", str(pid), "-o", data, "--", "sleep", "4"], capture_output=True)
        wout, _ = w.communicate()
        if not os.path.exists(data):
            continue
        rep = subprocess.run(["perf", "report", "-i", data, "--children", "--sort", "symbol", "--stdio", "-g", "none"],
                             capture_output=True, text=True).stdout
        samples = re.search(r"# Samples: (\S+)", rep)
        lines = []
        for line in rep.splitlines():
            m = re.match(r"\s+([\d.]+)%\s+([\d.]+)%\s+\[(.)\] (.*?)\s+-\s+-\s*$", line)
            if not m:
                continue
            name = short_symbol(m.group(4))
            if re.match(r"(credsync::|httplib::|nlohmann::|PQ|pq|malloc|_int_malloc|cfree|free|operator new|__send|__recv|base64)", name) \
                    and float(m.group(1)) >= 2.0:
                lines.append("  %6s%%  %6s%%  %s" % (m.group(1), m.group(2), name[:110]))
        with open(os.path.join(pdir, "proxy-%s.txt" % call), "w") as f:
            f.write("perf of credsync-proxy during wrk %s, 32 connections (%s samples, 499 Hz; %s)\n" % (
                call, samples.group(1) if samples else "?", (re.search(r"Requests/sec:\s+\S+", wout) or [""])[0]))
            f.write("  children    self  function (with everything it calls)\n")
            f.write("\n".join(lines[:40]) + "\n")
        os.unlink(data)


def t5():
    if not os.access(PROXY, os.X_OK) or subprocess.run([PROXY, "--help"], capture_output=True).returncode != 0:
        log("target 5: skipped, %s is missing or does not run" % PROXY)
        record({"target": "t5", "case": "skipped", "variant": "proxy", "round": 0, "error": True})
        return
    port = free_port()
    conninfo = "host=%s port=%s user=postgres dbname=big options='-c synchronous_commit=off'" % (
        os.environ["PGHOST"], os.environ["PGPORT"])
    proxy_log = open(os.path.join(RAW, "proxy.log"), "w")
    proxy = subprocess.Popen([PROXY, "--db", conninfo, "--listen", "127.0.0.1:%d" % port],
                             stdout=proxy_log, stderr=subprocess.STDOUT)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        url = "http://127.0.0.1:%d" % port
        log("target 5: proxy (pid %d) at %s vs pgbench, synchronous_commit=off" % (proxy.pid, url))
        record({"target": "t5", "case": "rss_idle", "variant": "proxy", "round": 0,
                "rss_kb": rss_kb(proxy.pid)})
        d = {"users": TOKEN_USERS}
        opts = sync_opts("off")
        for c in (8, 32, 128):
            interleave("t5", "push", [
                ("proxy", lambda r, c=c: wrk("t5-proxy-push-c%d" % c, url, "push.lua", c)),
                ("direct", lambda r, c=c: pgbench("t5-direct-push-c%d" % c, "big", "push_credsync", c, d, opts, latency_log=True)),
            ], rounds=max(1, ROUNDS - 1), clients=c)
        for c in (8, 32, 128):
            interleave("t5", "pull", [
                ("proxy", lambda r, c=c: wrk("t5-proxy-pull-c%d" % c, url, "pull.lua", c)),
                ("direct", lambda r, c=c: pgbench("t5-direct-pull-c%d" % c, "big", "pull_page", c, d, opts, latency_log=True)),
            ], rounds=max(1, ROUNDS - 1), clients=c)
        t5_cpu(url, proxy.pid, opts)
        profile_proxy(proxy.pid, url)
        m = wrk("t5-proxy-push-c256", url, "push.lua", 256, sample_pid=proxy.pid)
        m["rss_hwm_kb"] = rss_kb(proxy.pid, "VmHWM")
        m["threads"] = len(os.listdir("/proc/%d/task" % proxy.pid))
        record(dict(target="t5", case="rss_256", variant="proxy", round=0, clients=256, **m))
        log("  proxy at 256 connections: %.0f/s, peak RSS %d kB" % (m["tps"], m["rss_peak_kb"]))
    finally:
        proxy.send_signal(signal.SIGTERM)
        try:
            proxy.wait(10)
        except subprocess.TimeoutExpired:
            proxy.kill()
        proxy_log.close()
        # the proxy logs every request: keep its head, its tail and the count
        path = os.path.join(RAW, "proxy.log")
        with open(path) as f:
            lines = f.readlines()
        if len(lines) > 200:
            with open(path, "w") as f:
                f.writelines(lines[:100])
                f.write("... %d request lines left out ...\n" % (len(lines) - 200))
                f.writelines(lines[-100:])


# --- target 6: NOTIFY on vs off; one hot zone --------------------------------
def t6():
    log("target 6: credsync.notify on vs off at 32 clients (+ PL/pgSQL without NOTIFY and the floor)")
    d = {"users": BIG_USERS}
    for sync in ("on", "off"):
        interleave("t6", "notify_sync_%s" % sync, [
            ("notify_on", lambda r, sync=sync: pgbench("t6-notify-on-%s" % sync, "bench", "push_credsync", 32, d, sync_opts(sync, "on"))),
            ("notify_off", lambda r, sync=sync: pgbench("t6-notify-off-%s" % sync, "bench", "push_credsync", 32, d, sync_opts(sync, "off"))),
            ("plpgsql_notify_off", lambda r, sync=sync: pgbench("t6-plpgsql-notify-off-%s" % sync, "bench", "push_plpgsql", 32, d, sync_opts(sync, "off"))),
            ("floor", lambda r, sync=sync: pgbench("t6-floor-%s" % sync, "bench", "push_floor", 32, d, sync_opts(sync))),
        ], clients=32, sync=sync)
    log("target 6: one hot zone, 16 writers (synchronous_commit=on, notify off)")
    opts = sync_opts("on", "off")
    interleave("t6", "hot_zone", [
        ("spread_single", lambda r: scale(pgbench("t6-spread", "bench", "push_credsync", 16, d, opts), 1)),
        ("hot_single", lambda r: scale(pgbench("t6-hot", "bench", "push_hot", 16, None, opts), 1)),
        ("hot_batch100", lambda r: scale(pgbench("t6-hot-batch", "bench", "push_many_hot", 16, None, opts), 100)),
    ], clients=16)


# --- profile: where sync_push spends its time --------------------------------
def profile():
    if subprocess.run(["perf", "--version"], capture_output=True).returncode != 0:
        log("profile: skipped, no perf")
        return
    pdir = os.path.join(RES, "profile")
    os.makedirs(pdir, exist_ok=True)
    for name, sync, notify in (("push_credsync", "off", "off"), ("push_credsync", "on", "on"),
                               ("push_many_credsync", "off", "off")):
        tag = "%s-sync_%s-notify_%s" % (name, sync, notify)
        log("profile: perf record of the backends during %s at 8 clients (sync %s, notify %s)" % (name, sync, notify))
        env = dict(os.environ, PGOPTIONS=sync_opts(sync, notify), PGAPPNAME="benchprof")
        dur = 4 if QUICK else 8
        pgb = subprocess.Popen(["pgbench", "-n", "-M", "prepared", "-c", "8", "-j", "2", "-T", str(dur),
                                "-D", "users=%d" % BIG_USERS, "-f", script(name), "bench"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(1.5)
        pids = psql("bench", "SELECT string_agg(pid::text, ',') FROM pg_stat_activity WHERE application_name = 'benchprof'")
        data = os.path.join(pdir, tag + ".perf.data")
        # off-CPU evidence: what the backends wait for, sampled every 0.1 s meanwhile
        waits = subprocess.Popen(["psql", "-XAtq", "-d", "bench"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, text=True)
        waits.stdin.write("SELECT coalesce(wait_event_type || ':' || wait_event, 'running (on CPU or runnable)')"
                          " FROM pg_stat_activity WHERE application_name = 'benchprof' \\watch 0.1\n")
        waits.stdin.flush()
        rec = subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-F", "499", "--call-graph", "dwarf,16384",
                              "-p", pids, "-o", data, "--", "sleep", str(dur - 3)], capture_output=True, text=True)
        waits.terminate()
        wout, _ = waits.communicate()
        counts = {}
        for line in wout.splitlines():
            if line.strip() and not line.startswith(("Time:", " ")) and "(" not in line[:1]:
                counts[line.strip()] = counts.get(line.strip(), 0) + 1
        n = sum(counts.values()) or 1
        with open(os.path.join(pdir, tag + ".waits"), "w") as f:
            f.write("pg_stat_activity of the 8 backends, sampled every 0.1 s: %d backend-samples\n" % n)
            for k, v in sorted(counts.items(), key=lambda kv: -kv[1]):
                f.write("  %-50s %5.1f%%\n" % (k, 100.0 * v / n))
        out, _ = pgb.communicate()
        if not os.path.exists(data):
            log("  ! perf record failed (backends %r): %s" % (pids, rec.stderr.strip()[-300:]))
            continue
        with open(os.path.join(pdir, tag + ".pgbench.log"), "w") as f:
            f.write(out)
        with open(os.path.join(pdir, tag + ".txt"), "w") as f:
            subprocess.run([sys.executable, os.path.join(BENCH, "profile.py"), data], stdout=f, check=False)
        with open(os.path.join(pdir, tag + ".report.txt"), "w") as f:
            subprocess.run(["perf", "report", "-i", data, "--children", "--sort", "symbol", "--stdio",
                            "-g", "none", "--percent-limit", "1"], stdout=f, stderr=subprocess.DEVNULL)
        os.unlink(data)  # large; the two text summaries are what we keep


# --- cpu: CPU per request of nginx, the proxy and PostgreSQL (issue 15) -----
def cpu():
    sys.path.insert(0, BENCH)
    sys.dont_write_bytecode = True  # no bench/__pycache__ in the checkout
    import cpu as target  # bench/cpu.py
    target.run(sys.modules[__name__])


def main():
    t0 = time.time()
    for name, fn in (("t1", t1), ("t2", t2), ("t3", t3), ("t4", t4), ("t6", t6), ("t5", t5), ("cpu", cpu),
                     ("profile", profile)):
        if wanted(name):
            fn()
    log("measurements done in %.0f s" % (time.time() - t0))


if __name__ == "__main__":
    main()
