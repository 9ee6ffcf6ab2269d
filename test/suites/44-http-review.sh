#!/usr/bin/env bash
# The proxy's share of the outside review (issue 10), test/http/test_review.py
# against the real credsync-proxy and a throwaway cluster: hostile push bodies
# with a peak-memory limit and the batch limit read from the database (item 3),
# a long-poll whose token is revoked while it waits (item 4), waiting turned
# off with --max-waiters 0 (item 5), the long-poll listener surviving a failed
# poll() and a killed backend (item 9), and no bearer token in PostgreSQL's
# statement log (item 10; the proxy looks tokens up by hash with credsync.token_identity, extension 1.4).
# CREDSYNC_PROXY_BIN runs it against another build.
set -u
cd "$CREDSYNC_ROOT"
source test/lib/cluster.sh
source test/lib/tap.sh
source test/lib/http_stack.sh

[ -n "${CREDSYNC_PROXY_BIN:-}" ] || [ -x proxy/credsync-proxy ] || make -s -C proxy >/dev/null || { not_ok "build proxy/credsync-proxy"; exit 1; }
# A batch limit above the proxy's default (1000), so that the test sees the
# proxy take it from the database rather than assume it.
http_stack_setup review "ALTER DATABASE credsync SET credsync.max_batch_records = 1500;"
python3 test/http/test_review.py "$dir" "$work"
