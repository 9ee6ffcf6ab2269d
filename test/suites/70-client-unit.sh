#!/usr/bin/env bash
# The client without a server (issue 12 items 1, 2, 5): unit tests of its
# cryptographic formats, merge and digest (test/client/unit_tests.cpp), and
# the command's usage errors and exit statuses.
set -u
cd "$CREDSYNC_ROOT"
source test/lib/tap.sh

make -s -C client >/dev/null && make -s -C client unit-tests >/dev/null || { not_ok "build the client and its unit tests"; exit 1; }
build/client/unit-tests

# The zone digest against an independent computation (Python's hashlib and integers).
args="00000000-0000-0000-0000-000000000001 1 ffffffff-ffff-4fff-bfff-ffffffffffff 9223372036854775807 12345678-1234-4234-9234-123456789abc 42"
ours=$(build/client/unit-tests digest $args)
theirs=$(python3 -c '
import hashlib, sys, uuid
a = sys.argv[1:]
s = sum(int.from_bytes(hashlib.sha256(uuid.UUID(a[i]).bytes + int(a[i+1]).to_bytes(8, "big")).digest(), "big") for i in range(0, len(a), 2))
print((s % 2**256).to_bytes(32, "big").hex())' $args)
expect_eq "digest: sum mod 2^256 of SHA-256(uuid || be64 gencount), as the protocol says" "$theirs" "$ours"
expect_eq "digest: an empty zone is 32 zero bytes" "$(printf '0%.0s' $(seq 64))" "$(build/client/unit-tests digest)"

# docs/client.md's embedding example compiles against the public headers only.
check "docs/client.md's example compiles with the public headers" bash test/client/build_example.sh
build/client/example >/dev/null 2>&1
expect_eq "docs/client.md's example runs (usage without arguments)" 2 $?

cs=client/credsync
home=$(mktemp -d "${TMPDIR:-/tmp}/credsync-client-unit.XXXXXX")
trap 'rm -rf "$home"' EXIT
export CREDSYNC_SERVER=http://127.0.0.1:9   # nothing listens there
unset CREDSYNC_HOME CREDSYNC_PASSWORD CREDSYNC_TOKEN
# usage CODE NAME ARGS...: exit status and exactly one line on stderr
usage() {
    local want=$1 name=$2; shift 2
    local err rc
    err=$("$cs" --home "$home/h" "$@" 2>&1 >/dev/null </dev/null); rc=$?
    if [ "$rc" = "$want" ] && [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] && [[ $err == credsync:* ]]; then
        ok "$name"
    else
        not_ok "$name (status $rc, stderr: $err)"
    fi
}
usage 2 "no command: exit 2" 
usage 2 "an unknown command: exit 2" frobnicate
usage 2 "an unknown option: exit 2" list --frob
usage 2 "add without a title: exit 2" add
usage 2 "show with two arguments: exit 2" show a b
usage 2 "--generate with a silly length: exit 2" add T --generate 2
usage 2 "--password-stdin and --generate together: exit 2" add T --password-stdin --generate
usage 2 "edit with nothing to change (not a terminal): exit 2" edit T
usage 2 "a global option without its value: exit 2" list --home
usage 2 "devices with a stray argument: exit 2" devices frob
usage 2 "a zone outside [A-Za-z0-9_.-]: exit 2" add T --zone "a/b"
usage 2 "an empty title: exit 2" add ""
CREDSYNC_PASSWORD= usage 2 "signup with an empty password: exit 2" signup alice
usage 1 "list before any login: exit 1, one line" list
usage 1 "sync before any login: exit 1, one line" sync
CREDSYNC_PASSWORD=pw usage 1 "login to a server that is not there: exit 1, one line" login alice
CREDSYNC_TOKEN=tok usage 1 "attach to a server that is not there: exit 1, one line" attach
CREDSYNC_KDF=fast usage 2 "CREDSYNC_KDF outside interactive|moderate|sensitive: exit 2" signup alice --password-stdin
"$cs" --help | grep -q "credsync signup\|signup NAME" && ok "--help lists the commands" || not_ok "--help lists the commands"
[ "$(stat -c %a "$home/h")" = 700 ] && ok "a new home is created 0700" || not_ok "a new home is created 0700 ($(stat -c %a "$home/h"))"
[ "$(stat -c %a "$home/h/credsync.db")" = 600 ] && ok "the local store is 0600" || not_ok "the local store is 0600"
exit 0
