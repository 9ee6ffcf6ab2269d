#!/usr/bin/env bash
# Hostile input (issue 4, item 4): test/hostile/corpus.ndjson (448 malformed or
# hostile requests, made by test/hostile/gen_corpus.py) sent raw to a real
# credsync-proxy on a throwaway cluster by test/hostile/run_corpus.py: each is
# refused with a 4xx JSON error, nothing is stored in any user's data, no answer
# leaks SQL, traces or another user's data, and the proxy stays up.
# CREDSYNC_PROXY_BIN runs it against another build.
set -u
cd "$CREDSYNC_ROOT"
source test/lib/cluster.sh
source test/lib/tap.sh
source test/lib/http_stack.sh

[ -n "${CREDSYNC_PROXY_BIN:-}" ] || [ -x proxy/credsync-proxy ] || make -s -C proxy >/dev/null || { not_ok "build proxy/credsync-proxy"; exit 1; }
http_stack_setup hostile "$HTTP_TEST_LIMITS"
python3 test/hostile/run_corpus.py "$dir" "$work"
