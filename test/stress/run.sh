#!/usr/bin/env bash
# `make stress`: the long reliability run (minutes, not CI).
#
#   A. SQL under crashes: the checker (test/stress/checker) writes at least
#      STRESS_WRITES records with 8 writers and 3 incremental readers over
#      8 users x 4 zones while the postmaster is killed with kill -9
#      STRESS_KILLS times (and one backend twice) at random moments.
#   B. HTTP under faults: the same checker through credsync-proxy while the
#      proxy is killed with kill -9 and the database is killed and restarted.
#
# Each run's raw output goes to test/stress/raw/, and the figures
# with the exact commands to docs/reliability.md. Exit status 0 only if every
# run reports lost=0 duplicated=0 violations=0 and every fault was injected.
#
# Knobs (environment): STRESS_WRITES (100000), STRESS_KILLS (6), STRESS_HTTP_WRITES (30000),
# STRESS_HTTP_FAULTS (6), STRESS_SEED (1), STRESS_MIN_GAP/STRESS_MAX_GAP (4/12 s between faults).
set -u
cd "$(dirname "$0")/../.."
export CREDSYNC_ROOT=$PWD
source test/lib/cluster.sh
source test/stress/lib.sh

writes=${STRESS_WRITES:-100000}
kills=${STRESS_KILLS:-6}
http_writes=${STRESS_HTTP_WRITES:-30000}
http_faults=${STRESS_HTTP_FAULTS:-6}
seed=${STRESS_SEED:-1}
min_gap=${STRESS_MIN_GAP:-4} max_gap=${STRESS_MAX_GAP:-12}

build_checker || { echo "stress: cannot build test/stress/checker"; exit 1; }
results=test/stress/raw
rm -rf "$results"
mkdir -p "$results"
# Everything printed also goes to raw/console.log (the fault timeline included).
exec > >(tee "$results/console.log") 2>&1
dir=$(pg_owned_tmpdir stress)
cleanup() {
    proxy_stop
    cluster_destroy "$dir"
}
trap cleanup EXIT
stress_cluster "$dir" || { echo "stress: cannot start a cluster"; exit 1; }
db=$(cluster_conninfo "$dir")
failed=0
started=$(date -u '+%Y-%m-%d %H:%M UTC')

# A plan of postmaster kills with a backend kill after every third.
plan_a= n=0
for ((i = 1; i <= kills; i++)); do
    plan_a+="db-kill9,"; n=$((n + 1))
    if ((i % 3 == 0)); then plan_a+="backend-kill9,"; n=$((n + 1)); fi
done
plan_a=${plan_a%,} rounds_a=$n
args_a=(--conninfo "$db" --writers 8 --readers 3 --users 8 --zones 4 --writes "$writes" --seconds 480 --seed "$seed" --prefix sql)
echo "=== A: SQL, $writes writes, $kills kill -9 of the postmaster ($rounds_a faults)"
t0=$SECONDS
fault_run "$results/sql-crash.out" "$dir" "$plan_a" "$rounds_a" "$min_gap" "$max_gap" -- "${args_a[@]}"
secs_a=$((SECONDS - t0)) faults_a=$FAULTS_DONE rc_a=$CHECKER_RC
grep -h '^# fault\|check:' "$results/sql-crash.out" | tail -n 20
sed -n '/^checker figures/,$p' "$results/sql-crash.out"

args_b=
if [ -x "$PROXY_BIN" ]; then
    PROXY_PORT=$(free_port) PROXY_LOG=$results/proxy.log
    if proxy_start "$db" "$PROXY_PORT" "$PROXY_LOG"; then
        plan_b=proxy-kill9,db-kill9,proxy-kill9,db-restart
        args_b=(--conninfo "$db" --http "http://127.0.0.1:$PROXY_PORT" --writers 6 --readers 2 --users 6 --zones 3
                --writes "$http_writes" --seconds 480 --seed "$seed" --prefix http)
        echo "=== B: HTTP through credsync-proxy, $http_writes writes, $http_faults faults ($plan_b, cycled)"
        t0=$SECONDS
        fault_run "$results/http-faults.out" "$dir" "$plan_b" "$http_faults" "$min_gap" "$max_gap" -- "${args_b[@]}"
        secs_b=$((SECONDS - t0)) faults_b=$FAULTS_DONE rc_b=$CHECKER_RC
        proxy_stop
        grep -h '^# fault\|check:' "$results/http-faults.out" | tail -n 20
        sed -n '/^checker figures/,$p' "$results/http-faults.out"
    else
        echo "stress: credsync-proxy did not start"; failed=1
    fi
else
    echo "stress: proxy/credsync-proxy is not built"; failed=1
fi

# verdict FILE RC FAULTS WANTED: PASS or FAIL (why)
verdict() {
    local f=$1 rc=$2 faults=$3 wanted=$4 why=
    [ "$(figure lost "$f")" = 0 ] || why+=" lost"
    [ "$(figure duplicated "$f")" = 0 ] || why+=" duplicated"
    [ "$(figure violations "$f")" = 0 ] || why+=" violations"
    [ "$rc" = 0 ] || why+=" exit-status-$rc"
    [ "$faults" = "$wanted" ] || why+=" faults-$faults-of-$wanted"
    if [ -z "$why" ]; then echo PASS; else echo "FAIL:$why"; fi
}
row() {  # row LABEL FILE SECONDS FAULTS VERDICT
    local f=$2
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s s | %s |\n' "$1" \
        "$(figure writes "$f")" "$(figure pushes "$f")" "$(figure reads "$f")" "$(figure conflicts "$f")" \
        "$(figure replays "$f")" "$(figure retries "$f")" "$4" "$(figure lost "$f")" "$(figure duplicated "$f")" \
        "$(figure violations "$f")" "$3" "$5"
}
# The fuzzer's fixed budget (ASan + UBSan over the proxy's request parsing).
fuzz_started=$(date +%s)
bash test/fuzz/run-long.sh >"$results/fuzz-long.out" 2>&1
rc_f=$?
secs_f=$(($(date +%s) - fuzz_started))
[ "$rc_f" = 0 ] && v_f=PASS || { v_f="FAIL (exit status $rc_f)"; failed=1; }
tail -3 "$results/fuzz-long.out"

# The client's model-based convergence test over many seeds (issue 12):
# CLIENT_STRESS_SEEDS (20 here), CLIENT_STRESS_STEPS (400), CLIENT_STRESS_DEVICES (4).
CLIENT_STRESS_SEEDS=${CLIENT_STRESS_SEEDS:-20} bash test/client/stress.sh >"$results/client-stress.out" 2>&1
rc_c=$?
[ "$rc_c" = 0 ] && v_c=PASS || { v_c="FAIL (exit status $rc_c)"; failed=1; }
echo "client model stress: $v_c ($(tail -1 "$results/client-stress.out"))"

v_a=$(verdict "$results/sql-crash.out" "$rc_a" "$faults_a" "$rounds_a")
[ "$v_a" = PASS ] || failed=1
if [ -n "$args_b" ]; then
    v_b=$(verdict "$results/http-faults.out" "$rc_b" "$faults_b" "$http_faults")
    [ "$v_b" = PASS ] || failed=1
fi

quote() { local a out=; for a in "$@"; do if [[ $a =~ [[:space:]] ]]; then out+=" '$a'"; else out+=" $a"; fi; done; echo "${out# }"; }
{
    echo "# Reliability figures"
    echo
    echo "Written by \`make stress\` (test/stress/run.sh) on $started; raw output in"
    echo "\`test/stress/raw/\`. Reproduce with:"
    echo
    echo '```'
    echo "make stress    # STRESS_WRITES=$writes STRESS_KILLS=$kills STRESS_HTTP_WRITES=$http_writes STRESS_HTTP_FAULTS=$http_faults STRESS_SEED=$seed"
    echo '```'
    echo
    echo "Machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(pg_config --version),"
    echo "throwaway cluster with \`fsync = on\`, \`synchronous_commit = on\` (test/lib/cluster.sh), shared with other work."
    echo "Fault times are random, so figures vary from run to run; the checks do not."
    echo
    echo "| run | writes acknowledged | pushes | pulls | CS409 conflicts (expected) | op_id replays | op_id retries after a lost connection | faults | lost | duplicated | violations | time | verdict |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    row "A. SQL, kill -9 of the postmaster ($kills) and of a backend" "$results/sql-crash.out" "$secs_a" "$faults_a" "$v_a"
    [ -n "$args_b" ] && row "B. HTTP via credsync-proxy, kill -9 of the proxy and of the postmaster, fast restarts" "$results/http-faults.out" "$secs_b" "$faults_b" "$v_b"
    echo
    echo "\"writes acknowledged\" counts records (each record of a batch is one write, each one"
    echo "a gencount). Faults are injected while the checker writes; the checker keeps writing"
    echo "until every fault is done and at least the requested number of writes is acknowledged."
    echo
    echo "Exact checker commands (test/stress/lib.sh \`fault_run\` adds \`--tolerate-faults --stop-file FILE\`):"
    echo
    echo '```'
    echo "checker $(quote "${args_a[@]}" | sed "s|host=[^ ]*|host=CLUSTER/sock|; s|port=[0-9]*|port=PORT|")"
    echo "  faults: $plan_a, $min_gap..$max_gap s apart"
    if [ -n "$args_b" ]; then
        echo "checker $(quote "${args_b[@]}" | sed "s|host=[^ ]*|host=CLUSTER/sock|; s|port=[0-9]*|port=PORT|; s|127.0.0.1:[0-9]*|127.0.0.1:PORT|")"
        echo "  faults: $plan_b cycled, $http_faults in all, $min_gap..$max_gap s apart"
    fi
    echo '```'
    echo
    echo "## What the checker checks (the guarantees of protocol.md)"
    echo
    cat test/stress/CHECKS.md
    echo
    echo "## Figures as printed"
    echo
    echo '```'
    sed -n '/^checker figures/,/^figures:/p' "$results/sql-crash.out"
    [ -n "$args_b" ] && sed -n '/^checker figures/,/^figures:/p' "$results/http-faults.out"
    echo '```'
    echo
    echo "## Fuzzing: the make stress budget"
    echo
    echo "\`bash test/fuzz/run-long.sh\` (FUZZ_LONG_SECONDS=${FUZZ_LONG_SECONDS:-300}): libFuzzer with ASan + UBSan"
    echo "over the proxy's request parsing and validation, ${secs_f} s, verdict: $v_f. Last lines:"
    echo
    echo '```'
    tail -5 "$results/fuzz-long.out"
    echo '```'
    echo
    echo "## The client: many seeds of the convergence model"
    echo
    echo "\`bash test/client/stress.sh\` (test/client/model.py), verdict: $v_c. Last line:"
    echo
    echo '```'
    tail -1 "$results/client-stress.out"
    echo '```'
    echo
    sed -n '/^## Hostile input/,$p' docs/reliability-hostile.md
} >docs/reliability.md
echo "=== figures written to docs/reliability.md"
sed -n '/^| run/,/^$/p' docs/reliability.md
[ "$failed" = 0 ] && echo "stress: PASS" || echo "stress: FAIL"
exit "$failed"
