#!/usr/bin/env python3
"""The proxy's start, stop and resources (issue 10, items 2 and 9), against
the real binary and a throwaway cluster (test/suites/42-lifecycle.sh):

  - a second proxy on a port already served refuses to start, with a clear
    message and a non-zero exit (no SO_REUSEPORT sharing of connections);
  - a SIGTERM that arrives at any moment of the start is not lost;
  - sockets numbered above 1024 are served (no select());
  - a stderr that nobody reads does not stall requests (asynchronous log);
  - the pool's TCP connections to PostgreSQL have keepalive timers (a silent
    partition is noticed in seconds, not in 15 minutes);
  - no compression, whatever Accept-Encoding says.
Prints ok/not ok lines."""
import os
import re
import resource
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "http"))
from tap import check  # noqa: E402
from client import PROXY, Client, Cluster, Proxy, b64, free_port  # noqa: E402

CLUSTER = Cluster(sys.argv[1])
WORK = sys.argv[2]


def t_second_proxy():
    first = Proxy(CLUSTER, os.path.join(WORK, "first.log")).start()
    try:
        t0 = time.time()
        r = subprocess.run([PROXY, "--db", CLUSTER.conninfo(), "--listen", f"127.0.0.1:{first.port}"],
                           capture_output=True, text=True, timeout=20)
        check("a second proxy on a port already served exits non-zero at once",
              r.returncode != 0 and time.time() - t0 < 10, f"rc={r.returncode}")
        check("... and says why (address in use)", "cannot listen" in r.stderr and "in use" in r.stderr,
              r.stderr[-300:])
        ok = all(first.client().get("/healthz").status == 200 for _ in range(20))
        check("... while the first one keeps serving every connection", ok)
    finally:
        first.stop()


def t_early_sigterm():
    """SIGTERM at many moments of the start: every one ends the proxy."""
    lost = []
    for i in range(24):
        port = free_port()
        p = subprocess.Popen([PROXY, "--db", CLUSTER.conninfo(), "--listen", f"127.0.0.1:{port}"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.002 * i)
        p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(10)
            # -15: the signal came before the proxy set up its handling, and
            # ended it by default; also not lost.
            if rc not in (0, -signal.SIGTERM):
                lost.append(f"delay {2 * i} ms: exit {rc}")
        except subprocess.TimeoutExpired:
            lost.append(f"delay {2 * i} ms: still running 10 s later")
            p.kill()
            p.wait()
    check("a SIGTERM at any moment of the start (0..46 ms after exec, 24 tries) ends the proxy",
          not lost, "; ".join(lost[:4]))


def t_high_fds():
    """The proxy inherits 1,100 open descriptors, so every socket it accepts
    is numbered above 1024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < 4096 and hard != resource.RLIM_INFINITY:
        check("high descriptors: the hard limit of open files allows 4096", False, f"hard={hard}")
        return
    fds = [os.open("/dev/null", os.O_RDONLY) for _ in range(1100)]
    try:
        def preexec():
            resource.setrlimit(resource.RLIMIT_NOFILE, (4096, hard))
        port = free_port()
        log = open(os.path.join(WORK, "highfd.log"), "ab")
        p = subprocess.Popen([PROXY, "--db", CLUSTER.conninfo(), "--listen", f"127.0.0.1:{port}"],
                             stdout=log, stderr=log, pass_fds=fds, preexec_fn=preexec)
        log.close()
    finally:
        for fd in fds:
            os.close(fd)
    try:
        c = Client(port)
        deadline = time.time() + 10
        r = None
        while time.time() < deadline:
            try:
                r = c.get("/healthz")
                break
            except OSError:
                time.sleep(0.05)
        tok = CLUSTER.psql("SELECT credsync.issue_token('highfd')")
        c.token = tok
        statuses = [c.push("z", [{"blob": b64(b"x")}]).status for _ in range(5)] + \
                   [c.pull("z").status for _ in range(5)]
        fdnums = [int(n) for n in os.listdir(f"/proc/{p.pid}/fd")]
        check("with every socket numbered above 1024 the proxy serves pushes and pulls",
              r is not None and r.status == 200 and statuses == [200] * 10 and max(fdnums) > 1024,
              f"{r} {statuses} max fd {max(fdnums)}")
    finally:
        p.terminate()
        p.wait(10)


def t_stalled_stderr():
    """stderr is a pipe that nobody reads: once it is full (64 KiB), a
    synchronous log write would block every request."""
    r_fd, w_fd = os.pipe()
    port = free_port()
    p = subprocess.Popen([PROXY, "--db", CLUSTER.conninfo(), "--listen", f"127.0.0.1:{port}"],
                         stdout=subprocess.DEVNULL, stderr=w_fd)
    os.close(w_fd)
    try:
        c = Client(port)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                c.get("/healthz")
                break
            except OSError:
                time.sleep(0.05)
        done = [0]

        def worker():
            for _ in range(400):
                if c.get("/healthz", timeout=5).status == 200:
                    done[0] += 1

        t0 = time.time()
        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        took = time.time() - t0
        # 1,600 log lines of ~60 bytes: well past the pipe's 64 KiB.
        check("with a stderr nobody reads, 1,600 requests (~100 KB of log lines) are all answered",
              done[0] == 1600, f"{done[0]} answered in {took:.1f}s")
        # Reading the pipe now lets the writer go on: the queued lines come
        # out (fewer than the queue's 10,000, so none was dropped).
        os.set_blocking(r_fd, False)
        text = b""
        deadline = time.time() + 10
        while time.time() < deadline and text.count(b"GET /healthz 200") < 1601:
            try:
                text += os.read(r_fd, 1 << 20)
            except BlockingIOError:
                time.sleep(0.05)
        check("... and once stderr is read again, every queued log line comes out",
              text.count(b"GET /healthz 200") >= 1601, text.count(b"GET /healthz 200"))
    finally:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
        os.close(r_fd)


def t_pool_keepalive():
    port = free_port()
    conninfo = f"host=127.0.0.1 port={CLUSTER.port} user=credsync_proxy dbname=credsync"
    log = open(os.path.join(WORK, "keepalive.log"), "ab")
    p = subprocess.Popen([PROXY, "--db", conninfo, "--listen", f"127.0.0.1:{port}"], stdout=log, stderr=log)
    log.close()
    try:
        c = Client(port)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                if c.get("/healthz").status == 200:
                    break
            except OSError:
                time.sleep(0.05)
        out = subprocess.run(["ss", "-tnopH", "state", "established", f"( dport = :{CLUSTER.port} )"],
                             capture_output=True, text=True).stdout
        mine = [l for l in out.splitlines() if f"pid={p.pid}," in l]
        check("the proxy's TCP connections to PostgreSQL (pool and listener) all have keepalive timers",
              len(mine) >= 2 and all("keepalive" in l for l in mine), out[-400:])
    finally:
        p.terminate()
        p.wait(10)


def t_no_compression():
    p = Proxy(CLUSTER, os.path.join(WORK, "gzip.log")).start()
    try:
        tok = CLUSTER.psql("SELECT credsync.issue_token('gzip')")
        c = p.client(tok)
        c.push("z", [{"blob": b64(b"A" * 3000)} for _ in range(20)])
        for enc in ("br", "gzip", "gzip, deflate, br", "*", "deflate"):
            r = c.pull("z", headers={"Accept-Encoding": enc})
            if not check(f"Accept-Encoding: {enc}: the pull comes back uncompressed",
                         r.status == 200 and "content-encoding" not in r.headers and r.json is not None,
                         r.headers):
                break
    finally:
        p.stop()


def t_check():
    def run(conninfo):
        return subprocess.run([PROXY, "--check", "--db", conninfo], capture_output=True, text=True, timeout=30)
    r = run(CLUSTER.conninfo())
    check("--check on a good configuration exits 0 and says it is in order",
          r.returncode == 0 and "in order" in r.stdout and "FAIL" not in r.stdout, r.stdout)
    r = run(f"host=127.0.0.1 port=1 user=credsync_proxy dbname=credsync")
    check("--check with an unreachable database exits 1 and says why",
          r.returncode == 1 and "FAIL database: cannot connect" in r.stdout, r.stdout)
    fn = "credsync.sync_pull_page(text,text,bigint,integer,boolean,bigint)"
    CLUSTER.psql(f"REVOKE EXECUTE ON FUNCTION {fn} FROM credsync_proxy")
    try:
        r = run(CLUSTER.conninfo())
        check("--check names a function the role may not execute, and the grant that fixes it",
              r.returncode == 1 and "sync_pull_page" in r.stdout and "grant_proxy('credsync_proxy')" in r.stdout,
              r.stdout)
    finally:
        CLUSTER.psql("SELECT credsync.grant_proxy('credsync_proxy')")


def main():
    for name, fn in [("check", t_check), ("second proxy", t_second_proxy), ("early SIGTERM", t_early_sigterm),
                     ("high descriptors", t_high_fds), ("stalled stderr", t_stalled_stderr),
                     ("pool keepalive", t_pool_keepalive), ("no compression", t_no_compression)]:
        try:
            fn()
        except Exception as e:
            check(f"{name}: ran to the end", False, f"{type(e).__name__}: {e}")


if __name__ == "__main__":
    main()
