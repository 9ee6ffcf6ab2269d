"""An example's answer against the one its doc shows (test/suites/91-docs.sh).

What a doc's answer (extract.Step.answer) may be:

- `[STATUS ]JSON`: an HTTP answer. STATUS (three digits) is the status of the
  step's last HTTP request, 200 when not written; JSON is the body. Every
  value is compared exactly, except strings holding `…`, which stands for
  what the server generates: the rest of the string is literal, and the `…`
  must have the shape that its key's values have (SHAPES; a key with no shape
  there is an error of the doc). Objects must have exactly the doc's keys.
  The body must be written as the proxy writes it: compact, keys in byte order.
- anything else: the text the step prints, compared with runs of white space
  made one space.
"""

import json
import re

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
HEX64 = r"[0-9a-f]{64}"
RFC3339 = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"   # UTC, to the second
BASE64 = r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?"

# key → the shape of a generated part of its value
SHAPES = {
    "item": ("uuid", UUID),
    "device": ("uuid", UUID),
    "id": ("uuid", UUID),
    "user": ("uuid", UUID),          # /v1/register picks a random uuid
    "token": ("64 hex digits", HEX64),  # written "cs_…" in the docs
    "digest": ("64 hex digits", HEX64),
    "created": ("RFC 3339 time", RFC3339),
    "last_seen": ("RFC 3339 time", RFC3339),
    "challenge": ("base64", BASE64),
    "salt": ("base64", BASE64),
    "wrapped_key": ("base64", BASE64),
}

STATUS = re.compile(r"^([1-5][0-9]{2})\s+(.*)$", re.S)


def parse(answer_lines):
    """('http', status, body) or ('text', None, text)."""
    text = "\n".join(t[1:] if t.startswith(" ") else t for _, t in answer_lines).strip()
    m = STATUS.match(text)
    if m:
        try:
            return "http", int(m.group(1)), json.loads(m.group(2))
        except ValueError:
            pass
    try:
        return "http", 200, json.loads(text)
    except ValueError:
        return "text", None, text


def _value(expected, actual, where, key, problems):
    if isinstance(expected, str) and "…" in expected:
        if key not in SHAPES:
            problems.append(f"{where}: the doc writes … for a key with no known shape ({key!r})")
            return
        name, shape = SHAPES[key]
        pattern = "".join(re.escape(part) if i % 2 == 0 else shape
                          for i, part in enumerate(re.split("(…)", expected)) if part != "")
        if not isinstance(actual, str) or not re.fullmatch(pattern, actual):
            problems.append(f"{where}: expected {expected!r} ({name}), got {json.dumps(actual)}")
        return
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            problems.append(f"{where}: expected an object, got {json.dumps(actual)}")
            return
        if sorted(expected) != sorted(actual):
            problems.append(f"{where}: expected the keys {sorted(expected)}, got {sorted(actual)}")
        for k in expected:
            if k in actual:
                _value(expected[k], actual[k], f"{where}.{k}", k, problems)
        return
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            problems.append(f"{where}: expected {len(expected)} elements, got {json.dumps(actual)}")
            return
        for i, (e, a) in enumerate(zip(expected, actual)):
            _value(e, a, f"{where}[{i}]", key, problems)
        return
    # bool is an int in Python: compare types too (1 is not true)
    if type(expected) is not type(actual) or expected != actual:
        problems.append(f"{where}: expected {json.dumps(expected)}, got {json.dumps(actual)}")


def compare(answer_lines, stdout, status):
    """The differences between the doc's answer and what the step printed
    (stdout) with the status of its last HTTP request (None: it made none)."""
    kind, want_status, want = parse(answer_lines)
    problems = []
    if kind == "text":
        got = " ".join(stdout.split())
        if got != " ".join(want.split()):
            problems.append(f"expected the output {want!r}, got {stdout.strip()!r}")
        return problems
    if status is None:
        problems.append("expected an HTTP answer, but the step made no HTTP request")
    elif status != want_status:
        problems.append(f"expected status {want_status}, got {status}")
    body = stdout.strip()
    try:
        got = json.loads(body)
    except ValueError:
        problems.append(f"expected a JSON body, got {body[:300]!r}")
        return problems
    _value(want, got, "body", None, problems)
    compact = json.dumps(_sorted(got), separators=(",", ":"), ensure_ascii=False)
    if not problems and body != compact:
        problems.append(f"the body is not compact with keys in byte order: {body[:300]!r}")
    return problems


def _sorted(v):
    if isinstance(v, dict):
        return {k: _sorted(v[k]) for k in sorted(v, key=lambda s: s.encode())}
    if isinstance(v, list):
        return [_sorted(x) for x in v]
    return v
