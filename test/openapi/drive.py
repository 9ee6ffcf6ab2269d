#!/usr/bin/python3
"""Drives a real credsync-proxy through every operation and status that
docs/openapi.yaml documents, and checks every answer against the document
(test/suites/81-openapi.sh):  drive.py CLUSTER_DIR WORK_DIR

Each request prints "ok - ..." or "not ok - ...": the answer must have the
status the case expects, that status must be documented for the operation,
and the answer's media type, required headers and body must match the
document's response (jsonschema, Draft 2020-12). Then the coverage: every
documented (operation, status) must have been answered at least once; 404 on
an unknown path and 405 on every path (with an Allow header naming exactly
the path's documented methods) are checked against components.responses.

Nothing is skipped silently. An operation of the document that the proxy
does not serve (it answers 404 "no such route", or 405 without the method in
Allow) fails every case that uses it, with a line that says so, and is named
again in the coverage summary at the end.

Phases: A) the proxy with --open-registration: the operations' own cases and,
for every operation, the statuses the proxy gives before routing (400, 411,
413, 415) and 401; B) the proxy's role loses EXECUTE on credsync's functions:
500 everywhere it is documented; C) the database stopped: 503; D) the proxy
without --open-registration: 404 for the registration routes.
"""
import base64
import json
import os
import secrets
import socket
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("CREDSYNC_ROOT", os.path.abspath(os.path.join(HERE, "..", "..")))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "test", "http"))
from client import Cluster, Proxy, free_port  # noqa: E402
from oas import Document, template_regex  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402

CLUSTER = Cluster(sys.argv[1])
WORK = sys.argv[2]
# CREDSYNC_OPENAPI: another document (to see this test fail on a wrong one).
DOC = Document(os.environ.get("CREDSYNC_OPENAPI") or os.path.join(ROOT, "docs", "openapi.yaml"))
# 81-openapi.sh sets these in the database (test/lib/http_stack.sh).
MAX_BLOB = 4096
MAX_BATCH = 50
FLAGS = ["--threads", "16", "--max-waiters", "4", "--pool-size", "4", "--pool-timeout-ms", "1000"]
UNKNOWN_TOKEN = "cs_" + "0" * 64
MODERATE = {"alg": "argon2id13", "ops": 3, "mem": 268435456}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# --- HTTP, byte for byte ------------------------------------------------------
class Answer:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def __repr__(self):
        return f"<{self.status} {self.body[:200]!r}>"


def http(port, method, path, headers=(), body=None, timeout=15):
    """One request on a fresh connection, sent exactly as given (no header is
    added but Host and Connection: close)."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers]
    data = ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        raw = b""
        while True:
            try:
                d = s.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not d:
                break
            raw += d
            head, sep, rest = raw.partition(b"\r\n\r\n")
            if sep:
                hs = parse_headers(head)
                n = int(hs.get("content-length", "-1"))
                if n >= 0 and len(rest) >= n:
                    break
    finally:
        s.close()
    head, _, rest = raw.partition(b"\r\n\r\n")
    if not head:
        return Answer(0, {}, b"")
    status = int(head.split(b" ", 2)[1])
    hs = parse_headers(head)
    n = int(hs.get("content-length", str(len(rest))))
    return Answer(status, hs, rest[:n])


def parse_headers(head):
    out = {}
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        out[k.decode().strip().lower()] = v.decode("latin-1").strip()
    return out


# --- the run ---------------------------------------------------------------
class Run:
    def __init__(self):
        self.failures = 0
        self.seen = set()          # (template, METHOD, status) answered and checked
        self.missing = {}          # (template, METHOD) -> how the proxy answered
        self.port = None
        self.allow = {}            # (port, template) -> the methods the proxy has there

    def line(self, good, text):
        if not good:
            self.failures += 1
        print(("ok - " if good else "not ok - ") + text, flush=True)
        return good

    def route_missing(self, template, method):
        """How the proxy shows that it lacks an operation of the document, or
        None. Asked with a method the path does not have: a path the proxy
        knows answers 405 and names its methods in Allow (404 or an Allow
        without this method: not served). Independent of error messages."""
        key = (self.port, template)
        if key not in self.allow:
            probe = next(m for m in ("PUT", "POST", "DELETE", "GET", "PATCH") if m not in DOC.methods(template))
            a = http(self.port, probe, sample_path(template), [("Content-Length", "0")])
            if a.status == 405:
                self.allow[key] = {m.strip() for m in a.headers.get("allow", "").split(",") if m.strip()}
            else:
                self.allow[key] = None if a.status == 404 else {f"(answered {a.status})"}
        allow = self.allow[key]
        if allow is None:
            return "answers 404: no such path"
        if method not in allow:
            return f"does not have the method (Allow: {', '.join(sorted(allow))})"
        return None

    def expect(self, what, method, template, path, status, token=None, body=None, headers=(),
               timeout=15, check=None, route_may_be_absent=False):
        """Sends one request of an operation; checks status, document and `check`."""
        hs = list(headers)
        if token:
            hs.append(("Authorization", f"Bearer {token}"))
        if body is not None and not isinstance(body, bytes):
            body = json.dumps(body).encode()
            hs.append(("Content-Type", "application/json"))
        if body is not None and not any(k.lower() in ("content-length", "transfer-encoding") for k, _ in hs):
            hs.append(("Content-Length", str(len(body))))
        label = f"{method} {template} {status}: {what}"
        op = DOC.operation(template, method)
        if op is None:
            return Answer(0, {}, b""), self.line(False, f"{label}: not in the document")
        missing = None if route_may_be_absent else self.route_missing(template, method)
        if missing:
            # One failure per operation the proxy lacks; its other cases are
            # named as not run.
            if (template, method) in self.missing:
                print(f"# not run: {label} ({method} {template} is not served)", flush=True)
                return Answer(0, {}, b""), False
            self.missing[(template, method)] = missing
            return Answer(0, {}, b""), self.line(
                False, f"{method} {template}: the document has it but the proxy {missing} (not implemented yet?);"
                       f" its cases do not run, first: {label}")
        a = http(self.port, method, path, hs, body, timeout)
        problems = []
        if a.status != status:
            problems.append(f"status {a.status}, body {a.body[:300]!r}")
        else:
            response = op["responses"].get(str(status))
            if response is None:
                problems.append(f"status {status} is not documented for this operation")
            else:
                problems += DOC.check_answer(response, status, a.headers, a.body)
                if not problems and check:
                    why = check(a)
                    if why:
                        problems.append(why)
        if not problems:
            self.seen.add((template, method, status))
        return a, self.line(not problems, label + ("" if not problems else " -- " + "; ".join(problems)))

    def expect_component(self, what, name, method, path, status, headers=(), check=None):
        """A request answered by a shared response (404 anywhere, 405 anywhere)."""
        a = http(self.port, method, path, list(headers))
        problems = [] if a.status == status else [f"status {a.status}, body {a.body[:200]!r}"]
        if not problems:
            problems += DOC.check_answer(DOC.doc["components"]["responses"][name], status, a.headers, a.body)
        if not problems and check:
            why = check(a)
            if why:
                problems.append(why)
        self.line(not problems, f"{method} {path} {status}: {what}" + ("" if not problems else " -- " + "; ".join(problems)))
        return a


R = Run()


def psql(sql):
    return CLUSTER.psql(sql)


def sample_path(template):
    return (template.replace("{zone}", "oas-sample")
            .replace("{item}", str(uuid.uuid4())).replace("{id}", str(uuid.uuid4())))


class Keys:
    """An account's login key pair and the values a client sends."""

    def __init__(self):
        self.private = Ed25519PrivateKey.generate()
        self.public = self.private.public_key().public_bytes(serialization.Encoding.Raw,
                                                              serialization.PublicFormat.Raw)
        self.salt = secrets.token_bytes(16)
        self.wrapped = secrets.token_bytes(48)

    def sign(self, challenge: bytes, name: str) -> bytes:
        return self.private.sign(b"credsync login v1\n" + challenge + name.encode())

    def login_fields(self):
        return {"login_key": b64(self.public), "salt": b64(self.salt), "kdf": MODERATE,
                "wrapped_key": b64(self.wrapped)}


def challenge_for(name):
    a = http(R.port, "POST", "/v1/login/challenge", [("Content-Type", "application/json"),
             ("Content-Length", str(len(json.dumps({"name": name}))))], json.dumps({"name": name}).encode())
    j = a.json() if a.status == 200 else None
    return base64.b64decode(j["challenge"]) if j and "challenge" in j else secrets.token_bytes(32)


def body_of(size):
    return {"name": "x", "pad": "p" * size}


# --- phase A: each operation's own cases -------------------------------------
def phase_a(proxy):
    R.port = proxy.port
    Z = "/v1/zones/{zone}"
    ZP, ZL, ZI = Z + "/push", Z + "/pull", Z + "/items/{item}"

    R.expect("the database answers", "GET", "/healthz", "/healthz", 200)
    R.expect("Prometheus text", "GET", "/metrics", "/metrics", 200)
    a, _ = R.expect("a new user", "POST", "/v1/register", "/v1/register", 201)
    tA = (a.json() or {}).get("token", UNKNOWN_TOKEN)
    a, _ = R.expect("another new user", "POST", "/v1/register", "/v1/register", 201)
    tB = (a.json() or {}).get("token", UNKNOWN_TOKEN)
    userA = psql(f"SELECT credsync.token_user('{tA}')")
    R.expect("usage, quota, limits", "GET", "/v1/account", "/v1/account", 200, token=tA,
             check=lambda a: None if a.json()["limits"]["max_blob_bytes"] == MAX_BLOB else "limits not the database's")

    # push
    a, _ = R.expect("a new record", "POST", ZP, "/v1/zones/default/push", 200, token=tA,
                    body={"records": [{"blob": b64(b"hello")}]})
    item1 = ((a.json() or {}).get("results") or [{}])[0].get("item", str(uuid.uuid4()))
    op = str(uuid.uuid4())
    R.expect("with an op_id", "POST", ZP, "/v1/zones/default/push", 200, token=tA,
             body={"op_id": op, "records": [{"blob": b64(b"two")}, {"blob": b64(b"three")}]})
    R.expect("the same op_id again: the first answer", "POST", ZP, "/v1/zones/default/push", 200, token=tA,
             body={"op_id": op, "records": [{"blob": b64(b"two")}, {"blob": b64(b"three")}]})
    R.expect("empty records: the zone's gencount", "POST", ZP, "/v1/zones/default/push", 200, token=tA,
             body={"records": []}, check=lambda a: None if a.json()["gencount"] == 3 else "not gencount 3")
    R.expect("broken JSON", "POST", ZP, "/v1/zones/default/push", 400, token=tA, body=b"{",
             headers=[("Content-Type", "application/json")])
    R.expect("an unknown field", "POST", ZP, "/v1/zones/default/push", 400, token=tA,
             body={"records": [], "recordz": []})
    R.expect("if_match fails", "POST", ZP, "/v1/zones/default/push", 409, token=tA,
             body={"records": [{"item": item1, "blob": b64(b"x"), "if_match": 99}]},
             check=lambda a: None if a.json()["error"]["conflicts"][0]["gencount"] == 1 else "wrong conflict")
    R.expect("no Content-Length", "POST", ZP, "/v1/zones/default/push", 411, token=tA,
             headers=[("Content-Type", "application/json")])
    R.expect("a blob over max_blob_bytes", "POST", ZP, "/v1/zones/default/push", 413, token=tA,
             body={"records": [{"blob": b64(b"b" * (MAX_BLOB + 1))}]})
    R.expect("a batch over max_batch_records", "POST", ZP, "/v1/zones/default/push", 413, token=tA,
             body={"records": [{"blob": b64(b"r")}] * (MAX_BATCH + 1)})
    R.expect("the op_id of another request", "POST", ZP, "/v1/zones/default/push", 422, token=tA,
             body={"op_id": op, "records": [{"blob": b64(b"other")}]})
    psql(f"SELECT credsync.set_quota('{userA}', 20, 100)")
    R.expect("over the user's quota", "POST", ZP, "/v1/zones/default/push", 507, token=tA,
             body={"records": [{"blob": b64(b"q" * 100)}]},
             check=lambda a: None if a.json()["error"]["quota"]["max_bytes"] == 20 else "not the user's quota")
    psql(f"SELECT credsync.set_quota('{userA}', NULL, NULL)")

    # zones
    R.expect("the user's zones", "GET", "/v1/zones", "/v1/zones", 200, token=tA,
             check=lambda a: None if [z["zone"] for z in a.json()["zones"]] == ["default"] else "zones differ")
    R.expect("a zone's state", "GET", Z, "/v1/zones/default", 200, token=tA)
    R.expect("a zone never pushed to reads as zeros", "GET", Z, "/v1/zones/never", 200, token=tA,
             check=lambda a: None if a.json()["digest"] == "0" * 64 else "digest not zero")
    R.expect("a zone name of 65 characters", "GET", Z, "/v1/zones/" + "z" * 65, 400, token=tA)

    # pull
    R.expect("from 0", "GET", ZL, "/v1/zones/default/pull?since=0", 200, token=tA,
             check=lambda a: None if len(a.json()["records"]) == 3 else "not 3 records")
    R.expect("a long-poll that times out empty", "GET", ZL, "/v1/zones/default/pull?since=3&wait=1", 200,
             token=tA, check=lambda a: None if a.json()["records"] == [] else "records")
    R.expect("since=-1", "GET", ZL, "/v1/zones/default/pull?since=-1", 400, token=tA)
    R.expect("limit=0", "GET", ZL, "/v1/zones/default/pull?limit=0", 400, token=tA)
    R.expect("a cursor ahead of the zone", "GET", ZL, "/v1/zones/default/pull?since=999", 410, token=tA,
             check=lambda a: None if a.json()["error"]["reason"] == "ahead" else "not ahead")

    # delete an item
    R.expect("a tombstone", "DELETE", ZI, f"/v1/zones/default/items/{item1}", 200, token=tA)
    R.expect("not a uuid", "DELETE", ZI, "/v1/zones/default/items/not-a-uuid", 400, token=tA)
    R.expect("if_match fails", "DELETE", ZI, f"/v1/zones/default/items/{item1}?if_match=1", 409, token=tA)
    op2 = str(uuid.uuid4())
    R.expect("with an op_id", "DELETE", ZI, f"/v1/zones/default/items/{uuid.uuid4()}?op_id={op2}", 200, token=tA)
    R.expect("the op_id of another delete", "DELETE", ZI,
             f"/v1/zones/default/items/{uuid.uuid4()}?op_id={op2}", 422, token=tA)
    # expired: a tombstone compacted away above the cursor
    psql(f"SELECT credsync.sync_push('{userA}', 'exp', '\\x01')")
    it = psql(f"SELECT item FROM credsync.sync_push('{userA}', 'exp', '\\x02')")
    psql(f"SELECT credsync.sync_delete('{userA}', 'exp', '{it}')")
    psql("SELECT credsync.compact('0 seconds')")
    R.expect("a cursor below the compaction horizon", "GET", ZL, "/v1/zones/exp/pull?since=1", 410, token=tA,
             check=lambda a: None if a.json()["error"]["reason"] == "expired" else "not expired")

    accounts_cases(tA, tB)
    return tA


def accounts_cases(tA, tB):
    """The accounts routes (docs/http.md, issue 11/16)."""
    n1, n2 = "oas-" + secrets.token_hex(6), "oas-" + secrets.token_hex(6)
    k1, k2, k1b, wrong = Keys(), Keys(), Keys(), Keys()
    a, _ = R.expect("sign up", "POST", "/v1/accounts", "/v1/accounts", 201,
                    body={"name": n1, **k1.login_fields(), "device": "laptop"},
                    check=lambda a: None if a.json()["user"] == n1 else "user is not the name")
    t1 = (a.json() or {}).get("token") if a.status == 201 else None
    a, _ = R.expect("sign up (second account)", "POST", "/v1/accounts", "/v1/accounts", 201,
                    body={"name": n2, **k2.login_fields()})
    t2 = (a.json() or {}).get("token") if a.status == 201 else None
    R.expect("the name is taken", "POST", "/v1/accounts", "/v1/accounts", 409,
             body={"name": n1, **k2.login_fields()})
    R.expect("a login_key of 31 bytes", "POST", "/v1/accounts", "/v1/accounts", 400,
             body={"name": "oas-" + secrets.token_hex(6), **k2.login_fields(), "login_key": b64(b"k" * 31)})
    R.expect("a body over 16 KiB", "POST", "/v1/accounts", "/v1/accounts", 413, body=body_of(17000))

    C = "/v1/login/challenge"
    R.expect("a known name", "POST", C, C, 200, body={"name": n1},
             check=lambda a: None if a.json()["salt"] == b64(k1.salt) else "not the account's salt")
    R.expect("an unknown name: the same shape", "POST", C, C, 200, body={"name": "oas-nobody-" + secrets.token_hex(4)})
    R.expect("no name", "POST", C, C, 400, body={"nom": n1})
    R.expect("a body over 16 KiB", "POST", C, C, 413, body=body_of(17000))

    L = "/v1/login"
    ch = challenge_for(n1)
    a, _ = R.expect("a signed challenge", "POST", L, L, 200,
                    body={"name": n1, "challenge": b64(ch), "signature": b64(k1.sign(ch, n1)), "device": "phone"},
                    check=lambda a: None if a.json()["wrapped_key"] == b64(k1.wrapped) else "not the wrapped key")
    tC = (a.json() or {}).get("token") if a.status == 200 else None
    ch = challenge_for(n1)
    R.expect("signed with another key", "POST", L, L, 401,
             body={"name": n1, "challenge": b64(ch), "signature": b64(wrong.sign(ch, n1))})
    R.expect("a signature of 10 bytes", "POST", L, L, 400,
             body={"name": n1, "challenge": b64(ch), "signature": b64(b"s" * 10)})
    R.expect("a body over 16 KiB", "POST", L, L, 413, body=body_of(17000))
    for i in range(5):
        ch = challenge_for(n2)
        R.expect(f"failure {i + 1} of 5 for one name", "POST", L, L, 401,
                 body={"name": n2, "challenge": b64(ch), "signature": b64(wrong.sign(ch, n2))})
    ch = challenge_for(n2)
    R.expect("the 6th attempt, right key: too many attempts", "POST", L, L, 429,
             body={"name": n2, "challenge": b64(ch), "signature": b64(k2.sign(ch, n2))})

    D = "/v1/devices"
    a, _ = R.expect("the account's devices", "GET", D, D, 200, token=tC,
                    check=lambda a: None if sorted(d["label"] or "" for d in a.json()["devices"]) == ["laptop", "phone"]
                    and sum(d["current"] for d in a.json()["devices"]) == 1 else "not laptop + phone, one current")
    devs = (a.json() or {}).get("devices", []) if a.status == 200 else []
    laptop = next((d["id"] for d in devs if d.get("label") == "laptop"), str(uuid.uuid4()))
    a, _ = R.expect("a token-only user's devices", "GET", D, D, 200, token=tB)
    b_dev = next((d["id"] for d in (a.json() or {}).get("devices", [])), str(uuid.uuid4())) if a.status == 200 \
        else str(uuid.uuid4())
    DI = "/v1/devices/{id}"
    R.expect("another user's device", "DELETE", DI, f"/v1/devices/{b_dev}", 404, token=tC)
    R.expect("not a uuid", "DELETE", DI, "/v1/devices/nope", 400, token=tC)
    R.expect("the laptop", "DELETE", DI, f"/v1/devices/{laptop}", 200, token=tC)

    SL = "/v1/account/login"
    R.expect("a new password", "PUT", SL, SL, 200, token=tC, body={**k1b.login_fields(), "logout_others": False})
    R.expect("a user without an account", "PUT", SL, SL, 400, token=tB, body={**k2.login_fields()})
    R.expect("a body over 16 KiB", "PUT", SL, SL, 413, token=tC, body=body_of(17000))

    ZD = "/v1/zones/{zone}"
    R.expect("a zone and its records", "DELETE", ZD, "/v1/zones/default", 200, token=tA,
             check=lambda a: None if a.json()["zone"] == "default" else "not the zone")
    R.expect("a bad zone name", "DELETE", ZD, "/v1/zones/" + "z" * 65, 400, token=tA)

    A = "/v1/account"
    ch = challenge_for(n2)
    R.expect("while the name is locked", "DELETE", A, A, 429, token=t2,
             body={"challenge": b64(ch), "signature": b64(k2.sign(ch, n2))})
    ch = challenge_for(n1)
    R.expect("a wrong proof", "DELETE", A, A, 401, token=tC,
             body={"challenge": b64(ch), "signature": b64(k1.sign(ch, n1))})  # k1 is the old password
    R.expect("a proof that is not base64", "DELETE", A, A, 400, token=tC,
             body={"challenge": "@@@", "signature": "@@@"})
    ch = challenge_for(n1)
    R.expect("with a fresh proof", "DELETE", A, A, 200, token=tC,
             body={"challenge": b64(ch), "signature": b64(k1b.sign(ch, n1))},
             check=lambda a: None if a.json()["user"] == n1 else "not the user")
    R.expect("a token-only user, no body", "DELETE", A, A, 200, token=tB)
    if t1:
        # The laptop was revoked, and its account is gone: its token is dead.
        R.expect("the revoked laptop's token", "GET", "/v1/account", "/v1/account", 401, token=t1)


# --- phase A: what every operation answers before routing --------------------
def gate_cases(token):
    for template, method, op in sorted(DOC.operations()):
        path = sample_path(template)
        t = token if DOC.needs_token(op) else None
        auth = [("Authorization", f"Bearer {t}")] if t else []
        R.expect("Transfer-Encoding: chunked", method, template, path, 411,
                 headers=auth + [("Transfer-Encoding", "chunked")])
        R.expect("Content-Encoding: gzip", method, template, path, 415,
                 headers=auth + [("Content-Encoding", "gzip"), ("Content-Length", "0")])
        R.expect("Content-Length over --max-body-bytes", method, template, path, 413,
                 headers=auth + [("Content-Length", str(10 ** 12))])
        R.expect("two Authorization headers", method, template, path, 400,
                 headers=[("Authorization", f"Bearer {token}"), ("Authorization", f"Bearer {UNKNOWN_TOKEN}")])
        if DOC.needs_token(op):
            # (Content-Length: a push without one is 411 before the token is looked at.)
            R.expect("no token", method, template, path, 401, headers=[("Content-Length", "0")])
            R.expect("an unknown token", method, template, path, 401, token=UNKNOWN_TOKEN,
                     headers=[("Content-Length", "0")])


def shared_responses():
    R.expect_component("an unknown path", "NotFound", "GET", "/v1/nothing-here", 404)
    R.expect_component("an unknown path under a zone", "NotFound", "GET", "/v1/zones/a/b/c/d/e", 404)
    for template in sorted(DOC.doc["paths"]):
        documented = DOC.methods(template)
        other = next(m for m in ("PUT", "POST", "DELETE", "GET") if m not in documented)

        def allow_matches(a, documented=documented):
            allow = {m.strip() for m in a.headers.get("allow", "").split(",") if m.strip()} - {"HEAD"}
            return None if allow == documented else f"Allow {sorted(allow)} but the document has {sorted(documented)}"
        R.expect_component(f"{template}: a method it does not have", "MethodNotAllowed", other,
                           sample_path(template), 405, headers=[("Content-Length", "0")], check=allow_matches)


# --- phases B and C: 500 and 503 on every operation that documents them --------
def valid_request(template, method):
    """A request each operation accepts up to the database call."""
    k = Keys()
    bodies = {
        ("/v1/zones/{zone}/push", "POST"): {"records": [{"blob": b64(b"x")}]},
        ("/v1/accounts", "POST"): {"name": "oas-" + secrets.token_hex(6), **k.login_fields()},
        ("/v1/login/challenge", "POST"): {"name": "oas-someone"},
        ("/v1/login", "POST"): {"name": "oas-someone", "challenge": b64(secrets.token_bytes(32)),
                                "signature": b64(secrets.token_bytes(64))},
        ("/v1/account/login", "PUT"): {**k.login_fields(), "logout_others": False},
    }
    return sample_path(template), bodies.get((template, method))


def failing_database_cases(status, what, token):
    for template, method, op in sorted(DOC.operations()):
        if str(status) not in op.get("responses", {}):
            continue
        path, body = valid_request(template, method)
        R.expect(what, method, template, path, status, body=body,
                 token=token if DOC.needs_token(op) else None)


# --- coverage ---------------------------------------------------------------
def coverage():
    total = untested = 0
    for template, method, op in sorted(DOC.operations()):
        for s in sorted(DOC.statuses(template, method)):
            total += 1
            if (template, method, s) in R.seen:
                continue
            untested += 1
            if (template, method) in R.missing:
                continue  # failed once already, listed below
            R.line(False, f"coverage: {method} {template} {s} is documented but was never answered as documented")
    R.line(untested == 0, f"coverage: {total - untested} of {total} documented (operation, status) pairs answered "
                          "and checked against the document")
    for t, m in sorted(R.missing):
        print(f"# not served by the proxy, so unchecked: {m} {t} "
              f"(statuses {', '.join(str(s) for s in sorted(DOC.statuses(t, m)))})", flush=True)


def main():
    proxy = Proxy(CLUSTER, os.path.join(WORK, "proxy-openapi.log"), ["--open-registration"] + FLAGS).start()
    try:
        token = phase_a(proxy)
        gate_cases(token)
        shared_responses()
        # B: the proxy's role may no longer execute credsync's functions.
        psql("REVOKE EXECUTE ON ALL ROUTINES IN SCHEMA credsync FROM credsync_proxy")
        failing_database_cases(500, "its role may not execute credsync's functions", token)
        psql("SELECT credsync.grant_proxy('credsync_proxy')")
        # C: the database is down.
        CLUSTER.stop()
        failing_database_cases(503, "the database is down", token)
        R.expect("answers while the database is down", "GET", "/metrics", "/metrics", 200)
        CLUSTER.start()
        for _ in range(100):
            if http(R.port, "GET", "/healthz").status == 200:
                break
            time.sleep(0.1)
    finally:
        proxy.stop()
    # D: without --open-registration the registration routes do not exist.
    closed = Proxy(CLUSTER, os.path.join(WORK, "proxy-openapi-closed.log"), FLAGS).start()
    try:
        R.port = closed.port
        R.expect("without --open-registration", "POST", "/v1/register", "/v1/register", 404,
                 route_may_be_absent=True)
        k = Keys()
        R.expect("without --open-registration", "POST", "/v1/accounts", "/v1/accounts", 404,
                 body={"name": "oas-" + secrets.token_hex(6), **k.login_fields()}, route_may_be_absent=True)
    finally:
        closed.stop()
    coverage()
    return 0


if __name__ == "__main__":
    sys.exit(main())
