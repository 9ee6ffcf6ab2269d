#!/usr/bin/env bash
# Model-based convergence of the client under faults (issue 12 item 6):
# test/client/model.py with a few seeds (CREDSYNC_CLIENT_MODEL_SEEDS,
# CREDSYNC_CLIENT_MODEL_STEPS, CREDSYNC_CLIENT_MODEL_DEVICES; many seeds:
# test/client/stress.sh).
set -u
cd "$CREDSYNC_ROOT"
source test/lib/cluster.sh
source test/lib/tap.sh
source test/lib/http_stack.sh

[ -x proxy/credsync-proxy ] || make -s -C proxy >/dev/null || { not_ok "build proxy/credsync-proxy"; exit 1; }
make -s -C client >/dev/null || { not_ok "build client/credsync"; exit 1; }
http_stack_setup client-model
python3 test/client/model.py "$dir" "$work"
