# Fault-injection helpers for the stress runs (test/stress/run.sh) and the
# short checker suite (test/suites/50-checker.sh). Source after
# test/lib/cluster.sh. Every process started here is tracked by PID and
# stopped by PID.

CHECKER=${CREDSYNC_ROOT:?}/test/stress/checker
PROXY_BIN=$CREDSYNC_ROOT/proxy/credsync-proxy

build_checker() {
    make -s -j2 -C "$CREDSYNC_ROOT/test/stress" checker >/dev/null
}

# stress_cluster DIR: a throwaway cluster with the extension created.
stress_cluster() {
    local dir=$1
    cluster_new "$dir" >/dev/null && cluster_start "$dir" || return 1
    psql -X -A -t -q -v ON_ERROR_STOP=1 -d "$(cluster_conninfo "$dir")" -c "CREATE EXTENSION credsync" >/dev/null
}

wait_db_ready() {
    local dir=$1 i
    for i in $(seq 1 300); do
        psql -X -A -t -q -d "$(cluster_conninfo "$dir")" -c "SELECT 1" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

# db_kill9_restart DIR: kill -9 the postmaster, wait for its backends to go, start again.
db_kill9_restart() {
    local dir=$1 pm
    pm=$(head -1 "$dir/data/postmaster.pid" 2>/dev/null)
    cluster_kill9 "$dir"
    cluster_wait_gone "$dir" "$pm" || echo "# orphaned backends still running"
    cluster_start "$dir" 2>/dev/null || { echo "# restart failed:"; tail -5 "$dir/data/server.log"; return 1; }
    wait_db_ready "$dir"
}

# db_fast_restart DIR: a clean restart (pg_ctl -m fast), connections cut.
db_fast_restart() {
    local dir=$1
    as_pg "$PG_BINDIR/pg_ctl" -D "$dir/data" -m fast -w -t 60 restart -l "$dir/data/server.log" >/dev/null 2>&1 || return 1
    wait_db_ready "$dir"
}

# db_kill9_backend DIR APPNAME: kill -9 one backend of that application; the
# postmaster then resets every backend and recovers on its own.
db_kill9_backend() {
    local dir=$1 app=$2 victim
    victim=$(psql -X -A -t -q -d "$(cluster_conninfo "$dir")" -c \
        "SELECT pid FROM pg_stat_activity WHERE application_name = '$app' ORDER BY random() LIMIT 1" 2>/dev/null)
    [ -n "$victim" ] && kill -9 "$victim"
    sleep 0.3
    wait_db_ready "$dir"
}

# proxy_start CONNINFO PORT LOG: starts credsync-proxy, sets PROXY_PID, waits for /healthz.
PROXY_PID=
proxy_start() {
    local db=$1 port=$2 log=$3 i
    "$PROXY_BIN" --db "$db" --listen "127.0.0.1:$port" >>"$log" 2>&1 &
    PROXY_PID=$!
    for i in $(seq 1 100); do
        curl -s -o /dev/null -m 1 "http://127.0.0.1:$port/healthz" && return 0
        kill -0 "$PROXY_PID" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

proxy_kill9() {
    [ -n "$PROXY_PID" ] || return 0
    kill -9 "$PROXY_PID" 2>/dev/null
    wait "$PROXY_PID" 2>/dev/null
    PROXY_PID=
}

proxy_stop() {
    [ -n "$PROXY_PID" ] || return 0
    kill -TERM "$PROXY_PID" 2>/dev/null
    wait "$PROXY_PID" 2>/dev/null
    PROXY_PID=
}

# rand_sleep MIN MAX: sleep a random time in [MIN, MAX] seconds (decimals ok).
rand_sleep() {
    sleep "$(awk -v a="$1" -v b="$2" -v r="$RANDOM" 'BEGIN { printf "%.2f", a + (b - a) * r / 32767 }')"
}

# fault_run OUT DIR PLAN ROUNDS MIN MAX -- CHECKER_ARGS...
#   Runs the checker (tolerating connection loss) in the background, and
#   ROUNDS times, after a random MIN..MAX seconds, injects the next fault of
#   PLAN (a comma list cycled through: db-kill9, db-restart, backend-kill9,
#   proxy-kill9). After the last fault it lets the checker finish: the
#   checker is told to go on writing (--stop-file) until every fault is done.
#   Sets FAULTS_DONE and CHECKER_RC; the checker's output goes to OUT.
#   For proxy faults, PROXY_PORT and PROXY_LOG must be set and the proxy running.
FAULTS_DONE=0 CHECKER_RC=
fault_run() {
    local out=$1 dir=$2 plan=$3 rounds=$4 min=$5 max=$6
    shift 7
    local stopfile
    stopfile=$(mktemp -u "${TMPDIR:-/tmp}/credsync-stop.XXXXXX")
    FAULTS_DONE=0
    "$CHECKER" --tolerate-faults --stop-file "$stopfile" "$@" >"$out" 2>&1 &
    local ck=$! i kind
    local -a kinds
    IFS=, read -r -a kinds <<<"$plan"
    for ((i = 0; i < rounds; i++)); do
        rand_sleep "$min" "$max"
        kill -0 "$ck" 2>/dev/null || { echo "# checker ended before fault $((i + 1))"; break; }
        kind=${kinds[$((i % ${#kinds[@]}))]}
        echo "# fault $((i + 1))/$rounds: $kind at $(date +%T)"
        case $kind in
            db-kill9) db_kill9_restart "$dir" || break ;;
            db-restart) db_fast_restart "$dir" || break ;;
            backend-kill9) db_kill9_backend "$dir" credsync-checker && kill -USR1 "$ck" ;;
            proxy-kill9) proxy_kill9; proxy_start "$(cluster_conninfo "$dir")" "$PROXY_PORT" "$PROXY_LOG" && kill -USR1 "$ck" ;;
        esac
        FAULTS_DONE=$((FAULTS_DONE + 1))
    done
    sleep 1
    touch "$stopfile"
    wait "$ck"
    CHECKER_RC=$?
    rm -f "$stopfile"
}

# figure NAME FILE: the value of "NAME=N" in the checker's output.
figure() {
    grep -o "$1=[0-9]*" "$2" | tail -1 | cut -d= -f2
}
