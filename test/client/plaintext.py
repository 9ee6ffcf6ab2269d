#!/usr/bin/env python3
"""The server never sees a plaintext (issue 12 items 2 and 6,
test/suites/75-client-plaintext.sh): after a session of commands on two
devices (signup/login when the server has accounts, adds, edits, a conflict,
a delete, syncs), neither a pg_dump of the database nor the PostgreSQL and
proxy logs contain any title, username, URL, note, entry password or the
account password, in clear, hex or base64. The devices' homes do not either.
Blob sizes are size buckets, whatever the plaintext's length."""
import base64
import glob
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import PASSWORD, Device, Stack, Tap  # noqa: E402

tap = Tap()
check = tap.check
stack = Stack(sys.argv[1], sys.argv[2])
stack.start_proxy()

secrets = {
    "title": "Zebra Savings Account Title",
    "username": "quokka.username@example.org",
    "url": "https://narwhal-login.example.net/path",
    "notes": "axolotl note: the safe code is 4-8-15",
    "password": "Pangolin-Password-991!",
    "password2": "Okapi-Second-Password-772?",
    "conflict_a": "Tapir-Conflict-A-123",
    "conflict_b": "Dugong-Conflict-B-456",
    "deleted": "Capybara-Deleted-Entry-Pw",
    "long_notes": "Manatee long note " * 40,
}


def forms(s):
    """The ways a plaintext could appear: as is, hex of its bytes, base64."""
    b = s.encode()
    out = [b, b.hex().encode()]
    for shift in range(3):  # base64 of the string at any offset inside a larger buffer
        chunk = base64.b64encode(b"\0" * shift + b)[4:-4]
        if len(chunk) >= 12:
            out.append(chunk)
    return out


def session():
    user = "plain-user"
    a, b = Device(stack, "plain-a", user), Device(stack, "plain-b", user)
    a.join()
    b.join(a)
    i = a.add(secrets["title"], secrets["password"], username=secrets["username"], url=secrets["url"], notes=secrets["notes"])
    a.add("short", "x")
    a.add("long notes entry", "y", notes=secrets["long_notes"])
    d = a.add("to be deleted", secrets["deleted"])
    for dev in (a, b):
        dev.ok("sync")
    a.edit(i, password=secrets["conflict_a"])
    b.edit(i, password=secrets["conflict_b"])
    b.ok("rm", d)
    for dev in (a, b, a):
        dev.ok("sync")
    a.edit(i, password=secrets["password2"])
    a.ok("sync")
    b.ok("sync")
    hist = [h["password"] for h in b.json("show", i)["history"]]
    check("session: the entry went through a conflict and edits (its history holds them)",
          b.json("show", i)["password"] == secrets["password2"] and secrets["conflict_a"] in hist and secrets["password"] in hist, hist)
    return user, a, b


def scan(label, blobs):
    for name, s in secrets.items():
        needles = forms(s)
        hits = [where for where, data in blobs if any(n in data for n in needles)]
        check(f"{label}: no {name} anywhere", not hits, hits)
    if stack.accounts():
        hits = [where for where, data in blobs if any(n in data for n in forms(PASSWORD))]
        check(f"{label}: no account password anywhere", not hits, hits)


user, a, b = session()
# A control: a "client" that does not encrypt. The scan must find its text in
# the dump (as bytea hex) and in the statement log, or it proves nothing.
control = "Control-Plaintext-Marker-0451"
stack.psql(f"SELECT credsync.sync_push('control-user', 'default', convert_to('{control}', 'UTF8'))")
stack.stop_proxy()  # flush its log
dump = stack.dump_text()
server_log = open(os.path.join(stack.dir, "data", "server.log"), "rb").read() if os.path.exists(os.path.join(stack.dir, "data", "server.log")) else b""
proxy_log = open(stack.proxy_log, "rb").read()
check("the dump holds the records (the scan looks at real data)", user.encode() in dump and b"credsync" in dump)
check("control: the scan finds a plaintext that a non-encrypting client stored, in the dump and the log",
      any(n in dump for n in forms(control)) and any(n in server_log for n in forms(control)))
scan("pg_dump and logs", [("pg_dump", dump), ("postgresql log", server_log), ("proxy log", proxy_log)])
home_files = []
for dev in (a, b):
    for f in glob.glob(os.path.join(dev.home, "*")):
        home_files.append((f, open(f, "rb").read()))
scan("the devices' homes", home_files)

stack.start_proxy()
sizes = stack.psql(f"SELECT DISTINCT octet_length(blob) FROM credsync.records WHERE user_id = '{user}' AND NOT deleted").split()
overhead = 1 + 24 + 16
buckets = {256 << k for k in range(16)}
check("every blob is a size bucket (a power of two from 256) plus the seal's 41 bytes",
      sizes and all(int(s) - overhead in buckets for s in sizes), sizes)
check("entries of different lengths share a bucket (short and long titles alike)", len(sizes) < 4, sizes)
stack.stop_proxy()
sys.exit(1 if tap.failures else 0)
