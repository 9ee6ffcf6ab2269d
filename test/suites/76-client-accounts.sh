#!/usr/bin/env bash
# Accounts through the client (issue 12 over issue 11): test/client/accounts.py.
# The HTTP part prints "skip" lines until the proxy has the accounts routes.
set -u
cd "$CREDSYNC_ROOT"
source test/lib/cluster.sh
source test/lib/tap.sh
source test/lib/http_stack.sh

[ -x proxy/credsync-proxy ] || make -s -C proxy >/dev/null || { not_ok "build proxy/credsync-proxy"; exit 1; }
make -s -C client >/dev/null && make -s -C client unit-tests >/dev/null || { not_ok "build client/credsync"; exit 1; }
http_stack_setup client-accounts
python3 test/client/accounts.py "$dir" "$work"
