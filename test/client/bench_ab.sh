#!/usr/bin/env bash
# A/B of client binaries on the first sync (test/client/bench_ab.py), e.g.
#   CLIENT_AB_BINS="old=/tmp/credsync-old,new=client/credsync" bash test/client/bench_ab.sh
# Each round syncs one new device per binary, in alternating order, on one
# throwaway cluster and proxy, so that the machine's load falls on all alike.
set -u
cd "$(dirname "$0")/../.."
export CREDSYNC_ROOT=$PWD
source test/lib/cluster.sh
source test/lib/tap.sh
source test/lib/http_stack.sh
[ -n "${CLIENT_AB_BINS:-}" ] || { echo "CLIENT_AB_BINS=name=path,... is required"; exit 2; }
make -s -C client unit-tests >/dev/null || { echo "cannot build the unit tests (they populate the vault)"; exit 1; }
[ -x proxy/credsync-proxy ] || make -s -C proxy >/dev/null || exit 1
http_stack_setup client-ab
python3 test/client/bench_ab.py "$dir" "$work"
