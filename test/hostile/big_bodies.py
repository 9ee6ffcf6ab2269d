#!/usr/bin/env python3
"""Bounded memory under hostile bodies (issue 10, item 3), against the real
proxy with its default limits (--max-body-bytes 8 MiB): sixteen clients at
once each send an 8 MiB push body built to be expensive to parse (a hundred
thousand empty objects, arrays nested a million deep, a million unknown keys,
records far over the batch limit, one huge blob for a bad item). Then:

  - the proxy's peak resident memory (VmHWM) stays at or below 400 MiB;
  - every one of them is refused with a 4xx JSON error (or 503 when too many
    large bodies wait at once), and the proxy answers /healthz throughout;
  - nothing was stored.

Run three times over, so that later waves do not grow the peak either. Run by
test/suites/43-big-bodies.sh; prints ok/not ok lines."""
import base64
import os
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "http"))
from tap import check  # noqa: E402
from client import Cluster, Proxy  # noqa: E402

CLUSTER = Cluster(sys.argv[1])
WORK = sys.argv[2]
SIZE = 8 * 1024 * 1024
LIMIT_KB = 400 * 1024


def fill(prefix, unit, suffix, size=SIZE):
    n = (size - len(prefix) - len(suffix)) // len(unit)
    body = prefix + unit * n + suffix
    return body[:size]


def bodies():
    blob = base64.b64encode(b"x" * 3).decode().encode()
    return [
        ("100k+ empty records", fill(b'{"records":[', b"{},", b"{}]}")),
        ("nested arrays", fill(b'{"records":', b"[", b"")),
        ("nested objects", fill(b'{"records":[', b'{"a":', b"")),
        ("a million unknown keys", fill(b'{', b'"k":1,', b'"records":[]}')),
        ("records over the batch limit", fill(b'{"records":[', b'{"blob":"' + blob + b'"},', b'{"blob":"QQ=="}]}')),
        ("one huge blob for a bad item", fill(b'{"records":[{"item":"nope","blob":"', b"QUFB", b'"}]}')),
        ("a long array of numbers", fill(b'{"records":[', b"1,", b"1]}")),
        ("repeated keys", fill(b'{"records":[{"blob":null,', b'"if_match":1,', b'"item":null}]}')),
    ]


def rss(pid):
    status = open(f"/proc/{pid}/status").read()
    out = {}
    for line in status.splitlines():
        k, _, v = line.partition(":")
        if k in ("VmHWM", "VmRSS"):
            out[k] = int(v.split()[0])
    return out


def send(port, token, body):
    head = (b"POST /v1/zones/hostile/push HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token.encode() +
            b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body))
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    try:
        s.sendall(head)
        try:
            s.sendall(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before the body was read
        out = b""
        while True:
            try:
                d = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not d:
                break
            out += d
            if b"\r\n\r\n" in out and out.rstrip().endswith(b"}"):
                break
        return out
    finally:
        s.close()


def main():
    token = CLUSTER.psql("SELECT credsync.issue_token('hostile-bodies')")
    p = Proxy(CLUSTER, os.path.join(WORK, "proxy.log"), ["--threads", "64"]).start()
    try:
        kinds = bodies()
        before = rss(p.proc.pid)
        for wave in (1, 2, 3):
            answers = [None] * 16
            health = []
            stop = threading.Event()

            def run(i):
                answers[i] = send(p.port, token, kinds[i % len(kinds)][1])

            def probe():
                c = p.client()
                while not stop.is_set():
                    t0 = time.time()
                    try:
                        r = c.get("/healthz", timeout=10)
                        health.append((r.status, time.time() - t0))
                    except OSError as e:
                        health.append((str(e), time.time() - t0))
                    time.sleep(0.05)

            prober = threading.Thread(target=probe)
            prober.start()
            threads = [threading.Thread(target=run, args=(i,)) for i in range(16)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(120)
            stop.set()
            prober.join(15)
            after = rss(p.proc.pid)
            bad = []
            for i, out in enumerate(answers):
                status = out[9:12] if out else b""
                if not out or not (status.startswith(b"4") or status == b"503") or b'"error"' not in out:
                    bad.append(f"{kinds[i % len(kinds)][0]}: {(out or b'')[:80]!r}")
            check(f"wave {wave}: 16 concurrent 8 MiB hostile push bodies are each refused with a JSON error",
                  not bad, "; ".join(bad[:3]))
            check(f"wave {wave}: peak memory (VmHWM) stays at or below 400 MiB",
                  after["VmHWM"] <= LIMIT_KB, f"VmHWM {after['VmHWM']} kB (before {before['VmHWM']} kB)")
            print(f"# wave {wave}: VmHWM {before['VmHWM']} -> {after['VmHWM']} kB, VmRSS now {after['VmRSS']} kB",
                  flush=True)
            slow = [h for h in health if h[0] != 200]
            check(f"wave {wave}: /healthz answered 200 throughout ({len(health)} probes)",
                  health and not slow, slow[:3])
        stored = CLUSTER.psql("SELECT count(*) FROM credsync.sync_zones('hostile-bodies')")
        check("nothing was stored for the hostile user", stored == "0", stored)
    finally:
        p.stop()


if __name__ == "__main__":
    main()
