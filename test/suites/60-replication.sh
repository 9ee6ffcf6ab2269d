#!/usr/bin/env bash
# Replication (issue 4 item 6; PROTOCOL.md guarantee 1 across failover).
#
# (a) A hot standby made with pg_basebackup -R answers every read call
#     (sync_pull in all its cursor cases, sync_state, sync_zones,
#     sync_account, notify_key, token_user, verify_zone) exactly like the
#     primary once it has replayed the primary's flush LSN, over users and
#     zones with live records, tombstones, compacted zones and errors. While
#     its replay is paused the same comparison must show a difference.
# (b) With synchronous replication (synchronous_standby_names = the
#     standby's application_name, synchronous_commit = remote_apply),
#     concurrent pushers with op_ids run, the primary's postmaster is killed
#     with kill -9 mid-run and the standby is promoted. test/tools/
#     crash_verify.py then checks on the promoted server: every acknowledged
#     push present with its gencount and blob, batches consecutive, each zone
#     exactly 1..gencount, in-flight pushes all-or-nothing and converging on
#     op_id retry, and the next push of each zone getting gencount + 1.
# (c) Negative control for (b): with asynchronous replication and a standby
#     that fell behind, the same checker must report lost acknowledged pushes
#     (proving the checks of (b) can fail).
set -u
cd "$CREDSYNC_ROOT"
source test/lib/cluster.sh
source test/lib/tap.sh

make -s -C test/tools pusher >/dev/null || { not_ok "build test/tools/pusher"; exit 1; }
pusher=$CREDSYNC_ROOT/test/tools/pusher

P=$(pg_owned_tmpdir repl-primary)
S=$(pg_owned_tmpdir repl-standby)
S2=$(pg_owned_tmpdir repl-standby2)
work=$(mktemp -d "${TMPDIR:-/tmp}/credsync-repllog.XXXXXX")
pusher_pid=
cleanup() {
    [ -n "$pusher_pid" ] && kill "$pusher_pid" 2>/dev/null
    cluster_destroy "$S2"
    cluster_destroy "$S"
    cluster_destroy "$P"
    [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
t0=$(date +%s.%N)

# psql against a cluster directory: qd DIR SQL
qd() { psql -X -A -t -q -v ON_ERROR_STOP=1 -h "$1/sock" -p "$(cluster_port "$1")" -U postgres -d postgres -c "$2"; }

cluster_new "$P" || { not_ok "initdb primary"; exit 1; }
as_pg tee -a "$P/data/postgresql.conf" >/dev/null <<EOF
wal_level = replica
max_wal_senders = 5
wal_keep_size = '256MB'
hot_standby = on
EOF
cluster_start "$P" || { not_ok "start primary"; exit 1; }
qd "$P" "CREATE EXTENSION credsync" >/dev/null || { not_ok "create extension on the primary"; exit 1; }

# A read-only helper (outside the extension) that runs one query and returns
# its rows as text, or its error as "ERROR sqlstate: message [detail]", so
# that both servers' answers, errors included, compare as plain text.
qd "$P" "CREATE SCHEMA replcheck;
CREATE FUNCTION replcheck.try(q text) RETURNS SETOF text LANGUAGE plpgsql AS \$f\$
DECLARE r text; st text; msg text; det text;
BEGIN
    FOR r IN EXECUTE format('SELECT t::text FROM (%s) t', q) LOOP RETURN NEXT r; END LOOP;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
    RETURN NEXT format('ERROR %s: %s [%s]', st, msg, det);
END \$f\$;" || { not_ok "create the comparison helper"; exit 1; }

# --- data: live records, updates, tombstones, a compacted zone, tokens, quotas
u() { printf '00000000-0000-0000-0000-%012d' "$1"; }
seed1="
SELECT count(*) FROM credsync.sync_push_many('alice', 'passwords',
    ARRAY['$(u 1)','$(u 2)','$(u 3)','$(u 4)','$(u 5)']::uuid[],
    ARRAY['\\x01','\\x0202','\\x030303','\\x04','\\x05']::bytea[]);
SELECT count(*) FROM credsync.sync_push('alice', 'passwords', '\\x0202ff', '$(u 2)');
SELECT credsync.sync_delete('alice', 'passwords', '$(u 3)');
SELECT credsync.sync_delete('alice', 'passwords', '$(u 99)');
SELECT count(*) FROM credsync.sync_push('alice', 'notes', '\\xaa', '$(u 11)');
SELECT count(*) FROM credsync.sync_push('alice', 'notes', '\\xbbbb', '$(u 12)', 0);
SELECT count(*) FROM credsync.sync_push_many('bob', 'default',
    ARRAY['$(u 21)','$(u 22)','$(u 23)','$(u 24)']::uuid[],
    ARRAY['\\x21','\\x22',NULL,'\\x24']::bytea[]);
SELECT credsync.sync_delete('bob', 'default', '$(u 24)');
SELECT count(*) FROM credsync.sync_push('bob', 'default', '\\x2121', '$(u 21)', 1);
SELECT count(*) FROM credsync.sync_push('carol-ü', 'x.y_z-1', '\\xc0', '$(u 31)', NULL, '$(u 901)');
SELECT credsync.sync_delete('carol-ü', 'x.y_z-1', '$(u 31)');
SELECT credsync.set_quota('bob', 1000, 10);
"
# compact(0) removes every tombstone so far (bob/default, carol's zone and
# alice/passwords get a horizon); later deletes leave fresh tombstones.
seed2="
SELECT credsync.compact('0 seconds');
SELECT count(*) FROM credsync.sync_push('bob', 'default', '\\x25', '$(u 25)');
SELECT credsync.sync_delete('bob', 'default', '$(u 22)');
SELECT credsync.sync_delete('alice', 'notes', '$(u 11)');
SELECT count(*) FROM credsync.sync_push('alice', 'passwords', '\\x0606', '$(u 6)');
"
{ qd "$P" "$seed1" && sleep 0.05 && qd "$P" "$seed2"; } >/dev/null || { not_ok "seed data on the primary"; exit 1; }
tok_alice=$(qd "$P" "SELECT credsync.issue_token('alice', 'laptop')")
tok_bob=$(qd "$P" "SELECT credsync.issue_token('bob')")
qd "$P" "SELECT credsync.revoke_token('$tok_bob')" >/dev/null

# --- the standby ------------------------------------------------------------
cluster_new_standby "$P" "$S" credsync_standby || { not_ok "pg_basebackup -R of the primary"; exit 1; }
as_pg tee -a "$S/data/postgresql.conf" >/dev/null <<<"synchronous_standby_names = ''"
cluster_start "$S" || { not_ok "start the standby"; tail -5 "$S/data/server.log"; exit 1; }
check "standby made with pg_basebackup -R is in recovery (hot standby)" [ "$(qd "$S" "SELECT pg_is_in_recovery()")" = t ]
check "standby streams from the primary (pg_stat_replication: credsync_standby, streaming)" \
    bash -c "for i in \$(seq 1 100); do [ \"\$(psql -X -A -t -q -h '$P/sock' -p $(cluster_port "$P") -U postgres -d postgres -c \"SELECT state FROM pg_stat_replication WHERE application_name = 'credsync_standby'\")\" = streaming ] && exit 0; sleep 0.1; done; exit 1"
cluster_wait_caught_up "$P" "$S" || not_ok "standby catches up with the primary's flush LSN"

# The calls compared on both servers, one per line: "label<TAB>query".
calls=$work/calls.tsv
: >"$calls"
add() { printf '%s\t%s\n' "$1" "$2" >>"$calls"; }
for uz in "alice passwords" "alice notes" "alice nosuchzone" "bob default" "carol-ü x.y_z-1" "nobody default"; do
    set -- $uz; us=$1 z=$2
    add "state $us/$z" "SELECT * FROM credsync.sync_state('$us', '$z')"
    add "verify $us/$z" "SELECT * FROM credsync.verify_zone('$us', '$z')"
    add "notify_key $us/$z" "SELECT credsync.notify_key('$us', '$z')"
    for since in 0 1 2 3 4 5 6 7 8 9 10 11; do
        add "pull $us/$z since $since" "SELECT * FROM credsync.sync_pull('$us', '$z', $since)"
        add "pull $us/$z since $since max 2" "SELECT * FROM credsync.sync_pull('$us', '$z', $since, 2)"
        add "pull $us/$z since $since full" "SELECT * FROM credsync.sync_pull('$us', '$z', $since, 1000, true)"
    done
    add "pull $us/$z since -1" "SELECT * FROM credsync.sync_pull('$us', '$z', -1)"
    add "pull $us/$z max 0" "SELECT * FROM credsync.sync_pull('$us', '$z', 0, 0)"
done
for us in alice bob carol-ü nobody; do
    add "zones $us" "SELECT * FROM credsync.sync_zones('$us')"
    add "account $us" "SELECT * FROM credsync.sync_account('$us')"
done
add "token alice" "SELECT credsync.token_user('$tok_alice')"
add "token bob (revoked)" "SELECT credsync.token_user('$tok_bob')"
add "token unknown" "SELECT credsync.token_user('cs_0000')"
add "bad zone" "SELECT * FROM credsync.sync_state('alice', 'bad zone!')"
for t in zones records tokens ops quotas install_secret; do
    add "table $t" "SELECT * FROM credsync.$t ORDER BY 1, 2"
done

# Runs every call of $calls on DIR and prints "label: answer" lines.
answers() {
    local sql=$work/answers.sql label query
    : >"$sql"
    while IFS=$'\t' read -r label query; do
        printf "SELECT %s || ': ' || coalesce(a, '<null>') FROM replcheck.try(%s) a;\n" \
            "\$l\$$label\$l\$" "\$q\$$query\$q\$" >>"$sql"
    done <"$calls"
    psql -X -A -t -q -v ON_ERROR_STOP=1 -h "$1/sock" -p "$(cluster_port "$1")" -U postgres -d postgres -f "$sql"
}

answers "$P" >"$work/primary.out" || { not_ok "read calls on the primary"; exit 1; }
answers "$S" >"$work/standby.out" || { not_ok "read calls on the standby"; exit 1; }
n_calls=$(wc -l <"$calls")
n_lines=$(wc -l <"$work/primary.out")
if diff -u "$work/primary.out" "$work/standby.out" >"$work/diff"; then
    ok "caught-up standby answers all $n_calls read calls ($n_lines result lines) exactly like the primary"
else
    not_ok "caught-up standby answers like the primary ($(grep -c '^[-+][^-+]' "$work/diff") lines differ)"
    head -20 "$work/diff" | sed 's/^/# /'
fi
# The comparison covers what it claims: tombstones, compacted zones (CS410
# expired), clients ahead (CS410 ahead), revoked tokens, a quota.
cover() { grep -qF -- "$2" "$work/primary.out" || { echo "# primary answers lack: $1"; return 1; }; }
check "compared answers include tombstones, expired and ahead cursors, horizons, tokens and quotas" bash -c "
    $(declare -f cover); work='$work'
    cover tombstone ',t,)' && cover expired '\"reason\": \"expired\"' && cover ahead '\"reason\": \"ahead\"' &&
    cover 'compacted zone' 'state bob/default: (8,' && cover horizon '\"horizon\": 5}' && cover 'alice token' 'token alice: (alice)' &&
    cover 'revoked token' 'token bob (revoked): ()' && cover quota 'account bob: (' && cover 'CS400' 'ERROR CS400'"
grep -q 'ERROR' <(grep -v -e 'since -1' -e 'max 0' -e 'bad zone' -e 'ahead' -e 'expired' "$work/primary.out") &&
    { not_ok "primary answers have no unexpected errors"; grep ERROR "$work/primary.out" | grep -v -e 'since -1' -e 'max 0' -e 'bad zone' -e ahead -e expired | head -5 | sed 's/^/# /'; } ||
    ok "primary answers have no unexpected errors"

# The comparison can fail: with replay paused, a new push on the primary is
# not on the standby, and the answers differ until replay resumes.
qd "$S" "SELECT pg_wal_replay_pause()" >/dev/null
for i in $(seq 1 50); do [ "$(qd "$S" "SELECT pg_get_wal_replay_pause_state()")" = paused ] && break; sleep 0.1; done
qd "$P" "SELECT count(*) FROM credsync.sync_push('alice', 'passwords', '\\x07', '$(u 7)')" >/dev/null
sleep 0.3
answers "$P" >"$work/primary2.out"
answers "$S" >"$work/standby2.out"
check "with replay paused, the standby's answers differ after a new push (the comparison can fail)" \
    bash -c "! cmp -s '$work/primary2.out' '$work/standby2.out'"
qd "$S" "SELECT pg_wal_replay_resume()" >/dev/null
cluster_wait_caught_up "$P" "$S" || not_ok "standby catches up after replay resumes"
answers "$S" >"$work/standby3.out"
check "after replay resumes and catches up, the standby answers like the primary again" cmp -s "$work/primary2.out" "$work/standby3.out"
err=$(qd "$S" "SELECT * FROM credsync.sync_push('alice', 'passwords', '\\x08', '$(u 8)')" 2>&1)
check "a push to the standby is refused as read-only (25006 / read-only transaction), not silently taken" \
    grep -q 'read-only transaction' <<<"$err"

# --- (b) synchronous replication, kill -9 of the primary, promotion ---------
qd "$P" "ALTER SYSTEM SET synchronous_standby_names = 'credsync_standby'" &&
    qd "$P" "ALTER SYSTEM SET synchronous_commit = 'remote_apply'" &&
    qd "$P" "SELECT pg_reload_conf()" >/dev/null || { not_ok "configure synchronous replication"; exit 1; }
syncst=
for i in $(seq 1 100); do
    syncst=$(qd "$P" "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'credsync_standby'")
    [ "$syncst" = sync ] && break
    sleep 0.1
done
expect_eq "the standby is the synchronous standby (pg_stat_replication.sync_state)" sync "$syncst"
expect_eq "new sessions on the primary commit with synchronous_commit = remote_apply" remote_apply \
    "$(qd "$P" "SHOW synchronous_commit")"

log=$work/failover.log
"$pusher" --db "$(cluster_conninfo "$P") application_name=credsync-pusher" --log "$log" \
    --threads 4 --users 3 --zones 2 --prefix fo --max-seconds 20 2>"$work/pusher.err" &
pusher_pid=$!
sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 1.5 + (r % 100) / 100 }')"
kill -0 "$pusher_pid" 2>/dev/null || not_ok "pushers still running when the primary is killed ($(head -c 300 "$work/pusher.err"))"
cluster_kill9 "$P"
wait "$pusher_pid"
pusher_pid=
acked=$(grep -c '^ACK ' "$log")
sent=$(grep -c '^SEND ' "$log")
check "kill -9 of the primary's postmaster with synchronous pushes in flight ($acked acknowledged, $((sent - acked)) in flight)" \
    [ "$acked" -gt 0 ]
t_kill=$(date +%s.%N)
cluster_promote "$S" || { not_ok "pg_ctl promote the standby"; tail -5 "$S/data/server.log" | sed 's/^/# /'; exit 1; }
t_promoted=$(date +%s.%N)
check "promoted standby accepts writes (pg_is_in_recovery = false)" [ "$(qd "$S" "SELECT pg_is_in_recovery()")" = f ]
cluster_env "$S"
python3 test/tools/crash_verify.py "$log" "$pusher" failover 2>"$work/verify.err" | sed 's/crash round failover: /failover: /'
[ -s "$work/verify.err" ] && { not_ok "failover checker ran cleanly"; head -5 "$work/verify.err" | sed 's/^/# /'; }
# The data of part (a) survived the promotion too.
check "promoted standby still answers the part (a) calls for the seeded zones like the old primary did" \
    cmp -s <(grep -v '^table ' "$work/primary2.out") <(answers "$S" | grep -v '^table ')

# --- (c) negative control: asynchronous replication, a standby behind -------
cluster_new_standby "$S" "$S2" credsync_standby2 || { not_ok "pg_basebackup of the promoted server"; exit 1; }
as_pg tee -a "$S2/data/postgresql.conf" >/dev/null <<<"synchronous_standby_names = ''"
cluster_start "$S2" && cluster_wait_caught_up "$S" "$S2" || { not_ok "start the second standby"; exit 1; }
cluster_stop "$S2"   # it falls behind: what asynchronous replication allows
neglog=$work/negative.log
"$pusher" --db "$(cluster_conninfo "$S") application_name=credsync-pusher" --log "$neglog" \
    --threads 2 --users 2 --zones 2 --prefix neg --max-seconds 1 2>>"$work/pusher.err"
neg_acked=$(grep -c '^ACK ' "$neglog")
cluster_kill9 "$S"
cluster_start "$S2" && cluster_promote "$S2" || { not_ok "promote the lagging standby"; exit 1; }
cluster_env "$S2"
python3 test/tools/crash_verify.py "$neglog" "$pusher" negative >"$work/negative.out" 2>&1
lost_line=$(grep 'acknowledged pushes are present' "$work/negative.out")
if [ "$neg_acked" -gt 0 ] && grep -q '^not ok' <<<"$lost_line" && grep -q '^not ok.*next push gets' "$work/negative.out"; then
    ok "negative control: after failover to an asynchronous standby that fell behind, the checker reports $neg_acked acknowledged pushes lost and gencounts reused"
else
    not_ok "negative control: the checker must report loss after failover to a lagging asynchronous standby ($neg_acked acked)"
    sed 's/^/# /' "$work/negative.out" | head -20
fi

t1=$(date +%s.%N)
awk -v a="$t0" -v b="$t1" -v k="$t_kill" -v p="$t_promoted" -v n="$acked" \
    'BEGIN { printf "# figures: %d synchronous pushes acknowledged before kill -9; promotion took %.2f s; suite %.1f s\n", n, p - k, b - a }'
exit 0
