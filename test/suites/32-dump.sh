#!/usr/bin/env bash
# pg_dump -Fc | pg_restore into a new database (PROTOCOL.md guarantee 1):
# every zone's gencount, digest, records (tombstones too), tokens (stored
# hashed: an old token still resolves), quotas, op ids and compaction horizon
# survive, and restored zones continue counting at gencount + 1. 1.4:
# accounts (the same login works after the restore) and devices (ids,
# labels, dates, revocations) survive, and so does a deleted zone (hidden,
# its old cursors expired, counting on above the deletion); login challenges
# and failure counters are deliberately not dumped.
# The extension marks its tables with pg_extension_config_dump; without that
# pg_dump silently leaves the data out and these checks fail.
set -u
cd "$CREDSYNC_ROOT"
source test/lib/cluster.sh
source test/lib/tap.sh
dir=$(pg_owned_tmpdir dump)
work=$(mktemp -d "${TMPDIR:-/tmp}/credsync-dumpfile.XXXXXX")
trap 'cluster_destroy "$dir"; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
cluster_new "$dir" && cluster_start "$dir" || { not_ok "start throwaway cluster"; exit 1; }
cluster_env "$dir"

q()  { psql -X -A -t -q -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
# sqlstate DB SQL: the SQLSTATE the statement fails with, or "ok".
sqlstate() {
    psql -X -A -t -q -d "$1" -v VERBOSITY=sqlstate -c "$2" 2>&1 >/dev/null | sed -nE 's/^ERROR: +([0-9A-Z]{5}).*/\1/p' | head -1 | grep . || echo ok
}

q postgres "CREATE DATABASE src" && q postgres "CREATE DATABASE dst" || { not_ok "create databases"; exit 1; }
q src "CREATE EXTENSION credsync" || { not_ok "create extension"; exit 1; }

I1=00000000-0000-0000-0000-0000000000d1
I2=00000000-0000-0000-0000-0000000000d2
I3=00000000-0000-0000-0000-0000000000d3
I4=00000000-0000-0000-0000-0000000000d4
OP1=11111111-1111-4111-8111-111111111111

# user dump-2, zone "old": records and tombstones, then compaction: horizon > 0.
q src "SELECT credsync.sync_push_many('dump-2', 'old', ARRAY['$I1','$I2','$I3']::uuid[], ARRAY['\\x2001','\\x2002','\\x2003']::bytea[])" >/dev/null
q src "SELECT credsync.sync_delete('dump-2', 'old', '$I1')" >/dev/null      # 4
q src "SELECT credsync.sync_delete('dump-2', 'old', '$I2')" >/dev/null      # 5
q src "SELECT credsync.compact('0 seconds')" >/dev/null
q src "SELECT credsync.sync_push('dump-2', 'old', '\\x2004'::bytea, '$I4')" >/dev/null  # 6
expect_eq "setup: dump-2/old has gencount 6 and compaction horizon 5" "6|5" \
    "$(q src "SELECT gencount || '|' || horizon FROM credsync.sync_state('dump-2', 'old')")"

# user dump-1: two zones, an update, a tombstone, a push with an op_id, tokens, a quota.
q src "SELECT credsync.sync_push_many('dump-1', 'a', ARRAY['$I1','$I2','$I3']::uuid[], ARRAY['\\x1001','\\x1002','\\x100003']::bytea[])" >/dev/null
q src "SELECT credsync.sync_push('dump-1', 'a', '\\x10010101'::bytea, '$I1')" >/dev/null  # update: 4
q src "SELECT credsync.sync_delete('dump-1', 'a', '$I2')" >/dev/null                       # tombstone: 5
op_result=$(q src "SELECT string_agg(item || ':' || gencount, ',') FROM credsync.sync_push('dump-1', 'b', '\\x1b01'::bytea, '$I4', NULL, '$OP1')")
q src "SELECT credsync.sync_push('dump-1', 'b', '\\x1b02'::bytea)" >/dev/null
tok1=$(q src "SELECT credsync.issue_token('dump-1', 'laptop')")
tok2=$(q src "SELECT credsync.issue_token('dump-2')")
tok3=$(q src "SELECT credsync.issue_token('dump-2')")
q src "SELECT credsync.revoke_token('$tok3')" >/dev/null
# Quota: room for exactly one more item.
items1=$(q src "SELECT items FROM credsync.sync_account('dump-1')")
q src "SELECT credsync.set_quota('dump-1', 1000000, $((items1 + 1)))" >/dev/null
q src "SELECT credsync.set_quota('dump-2', 12345, NULL)" >/dev/null

# 1.4: dump-acct, an account (signed up, then two logins, one device
# revoked, one seen), and its zone "gone", deleted after 3 writes.
SEED=$(printf '5a%.0s' {1..32})
sign() { test/tools/ed25519-sign sign "$SEED" "$1"; }
# login DB LABEL: a login's "result|token" on DB, signed like a client.
login() {
    local ch msg
    read -r ch msg < <(q "$1" "SELECT encode(challenge, 'hex') || ' ' ||
        encode(convert_to(E'credsync login v1\\n', 'UTF8') || challenge || convert_to('dump-acct', 'UTF8'), 'hex')
        FROM credsync.login_challenge('dump-acct')")
    q "$1" "SELECT result || '|' || coalesce(token, '') || '|' || coalesce(encode(wrapped_key, 'hex'), '')
            FROM credsync.login('dump-acct', decode('$ch', 'hex'), decode('$(sign "$msg")', 'hex'), '$2')"
}
pub=$(test/tools/ed25519-sign public "$SEED")
acct_tok1=$(q src "SELECT token FROM credsync.account_create('dump-acct', decode('$pub', 'hex'),
    '\\x0123456789abcdef0123456789abcdef', 4, 1073741824, '\\xfeedface', 'first')")
acct_tok2=$(login src second | cut -d'|' -f2)
acct_tok3=$(login src third | cut -d'|' -f2)
q src "SELECT credsync.device_revoke('dump-acct', device) FROM credsync.token_identity(sha256(convert_to('$acct_tok3', 'UTF8')))" >/dev/null
q src "SELECT count(*) FROM credsync.token_identity(sha256(convert_to('$acct_tok1', 'UTF8')))" >/dev/null  # last_seen
q src "SELECT count(*) FROM credsync.sync_push_many('dump-acct', 'gone', ARRAY['$I1','$I2']::uuid[], ARRAY['\\x01','\\x02']::bytea[])" >/dev/null
q src "SELECT credsync.sync_delete('dump-acct', 'gone', '$I1')" >/dev/null
q src "SELECT credsync.zone_delete('dump-acct', 'gone')" >/dev/null       # takes gencount 4
q src "SELECT credsync.sync_push('dump-acct', 'kept', '\\xacc7'::bytea, '$I3')" >/dev/null
expect_eq "setup: dump-acct has 2 live devices of 3, its zone gone deleted at 4, 2 failures of an unknown name counted" \
    "2|3|4|4|2" "$(q src "SELECT (SELECT count(*) FROM credsync.device_list('dump-acct')) || '|' ||
        (SELECT count(*) FROM credsync.token_list('dump-acct')) || '|' ||
        (SELECT gencount || '|' || horizon FROM credsync.sync_state('dump-acct', 'gone')) || '|' ||
        (SELECT count(*) FROM credsync.login(n, (SELECT challenge FROM credsync.login_challenge(n)), decode(repeat('00', 64), 'hex'))) +
        (SELECT count(*) FROM credsync.login(n, (SELECT challenge FROM credsync.login_challenge(n)), decode(repeat('00', 64), 'hex')))
        FROM (VALUES ('dump-nobody')) v(n)")"

# What a client can see of everything, through the API only.
fingerprint() {
    local db=$1 u z
    for u in dump-1 dump-2 dump-acct; do
        echo "account $u: $(q "$db" "SELECT bytes || '|' || items || '|' || max_bytes || '|' || max_items FROM credsync.sync_account('$u')")"
        q "$db" "SELECT 'zone $u ' || zone || ': ' || gencount || '|' || items || '|' || bytes FROM credsync.sync_zones('$u')"
        for z in $(q "$db" "SELECT zone FROM credsync.sync_zones('$u')"); do
            echo "state $u/$z: $(q "$db" "SELECT gencount || '|' || encode(digest, 'hex') || '|' || items || '|' || bytes || '|' || horizon FROM credsync.sync_state('$u', '$z')")"
            # live records (since 0), then everything a syncing client can
            # still see, tombstones too (since the horizon, at least 1)
            q "$db" "SELECT 'live $u/$z: ' || item || '|' || gencount || '|' || deleted || '|' || coalesce(encode(blob, 'hex'), 'NULL')
                     FROM credsync.sync_pull('$u', '$z', 0, 10000)"
            q "$db" "SELECT 'record $u/$z: ' || item || '|' || gencount || '|' || deleted || '|' || coalesce(encode(blob, 'hex'), 'NULL')
                     FROM credsync.sync_pull('$u', '$z', (SELECT greatest(horizon, 1) FROM credsync.sync_state('$u', '$z')), 10000, true)"
        done
    done
    echo "tokens: $(q "$db" "SELECT coalesce(credsync.token_user('$tok1'), 'NULL') || ',' || coalesce(credsync.token_user('$tok2'), 'NULL') || ',' || coalesce(credsync.token_user('$tok3'), 'NULL')")"
    # 1.4: the account's login (what a challenge hands out), its devices
    # (ids, labels, dates, revocations) and which tokens still resolve; the
    # deleted zone (not listed by sync_zones).
    q "$db" "SELECT 'login dump-acct: ' || encode(salt, 'hex') || '|' || kdf_ops || '|' || kdf_mem FROM credsync.login_challenge('dump-acct')"
    q "$db" "SELECT 'device dump-acct: ' || id || '|' || coalesce(label, 'NULL') || '|' || created || '|' || coalesce(last_seen::text, 'NULL')
             FROM credsync.device_list('dump-acct')"
    q "$db" "SELECT 'token dump-acct: ' || device || '|' || coalesce(label, 'NULL') || '|' || created || '|' || coalesce(last_seen::text, 'NULL')
             || '|' || coalesce(revoked::text, 'NULL') FROM credsync.token_list('dump-acct')"
    echo "account tokens: $(q "$db" "SELECT coalesce(credsync.token_user_hash(sha256(convert_to(t, 'UTF8'))), 'NULL') FROM unnest(ARRAY['$acct_tok1', '$acct_tok2', '$acct_tok3']) t" | tr '\n' ',')"
    echo "state dump-acct/gone: $(q "$db" "SELECT gencount || '|' || encode(digest, 'hex') || '|' || items || '|' || bytes || '|' || horizon FROM credsync.sync_state('dump-acct', 'gone')")"
}
fingerprint src >"$work/before"
grep -q '^state dump-1/a: 5|' "$work/before" && grep -q '^record dump-1/a: .*|5|true|NULL' "$work/before" \
    && grep -q '^state dump-2/old: 6|.*|5$' "$work/before" && grep -q '^tokens: dump-1,dump-2,NULL$' "$work/before" \
    && grep -q "^account dump-1: .*|1000000|$((items1 + 1))\$" "$work/before"
check "setup: source database has the zones, tombstones, horizon, tokens and quota to dump" [ $? = 0 ]
grep -q '^login dump-acct: 0123456789abcdef0123456789abcdef|4|1073741824$' "$work/before" &&
    [ "$(grep -c '^device dump-acct: ' "$work/before")" = 2 ] && [ "$(grep -c '^token dump-acct: ' "$work/before")" = 3 ] &&
    grep -q '^account tokens: dump-acct,dump-acct,NULL,$' "$work/before" && grep -q '^state dump-acct/gone: 4|0\{64\}|0|0|4$' "$work/before" &&
    ! grep -q '^zone dump-acct gone' "$work/before"
check "setup: source database has the account, its devices (one revoked) and the deleted zone to dump" [ $? = 0 ]

# Dump in custom format, restore into a new, empty database.
pg_dump -Fc -d src -f "$work/src.dump" 2>"$work/dump.err"
rc=$?
if [ "$rc" = 0 ] && [ ! -s "$work/dump.err" ]; then ok "pg_dump -Fc succeeds without warnings"
else not_ok "pg_dump -Fc succeeds without warnings (status $rc)"; head -20 "$work/dump.err"; fi
pg_restore -d dst "$work/src.dump" 2>"$work/restore.err"
rc=$?
if [ "$rc" = 0 ] && [ ! -s "$work/restore.err" ]; then ok "pg_restore into a new database succeeds without errors"
else not_ok "pg_restore into a new database succeeds without errors (status $rc)"; head -20 "$work/restore.err"; fi

# Tokens are stored hashed: the dump must not contain any token's text.
pg_restore -f - "$work/src.dump" >"$work/src.sql"
if grep -qF -e "$tok1" -e "$tok2" -e "$tok3" "$work/src.sql"; then
    not_ok "the dump holds no token in clear text"
else
    ok "the dump holds no token in clear text"
fi
check "the dump carries the extension's table data (a record's blob is in it)" grep -q '10010101' "$work/src.sql"

fingerprint dst >"$work/after"
if diff -u "$work/before" "$work/after" >"$work/diff"; then
    ok "every zone's gencount, digest, items, bytes, horizon, records, tombstones, quotas and tokens survive ($(wc -l <"$work/before") facts)"
else
    not_ok "restored database differs from the source"; head -40 "$work/diff"
fi
expect_eq "an old token still resolves after the restore" "dump-1" "$(q dst "SELECT credsync.token_user('$tok1')")"
expect_eq "a revoked token stays revoked after the restore" "" "$(q dst "SELECT credsync.token_user('$tok3')")"
expect_eq "an op_id used before the dump replays its original result after the restore" "$op_result" \
    "$(q dst "SELECT string_agg(item || ':' || gencount, ',') FROM credsync.sync_push('dump-1', 'b', '\\x1b01'::bytea, '$I4', NULL, '$OP1')")"
expect_eq "the replay changed nothing (dump-1/b still at 2)" "2" "$(q dst "SELECT gencount FROM credsync.sync_state('dump-1', 'b')")"

# The horizon is in force: a cursor below it is expired, one above gencount is ahead.
expect_eq "pull since 1 < horizon 5 on the restored zone is CS410 (expired)" "CS410" \
    "$(sqlstate dst "SELECT * FROM credsync.sync_pull('dump-2', 'old', 1)")"
expect_eq "pull since 7 > gencount 6 on the restored zone is CS410 (ahead)" "CS410" \
    "$(sqlstate dst "SELECT * FROM credsync.sync_pull('dump-2', 'old', 7)")"

# Restored zones continue counting: next push = old gencount + 1, in every zone.
next=""
for uz in dump-1/a dump-1/b dump-2/old; do
    u=${uz%/*} z=${uz#*/}
    old=$(q src "SELECT gencount FROM credsync.sync_state('$u', '$z')")
    if [ "$uz" = dump-1/a ]; then  # dump-1 has room for one new item: update instead in its other zone
        new=$(q dst "SELECT gencount FROM credsync.sync_push('$u', '$z', '\\xeeee'::bytea)")
    else
        new=$(q dst "SELECT gencount FROM credsync.sync_push('$u', '$z', '\\xee'::bytea, '$I4')")
    fi
    next="$next $uz:$old+1=$new"
    [ "$new" = $((old + 1)) ] || next="$next(WRONG)"
done
check "restored zones continue counting at gencount + 1:$next" eval '! grep -q WRONG <<<"$next"'

# 1.4: the account logs in after the restore with the same key, and gets
# its wrapped key; an old device's token is the same device.
expect_eq "the restored account logs in with the same password (login key) and gets its wrapped key" "ok|feedface" \
    "$(login dst "after restore" | awk -F'|' '{print $1 "|" $3}')"
expect_eq "an old device's token resolves to the same device id after the restore (token_identity)" \
    "$(q src "SELECT device FROM credsync.token_list('dump-acct') WHERE label = 'second'")" \
    "$(q dst "SELECT device FROM credsync.token_identity(sha256(convert_to('$acct_tok2', 'UTF8')))")"
# The deleted zone: a cursor from before the deletion is expired, a new
# push continues above the deletion's gencount, and the zone is listed again.
expect_eq "a cursor from before the deleted zone's deletion is CS410 after the restore" "CS410" \
    "$(sqlstate dst "SELECT * FROM credsync.sync_pull('dump-acct', 'gone', 3)")"
expect_eq "the deleted zone continues counting above its deletion (5) and is listed again" "5|gone" \
    "$(q dst "SELECT gencount FROM credsync.sync_push('dump-acct', 'gone', '\\x03'::bytea)")|$(q dst "SELECT zone FROM credsync.sync_zones('dump-acct') WHERE zone = 'gone'")"
# Challenges and failure counters are not dumped (they live 60 s and 10 minutes).
expect_eq "login challenges and failure counters are not in the restored database" "0|0" \
    "$(q dst "SELECT (SELECT count(*) FROM credsync.login_challenges WHERE name <> 'dump-acct') || '|' || (SELECT count(*) FROM credsync.login_failures)")"

# The quota is in force: dump-1 had room for one more item, which the push to
# dump-1/a just used; one more new item must be refused.
expect_eq "the restored quota is enforced (one more new item is CS507)" "CS507" \
    "$(sqlstate dst "SELECT credsync.sync_push('dump-1', 'b', '\\x77'::bytea)")"

# The source is untouched by all this: its zones still read as before.
fingerprint src >"$work/src-again"
check "the source database is unchanged" cmp -s "$work/before" "$work/src-again"
echo "# notify_key('dump-1','a') before/after restore: $(q src "SELECT credsync.notify_key('dump-1','a')") / $(q dst "SELECT credsync.notify_key('dump-1','a')")"
exit 0
