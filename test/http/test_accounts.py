#!/usr/bin/env python3
"""Accounts, login, devices and deleting one's own data over HTTP (issues 11
and 16), run by test/suites/49-accounts.sh against the real proxy binary and a
throwaway cluster with extension 1.4.

Signs with python3-nacl (Debian) when it is there, else with
test/tools/ed25519-sign (the openssl command line). A key's seed stands for
what a client derives from the password: another seed is another password.

Prints one "ok - name" / "not ok - name" line per check. Every group runs
even when an earlier one failed; an exception inside a group is reported as
a failed check of that group."""
import base64
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from client import Client, Cluster, Proxy, b64, ROOT  # noqa: E402

CLUSTER = Cluster(sys.argv[1])
WORK = sys.argv[2]
FLAGS = ["--open-registration", "--threads", "24", "--max-waiters", "4", "--pool-size", "6",
         "--pool-timeout-ms", "2000"]
ROUNDS, PUSHERS = 4, 3  # the account-deletion race
MODERATE = {"alg": "argon2id13", "ops": 3, "mem": 268435456}
UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
TIME_RE = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"

failures = 0
secrets = []  # tokens, keys and names that must never show up in the proxy's log

# --------------------------------------------------------------- signatures
try:
    import nacl.signing

    def public_key(seed):
        return bytes(nacl.signing.SigningKey(seed).verify_key)

    def sign(seed, message):
        return nacl.signing.SigningKey(seed).sign(message).signature

    SIGNER = "python3-nacl"
except ImportError:
    TOOL = os.path.join(ROOT, "test", "tools", "ed25519-sign")

    def public_key(seed):
        return bytes.fromhex(subprocess.check_output([TOOL, "public", seed.hex()], text=True).strip())

    def sign(seed, message):
        return bytes.fromhex(subprocess.check_output([TOOL, "sign", seed.hex(), message.hex()], text=True).strip())

    SIGNER = "test/tools/ed25519-sign"


def login_message(challenge, name):
    return b"credsync login v1\n" + challenge + name.encode()


# --------------------------------------------------------------- helpers

def check(name, cond, detail=""):
    global failures
    if cond:
        print(f"ok - {name}", flush=True)
    else:
        failures += 1
        print(f"not ok - {name}" + (f" ({str(detail)[:700]})" if detail else ""), flush=True)
    return cond


def is_error(r, status, code, message_has=None):
    return (r is not None and r.status == status and r.code == code and
            (message_has is None or message_has in r.json["error"]["message"]))


def until(fn, timeout, step=0.02):
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() >= deadline:
            return v
        time.sleep(step)


def sql_bytes(b):
    return f"'\\x{b.hex()}'::bytea"


class Account:
    """A name and what its client derived from a password (the seed)."""

    def __init__(self, name, seed=None):
        self.name = name
        self.seed = seed or os.urandom(32)
        self.salt = os.urandom(16)
        self.wrapped = os.urandom(72)
        secrets.extend([b64(self.wrapped), b64(public_key(self.seed))])

    def fields(self, kdf=MODERATE):
        return {"login_key": b64(public_key(self.seed)), "salt": b64(self.salt), "kdf": kdf,
                "wrapped_key": b64(self.wrapped)}


def signup(c, acct, device="first", **extra):
    body = {"name": acct.name, **acct.fields(), "device": device, **extra}
    r = c.request("POST", "/v1/accounts", body=body)
    if r.status == 201:
        secrets.append(r.json["token"])
    return r


def challenge(c, name):
    r = c.request("POST", "/v1/login/challenge", body={"name": name})
    assert r.status == 200, r
    return base64.b64decode(r.json["challenge"])


def login(c, name, seed, device="device", ch=None, sign_name=None, sign_challenge=None):
    ch = ch if ch is not None else challenge(c, name)
    sig = sign(seed, login_message(sign_challenge or ch, sign_name or name))
    body = {"name": name, "challenge": b64(ch), "signature": b64(sig)}
    if device is not None:
        body["device"] = device
    r = c.request("POST", "/v1/login", body=body)
    if r.status == 200:
        secrets.append(r.json["token"])
    return r


def proof(c, acct, seed=None):
    ch = challenge(c, acct.name)
    return {"challenge": b64(ch), "signature": b64(sign(seed or acct.seed, login_message(ch, acct.name)))}


def unique(prefix):
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    secrets.append(name)
    return name


def reset_failures(name):
    CLUSTER.psql(f"DELETE FROM credsync.login_failures WHERE name = '{name}'")


def rows_of(user):
    """Every row the database holds for a user, table by table."""
    q = (f"SELECT (SELECT count(*) FROM credsync.zones WHERE user_id = '{user}') || ' ' ||"
         f" (SELECT count(*) FROM credsync.records WHERE user_id = '{user}') || ' ' ||"
         f" (SELECT count(*) FROM credsync.ops WHERE user_id = '{user}') || ' ' ||"
         f" (SELECT count(*) FROM credsync.tokens WHERE user_id = '{user}') || ' ' ||"
         f" (SELECT count(*) FROM credsync.quotas WHERE user_id = '{user}') || ' ' ||"
         f" (SELECT count(*) FROM credsync.accounts WHERE name = '{user}')")
    z, r, o, t, q_, a = CLUSTER.psql(q).split()
    return {"zones": int(z), "records": int(r), "ops": int(o), "tokens": int(t), "quotas": int(q_), "accounts": int(a)}


# --------------------------------------------------------------- groups

def t_signup(p):
    c = p.client()
    alice = Account(unique("alice"))
    r = signup(c, alice, device="alice laptop")
    check("signup: 201 {user, device, token}, the user is the name",
          r.status == 201 and set(r.json) == {"user", "device", "token"} and r.json["user"] == alice.name
          and re.fullmatch(UUID_RE, r.json["device"]) and re.fullmatch(r"cs_[0-9a-f]{64}", r.json["token"]), r)
    tok = r.json["token"]
    a = p.client(tok)
    r = a.get("/v1/account")
    check("signup: the token is the account's", r.status == 200 and r.json["user"] == alice.name, r)
    r = a.get("/v1/devices")
    check("signup: its first device is listed, labelled, current",
          r.status == 200 and len(r.json["devices"]) == 1 and r.json["devices"][0]["label"] == "alice laptop"
          and r.json["devices"][0]["current"] is True and re.fullmatch(TIME_RE, r.json["devices"][0]["created"]), r)
    stored = CLUSTER.psql(f"SELECT encode(salt, 'hex') || ' ' || kdf_ops || ' ' || kdf_mem || ' ' || encode(wrapped_key, 'hex')"
                          f" || ' ' || encode(login_key, 'hex') FROM credsync.accounts WHERE name = '{alice.name}'")
    check("signup: the database holds exactly the salt, kdf, wrapped key and login key sent",
          stored == f"{alice.salt.hex()} 3 268435456 {alice.wrapped.hex()} {public_key(alice.seed).hex()}", stored)

    r = signup(c, Account(alice.name))
    check("signup: the same name again is 409 name_taken", is_error(r, 409, "name_taken"), r)
    squatted = unique("squatted")
    tok_s = CLUSTER.psql(f"SELECT credsync.issue_token('{squatted}')")
    secrets.append(tok_s)
    p.client(tok_s).push("z", [{"blob": b64(b"someone's data")}])
    r = signup(c, Account(squatted))
    check("signup: a user id that has data and tokens is 409 (a signup never adopts data)",
          is_error(r, 409, "name_taken") and rows_of(squatted)["accounts"] == 0, r)

    # Bad bodies: 400 naming the field, nothing stored.
    bob = Account(unique("bob"))
    good = {"name": bob.name, **bob.fields(), "device": "x"}
    bad = [
        ("login_key of 31 bytes", {**good, "login_key": b64(os.urandom(31))}, "login_key"),
        ("login_key of 33 bytes", {**good, "login_key": b64(os.urandom(33))}, "login_key"),
        ("salt of 17 bytes", {**good, "salt": b64(os.urandom(17))}, "salt"),
        ("salt in URL-safe base64", {**good, "salt": base64.urlsafe_b64encode(b"\xfb\xff" * 8).decode()}, "salt"),
        ("login_key without padding", {**good, "login_key": b64(public_key(bob.seed)).rstrip("=")}, "login_key"),
        ("login_key with a newline", {**good, "login_key": b64(public_key(bob.seed))[:20] + "\n" + b64(public_key(bob.seed))[20:]}, "login_key"),
        ("salt with stray bits", {**good, "salt": b64(bob.salt)[:21] + "B=="}, "salt"),
        ("wrapped_key empty", {**good, "wrapped_key": ""}, "wrapped_key"),
        ("wrapped_key of 4097 bytes", {**good, "wrapped_key": b64(os.urandom(4097))}, "wrapped_key"),
        ("kdf alg argon2i13", {**good, "kdf": {**MODERATE, "alg": "argon2i13"}}, "kdf.alg"),
        ("kdf ops 0", {**good, "kdf": {**MODERATE, "ops": 0}}, "kdf.ops"),
        ("kdf ops 21", {**good, "kdf": {**MODERATE, "ops": 21}}, "kdf.ops"),
        ("kdf ops 3.0", {**good, "kdf": {**MODERATE, "ops": 3.0}}, "kdf.ops"),
        ("kdf mem below 8 MiB", {**good, "kdf": {**MODERATE, "mem": 8388607}}, "kdf.mem"),
        ("kdf mem over 4 GiB", {**good, "kdf": {**MODERATE, "mem": 4294967297}}, "kdf.mem"),
        ("kdf mem 2^64", {**good, "kdf": {**MODERATE, "mem": 2 ** 64}}, "kdf.mem"),
        ("kdf with an unknown field", {**good, "kdf": {**MODERATE, "salt": "x"}}, "kdf.salt"),
        ("kdf missing", {k: v for k, v in good.items() if k != "kdf"}, "kdf"),
        ("an unknown field", {**good, "wrapped": "x"}, "wrapped"),
        ("name with a newline", {**good, "name": "a\nb"}, "name"),
        ("name with U+0085", {**good, "name": "a\u0085b"}, "name"),
        ("name of 257 bytes", {**good, "name": "n" * 257}, "name"),
        ("name empty", {**good, "name": ""}, "name"),
        ("name a number", {**good, "name": 5}, "name"),
        ("device of 201 bytes", {**good, "device": "d" * 201}, "device"),
        ("device with a tab", {**good, "device": "my\tphone"}, "device"),
        ("device an object", {**good, "device": {}}, "device"),
    ]
    for what, body, field in bad:
        r = c.request("POST", "/v1/accounts", body=body)
        check(f"signup refused, 400 naming the field: {what}", is_error(r, 400, "bad_request", field), r)
    raw = [
        ("a repeated key", '{"name":"%s","name":"other","login_key":"%s","salt":"%s","kdf":{"alg":"argon2id13","ops":3,"mem":268435456},"wrapped_key":"%s"}'
         % (bob.name, good["login_key"], good["salt"], good["wrapped_key"]), "name"),
        ("a repeated key in kdf", json.dumps(good).replace('"ops": 3', '"ops": 3, "ops": 4'), "ops"),
        ("not JSON", '{"name": ', "JSON"),
        ("an array", "[]", "object"),
        ("a NUL byte", json.dumps(good) + "\x00", "JSON"),
        ("nesting", json.dumps({**good, "kdf": {**MODERATE, "alg": [["x"]]}}), "nests"),
    ]
    for what, body, words in raw:
        r = c.request("POST", "/v1/accounts", body=body.encode(), headers={"Content-Type": "application/json"})
        check(f"signup refused, 400: {what}", is_error(r, 400, "bad_request", words), r)
    r = c.request("POST", "/v1/accounts", body=json.dumps(good).encode(), headers={"Content-Type": "text/plain"})
    check("signup refused: Content-Type text/plain is 400", is_error(r, 400, "bad_request"), r)
    r = c.request("POST", "/v1/accounts", body=json.dumps({**good, "device": "d" * 17000}).encode(),
                  headers={"Content-Type": "application/json"})
    check("signup refused: a body over 16 KiB is 413 too_large", is_error(r, 413, "too_large"), r)
    check("signup: nothing stored by the refused requests", rows_of(bob.name) == rows_of("nobody-at-all"), rows_of(bob.name))
    r = signup(c, bob, device=None)
    check("signup: the good body then works (device null is no label)", r.status == 201, r)
    r = p.client(r.json["token"]).get("/v1/devices") if r.status == 201 else None
    check("signup: a device without a label lists label null, last_seen a time",
          r is not None and r.json["devices"][0]["label"] is None
          and re.fullmatch(TIME_RE, r.json["devices"][0]["last_seen"] or ""), r)


def t_challenge_shape(p):
    c = p.client()
    known = Account(unique("carol"))
    assert signup(c, known).status == 201
    rk = c.request("POST", "/v1/login/challenge", body={"name": known.name})
    ru = c.request("POST", "/v1/login/challenge", body={"name": unique("nobody")})
    check("challenge: a known name gets 32 random bytes, its salt and kdf, expires_in 60",
          rk.status == 200 and set(rk.json) == {"challenge", "salt", "kdf", "expires_in"}
          and len(base64.b64decode(rk.json["challenge"])) == 32 and rk.json["salt"] == b64(known.salt)
          and rk.json["kdf"] == MODERATE and rk.json["expires_in"] == 60, rk)
    check("challenge: an unknown name gets the same shape (16-byte salt, default kdf, expires_in 60)",
          ru.status == 200 and set(ru.json) == set(rk.json) and len(base64.b64decode(ru.json["challenge"])) == 32
          and len(base64.b64decode(ru.json["salt"])) == 16 and ru.json["kdf"] == MODERATE
          and ru.json["expires_in"] == 60, ru)
    check("challenge: known and unknown answers have the same headers and length",
          rk.headers == ru.headers and len(rk.raw) == len(ru.raw), (rk.headers, ru.headers))
    name = unique("nobody")
    s1 = c.request("POST", "/v1/login/challenge", body={"name": name}).json
    s2 = c.request("POST", "/v1/login/challenge", body={"name": name}).json
    check("challenge: an unknown name's salt is the same every time, its challenges differ",
          s1["salt"] == s2["salt"] and s1["challenge"] != s2["challenge"], (s1, s2))
    for what, body, words in [("no name", {}, "name"), ("an unknown field", {"name": "x", "nam": "x"}, "nam"),
                              ("a control character", {"name": "a\x01"}, "name"), ("name null", {"name": None}, "name")]:
        r = c.request("POST", "/v1/login/challenge", body=body)
        check(f"challenge refused, 400: {what}", is_error(r, 400, "bad_request", words), r)
    r = c.request("POST", "/v1/login/challenge")
    check("challenge refused, 400: no body", is_error(r, 400, "bad_request"), r)
    r = c.request("POST", "/v1/login/challenge", body=b"{}", headers={"Content-Type": "application/json",
                                                                    "Authorization": "Bearer nonsense"})
    check("challenge needs no token (a bad one is not looked at)", is_error(r, 400, "bad_request", "name"), r)


def t_login(p):
    c = p.client()
    dana = Account(unique("dana"))
    r = signup(c, dana, device="dana laptop")
    t1, d1 = r.json["token"], r.json["device"]
    r = login(c, dana.name, dana.seed, device="dana phone")
    check("login from a second device: 200 {user, device, token, wrapped_key}",
          r.status == 200 and set(r.json) == {"user", "device", "token", "wrapped_key"} and r.json["user"] == dana.name
          and r.json["wrapped_key"] == b64(dana.wrapped) and r.json["device"] != d1 and r.json["token"] != t1, r)
    t2, d2 = r.json["token"], r.json["device"]
    l1 = p.client(t1).get("/v1/devices").json["devices"]
    l2 = p.client(t2).get("/v1/devices").json["devices"]
    check("devices: both listed, each token sees itself as current",
          sorted(d["id"] for d in l1) == sorted([d1, d2]) and {d["id"]: d["current"] for d in l1} == {d1: True, d2: False}
          and {d["id"]: d["current"] for d in l2} == {d1: False, d2: True}
          and {d["id"]: d["label"] for d in l1} == {d1: "dana laptop", d2: "dana phone"}, (l1, l2))
    r = login(c, dana.name, dana.seed, device=None)
    check("login without a device label works", r.status == 200, r)

    # The refusals: each 401 login_failed, all byte for byte the same as an
    # unknown name's, and none makes a device.
    devices_before = CLUSTER.psql(f"SELECT count(*) FROM credsync.tokens WHERE user_id = '{dana.name}'")
    ghost = unique("ghost")
    unknown = login(c, ghost, os.urandom(32))
    check("login of an unknown name: 401 login_failed",
          is_error(unknown, 401, "login_failed") and unknown.json == {"error": {"code": "login_failed", "message": "login failed"}},
          unknown)

    def same_as_unknown(what, r):
        check(f"login refused like an unknown name (status, headers, body byte for byte): {what}",
              r.status == 401 and r.raw == unknown.raw and r.headers == unknown.headers, (r, r.headers, unknown.headers))
        reset_failures(dana.name)

    same_as_unknown("a wrong password (another key)", login(c, dana.name, os.urandom(32)))
    same_as_unknown("a signature over another name", login(c, dana.name, dana.seed, sign_name=dana.name + "x"))
    other_ch = challenge(c, dana.name)
    same_as_unknown("a signature over another challenge", login(c, dana.name, dana.seed, sign_challenge=other_ch))
    eve = Account(unique("eve"))
    signup(c, eve)
    eves = challenge(c, eve.name)
    same_as_unknown("another name's challenge", login(c, dana.name, dana.seed, ch=eves))
    ch = challenge(c, dana.name)
    r = login(c, dana.name, dana.seed, ch=ch)
    check("a fresh challenge logs in", r.status == 200, r)
    same_as_unknown("a reused challenge (the same signed request again)", login(c, dana.name, dana.seed, ch=ch))
    ch = challenge(c, dana.name)
    CLUSTER.psql(f"UPDATE credsync.login_challenges SET expires_at = now() - interval '1 second' "
                 f"WHERE challenge = {sql_bytes(ch)}")
    same_as_unknown("an expired challenge (expired by SQL as admin)", login(c, dana.name, dana.seed, ch=ch))
    same_as_unknown("a made-up challenge", login(c, dana.name, dana.seed, ch=os.urandom(32)))
    devices_after = CLUSTER.psql(f"SELECT count(*) FROM credsync.tokens WHERE user_id = '{dana.name}'")
    check("no refused login made a device", int(devices_after) == int(devices_before) + 1, (devices_before, devices_after))

    for what, body, words in [
            ("a signature of 63 bytes", {"name": dana.name, "challenge": b64(ch), "signature": b64(os.urandom(63))}, "signature"),
            ("a challenge of 31 bytes", {"name": dana.name, "challenge": b64(ch[:31]), "signature": b64(os.urandom(64))}, "challenge"),
            ("no signature", {"name": dana.name, "challenge": b64(ch)}, "signature"),
            ("a challenge not base64", {"name": dana.name, "challenge": "@" * 44, "signature": b64(os.urandom(64))}, "challenge"),
            ("an unknown field", {"name": dana.name, "challenge": b64(ch), "signature": b64(os.urandom(64)), "x": 1}, "'x'")]:
        r = c.request("POST", "/v1/login", body=body)
        check(f"login refused, 400: {what}", is_error(r, 400, "bad_request", words), r)
    failures_now = CLUSTER.psql(f"SELECT coalesce(max(failures), 0) FROM credsync.login_failures WHERE name = '{dana.name}'")
    check("a malformed login counts no failure (it never reaches the database)", failures_now == "0", failures_now)


def t_rate_limit(p):
    c = p.client()
    fred, gina = Account(unique("fred")), Account(unique("gina"))
    tf = signup(c, fred).json["token"]
    signup(c, gina)
    ghost = unique("ghost")
    statuses = [login(c, fred.name, os.urandom(32)).status for _ in range(5)]
    check("rate limit: 5 wrong logins for one name are 401 each", statuses == [401] * 5, statuses)
    r = login(c, fred.name, fred.seed)
    ra = r.headers.get("retry-after", "")
    check("rate limit: the 6th, with the right password, is 429 too_many_attempts with Retry-After",
          is_error(r, 429, "too_many_attempts") and ra.isdigit() and 1 <= int(ra) <= 600, (r, r.headers))
    known_429 = r
    statuses = [login(c, ghost, os.urandom(32)).status for _ in range(5)]
    r = login(c, ghost, os.urandom(32))
    check("rate limit: an unknown name is limited the same way (5 x 401, then 429 with Retry-After)",
          statuses == [401] * 5 and is_error(r, 429, "too_many_attempts") and r.headers.get("retry-after", "").isdigit(), (statuses, r))
    check("rate limit: the 429 of an unknown name has the body of a known one's", r.raw == known_429.raw, (r.raw, known_429.raw))
    r = login(c, gina.name, gina.seed)
    check("rate limit: another name is not affected", r.status == 200, r)
    before = rows_of(fred.name)
    r = p.client(tf).request("DELETE", "/v1/account", body=proof(c, fred))
    check("rate limit: while the name is locked a right proof for DELETE /v1/account is 429 and deletes nothing",
          is_error(r, 429, "too_many_attempts") and r.headers.get("retry-after", "").isdigit()
          and rows_of(fred.name) == before, r)
    p.stop()
    p.start()
    r = login(c, fred.name, fred.seed)
    check("rate limit: after a proxy restart the name is still locked (the counter is in the database)",
          is_error(r, 429, "too_many_attempts") and r.headers.get("retry-after", "").isdigit(), r)
    CLUSTER.psql(f"UPDATE credsync.login_failures SET window_start = now() - interval '10 minutes 1 second' "
                 f"WHERE name = '{fred.name}'")
    r = login(c, fred.name, fred.seed)
    check("rate limit: once the window has passed the right password logs in", r.status == 200, r)


def t_isolation(p):
    c = p.client()
    hank, ivy = Account(unique("hank")), Account(unique("ivy"))
    th = signup(c, hank).json["token"]
    ti = signup(c, ivy).json["token"]
    th2 = login(c, hank.name, hank.seed).json["token"]
    h, i = p.client(th), p.client(ti)
    hank_ids = [d["id"] for d in h.get("/v1/devices").json["devices"]]
    ivy_ids = [d["id"] for d in i.get("/v1/devices").json["devices"]]
    check("devices: one user's list never shows another's", len(hank_ids) == 2 and len(ivy_ids) == 1
          and not set(hank_ids) & set(ivy_ids), (hank_ids, ivy_ids))
    r = i.request("DELETE", f"/v1/devices/{hank_ids[0]}")
    check("devices: deleting another user's device is 404 not_found", is_error(r, 404, "not_found"), r)
    r = i.request("DELETE", f"/v1/devices/{hank_ids[0].upper()}")
    check("devices: ... also with the id in upper case", is_error(r, 404, "not_found"), r)
    r = i.request("DELETE", f"/v1/devices/{uuid.uuid4()}")
    check("devices: an id nobody has is the same 404", is_error(r, 404, "not_found"), r)
    check("devices: the other user's devices still work",
          h.get("/v1/account").status == 200 and p.client(th2).get("/v1/account").status == 200)
    r = i.request("DELETE", "/v1/devices/not-a-uuid")
    check("devices: an id that is not a uuid is 400", is_error(r, 400, "bad_request"), r)
    r = c.request("DELETE", f"/v1/devices/{hank_ids[0]}")
    check("devices: no token is 401", is_error(r, 401, "unauthorized"), r)
    tok = CLUSTER.psql("SELECT credsync.issue_token('tokens-only-user', 'cli')")
    secrets.append(tok)
    r = p.client(tok).get("/v1/devices")
    check("devices: a token from issue_token is a device too (its label, current)",
          r.status == 200 and len(r.json["devices"]) == 1 and r.json["devices"][0]["label"] == "cli"
          and r.json["devices"][0]["current"] is True, r)


def t_revocation(p):
    c = p.client()
    jo = Account(unique("jo"))
    t1 = signup(c, jo).json["token"]
    r2, r3, r4 = (login(c, jo.name, jo.seed, device=f"d{i}") for i in (2, 3, 4))
    t2, t3, t4 = r2.json["token"], r3.json["token"], r4.json["token"]
    a1, a2, a3, a4 = (p.client(t) for t in (t1, t2, t3, t4))
    for a in (a1, a2, a3, a4):
        a.get("/v1/account")  # cached answers: revocation must get past the cache
    # A long-poll of device 3, waiting.
    out = {}

    def poll():
        t0 = time.time()
        out["r"] = a3.pull("lp", "since=0&wait=20")
        out["t"] = time.time() - t0

    th = threading.Thread(target=poll)
    th.start()
    time.sleep(0.5)
    r = a1.request("DELETE", f"/v1/devices/{r3.json['device']}")
    t_revoked = time.time()
    check("revoke: DELETE /v1/devices/{id} answers {device, revoked: true}",
          r.status == 200 and r.json == {"device": r3.json["device"], "revoked": True}, r)
    gone = until(lambda: a3.get("/v1/account").status == 401, 2.0)
    check("revoke: the device's token is 401 within 2 s", gone and time.time() - t_revoked < 2.0)
    th.join(25)
    check("revoke: its waiting long-poll answers 401 within 2 s",
          "r" in out and is_error(out["r"], 401, "unauthorized") and out["t"] < 0.5 + 2.0, out)
    check("revoke: the other devices still work", a1.get("/v1/account").status == 200 and a2.get("/v1/account").status == 200)
    ids = [d["id"] for d in a1.get("/v1/devices").json["devices"]]
    check("revoke: the revoked device is no longer listed", r3.json["device"] not in ids and len(ids) == 3, ids)
    r = a1.request("DELETE", f"/v1/devices/{r3.json['device']}")
    check("revoke: revoking it again is 404", is_error(r, 404, "not_found"), r)
    # Revoked by an administrator in SQL: the proxy hears NOTIFY credsync_tokens.
    a4.get("/v1/account")
    CLUSTER.psql(f"SELECT credsync.device_revoke('{jo.name}', '{r4.json['device']}')")
    t0 = time.time()
    gone = until(lambda: a4.get("/v1/account").status == 401, 2.0)
    check("revoke: a device revoked in SQL (device_revoke) stops working within 2 s", gone, time.time() - t0)
    # A device revokes itself.
    me = [d["id"] for d in a2.get("/v1/devices").json["devices"] if d["current"]][0]
    r = a2.request("DELETE", f"/v1/devices/{me}")
    check("revoke: a device may revoke itself", r.status == 200 and r.json["revoked"] is True, r)
    check("revoke: ... and its token is then 401", until(lambda: a2.get("/v1/account").status == 401, 2.0))


def t_password_change(p):
    c = p.client()
    kim = Account(unique("kim"))
    t1 = signup(c, kim, device="k1").json["token"]
    r2, r3 = login(c, kim.name, kim.seed, device="k2"), login(c, kim.name, kim.seed, device="k3")
    a1, a2, a3 = p.client(t1), p.client(r2.json["token"]), p.client(r3.json["token"])
    for a in (a1, a2, a3):
        a.get("/v1/account")
    new = Account(kim.name)
    r = a2.request("PUT", "/v1/account/login", body={**new.fields(), "logout_others": False})
    check("password change: 200 {}", r.status == 200 and r.json == {}, r)
    check("password change without logout_others logs nobody out",
          all(a.get("/v1/account").status == 200 for a in (a1, a2, a3)))
    r = login(c, kim.name, kim.seed)
    check("password change: the old password no longer logs in", is_error(r, 401, "login_failed"), r)
    reset_failures(kim.name)
    r = c.request("POST", "/v1/login/challenge", body={"name": kim.name})
    check("password change: the challenge carries the new salt", r.json["salt"] == b64(new.salt), r)
    newer = Account(kim.name)
    r = a2.request("PUT", "/v1/account/login", body={**newer.fields(), "logout_others": True})
    check("password change with logout_others: 200", r.status == 200 and r.json == {}, r)
    t0 = time.time()
    out = until(lambda: a1.get("/v1/account").status == 401 and a3.get("/v1/account").status == 401, 2.0)
    check("password change with logout_others: the other devices' tokens are 401 within 2 s", out, time.time() - t0)
    check("password change: the device that asked stays logged in", a2.get("/v1/account").status == 200)
    ids = a2.get("/v1/devices").json["devices"]
    check("password change: only that device is listed", len(ids) == 1 and ids[0]["current"], ids)
    r = login(c, kim.name, newer.seed)
    check("password change: the new password logs in and gets the new wrapped key",
          r.status == 200 and r.json["wrapped_key"] == b64(newer.wrapped), r)
    for what, body, words in [("a salt of 8 bytes", {**newer.fields(), "salt": b64(os.urandom(8))}, "salt"),
                              ("logout_others a string", {**newer.fields(), "logout_others": "yes"}, "logout_others"),
                              ("an unknown field", {**newer.fields(), "name": kim.name}, "name")]:
        r = a2.request("PUT", "/v1/account/login", body=body)
        check(f"password change refused, 400: {what}", is_error(r, 400, "bad_request", words), r)
    tok = CLUSTER.psql("SELECT credsync.issue_token('tokens-only-user-2')")
    secrets.append(tok)
    r = p.client(tok).request("PUT", "/v1/account/login", body=newer.fields())
    check("password change: a user without an account is 400 (nothing to replace)", is_error(r, 400, "bad_request"), r)
    r = c.request("PUT", "/v1/account/login", body=newer.fields())
    check("password change: no token is 401", is_error(r, 401, "unauthorized"), r)


def t_delete_zone(p):
    user = unique("zd")
    tok = CLUSTER.psql(f"SELECT credsync.issue_token('{user}')")
    secrets.append(tok)
    a = p.client(tok)
    r = a.push("photos", [{"blob": b64(b"one")}, {"blob": b64(b"two")}, {"blob": b64(b"three")}])
    item = r.json["results"][0]["item"]
    a.request("DELETE", f"/v1/zones/photos/items/{r.json['results'][1]['item']}")
    a.push("notes", [{"blob": b64(b"keep me")}])
    cursor = a.pull("photos", "since=0").json["next_since"]
    r = a.request("DELETE", "/v1/zones/photos")
    check("zone delete: 200 {zone, removed} (tombstones count as records)",
          r.status == 200 and r.json == {"zone": "photos", "removed": 3}, r)
    r = a.pull("photos", f"since={cursor}")
    check("zone delete: a pull from an old cursor is 410 cursor_invalid, expired",
          is_error(r, 410, "cursor_invalid") and r.json["error"]["reason"] == "expired", r)
    r = a.pull("photos", "since=2&full=true")
    check("zone delete: a full sync that began before it is 410 expired too",
          is_error(r, 410, "cursor_invalid") and r.json["error"]["reason"] == "expired", r)
    r = a.pull("photos", "since=0")
    check("zone delete: a full pull is empty", r.status == 200 and r.json["records"] == [] and r.json["gencount"] == cursor + 1, r)
    zones = [z["zone"] for z in a.get("/v1/zones").json["zones"]]
    check("zone delete: the zone is no longer listed, the others are", zones == ["notes"], zones)
    r = a.pull("photos", f"since={cursor + 1}")
    check("zone delete: the new cursor pulls (empty)", r.status == 200 and r.json["records"] == [], r)
    r = a.push("photos", [{"item": item, "blob": b64(b"again")}])
    check("zone delete: a push continues counting above it (never a gencount twice)",
          r.status == 200 and r.json["gencount"] == cursor + 2, r)
    check("zone delete: listed again after the push", "photos" in [z["zone"] for z in a.get("/v1/zones").json["zones"]])
    r = a.pull("notes", "since=0")
    check("zone delete: the user's other zone is untouched", r.status == 200 and len(r.json["records"]) == 1, r)
    r = a.request("DELETE", "/v1/zones/never-pushed")
    check("zone delete: an unknown zone is {removed: 0}", r.status == 200 and r.json == {"zone": "never-pushed", "removed": 0}, r)
    r = a.request("DELETE", "/v1/zones/" + "z" * 65)
    check("zone delete: a bad zone name is 400", is_error(r, 400, "bad_request"), r)
    other = unique("zd-other")
    ot = CLUSTER.psql(f"SELECT credsync.issue_token('{other}')")
    secrets.append(ot)
    o = p.client(ot)
    o.push("photos", [{"blob": b64(b"other user's")}])
    a.request("DELETE", "/v1/zones/photos")
    r = o.pull("photos", "since=0")
    check("zone delete: another user's zone of the same name is untouched", len(r.json["records"]) == 1, r)


def t_delete_account(p):
    c = p.client()
    lee = Account(unique("lee"))
    t1 = signup(c, lee).json["token"]
    a = p.client(t1)
    a.push("v", [{"blob": b64(b"x")}])
    before = rows_of(lee.name)
    r = a.request("DELETE", "/v1/account")
    check("account delete: without a proof (the account has a login key) is 400 naming challenge",
          is_error(r, 400, "bad_request", "challenge"), r)
    r = a.request("DELETE", "/v1/account", body=proof(c, lee, seed=os.urandom(32)))
    check("account delete: a wrong proof is 401 login_failed", is_error(r, 401, "login_failed"), r)
    r = a.request("DELETE", "/v1/account", body={"challenge": b64(os.urandom(32))})
    check("account delete: a challenge without a signature is 400", is_error(r, 400, "bad_request", "signature"), r)
    r = a.request("DELETE", "/v1/account", body={"challenge": "!!", "signature": "!!"})
    check("account delete: a proof that is not base64 is 400", is_error(r, 400, "bad_request", "challenge"), r)
    r = a.request("DELETE", "/v1/account", body={**proof(c, lee), "user": "someone-else"})
    check("account delete: an unknown field is 400", is_error(r, 400, "bad_request", "user"), r)
    check("account delete: the refusals removed nothing", rows_of(lee.name) == before, (before, rows_of(lee.name)))
    reset_failures(lee.name)

    # The race: other devices push (to a zone that exists and to new zones)
    # while the account is deleted; nothing of the user may be left. In every
    # other round an administrator's transaction holds the user's token rows
    # for a second, so that the deletion, which deletes the tokens last,
    # holds the user's zones that long: pushes let in meanwhile would wait
    # for it and then start their zone again (and new zones would commit
    # under it), instead of the race depending on luck.
    for round_ in range(ROUNDS):
        slow = round_ % 2 == 0
        mo = Account(unique("race"))
        tm = signup(c, mo).json["token"]
        others = [login(c, mo.name, mo.seed, device=f"pusher {i}").json["token"] for i in range(PUSHERS)]
        p.client(tm).push("shared", [{"blob": b64(b"first")}])
        stop = threading.Event()
        seen = {"ok": 0, "401": 0, "other": []}
        lock = threading.Lock()

        def pusher(tok, k):
            pc = p.client(tok)
            n = 0
            while not stop.is_set():
                zone = "shared" if n % 2 == 0 else f"new-{k}-{n}"
                r = pc.push(zone, [{"blob": b64(b"racing")}, {"blob": b64(b"racing too")}])
                with lock:
                    if r.status == 200:
                        seen["ok"] += 1
                    elif is_error(r, 401, "unauthorized"):
                        seen["401"] += 1
                    else:
                        seen["other"].append(r)
                n += 1

        threads = [threading.Thread(target=pusher, args=(t, k)) for k, t in enumerate(others)]
        for t in threads:
            t.start()
        until(lambda: seen["ok"] >= 6, 10)
        body = proof(c, mo)
        holder = None
        if slow:
            holder = CLUSTER.psql_background(f"BEGIN; SELECT 1 FROM credsync.tokens WHERE user_id = '{mo.name}' FOR UPDATE;"
                                             f" SELECT pg_sleep(1); COMMIT;")
            until(lambda: CLUSTER.psql("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'BEGIN; SELECT 1 FROM credsync.tokens%'"
                                       " AND wait_event = 'PgSleep'") == "1", 5)
        r = p.client(tm).request("DELETE", "/v1/account", body=body)
        if holder:
            holder.wait(10)
        deleted = r.status == 200 and r.json["user"] == mo.name and r.json["removed"] > 0
        time.sleep(0.7)  # the pushers keep trying after the deletion
        stop.set()
        for t in threads:
            t.join(30)
        left = rows_of(mo.name)
        what = f"account delete race {round_ + 1}" + (" (the deletion held up for a second)" if slow else "")
        check(f"{what}: 200 {{user, removed}} while {PUSHERS} devices push", deleted, r)
        check(f"{what}: nothing of the user is left (zones, records, ops, tokens, quotas, account)",
              all(v == 0 for v in left.values()), left)
        check(f"{what}: the pushers were answered 200 before and 401 after, nothing else",
              seen["ok"] > 0 and seen["401"] > 0 and not seen["other"], {k: v if k != "other" else v[:3] for k, v in seen.items()})
        left_aux = CLUSTER.psql(f"SELECT (SELECT count(*) FROM credsync.login_challenges WHERE name = '{mo.name}') + "
                                f"(SELECT count(*) FROM credsync.login_failures WHERE name = '{mo.name}')")
        check(f"{what}: no challenge or failure counter left", left_aux == "0", left_aux)
    r = p.client(tm).get("/v1/account")
    check("account delete: the deleting device's own token is 401 afterwards", is_error(r, 401, "unauthorized"), r)
    r = login(c, mo.name, mo.seed)
    check("account delete: a login of the deleted name fails like an unknown name", is_error(r, 401, "login_failed"), r)
    r = signup(c, Account(mo.name))
    check("account delete: the name can be signed up again", r.status == 201, r)

    # A user without an account needs no proof.
    user = unique("tokens-only")
    tok = CLUSTER.psql(f"SELECT credsync.issue_token('{user}')")
    secrets.append(tok)
    p.client(tok).push("z", [{"blob": b64(b"bye")}])
    r = p.client(tok).request("DELETE", "/v1/account")
    check("account delete: a token-only user with no body: 200 {user, removed}",
          r.status == 200 and r.json["user"] == user and r.json["removed"] >= 3, r)
    check("account delete: ... and nothing of it is left", all(v == 0 for v in rows_of(user).values()), rows_of(user))


def t_queries(p):
    c = p.client()
    user = unique("q")
    tok = CLUSTER.psql(f"SELECT credsync.issue_token('{user}')")
    secrets.append(tok)
    a = p.client(tok)
    r = a.push("qz", [{"blob": b64(b"x")}])
    item = r.json["results"][0]["item"]
    cases = [
        ("GET", "/v1/zones/qz/pull?sinse=2", "sinse", "unknown"),
        ("GET", "/v1/zones/qz/pull?since=1&limt=5", "limt", "unknown"),
        ("GET", "/v1/zones/qz/pull?since=1&since=1", "since", "more than once"),
        ("GET", "/v1/zones/qz/pull?since[]=1&since=1", "since[]", "unknown"),
        ("GET", "/v1/zones/qz/pull?full=true&full=true", "full", "more than once"),
        ("GET", "/v1/zones/qz/pull?since=1&%73ince=1", "since", "more than once"),
        ("GET", "/v1/zones/qz/pull?since=%zz", "since", "percent"),
        ("GET", "/v1/zones/qz/pull?=1", "''", "unknown"),
        ("GET", "/v1/account?user=someone", "user", "unknown"),
        ("GET", "/v1/zones?x=1", "'x'", "unknown"),
        ("GET", "/v1/zones/qz?since=1", "since", "unknown"),
        ("GET", "/v1/devices?all=true", "all", "unknown"),
        ("DELETE", f"/v1/zones/qz/items/{item}?if_matc=1", "if_matc", "unknown"),
        ("DELETE", f"/v1/zones/qz/items/{item}?if_match=1&if_match=1", "if_match", "more than once"),
        ("DELETE", "/v1/zones/qz?force=1", "force", "unknown"),
        ("POST", "/v1/zones/qz/push?op_id=" + str(uuid.uuid4()), "op_id", "unknown"),
        ("GET", "/healthz?verbose=1", "verbose", "unknown"),
        ("GET", "/metrics?name=x", "name", "unknown"),
    ]
    for method, path, name, words in cases:
        body = {"records": [{"blob": b64(b"y")}]} if method == "POST" else None
        r = a.request(method, path, body=body)
        check(f"query: {method} {path} is 400 naming {name}",
              is_error(r, 400, "bad_request", name) and words in r.json["error"]["message"], r)
    r = c.request("POST", "/v1/login/challenge?name=x", body={"name": "x"})
    check("query: POST /v1/login/challenge?name=x is 400", is_error(r, 400, "bad_request", "name"), r)
    check("query: nothing was deleted or written by the refused requests",
          a.pull("qz", "since=0").json["gencount"] == 1 and a.get("/v1/zones").json["zones"][0]["gencount"] == 1)
    r = a.pull("qz", "since=0&limit=10&wait=0&full=false")
    check("query: every pull parameter once is fine", r.status == 200, r)
    r = a.pull("qz", "since=0&&limit=10&")
    check("query: empty pairs (&&, a trailing &) are ignored", r.status == 200, r)
    r = a.request("DELETE", f"/v1/zones/qz/items/{item}?if_match=1&op_id={uuid.uuid4()}")
    check("query: if_match and op_id on an item delete are fine", r.status == 200, r)


def t_closed_registration(p):
    q = Proxy(CLUSTER, os.path.join(WORK, "closed.log"), [f for f in FLAGS if f != "--open-registration"]).start()
    try:
        c = q.client()
        r = signup(c, Account(unique("closed")))
        check("without --open-registration POST /v1/accounts is 404", is_error(r, 404, "not_found"), r)
        r = c.request("POST", "/v1/login/challenge", body={"name": "anyone"})
        check("without --open-registration login still works (challenge 200)", r.status == 200, r)
    finally:
        q.stop()


def t_nginx(p):
    """deploy/nginx/ as shipped: the snippet passes PUT on (and names it in
    its 405); the site config limits logins per address (429 in the API's
    shape, with Retry-After)."""
    from nginx import NGINX, start_nginx, stop_nginx
    from client import free_port
    if not os.path.exists(NGINX):
        check("nginx is installed (make deps)", False, NGINX)
        return
    snippet_dir = os.path.join(WORK, "snippet")
    os.makedirs(snippet_dir, exist_ok=True)
    proc, port = start_nginx(snippet_dir, p.port)
    try:
        n = Client(port)
        kit = Account(unique("kit"))
        tok = signup(p.client(), kit).json["token"]
        r = n.request("PUT", "/v1/account/login", token=tok, body={**Account(kit.name).fields(), "logout_others": False})
        check("nginx snippet: PUT /v1/account/login reaches the proxy (200)", r.status == 200 and r.json == {}, r)
        r = n.request("PATCH", "/v1/account")
        check("nginx snippet: a method the API does not have is nginx's 405, naming PUT among the methods",
              is_error(r, 405, "method_not_allowed", "PUT"), r)
    finally:
        stop_nginx(proc)

    # The site config (credsync.conf) with test ports, a self-signed
    # certificate and the snippet from the tree.
    d = os.path.join(WORK, "site")
    os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
    os.chmod(os.path.join(d, "tmp"), 0o777)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", os.path.join(d, "key.pem"), "-out", os.path.join(d, "cert.pem")],
                   check=True, capture_output=True)
    tls_port, plain_port = free_port(), free_port()
    site = open(os.path.join(ROOT, "deploy", "nginx", "credsync.conf")).read()
    for old, new in [("listen 443 ssl http2;", f"listen 127.0.0.1:{tls_port} ssl http2;"), ("listen [::]:443 ssl http2;", ""),
                     ("listen 80;", f"listen 127.0.0.1:{plain_port};"), ("listen [::]:80;", ""),
                     ("server 127.0.0.1:8080;", f"server 127.0.0.1:{p.port};"),
                     ("/etc/letsencrypt/live/sync.example.com/fullchain.pem", os.path.join(d, "cert.pem")),
                     ("/etc/letsencrypt/live/sync.example.com/privkey.pem", os.path.join(d, "key.pem")),
                     ("/etc/nginx/snippets/credsync-server.conf", os.path.join(ROOT, "deploy", "nginx", "credsync-server.conf"))]:
        check(f"nginx site config: has '{old}' to adapt for the test", old in site)
        site = site.replace(old, new)
    with open(os.path.join(d, "credsync.conf"), "w") as f:
        f.write(site)
    user = "user nobody nogroup;" if os.getuid() == 0 else ""
    conf = f"""{user}
worker_processes 1;
pid {d}/nginx.pid;
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    include {d}/credsync.conf;
}}
"""
    with open(os.path.join(d, "nginx.conf"), "w") as f:
        f.write(conf)
    log = open(os.path.join(WORK, "nginx-site.log"), "ab")
    proc = subprocess.Popen([NGINX, "-p", d, "-e", os.path.join(d, "error.log"), "-c", os.path.join(d, "nginx.conf"),
                             "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=log)
    log.close()
    try:
        up = until(lambda: proc.poll() is None and Client(tls_port, tls=True).get("/healthz").status == 200
                   if _listening(tls_port) else False, 10, 0.1)
        if not check("nginx site config: nginx starts with it and passes /healthz on", up,
                     open(os.path.join(WORK, "nginx-site.log")).read()[-500:]):
            return
        t = Client(tls_port, tls=True)
        answers = [t.request("POST", "/v1/login/challenge", body={"name": "rate-" + kit.name}) for _ in range(14)]
        statuses = [a.status for a in answers]
        limited = [a for a in answers if a.status == 429]
        check("nginx site config: one address's burst of login challenges is cut off with 429",
              statuses[:10] == [200] * 10 and limited, statuses)
        check("nginx site config: its 429 is the API's too_many_attempts with Retry-After",
              limited and is_error(limited[0], 429, "too_many_attempts") and limited[0].headers.get("retry-after", "").isdigit(),
              limited[:1])
        r = t.request("POST", "/v1/login", body={"name": kit.name, "challenge": b64(os.urandom(32)),
                                                 "signature": b64(os.urandom(64))})
        check("nginx site config: /v1/login shares the limit (429 right after)", is_error(r, 429, "too_many_attempts"), r)
        r = t.get("/v1/account", token=tok)
        check("nginx site config: other routes are not limited", r.status == 200, r)
    finally:
        stop_nginx(proc)


def _listening(port):
    import socket
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def t_log(p):
    log = p.log()
    leaked = [s[:12] for s in secrets if s and s in log]
    check("the proxy's log holds no token, name, login key or wrapped key", not leaked, leaked)
    check("the proxy's log shows no 5xx", not re.search(r" (5\d\d) \d+\.\dms", log), re.findall(r".* 5\d\d .*", log)[:5])


def main():
    print(f"# signing with {SIGNER}", flush=True)
    proxy = Proxy(CLUSTER, os.path.join(WORK, "proxy-accounts.log"), FLAGS)
    proxy.start()
    groups = [
        ("signup", lambda: t_signup(proxy)),
        ("challenge shape", lambda: t_challenge_shape(proxy)),
        ("login", lambda: t_login(proxy)),
        ("rate limit", lambda: t_rate_limit(proxy)),
        ("devices isolation", lambda: t_isolation(proxy)),
        ("revocation", lambda: t_revocation(proxy)),
        ("password change", lambda: t_password_change(proxy)),
        ("zone delete", lambda: t_delete_zone(proxy)),
        ("account delete", lambda: t_delete_account(proxy)),
        ("strict query strings", lambda: t_queries(proxy)),
        ("closed registration", lambda: t_closed_registration(proxy)),
        ("nginx", lambda: t_nginx(proxy)),
        ("log", lambda: t_log(proxy)),
    ]
    only = os.environ.get("HTTP_TESTS")
    try:
        for name, fn in groups:
            if only and name not in only.split(","):
                continue
            try:
                fn()
            except Exception as e:  # a crash in a group is a failure of that group, not the end of the run
                check(f"{name}: ran to the end", False, f"{type(e).__name__}: {e}")
                if proxy.proc.poll() is not None:
                    proxy.start()
    finally:
        proxy.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
