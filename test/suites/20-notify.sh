#!/usr/bin/env bash
# Keyed NOTIFY: each committed push notifies "<notify_key> <gencount>";
# nothing for a rolled-back push (or savepoint) or with credsync.notify = off;
# the payload never carries the user id; under concurrent writers every
# committed push is notified once and a zone's notifications come in
# gencount order. Run twice: with credsync preloaded (the notifier worker
# sends the notifications) and without (each push NOTIFYs itself).
set -u
cd "$CREDSYNC_ROOT"
source test/lib/cluster.sh
source test/lib/tap.sh
dirs=()
trap 'for d in "${dirs[@]}"; do cluster_destroy "$d"; done' EXIT

# psql prints a notification after the command during which it arrived; the
# trailing sleeps give the notifier time to send before the session ends.
payloads_of() {
    sed -nE 's/^Asynchronous notification "credsync" with payload "([^"]*)".*/\1/p'
}

basic_checks() {
    local mode=$1 key other out payloads
    key=$(psql -XAt -c "SELECT credsync.notify_key('notify-user', 'default')")
    out=$(psql -XAt 2>&1 <<'SQL'
LISTEN credsync;
SELECT gencount FROM credsync.sync_push('notify-user', 'default', '\x01');
BEGIN;
SELECT gencount FROM credsync.sync_push('notify-user', 'default', '\x02');
ROLLBACK;
SET credsync.notify = off;
SELECT gencount FROM credsync.sync_push('notify-user', 'default', '\x03');
RESET credsync.notify;
SELECT count(*) FROM credsync.sync_push_many('notify-user', 'default', NULL, ARRAY['\x04', '\x05']::bytea[]);
BEGIN;
SAVEPOINT dropped;
SELECT gencount FROM credsync.sync_push('notify-user', 'default', '\x06');
ROLLBACK TO dropped;
SAVEPOINT kept;
SELECT gencount FROM credsync.sync_push('notify-user', 'default', '\x07');
RELEASE kept;
COMMIT;
SELECT pg_sleep(0.5);
SELECT pg_sleep(0.5);
SQL
)
    payloads=$(payloads_of <<<"$out" | tr '\n' ',')
    expect_eq "notify ($mode): one payload per committed push with notify on, keyed, with the new gencount; none for a rollback or a rolled-back savepoint" \
        "$key 1,$key 4,$key 5," "$payloads"
    if grep -q "notify-user" <<<"$payloads"; then not_ok "notify ($mode): payload hides the user id"; else ok "notify ($mode): payload hides the user id"; fi
    other=$(psql -XAt -c "SELECT credsync.notify_key('notify-user2', 'default')")
    check "notify ($mode): keys differ per user" test "$key" != "$other"
}

# 8 pgbench clients push to three zones of one user (one of them hot) while
# a session listens; every zone's payloads must be 1, 2, ..., its gencount.
concurrent_checks() {
    local mode=$1 out script bad
    script=$(mktemp)
    cat >"$script" <<'SQL'
\set z random(1, 3)
SELECT gencount FROM credsync.sync_push('busy', CASE :z WHEN 1 THEN 'hot' WHEN 2 THEN 'hot' ELSE 'z' || :z END, '\x00');
SQL
    out=$(psql -XAt 2>&1 <<SQL
LISTEN credsync;
\! pgbench -n -c 8 -j 2 -t 150 -f $script >/dev/null 2>&1
SELECT pg_sleep(1);
SELECT pg_sleep(0.5);
SQL
)
    rm -f "$script"
    local keys
    keys=$(psql -XAt -F ' ' -c "SELECT credsync.notify_key(user_id, zone), gencount FROM credsync.zones WHERE user_id = 'busy'")
    bad=$(payloads_of <<<"$out" | awk -v keys="$keys" '
        BEGIN { n = split(keys, kv, "\n"); for (i = 1; i <= n; i++) { split(kv[i], f, " "); final[f[1]] = f[2]; total += f[2] } }
        { if (!($1 in final)) { print "unknown key " $1; next }
          if ($2 != seen[$1] + 1) print "zone " $1 ": " $2 " after " seen[$1] + 0
          seen[$1] = $2; got++ }
        END { for (k in final) if (seen[k] != final[k]) print "zone " k ": last " seen[k] + 0 " of " final[k]
              if (got != total || total != 1200) print "payloads " got ", pushes " total " (expected 1200)" }')
    expect_eq "notify ($mode): 1,200 concurrent pushes to 3 zones: each notified once, in gencount order per zone" "" "$bad"
}

run_mode() {
    local mode=$1 preload=$2 dir
    dir=$(pg_owned_tmpdir notify)
    dirs+=("$dir")
    CREDSYNC_PRELOAD=$preload cluster_new "$dir" && cluster_start "$dir" || { not_ok "notify ($mode): start throwaway cluster"; return; }
    cluster_env "$dir"
    psql -XAtq -c "CREATE EXTENSION credsync" || { not_ok "notify ($mode): create extension"; return; }
    basic_checks "$mode"
    concurrent_checks "$mode"
}

# The databases whose notifier runs, after a push to each of the given ones
# (a push starts the worker if it has left; it starts in the background).
notifiers_after_push() {
    local db out
    for db in "$@"; do psql -XAtq -d "$db" -c "SELECT FROM credsync.sync_push('w', 'default', '\x00')"; done
    for _ in $(seq 1 40); do
        out=$(psql -XAt -c "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_stat_activity WHERE backend_type = 'credsync notifier'")
        [ "$out" = "$(printf '%s\n' "$@" | sort | paste -sd,)" ] && break
        sleep 0.05
    done
    echo "$out"
}

# --- Slots come back (docs/operations.md, "Worker processes") ----------------
#
# The notifier has 8 slots, one per database. A push whose commit waits for a
# synchronous standby that never answers (synchronous_standby_names names
# nobody, the push sets synchronous_commit = on) holds a reserved entry in its
# database's ring, so the worker stops there with entries pending: that is
# how these checks kill a worker, or drop its database, with entries left.
# Every other session commits with synchronous_commit = local.

notifier_pid() {
    psql -XAt -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'credsync notifier' AND datname = '$1' AND pid <> ${2:-0}"
}
# Waits up to 5 s for a notifier of database $1 other than pid $2.
wait_notifier() {
    local pid
    for _ in $(seq 1 100); do
        pid=$(notifier_pid "$@")
        [ -n "$pid" ] && { echo "$pid"; return 0; }
        sleep 0.05
    done
    return 1
}
wait_pid_gone() {
    for _ in $(seq 1 100); do
        [ -z "$(psql -XAt -c "SELECT 1 FROM pg_stat_activity WHERE pid = $1")" ] && return 0
        sleep 0.05
    done
    return 1
}
# Starts a push to database $1 as user $2 whose commit hangs; prints the
# pushing backend's pid once it waits.
hanging_push() {
    local pid
    PGOPTIONS='-c synchronous_commit=on' psql -XAtq -d "$1" -c "SELECT FROM credsync.sync_push('$2', 'default', '\x01')" >/dev/null 2>&1 &
    for _ in $(seq 1 100); do
        pid=$(psql -XAt -c "SELECT pid FROM pg_stat_activity WHERE datname = '$1' AND wait_event = 'SyncRep'")
        [ -n "$pid" ] && { echo "$pid"; return 0; }
        sleep 0.05
    done
    return 1
}
terminate() { psql -XAtq -c "SELECT pg_terminate_backend($1)" >/dev/null; wait_pid_gone "$1"; }
# A push; prints the pid of the backend that made it.
push_as() {
    psql -XAt -d "$1" -c "SELECT pg_backend_pid() FROM credsync.sync_push('$2', 'default', '\x01')"
}
# Notifications as "<payload> <sender pid>".
payloads_and_pids() {
    sed -nE 's/^Asynchronous notification "credsync" with payload "([^"]*)" received from server process with PID ([0-9]+)\./\1 \2/p'
}

# Run by the listening session of live_database_checks (psql \!): kills the
# worker of database "live" twice while a hanging push holds the ring, pushes
# once more, then lets the hanging push finish. Prints the pushers' pids to $1.
live_database_steps() {
    local pushers=$1 worker hang
    psql -XAtq -d live -c "SELECT FROM credsync.sync_push('first', 'default', '\x01')"
    worker=$(wait_notifier live) || { echo "no worker" >"$pushers"; return; }
    hang=$(hanging_push live hanging) || { echo "no hanging push" >"$pushers"; return; }
    push_as live queued1 >"$pushers"
    echo "$hang" >>"$pushers"
    terminate "$worker"
    # Old behaviour: nobody starts a worker until the database's next push.
    if worker=$(wait_notifier live "$worker"); then terminate "$worker"; fi
    push_as live queued2 >>"$pushers"
    psql -XAtq -c "SELECT pg_cancel_backend($hang)" >/dev/null
    wait_pid_gone "$hang"
}

# A worker killed (FATAL) with entries pending, twice, in a live database:
# a successor sends them, in ring order, followed by a push made while no
# worker ran; none of them by the pushing backend itself.
live_database_checks() {
    local pushers out got bad key expected u
    pushers=$(mktemp)
    psql -XAtq -c "CREATE DATABASE live" && psql -XAtq -d live -c "CREATE EXTENSION credsync"
    out=$(psql -XAt -d live 2>&1 <<SQL
LISTEN credsync;
\! bash $CREDSYNC_ROOT/test/suites/20-notify.sh live_database_steps $pushers
SELECT pg_sleep(1);
SELECT pg_sleep(0.5);
SQL
)
    expected=""
    for u in first hanging queued1 queued2; do
        key=$(psql -XAt -d live -c "SELECT credsync.notify_key('$u', 'default')")
        expected+="$key 1,"
    done
    got=$(payloads_and_pids <<<"$out" | cut -d' ' -f1,2 | tr '\n' ',')
    expect_eq "notify (notifier worker): a worker killed twice with entries pending: a successor sends them and a later push, in commit order" \
        "$expected" "$got"
    bad=$(payloads_and_pids <<<"$out" | tail -n +2 | while read -r _ _ pid; do grep -qx "$pid" "$pushers" && echo "$pid"; done)
    expect_eq "notify (notifier worker): ... sent by the notifier, not by the pushing backends ($(tr '\n' ' ' <"$pushers"))" "" "$bad"
    rm -f "$pushers"
    psql -XAtq -c "DROP DATABASE live WITH (FORCE)"
}

# A notification of database $1 sent by its notifier: a listening session
# pushes until the worker runs, then once more; the last payload must come
# from another process than the session's own.
notified_by_worker() {
    local db=$1 out own last
    out=$(psql -XAt -d "$db" 2>&1 <<SQL
LISTEN credsync;
SELECT pg_backend_pid();
SELECT FROM credsync.sync_push('first', 'default', '\x01');
\! bash $CREDSYNC_ROOT/test/suites/20-notify.sh wait_notifier $db >/dev/null
SELECT FROM credsync.sync_push('second', 'default', '\x01');
SELECT pg_sleep(0.5);
SELECT pg_sleep(0.5);
SQL
)
    own=$(grep -xE '[0-9]+' <<<"$out" | head -1)
    last=$(payloads_and_pids <<<"$out" | tail -1)
    [ "$(wc -l < <(payloads_and_pids <<<"$out"))" = 2 ] && [ -n "$own" ] && [ "${last##* }" != "$own" ]
}

# 9 databases, each dropped (WITH (FORCE)) after its worker was killed with
# entries pending: more than the 8 slots. Two new databases must still get
# a notifier.
dropped_database_checks() {
    local i db worker hang
    for i in $(seq 1 9); do
        db=gone$i
        psql -XAtq -c "CREATE DATABASE $db" && psql -XAtq -d "$db" -c "CREATE EXTENSION credsync"
        push_as "$db" first >/dev/null
        # Before the fix, the 9th database finds no slot and has no worker.
        if worker=$(wait_notifier "$db") && hang=$(hanging_push "$db" hanging); then
            push_as "$db" queued >/dev/null
            terminate "$worker"
        fi
        psql -XAtq -c "DROP DATABASE $db WITH (FORCE)"
        wait
    done
    for db in fresh1 fresh2; do
        psql -XAtq -c "CREATE DATABASE $db" && psql -XAtq -d "$db" -c "CREATE EXTENSION credsync"
        check "notify (notifier worker): after 9 databases were dropped with their workers killed and entries pending, new database $db is notified by its notifier" \
            notified_by_worker "$db"
    done
}

# max_worker_processes reached: 8 databases push while the only free worker
# process is taken by a parallel query, so none of their notifiers starts.
# Once the process is free, a 9th database must get a notifier.
failed_start_checks() {
    local dir=$1 i sleeper
    cluster_stop "$dir"
    as_pg tee -a "$dir/data/postgresql.conf" >/dev/null <<<"max_worker_processes = 2"
    cluster_start "$dir" || { not_ok "notify (notifier worker): restart with max_worker_processes = 2"; return; }
    # The logical replication launcher takes one worker process; this takes the other.
    PGOPTIONS='-c force_parallel_mode=on' psql -XAtq -c "SELECT pg_sleep(60)" >/dev/null 2>&1 &
    sleeper=$!
    for _ in $(seq 1 100); do
        [ -n "$(psql -XAt -c "SELECT 1 FROM pg_stat_activity WHERE backend_type = 'parallel worker'")" ] && break
        sleep 0.05
    done
    for i in $(seq 1 9); do
        psql -XAtq -c "CREATE DATABASE busy$i" && psql -XAtq -d "busy$i" -c "CREATE EXTENSION credsync"
    done
    for i in $(seq 1 8); do push_as "busy$i" first >/dev/null; done
    expect_eq "notify (notifier worker): with no worker process free, no notifier starts" "" \
        "$(psql -XAt -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'credsync notifier'")"
    psql -XAtq -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)'" >/dev/null
    wait "$sleeper"
    for _ in $(seq 1 100); do
        [ -z "$(psql -XAt -c "SELECT 1 FROM pg_stat_activity WHERE backend_type = 'parallel worker'")" ] && break
        sleep 0.05
    done
    check "notify (notifier worker): after 8 databases failed to start their notifiers, a 9th is notified by its notifier" \
        notified_by_worker busy9
}

# Steps the listening sessions above run through psql's \!.
if [ $# -gt 0 ]; then "$@"; exit; fi

run_mode "notifier worker" 1
expect_eq "notify (notifier worker): the database's pushes start its worker" postgres "$(notifiers_after_push postgres)"

# A second database gets its own worker and its own notifications, and the
# workers leave when idle, so that DROP DATABASE is not refused.
psql -XAtq -c "CREATE DATABASE other" && psql -XAtq -d other -c "CREATE EXTENSION credsync"
out=$(psql -XAt 2>&1 <<'SQL'
LISTEN credsync;
\! psql -XAtq -d other -c "SELECT FROM credsync.sync_push('o', 'default', '\x01')" -c "SELECT FROM credsync.sync_push('o', 'default', '\x02')"
SELECT FROM credsync.sync_push('o', 'default', '\x01');
SELECT pg_sleep(0.5);
SELECT pg_sleep(0.5);
SQL
)
key=$(psql -XAt -c "SELECT credsync.notify_key('o', 'default')")
expect_eq "notify (notifier worker): a listener hears its own database's pushes only" "$key 1," "$(payloads_of <<<"$out" | tr '\n' ',')"
expect_eq "notify (notifier worker): one worker per database" "other,postgres" "$(notifiers_after_push other postgres)"
check "notify (notifier worker): DROP DATABASE succeeds after pushes (the idle worker leaves)" \
    psql -XAtq -c "DROP DATABASE other"

psql -XAtq -c "ALTER SYSTEM SET synchronous_standby_names = 'credsync_nobody'" -c "SELECT pg_reload_conf()" >/dev/null
export PGOPTIONS='-c synchronous_commit=local'
live_database_checks
dropped_database_checks
psql -XAtq -c "ALTER SYSTEM RESET synchronous_standby_names" -c "SELECT pg_reload_conf()" >/dev/null
failed_start_checks "${dirs[0]}"
unset PGOPTIONS

run_mode "no preload" 0
expect_eq "notify (no preload): no worker; each push notifies itself" "" "$(notifiers_after_push postgres)"
exit 0
