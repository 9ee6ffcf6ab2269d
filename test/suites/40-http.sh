#!/usr/bin/env bash
# HTTP integration tests (issue 3): test/http/test_http.py drives the real
# credsync-proxy with a real HTTP client (Python's http.client and raw
# sockets) against a throwaway cluster: every route and error status, auth and
# revocation, tenant isolation, bad input, body framing, long-poll, pool
# timeout, TLS, a proxy restart (the seed scenario) and a database restart.
set -u
cd "$CREDSYNC_ROOT"
source test/lib/cluster.sh
source test/lib/tap.sh
source test/lib/http_stack.sh

[ -x proxy/credsync-proxy ] || make -s -C proxy >/dev/null || { not_ok "build proxy/credsync-proxy"; exit 1; }
http_stack_setup http "$HTTP_TEST_LIMITS"
python3 test/http/test_http.py "$dir" "$work"
