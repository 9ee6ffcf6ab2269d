"""Target `cpu` of make bench (issue 15): the CPU time one request costs nginx,
credsync-proxy and PostgreSQL, side by side in one run, through nginx with the
shipped configuration.

    wrk -> nginx -> credsync-proxy -> PostgreSQL (database `big`)

- nginx: deploy/nginx/credsync.conf as shipped (its upstream with keep-alive,
  its server block including deploy/nginx/credsync-server.conf), in the http
  block of Debian 12's /etc/nginx/nginx.conf (worker_processes auto, access_log
  on, sendfile, ...). Two changes only, both so that it runs on 127.0.0.1 as a
  throwaway: `listen 127.0.0.1:<free port>` without TLS (the proxy serves plain
  HTTP too; TLS would add nginx work the proxy does not do) and the upstream's
  port. The plain-HTTP redirect server is left out.
- credsync-proxy: the flags credsync.conf asks for (--threads 96), its own
  defaults otherwise (pool of 8, one access-log line per request to stderr, as
  nginx writes one access-log line per request).
- Rows: push and pull, with 1 and with 100 records of 256 bytes, at 8 and 32
  wrk connections. Push 1/100: one request carrying 1/100 new records into
  zone `push`. Pull 1/100: `since=0&limit=100` of zone `one` (1 record per
  user) / `default` (100 records per user). A random one of 1,000 users'
  tokens per request.
- CPU: utime + stime from /proc/<pid>/stat before and after one wrk run of
  fixed length: every nginx process (master and workers), the proxy (the
  process's line counts all its threads, those that ended too), PostgreSQL
  (the postmaster, every child, and the children it reaped meanwhile:
  cutime + cstime), divided by the requests wrk completed. wrk's own (rusage)
  and the rest of the machine's busy time (/proc/stat: other engineers' work,
  kernel threads) are kept beside them.
- The rows run interleaved (round r in the order rotated by r), after an
  unmeasured warm-up of each call (token cache, pool, upstream keep-alive).
- Then, per call at 8 connections: `strace -c -f` of the proxy and of nginx's
  workers during one wrk run (syscalls per request), and `perf record
  --call-graph dwarf` of the proxy (bench/proxy_profile.py: where its CPU
  goes), kept under RES/profile/.

Called from bench.py (BENCH_ONLY=cpu runs it alone) with the bench module, whose
helpers (wrk, interleave, record, ...) it uses. Environment: BENCH_CPU_DURATION
(seconds per wrk run, default 6, 3 in quick mode), BENCH_NGINX_ACCESS_LOG (on|off,
default on), BENCH_CPU_SYNC (the proxy's synchronous_commit, default off as target 5).
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HZ = os.sysconf("SC_CLK_TCK")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKEN_USERS = 1000
CALLS = [  # (call, records, lua script, its variables)
    ("push", 1, "push.lua", {"BENCH_RECORDS": "1", "BENCH_ZONE": "push"}),
    ("push", 100, "push.lua", {"BENCH_RECORDS": "100", "BENCH_ZONE": "push"}),
    ("pull", 1, "pull.lua", {"BENCH_ZONE": "one"}),
    ("pull", 100, "pull.lua", {"BENCH_ZONE": "default"}),
]
CONNS = (8, 32)


# --- CPU time of process groups, from /proc --------------------------------
def stat_fields(pid):
    """Fields 3.. of /proc/<pid>/stat (after the command name), or None if gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def ticks(pid, reaped=False):
    """utime + stime (+ cutime + cstime of reaped children), in clock ticks."""
    f = stat_fields(pid)
    if not f:
        return 0
    t = int(f[11]) + int(f[12])
    return t + int(f[13]) + int(f[14]) if reaped else t


def switches(pid):
    """Context switches (voluntary + involuntary) of every thread of a process."""
    n = 0
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return 0
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        n += int(line.split()[1])
        except OSError:
            pass
    return n


def children(ppid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            f = stat_fields(int(d))
            if f and int(f[1]) == ppid:
                out.append(int(d))
    return out


class Meter:
    """CPU ticks of nginx, the proxy and PostgreSQL; wrk's and the machine's."""

    def __init__(self, b, nginx_pid, proxy_pid, postmaster_pid):
        self.b, self.nginx, self.proxy, self.pm = b, nginx_pid, proxy_pid, postmaster_pid

    def snapshot(self):
        # The postmaster first: a backend that ends after this read and before
        # its own is lost to this snapshot (none do during a run: the proxy's
        # pool keeps its connections).
        pg = ticks(self.pm, reaped=True)
        pg_pids = children(self.pm)
        pg += sum(ticks(p) for p in pg_pids)
        workers = children(self.nginx)
        ng = ticks(self.nginx, reaped=True) + sum(ticks(p) for p in workers)
        return {"nginx": ng / HZ, "proxy": ticks(self.proxy) / HZ, "postgres": pg / HZ,
                "wrk": self.b.children_cpu_s(), "busy": self.b.busy_ticks() / HZ,
                # context switches of the threads alive at both ends (those that end are not counted)
                "sw_nginx": sum(switches(p) for p in workers), "sw_proxy": switches(self.proxy),
                "sw_postgres": sum(switches(p) for p in pg_pids)}

    def per_request(self, s0, s1, requests):
        d = {k: s1[k] - s0[k] for k in s0}
        us = {k: d[k] * 1e6 / requests for k in ("nginx", "proxy", "postgres", "wrk")}
        rest = d["busy"] - d["nginx"] - d["proxy"] - d["postgres"] - d["wrk"]
        us["rest"] = rest * 1e6 / requests
        us["busy"] = d["busy"] * 1e6 / requests
        # The processes cannot have used more CPU than the machine was busy;
        # beyond /proc's tick rounding (a few ticks), a measurement is wrong.
        us["overcounted"] = rest < -0.05 * d["busy"]
        return us

    def switches_per_request(self, s0, s1, requests):
        return {k[3:]: (s1[k] - s0[k]) / requests for k in s0 if k.startswith("sw_")}


# --- the stack: proxy, then nginx in front of it ---------------------------
def wait_port(port, proc, what):
    for _ in range(200):
        if proc.poll() is not None:
            raise RuntimeError("%s exited with %s" % (what, proc.returncode))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("%s did not start on port %d" % (what, port))


def site_conf(port, proxy_port):
    """deploy/nginx/credsync.conf, changed only where it cannot run here (see the module doc)."""
    text = open(os.path.join(ROOT, "deploy", "nginx", "credsync.conf")).read()

    def sub(pattern, repl, count_expected, flags=re.M):
        nonlocal text
        text, n = re.subn(pattern, repl, text, flags=flags)
        if n != count_expected:
            raise RuntimeError("deploy/nginx/credsync.conf changed shape: %r matched %d times, not %d; "
                               "update bench/cpu.py" % (pattern, n, count_expected))

    # the plain-HTTP redirect server, the last block of the file
    redirect = text.rfind("\nserver {")
    if redirect < 0 or "return 301" not in text[redirect:]:
        raise RuntimeError("deploy/nginx/credsync.conf: no redirect server block at its end; update bench/cpu.py")
    text = text[:redirect] + "\n"
    sub(r"^(\s*server\s+)127\.0\.0\.1:8080;", r"\g<1>127.0.0.1:%d;" % proxy_port, 1)
    sub(r"^(\s*)listen 443 ssl http2;", r"\1listen 127.0.0.1:%d;   # bench: no TLS, loopback" % port, 1)
    sub(r"^\s*listen \[::\]:443 ssl http2;\n", "", 1)
    sub(r"^\s*ssl_[a-z_]+ .*\n", "", 3)
    sub(r"include /etc/nginx/snippets/credsync-server\.conf;",
        "include %s;" % os.path.join(ROOT, "deploy", "nginx", "credsync-server.conf"), 1)
    return text


def start_nginx(work, port, proxy_port, access_log):
    prefix = os.path.join(work, "nginx")
    os.makedirs(os.path.join(prefix, "tmp"), exist_ok=True)
    os.chmod(work, 0o755)
    os.chmod(os.path.join(prefix, "tmp"), 0o777)
    with open(os.path.join(prefix, "credsync.conf"), "w") as f:
        f.write(site_conf(port, proxy_port))
    log = "access_log %s;" % os.path.join(prefix, "access.log") if access_log else "access_log off;"
    # Debian 12's /etc/nginx/nginx.conf, with paths of this throwaway prefix.
    conf = """user www-data;
worker_processes auto;
pid {p}/nginx.pid;
error_log {p}/error.log;
events {{ worker_connections 768; }}
http {{
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    {log}
    gzip on;
    client_body_temp_path {p}/tmp/body;
    proxy_temp_path {p}/tmp/proxy;
    fastcgi_temp_path {p}/tmp/fastcgi;
    uwsgi_temp_path {p}/tmp/uwsgi;
    scgi_temp_path {p}/tmp/scgi;
    include {p}/credsync.conf;
}}
""".format(p=prefix, log=log)
    path = os.path.join(prefix, "nginx.conf")
    with open(path, "w") as f:
        f.write(conf)
    proc = subprocess.Popen(["nginx", "-p", prefix, "-e", os.path.join(prefix, "error.log"), "-c", path,
                             "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    wait_port(port, proc, "nginx")
    return proc, path


def stop(proc):
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def postmaster_pid(b):
    data = b.psql("postgres", "SHOW data_directory")
    with open(os.path.join(data, "postmaster.pid")) as f:
        return int(f.readline())


# --- datasets ----------------------------------------------------------------
def seed(b):
    """Zone `one` (1 record) and an empty zone `push` for the token users u1..u1000."""
    if b.psql("big", "SELECT count(*) FROM credsync.zones WHERE zone = 'one'") == "0":
        b.psql("big", "SET synchronous_commit = off; SELECT bench_seed('u', %d, 1, 'one', 1, decode(repeat('5a', 256), 'hex'))"
               % TOKEN_USERS)
    b.psql("big", "INSERT INTO credsync.zones (user_id, zone) SELECT 'u' || g, 'push' FROM generate_series(1, %d) g "
                  "ON CONFLICT DO NOTHING" % TOKEN_USERS)
    b.psql("big", "VACUUM ANALYZE credsync.zones")


# --- one measured wrk run ------------------------------------------------------
def measured(b, meter, url, call, records, lua, env, conns, duration, tag):
    s0 = meter.snapshot()
    m = b.wrk(tag, url, lua, conns, duration=duration, script_env=env)
    s1 = meter.snapshot()
    m.update(call=call, records=records, clients=conns)
    if m.get("requests"):
        m["cpu_us"] = meter.per_request(s0, s1, m["requests"])
        m["switches"] = meter.switches_per_request(s0, s1, m["requests"])
        if m["cpu_us"].pop("overcounted"):
            m["error"] = True
            b.log("  ! cpu %s: the processes used more CPU than the machine was busy: %s" % (tag, m["cpu_us"]))
        c = m["cpu_us"]
        m["proxy_over_nginx"] = c["proxy"] / c["nginx"] if c["nginx"] else None
    return m


def strace_counts(path):
    """{syscall: calls} from an `strace -c` summary."""
    out = {}
    for line in open(path):
        f = line.split()
        # % time, seconds, usecs/call, calls, [errors], syscall
        if len(f) >= 5 and re.match(r"^[\d.]+$", f[0]) and f[-1] != "total" and f[3].isdigit():
            out[f[-1]] = int(f[3])
    return out


def syscalls(b, meter, url, pdir, duration):
    """strace -c -f of the proxy and of nginx's workers during one wrk run per call, 8 connections."""
    if not shutil.which("strace"):
        b.log("  cpu: no strace, syscall counts skipped")
        return
    for call, records, lua, env in CALLS:
        name = "%s-%d" % (call, records)
        files = {"proxy": os.path.join(pdir, "strace-proxy-%s.txt" % name),
                 "nginx": os.path.join(pdir, "strace-nginx-%s.txt" % name)}
        tracers = [subprocess.Popen(["strace", "-c", "-f", "-o", files["proxy"], "-p", str(meter.proxy)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
        cmd = ["strace", "-c", "-f", "-o", files["nginx"]]
        for w in children(meter.nginx):
            cmd += ["-p", str(w)]
        tracers.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(1.0)  # attached to every thread
        m = b.wrk("cpu-strace-%s" % name, url, lua, 8, duration=duration, script_env=env)
        for t in tracers:
            t.send_signal(signal.SIGINT)
        for t in tracers:
            t.wait(30)
        row = dict(call=call, records=records, clients=8, requests=m.get("requests", 0), tps=m.get("tps"),
                   non2xx=m.get("non2xx", 0), raw=m.get("raw"))
        for who, f in files.items():
            row[who] = strace_counts(f) if os.path.exists(f) else {}
            with open(f, "a") as out:
                out.write("\n# during %s (wrk, 8 connections): %d requests\n" % (row["raw"], row["requests"]))
        b.record(dict(target="cpu", case="syscalls", variant=name, round=0, **row))
        n = max(1, row["requests"])
        b.log("  cpu: syscalls per %s request: proxy %.1f, nginx %.1f (%d requests under strace)" % (
            name, sum(row["proxy"].values()) / n, sum(row["nginx"].values()) / n, row["requests"]))


def profile(b, meter, url, pdir, work, duration):
    """perf record of the proxy during one wrk run per call, 8 connections; proxy_profile.py reads it."""
    if subprocess.run(["perf", "--version"], capture_output=True).returncode != 0:
        b.log("  cpu: no perf, profile skipped")
        return
    for call, records, lua, env in CALLS:
        name = "%s-%d" % (call, records)
        # the proxy, and nginx's workers beside it for comparison
        targets = {"proxy": [meter.proxy], "nginx": children(meter.nginx)}
        recs = {}
        for who, pids in targets.items():
            data = os.path.join(work, "perf-%s-%s.data" % (who, name))
            recs[who] = (data, subprocess.Popen(
                ["perf", "record", "-q", "-e", "cpu-clock", "-F", "999", "--call-graph", "dwarf,16384",
                 "-p", ",".join(map(str, pids)), "-o", data, "--", "sleep", str(duration + 2)],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
        time.sleep(1.0)
        m = measured(b, meter, url, call, records, lua, env, 8, duration, "cpu-perf-%s" % name)
        b.record(dict(target="cpu", case="perf", variant=name, round=0, **m))
        for who, (data, rec) in recs.items():
            _, err = rec.communicate()
            if not os.path.exists(data):
                b.log("  ! cpu: perf record of %s failed: %s" % (who, err.strip()[-300:]))
                continue
            us = m.get("cpu_us", {}).get(who)
            with open(os.path.join(pdir, "%s-%s.txt" % (who, name)), "w") as f:
                f.write("%s during wrk %s (%d record(s)), 8 connections: %s req/s; its CPU per request in this "
                        "run (under perf, /proc): %s us (%s)\n" % (
                            "credsync-proxy" if who == "proxy" else "nginx's workers", call, records,
                            "%.0f" % m.get("tps", 0), "%.1f" % us if us else "?", m.get("raw")))
                f.flush()
                subprocess.run([sys.executable, os.path.join(ROOT, "bench", "proxy_profile.py"), data,
                                 "--json", os.path.join(pdir, "%s-%s.json" % (who, name))] +
                               (["--us", "%.3f" % us] if us else []) + (["--generic"] if who == "nginx" else []),
                               stdout=f, stderr=subprocess.STDOUT)
            os.unlink(data)  # large; the summary is what we keep
        b.log("  cpu: profiles of the proxy and nginx during %s written" % name)


# --- the target ------------------------------------------------------------------
def run(b):
    if not os.access(b.PROXY, os.X_OK):
        b.log("cpu: skipped, %s is missing" % b.PROXY)
        b.record({"target": "cpu", "case": "skipped", "variant": "proxy", "round": 0, "error": True})
        return
    dur = int(os.environ.get("BENCH_CPU_DURATION", "3" if b.QUICK else "6"))
    access_log = os.environ.get("BENCH_NGINX_ACCESS_LOG", "on") == "on"
    b.log("cpu: CPU per request of nginx, credsync-proxy and PostgreSQL (%d s runs, %d rounds, nginx access_log %s)"
          % (dur, b.ROUNDS, "on" if access_log else "off"))
    seed(b)
    work = tempfile.mkdtemp(prefix="credsync-bench-cpu-")
    pdir = os.path.join(b.RES, "profile")
    os.makedirs(pdir, exist_ok=True)
    proxy = nginx = None
    proxy_log_path = os.path.join(b.RAW, "cpu-proxy.log")
    try:
        proxy_port, port = b.free_port(), b.free_port()
        conninfo = "host=%s port=%s user=postgres dbname=big options='-c synchronous_commit=%s'" % (
            os.environ["PGHOST"], os.environ["PGPORT"], os.environ.get("BENCH_CPU_SYNC", "off"))
        with open(proxy_log_path, "w") as log:
            proxy = subprocess.Popen([b.PROXY, "--db", conninfo, "--listen", "127.0.0.1:%d" % proxy_port,
                                      "--threads", "96"], stdout=log, stderr=subprocess.STDOUT)
        wait_port(proxy_port, proxy, "credsync-proxy")
        nginx, conf = start_nginx(work, port, proxy_port, access_log)
        shutil.copy(conf, os.path.join(b.RAW, "cpu-nginx.conf"))
        shutil.copy(os.path.join(os.path.dirname(conf), "credsync.conf"), os.path.join(b.RAW, "cpu-nginx-site.conf"))
        meter = Meter(b, nginx.pid, proxy.pid, postmaster_pid(b))
        url = "http://127.0.0.1:%d" % port
        b.log("  nginx (pid %d, workers %s) on %s -> credsync-proxy (pid %d) on 127.0.0.1:%d" % (
            nginx.pid, ",".join(map(str, children(nginx.pid))), url, proxy.pid, proxy_port))
        b.record({"target": "cpu", "case": "setup", "variant": "stack", "round": 0, "duration_s": dur,
                  "nginx_workers": len(children(nginx.pid)), "access_log": access_log,
                  "synchronous_commit": os.environ.get("BENCH_CPU_SYNC", "off"),
                  "loadavg_start": open("/proc/loadavg").read().split()[:3]})
        for call, records, lua, env in CALLS:  # token cache, pool, keep-alive; not measured
            b.wrk("cpu-warmup-%s-%d" % (call, records), url, lua, 32, duration=2, script_env=env)
        variants = []
        for call, records, lua, env in CALLS:
            for c in CONNS:
                variants.append(("%s-%d-c%d" % (call, records, c), lambda r, call=call, records=records, lua=lua, env=env, c=c:
                                 measured(b, meter, url, call, records, lua, env, c, dur,
                                          "cpu-%s-%d-c%d" % (call, records, c))))
        b.interleave("cpu", "per_request", variants)
        syscalls(b, meter, url, pdir, max(2, dur // 2))
        profile(b, meter, url, pdir, work, dur)
        b.record({"target": "cpu", "case": "setup", "variant": "end", "round": 0,
                  "loadavg_end": open("/proc/loadavg").read().split()[:3]})
    finally:
        stop(nginx)
        stop(proxy)
        shutil.rmtree(work, ignore_errors=True)
        # the proxy logs every request: keep its head, its tail and the count
        if os.path.exists(proxy_log_path):
            with open(proxy_log_path) as f:
                lines = f.readlines()
            if len(lines) > 100:
                with open(proxy_log_path, "w") as f:
                    f.writelines(lines[:50])
                    f.write("... %d request lines left out ...\n" % (len(lines) - 100))
                    f.writelines(lines[-50:])
