#!/usr/bin/env python3
"""Writes test/fuzz/corpus/json-scan-*: push requests whose bodies probe what
common/json_scan.h does differently from nlohmann's lexer (a string read 8 bytes
at a time, the escape path handed to nlohmann, its own number and literal
scanning, the BOM) and which request_fuzzer.cpp's check_json_scan compares with
nlohmann event by event, cut at every length when short. Run once; the files
are checked in (libFuzzer runs every seed at the start of each run)."""
import os

HEAD = (b"POST /v1/zones/z/push HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n")
BLOB = b"WlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpa"  # base64 of 33 bytes 'Z'
UUID = b"0b5e8f7a-3c1d-4e2f-9a8b-7c6d5e4f3a2b"
bodies = []
def push(blob=b'"' + BLOB + b'"', extra=b""):
    return b'{"records":[{"item":"' + UUID + b'","blob":' + blob + extra + b'}]}'

# a special byte at every offset of an 8-byte word, inside a blob
for special in (b'"', b"\\n", b"\x01", b"\xc3\xa9", b"\x80", b"\\u00e9", b"\x7f"):
    for off in range(0, 17, 3):
        s = BLOB[:off] + special + BLOB[off:]
        bodies.append(push(b'"' + s + b'"'))
# strings of 7, 8, 9, 15, 16, 17 bytes ending at the body's end (truncated)
for n in (7, 8, 9, 15, 16, 17):
    bodies.append(b'{"records":[{"blob":"' + BLOB[:n])
    bodies.append(b'{"records":[{"blob":"' + BLOB[:n] + b'\\')
# escapes: valid, surrogate pairs, lone surrogates, bad hex, odd backslash runs
for esc in (b"\\u0000", b"\\uD83D\\uDE00", b"\\ud83d\\ude00", b"\\uDE00", b"\\uD83D", b"\\uD83Dx",
            b"\\uD83D\\u0041", b"\\u12", b"\\u12\"", b"\\uzzzz", b"\\x", b"\\/", b"\\\\\\\"", b"\\\\\\",
            b"\\\\", b"\\b\\f\\n\\r\\t"):
    bodies.append(push(b'"' + BLOB[:10] + esc + BLOB[:10] + b'"'))
    bodies.append(b'{"rec\\u006frds":[{"blob":"' + esc + b'"}]}')
# UTF-8 at the limits of each range, and broken sequences
for u in (b"\xc2\x80", b"\xdf\xbf", b"\xc1\xbf", b"\xe0\xa0\x80", b"\xe0\x9f\xbf", b"\xed\x9f\xbf", b"\xed\xa0\x80",
          b"\xef\xbf\xbf", b"\xf0\x90\x80\x80", b"\xf0\x8f\xbf\xbf", b"\xf4\x8f\xbf\xbf", b"\xf4\x90\x80\x80",
          b"\xf5\x80\x80\x80", b"\xff", b"\xe1\x80", b"\xf1\x80\x80"):
    bodies.append(push(b'"' + u + b'"'))
    bodies.append(b'{"op_id":"' + u)
# numbers at the limits
for n in (b"0", b"-0", b"-0.0", b"01", b"-01", b"1.", b".5", b"1e", b"1e+", b"1E-2", b"-", b"--1", b"+1",
          b"9223372036854775807", b"9223372036854775808", b"-9223372036854775808", b"-9223372036854775809",
          b"18446744073709551615", b"18446744073709551616", b"1e308", b"1e309", b"-1e400", b"1e-400",
          b"1" * 400, b"0.000000000000000000000000001e-330"):
    bodies.append(push(extra=b',"if_match":' + n))
# literals, BOM, whitespace, trailing bytes, nesting
for b in (b"\xef\xbb\xbf" + push(), b"\xef\xbb" + push(), b"\xef" , b" \xef\xbb\xbf" + push(), b"\xef\xbb\xbf",
          push(b"nul"), push(b"nullx"), push(b"tru"), push(b"True"), push(b"fals"), push(b"null") + b" \t\r\n",
          push() + b"\x0c", push() + b"x", push() + b"{}", b"[" * 64 + b"]" * 64, b"[" * 64,
          b'{"a":' * 40 + b"1" + b"}" * 40, b'{"records":[{"blob":null,"blob":null,"item":"' + UUID + b'"}]}',
          b'{"records":[],"records":[]}', b'{"":1}', b'{"records":[{}]', b'{"records":[1,]}', b'{,}', b"[,1]",
          b'{"a" 1}', b'{"a":1 "b":2}', b"", b" "):
    bodies.append(b)
# (appended, so that the seeds above keep their names) up to 18 digits json_scan
# computes an integer itself, from 19 on it calls strtoull/strtoll as nlohmann does
for n in (b"999999999999999999", b"-999999999999999999", b"1000000000000000000", b"-1000000000000000000",
          b"000000000000000001", b"-00000000000000001", b"99999999999999999.5", b"123456789012345678e0"):
    bodies.append(push(extra=b',"if_match":' + n))

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
for i, body in enumerate(bodies):
    with open(os.path.join(out, "json-scan-%03d" % (i + 1)), "wb") as f:
        f.write(HEAD % len(body) + body)
print(len(bodies), "seeds")
