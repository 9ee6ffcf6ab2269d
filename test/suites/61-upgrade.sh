#!/usr/bin/env bash
# Upgrades (issue 4 item 7): ALTER EXTENSION credsync UPDATE from every older
# released version gives the same extension as a fresh install of
# default_version, keeps the data, and behaves the same.
#
# Versions are discovered from extension/credsync--*.sql and default_version
# from extension/credsync.control (CREDSYNC_EXTENSION_DIR overrides the
# directory); the installed files must be the repository's (make install).
# For each older version V named by a script (1.2 has no install script of
# its own: CREATE EXTENSION ... VERSION '1.2' runs 1.1 plus the update):
#   database "upgraded": CREATE EXTENSION credsync VERSION 'V', the seed
#     (pushes, updates, deletes, compaction, tokens, quotas, op ids, grant_app
#     and grant_proxy), then ALTER EXTENSION credsync UPDATE TO default;
#   database "fresh": CREATE EXTENSION credsync, then the same seed.
# Checks: every read answer of the upgraded database is the same before and
# after the update (data and notify keys kept); the two databases match
# object for object (catalog queries over pg_extension, pg_depend membership,
# pg_class, pg_attribute, pg_attrdef, pg_index, pg_constraint, pg_proc,
# pg_type, ACLs, pg_init_privs, comments; and pg_dump --schema-only
# --binary-upgrade, which prints every member object); the same sequence of
# calls (writes, errors, op id replays, compaction, drop_user, privileges,
# NOTIFY payloads) gives the same answers on both; the upgraded database
# continues counting where it stood; after grant_app/grant_proxy again the
# app role can call what the update added (1.3: token_user_hash; 1.4:
# accounts, login, devices, zone_delete, account_delete; 1.5:
# sync_zone_states), and no app or
# proxy role can CALL compact_batched. 1.4: tokens issued before the update
# are devices (each its own id, its label kept), and an app role signs up
# and logs in with a real Ed25519 signature on the upgraded database.
set -u
cd "$CREDSYNC_ROOT"
source test/lib/cluster.sh
source test/lib/tap.sh

extdir=${CREDSYNC_EXTENSION_DIR:-extension}
sharedir=$(pg_config --sharedir)/extension

default=$(sed -n "s/^[[:space:]]*default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" "$extdir/credsync.control")
[ -n "$default" ] || { not_ok "upgrade: default_version in $extdir/credsync.control"; exit 1; }
# Install scripts credsync--V.sql and update scripts credsync--A--B.sql.
installs=() updates=()
for f in "$extdir"/credsync--*.sql; do
    v=${f##*/credsync--}; v=${v%.sql}
    case $v in *--*) updates+=("$v") ;; *) installs+=("$v") ;; esac
done
echo "# default_version $default; install scripts: ${installs[*]:-none}; update scripts: ${updates[*]:-none}"

stale=
for f in "$extdir"/credsync.control "$extdir"/credsync--*.sql; do
    cmp -s "$f" "$sharedir/${f##*/}" || stale="$stale ${f##*/}"
done
if [ -n "$stale" ]; then
    not_ok "upgrade: installed extension files match $extdir/ (differ or missing:$stale; run make install)"
    exit 1
fi
ok "upgrade: installed extension files match $extdir/ (${#installs[@]} install, ${#updates[@]} update scripts)"

# A released script is frozen: databases out there were made with it, and
# editing it makes this suite test an install nobody has. Releasing a version
# records its scripts' SHA-256 in extension/released.sha256; every script
# listed there must be unchanged, and every older version shipped must be
# listed (ship a new update script instead of editing).
if [ "$extdir" = extension ]; then
    manifest=extension/released.sha256
    if ! (cd extension && sha256sum --quiet -c released.sha256) >/dev/null 2>&1; then
        not_ok "upgrade: released scripts are unchanged ($(cd extension && sha256sum --quiet -c released.sha256 2>&1 | tr '\n' ' '))"
    else
        ok "upgrade: the $(wc -l <"$manifest") released scripts match extension/released.sha256"
    fi
    unlisted=
    for v in "${installs[@]}" "${updates[@]}"; do
        [ "${v##*--}" = "$default" ] && continue
        grep -q " credsync--$v.sql\$" "$manifest" || unlisted="$unlisted credsync--$v.sql"
    done
    if [ -n "$unlisted" ]; then
        not_ok "upgrade: every released version's scripts are recorded in $manifest (missing:$unlisted)"
    else
        ok "upgrade: every released version's scripts are recorded in $manifest"
    fi
fi

dir=$(pg_owned_tmpdir upgrade)
work=$(mktemp -d "${TMPDIR:-/tmp}/credsync-upgradelog.XXXXXX")
cleanup() {
    cluster_destroy "$dir"
    [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
cluster_new "$dir" && cluster_start "$dir" || { not_ok "upgrade: start throwaway cluster"; exit 1; }
cluster_env "$dir"
q() { local db=$1; shift; psql -X -A -t -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }

# Which older versions can reach default_version? (PostgreSQL's own answer.)
# Every version named by a script: a version without an install script of
# its own (1.2) is installed as the install script below it plus updates,
# as CREATE EXTENSION credsync VERSION '1.2' does.
q postgres -c "CREATE ROLE credsync_upg_app; CREATE ROLE credsync_upg_proxy" >/dev/null
q postgres -c "CREATE DATABASE probe" >/dev/null
versions=$(for v in "${installs[@]}" "${updates[@]}"; do tr ' ' '\n' <<<"${v//--/ }"; done | sort -u -V)
olds=()
for v in $versions; do
    [ "$v" = "$default" ] && continue
    path=$(q probe -c "SELECT path FROM pg_extension_update_paths('credsync') WHERE source = '$v' AND target = '$default'")
    if [ -n "$path" ]; then
        olds+=("$v")
        echo "# update path $v -> $default: $path"
    else
        not_ok "upgrade: an update path from $v to default_version $default exists"
    fi
done
if [ "$default" = 1.0 ]; then
    not_ok "upgrade: default_version is 1.0, so there is no upgrade path from 1.0 to test (issue 4 item 7 needs credsync--1.0--1.1.sql and default_version 1.1)"
    exit 1
fi
[[ " ${installs[*]} " == *" 1.0 "* ]] || not_ok "upgrade: the released 1.0 install script extension/credsync--1.0.sql is still shipped"
[[ " ${olds[*]} " == *" 1.0 "* ]] || { not_ok "upgrade: default_version $default has no upgrade path from 1.0"; exit 1; }
echo "# older versions to update from: ${olds[*]}"

u() { printf '00000000-0000-0000-0000-%012d' "$1"; }

# The helper (outside the extension): one query's rows as text, or its error
# as "ERROR sqlstate: message [detail]".
helper="CREATE SCHEMA upcheck;
GRANT USAGE ON SCHEMA upcheck TO PUBLIC;
CREATE FUNCTION upcheck.try(q text) RETURNS SETOF text LANGUAGE plpgsql AS \$f\$
DECLARE r text; st text; msg text; det text;
BEGIN
    FOR r IN EXECUTE format('SELECT t::text FROM (%s) t', q) LOOP RETURN NEXT r; END LOOP;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
    RETURN NEXT format('ERROR %s: %s [%s]', st, msg, det);
END \$f\$;"

# The seed: one statement per transaction (compact('0 seconds') then sees
# the earlier tombstones as older than now()).
seed_sql() {
    cat <<EOF
SELECT credsync.grant_app('credsync_upg_app');
SELECT credsync.grant_proxy('credsync_upg_proxy');
SELECT * FROM credsync.sync_push_many('alice', 'passwords',
    ARRAY['$(u 1)','$(u 2)','$(u 3)','$(u 4)','$(u 5)']::uuid[],
    ARRAY['\\x01','\\x0202','\\x030303','\\x04','\\x05']::bytea[], NULL, '$(u 901)');
SELECT * FROM credsync.sync_push('alice', 'passwords', '\\x0202ff', '$(u 2)', 2, '$(u 902)');
SELECT credsync.sync_delete('alice', 'passwords', '$(u 3)');
SELECT credsync.sync_delete('alice', 'passwords', '$(u 99)', NULL, '$(u 903)');
SELECT * FROM credsync.sync_push('alice', 'notes', '\\xaa', '$(u 11)');
SELECT * FROM credsync.sync_push('alice', 'notes', '\\xbbbb', '$(u 12)', 0);
SELECT * FROM credsync.sync_push_many('bob', 'default',
    ARRAY['$(u 21)','$(u 22)','$(u 23)','$(u 24)']::uuid[], ARRAY['\\x21','\\x22',NULL,'\\x24']::bytea[]);
SELECT credsync.sync_delete('bob', 'default', '$(u 24)');
SELECT * FROM credsync.sync_push('carol', 'x.y_z-1', '\\xc0', '$(u 31)', NULL, '$(u 904)');
SELECT credsync.sync_delete('carol', 'x.y_z-1', '$(u 31)');
SELECT credsync.set_quota('bob', 100, 5);
SELECT credsync.set_quota('carol', NULL, 3);
SELECT pg_sleep(0.01);
SELECT credsync.compact('0 seconds');
SELECT * FROM credsync.sync_push('bob', 'default', '\\x25', '$(u 25)');
SELECT credsync.sync_delete('bob', 'default', '$(u 22)');
SELECT * FROM credsync.sync_push('alice', 'passwords', '\\x0606', '$(u 6)');
EOF
}

# Read answers: "label: row" lines. $1 = database, $2 = a token of alice's,
# $3 = bob's revoked token.
reads_sql() {
    local us z
    for uz in "alice passwords" "alice notes" "bob default" "carol x.y_z-1" "nobody default"; do
        set -- $uz; us=$1 z=$2
        echo "state $us/$z	SELECT * FROM credsync.sync_state('$us', '$z')"
        echo "pull $us/$z since 0	SELECT * FROM credsync.sync_pull('$us', '$z')"
        echo "pull $us/$z since 1	SELECT * FROM credsync.sync_pull('$us', '$z', 1)"
        echo "pull $us/$z since horizon	SELECT * FROM credsync.sync_pull('$us', '$z', (SELECT horizon FROM credsync.sync_state('$us', '$z')))"
        echo "pull $us/$z since 2 full	SELECT * FROM credsync.sync_pull('$us', '$z', 2, 1000, true)"
        echo "pull $us/$z ahead	SELECT * FROM credsync.sync_pull('$us', '$z', 1000)"
    done
    for us in alice bob carol nobody; do
        echo "zones $us	SELECT * FROM credsync.sync_zones('$us')"
        echo "account $us	SELECT * FROM credsync.sync_account('$us')"
    done
    echo "app functions	SELECT credsync.app_functions()"
}

# "role|function|may execute" for the seed's two roles over every credsync function.
privs() {
    q "$1" -c "SELECT r, p.oid::regprocedure, has_function_privilege(r, p.oid, 'EXECUTE')
                 FROM pg_proc p, unnest(ARRAY['credsync_upg_app', 'credsync_upg_proxy']) r
                WHERE p.pronamespace = 'credsync'::regnamespace ORDER BY 1, p.oid::regprocedure::text"
}

# Runs "label<TAB>query" lines (stdin) on database $1 through upcheck.try.
run_calls() {
    local label query
    while IFS=$'\t' read -r label query; do
        case $label in
            ''|'#'*) continue ;;
            'SET ROLE'*|'RESET ROLE') echo "$label;"; continue ;;
        esac
        printf "SELECT %s || ': ' || coalesce(a, '<null>') FROM upcheck.try(%s) a;\n" \
            "\$l\$$label\$l\$" "\$q\$$query\$q\$"
    done | q "$1" -f -
}

# Catalog description of the extension, one object per line, without OIDs.
catalog_sql=$(cat <<'EOF'
WITH ext AS (SELECT * FROM pg_extension WHERE extname = 'credsync'),
members AS (SELECT classid, objid, objsubid FROM pg_depend
            WHERE refclassid = 'pg_extension'::regclass AND refobjid = (SELECT oid FROM ext) AND deptype = 'e'),
ns AS (SELECT oid FROM pg_namespace WHERE nspname = 'credsync'),
lines AS (
  SELECT 'extension ' || format('%s %s owner=%s schema=%s relocatable=%s', extname, extversion, extowner::regrole,
         extnamespace::regnamespace, extrelocatable) FROM ext
  UNION ALL
  SELECT 'extconfig ' || c::regclass::text || ' condition=' || coalesce(quote_literal((SELECT extcondition[i] FROM ext)), 'NULL')
    FROM ext, unnest(extconfig) WITH ORDINALITY AS x(c, i)
  UNION ALL
  SELECT 'member ' || pg_describe_object(classid, objid, objsubid) FROM members
  UNION ALL
  SELECT 'initprivs ' || pg_describe_object(i.classoid, i.objoid, i.objsubid) || ' ' || i.privtype::text || ' ' || i.initprivs::text
    FROM pg_init_privs i JOIN members m ON m.classid = i.classoid AND m.objid = i.objoid
  UNION ALL
  SELECT 'comment ' || pg_describe_object(d.classoid, d.objoid, d.objsubid) || ' ' || quote_literal(d.description)
    FROM pg_description d JOIN members m ON m.classid = d.classoid AND m.objid = d.objoid
  UNION ALL
  SELECT format('schema %s owner=%s acl=%s', nspname, nspowner::regrole, nspacl) FROM pg_namespace WHERE oid = (SELECT oid FROM ns)
  UNION ALL
  SELECT format('relation %s kind=%s persistence=%s owner=%s acl=%s options=%s rls=%s/%s replident=%s am=%s toast=%s',
         c.relname, c.relkind, c.relpersistence, c.relowner::regrole, c.relacl, c.reloptions, c.relrowsecurity,
         c.relforcerowsecurity, c.relreplident, am.amname, c.reltoastrelid <> 0)
    FROM pg_class c LEFT JOIN pg_am am ON am.oid = c.relam WHERE c.relnamespace = (SELECT oid FROM ns)
  UNION ALL
  SELECT format('column %s.%s position=%s type=%s notnull=%s default=%s identity=%s generated=%s collation=%s acl=%s storage=%s stattarget=%s options=%s',
         c.relname, a.attname, row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum), format_type(a.atttypid, a.atttypmod),
         a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated, a.attcollation::regcollation,
         a.attacl, a.attstorage, a.attstattarget,
         -- pg_attver=<LSN> (this server build's creation stamp) differs by construction
         (SELECT array_agg(o ORDER BY o) FROM unnest(a.attoptions) o WHERE o NOT LIKE 'pg\_attver=%'))
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE c.relnamespace = (SELECT oid FROM ns) AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT format('index %s %s primary=%s unique=%s nullsdistinct=%s exclusion=%s immediate=%s clustered=%s valid=%s replident=%s',
         i.indexrelid::regclass, pg_get_indexdef(i.indexrelid), i.indisprimary, i.indisunique, i.indnullsnotdistinct,
         i.indisexclusion, i.indimmediate, i.indisclustered, i.indisvalid, i.indisreplident)
    FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE c.relnamespace = (SELECT oid FROM ns)
  UNION ALL
  SELECT format('constraint %s %s %s deferrable=%s deferred=%s validated=%s', conrelid::regclass, conname,
         pg_get_constraintdef(oid), condeferrable, condeferred, convalidated)
    FROM pg_constraint WHERE connamespace = (SELECT oid FROM ns)
  UNION ALL
  SELECT 'trigger ' || pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    WHERE c.relnamespace = (SELECT oid FROM ns) AND NOT t.tgisinternal
  UNION ALL
  SELECT format('policy %s.%s %s', tablename, policyname, row(permissive, roles, cmd, qual, with_check))
    FROM pg_policies WHERE schemaname = 'credsync'
  UNION ALL
  SELECT format('view %s %s', c.relname, pg_get_viewdef(c.oid)) FROM pg_class c
    WHERE c.relnamespace = (SELECT oid FROM ns) AND c.relkind IN ('v', 'm')
  UNION ALL
  SELECT format('sequence %s %s', s.seqrelid::regclass, row(s.seqtypid::regtype, s.seqstart, s.seqincrement, s.seqmax, s.seqmin, s.seqcache, s.seqcycle))
    FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid WHERE c.relnamespace = (SELECT oid FROM ns)
  UNION ALL
  SELECT format('type %s type=%s owner=%s acl=%s', t.typname, t.typtype, t.typowner::regrole, t.typacl)
    FROM pg_type t WHERE t.typnamespace = (SELECT oid FROM ns)
  UNION ALL
  SELECT format('function %s(%s) returns %s kind=%s language=%s secdef=%s volatile=%s parallel=%s strict=%s leakproof=%s cost=%s rows=%s config=%s argnames=%s argmodes=%s defaults=%s owner=%s acl=%s probin=%s src=%s',
         p.proname, pg_get_function_identity_arguments(p.oid), pg_get_function_result(p.oid), p.prokind, l.lanname,
         p.prosecdef, p.provolatile, p.proparallel, p.proisstrict, p.proleakproof, p.procost, p.prorows, p.proconfig,
         p.proargnames, p.proargmodes, pg_get_expr(p.proargdefaults, 0), p.proowner::regrole, p.proacl, p.probin,
         replace(p.prosrc, E'\n', '\n'))
    FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang WHERE p.pronamespace = (SELECT oid FROM ns)
)
SELECT * FROM lines ORDER BY 1;
EOF
)

# pg_dump in binary-upgrade mode prints every member object of the
# extension; drop what names OIDs, transaction ids, LSNs or the random
# \restrict key.
dump_normalized() {
    pg_dump --schema-only --binary-upgrade -d "$1" |
        sed -E -e '/^\\(un)?restrict /d' \
               -e '/binary_upgrade_set_next_attribute_versions/s/[0-9A-F]+\/[0-9A-F]+/LSN/g' \
               -e '/binary_upgrade_|relfrozenxid|^WHERE oid = /s/[0-9]+/N/g'
}

# The calls both databases must answer alike after the update.
calls_sql() {
    cat <<EOF
# writes continue counting
push alice/passwords	SELECT * FROM credsync.sync_push('alice', 'passwords', '\\x07', '$(u 7)')
push_many alice/notes	SELECT * FROM credsync.sync_push_many('alice', 'notes', ARRAY['$(u 13)','$(u 14)','$(u 12)']::uuid[], ARRAY['\\x0d','\\x0e',NULL]::bytea[])
push_many new item no blob	SELECT * FROM credsync.sync_push_many('alice', 'notes', ARRAY['$(u 13)',NULL]::uuid[], ARRAY['\\x0d',NULL]::bytea[])
new item (server uuid)	SELECT gencount, item IS NOT NULL FROM credsync.sync_push('alice', 'server-uuids', '\\x99')
delete absent	SELECT credsync.sync_delete('alice', 'notes', '$(u 98)')
new zone	SELECT * FROM credsync.sync_push('alice', 'fresh-zone', '\\x01', '$(u 41)')
# op ids remembered across the update
replay seed op 901	SELECT * FROM credsync.sync_push_many('alice', 'passwords', ARRAY['$(u 1)','$(u 2)','$(u 3)','$(u 4)','$(u 5)']::uuid[], ARRAY['\\x01','\\x0202','\\x030303','\\x04','\\x05']::bytea[], NULL, '$(u 901)')
replay seed op 903	SELECT credsync.sync_delete('alice', 'passwords', '$(u 99)', NULL, '$(u 903)')
replay seed op 904	SELECT * FROM credsync.sync_push('carol', 'x.y_z-1', '\\xc0', '$(u 31)', NULL, '$(u 904)')
reuse op 902	SELECT * FROM credsync.sync_push('alice', 'passwords', '\\xdead', '$(u 2)', NULL, '$(u 902)')
new op	SELECT * FROM credsync.sync_push('alice', 'passwords', '\\x08', '$(u 8)', NULL, '$(u 905)')
new op replay	SELECT * FROM credsync.sync_push('alice', 'passwords', '\\x08', '$(u 8)', NULL, '$(u 905)')
# if_match
if_match stale	SELECT * FROM credsync.sync_push('alice', 'passwords', '\\x0203', '$(u 2)', 2)
if_match 0 on live	SELECT * FROM credsync.sync_push('alice', 'passwords', '\\x0203', '$(u 1)', 0)
if_match ok	SELECT * FROM credsync.sync_push('alice', 'passwords', '\\x0203', '$(u 2)', 6)
if_match batch	SELECT * FROM credsync.sync_push_many('alice', 'passwords', ARRAY['$(u 4)','$(u 5)']::uuid[], ARRAY['\\x44',NULL]::bytea[], ARRAY[4,5]::bigint[])
if_match batch stale	SELECT * FROM credsync.sync_push_many('alice', 'passwords', ARRAY['$(u 4)','$(u 5)']::uuid[], ARRAY['\\x44',NULL]::bytea[], ARRAY[4,5]::bigint[])
delete if_match	SELECT credsync.sync_delete('alice', 'passwords', '$(u 1)', 1)
# quotas
bob over quota	SELECT * FROM credsync.sync_push('bob', 'default', decode(repeat('ab', 200), 'hex'), '$(u 26)')
bob delete over quota	SELECT credsync.sync_delete('bob', 'default', '$(u 21)')
carol items quota	SELECT * FROM credsync.sync_push_many('carol', 'q', ARRAY['$(u 51)','$(u 52)','$(u 53)','$(u 54)']::uuid[], ARRAY['\\x01','\\x02','\\x03','\\x04']::bytea[])
set quota	SELECT credsync.set_quota('bob', NULL, NULL)
bob after quota lifted	SELECT * FROM credsync.sync_push('bob', 'default', decode(repeat('ab', 200), 'hex'), '$(u 26)')
# errors
blob too large	SELECT * FROM credsync.sync_push('alice', 'big', decode(repeat('00', 1048577), 'hex'), '$(u 61)')
bad zone	SELECT * FROM credsync.sync_push('alice', 'bad zone', '\\x01')
bad user	SELECT * FROM credsync.sync_push('', 'z', '\\x01')
null item null blob	SELECT * FROM credsync.sync_push('alice', 'z', NULL)
duplicate item	SELECT * FROM credsync.sync_push_many('alice', 'z', ARRAY['$(u 1)','$(u 1)']::uuid[], ARRAY['\\x01','\\x02']::bytea[])
array lengths	SELECT * FROM credsync.sync_push_many('alice', 'z', ARRAY['$(u 1)']::uuid[], ARRAY['\\x01','\\x02']::bytea[])
empty batch	SELECT * FROM credsync.sync_push_many('alice', 'empty', ARRAY[]::uuid[], ARRAY[]::bytea[])
expired	SELECT * FROM credsync.sync_pull('bob', 'default', 1)
ahead	SELECT * FROM credsync.sync_pull('bob', 'default', 100)
max_records 0	SELECT * FROM credsync.sync_pull('bob', 'default', 0, 0)
page alice/passwords	SELECT * FROM credsync.sync_pull_page('alice', 'passwords', 0, 2, false, 3)
page bob since 2 full	SELECT * FROM credsync.sync_pull_page('bob', 'default', 2, 1000, true)
page ahead	SELECT * FROM credsync.sync_pull_page('bob', 'default', 100)
token_user_hash unknown	SELECT credsync.token_user_hash(sha256('cs_unknown'::bytea))
token_user_hash short	SELECT credsync.token_user_hash('\\x00')
# compaction and admin
compact	SELECT credsync.compact('0 seconds')
verify alice/passwords	SELECT matches FROM credsync.verify_zone('alice', 'passwords')
revoke unknown token	SELECT credsync.revoke_token('cs_nope')
drop carol	SELECT credsync.drop_user('carol')
# 1.4: zone deletion, accounts, devices
zone_delete alice/notes	SELECT credsync.zone_delete('alice', 'notes')
zones after zone_delete	SELECT * FROM credsync.sync_zones('alice')
state after zone_delete	SELECT * FROM credsync.sync_state('alice', 'notes')
old cursor after zone_delete	SELECT * FROM credsync.sync_pull('alice', 'notes', 2)
old full sync after zone_delete	SELECT * FROM credsync.sync_pull_page('alice', 'notes', 1, 1000, true)
push after zone_delete	SELECT * FROM credsync.sync_push('alice', 'notes', '\\x0f', '$(u 16)')
zone_delete again	SELECT credsync.zone_delete('alice', 'notes') > 0, credsync.zone_delete('alice', 'no-such-zone')
# 1.5: every zone's state in one call
zone_states alice	SELECT z.zone, z.gencount, z.digest = s.digest AS digest_as_state, z.items, z.bytes, z.horizon FROM credsync.sync_zone_states('alice') z, LATERAL credsync.sync_state('alice', z.zone) s
account_create	SELECT user_id, device IS NOT NULL, token ~ '^cs_' FROM credsync.account_create('erin', '\\x$(printf "ab%.0s" {1..32})', '\\x$(printf "cd%.0s" {1..16})', 3, 268435456, '\\xee', 'erin laptop')
account_create taken	SELECT * FROM credsync.account_create('erin', '\\x$(printf "ab%.0s" {1..32})', '\\x$(printf "cd%.0s" {1..16})', 3, 268435456, '\\xee')
account_create has data	SELECT * FROM credsync.account_create('alice', '\\x$(printf "ab%.0s" {1..32})', '\\x$(printf "cd%.0s" {1..16})', 3, 268435456, '\\xee')
account_create bad kdf	SELECT * FROM credsync.account_create('frank', '\\x$(printf "ab%.0s" {1..32})', '\\x$(printf "cd%.0s" {1..16})', 3, 1024, '\\xee')
challenge known	SELECT length(challenge), salt, kdf_ops, kdf_mem, expires_in FROM credsync.login_challenge('erin')
challenge unknown	SELECT length(challenge), length(salt), kdf_ops, kdf_mem, expires_in FROM credsync.login_challenge('nobody')
login wrong signature	SELECT result FROM credsync.login('erin', (SELECT challenge FROM credsync.login_challenge('erin')), decode(repeat('00', 64), 'hex'))
login bad shape	SELECT result FROM credsync.login('erin', '\\x00', decode(repeat('00', 64), 'hex'))
devices alice	SELECT label FROM credsync.device_list('alice')
devices erin	SELECT label, last_seen FROM credsync.device_list('erin')
token_list bob	SELECT label, revoked IS NOT NULL FROM credsync.token_list('bob')
token_revoke_all by label	SELECT credsync.token_revoke_all('erin', 'erin laptop'), credsync.token_revoke_all('alice', 'no-such-label')
set login erin	SELECT credsync.account_set_login('erin', '\\x$(printf "ab%.0s" {1..32})', '\\x$(printf "cd%.0s" {1..16})', 4, 1073741824, '\\xef', true, NULL)
set login token-only	SELECT credsync.account_set_login('bob', '\\x$(printf "ab%.0s" {1..32})', '\\x$(printf "cd%.0s" {1..16})', 4, 1073741824, '\\xef', true, NULL)
account_delete needs proof	SELECT * FROM credsync.account_delete('erin', NULL, NULL)
account_delete token-only	SELECT * FROM credsync.account_delete('bob', NULL, NULL)
after account_delete	SELECT * FROM credsync.sync_account('bob')
# privileges
SET ROLE credsync_upg_app
app push	SELECT * FROM credsync.sync_push('dave', 'z', '\\x01', '$(u 71)')
app state	SELECT gencount, items, bytes, horizon FROM credsync.sync_state('dave', 'z')
app page	SELECT gencount, more FROM credsync.sync_pull_page('dave', 'z') LIMIT 1
app token_user_hash	SELECT credsync.token_user_hash(sha256('cs_unknown'::bytea)) IS NULL
app login_challenge	SELECT length(challenge) FROM credsync.login_challenge('erin')
app token_identity	SELECT count(*) FROM credsync.token_identity(sha256('cs_unknown'::bytea))
app zone_delete	SELECT credsync.zone_delete('dave', 'nothing')
app zone_states	SELECT count(*) FROM credsync.sync_zone_states('dave')
app token_list	SELECT count(*) FROM credsync.token_list('dave')
app issue_token	SELECT credsync.issue_token('dave') IS NOT NULL
app compact	SELECT credsync.compact()
app set_quota	SELECT credsync.set_quota('dave', 1, 1)
app table	SELECT count(*) FROM credsync.records
RESET ROLE
SET ROLE credsync_upg_proxy
proxy issue_token	SELECT credsync.issue_token('dave') IS NOT NULL
proxy push	SELECT * FROM credsync.sync_push('dave', 'z', '\\x02', '$(u 72)')
proxy drop_user	SELECT credsync.drop_user('dave')
RESET ROLE
grant_app public	SELECT credsync.grant_app('public')
grant_app unknown	SELECT credsync.grant_app('no_such_role')
EOF
}

# NOTIFY: the payload of one push, with the database's own notify key
# replaced by KEY (keys differ per installation by design).
notify_payload() {
    local key
    key=$(q "$1" -c "SELECT credsync.notify_key('alice', 'notes')")
    # The notifier sends after commit: psql prints the notification after
    # whichever command it arrived during, so sleep twice and drop blank lines.
    printf 'LISTEN credsync;\nSELECT count(*) FROM credsync.sync_push(%s, %s, %s, %s);\nSELECT pg_sleep(0.3);\nSELECT pg_sleep(0.3);\n' \
        "'alice'" "'notes'" "'\\xee'" "'$(u 15)'" |
        psql -X -A -t -q -d "$1" 2>&1 | grep -v '^$' |
        sed -e "s/$key/KEY/g" -e 's/server process with PID [0-9]*/server process/'
}

for old in "${olds[@]}"; do
    tag="upgrade $old -> $default"
    up=upgraded_${old//./_}
    fresh=fresh_${old//./_}
    q postgres -c "CREATE DATABASE $up" -c "CREATE DATABASE $fresh" >/dev/null || { not_ok "$tag: create databases"; exit 1; }
    q "$up" -c "$helper" >/dev/null && q "$fresh" -c "$helper" >/dev/null || { not_ok "$tag: helper"; exit 1; }

    q "$up" -c "CREATE EXTENSION credsync VERSION '$old'" >/dev/null
    expect_eq "$tag: CREATE EXTENSION credsync VERSION '$old'" "$old" \
        "$(q "$up" -c "SELECT extversion FROM pg_extension WHERE extname = 'credsync'")"
    seed_sql | q "$up" -f - >"$work/seed-$up.out" 2>&1 || { not_ok "$tag: seed on $old"; sed 's/^/# /' "$work/seed-$up.out" | tail -5; continue; }
    tok_a=$(q "$up" -c "SELECT credsync.issue_token('alice', 'laptop')")
    tok_b=$(q "$up" -c "SELECT credsync.issue_token('bob')")
    q "$up" -c "SELECT credsync.revoke_token('$tok_b')" >/dev/null
    reads() {  # reads DB ALICE_TOKEN BOB_TOKEN
        { reads_sql; printf 'token alice\tSELECT credsync.token_user(%s)\n' "'$2'"
          printf 'token bob revoked\tSELECT credsync.token_user(%s)\n' "'$3'"
          printf 'table rows\tSELECT (SELECT count(*) FROM credsync.zones), (SELECT count(*) FROM credsync.records), (SELECT count(*) FROM credsync.tokens), (SELECT count(*) FROM credsync.ops), (SELECT count(*) FROM credsync.quotas)\n'
        } | run_calls "$1"
    }
    reads "$up" "$tok_a" "$tok_b" >"$work/before.out"
    keys() { q "$1" -c "SELECT credsync.notify_key(u, z) FROM (VALUES ('alice', 'passwords'), ('bob', 'default')) v(u, z)"; }
    keys "$up" >"$work/keys-before.out"
    secret_before=$(q "$up" -c "SELECT encode(secret, 'hex') FROM credsync.install_secret")

    privs "$up" >"$work/privs-before.out"
    if q "$up" -c "ALTER EXTENSION credsync UPDATE TO '$default'" >"$work/update.out" 2>&1; then
        ok "$tag: ALTER EXTENSION credsync UPDATE TO '$default' with data in place"
    else
        not_ok "$tag: ALTER EXTENSION credsync UPDATE TO '$default' ($(tr '\n' ' ' <"$work/update.out"))"
        continue
    fi
    expect_eq "$tag: extversion after the update" "$default" \
        "$(q "$up" -c "SELECT extversion FROM pg_extension WHERE extname = 'credsync'")"
    # The update itself keeps every grant, and grants nothing new (an update
    # script's grant would be recorded as the extension's own: docs/operations.md).
    privs "$up" >"$work/privs-after.out"
    cut -d'|' -f1,2 "$work/privs-before.out" | sed 's/$/|/' >"$work/privs-known.out"
    grep -F -f "$work/privs-known.out" "$work/privs-after.out" >"$work/privs-kept.out"
    grep -v -F -f "$work/privs-known.out" "$work/privs-after.out" >"$work/privs-added.out"
    check "$tag: the update keeps the roles' EXECUTE on every function that existed before it" \
        cmp -s "$work/privs-kept.out" "$work/privs-before.out"
    check "$tag: functions the update added are not granted to those roles until grant_app/grant_proxy run again" \
        bash -c "! grep -q '|t\$' '$work/privs-added.out'"
    # The documented step after an update (docs/operations.md, "Upgrades"):
    # grant again, so that roles also get the app functions the update added.
    q "$up" -c "SELECT credsync.grant_app('credsync_upg_app')" -c "SELECT credsync.grant_proxy('credsync_upg_proxy')" >/dev/null
    reads "$up" "$tok_a" "$tok_b" >"$work/after.out"
    # app_functions() lists what the new version added; the rest is data.
    if diff -u <(grep -v '^app functions' "$work/before.out") <(grep -v '^app functions' "$work/after.out") >"$work/diff"; then
        ok "$tag: all $(wc -l <"$work/after.out") read answers (records, tombstones, horizons, digests, tokens, quotas, row counts) are unchanged by the update"
    else
        not_ok "$tag: read answers unchanged by the update"; head -20 "$work/diff" | sed 's/^/# /'
    fi
    keys "$up" >"$work/keys-after.out"
    check "$tag: notify keys and the installation secret survive the update" \
        bash -c "cmp -s '$work/keys-before.out' '$work/keys-after.out' && [ '$secret_before' = \"\$(psql -X -A -t -q -d '$up' -c 'SELECT encode(secret, '\"'hex'\"') FROM credsync.install_secret')\" ]"
    # 1.4: every token issued before the update is a device, with its own id
    # and its label; the app role, granted again, resolves an old token to
    # its device.
    expect_eq "$tag: tokens issued before the update are devices (distinct ids, labels kept)" "true|laptop" \
        "$(q "$up" -c "SELECT (count(DISTINCT device) = count(*) AND count(*) >= 2)::text || '|' ||
                              (SELECT string_agg(coalesce(label, '-'), ',') FROM credsync.device_list('alice'))
                         FROM credsync.tokens")"
    old_device=$(q "$up" -c "SELECT device FROM credsync.tokens WHERE token_sha256 = sha256(convert_to('$tok_a', 'UTF8'))")
    expect_eq "$tag: the app role, granted again, resolves alice's old token to its device (token_identity)" "alice|$old_device" \
        "$(q "$up" -c "SET ROLE credsync_upg_app" -c "SELECT user_id || '|' || device FROM credsync.token_identity(sha256(convert_to('$tok_a', 'UTF8')))")"

    q "$fresh" -c "CREATE EXTENSION credsync" >/dev/null
    expect_eq "$tag: fresh CREATE EXTENSION credsync installs $default" "$default" \
        "$(q "$fresh" -c "SELECT extversion FROM pg_extension WHERE extname = 'credsync'")"
    seed_sql | q "$fresh" -f - >"$work/seed-$fresh.out" 2>&1 || { not_ok "$tag: seed on fresh $default"; continue; }
    check "$tag: the seed answers the same on $old and on a fresh $default" cmp -s "$work/seed-$up.out" "$work/seed-$fresh.out"
    ftok_a=$(q "$fresh" -c "SELECT credsync.issue_token('alice', 'laptop')")
    ftok_b=$(q "$fresh" -c "SELECT credsync.issue_token('bob')")
    q "$fresh" -c "SELECT credsync.revoke_token('$ftok_b')" >/dev/null

    # Object for object.
    q "$up" -c "$catalog_sql" >"$work/catalog-up.out" && q "$fresh" -c "$catalog_sql" >"$work/catalog-fresh.out"
    n_obj=$(wc -l <"$work/catalog-fresh.out")
    if [ "$n_obj" -gt 50 ] && diff -u "$work/catalog-fresh.out" "$work/catalog-up.out" >"$work/diff"; then
        ok "$tag: catalogs match a fresh $default install ($n_obj lines: members, tables, columns, defaults, indexes, constraints, functions with prosrc/proconfig/prosecdef/argnames/defaults, types, ACLs, init privileges, extconfig)"
    else
        not_ok "$tag: catalogs match a fresh $default install ($n_obj lines; - fresh, + upgraded)"; grep '^[-+][^-+]' "$work/diff" | head -20 | sed 's/^/# /'
    fi
    dump_normalized "$up" >"$work/dump-up.sql" && dump_normalized "$fresh" >"$work/dump-fresh.sql"
    n_dump=$(grep -c '^ALTER EXTENSION credsync ADD' "$work/dump-fresh.sql")
    if [ "$n_dump" -gt 10 ] && diff -u "$work/dump-fresh.sql" "$work/dump-up.sql" >"$work/diff"; then
        ok "$tag: pg_dump --schema-only --binary-upgrade of both is identical ($n_dump member objects)"
    else
        not_ok "$tag: pg_dump --schema-only --binary-upgrade of both is identical ($n_dump member objects; - fresh, + upgraded)"
        grep '^[-+][^-+]' "$work/diff" | head -20 | sed 's/^/# /'
    fi

    # Behaviour: the same reads, then the same calls, on both.
    reads "$fresh" "$ftok_a" "$ftok_b" >"$work/fresh-reads.out"
    check "$tag: read answers on the upgraded database equal those of a fresh $default with the same history" \
        cmp -s "$work/after.out" "$work/fresh-reads.out"
    calls_sql | run_calls "$up" >"$work/calls-up.out" 2>&1
    calls_sql | run_calls "$fresh" >"$work/calls-fresh.out" 2>&1
    n_calls=$(calls_sql | grep -c $'\t')
    if [ "$(wc -l <"$work/calls-fresh.out")" -ge "$n_calls" ] && diff -u "$work/calls-fresh.out" "$work/calls-up.out" >"$work/diff"; then
        ok "$tag: $n_calls calls (writes, op id replays, if_match, quotas, errors, compaction, drop_user, privileges) answer the same"
    else
        not_ok "$tag: the same calls answer the same ($n_calls calls; - fresh, + upgraded)"; grep '^[-+][^-+]' "$work/diff" | head -20 | sed 's/^/# /'
    fi
    # Counting continues where the upgraded database stood (not just "like the fresh one").
    expect_eq "$tag: the first push after the update continues alice/passwords at 9 + 1" \
        "push alice/passwords: ($(u 7),10)" "$(grep '^push alice/passwords:' "$work/calls-up.out")"
    expect_eq "$tag: replaying a seed op id after the update returns its original result" \
        "replay seed op 903: (8)" "$(grep '^replay seed op 903:' "$work/calls-up.out")"
    grep -q '^app issue_token: ERROR 42501' "$work/calls-up.out" && grep -q '^app push: (' "$work/calls-up.out" && grep -q '^app page: (' "$work/calls-up.out" &&
        grep -q '^app token_user_hash: (t)' "$work/calls-up.out" &&
        grep -q '^app login_challenge: (32)' "$work/calls-up.out" && grep -q '^app zone_delete: (0)' "$work/calls-up.out" &&
        grep -q '^app zone_states: (' "$work/calls-up.out" &&
        grep -q '^app token_list: ERROR 42501' "$work/calls-up.out" &&
        grep -q '^proxy issue_token: (t)' "$work/calls-up.out" &&
        ok "$tag: roles granted before the update, granted again after it as documented, have exactly their privileges (app: app functions only; proxy: + issue_token)" ||
        not_ok "$tag: roles granted before the update keep exactly their privileges ($(grep -e '^app ' -e '^proxy ' "$work/calls-up.out" | tr '\n' ';'))"
    # 1.3: the app role resolves a token by its SHA-256 once granted again;
    # compact_batched (a procedure, CALL only) is the superuser's alone and
    # gives the same answer on both databases.
    expect_eq "$tag: the app role, granted again, resolves alice's token by its hash (token_user_hash)" "alice" \
        "$(q "$up" -c "SET ROLE credsync_upg_app" -c "SELECT credsync.token_user_hash(sha256(convert_to('$tok_a', 'UTF8')))")"
    expect_eq "$tag: the app and proxy roles cannot CALL compact_batched (42501)" "42501 42501" \
        "$(for r in credsync_upg_app credsync_upg_proxy; do
               psql -X -q -v VERBOSITY=sqlstate -d "$up" -c "SET ROLE $r" -c "CALL credsync.compact_batched('0 seconds')" 2>&1 |
                   sed -nE 's/^ERROR: +//p'; done | tr '\n' ' ' | sed 's/ $//')"
    q "$up" -c "SELECT credsync.sync_delete('alice', 'notes', '$(u 13)')" -c "SELECT credsync.sync_delete('bob', 'default', '$(u 25)')" \
        -c "SELECT pg_sleep(0.01)" -c "CALL credsync.compact_batched('0 seconds', 1)" >"$work/batched-up.out" 2>&1
    q "$fresh" -c "SELECT credsync.sync_delete('alice', 'notes', '$(u 13)')" -c "SELECT credsync.sync_delete('bob', 'default', '$(u 25)')" \
        -c "SELECT pg_sleep(0.01)" -c "CALL credsync.compact_batched('0 seconds', 1)" >"$work/batched-fresh.out" 2>&1
    check "$tag: CALL credsync.compact_batched answers the same on both ($(tail -1 "$work/batched-up.out") rows removed)" \
        cmp -s "$work/batched-up.out" "$work/batched-fresh.out"
    reads "$up" "$tok_a" "$tok_b" | grep -v '^token ' >"$work/final-up.out"
    reads "$fresh" "$ftok_a" "$ftok_b" | grep -v '^token ' >"$work/final-fresh.out"
    check "$tag: final state of every zone and account is the same on both" cmp -s "$work/final-up.out" "$work/final-fresh.out"
    expect_eq "$tag: NOTIFY payload after a push has the same form on both" \
        "$(notify_payload "$fresh")" "$(notify_payload "$up")"
    q "$up" -c "$catalog_sql" >"$work/catalog-up2.out" && q "$fresh" -c "$catalog_sql" >"$work/catalog-fresh2.out"
    check "$tag: catalogs still match after the calls" cmp -s "$work/catalog-up2.out" "$work/catalog-fresh2.out"
    # 1.4 end to end on the upgraded database, as the app role: sign up,
    # then log in with an Ed25519 signature over a challenge (as a client).
    seed=$(printf '7e%.0s' {1..32})
    pub=$(test/tools/ed25519-sign public "$seed")
    app() { q "$up" -c "SET ROLE credsync_upg_app" -c "$1"; }
    app "SELECT * FROM credsync.account_create('upg-frank', decode('$pub', 'hex'), '\\x$(printf '0f%.0s' {1..16})', 3, 268435456, '\\xf0')" >/dev/null
    read -r ch msg < <(app "SELECT encode(challenge, 'hex') || ' ' || encode(convert_to(E'credsync login v1\\n', 'UTF8') || challenge
                                || convert_to('upg-frank', 'UTF8'), 'hex') FROM credsync.login_challenge('upg-frank')")
    expect_eq "$tag: the app role signs up and logs in with an Ed25519 signature on the upgraded database" "ok|upg-frank|f0" \
        "$(app "SELECT result || '|' || user_id || '|' || encode(wrapped_key, 'hex') FROM credsync.login('upg-frank',
                decode('$ch', 'hex'), decode('$(test/tools/ed25519-sign sign "$seed" "$msg")', 'hex'), 'second device')")"
done
exit 0
