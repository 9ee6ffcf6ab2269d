#!/usr/bin/env bash
# The client's sync engine end to end (issue 12 item 4): test/client/sync_cases.py
# drives client/credsync against a real credsync-proxy and a throwaway cluster.
set -u
cd "$CREDSYNC_ROOT"
source test/lib/cluster.sh
source test/lib/tap.sh
source test/lib/http_stack.sh

[ -x proxy/credsync-proxy ] || make -s -C proxy >/dev/null || { not_ok "build proxy/credsync-proxy"; exit 1; }
make -s -C client >/dev/null || { not_ok "build client/credsync"; exit 1; }
bash test/client/build_example.sh || not_ok "build docs/client.md's example"
http_stack_setup client-sync "ALTER DATABASE credsync SET credsync.max_blob_bytes = '64kB';"
python3 test/client/sync_cases.py "$dir" "$work"
