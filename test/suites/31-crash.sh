#!/usr/bin/env bash
# Crash test (PROTOCOL.md guarantees 1, 3, 5): several connections push with
# op_ids to several users' zones while the server is killed with kill -9; after
# restart every acknowledged push is there with its gencount and blob, each
# zone's gencounts are exactly 1..gencount, each zone continues above its
# highest acknowledged value, and re-sending the in-flight op_ids converges.
#
# Rounds 1, 2 and 4 kill the postmaster; round 3 kills one backend (the
# postmaster then resets every backend and recovers on its own). The checks
# of each round cover everything acknowledged in all rounds so far.
set -u
cd "$CREDSYNC_ROOT"
source test/lib/cluster.sh
source test/lib/tap.sh

make -s -C test/tools pusher >/dev/null || { not_ok "build test/tools/pusher"; exit 1; }
pusher=$CREDSYNC_ROOT/test/tools/pusher

dir=$(pg_owned_tmpdir crash)
work=$(mktemp -d "${TMPDIR:-/tmp}/credsync-crashlog.XXXXXX")
pusher_pid=
cleanup() {
    [ -n "$pusher_pid" ] && kill "$pusher_pid" 2>/dev/null
    cluster_destroy "$dir"
    rm -rf "$work"
}
trap cleanup EXIT
cluster_new "$dir" && cluster_start "$dir" || { not_ok "start throwaway cluster"; exit 1; }
cluster_env "$dir"
psql -X -A -t -q -v ON_ERROR_STOP=1 -c "CREATE EXTENSION credsync" || { not_ok "create extension"; exit 1; }
log=$work/pushes.log

wait_ready() {
    local i
    for i in $(seq 1 300); do
        psql -X -A -t -q -c "SELECT 1" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

for round in 1 2 3 4; do
    before=$(grep -c '^ACK ' "$log" 2>/dev/null || echo 0)
    "$pusher" --db "$(cluster_conninfo "$dir") application_name=credsync-pusher" --log "$log" \
        --threads 4 --users 3 --zones 2 --max-seconds 20 2>"$work/pusher.err" &
    pusher_pid=$!
    # Let it run for a random 0.8 .. 1.8 s, then crash the server mid-run.
    sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.8 + (r % 100) / 100 }')"
    if ! kill -0 "$pusher_pid" 2>/dev/null; then
        not_ok "crash round $round: pushers still running when the server is killed ($(cat "$work/pusher.err"))"
    fi
    if [ "$round" = 3 ]; then
        victim=$(psql -X -A -t -q -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'credsync-pusher' LIMIT 1")
        [ -n "$victim" ] && kill -9 "$victim"
        what="backend $victim"
    else
        postmaster=$(head -1 "$dir/data/postmaster.pid")
        cluster_kill9 "$dir"
        what="postmaster"
    fi
    wait "$pusher_pid"
    pusher_pid=
    acked=$(( $(grep -c '^ACK ' "$log") - before ))
    check "crash round $round: kill -9 $what with pushes in flight ($acked acknowledged this round)" [ "$acked" -gt 0 ]
    if [ "$round" != 3 ]; then
        cluster_wait_gone "$dir" "$postmaster" || echo "# orphaned backends still running"
        cluster_start "$dir" 2>/dev/null || { not_ok "crash round $round: restart after kill -9"; tail -5 "$dir/data/server.log"; exit 1; }
    fi
    wait_ready || { not_ok "crash round $round: server accepts connections after recovery"; exit 1; }
    python3 test/tools/crash_verify.py "$log" "$pusher" "$round"
done
exit 0
