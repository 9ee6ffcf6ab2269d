#!/usr/bin/env bash
# The seed scenario against a real server restart (PROTOCOL.md guarantees 1
# and 2): gencounts live in the database, per (user, zone), not in memory.
#
#   user A pushes 2 records (gencounts 1, 2); the server restarts;
#   user B pushes 1 -> B gets 1 (not 3: counters are not shared);
#   A's zone still reads 2; A's next push gets 3;
#   A's pull since 2 returns only that record.
# Digest, item count and bytes of A's zone are the same before and after.
set -u
cd "$CREDSYNC_ROOT"
source test/lib/cluster.sh
source test/lib/tap.sh
dir=$(pg_owned_tmpdir restart)
trap 'cluster_destroy "$dir"' EXIT
cluster_new "$dir" && cluster_start "$dir" || { not_ok "start throwaway cluster"; exit 1; }
cluster_env "$dir"

q() { psql -X -A -t -q -v ON_ERROR_STOP=1 -c "$1"; }

q "CREATE EXTENSION credsync" >/dev/null || { not_ok "create extension"; exit 1; }

A1=00000000-0000-0000-0000-0000000000a1
A2=00000000-0000-0000-0000-0000000000a2
a12=$(q "SELECT string_agg(item || ':' || gencount, ',' ORDER BY gencount) FROM credsync.sync_push_many('user-a', 'default', ARRAY['$A1','$A2']::uuid[], ARRAY['\\x0a01','\\x0a0202']::bytea[])")
expect_eq "A's first two records get gencounts 1, 2" "$A1:1,$A2:2" "$a12"
before=$(q "SELECT gencount, encode(digest, 'hex'), items, bytes, horizon FROM credsync.sync_state('user-a', 'default')")
expect_eq "A's zone reads 2 before the restart (2 items, 5 bytes)" "2|2|5|0" "$(cut -d'|' -f1,3- <<<"$before")"
zones_before=$(q "SELECT zone || '=' || gencount || '/' || items || '/' || bytes FROM credsync.sync_zones('user-a')")

# A clean restart (fast shutdown, then start): no in-memory state survives.
cluster_stop "$dir"
if [ -f "$dir/data/postmaster.pid" ]; then not_ok "server stopped"; else ok "server stopped"; fi
cluster_start "$dir" || { not_ok "server restarted"; exit 1; }
ok "server restarted"

after=$(q "SELECT gencount, encode(digest, 'hex'), items, bytes, horizon FROM credsync.sync_state('user-a', 'default')")
expect_eq "A's zone state (gencount, digest, items, bytes, horizon) survives the restart" "$before" "$after"
expect_eq "sync_zones('user-a') survives the restart" "$zones_before" "$(q "SELECT zone || '=' || gencount || '/' || items || '/' || bytes FROM credsync.sync_zones('user-a')")"
expect_eq "A's records survive the restart" "$A1|1|false|\\x0a01,$A2|2|false|\\x0a0202" \
    "$(q "SELECT string_agg(item || '|' || gencount || '|' || deleted || '|' || blob::text, ',' ORDER BY gencount) FROM credsync.sync_pull('user-a', 'default', 0)")"

b=$(q "SELECT gencount FROM credsync.sync_push('user-b', 'default', '\\x0b01'::bytea)")
expect_eq "B's first push after the restart gets gencount 1" "1" "$b"
expect_eq "A's zone still reads 2 after B's push" "2" "$(q "SELECT gencount FROM credsync.sync_state('user-a', 'default')")"

A3=00000000-0000-0000-0000-0000000000a3
a3=$(q "SELECT gencount FROM credsync.sync_push('user-a', 'default', '\\x0a03'::bytea, '$A3')")
expect_eq "A's next push after the restart gets gencount 3" "3" "$a3"
expect_eq "A's pull since 2 returns only the new record" "$A3|3|false|\\x0a03" \
    "$(q "SELECT string_agg(item || '|' || gencount || '|' || deleted || '|' || blob::text, ',' ORDER BY gencount) FROM credsync.sync_pull('user-a', 'default', 2)")"
expect_eq "B's zone reads 1, A's reads 3" "1|3" \
    "$(q "SELECT (SELECT gencount FROM credsync.sync_state('user-b', 'default')) || '|' || (SELECT gencount FROM credsync.sync_state('user-a', 'default'))")"

# A second restart right after writes that were never followed by a checkpoint:
# the state comes back from WAL.
before2=$(q "SELECT gencount, encode(digest, 'hex'), items, bytes FROM credsync.sync_state('user-a', 'default')")
cluster_stop "$dir"; cluster_start "$dir" || { not_ok "second restart"; exit 1; }
expect_eq "A's zone state survives a second restart" "$before2" \
    "$(q "SELECT gencount, encode(digest, 'hex'), items, bytes FROM credsync.sync_state('user-a', 'default')")"
expect_eq "A's push after the second restart gets gencount 4" "4" \
    "$(q "SELECT gencount FROM credsync.sync_push('user-a', 'default', '\\x0a04'::bytea)")"
expect_eq "B's push after the second restart gets gencount 2" "2" \
    "$(q "SELECT gencount FROM credsync.sync_push('user-b', 'default', '\\x0b02'::bytea)")"
exit 0
