#!/usr/bin/env bash
# The client's speed figures (issue 12 item 7): test/client/bench.py on a
# throwaway cluster and proxy; `make bench` runs it as target "client"
# (bench/run.sh). CLIENT_BENCH_ENTRIES (default 10000), CLIENT_BENCH_ROUNDS
# (default 5), CLIENT_BENCH_PROFILE=1 (strace -c of one more first sync).
set -u
cd "$(dirname "$0")/../.."
export CREDSYNC_ROOT=$PWD
source test/lib/cluster.sh
source test/lib/tap.sh
source test/lib/http_stack.sh
make -s -C client >/dev/null && make -s -C client unit-tests >/dev/null || { echo "cannot build client/credsync"; exit 1; }
[ -x proxy/credsync-proxy ] || make -s -C proxy >/dev/null || exit 1
http_stack_setup client-bench
python3 test/client/bench.py "$dir" "$work"
