#!/usr/bin/env python3
"""Turns one bench run (bench/results/<stamp>/runs.jsonl) into tables of
ratios: RES/summary.md always, docs/performance.md and its chart with --doc.

Every ratio compares medians over rounds of variants that ran interleaved in
the same run; the min..max of the per-round ratios (variant A of round r over
variant B of round r) is given as the noise band.
"""
import collections
import json
import os
import re
import statistics
import subprocess
import sys

RES = os.path.abspath(sys.argv[1])
DOC = sys.argv[sys.argv.index("--doc") + 1] if "--doc" in sys.argv else None
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

rows = [json.loads(line) for line in open(os.path.join(RES, "runs.jsonl")) if line.strip()]


def read(name):
    p = os.path.join(RES, name)
    return open(p).read().strip() if os.path.exists(p) else ""


def runs(target, case, variant, clients=None):
    return [r for r in rows if r["target"] == target and r["case"] == case and r["variant"] == variant
            and (clients is None or r.get("clients") == clients)]


def med(target, case, variant, clients=None, key="tps"):
    v = [r[key] for r in runs(target, case, variant, clients) if r.get(key) is not None]
    return statistics.median(v) if v else None


def band(target, case, a, b, clients=None, key="tps", invert=False):
    """min..max over rounds of a/b (b/a with invert)."""
    ra = {r["round"]: r.get(key) for r in runs(target, case, a, clients)}
    rb = {r["round"]: r.get(key) for r in runs(target, case, b, clients)}
    q = []
    for k in ra:
        if ra.get(k) and rb.get(k):
            q.append(rb[k] / ra[k] if invert else ra[k] / rb[k])
    if not q:
        return ""
    return "%.2f..%.2f" % (min(q), max(q)) if len(q) > 1 else "(1 round)"


def errors(target):
    return any(r.get("error") for r in rows if r["target"] == target)


def fmt(x, nd=0):
    if x is None:
        return "n/a"
    return ("%%.%df" % nd) % x


def ratio_fmt(ratio, limit, nd=2):
    """A ratio to nd decimals, or one more where rounding would show it equal to its goal."""
    if ratio is not None and fmt(ratio, nd) == fmt(limit, nd) and ratio != limit:
        nd += 1
    return fmt(ratio, nd)


def verdict(ratio, limit, higher_is_better=True):
    if ratio is None:
        return "not measured"
    ok = ratio >= limit if higher_is_better else ratio <= limit
    return "**met**" if ok else "**not met**"


out = []
summary = []  # (target, what, measured, goal, verdict)
ROUNDS = max([r["round"] for r in rows] + [0]) + 1

# --- target 1 ---
t1_rows = []
if any(r["target"] == "t1" for r in rows):
    out.append("### 1. Single-record push: credsync vs PL/pgSQL vs the floor\n")
    out.append("pgbench `-M prepared`, a new 256-byte record per push to zone `default` of a random one of "
               "the users, NOTIFY at its default (on) for credsync and PL/pgSQL. Transactions per second "
               "(median of %d interleaved rounds); ratio band = min..max of the per-round ratios.\n" % ROUNDS)
    out.append("| synchronous_commit | clients | floor | PL/pgSQL | credsync | credsync / PL/pgSQL (goal ≥ 1.2) | band | "
               "credsync / floor (goal ≥ 0.85) | band |")
    out.append("|---|---:|---:|---:|---:|---:|---|---:|---|")
    for sync in ("on", "off"):
        case = "sync_%s" % sync
        for c in (1, 8, 32):
            f, p, cs = med("t1", case, "floor", c), med("t1", case, "plpgsql", c), med("t1", case, "credsync", c)
            if cs is None:
                continue
            r1 = cs / p if p else None
            r2 = cs / f if f else None
            t1_rows.append((sync, c, f, p, cs))
            out.append("| %s | %d | %s | %s | %s | %s %s | %s | %s %s | %s |" % (
                sync, c, fmt(f), fmt(p), fmt(cs), ratio_fmt(r1, 1.2), verdict(r1, 1.2),
                band("t1", case, "credsync", "plpgsql", c), ratio_fmt(r2, 0.85), verdict(r2, 0.85),
                band("t1", case, "credsync", "floor", c)))
            summary.append(("1", "push vs PL/pgSQL, sync %s, %d clients" % (sync, c), ratio_fmt(r1, 1.2) + "×", "≥ 1.2×", verdict(r1, 1.2)))
            summary.append(("1", "push vs floor, sync %s, %d clients" % (sync, c), ratio_fmt(r2, 0.85) + "×", "≥ 0.85×", verdict(r2, 0.85)))
    out.append("")

# --- target 2 ---
if any(r["target"] == "t2" for r in rows):
    out.append("### 2. Batch of 100 records per call vs single-record pushes\n")
    out.append("8 clients, new records, records per second (median). The floor's own two statements "
               "(bench/pgbench/push_floor.sql, push_many_floor.sql) ran in the same rounds: their ratio is "
               "what PostgreSQL's insert path allows without any of credsync's checks.\n")
    out.append("| synchronous_commit | single sync_push | sync_push_many × 100 | ratio (goal ≥ 20) | band "
               "| floor single | floor × 100 | floor ratio | sync_push_many / floor × 100 | PL/pgSQL sync_push_many × 100 |")
    out.append("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|")
    for sync in ("on", "off"):
        case = "sync_%s" % sync
        s, b, pb, fs, fb = (med("t2", case, v, key="records_per_s")
                            for v in ("single", "batch100", "plpgsql_batch100", "floor_single", "floor_batch100"))
        if s is None:
            continue
        r = b / s if s and b else None
        fr = fb / fs if fs and fb else None
        vs_floor = b / fb if b and fb else None
        out.append("| %s | %s | %s | %s %s | %s | %s | %s | %s | %s | %s |" % (
            sync, fmt(s), fmt(b), ratio_fmt(r, 20, 1), verdict(r, 20), band("t2", case, "batch100", "single", key="records_per_s"),
            fmt(fs), fmt(fb), fmt(fr, 1), fmt(vs_floor, 2), fmt(pb)))
        summary.append(("2", "batch 100 vs single, records/s, sync %s" % sync, ratio_fmt(r, 20, 1) + "×", "≥ 20×", verdict(r, 20)))
    out.append("")

# --- target 3 ---
if any(r["target"] == "t3" for r in rows):
    sizes = sorted({int(r["variant"].split("_")[1]) for r in rows if r["target"] == "t3"})
    out.append("### 3. Pull of 1,000 changes vs zone size\n")
    out.append("1 client, `sync_pull('puller1', zone, since = size, 1000)`: the zone's last 1,000 changes "
               "(256 KB of blobs) returned to pgbench. Mean time per call (median over rounds).\n")
    out.append("| zone size | ms per pull | ratio to the smallest zone | band |")
    out.append("|---:|---:|---:|---|")
    small = med("t3", "pull_1000", "zone_%d" % sizes[0], key="lat_ms")
    for n in sizes:
        m = med("t3", "pull_1000", "zone_%d" % n, key="lat_ms")
        r = m / small if m and small else None
        out.append("| %s | %s | %s | %s |" % ("{:,}".format(n), fmt(m, 2), fmt(r, 2),
                                          band("t3", "pull_1000", "zone_%d" % n, "zone_%d" % sizes[0], key="lat_ms")))
    big = med("t3", "pull_1000", "zone_%d" % sizes[-1], key="lat_ms")
    r = big / small if big and small else None
    summary.append(("3", "pull 1,000: %s-record zone / %s-record zone time" % ("{:,}".format(sizes[-1]), "{:,}".format(sizes[0])),
                    ratio_fmt(r, 1.3) + "×", "≤ 1.3×", verdict(r, 1.3, False)))
    out.append("")

# --- target 4 ---
if any(r["target"] == "t4" for r in rows):
    e, b = med("t4", "push_sync_off", "empty"), med("t4", "push_sync_off", "big")
    r = e / b if e and b else None
    out.append("### 4. Push into a database holding 1M records vs an empty one\n")
    out.append("8 clients, the single-record push of target 1 (synchronous_commit off, notify off, so that "
               "the data size is what differs, not fsync or notifications), users u1..uN: in `big` each already has "
               "100 records in `default`, in `fresh` they start empty.\n")
    out.append("| database | pushes/s | time per push relative to empty (goal ≤ 1.15) | band |")
    out.append("|---|---:|---:|---|")
    out.append("| no records (`fresh`: the same users' zones, empty) | %s | 1.00 | |" % fmt(e))
    import re
    m = re.search(r"big: (\d+) zones, (\d+) records", read("datasets.txt"))
    out.append("| %s records over %s users (`big`) | %s | %s %s | %s |" % (
        "{:,}".format(int(m.group(2))) if m else "?", "{:,}".format(int(m.group(1))) if m else "?",
        fmt(b), ratio_fmt(r, 1.15), verdict(r, 1.15, False), band("t4", "push_sync_off", "big", "empty", invert=True)))
    summary.append(("4", "push, 1M records stored / empty, time per push", ratio_fmt(r, 1.15) + "×", "≤ 1.15×", verdict(r, 1.15, False)))
    out.append("")

def cpu_table(t5):
    """Target 5's CPU budget: where a request's CPU went, and what the proxy could use at 0.7x."""
    cpu = {(r["case"][4:], r["variant"]): r["cpu_us"] for r in t5 if r["case"].startswith("cpu_") and "cpu_us" in r}
    if not cpu:
        return
    out.append("")
    out.append("Where a request's CPU goes, 8 connections, one run each after the rounds above (µs per request or "
               "transaction; client = wrk or pgbench from rusage, proxy from /proc, rest = every other busy CPU "
               "cycle of the machine: PostgreSQL, the kernel's share, noise). *Proxy + wrk budget* is what the "
               "proxy and wrk together could spend for proxy/direct to be 0.7 if the rest stayed as measured: "
               "direct total / 0.7 − the proxy path's rest (the old goal's budget, kept as a figure).\n")
    out.append("| call | path | client | proxy | rest | total | proxy + wrk budget at 0.7× |")
    out.append("|---|---|---:|---:|---:|---:|---:|")
    for call in ("push", "pull", "healthz"):
        for variant in ("proxy", "direct"):
            c = cpu.get((call, variant))
            if not c:
                continue
            budget = ""
            d = cpu.get((call, "direct"))
            if variant == "proxy" and d:
                budget = "%s (measured %s)" % (fmt(d["total"] / 0.7 - c["rest"]), fmt(c["client"] + c["proxy"]))
            label = "GET /healthz (one `SELECT 1`)" if call == "healthz" else call
            out.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                label, "proxy + wrk" if variant == "proxy" else "pgbench", fmt(c["client"]),
                fmt(c["proxy"]) if variant == "proxy" else "", fmt(c["rest"]), fmt(c["total"]), budget))


# --- target 5 ---
t5 = [r for r in rows if r["target"] == "t5"]
if t5:
    out.append("### 5. The HTTP proxy vs the direct path\n")
    if any(r["case"] == "skipped" for r in t5):
        out.append("Not measured: `proxy/credsync-proxy` was missing or did not start.\n")
        summary.append(("5", "proxy vs direct", "n/a", "reported", "not measured"))
    else:
        out.append("wrk (2 threads, keep-alive, a random one of 1,000 users' bearer tokens per request) against "
                   "`credsync-proxy` with its default flags, vs pgbench calling the same SQL function with the same "
                   "number of connections; synchronous_commit off for both (so the proxy's own cost is not hidden "
                   "behind fsync), NOTIFY on. Push: one new 256-byte record. Pull: `since=0&limit=100` of a user "
                   "holding 100 records (25.6 KB of blobs, base64 in JSON through the proxy). Latencies are per "
                   "request (wrk) / per transaction (pgbench log), median over rounds.\n")
        out.append("The proxy/direct ratio is a figure, not a goal: issue 15 dropped the 0.7× goal, which wrk, the "
                   "proxy and PostgreSQL sharing two cores put out of reach, for the CPU per request of target 7.\n")
        out.append("| call | connections | proxy req/s | direct tx/s | proxy / direct | band | proxy p50 / p99 ms | direct p50 / p99 ms | proxy non-2xx |")
        out.append("|---|---:|---:|---:|---:|---|---|---|---:|")
        for case in ("push", "pull"):
            for c in (8, 32, 128):
                p, d = med("t5", case, "proxy", c), med("t5", case, "direct", c)
                if p is None:
                    continue
                r = p / d if d else None
                non2xx = sum(x.get("non2xx", 0) for x in runs("t5", case, "proxy", c))
                out.append("| %s | %d | %s | %s | %s | %s | %s / %s | %s / %s | %d |" % (
                    case, c, fmt(p), fmt(d), fmt(r, 2), band("t5", case, "proxy", "direct", c),
                    fmt(med("t5", case, "proxy", c, "p50_ms"), 2), fmt(med("t5", case, "proxy", c, "p99_ms"), 1),
                    fmt(med("t5", case, "direct", c, "p50_ms"), 2), fmt(med("t5", case, "direct", c, "p99_ms"), 1), non2xx))
                summary.append(("5", "proxy / direct throughput, %s, %d connections" % (case, c), fmt(r, 2) + "×",
                                "reported", "reported"))
        idle = [r for r in t5 if r["case"] == "rss_idle"]
        r256 = [r for r in t5 if r["case"] == "rss_256"]
        if r256:
            x = r256[0]
            out.append("")
            out.append("Proxy resident memory: %s MiB idle after start; at 256 keep-alive connections (wrk push, %s req/s, "
                       "p50 %s ms, p99 %s ms, %d non-2xx): peak RSS %s MiB sampled every 0.2 s, VmHWM %s MiB, %s threads." % (
                           fmt((idle[0].get("rss_kb") or 0) / 1024.0, 1) if idle else "n/a", fmt(x.get("tps")),
                           fmt(x.get("p50_ms"), 2), fmt(x.get("p99_ms"), 1), x.get("non2xx", 0),
                           fmt((x.get("rss_peak_kb") or 0) / 1024.0, 1), fmt((x.get("rss_hwm_kb") or 0) / 1024.0, 1),
                           x.get("threads")))
            summary.append(("5", "proxy peak RSS at 256 connections", fmt((x.get("rss_peak_kb") or 0) / 1024.0, 1) + " MiB", "reported", "reported"))
        cpu_table(t5)
    out.append("")

# --- target 6 ---
if any(r["target"] == "t6" for r in rows):
    out.append("### 6. NOTIFY on vs off; one hot zone\n")
    out.append("32 clients, the single-record push of target 1, `credsync.notify` on vs off; the PL/pgSQL "
               "baseline without NOTIFY and the floor (which never notifies) run in the same rotation.\n")
    out.append("| synchronous_commit | credsync notify on | credsync notify off | on / off | band | PL/pgSQL notify off | floor | credsync (off) / PL/pgSQL (off) | credsync (off) / floor |")
    out.append("|---|---:|---:|---:|---|---:|---:|---:|---:|")
    for sync in ("on", "off"):
        case = "notify_sync_%s" % sync
        on, off = med("t6", case, "notify_on"), med("t6", case, "notify_off")
        pl, fl = med("t6", case, "plpgsql_notify_off"), med("t6", case, "floor")
        if on is None:
            continue
        r = on / off if off else None
        out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            sync, fmt(on), fmt(off), fmt(r, 2), band("t6", case, "notify_on", "notify_off"), fmt(pl), fmt(fl),
            fmt(off / pl if off and pl else None, 2), fmt(off / fl if off and fl else None, 2)))
        summary.append(("6", "notify on / off, 32 clients, sync %s" % sync, fmt(r, 2) + "×", "reported", "reported"))
    out.append("")
    s, h, hb = (med("t6", "hot_zone", v, key="records_per_s") for v in ("spread_single", "hot_single", "hot_batch100"))
    hl = med("t6", "hot_zone", "hot_single", key="lat_ms")
    out.append("16 writers, synchronous_commit on, notify off (so that the zone's row lock is what is "
               "measured). Records per second (median):\n")
    out.append("| workload | records/s | vs spread |")
    out.append("|---|---:|---:|")
    out.append("| 16 writers, each push to a random one of the users (spread) | %s | 1.00 |" % fmt(s))
    out.append("| 16 writers, one record per push, all to one zone (hot) | %s | %s |" % (fmt(h), fmt(h / s if h and s else None, 2)))
    out.append("| 16 writers, 100 records per push, all to one zone (hot, batched) | %s | %s |" % (fmt(hb), fmt(hb / s if hb and s else None, 2)))
    out.append("")
    if h and hl:
        out.append("Hot zone, one record per push: %s pushes/s means one commit every %.2f ms; each of the 16 "
                   "writers waits %.1f ms on average (pgbench latency)." % (fmt(h), 1000.0 / h, hl))
        summary.append(("6", "hot zone 16 writers: single / batch-100 records/s", "%s / %s" % (fmt(h), fmt(hb)), "reported", "reported"))
    out.append("")

# --- cpu: CPU per request of nginx, credsync-proxy and PostgreSQL (bench/cpu.py) ---
CPU_CALLS = [("push", 1), ("push", 100), ("pull", 1), ("pull", 100)]
cpu_rows = [r for r in rows if r["target"] == "cpu"]


def cpu_section():
    rounds = [r for r in cpu_rows if r["case"] == "per_request" and "cpu_us" in r]
    if any(r["case"] == "skipped" for r in cpu_rows) or not rounds:
        out.append("### 7. CPU per request: nginx, credsync-proxy, PostgreSQL\n")
        out.append("Not measured: `credsync-proxy` was missing or no run completed.\n")
        summary.append(("7", "proxy / nginx CPU per request", "n/a", "≤ 1.2×", "not measured"))
        return
    setup = next((r for r in cpu_rows if r["case"] == "setup" and r["variant"] == "stack"), {})
    end = next((r for r in cpu_rows if r["case"] == "setup" and r["variant"] == "end"), {})
    out.append("### 7. CPU per request: nginx, credsync-proxy, PostgreSQL\n")
    out.append("wrk → nginx → credsync-proxy → PostgreSQL, all on 127.0.0.1 (bench/cpu.py). nginx runs "
               "deploy/nginx/credsync.conf as shipped (upstream keep-alive 32, 4 s, 100 requests; its server block "
               "including deploy/nginx/credsync-server.conf) in the http block of Debian's nginx.conf "
               "(worker_processes auto: %s workers; access_log %s), listening on 127.0.0.1 without TLS; the "
               "proxy runs with `--threads 96` as credsync.conf says, its defaults otherwise (one access-log line "
               "per request, as nginx). synchronous_commit %s. Push: one request carrying 1 or 100 new 256-byte "
               "records. Pull: `since=0&limit=100` of a zone holding 1 or 100 such records. CPU = utime + stime "
               "from /proc/<pid>/stat of every nginx process, of the proxy (all its threads) and of every "
               "PostgreSQL process (+ the children the postmaster reaped), before and after a %s s wrk run, divided "
               "by the requests wrk completed; median of %d interleaved rounds. *wrk* is the load generator's own "
               "CPU; *rest* is every other busy cycle of the machine during the run (other engineers' work, kernel "
               "threads): noise, shown so that it can be judged. Context switches per request: voluntary + "
               "involuntary, summed over the threads in /proc/<pid>/task/*/status. Load average %s at the start of these runs, %s at "
               "their end.\n" % (
                   setup.get("nginx_workers", "?"), "on" if setup.get("access_log", True) else "off",
                   setup.get("synchronous_commit", "off"), setup.get("duration_s", "?"),
                   max([r["round"] for r in rounds]) + 1, " ".join(setup.get("loadavg_start", [])) or "?",
                   " ".join(end.get("loadavg_end", [])) or "?"))
    out.append("| call | records | connections | req/s | nginx µs | proxy µs | PostgreSQL µs | wrk µs | rest µs "
               "| proxy / nginx (goal ≤ 1.2) | band | context switches nginx / proxy / PostgreSQL | non-2xx |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|")
    for call, records in CPU_CALLS:
        for c in (8, 32):
            rs = [r for r in rounds if r["call"] == call and r["records"] == records and r["clients"] == c]
            if not rs:
                continue

            def m(key):
                return statistics.median([r["cpu_us"][key] for r in rs])
            ratios = [r["proxy_over_nginx"] for r in rs if r.get("proxy_over_nginx")]
            ratio = statistics.median(ratios) if ratios else None
            bnd = ("%.2f..%.2f" % (min(ratios), max(ratios))) if len(ratios) > 1 else "(1 round)"
            sw = [r["switches"] for r in rs if r.get("switches")]
            sws = " / ".join(fmt(statistics.median([x[k] for x in sw]), 1) for k in ("nginx", "proxy", "postgres")) \
                if sw else "n/a"
            out.append("| %s | %d | %d | %s | %s | %s | %s | %s | %s | %s %s | %s | %s | %d |" % (
                call, records, c, fmt(statistics.median([r["tps"] for r in rs])), fmt(m("nginx")), fmt(m("proxy")),
                fmt(m("postgres")), fmt(m("wrk")), fmt(m("rest")), ratio_fmt(ratio, 1.2), verdict(ratio, 1.2, False),
                bnd, sws, sum(r.get("non2xx", 0) for r in rs)))
            summary.append(("7", "proxy / nginx CPU per request, %s of %d record%s, %d connections" % (
                call, records, "" if records == 1 else "s", c), ratio_fmt(ratio, 1.2) + "×", "≤ 1.2×",
                verdict(ratio, 1.2, False)))
    bad = [r for r in cpu_rows if r.get("error") and r["case"] in ("per_request", "syscalls", "perf")]
    if bad:
        out.append("\n**%d of these runs had an error** (non-2xx answers, or more process CPU than the machine's busy "
                   "time): see `runs.jsonl` and `bench.log`." % len(bad))
    out.append("")
    sc = {r["variant"]: r for r in cpu_rows if r["case"] == "syscalls"}
    if sc:
        names = ["poll", "epoll_wait", "recvfrom", "sendto", "sendmsg", "writev", "write", "futex"]
        out.append("System calls per request, `strace -c -f` of the proxy (every thread) and of nginx's workers "
                   "during one wrk run per call (8 connections; strace slows both, so req/s are not comparable; the "
                   "counts per request are what it is for). Raw summaries: `profile/strace-*.txt`.\n")
        out.append("| call | process | total | " + " | ".join(names) + " | other |")
        out.append("|---|---|---:|" + "---:|" * (len(names) + 1))
        for call, records in CPU_CALLS:
            r = sc.get("%s-%d" % (call, records))
            if not r or not r.get("requests"):
                continue
            n = float(r["requests"])
            for who in ("nginx", "proxy"):
                counts = r.get(who, {})
                rest = sum(v for k, v in counts.items() if k not in names)
                out.append("| %s %d | %s | %.1f | %s | %.1f |" % (
                    call, records, who, sum(counts.values()) / n,
                    " | ".join("%.1f" % (counts.get(k, 0) / n) if counts.get(k) else "" for k in names), rest / n))
        out.append("")
    prof = {}
    pdir = os.path.join(RES, "profile")
    for call, records in CPU_CALLS:
        for who in ("proxy", "nginx"):
            path = os.path.join(pdir, "%s-%s-%d.json" % (who, call, records))
            if os.path.exists(path):
                prof[(who, call, records)] = json.load(open(path))
    cases = [cr for cr in CPU_CALLS if ("proxy",) + cr in prof]
    if cases:
        out.append("Where the proxy's CPU per request goes, from `perf record -e cpu-clock --call-graph dwarf` of the "
                   "proxy during one wrk run per call (8 connections; bench/proxy_profile.py charges each sample to "
                   "the step of the request whose frame is nearest the leaf). µs = the step's share of the samples × "
                   "the median CPU per request of the rounds above (8 connections): the profiled runs themselves "
                   "cost more (%s), since perf taxes what it watches. In the kernel, *switch* is switching threads out and in (a thread blocks in poll "
                   "or on a condition variable, or is preempted), *wake* is waking another thread (a futex, a "
                   "socket's readiness), *work* the rest (TCP and unix-socket paths, copies). The full summaries, "
                   "with the hottest functions, are `profile/proxy-*.txt` and `profile/nginx-*.txt`.\n" % ", ".join(
                       "%s %d: proxy %s µs, nginx %s µs" % (r["call"], r["records"], fmt(r["cpu_us"]["proxy"]),
                                                          fmt(r["cpu_us"]["nginx"]))
                       for r in cpu_rows if r["case"] == "perf" and "cpu_us" in r))
        # The profiled runs ran under perf, which costs the processes it watches
        # (a sample copies 16 KiB of stack; every switch of a watched thread
        # goes through perf): shares are taken from them, microseconds from the
        # median of the measured rounds above (8 connections).
        base = {}
        for (who, call, records) in prof:
            v = [r["cpu_us"][who] for r in rounds if r["call"] == call and r["records"] == records and r["clients"] == 8]
            base[(who, call, records)] = statistics.median(v) if v else prof[(who, call, records)].get("us")
        steps = collections.Counter()
        for cr in cases:
            p = prof[("proxy",) + cr]
            for name, v in p["steps"].items():
                steps[name] += v["n"] / p["samples"]
        head = " | ".join("%s %d" % cr for cr in cases)
        out.append("| step (proxy) | " + head + " |")
        out.append("|---|" + "---:|" * len(cases))

        def us(key, n):
            p = prof[key]
            return fmt(base[key] * n / p["samples"], 1) if base.get(key) else "%.1f%%" % (100.0 * n / p["samples"])
        for name, _ in steps.most_common():
            out.append("| %s | %s |" % (name, " | ".join(
                us(("proxy",) + cr, prof[("proxy",) + cr]["steps"].get(name, {}).get("n", 0)) for cr in cases)))
        for who in ("proxy", "nginx"):
            if not all((who,) + cr in prof for cr in cases):
                continue
            label = "credsync-proxy" if who == "proxy" else "nginx (its workers, same runs)"
            cells = []
            for cr in cases:
                key = (who,) + cr
                p = prof[key]
                k = {a: sum(v[a] for v in p["steps"].values()) for a in ("switch", "wake", "work")}
                user = p["samples"] - sum(k.values())
                cells.append("%s = %s user + %s switch + %s wake + %s kernel work" % (
                    us(key, p["samples"]), us(key, user), us(key, k["switch"]), us(key, k["wake"]), us(key, k["work"])))
            out.append("| **total, %s** | %s |" % (label, " | ".join(cells)))
        out.append("")


if cpu_rows:
    cpu_section()

# --- profile ---
prof = []
pdir = os.path.join(RES, "profile")
if os.path.isdir(pdir):
    for fn in sorted(os.listdir(pdir)):
        if fn.endswith(".txt") and not fn.endswith(".report.txt") and not fn.startswith(("strace-", "nginx-")) \
                and not re.match(r"proxy-(push|pull)-\d+\.txt$", fn):
            waits = os.path.join(pdir, fn[:-4] + ".waits")
            extra = "\n\n" + open(waits).read().strip() if os.path.exists(waits) else ""
            prof.append("`%s` (8 clients):\n\n```\n%s%s\n```\n" % (fn[:-4], open(os.path.join(pdir, fn)).read().strip(), extra))

# --- chart: throughput vs clients (target 1) ---
chart = None
if DOC and t1_rows:
    chart = os.path.join(os.path.dirname(DOC), "performance-push.png")
    dat = os.path.join(RES, "t1.dat")
    with open(dat, "w") as f:
        for sync in ("on", "off"):
            f.write("# synchronous_commit=%s: clients floor plpgsql credsync\n" % sync)
            for s, c, fl, p, cs in t1_rows:
                if s == sync:
                    f.write("%d %s %s %s\n" % (c, fl or 0, p or 0, cs or 0))
            f.write("\n\n")
    gp = """set terminal pngcairo size 1000,420 font ",10" noenhanced
set output '%s'
set multiplot layout 1,2 title "Single-record push throughput vs clients (median of interleaved rounds)"
set logscale x 2
set xtics (1, 8, 32)
set xrange [0.8:40]
set yrange [0:*]
set grid
set key top left
set xlabel "pgbench clients"
set ylabel "pushes per second"
set title "synchronous_commit = on"
plot '%s' index 0 using 1:2 with linespoints lw 2 title "floor (one SQL statement)", \\
     '' index 0 using 1:4 with linespoints lw 2 title "credsync.sync_push (C++)", \\
     '' index 0 using 1:3 with linespoints lw 2 title "PL/pgSQL contract"
set title "synchronous_commit = off"
plot '%s' index 1 using 1:2 with linespoints lw 2 title "floor (one SQL statement)", \\
     '' index 1 using 1:4 with linespoints lw 2 title "credsync.sync_push (C++)", \\
     '' index 1 using 1:3 with linespoints lw 2 title "PL/pgSQL contract"
unset multiplot
""" % (os.path.abspath(chart), dat, dat)
    with open(os.path.join(RES, "t1.gp"), "w") as f:
        f.write(gp)
    subprocess.run(["gnuplot", os.path.join(RES, "t1.gp")], check=True)

# --- write ---
rel = os.path.relpath(RES, ROOT)
head = ["| target | what | measured | goal | verdict |", "|---|---|---:|---|---|"]
head += ["| %s | %s | %s | %s | %s |" % s for s in summary]
measured = "\n".join(out)
machine = read("machine.txt")
settings = read("settings.txt")
datasets = read("datasets.txt")

summary_md = "# bench run %s\n\n%s\n\n%s\n\n## Profile\n\n%s\n\n## Machine\n\n```\n%s\n```\n\n## Settings\n\n```\n%s\n```\n\n## Datasets\n\n```\n%s\n```\n" % (
    os.path.basename(RES), "\n".join(head), measured, "\n".join(prof), machine, settings, datasets)
with open(os.path.join(RES, "summary.md"), "w") as f:
    f.write(summary_md)
print("\n".join(head))

if DOC:
    notes = open(os.path.join(ROOT, "bench", "notes.md")).read()
    doc = notes.replace("{{RUN}}", rel).replace("{{SUMMARY}}", "\n".join(head)).replace("{{MEASURED}}", measured) \
        .replace("{{PROFILE}}", "\n".join(prof) or "(no profile in this run)").replace("{{MACHINE}}", machine) \
        .replace("{{SETTINGS}}", settings).replace("{{DATASETS}}", datasets).replace("{{ROUNDS}}", str(ROUNDS))
    with open(DOC, "w") as f:
        f.write(doc)
    print("wrote %s%s" % (DOC, " and " + chart if chart else ""))
