#!/usr/bin/env bash
# Privileges (PROTOCOL.md "SQL API"; issue 2 section 4):
#  - a role with no grants can read no table of schema credsync and call no
#    function; nothing in the schema is granted to PUBLIC;
#  - grant_app('r') lets r call exactly the app functions, no admin function,
#    and still read no table;
#  - grant_proxy('r') adds issue_token only;
#  - 1.4: the account, login and device functions and zone_delete,
#    account_delete are app functions; token_list, token_revoke_all admin;
#  - 1.5: sync_zone_states is an app function;
#  - grant_app / grant_proxy refuse PUBLIC and unknown roles;
#  - every function runs with a pinned search_path; the one procedure
#    (compact_batched, 1.3), which commits and so can have neither SECURITY
#    DEFINER nor SET, is neither, and a role granted only it can run it.
set -u
cd "$CREDSYNC_ROOT"
source test/lib/cluster.sh
source test/lib/tap.sh
dir=$(pg_owned_tmpdir priv)
trap 'cluster_destroy "$dir"' EXIT
cluster_new "$dir" && cluster_start "$dir" || { not_ok "start throwaway cluster"; exit 1; }
cluster_env "$dir"

q() { psql -X -A -t -q -v ON_ERROR_STOP=1 -c "$1"; }
# as ROLE SQL: run SQL as ROLE; prints "ok" or the SQLSTATE it failed with.
as() {
    local out
    out=$(psql -X -A -t -q -v ON_ERROR_STOP=1 -v VERBOSITY=sqlstate -c "SET ROLE $1" -c "$2" 2>&1 >/dev/null)
    if [ -z "$out" ]; then echo ok; else sed -nE 's/^ERROR: +([0-9A-Z]{5}).*/\1/p' <<<"$out" | head -1 | grep . || echo "?? $out"; fi
}

q "CREATE EXTENSION credsync" || { not_ok "create extension"; exit 1; }
q "CREATE ROLE cs_nogrant; CREATE ROLE cs_app; CREATE ROLE cs_proxy" || { not_ok "create roles"; exit 1; }
# An account for the 1.4 calls that need one (account_set_login).
q "SELECT * FROM credsync.account_create('priv-acct', '\\x$(printf '55%.0s' {1..32})', '\\x$(printf '66%.0s' {1..16})', 3, 268435456, '\\x01')" >/dev/null ||
    { not_ok "create an account"; exit 1; }

APP_FUNCS="account_create account_delete account_set_login device_list device_revoke login login_challenge notify_key sync_account sync_delete sync_pull sync_pull_page sync_push sync_push_many sync_state sync_zone_states sync_zones token_identity token_user token_user_hash zone_delete"
ADMIN_FUNCS="compact compact_batched distribute drop_user grant_app grant_proxy issue_token revoke_token set_quota token_list token_revoke_all verify_zone"
expected_all=$(tr ' ' '\n' <<<"$APP_FUNCS $ADMIN_FUNCS" | sort | tr '\n' ' ')
funcs=$(q "SELECT string_agg(DISTINCT p.proname, ' ' ORDER BY p.proname) FROM pg_proc p WHERE p.pronamespace = 'credsync'::regnamespace")
extra=$(comm -13 <(tr ' ' '\n' <<<"$expected_all" | grep . ) <(tr ' ' '\n' <<<"$funcs" | grep .) | tr '\n' ' ')
missing=$(comm -23 <(tr ' ' '\n' <<<"$expected_all" | grep . ) <(tr ' ' '\n' <<<"$funcs" | grep .) | tr '\n' ' ')
expect_eq "schema credsync has every function of PROTOCOL.md" "" "$missing"
[ -n "$extra" ] && echo "# other functions in schema credsync (internal; must be executable by nobody): $extra"

# Nothing in the schema is granted to PUBLIC.
expect_eq "no table, sequence or view of credsync grants anything to PUBLIC" "" \
    "$(q "SELECT string_agg(c.relname, ' ') FROM pg_class c, aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
          WHERE c.relnamespace = 'credsync'::regnamespace AND a.grantee = 0")"
expect_eq "no function of credsync is executable by PUBLIC" "" \
    "$(q "SELECT string_agg(p.oid::regprocedure::text, ' ') FROM pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
          WHERE p.pronamespace = 'credsync'::regnamespace AND a.grantee = 0")"

# Every function runs with a pinned search_path. A procedure that commits
# cannot carry SET or SECURITY DEFINER (PostgreSQL refuses COMMIT in it):
# compact_batched sets both itself for each batch (sql/14_compact_batched).
expect_eq "every credsync function has a pinned search_path (SET search_path = pg_catalog, pg_temp)" "" \
    "$(q "SELECT string_agg(p.proname, ' ' ORDER BY p.proname) FROM pg_proc p
          WHERE p.pronamespace = 'credsync'::regnamespace AND p.prokind <> 'p'
            AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false)")"
expect_eq "the only credsync procedure is compact_batched, neither SECURITY DEFINER nor with SET (so that it can commit)" \
    "compact_batched false" \
    "$(q "SELECT string_agg(p.proname || ' ' || (p.prosecdef OR p.proconfig IS NOT NULL), ' ') FROM pg_proc p
          WHERE p.pronamespace = 'credsync'::regnamespace AND p.prokind = 'p'")"
expect_eq "every SECURITY DEFINER function of credsync has a pinned search_path" "" \
    "$(q "SELECT string_agg(p.proname, ' ' ORDER BY p.proname) FROM pg_proc p
          WHERE p.pronamespace = 'credsync'::regnamespace AND p.prosecdef
            AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false)")"

# executable ROLE: the names of the credsync functions ROLE may execute.
executable() {
    q "SELECT coalesce(string_agg(DISTINCT p.proname, ' ' ORDER BY p.proname), '') FROM pg_proc p
       WHERE p.pronamespace = 'credsync'::regnamespace AND has_function_privilege('$1', p.oid, 'EXECUTE')"
}
# readable ROLE: the relations of credsync on which ROLE has any privilege.
readable() {
    q "SELECT coalesce(string_agg(c.relname, ' ' ORDER BY c.relname), '') FROM pg_class c
       WHERE c.relnamespace = 'credsync'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
         AND (CASE WHEN c.relkind = 'S' THEN has_sequence_privilege('$1', c.oid, 'USAGE,SELECT,UPDATE')
              ELSE has_table_privilege('$1', c.oid, 'SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER') END)"
}
tables=$(q "SELECT string_agg(c.oid::regclass::text, ' ') FROM pg_class c
            WHERE c.relnamespace = 'credsync'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')")
[ -n "$tables" ] || not_ok "the extension has tables in schema credsync"
# try_tables ROLE: SQLSTATEs of reading/writing every table as ROLE (42501 expected).
try_tables() {
    local t r res=""
    for t in $tables; do
        for r in "SELECT * FROM $t LIMIT 1" "DELETE FROM $t" "TRUNCATE $t"; do
            res="$res $(as "$1" "$r")"
        done
    done
    tr ' ' '\n' <<<"$res" | grep . | sort -u | tr '\n' ' '
}
APP_CALLS=(
    "SELECT * FROM credsync.sync_push('priv-u', 'z', '\\x01'::bytea)"
    "SELECT * FROM credsync.sync_push_many('priv-u', 'z', ARRAY[NULL]::uuid[], ARRAY['\\x02']::bytea[])"
    "SELECT credsync.sync_delete('priv-u', 'z', '00000000-0000-0000-0000-000000000001')"
    "SELECT * FROM credsync.sync_pull('priv-u', 'z')"
    "SELECT * FROM credsync.sync_state('priv-u', 'z')"
    "SELECT * FROM credsync.sync_zones('priv-u')"
    "SELECT * FROM credsync.sync_zone_states('priv-u')"
    "SELECT * FROM credsync.sync_account('priv-u')"
    "SELECT credsync.notify_key('priv-u', 'z')"
    "SELECT credsync.token_user('nope')"
    "SELECT credsync.token_user_hash(sha256('nope'::bytea))"
    # 1.4 (an account per call: both app roles run these)
    "SELECT * FROM credsync.account_create('priv-' || gen_random_uuid(), '\\x$(printf '11%.0s' {1..32})', '\\x$(printf '22%.0s' {1..16})', 3, 268435456, '\\x01')"
    "SELECT * FROM credsync.login_challenge('priv-acct')"
    "SELECT * FROM credsync.login('priv-acct', '\\x$(printf '00%.0s' {1..32})', '\\x$(printf '00%.0s' {1..64})')"
    "SELECT * FROM credsync.token_identity(sha256('nope'::bytea))"
    "SELECT * FROM credsync.device_list('priv-u')"
    "SELECT credsync.device_revoke('priv-u', '00000000-0000-4000-8000-000000000001')"
    "SELECT credsync.account_set_login('priv-acct', '\\x$(printf '33%.0s' {1..32})', '\\x$(printf '44%.0s' {1..16})', 3, 268435456, '\\x02', false, NULL)"
    "SELECT credsync.zone_delete('priv-u', 'other')"
    "SELECT * FROM credsync.account_delete('priv-nobody', NULL, NULL)"
)
ADMIN_CALLS=(
    "SELECT credsync.revoke_token('nope')"
    "SELECT credsync.set_quota('priv-u', 1, 1)"
    "SELECT credsync.compact()"
    "CALL credsync.compact_batched()"
    "SELECT credsync.verify_zone('priv-u', 'z')"
    "SELECT credsync.drop_user('priv-u')"
    "SELECT credsync.grant_app('cs_nogrant')"
    "SELECT credsync.grant_proxy('cs_nogrant')"
    "SELECT * FROM credsync.token_list('priv-u')"
    "SELECT credsync.token_revoke_all('priv-nobody')"
    "SELECT * FROM credsync.distribute()"
)
ISSUE="SELECT credsync.issue_token('priv-u')"
calls() {  # calls ROLE SQL...: the distinct outcomes of running each SQL as ROLE
    local r=$1 s res=""; shift
    for s in "$@"; do res="$res $(as "$r" "$s")"; done
    tr ' ' '\n' <<<"$res" | grep . | sort -u | tr '\n' ' '
}

# --- a role with no grants
expect_eq "no grants: executes no credsync function" "" "$(executable cs_nogrant)"
expect_eq "no grants: has no privilege on any credsync table" "" "$(readable cs_nogrant)"
expect_eq "no grants: reading, deleting, truncating each table is refused (42501)" "42501 " "$(try_tables cs_nogrant)"
expect_eq "no grants: every app function call is refused (42501)" "42501 " "$(calls cs_nogrant "${APP_CALLS[@]}")"
expect_eq "no grants: every admin function call is refused (42501)" "42501 " "$(calls cs_nogrant "${ADMIN_CALLS[@]}" "$ISSUE")"

# --- grant_app
q "SELECT credsync.grant_app('cs_app')" >/dev/null || not_ok "grant_app('cs_app') runs"
expect_eq "grant_app: executes exactly the app functions" "$APP_FUNCS" "$(executable cs_app)"
expect_eq "grant_app: still has no privilege on any credsync table" "" "$(readable cs_app)"
expect_eq "grant_app: reading, deleting, truncating each table is still refused (42501)" "42501 " "$(try_tables cs_app)"
expect_eq "grant_app: every app function call works" "ok " "$(calls cs_app "${APP_CALLS[@]}")"
expect_eq "grant_app: every admin function call is refused (42501), issue_token included" "42501 " \
    "$(calls cs_app "${ADMIN_CALLS[@]}" "$ISSUE")"
expect_eq "grant_app: the app role's pushes really happened (priv-u/z at 3)" "3" \
    "$(q "SELECT gencount FROM credsync.sync_state('priv-u', 'z')")"
expect_eq "grant_app: a role granted nothing is still refused after another role's grant_app" "42501 " \
    "$(calls cs_nogrant "${APP_CALLS[@]}")"

# --- grant_proxy
q "SELECT credsync.grant_proxy('cs_proxy')" >/dev/null || not_ok "grant_proxy('cs_proxy') runs"
expect_eq "grant_proxy: executes the app functions plus issue_token" \
    "$(tr ' ' '\n' <<<"$APP_FUNCS issue_token" | sort | tr '\n' ' ' | sed 's/ $//')" "$(executable cs_proxy)"
expect_eq "grant_proxy: has no privilege on any credsync table" "" "$(readable cs_proxy)"
expect_eq "grant_proxy: issue_token works" "ok" "$(as cs_proxy "$ISSUE")"
expect_eq "grant_proxy: every app function call works" "ok " "$(calls cs_proxy "${APP_CALLS[@]}")"
expect_eq "grant_proxy: every other admin function call is refused (42501)" "42501 " "$(calls cs_proxy "${ADMIN_CALLS[@]}")"

# --- a maintenance role granted just compact_batched (docs/operations.md)
q "CREATE ROLE cs_maint; GRANT USAGE ON SCHEMA credsync TO cs_maint;
   GRANT EXECUTE ON PROCEDURE credsync.compact_batched(interval, integer, bigint) TO cs_maint" >/dev/null ||
    not_ok "grant compact_batched to cs_maint"
expect_eq "maintenance role: executes compact_batched and nothing else" "compact_batched" "$(executable cs_maint)"
expect_eq "maintenance role: CALL credsync.compact_batched() works (it runs each batch as the owner)" "ok" \
    "$(as cs_maint "CALL credsync.compact_batched('0 seconds', 10)")"
expect_eq "maintenance role: still has no privilege on any credsync table" "" "$(readable cs_maint)"
expect_eq "maintenance role: every app function and other admin call is refused (42501)" "42501 " \
    "$(calls cs_maint "${APP_CALLS[@]}" "SELECT credsync.compact()" "SELECT credsync.drop_user('priv-u')" "$ISSUE")"
expect_eq "maintenance role: after its CALL, the session is itself again (current_user)" "cs_maint" \
    "$(psql -X -A -t -q -c "SET ROLE cs_maint" -c "CALL credsync.compact_batched('0 seconds', 10)" -c "SELECT current_user" | tail -1)"

# --- refusals
for f in grant_app grant_proxy; do
    for r in public PUBLIC cs_no_such_role; do
        st=$(as postgres "SELECT credsync.$f('$r')")
        if [ "$st" != ok ]; then ok "$f('$r') is refused ($st)"; else not_ok "$f('$r') is refused (it succeeded)"; fi
    done
done
expect_eq "after the refused grants, PUBLIC still executes no credsync function" "" \
    "$(q "SELECT string_agg(p.proname, ' ') FROM pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
          WHERE p.pronamespace = 'credsync'::regnamespace AND a.grantee = 0")"
expect_eq "after the refused grants, a role with no grants still executes nothing" "" "$(executable cs_nogrant)"
exit 0
