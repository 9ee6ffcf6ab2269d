#!/usr/bin/env bash
# The proxy's start, stop and resources (issue 10, items 2 and 9): a port
# already served, an early SIGTERM, sockets above 1024, a stderr nobody reads,
# TCP keepalive on the pool's connections, no compression. See
# test/hostile/lifecycle.py.
set -u
cd "$CREDSYNC_ROOT"
source test/lib/cluster.sh
source test/lib/tap.sh
source test/lib/http_stack.sh

[ -n "${CREDSYNC_PROXY_BIN:-}" ] || [ -x proxy/credsync-proxy ] || make -s -C proxy >/dev/null || { not_ok "build proxy/credsync-proxy"; exit 1; }
http_stack_setup lifecycle
python3 test/hostile/lifecycle.py "$dir" "$work"
