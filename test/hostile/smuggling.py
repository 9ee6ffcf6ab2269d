#!/usr/bin/env python3
"""Request smuggling (issue 10, item 1): no byte of a request body is ever
parsed as a request, straight at the proxy and through nginx with the shipped
deploy/nginx/credsync-server.conf.

cpp-httplib answers some requests by itself (an unknown method, a malformed
Range, an over-long request line, bad header lines, an unsupported version)
without reading their bodies; credsync answers others itself before reading
the body (unknown route, wrong method, bad token, too large, a body on a GET,
Expect: 100-continue refused). Each case here sends such a request whose body
holds a second, complete request of the attacker (user A): a push to a zone
that must never come to exist, and a pull of A's own records. The hidden
request is placed so that it starts just before, at and just after the 4 KiB
and 8 KiB marks of the connection's bytes (where a reader that buffers 4 KiB
chunks would cut). For every case:

  - the attacker's connection gets exactly one answer and is then closed by
    the proxy (end of stream, not just a "Connection: close" header);
  - the hidden push never ran (A's zone "smuggled" stays at gencount 0).

Through nginx a victim (user B) pulls its own zone over and over while the
attacks run, so that nginx hands B's requests to the upstream connections the
attacker just used; every answer B gets must be B's own (its zone's marker),
never A's records nor an answer to a smuggled request.

Run by test/suites/41-smuggling.sh; prints ok/not ok lines."""
import json
import os
import re
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "http"))
from tap import check  # noqa: E402
from client import Cluster, Proxy, b64  # noqa: E402
from nginx import start_nginx, stop_nginx  # noqa: E402

CLUSTER = Cluster(sys.argv[1])
WORK = sys.argv[2]


A_MARK = b"QUFBLWF0dGFja2Vy"   # base64 of A's record: an answer holding it is A's data
B_MARK = b"QkJCLXZpY3RpbQ=="   # base64 of B's record


def complete_answers(out):
    """How many whole answers (head and Content-Length body) out holds."""
    n, pos = 0, 0
    while True:
        m = re.compile(rb"HTTP/1\.[01] (\d\d\d) ").search(out, pos)
        if not m:
            return n
        end = out.find(b"\r\n\r\n", m.start())
        if end < 0:
            return n
        cl = re.search(rb"(?i)\r\ncontent-length: *(\d+)", out[m.start():end + 2])
        body_end = end + 4 + (int(cl.group(1)) if cl else 0)
        if len(out) < body_end:
            return n
        if m.group(1) != b"100":
            n += 1
        pos = body_end


def exchange(port, data, timeout=3.0, grace=None):
    """Sends data on one connection; returns (bytes read, closed by the
    server). Reads until the server closes or timeout passes; with grace, it
    stops grace seconds after the first whole answer (for a server that
    rightly keeps the connection open, like nginx towards its clients)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may close before it has read everything
        out = b""
        deadline = time.time() + timeout
        while True:
            if grace is not None and complete_answers(out) >= 1:
                deadline = min(deadline, time.time() + grace)
                grace = None
            left = deadline - time.time()
            if left <= 0:
                return out, False
            s.settimeout(left)
            try:
                d = s.recv(65536)
            except socket.timeout:
                return out, False
            except ConnectionResetError:
                return out, True
            if not d:
                return out, True
            out += d
    finally:
        s.close()


def answers(out):
    """Final answers in a byte stream (interim 100 Continue not counted). A
    status line follows the previous answer's body directly, so it is looked
    for anywhere; no body in these tests contains one."""
    return sum(1 for status in re.findall(rb"HTTP/1\.[01] (\d\d\d) ", out) if status != b"100")


def hidden(token):
    """The attacker's second request: a push (its effect is visible) followed
    by a pull of A's records (its answer is recognisable)."""
    body = json.dumps({"records": [{"blob": b64(b"smuggled")}]}).encode()
    push = (b"POST /v1/zones/smuggled/push HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
            b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    pull = b"GET /v1/zones/a/pull?since=0 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token + b"\r\n\r\n"
    return push + pull


# Each case: (name, function(token, body_length) -> request head ending in
# the blank line). The body (padding then the hidden requests) follows.
def cases(tok):
    auth = b"Authorization: Bearer " + tok + b"\r\n"
    return [
        ("unknown method PROPFIND", lambda n: b"PROPFIND /v1/zones HTTP/1.1\r\nHost: x\r\n" + auth +
         b"Content-Length: %d\r\n" % n),
        ("malformed Range", lambda n: b"GET /v1/zones HTTP/1.1\r\nHost: x\r\n" + auth +
         b"Range: bytes=zz-\r\nContent-Length: %d\r\n" % n),
        ("over-long request line", lambda n: b"GET /v1/zones?" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n" + auth +
         b"Content-Length: %d\r\n" % n),
        ("header line without a colon", lambda n: b"GET /v1/zones HTTP/1.1\r\nHost: x\r\n" + auth +
         b"Content-Length: %d\r\nthis line has no colon\r\n" % n),
        ("unsupported HTTP version", lambda n: b"GET /v1/zones HTTP/2.7\r\nHost: x\r\n" + auth +
         b"Content-Length: %d\r\n" % n),
        ("Expect: 100-continue refused (unknown route)", lambda n: b"POST /v1/nowhere HTTP/1.1\r\nHost: x\r\n" + auth +
         b"Expect: 100-continue\r\nContent-Length: %d\r\n" % n),
        ("unknown route with a body", lambda n: b"POST /v1/nowhere HTTP/1.1\r\nHost: x\r\n" + auth +
         b"Content-Length: %d\r\n" % n),
        ("wrong method with a body", lambda n: b"PUT /v1/zones HTTP/1.1\r\nHost: x\r\n" + auth +
         b"Content-Length: %d\r\n" % n),
        ("bad token with a body", lambda n: b"POST /v1/zones/a/push HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nope\r\n"
         b"Content-Type: application/json\r\nContent-Length: %d\r\n" % n),
        ("a body on a GET", lambda n: b"GET /v1/zones HTTP/1.1\r\nHost: x\r\n" + auth +
         b"Content-Length: %d\r\n" % n),
        ("a body on a DELETE", lambda n: b"DELETE /v1/zones/a/items/00000000-0000-4000-8000-000000000000 HTTP/1.1\r\n"
         b"Host: x\r\n" + auth + b"Content-Length: %d\r\n" % n),
    ]


# A body that is read whole (an invalid push) holds the hidden requests as
# data: one answer, and the connection may stay open.
def read_whole_cases(tok):
    auth = b"Authorization: Bearer " + tok + b"\r\n"
    return [
        ("push of invalid JSON", lambda n: b"POST /v1/zones/a/push HTTP/1.1\r\nHost: x\r\n" + auth +
         b"Content-Type: application/json\r\nContent-Length: %d\r\n" % n),
    ]


def build(head_fn, payload, start):
    """A request whose body holds payload starting at byte `start` of the
    connection (or right after the head, if the head is longer than that)."""
    head = head_fn(0) + b"\r\n"
    pad = max(0, start - len(head))
    # The padding must not change the head's length: Content-Length's digits
    # are fixed by trying once more.
    for _ in range(3):
        n = pad + len(payload)
        head = head_fn(n) + b"\r\n"
        pad = max(0, start - len(head))
    body = b" " * pad + payload
    return head_fn(len(body)) + b"\r\n" + body


def zone_gencount(port, token, zone):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET /v1/zones/" + zone + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer " +
              token + b"\r\n\r\n")
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    s.close()
    return json.loads(out.split(b"\r\n\r\n", 1)[1])["gencount"]


OFFSETS = [4096 - 7, 4096 - 1, 4096, 4096 + 1, 4096 + 13, 8192 - 1, 8192, 8192 + 1]


def attack_all(port, tok_a, label):
    """Every case at every offset against port; returns how many hidden
    requests were answered or left the connection open."""
    payload = hidden(tok_a)
    bad = []
    for name, fn in cases(tok_a):
        for start in OFFSETS:
            data = build(fn, payload, start)
            out, closed = exchange(port, data)
            n = answers(out)
            if n != 1 or not closed or A_MARK in out:
                bad.append(f"{name} @{start}: {n} answers, closed={closed}, first={out[:60]!r}")
    for name, fn in read_whole_cases(tok_a):
        for start in OFFSETS:
            out, closed = exchange(port, build(fn, payload, start), timeout=1.0)
            if answers(out) != 1 or A_MARK in out:
                bad.append(f"{name} @{start}: {answers(out)} answers, first={out[:60]!r}")
    check(f"{label}: every library- and proxy-refused request with a hidden request in its body "
          f"({len(cases(tok_a))} cases x {len(OFFSETS)} offsets around 4 and 8 KiB) gets one answer "
          f"and a closed connection", not bad, "; ".join(bad[:4]))


def main():
    CLUSTER.psql("SELECT credsync.sync_push('alice-a', 'a', convert_to('AAA-attacker', 'UTF8'))")
    CLUSTER.psql("SELECT credsync.sync_push('bob-b', 'b', convert_to('BBB-victim', 'UTF8'))")
    tok_a = CLUSTER.psql("SELECT credsync.issue_token('alice-a')").encode()
    tok_b = CLUSTER.psql("SELECT credsync.issue_token('bob-b')").encode()
    proxy = Proxy(CLUSTER, os.path.join(WORK, "proxy.log"), ["--threads", "16", "--max-waiters", "4"]).start()
    try:
        # Control: the hidden requests are well-formed and do run when sent
        # as requests of their own (so "never ran" below means something).
        out, _ = exchange(proxy.port, hidden(tok_a) + b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        check("control: the hidden push and pull run when sent as requests of their own",
              answers(out) == 3 and A_MARK in out and out.startswith(b"HTTP/1.1 200"), out[:200])
        CLUSTER.psql("SELECT credsync.drop_user('alice-a')")
        # A new token starts the dropped id again (pushes are refused until then).
        tok_a = CLUSTER.psql("SELECT credsync.issue_token('alice-a')").encode()
        CLUSTER.psql("SELECT credsync.sync_push('alice-a', 'a', convert_to('AAA-attacker', 'UTF8'))")

        attack_all(proxy.port, tok_a, "straight at the proxy")
        check("straight at the proxy: no hidden push ever ran", zone_gencount(proxy.port, tok_a, b"smuggled") == 0)

        # Keep-alive still works for requests that were read whole.
        s = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
        req = b"GET /v1/zones/b/pull?since=0 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok_b + b"\r\n\r\n"
        s.sendall(req * 3)  # pipelined: all three must be answered, in order
        out = b""
        deadline = time.time() + 5
        try:
            while answers(out) < 3 and time.time() < deadline:
                d = s.recv(65536)
                if not d:
                    break
                out += d
        except socket.timeout:
            pass
        s.close()
        check("pipelined requests on one connection are all answered (none dropped with a read buffer)",
              answers(out) == 3 and out.count(B_MARK) == 3, out[:200])

        nginx, nport = start_nginx(WORK, proxy.port, keepalive=2)
        try:
            victim_bad = []
            victim_ok = [0]
            stop = threading.Event()

            def victim():
                while not stop.is_set():
                    try:
                        s = socket.create_connection(("127.0.0.1", nport), timeout=10)
                        s.sendall(b"GET /v1/zones/b/pull?since=0 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                  b"Authorization: Bearer " + tok_b + b"\r\n\r\n")
                        out = b""
                        while True:
                            d = s.recv(65536)
                            if not d:
                                break
                            out += d
                        s.close()
                    except OSError as e:
                        victim_bad.append(f"error {e}")
                        continue
                    if A_MARK in out or b"smuggled" in out or B_MARK not in out or answers(out) != 1:
                        if not out.startswith(b"HTTP/1.1 502") and not out.startswith(b"HTTP/1.1 503"):
                            victim_bad.append(out[:120])
                    else:
                        victim_ok[0] += 1
                    time.sleep(0.01)

            t_start = time.time()
            threads = [threading.Thread(target=victim) for _ in range(3)]
            for t in threads:
                t.start()
            bad = []
            payload = hidden(tok_a)
            for name, fn in cases(tok_a):
                for start in OFFSETS:
                    out, closed = exchange(nport, build(fn, payload, start), grace=0.5)
                    if answers(out) != 1 or A_MARK in out or B_MARK in out:
                        bad.append(f"{name} @{start}: {answers(out)} answers {out[:60]!r}")
            # A long-poll smuggled behind a refused request: its answer must
            # never reach the next client of that upstream connection.
            lp = b"GET /v1/zones/a/pull?since=0&wait=5 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok_a + b"\r\n\r\n"
            for name, fn in cases(tok_a):
                out, closed = exchange(nport, build(fn, lp, 4096), timeout=7, grace=0.5)
                if answers(out) != 1 or A_MARK in out:
                    bad.append(f"long-poll behind {name}: {out[:60]!r}")
            time.sleep(1)
            stop.set()
            for t in threads:
                t.join(15)
            check("through nginx (shipped config): the attacker gets one answer per request, never a hidden one's",
                  not bad, "; ".join(bad[:4]))
            check(f"through nginx: the victim got only its own answers ({victim_ok[0]} pulls in "
                  f"{time.time() - t_start:.0f} s, none of A's data)",
                  not victim_bad and victim_ok[0] > 20, f"{victim_bad[:3]} ok={victim_ok[0]}")
            check("through nginx: no hidden push ever ran", zone_gencount(nport, tok_a, b"smuggled") == 0)
            # The shipped config passes on only the API's methods and no Range.
            out, _ = exchange(nport, b"PROPFIND /v1/zones HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                     b"Authorization: Bearer " + tok_b + b"\r\n\r\n")
            check("through nginx: a method the API does not have is refused by nginx (405, JSON)",
                  out.startswith(b"HTTP/1.1 405") and b'"method_not_allowed"' in out, out[:200])
            out, _ = exchange(nport, b"GET /v1/zones/b/pull?since=0 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                     b"Range: bytes=zz\r\nAuthorization: Bearer " + tok_b + b"\r\n\r\n")
            check("through nginx: a malformed Range is stripped (the pull answers 200 in full)",
                  out.startswith(b"HTTP/1.1 200") and B_MARK in out and out.rstrip().endswith(b"}"), out[:200])
        finally:
            stop_nginx(nginx)
    finally:
        proxy.stop()
    return 0


if __name__ == "__main__":
    main()
