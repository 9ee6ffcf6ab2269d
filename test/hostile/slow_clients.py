#!/usr/bin/env python3
"""Slow and idle clients (issue 4, item 5), run by test/suites/47-slowloris.sh.

An attacker opens more connections than credsync-proxy has threads (--threads):
idle keep-alive connections (one request answered, then silence), slowloris
connections (a request head dribbled one byte at a time, never finished) and
slow bodies (a push whose body never arrives). Meanwhile a well-behaved client
asks GET /healthz on a fresh connection; we measure how long it waits.

  A. the proxy alone, default flags      (figure only: thread-per-connection)
  B. the proxy alone, tight timeouts     (figure only)
  C. nginx in front, deploy/nginx/credsync-server.conf, started on 127.0.0.1:
     the check: every good request (GET /healthz, GET /v1/account, a push)
     is answered within GOOD_BOUND (1 s) while 10x threads attack.

A and B are figures, not checks: they show the problem nginx solves, and
that the measurement does see a starved client."""
import http.client
import json
import os
import select
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "http"))
from client import Cluster, Proxy, b64  # noqa: E402
from nginx import start_nginx, stop_nginx  # noqa: E402

CLUSTER = Cluster(sys.argv[1])
WORK = sys.argv[2]
THREADS = 8
GOOD_BOUND = 1.0
failures = 0


def check(name, cond, detail=""):
    global failures
    if not cond:
        failures += 1
    print(("ok - " if cond else "not ok - ") + name + ("" if cond or not detail else f" ({detail})"), flush=True)


class Attack:
    """Many hostile connections driven from one select loop."""

    def __init__(self, port, idle, slow, slow_body, token="x"):
        self.port = port
        self.lock = threading.Lock()
        self.thread = None
        self.socks = []      # all connections
        self.slow = []       # (sock, remaining bytes to dribble)
        req = f"GET /v1/zones/z/pull HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\nX-Padding: " + "a" * 4000
        for _ in range(idle):
            s = self._connect()
            if s:
                s.send(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")  # answered (or queued), then silence
        for _ in range(slow):
            s = self._connect()
            if s:
                self.slow.append([s, req.encode()])
        body_head = ("POST /v1/zones/z/push HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                     f"Authorization: Bearer {token}\r\nContent-Length: 100000\r\n\r\n").encode()
        for _ in range(slow_body):
            s = self._connect()
            if s:
                s.send(body_head)
                self.slow.append([s, b'{"records":[' + b" " * 99000])

    def _connect(self):
        try:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=2)
        except OSError:
            return None
        s.setblocking(False)
        self.socks.append(s)
        return s

    def tick(self):
        """Sends one more byte on every slow connection; drains answers."""
        r, _, _ = select.select(self.socks, [], [], 0)
        for s in r:
            try:
                s.recv(65536)
            except OSError:
                pass
        for entry in self.slow:
            s, rest = entry
            if rest:
                try:
                    s.send(rest[:1])
                    entry[1] = rest[1:]
                except OSError:
                    entry[1] = b""

    def start(self, every=0.25):
        """Keeps dribbling from a thread of its own until close()."""
        self.stop = threading.Event()

        def loop():
            while not self.stop.is_set():
                with self.lock:
                    self.tick()
                self.stop.wait(every)
        self.thread = threading.Thread(target=loop, daemon=True)
        self.thread.start()

    def run_for(self, secs, every=0.5):
        end = time.time() + secs
        while time.time() < end:
            self.tick()
            time.sleep(min(every, max(0, end - time.time())))

    def open_count(self):
        n = 0
        for s in self.socks:
            try:
                if s.fileno() >= 0 and s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                    n += 1
            except OSError:
                pass
        return n

    def close(self):
        if self.thread:
            self.stop.set()
            self.thread.join()
        for s in self.socks:
            try:
                s.close()
            except OSError:
                pass


def timed(port, method, path, body=None, token=None, timeout=3.0):
    """(seconds, status) of one request on a fresh connection; status None on timeout."""
    t0 = time.time()
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        h = {"Authorization": "Bearer " + token} if token else {}
        if body is not None:
            h["Content-Type"] = "application/json"
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        r.read()
        c.close()
        return time.time() - t0, r.status
    except OSError:
        return time.time() - t0, None


def good_samples(port, attack, token, n, timeout):
    """n rounds of three good requests (one GET /healthz when n is 0) while
    the attack keeps dribbling."""
    if n == 0:
        return [("GET /healthz",) + timed(port, "GET", "/healthz", timeout=timeout)]
    out = []
    for i in range(n):
        for method, path, body in [("GET", "/healthz", None), ("GET", "/v1/account", None),
                                   ("POST", "/v1/zones/good/push", json.dumps({"records": [{"blob": b64(b"ok %d" % i)}]}))]:
            out.append((method + " " + path,) + timed(port, method, path, body, token if path != "/healthz" else None, timeout))
        time.sleep(0.3)
    return out


def describe(samples, timeout):
    worst = max(s[1] for s in samples)
    lost = sum(1 for s in samples if s[2] is None)
    return worst, lost, (f"> {timeout:.0f} s (timed out)" if lost else f"{worst * 1000:.0f} ms")


def scenario(label, port, token, idle, slow, slow_body, n, timeout, settle=1.0):
    attack = Attack(port, idle, slow, slow_body)
    try:
        attack.start()
        time.sleep(settle)
        samples = good_samples(port, attack, token, n, timeout)
        with attack.lock:
            open_ = attack.open_count()
    finally:
        attack.close()
    worst, lost, text = describe(samples, timeout)
    print(f"# {label}: {idle} idle keep-alive + {slow} slowloris heads + {slow_body} slow bodies "
          f"({open_} still open) vs --threads {THREADS}: good client worst {text}, "
          f"{len(samples) - lost}/{len(samples)} answered", flush=True)
    return samples, worst, lost


def rss_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


def main():
    token = CLUSTER.psql("SELECT credsync.issue_token('slow-good')")
    only = os.environ.get("SLOW_SCENARIOS", "A,B,C").split(",")
    base = ["--threads", str(THREADS), "--max-waiters", "2"]
    figures = {}
    if "A" in only:
        p = Proxy(CLUSTER, os.path.join(WORK, "proxy-slow-a.log"), base).start()
        try:
            _, worst, lost = scenario("A. proxy alone, default timeouts", p.port, token, THREADS, THREADS, THREADS // 2, 0, 3.0)
            figures["A"] = (worst, lost)
            check("A: the proxy survives the attack (/healthz 200 afterwards)", p.proc.poll() is None and
                  timed(p.port, "GET", "/healthz", timeout=15)[1] == 200)
        finally:
            p.stop()
    if "B" in only:
        p = Proxy(CLUSTER, os.path.join(WORK, "proxy-slow-b.log"),
                  base + ["--read-timeout", "2", "--keepalive-timeout", "1"]).start()
        try:
            _, worst, lost = scenario("B. proxy alone, --read-timeout 2 --keepalive-timeout 1", p.port, token,
                                      THREADS, THREADS, THREADS // 2, 0, 3.0)
            figures["B"] = (worst, lost)
        finally:
            p.stop()
    if "C" in only:
        p = Proxy(CLUSTER, os.path.join(WORK, "proxy-slow-c.log"), base).start()
        nginx = None
        try:
            nginx, nport = start_nginx(WORK, p.port)
            n_idle, n_slow, n_body = 10 * THREADS, 10 * THREADS, 5 * THREADS
            samples, worst, lost = scenario("C. nginx in front (deploy/nginx/credsync-server.conf)", nport, token,
                                            n_idle, n_slow, n_body, 5, 3.0)
            figures["C"] = (worst, lost)
            bad = [f"{s[0]}: {s[1] * 1000:.0f} ms status {s[2]}" for s in samples if s[2] not in (200,) or s[1] > GOOD_BOUND]
            check(f"C: with nginx in front, {n_idle + n_slow + n_body} idle/slow connections vs {THREADS} proxy threads: "
                  f"all {len(samples)} good requests answered 200 within {GOOD_BOUND:.0f} s (worst {worst * 1000:.0f} ms)",
                  not bad, "; ".join(bad[:5]))
            # The head limit that cpp-httplib lacks: 1 MiB of small header lines.
            before = rss_kb(p.proc.pid)
            s = socket.create_connection(("127.0.0.1", nport), timeout=5)
            try:
                s.sendall(b"GET /v1/account HTTP/1.1\r\nHost: t\r\n" + b"X-a: b\r\n" * 131072 + b"\r\n")
            except OSError:
                pass
            s.settimeout(5)
            try:
                answer = s.recv(4096)
            except OSError:
                answer = b""
            s.close()
            status = answer.split(b" ", 2)[1].decode() if answer.startswith(b"HTTP/1.") else "closed"
            check("C: nginx refuses a 1 MiB request head (131072 header lines) with a 4xx JSON error; the proxy never sees it",
                  status.startswith("4") and b'"error"' in answer and rss_kb(p.proc.pid) - before < 10000,
                  f"status {status}, proxy RSS {before} -> {rss_kb(p.proc.pid)} kB")
            r = timed(nport, "GET", "/v1/zones/good", token=token)
            check("C: through nginx the API answers as usual afterwards", r[1] == 200, str(r))
        finally:
            if nginx:
                stop_nginx(nginx)
            p.stop()
    with open(os.path.join(WORK, "figures.json"), "w") as f:
        json.dump(figures, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
