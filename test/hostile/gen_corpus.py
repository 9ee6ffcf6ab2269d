#!/usr/bin/env python3
"""Generates the hostile-request corpus test/hostile/corpus.ndjson (and the
libFuzzer seeds test/fuzz/corpus/ from the same requests). Both outputs are
checked in; rerun this after editing it:  python3 test/hostile/gen_corpus.py

One JSON object per line:
  id      unique name, "<category>-<nnn>"
  cat     category (json, types, numbers, base64, utf8, nul, sql, path, query,
          headers, auth, framing, size, cross, method, http)
  note    what it tries
  expect  the acceptable answers: HTTP statuses, and "noreply" where the
          request is not HTTP at all and the proxy may just close or wait
  req     the raw request bytes, as a string whose code points 0..255 are the
          bytes (latin-1), so invalid UTF-8 and NUL are written as \\u00ff, \\u0000
  extra   optional extra checks: {"conflict_gencount": 0} (409 must report
          the item as absent, i.e. not leak user A's version),
          {"cursor_gencount": 0} (410 must report B's own zone, not A's)

Placeholders the runner (test/hostile/run_corpus.py) expands:
  @@TA@@ @@TB@@ @@TC@@  user A's token, user B's token, a revoked token
  @@ZA@@ @@IA@@ @@GA@@ @@OA@@  A's zone, one of A's items, its gencount, an op_id A used
  @@LEN@@               the length of everything after the first blank line
  @@REPEAT:N:TEXT@@     TEXT repeated N times (TEXT has no '@')
Most requests carry user B's token and aim at B's own or A's data: the
corpus must leave every user's data exactly as it was.
"""
import json
import os

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "test", "hostile", "corpus.ndjson")
SEEDS = os.path.join(ROOT, "test", "fuzz", "corpus")

entries = []
counters = {}


def add(cat, note, req, expect, extra=None):
    counters[cat] = counters.get(cat, 0) + 1
    if isinstance(req, bytes):
        req = req.decode("latin-1")
    req.encode("latin-1")  # every code point is one byte
    e = {"id": f"{cat}-{counters[cat]:03d}", "cat": cat, "note": note, "expect": expect, "req": req}
    if extra:
        e["extra"] = extra
    entries.append(e)


def push(body, zone="zb", token="@@TB@@", ctype="application/json", extra_headers=""):
    h = f"POST /v1/zones/{zone}/push HTTP/1.1\r\nHost: t\r\n"
    if token is not None:
        h += f"Authorization: Bearer {token}\r\n"
    if ctype is not None:
        h += f"Content-Type: {ctype}\r\n"
    h += extra_headers
    h += "Content-Length: @@LEN@@\r\n\r\n"
    return h + body


def get(target, token="@@TB@@", extra_headers="", method="GET"):
    h = f"{method} {target} HTTP/1.1\r\nHost: t\r\n"
    if token is not None:
        h += f"Authorization: Bearer {token}\r\n"
    return h + extra_headers + "\r\n"


def body_req(method, target, body, token="@@TB@@", ctype="application/json", extra_headers=""):
    h = f"{method} {target} HTTP/1.1\r\nHost: t\r\n"
    if token is not None:
        h += f"Authorization: Bearer {token}\r\n"
    if ctype is not None:
        h += f"Content-Type: {ctype}\r\n"
    return h + extra_headers + "Content-Length: @@LEN@@\r\n\r\n" + body


GOOD_REC = '{"blob":"aGk="}'  # would be stored if the request were accepted
UUID_B = "0b6f8e2a-1c3d-4e5f-8a9b-0c1d2e3f4a5b"

# --- broken JSON ---------------------------------------------------------
broken = [
    ("empty body", ""), ("lone brace", "{"), ("lone close", "}"), ("lone bracket", "["),
    ("unterminated records", '{"records":'), ("unterminated array", '{"records":[' + GOOD_REC),
    ("unterminated string", '{"records":[{"blob":"aGk=}]}'), ("trailing comma in array", '{"records":[' + GOOD_REC + ',]}'),
    ("trailing comma in object", '{"records":[' + GOOD_REC + '],}'), ("single quotes", "{'records':[{'blob':'aGk='}]}"),
    ("unquoted keys", '{records:[{blob:"aGk="}]}'), ("NaN", '{"records":[{"blob":"aGk=","if_match":NaN}]}'),
    ("Infinity", '{"records":[{"blob":"aGk=","if_match":Infinity}]}'), ("comment", '{"records":[/* x */' + GOOD_REC + ']}'),
    ("line comment", '{"records":[' + GOOD_REC + ']} // x'), ("two documents", '{"records":[' + GOOD_REC + ']}{"records":[]}'),
    ("garbage after", '{"records":[' + GOOD_REC + ']}xyz'), ("array not object", "[" + GOOD_REC + "]"),
    ("string document", '"records"'), ("number document", "12345"), ("null document", "null"), ("true document", "true"),
    ("form encoded", "records=aGk%3D"), ("xml", "<records><blob>aGk=</blob></records>"),
    ("missing colon", '{"records" [' + GOOD_REC + ']}'), ("missing comma", '{"records":[{"blob":"aGk=" "item":null}]}'),
    ("bad escape", '{"records":[{"blob":"aGk\\q="}]}'), ("control char in string", '{"records":[{"blob":"aG\tk="}]}'),
    ("hex number", '{"records":[{"blob":"aGk=","if_match":0x10}]}'), ("leading zero", '{"records":[{"blob":"aGk=","if_match":007}]}'),
    ("plus sign", '{"records":[{"blob":"aGk=","if_match":+1}]}'), ("python None", '{"records":[{"blob":None}]}'),
    ("duplicate key, bad value last", '{"records":[' + GOOD_REC + '],"records":"x"}'),
    ("duplicate key, good value last", '{"records":"x","records":[' + GOOD_REC + ']}'),
    ("duplicate record key", '{"records":[{"blob":"!!","blob":"aGk="}]}'),
    ("duplicate item key", '{"records":[{"item":"x","item":"' + UUID_B + '","blob":"aGk="}]}'),
]
for note, body in broken:
    add("json", note, push(body), [400])
add("json", "nested arrays 30k deep", push("@@REPEAT:30000:[@@@@REPEAT:30000:]@@"), [400])
add("json", "nested objects 10k deep", push('@@REPEAT:10000:{"a":@@1@@REPEAT:10000:}@@'), [400])
add("json", "unclosed nesting 60k deep", push("@@REPEAT:60000:[@@"), [400])
add("json", "deep nesting inside a blob", push('{"records":[{"blob":@@REPEAT:20000:[@@@@REPEAT:20000:]@@}]}'), [400])
add("json", "deep nesting inside records", push('{"records":[@@REPEAT:20000:[@@@@REPEAT:20000:]@@]}'), [400])
add("json", "deep nesting as op_id", push('{"op_id":@@REPEAT:10000:{"a":@@0@@REPEAT:10000:}@@,"records":[' + GOOD_REC + ']}'), [400])
add("json", "repeated empty key", push('{"records":[{"":1,"":2,"blob":"aGk="}]}'), [400])
add("json", "10k unknown keys", push('{"records":[' + GOOD_REC + '],@@REPEAT:4000:"k":1,@@"z":1}'), [400])

# --- wrong types ---------------------------------------------------------
values = {"object": '{"a":1}', "array": "[1]", "string": '"s"', "number": "1", "true": "true", "float": "1.5"}
for t, v in values.items():
    if t != "array":
        add("types", f"records as {t}", push('{"records":' + v + '}'), [400])
for t, v in list(values.items()) + [("null", "null")]:
    if t != "object":
        add("types", f"record as {t}", push('{"records":[' + v + ']}'), [400])
for field in ("item", "blob", "op_id"):
    for t, v in values.items():
        if field == "blob" and t == "string":
            continue
        body = ('{"op_id":' + v + ',"records":[' + GOOD_REC + ']}') if field == "op_id" else \
               ('{"records":[{"blob":"aGk=","item":' + v + '}]}' if field == "item" else '{"records":[{"blob":' + v + '}]}')
        add("types", f"{field} as {t}", push(body), [400])
for t, v in [("string", '"1"'), ("float", "1.5"), ("exponent", "1e3"), ("true", "true"), ("array", "[1]"),
             ("object", '{"n":1}'), ("negative", "-1"), ("negative zero float", "-0.0")]:
    add("types", f"if_match as {t}", push('{"records":[{"blob":"aGk=","if_match":' + v + '}]}'), [400])
add("types", "records missing", push('{"op_id":"' + UUID_B + '"}'), [400])
add("types", "blob missing", push('{"records":[{"item":"' + UUID_B + '"}]}'), [400])
add("types", "delete without item", push('{"records":[{"blob":null}]}'), [400])
add("types", "unknown top field", push('{"records":[' + GOOD_REC + '],"user":"@@ZA@@"}'), [400])
add("types", "unknown record field (user)", push('{"records":[{"blob":"aGk=","user_id":"a"}]}'), [400])
add("types", "field name case", push('{"Records":[' + GOOD_REC + ']}'), [400])
add("types", "gencount field", push('{"records":[{"blob":"aGk=","gencount":1}]}'), [400])

# --- huge numbers --------------------------------------------------------
for n in ["1e400", "-1e400", "99999999999999999999999", "-99999999999999999999", "9223372036854775808",
          "18446744073709551616", "1" + "0" * 400, "0.0", "1.0", "1E2", "-9223372036854775809", "4.9e-324"]:
    add("numbers", f"if_match {n[:30]}", push('{"records":[{"blob":"aGk=","if_match":' + n + '}]}'), [400])
# The largest valid if_match: the item is absent in B's zone, so it is a conflict.
add("numbers", "if_match int64 max (absent item)", push('{"records":[{"item":"' + UUID_B + '","blob":"aGk=","if_match":9223372036854775807}]}'),
    [409], {"conflict_gencount": 0})
for q in ["since=9223372036854775808", "since=99999999999999999999999999", "limit=99999999999999999999",
          "wait=18446744073709551617", "since=-9223372036854775809", "limit=1e3"]:
    add("numbers", f"pull {q[:30]}", get(f"/v1/zones/zb/pull?{q}"), [400])
add("numbers", "pull since int64 max (ahead of B's zone)", get("/v1/zones/zb/pull?since=9223372036854775807"), [410],
    {"cursor_gencount": 0})
add("numbers", "delete if_match overflow", get(f"/v1/zones/zb/items/{UUID_B}?if_match=99999999999999999999", method="DELETE"), [400])
add("numbers", "Content-Length overflow", get("/v1/zones/zb/push", method="POST",
    extra_headers="Content-Type: application/json\r\nContent-Length: 99999999999999999999999\r\n") + '{"records":[]}', [400, 413])

# --- bad base64 ----------------------------------------------------------
for note, b in [("no padding", "aGk"), ("extra padding", "aGk=="), ("too much padding", "a==="), ("only padding", "===="),
                ("space inside", "aG k="), ("newline inside", "aGk=\\n"), ("leading space", " aGk="), ("url alphabet", "-_-_"),
                ("stray bits", "aGl="), ("stray bits 2", "YR=="), ("padding in middle", "aG=k"), ("two blocks padded", "aGk=aGk="),
                ("non-ascii", "\\u00e9\\u00e9\\u00e9\\u00e9"), ("escaped nul", "aGk\\u0000"), ("percent encoded", "aGk%3D"),
                ("one char", "a"), ("five chars", "aGkaG"), ("asterisks", "****"), ("data uri", "data:;base64,aGk="),
                ("long invalid", "@@REPEAT:3000:a!b=@@")]:
    add("base64", f"blob {note}", push('{"records":[{"blob":"' + b + '"}]}'), [400])

# --- invalid UTF-8 (raw bytes) and JSON escapes --------------------------
bad_utf8 = [("lone 0xff", b"\xff"), ("truncated 2-byte", b"\xc3"), ("bad continuation", b"\xc3\x28"),
            ("overlong slash", b"\xc0\xaf"), ("surrogate", b"\xed\xa0\x80"), ("over U+10FFFF", b"\xf4\x90\x80\x80"),
            ("5-byte form", b"\xf8\x88\x80\x80\x80")]
for note, bs in bad_utf8:
    s = bs.decode("latin-1")
    add("utf8", f"{note} in blob", push('{"records":[{"blob":"aG' + s + 'k="}]}'), [400])
    add("utf8", f"{note} in key", push('{"records":[{"bl' + s + 'ob":"aGk="}]}'), [400])
for note, bs in bad_utf8[:4]:
    s = bs.decode("latin-1")
    add("utf8", f"{note} in item", push('{"records":[{"item":"' + UUID_B[:-1] + s + '","blob":"aGk="}]}'), [400])
    add("utf8", f"{note} in zone path", get("/v1/zones/z" + s + "/pull"), [400, 404])
    add("utf8", f"{note} in token", get("/v1/account", token="cs_" + s), [401])
add("utf8", "lone surrogate escape", push('{"records":[{"blob":"\\ud800"}]}'), [400])
add("utf8", "escaped non-ascii key", push('{"records":[{"bl\\u00f6b":"aGk="}]}'), [400])
add("utf8", "fullwidth digits in since", get("/v1/zones/zb/pull?since=%EF%BC%91"), [400])
add("utf8", "utf-16 body", push('\xff\xfe{\x00"\x00r\x00e\x00c\x00"\x00}\x00'), [400])

# --- NUL bytes -----------------------------------------------------------
add("nul", "raw NUL in body", push('{"records":[{"blob":"aGk=\x00"}]}'), [400])
add("nul", "NUL after the document", push('{"records":[' + GOOD_REC + ']}\x00'), [400])
add("nul", "NUL before the document", push('\x00{"records":[' + GOOD_REC + ']}'), [400])
add("nul", "escaped NUL in key", push('{"records":[{"blob\\u0000":"aGk="}]}'), [400])
add("nul", "escaped NUL in records key", push('{"rec\\u0000ords":[' + GOOD_REC + ']}'), [400])
add("nul", "escaped NUL in item", push('{"records":[{"item":"\\u0000","blob":"aGk="}]}'), [400])
add("nul", "escaped NUL in op_id", push('{"op_id":"' + UUID_B[:8] + '\\u0000' + UUID_B[9:] + '","records":[' + GOOD_REC + ']}'), [400])
add("nul", "%00 in zone", get("/v1/zones/zb%00/pull"), [400, 404])
add("nul", "%00 in since", get("/v1/zones/zb/pull?since=1%00"), [400])
add("nul", "%00 in op_id", get(f"/v1/zones/zb/items/{UUID_B}?op_id={UUID_B}%00", method="DELETE"), [400])
add("nul", "%00 in item", get(f"/v1/zones/zb/items/{UUID_B}%00", method="DELETE"), [400])
add("nul", "NUL inside a token", get("/v1/account", token="cs_\x00@@TB@@"), [400, 401])
add("nul", "NUL in header name", get("/v1/account", extra_headers="X-\x00A: 1\r\n", token=None), [400, 401])
add("nul", "NUL in request line", b"GET /v1/acc\x00ount HTTP/1.1\r\nHost: t\r\n\r\n", [400, 404, "noreply"])
add("nul", "NUL in method", b"G\x00T /v1/account HTTP/1.1\r\nHost: t\r\n\r\n", [400, 404, 405, "noreply"])

# --- SQL in every field --------------------------------------------------
sql = ["'; DROP TABLE records; --", "' OR '1'='1", "1; DELETE FROM zones", "\\'; SELECT pg_sleep(5); --",
       "$$; TRUNCATE tokens; $$", "1) UNION SELECT token_sha256 FROM tokens --"]
from urllib.parse import quote
for i, s in enumerate(sql):
    js = json.dumps(s)[1:-1]
    add("sql", f"item: {s}", push('{"records":[{"item":"' + js + '","blob":"aGk="}]}'), [400])
    add("sql", f"blob: {s}", push('{"records":[{"blob":"' + js + '"}]}'), [400])
    add("sql", f"op_id: {s}", push('{"op_id":"' + js + '","records":[' + GOOD_REC + ']}'), [400])
    add("sql", f"key: {s}", push('{"records":[{"' + js + '":"aGk="}]}'), [400])
    add("sql", f"zone path: {s}", get("/v1/zones/" + quote(s, safe="") + "/pull"), [400, 404])
    add("sql", f"since: {s}", get("/v1/zones/zb/pull?since=" + quote(s, safe="")), [400])
    add("sql", f"limit: {s}", get("/v1/zones/zb/pull?limit=" + quote("1 " + s, safe="")), [400])
    add("sql", f"delete if_match: {s}", get(f"/v1/zones/zb/items/{UUID_B}?if_match=" + quote("0" + s, safe=""), method="DELETE"), [400])
    add("sql", f"delete op_id: {s}", get(f"/v1/zones/zb/items/{UUID_B}?op_id=" + quote(s, safe=""), method="DELETE"), [400])
    add("sql", f"delete item: {s}", get("/v1/zones/zb/items/" + quote(s, safe=""), method="DELETE"), [400, 404])
    add("sql", f"token: {s}", get("/v1/account", token=s), [401])
add("sql", "zone push path with quote", push('{"records":[' + GOOD_REC + ']}', zone="zb%27%3BDROP"), [400, 404])
add("sql", "SQL as a push with SQL content-type", push('{"records":[' + GOOD_REC + ']}', ctype="application/sql"), [400])

# --- path tricks ---------------------------------------------------------
paths = [("dot-dot to account", "/v1/zones/../account", [404]), ("encoded dot-dot", "/v1/zones/%2e%2e/account", [404]),
         ("encoded slash in zone (cpp-httplib decodes it: B's own zb)", "/v1/zones/zb%2Fpull?since=9", [404, 410]), ("encoded slash before items", f"/v1/zones/zb%2Fitems%2F{UUID_B}", [404, 405]),
         ("double slash", "//v1/zones", [404]), ("double slash inside", "/v1//zones/zb/pull", [404]),
         ("trailing slash", "/v1/zones/zb/pull/", [404]), ("dot segment", "/v1/./zones", [404]),
         ("backslashes", "/v1\\zones\\zb\\pull", [404]), ("encoded backslash", "/v1/zones/..%5c..%5caccount", [400, 404]),
         ("upper-case route", "/V1/ZONES", [404]), ("no leading slash", "v1/zones", [400, 404]),
         ("absolute form", "http://evil.example/v1/zones", [400, 404]), ("asterisk", "*", [400, 404]),
         ("overlong path", "/v1/zones/" + "a" * 9000, [400, 404]), ("overlong zone 65", "/v1/zones/" + "a" * 65 + "/pull", [400]),
         ("zone with space", "/v1/zones/a%20b/pull", [400]), ("zone with unicode", "/v1/zones/%C3%A9/pull", [400]),
         ("zone with angle brackets", "/v1/zones/%3Cscript%3E/pull", [400]), ("zone with semicolon", "/v1/zones/a;b/pull", [400]),
         ("zone with quote", "/v1/zones/a'b/pull", [400]), ("zone with percent", "/v1/zones/a%25b/pull", [400]),
         ("zone with tilde", "/v1/zones/~root/pull", [400]), ("zone with newline", "/v1/zones/a%0Ab/pull", [400]),
         ("zone with CRLF injection", "/v1/zones/a%0D%0ASet-Cookie:%20x/pull", [400]),
         ("double-encoded dot-dot", "/v1/zones/%252e%252e/pull", [400]), ("fragment", "/v1/zones/zb/pull?since=9#x", [400, 404, 410]),
         ("matrix param", "/v1/zones/zb;x=1/pull", [400]), ("path with query-looking zone", "/v1/zones/zb%3Fsince=1/pull", [400]),
         ("items without item", "/v1/zones/zb/items/", [404]), ("too deep", f"/v1/zones/zb/items/{UUID_B}/x", [404])]
for note, p, exp in paths:
    add("path", note, get(p), exp)
add("path", "dot-dot zone is B's own zone (ahead cursor)", get("/v1/zones/%2e%2e/pull?since=7"), [410], {"cursor_gencount": 0})
add("path", "dot-dot push to items of A", push('{"records":[' + GOOD_REC + ']}', zone="..%2F..%2Fusers%2Fa"), [400, 404])
add("path", "overlong push zone", push('{"records":[' + GOOD_REC + ']}', zone="z" * 65), [400])
add("path", "push zone with unicode", push('{"records":[' + GOOD_REC + ']}', zone="%C3%A9"), [400])
add("path", "push zone with space", push('{"records":[' + GOOD_REC + ']}', zone="a%20b"), [400])

# --- bad query parameters ------------------------------------------------
for q in ["since=-1", "since=abc", "since=1.5", "since=1e3", "since=+1", "since=", "since=0x10", "since=%201",
          "limit=0", "limit=10001", "limit=-5", "limit=", "wait=61", "wait=-1", "wait=1.5", "wait=1s",
          "full=yes", "full=TRUE", "full=", "full=2", "since=1&since=2", "limit=1&limit=2", "full=true&full=false",
          "since=9=x"]:
    add("query", f"pull {q}", get(f"/v1/zones/zb/pull?{q}"), [400])
# Strict query strings (issue 16): a name given twice (even the same pair,
# which cpp-httplib's own parse collapses) or a name the route does not take.
for q in ["since=9&since=9", "since[]=1&since=9"]:
    add("query", f"pull {q}", get(f"/v1/zones/zb/pull?{q}"), [400])
for q in ["if_match=-1", "if_match=abc", "if_match=", "if_match=1&if_match=2", "op_id=nope", "op_id=", "op_id=" + UUID_B + "x",
          "op_id={" + UUID_B + "}"]:
    add("query", f"delete {q}", get(f"/v1/zones/zb/items/{UUID_B}?{q}", method="DELETE"), [400])

for q in ["sinse=2", "user=@@ZA@@", "since=0&zone=@@ZA@@", "%73ince=1&since=1", "since=%zz", "=1", "since=1&" + "x" * 3000 + "=1"]:
    add("query", f"pull {q[:40]}", get(f"/v1/zones/zb/pull?{q}"), [400])
for target in ["/v1/account?user=@@ZA@@", "/v1/zones?all=1", "/v1/zones/zb?since=1", "/v1/devices?user=@@ZA@@",
               "/healthz?x=1"]:
    add("query", f"GET {target}", get(target, token="@@TB@@" if target != "/healthz?x=1" else None), [400])
add("query", "delete item if_matc", get(f"/v1/zones/zb/items/{UUID_B}?if_matc=1", method="DELETE"), [400])
add("query", "delete item if_match twice, same value", get(f"/v1/zones/zb/items/{UUID_B}?if_match=1&if_match=1", method="DELETE"), [400])
add("query", "delete zone with a parameter", get("/v1/zones/zb?force=1", method="DELETE"), [400])
add("query", "delete account with a parameter", get("/v1/account?user=@@ZA@@", method="DELETE"), [400])
add("query", "push with op_id in the query", body_req("POST", "/v1/zones/zb/push?op_id=@@OA@@", '{"records":[' + GOOD_REC + ']}'), [400])

# --- headers -------------------------------------------------------------
add("headers", "header value 9 KiB", get("/v1/account", extra_headers="X-Big: " + "a" * 9000 + "\r\n"), [400])
add("headers", "token 9 KiB", get("/v1/account", token="a" * 9000), [400, 401])
add("headers", "token 4 KiB", get("/v1/account", token="a" * 4000), [401])
add("headers", "2000 small headers, no token", get("/v1/account", token=None, extra_headers="@@REPEAT:2000:X-a: b\r\n@@"), [401])
add("headers", "obs-fold continuation", get("/v1/account", token=None, extra_headers="Authorization: Bearer\r\n @@TA@@\r\n"), [400, 401])
add("headers", "header without colon", get("/v1/account", token=None, extra_headers="Authorization Bearer @@TA@@\r\n"), [400, 401])
add("headers", "space before colon", get("/v1/account", token=None, extra_headers="Authorization : Bearer @@TA@@\r\n"), [400, 401])
add("headers", "REMOTE_ADDR spoof", get("/v1/account", token=None, extra_headers="REMOTE_ADDR: 127.0.0.1\r\nX-Forwarded-For: 127.0.0.1\r\n"), [401])
add("headers", "X-User header", get("/v1/account", token="nope", extra_headers="X-User: @@ZA@@\r\nX-User-Id: user-a\r\n"), [401])
add("headers", "Content-Type text/plain", push('{"records":[' + GOOD_REC + ']}', ctype="text/plain"), [400])
add("headers", "Content-Type form", push('{"records":[' + GOOD_REC + ']}', ctype="application/x-www-form-urlencoded"), [400])
add("headers", "Content-Type jsonp", push('{"records":[' + GOOD_REC + ']}', ctype="application/jsonp"), [400])
add("headers", "Content-Type multipart", push('{"records":[' + GOOD_REC + ']}', ctype="multipart/form-data; boundary=x"), [400])
add("headers", "two Content-Types", push('{"records":[' + GOOD_REC + ']}', ctype="text/plain", extra_headers="Content-Type: application/json\r\n"), [400])
add("headers", "Range header on push", push('{"records":[{"blob":"!"}]}', extra_headers="Range: bytes=0-5\r\n"), [400])
add("headers", "bad Range", get("/v1/zones/zb/pull?since=5", extra_headers="Range: bytes=zz\r\n"), [400, 410])
add("headers", "Expect 100-continue with bad token", push('{"records":[' + GOOD_REC + ']}', token="nope", extra_headers="Expect: 100-continue\r\n"), [401])
add("headers", "Expect 100-continue with bad zone", push('{"records":[' + GOOD_REC + ']}', zone="a%20b", extra_headers="Expect: 100-continue\r\n"), [400])
add("headers", "Expect unknown", push('{"records":[{"blob":"!"}]}', extra_headers="Expect: 200-ok\r\n"), [400, 417])
add("headers", "Connection upgrade h2c", get("/v1/account", token=None, extra_headers="Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"), [401])
add("headers", "websocket upgrade", get("/v1/account", token=None, extra_headers="Connection: Upgrade\r\nUpgrade: websocket\r\n"), [401])

# --- auth ----------------------------------------------------------------
for note, h in [("none", None), ("empty", ""), ("Bearer only", "Bearer"), ("Bearer and space", "Bearer "), ("Basic", "Basic dXNlcjpwYXNz"),
                ("unknown token", "Bearer cs_0000000000000000"), ("revoked token", "Bearer @@TC@@"), ("token with CRLF text", "Bearer a%0D%0Ab"),
                ("token of A with suffix", "Bearer @@TA@@x"), ("token of A truncated", "Bearer @@TA@@"[:-3]),
                ("JWT-looking", "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1c2VyLWEifQ."), ("user id as token", "Bearer user-a"),
                ("SHA-256 of nothing", "Bearer e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]:
    hdr = "" if h is None else f"Authorization: {h}\r\n"
    add("auth", f"account, auth {note}", get("/v1/account", token=None, extra_headers=hdr), [401])
    add("auth", f"push, auth {note}", push('{"records":[' + GOOD_REC + ']}', token=None, extra_headers=hdr, zone="@@ZA@@"), [401])
add("auth", "two Authorization headers, B's first", get("/v1/account", token="@@TB@@", extra_headers="Authorization: Bearer @@TA@@\r\n"), [400, 401])
add("auth", "two Authorization headers, bogus first", get("/v1/account", token="bogus", extra_headers="Authorization: Bearer @@TA@@\r\n"), [400, 401])
add("auth", "token in query string", get("/v1/account?access_token=@@TA@@", token=None), [401])
add("auth", "token in cookie", get("/v1/account", token=None, extra_headers="Cookie: token=@@TA@@\r\n"), [401])
add("auth", "register is closed", get("/v1/register", token=None, method="POST"), [404])
add("auth", "register with body", push('{"user":"user-a"}', zone="x", token=None).replace("/v1/zones/x/push", "/v1/register"), [404])
add("auth", "revoked token push with Expect", push('{"records":[' + GOOD_REC + ']}', token="@@TC@@", extra_headers="Expect: 100-continue\r\n"), [401])

# --- body framing, chunked, Content-Encoding -----------------------------
chunked_body = '1c\r\n{"records":[{"blob":"aGk="}]}\r\n0\r\n\r\n'
pre = "POST /v1/zones/zb/push HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer @@TB@@\r\nContent-Type: application/json\r\n"
add("framing", "chunked push", pre + "Transfer-Encoding: chunked\r\n\r\n" + chunked_body, [411])
add("framing", "chunked with huge chunk size", pre + "Transfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nabc", [411])
add("framing", "chunked and Content-Length (smuggling)", pre + "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n" + chunked_body, [411])
add("framing", "TE gzip", pre + "Transfer-Encoding: gzip, chunked\r\n\r\n" + chunked_body, [411])
add("framing", "TE identity", pre + "Transfer-Encoding: identity\r\nContent-Length: @@LEN@@\r\n\r\n" + '{"records":[' + GOOD_REC + ']}', [411])
add("framing", "TE with odd case", pre + "transfer-encoding: Chunked\r\n\r\n" + chunked_body, [411])
add("framing", "chunked on a GET", get("/v1/zones/zb/pull", extra_headers="Transfer-Encoding: chunked\r\n") + "0\r\n\r\n", [411])
for enc in ["gzip", "deflate", "br", "identity", "compress", "gzip, gzip"]:
    add("framing", f"Content-Encoding {enc}", push('{"records":[' + GOOD_REC + ']}', extra_headers=f"Content-Encoding: {enc}\r\n"), [415])
add("framing", "gzip bomb header", pre + "Content-Encoding: gzip\r\nContent-Length: 20\r\n\r\n\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xed\xc1\x01\r\x00\x00\x00\xc2\xa0", [415])
add("framing", "push without Content-Length", pre + "\r\n", [411])
for cl in ["-1", "abc", "1e3", "0x10", "+10", " 10x", "10 10", "\xd9\xa1\xd9\xa0"]:
    add("framing", f"Content-Length '{cl}'", pre + f"Content-Length: {cl}\r\n\r\n" + '{"records":[]}', [400])
add("framing", "two different Content-Lengths", pre + "Content-Length: 2\r\nContent-Length: @@LEN@@\r\n\r\n" + '{"records":[' + GOOD_REC + ']}', [400])
add("framing", "two equal Content-Lengths", pre + "Content-Length: @@LEN@@\r\nContent-Length: @@LEN@@\r\n\r\n" + '{"records":[' + GOOD_REC + ']}', [400])
add("framing", "Content-Length shorter than the JSON", pre + "Content-Length: 12\r\n\r\n" + '{"records":[' + GOOD_REC + ']}', [400])
add("framing", "body on a GET", get("/v1/zones/zb/pull?since=9", extra_headers="Content-Length: 14\r\n") + '{"records":[]}', [410], {"cursor_gencount": 0})
add("framing", "body on a DELETE with bad item", get("/v1/zones/zb/items/nope", method="DELETE", extra_headers="Content-Length: 3\r\n") + "abc", [400])
add("framing", "HTTP/1.0 push without length", "POST /v1/zones/zb/push HTTP/1.0\r\nAuthorization: Bearer @@TB@@\r\n\r\n" + '{"records":[' + GOOD_REC + ']}', [411])

# --- sizes ---------------------------------------------------------------
add("size", "Content-Length over max_body_bytes, no body", pre + "Content-Length: 65537\r\n\r\n", [413])
add("size", "Content-Length 1 TB", pre + "Content-Length: 1099511627776\r\n\r\n", [413])
add("size", "body 70 KB", push('{"records":[{"blob":"@@REPEAT:17500:QUFB@@"}]}'), [413])
add("size", "body 2 MB", push('{"records":[{"blob":"@@REPEAT:500000:QUFB@@"}]}'), [413])
add("size", "body 70 KB on a GET", get("/v1/zones/zb/pull", extra_headers="Content-Length: @@LEN@@\r\n") + "@@REPEAT:70000:x@@", [413])
add("size", "blob over max_blob_bytes (4kB)", push('{"records":[{"blob":"@@REPEAT:1500:QUFB@@"}]}'), [413])
add("size", "batch over max_batch_records (50)", push('{"records":[@@REPEAT:50:{"blob":"aGk="},@@' + GOOD_REC + ']}'), [413])
add("size", "batch of 2000 deletes without items", push('{"records":[@@REPEAT:1999:{"blob":null},@@{"blob":null}]}'), [400])
add("size", "duplicate item in one push", push('{"records":[{"item":"' + UUID_B + '","blob":"aGk="},{"item":"' + UUID_B + '","blob":"aGk="}]}'), [400])
add("size", "duplicate item, case differs", push('{"records":[{"item":"' + UUID_B + '","blob":"aGk="},{"item":"' + UUID_B.upper() + '","blob":"aGk="}]}'), [400])
add("size", "pull limit 10001", get("/v1/zones/zb/pull?limit=10001"), [400])

# --- other users' ids (B acts on A's zone, item, op_id) ------------------
add("cross", "B deletes A's item with A's gencount", get("/v1/zones/@@ZA@@/items/@@IA@@?if_match=@@GA@@", method="DELETE"), [409], {"conflict_gencount": 0})
add("cross", "B deletes A's item with if_match 1", get("/v1/zones/@@ZA@@/items/@@IA@@?if_match=1", method="DELETE"), [409], {"conflict_gencount": 0})
add("cross", "B overwrites A's item with A's gencount", push('{"records":[{"item":"@@IA@@","blob":"aGk=","if_match":@@GA@@}]}', zone="@@ZA@@"), [409], {"conflict_gencount": 0})
add("cross", "B tombstones A's item with A's gencount", push('{"records":[{"item":"@@IA@@","blob":null,"if_match":@@GA@@}]}', zone="@@ZA@@"), [409], {"conflict_gencount": 0})
add("cross", "B batch: A's item conditional + new item", push('{"records":[' + GOOD_REC + ',{"item":"@@IA@@","blob":null,"if_match":@@GA@@}]}', zone="@@ZA@@"), [409], {"conflict_gencount": 0})
add("cross", "B pulls A's zone from A's gencount", get("/v1/zones/@@ZA@@/pull?since=@@GA@@"), [410], {"cursor_gencount": 0})
add("cross", "B full-syncs A's zone from A's gencount", get("/v1/zones/@@ZA@@/pull?since=@@GA@@&full=true"), [410], {"cursor_gencount": 0})
add("cross", "B long-polls A's zone", get("/v1/zones/@@ZA@@/pull?since=@@GA@@&wait=1"), [410], {"cursor_gencount": 0})
add("cross", "B with A's op_id and A's item, conditional", push('{"op_id":"@@OA@@","records":[{"item":"@@IA@@","blob":"aGk=","if_match":@@GA@@}]}', zone="@@ZA@@"), [409], {"conflict_gencount": 0})
add("cross", "B deletes A's item, A's op_id, conditional", get("/v1/zones/@@ZA@@/items/@@IA@@?if_match=@@GA@@&op_id=@@OA@@", method="DELETE"), [409], {"conflict_gencount": 0})
add("cross", "A's item in upper case", get("/v1/zones/@@ZA@@/items/@@IA_UPPER@@?if_match=@@GA@@", method="DELETE"), [409], {"conflict_gencount": 0})
add("cross", "no token on A's zone", get("/v1/zones/@@ZA@@", token=None), [401])

# --- methods -------------------------------------------------------------
# (DELETE /v1/zones/zb and DELETE /v1/account are routes since issue 16.)
for m, p, exp in [("PUT", "/v1/zones/zb/push", [405]), ("PATCH", "/v1/zones/zb", [405]), ("PUT", "/v1/zones/zb", [405]),
                  ("PUT", "/v1/account", [405]), ("POST", "/v1/zones/zb/pull", [405]), ("GET", f"/v1/zones/zb/items/{UUID_B}", [405]),
                  ("TRACE", "/v1/account", [400, 405]), ("OPTIONS", "/v1/account", [405]), ("CONNECT", "127.0.0.1:5432", [400, 404]),
                  ("FOO", "/v1/account", [400, 405]), ("OPTIONS", "*", [400, 404]), ("POST", "/healthz", [405]),
                  ("DELETE", "/metrics", [405]), ("PROPFIND", "/v1/zones", [400, 405]), ("GETT", "/v1/account", [400, 405])]:
    add("method", f"{m} {p}", get(p, method=m), exp)

# --- accounts routes (issues 11, 16) ---------------------------------------
# Every one is refused before the database would write (a challenge stored,
# a failed login counted, an account or device removed): the corpus must
# leave every table as it was. The proxy here has no --open-registration.



K32, K16, K64 = "A" * 43 + "=", "A" * 22 + "==", "A" * 86 + "=="
KDF = '{"alg":"argon2id13","ops":3,"mem":268435456}'
SECRETS = f'"login_key":"{K32}","salt":"{K16}","kdf":{KDF},"wrapped_key":"AAAA"'
for note, body in [("empty", ""), ("not JSON", "{"), ("array", "[]"), ("no name", "{}"), ("name null", '{"name":null}'),
                   ("name a number", '{"name":5}'), ("name empty", '{"name":""}'), ("name with a control char", '{"name":"a\\u0001"}'),
                   ("name with C1 control", '{"name":"a\\u0085"}'), ("name 257 bytes", '{"name":"' + "n" * 257 + '"}'),
                   ("name repeated", '{"name":"@@ZA@@","name":"x"}'), ("unknown field", '{"name":"x","user":"@@ZA@@"}'),
                   ("NUL after the body", '{"name":"x"}\u0000{"name":"y"}'), ("nested", '{"name":[[["x"]]]}'),
                   ("SQL in the name, one field too many", '{"name":"x\'; DROP TABLE accounts; --","x":1}')]:
    add("accounts", f"challenge: {note}", body_req("POST", "/v1/login/challenge", body, token=None), [400])
add("accounts", "challenge: 17 KiB body", body_req("POST", "/v1/login/challenge", '{"name":"@@REPEAT:17000:n@@"}', token=None), [413])
add("accounts", "challenge: text/plain", body_req("POST", "/v1/login/challenge", '{"name":"x"}', token=None, ctype="text/plain"), [400])
add("accounts", "challenge: GET", get("/v1/login/challenge", token=None), [405])
for note, body in [("challenge 31 bytes", '{"name":"@@ZA@@","challenge":"' + "A" * 42 + '==","signature":"' + K64 + '"}'),
                   ("challenge 33 bytes", '{"name":"@@ZA@@","challenge":"' + "A" * 44 + '","signature":"' + K64 + '"}'),
                   ("signature 63 bytes", '{"name":"@@ZA@@","challenge":"' + K32 + '","signature":"' + "A" * 84 + '"}'),
                   ("challenge URL alphabet", '{"name":"@@ZA@@","challenge":"' + "_" * 43 + '=","signature":"' + K64 + '"}'),
                   ("signature unpadded", '{"name":"@@ZA@@","challenge":"' + K32 + '","signature":"' + "A" * 86 + '"}'),
                   ("no signature", '{"name":"@@ZA@@","challenge":"' + K32 + '"}'),
                   ("device 201 bytes", '{"name":"@@ZA@@","challenge":"' + K32 + '","signature":"' + K64 + '","device":"' + "d" * 201 + '"}'),
                   ("device with a newline", '{"name":"@@ZA@@","challenge":"' + K32 + '","signature":"' + K64 + '","device":"a\\nb"}'),
                   ("token field", '{"name":"@@ZA@@","challenge":"' + K32 + '","signature":"' + K64 + '","token":"@@TA@@"}'),
                   ("signature repeated", '{"name":"@@ZA@@","challenge":"' + K32 + '","signature":"' + K64 + '","signature":"' + K64 + '"}')]:
    add("accounts", f"login: {note}", body_req("POST", "/v1/login", body, token=None), [400])
add("accounts", "signup without --open-registration", body_req("POST", "/v1/accounts", '{"name":"x",' + SECRETS + '}', token=None), [404])
for note, body in [("kdf alg argon2i", SECRETS.replace("argon2id13", "argon2i13")), ("kdf ops 0", SECRETS.replace('"ops":3', '"ops":0')),
                   ("kdf mem 1 KiB", SECRETS.replace("268435456", "1024")), ("kdf extra field", SECRETS.replace('"mem"', '"x":1,"mem"')),
                   ("kdf ops repeated", SECRETS.replace('"ops":3', '"ops":3,"ops":4')), ("wrapped_key empty", SECRETS.replace('"AAAA"', '""')),
                   ("salt 15 bytes", SECRETS.replace(K16, "A" * 20)), ("logout_others a string", SECRETS + ',"logout_others":"yes"'),
                   ("name field", SECRETS + ',"name":"@@ZA@@"')]:
    add("accounts", f"password change: {note}", body_req("PUT", "/v1/account/login", "{" + body + "}"), [400])
# B has no account (a token from issue_token): the database refuses a login
# to replace (CS400), changing nothing.
add("accounts", "password change of a user without an account", body_req("PUT", "/v1/account/login", "{" + SECRETS + "}"), [400])
add("accounts", "password change without a token", body_req("PUT", "/v1/account/login", "{" + SECRETS + "}", token=None), [401])
add("accounts", "password change with a revoked token", body_req("PUT", "/v1/account/login", "{" + SECRETS + "}", token="@@TC@@"), [401])
for note, body in [("half a proof", '{"challenge":"' + K32 + '"}'), ("the other half", '{"signature":"' + K64 + '"}'),
                   ("bad base64", '{"challenge":"@@@@","signature":"@@@@"}'), ("unknown field", '{"user":"@@ZA@@"}'),
                   ("array", "[]"), ("not JSON", "{"), ("repeated key", '{"challenge":"' + K32 + '","challenge":"' + K32 + '","signature":"' + K64 + '"}'),
                   ("NUL", '{}\u0000'), ("nested", '{"challenge":[[["x"]]]}')]:
    add("accounts", f"account delete: {note}", body_req("DELETE", "/v1/account", body), [400])
add("accounts", "account delete: text/plain", body_req("DELETE", "/v1/account", "{}", ctype="text/plain"), [400])
add("accounts", "account delete: 17 KiB", body_req("DELETE", "/v1/account", '{"challenge":"@@REPEAT:17000:A@@"}'), [413])
add("accounts", "account delete without a token", get("/v1/account", token=None, method="DELETE"), [401])
add("accounts", "account delete with a revoked token", get("/v1/account", token="@@TC@@", method="DELETE"), [401])
for note, dev, exp in [("not a uuid", "nope", [400]), ("SQL", "x'%20OR%20'1'='1", [400]), ("a uuid nobody has", UUID_B, [404]),
                       ("a uuid with braces", "{" + UUID_B + "}", [400]), ("empty", "", [404])]:
    add("accounts", f"device revoke: {note}", get(f"/v1/devices/{dev}", method="DELETE"), exp)
add("accounts", "device revoke without a token", get(f"/v1/devices/{UUID_B}", token=None, method="DELETE"), [401])
add("accounts", "devices without a token", get("/v1/devices", token=None), [401])
add("accounts", "devices with a revoked token", get("/v1/devices", token="@@TC@@"), [401])
add("accounts", "zone delete: bad zone", get("/v1/zones/a%20b", method="DELETE"), [400])
add("accounts", "zone delete without a token", get("/v1/zones/@@ZA@@", token=None, method="DELETE"), [401])
add("accounts", "zone delete with a revoked token", get("/v1/zones/@@ZA@@", token="@@TC@@", method="DELETE"), [401])

# --- not HTTP ------------------------------------------------------------
for note, raw, exp in [("garbage line", b"GARBAGE\r\n\r\n", [400]), ("method only", b"GET\r\n\r\n", [400]),
                       ("no version", b"GET /v1/account\r\n\r\n", [400]), ("HTTP/0.9", b"GET /v1/account HTTP/0.9\r\n\r\n", [400]),
                       ("HTTP/9.9", b"GET /v1/account HTTP/9.9\r\n\r\n", [400]), ("HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", [400]),
                       ("bare LF", b"GET /v1/account HTTP/1.1\n\n", [400, 401]), ("lower-case method", b"get /v1/account HTTP/1.1\r\n\r\n", [400, 405]),
                       ("blank lines only", b"\r\n\r\n", [400, "noreply"]), ("TLS client hello", b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 40, ["noreply", 400]),
                       ("binary junk", bytes(range(256)), [400, "noreply"]), ("SSH banner", b"SSH-2.0-OpenSSH_9.0\r\n\r\n", [400]),
                       ("PostgreSQL startup", b"\x00\x00\x00\x08\x04\xd2\x16\x2f", ["noreply", 400]),
                       ("request line 10 KiB", b"GET /" + b"a" * 10000 + b" HTTP/1.1\r\n\r\n", [400]),
                       ("extra spaces", b"GET  /v1/account  HTTP/1.1\r\n\r\n", [400, 401, 404]),
                       ("tab separators", b"GET\t/v1/account\tHTTP/1.1\r\n\r\n", [400])]:
    add("http", note, raw, exp)


def expand_for_seed(req):
    """Placeholders -> fixed fake values, repeats capped: a fuzzer seed."""
    import re
    subs = {"TA": "cs_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "TB": "cs_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "TC": "cs_cccccccc",
            "ZA": "za", "IA": "4600d23a-a982-49d3-9b5b-a88e7b7dc10d", "IA_UPPER": "4600D23A-A982-49D3-9B5B-A88E7B7DC10D",
            "GA": "3", "OA": "6f1c1a3e-6a43-4a55-9d1e-6cbb2c9b1f00"}
    req = re.sub(r"@@REPEAT:(\d+):(.*?)@@", lambda m: m.group(2) * min(int(m.group(1)), 200), req, flags=re.S)
    for k, v in subs.items():
        req = req.replace(f"@@{k}@@", v)
    head, sep, body = req.partition("\r\n\r\n")
    return (head.replace("@@LEN@@", str(len(body))) + sep + body).encode("latin-1")


def main():
    ids = [e["id"] for e in entries]
    assert len(ids) == len(set(ids))
    with open(OUT, "w") as f:
        for e in entries:
            f.write(json.dumps(e, ensure_ascii=True) + "\n")
    os.makedirs(SEEDS, exist_ok=True)
    for name in os.listdir(SEEDS):
        if name.startswith(("hostile-", "valid-")):
            os.remove(os.path.join(SEEDS, name))
    for e in entries:
        with open(os.path.join(SEEDS, "hostile-" + e["id"]), "wb") as f:
            f.write(expand_for_seed(e["req"]))
    # Valid requests too, so that the fuzzer starts from the paths that succeed.
    valid = {
        "push": push('{"op_id":"@@OA@@","records":[{"blob":"aGk="},{"item":"@@IA@@","blob":"d29ybGQ=","if_match":3},'
                     '{"item":"0b6f8e2a-1c3d-4e5f-8a9b-0c1d2e3f4a5b","blob":null,"if_match":0}]}'),
        "push-empty": push('{"records":[]}'),
        "pull": get("/v1/zones/zb/pull?since=5&limit=100&wait=0&full=true"),
        "pull-defaults": get("/v1/zones/a.b_c-9/pull"),
        "delete": get("/v1/zones/zb/items/@@IA@@?if_match=3&op_id=@@OA@@", method="DELETE"),
        "zone": get("/v1/zones/zb"), "zones": get("/v1/zones"), "account": get("/v1/account"),
        "healthz": get("/healthz", token=None), "register": get("/v1/register", token=None, method="POST"),
        "signup": body_req("POST", "/v1/accounts", '{"name":"x",' + SECRETS + ',"device":"laptop"}', token=None),
        "challenge": body_req("POST", "/v1/login/challenge", '{"name":"x"}', token=None),
        "login": body_req("POST", "/v1/login", '{"name":"x","challenge":"' + K32 + '","signature":"' + K64 + '","device":null}', token=None),
        "set-login": body_req("PUT", "/v1/account/login", "{" + SECRETS + ',"logout_others":true}'),
        "delete-account": body_req("DELETE", "/v1/account", '{"challenge":"' + K32 + '","signature":"' + K64 + '"}'),
        "devices": get("/v1/devices"), "revoke-device": get(f"/v1/devices/{UUID_B}", method="DELETE"),
        "delete-zone": get("/v1/zones/zb", method="DELETE"),
    }
    for name, req in valid.items():
        with open(os.path.join(SEEDS, "valid-" + name), "wb") as f:
            f.write(expand_for_seed(req))
    print(f"{len(entries)} requests in {len(counters)} categories -> {os.path.relpath(OUT, ROOT)}; seeds -> {os.path.relpath(SEEDS, ROOT)}")
    print(", ".join(f"{k} {v}" for k, v in counters.items()))


if __name__ == "__main__":
    main()
