#!/usr/bin/env bash
# Bounded memory under hostile push bodies (issue 10, item 3): sixteen
# concurrent 8 MiB bodies built to be expensive to parse keep the proxy's peak
# memory at or below 400 MiB, it keeps serving, and nothing is stored. See
# test/hostile/big_bodies.py.
set -u
cd "$CREDSYNC_ROOT"
source test/lib/cluster.sh
source test/lib/tap.sh
source test/lib/http_stack.sh

[ -n "${CREDSYNC_PROXY_BIN:-}" ] || [ -x proxy/credsync-proxy ] || make -s -C proxy >/dev/null || { not_ok "build proxy/credsync-proxy"; exit 1; }
http_stack_setup bodies
python3 test/hostile/big_bodies.py "$dir" "$work"
