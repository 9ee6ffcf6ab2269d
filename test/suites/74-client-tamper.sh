#!/usr/bin/env bash
# A server that swaps, moves, replays or corrupts blobs is detected by the
# client (issue 12 items 2 and 6): test/client/tamper.py.
set -u
cd "$CREDSYNC_ROOT"
source test/lib/cluster.sh
source test/lib/tap.sh
source test/lib/http_stack.sh

[ -x proxy/credsync-proxy ] || make -s -C proxy >/dev/null || { not_ok "build proxy/credsync-proxy"; exit 1; }
make -s -C client >/dev/null || { not_ok "build client/credsync"; exit 1; }
http_stack_setup client-tamper
python3 test/client/tamper.py "$dir" "$work"
