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

run_mode "no preload" 0
expect_eq "notify (no preload): no worker; each push notifies itself" "" "$(notifiers_after_push postgres)"
exit 0
