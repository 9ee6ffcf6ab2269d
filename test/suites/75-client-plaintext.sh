#!/usr/bin/env bash
# No plaintext reaches the server, its dump or its logs (issue 12 items 2 and
# 6): test/client/plaintext.py.
set -u
cd "$CREDSYNC_ROOT"
source test/lib/cluster.sh
source test/lib/tap.sh
source test/lib/http_stack.sh

[ -x proxy/credsync-proxy ] || make -s -C proxy >/dev/null || { not_ok "build proxy/credsync-proxy"; exit 1; }
make -s -C client >/dev/null || { not_ok "build client/credsync"; exit 1; }
# Log every statement, so that the scan covers anything the proxy sends.
http_stack_setup client-plaintext "ALTER DATABASE credsync SET log_statement = 'all';"
python3 test/client/plaintext.py "$dir" "$work"
