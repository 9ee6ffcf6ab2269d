#!/usr/bin/env bash
# Many seeds of the client's model-based convergence test (test/client/model.py)
# for `make stress`: CLIENT_STRESS_SEEDS seeds (default 50) of
# CLIENT_STRESS_STEPS steps (default 400) with CLIENT_STRESS_DEVICES devices
# (default 4), on one throwaway cluster and proxy. Exit status 0 only if every
# seed converged with nothing lost.
set -u
cd "$(dirname "$0")/../.."
export CREDSYNC_ROOT=$PWD
source test/lib/cluster.sh
source test/lib/tap.sh
source test/lib/http_stack.sh
make -s -C client >/dev/null || { echo "cannot build client/credsync"; exit 1; }
[ -x proxy/credsync-proxy ] || make -s -C proxy >/dev/null || { echo "cannot build the proxy"; exit 1; }
http_stack_setup client-stress
# A copy of the command: a rebuild of client/ during the long run must not
# swap the binary under it.
cp client/credsync "$work/credsync" && export CREDSYNC_CLIENT_BIN=$work/credsync
first=${CLIENT_STRESS_FIRST_SEED:-1}
export CREDSYNC_CLIENT_MODEL_SEEDS="$(seq -s ' ' "$first" $((first + ${CLIENT_STRESS_SEEDS:-50} - 1)))"
export CREDSYNC_CLIENT_MODEL_STEPS=${CLIENT_STRESS_STEPS:-400}
export CREDSYNC_CLIENT_MODEL_DEVICES=${CLIENT_STRESS_DEVICES:-4}
python3 test/client/model.py "$dir" "$work" | tee "$work/model.out"
rc=${PIPESTATUS[0]}
mkdir -p build/test-logs && cp "$work/proxy.log" build/test-logs/client-stress-proxy.log
echo "client model stress: $(grep -c '^ok - ' "$work/model.out") passed, $(grep -c '^not ok - ' "$work/model.out") failed"
exit "$rc"
