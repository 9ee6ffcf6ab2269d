#!/usr/bin/env bash
# Consistency checker, short version of `make stress` (test/stress/run.sh):
# PROTOCOL.md guarantees 1-6 checked by test/stress/checker against its own
# model of every acknowledged write.
#   1. SQL, no faults: 4 writers, 2 readers, a few thousand writes.
#   2. SQL, crashes: kill -9 of the postmaster and of one backend while the
#      checker writes; after each restart and at the end nothing acknowledged
#      is lost, no (zone, gencount) is handed out twice, op_id re-sends converge.
#   3. HTTP through credsync-proxy: kill -9 of the proxy and a database
#      restart while the checker writes.
#   4. The checks can fail: with --inject the checker corrupts its own model
#      or observations on purpose, and each named check must report it.
set -u
cd "$CREDSYNC_ROOT"
source test/lib/cluster.sh
source test/lib/tap.sh
source test/stress/lib.sh

build_checker || { not_ok "build test/stress/checker"; exit 1; }
dir=$(pg_owned_tmpdir checker)
work=$(mktemp -d "${TMPDIR:-/tmp}/credsync-checker.XXXXXX")
cleanup() {
    proxy_stop
    cluster_destroy "$dir"
    rm -rf "$work"
}
trap cleanup EXIT
stress_cluster "$dir" || { not_ok "start throwaway cluster"; exit 1; }
db=$(cluster_conninfo "$dir")
common=(--conninfo "$db" --users 4 --zones 3 --seed "$RANDOM")

# report NAME FILE RC: the figures, then one ok/not ok line per figure.
report() {
    local name=$1 out=$2 rc=$3
    sed -n '/^checker figures/,$p' "$out"
    grep '^VIOLATION' "$out" | head -5
    local lost dup viol
    lost=$(figure lost "$out") dup=$(figure duplicated "$out") viol=$(figure violations "$out")
    expect_eq "$name: lost" 0 "${lost:-missing}"
    expect_eq "$name: duplicated" 0 "${dup:-missing}"
    expect_eq "$name: violations" 0 "${viol:-missing}"
    expect_eq "$name: checker exit status" 0 "$rc"
}

# 1. no faults
"$CHECKER" "${common[@]}" --prefix plain --writers 4 --readers 2 --writes 3000 --seconds 60 >"$work/plain.out" 2>&1
report "checker over SQL, 3000 writes" "$work/plain.out" $?

# 2. kill -9 of the postmaster, then of one backend
fault_run "$work/crash.out" "$dir" db-kill9,backend-kill9 2 1.0 2.0 -- \
    "${common[@]}" --prefix crash --writers 4 --readers 2 --writes 2000 --seconds 60
grep '^# fault\|check:' "$work/crash.out"
expect_eq "checker over SQL: faults injected (kill -9 postmaster, kill -9 backend)" 2 "$FAULTS_DONE"
rc_checks=$(figure restart_checks "$work/crash.out")
check "checker over SQL: acknowledged writes re-checked after the restart (${rc_checks:-no} restart checks)" [ "${rc_checks:-0}" -ge 1 ]
report "checker over SQL under kill -9" "$work/crash.out" "$CHECKER_RC"

# 3. through the proxy: kill -9 of the proxy, then a database restart
if [ -x "$PROXY_BIN" ]; then
    PROXY_PORT=$(free_port) PROXY_LOG=$work/proxy.log
    if proxy_start "$db" "$PROXY_PORT" "$PROXY_LOG"; then
        fault_run "$work/http.out" "$dir" proxy-kill9,db-kill9 2 1.0 2.0 -- \
            "${common[@]}" --prefix http --http "http://127.0.0.1:$PROXY_PORT" --writers 4 --readers 2 --writes 1500 --seconds 60
        grep '^# fault\|check:' "$work/http.out"
        expect_eq "checker over HTTP: faults injected (kill -9 proxy, kill -9 postmaster)" 2 "$FAULTS_DONE"
        report "checker over HTTP under kill -9 of proxy and database" "$work/http.out" "$CHECKER_RC"
        # next_since exists only over HTTP: corrupted once, it must be reported.
        "$CHECKER" "${common[@]}" --prefix httpinject --http "http://127.0.0.1:$PROXY_PORT" --writers 2 --readers 2 \
            --writes 300 --seconds 30 --inject next-since >"$work/http-inject.out" 2>&1
        check "checker over HTTP: injected 'next-since' is caught as next-since" \
            grep -q "violations\[next-since\]=" "$work/http-inject.out"
        proxy_stop
    else
        not_ok "start credsync-proxy for the checker ($(tail -3 "$PROXY_LOG"))"
    fi
else
    not_ok "proxy/credsync-proxy is not built"
fi

# 4. every check can fail: each injection must be reported under its own name
"$CHECKER" "${common[@]}" --prefix inject --writers 4 --readers 2 --writes 1500 --seconds 60 --inject all >"$work/inject.out" 2>&1
rc=$?
expect_eq "checker with injected faults exits non-zero" 1 "$rc"
for pair in lost:lost dup:duplicate-gencount gap:not-dense digest:digest reader-miss:reader-final-state \
            leak:isolation replay:replay-mismatch order:allocation-order conflict:conflict-detail \
            batch:batch-not-consecutive stale:stale-version obs:observation-mismatch pull-gap:pull-gap; do
    inj=${pair%%:*} kind=${pair#*:}
    check "injected '$inj' is caught as $kind" grep -q "violations\[$kind\]=" "$work/inject.out"
done
exit 0
