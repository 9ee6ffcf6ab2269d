#!/usr/bin/env bash
# Keyed NOTIFY: each committed push notifies "<notify_key> <gencount>";
# nothing for a rolled-back push or with credsync.notify = off; the payload
# never carries the user id.
set -u
cd "$CREDSYNC_ROOT"
source test/lib/cluster.sh
source test/lib/tap.sh
dir=$(pg_owned_tmpdir notify)
trap 'cluster_destroy "$dir"' EXIT
cluster_new "$dir" && cluster_start "$dir" || { not_ok "start throwaway cluster"; exit 1; }
cluster_env "$dir"
psql -XAtq -c "CREATE EXTENSION credsync" || { not_ok "create extension"; exit 1; }

key=$(psql -XAt -c "SELECT credsync.notify_key('notify-user', 'default')")
# One psql session: listen, push, roll back a push, push with notify off, push again.
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
SQL
)
payloads=$(sed -nE 's/^Asynchronous notification "credsync" with payload "([^"]*)".*/\1/p' <<<"$out" | tr '\n' ',')
expect_eq "notify: one payload per committed push with notify on, keyed, with the new gencount" \
    "$key 1,$key 4," "$payloads"
if grep -q "notify-user" <<<"$payloads"; then not_ok "notify: payload hides the user id"; else ok "notify: payload hides the user id"; fi
other=$(psql -XAt -c "SELECT credsync.notify_key('notify-user2', 'default')")
check "notify: keys differ per user" test "$key" != "$other"
exit 0
