#!/usr/bin/env bash
# credsync on Citus (issue 13, docs/scaling.md): a coordinator and two
# workers on throwaway clusters, Citus 13.2.2 built from ../shared/vendor
# once per machine (test/lib/citus.sh).
#   1. distribute() refuses without Citus, with a clear error;
#   2. a single-node credsync database with data becomes a Citus one:
#      CREATE EXTENSION citus, citus_add_node, SELECT credsync.distribute();
#      every zone's gencount, digest and records are what they were, and its
#      gencounts go on from there; a second distribute() changes nothing;
#   3. every push lands in the user's shard on the user's worker, never in
#      a shell table; token_user / token_identity for users of both workers;
#      a push the coordinator cannot delegate is refused, not misplaced;
#      signup, login and devices for names on both workers; compact() and
#      compact_batched() through the coordinator on both workers; a proxy
#      pointed at the coordinator wakes long-polls and forgets revoked
#      tokens for users on both workers;
#   4. the consistency checker through the coordinator, plain and with a
#      kill -9 of a worker's postmaster: lost 0, duplicated 0, violations 0;
#   5. a restart of all nodes keeps every zone; the seed's scenario
#      through a proxy across a restart of all nodes;
#   6. a third worker and citus_rebalance_start() while the checker writes.
set -u
cd "$CREDSYNC_ROOT"
source test/lib/cluster.sh
source test/lib/tap.sh
source test/lib/citus.sh
source test/stress/lib.sh

citus_ensure || { not_ok "Citus $CITUS_VERSION installed (test/lib/citus.sh)"; exit 1; }
build_checker || { not_ok "build test/stress/checker"; exit 1; }
base=$(pg_owned_tmpdir citus)
work=$(mktemp -d "${TMPDIR:-/tmp}/credsync-citus.XXXXXX")
nodes=(coord w1 w2 w3)
cleanup() {
    for n in "${nodes[@]}"; do [ -d "$base/$n" ] && cluster_stop "$base/$n"; done
    rm -rf "$base" "$work"
}
trap cleanup EXIT
for n in "${nodes[@]}"; do
    citus_cluster_new "$base/$n" >/dev/null && cluster_start "$base/$n" ||
        { not_ok "start Citus node $n"; tail -5 "$base/$n/data/server.log"; exit 1; }
done
C=$(cluster_conninfo "$base/coord")
q() { psql -X -A -t -q -v ON_ERROR_STOP=1 -d "$C" -c "$1"; }
qn() { psql -X -A -t -q -v ON_ERROR_STOP=1 -d "$(cluster_conninfo "$base/$1")" -c "$2"; }
port() { cluster_port "$base/$1"; }

# Every zone as the database holds it: gencount, digest, items and a hash of
# its records (item, gencount, deleted, blob), one line per zone.
snapshot() {
    q "SELECT z.user_id || ' ' || z.zone || ' ' || z.gencount || ' ' || encode(z.digest, 'hex') || ' ' || z.items || ' ' ||
              (SELECT md5(coalesce(string_agg(r.item || ':' || r.gencount || ':' || r.deleted || ':' || coalesce(encode(r.blob, 'hex'), '-'),
                                              ',' ORDER BY r.gencount), ''))
                 FROM credsync.records r WHERE r.user_id = z.user_id AND r.zone = z.zone)
         FROM credsync.zones z ORDER BY z.user_id, z.zone"
}

# 1. without Citus
q "CREATE DATABASE nocitus"
err=$(psql -X -A -t -q -d "$(cluster_conninfo "$base/coord" nocitus)" -c "CREATE EXTENSION credsync" \
      -c "SELECT * FROM credsync.distribute()" 2>&1)
check "distribute() without Citus: a clear error (feature_not_supported, says Citus is needed)" \
    grep -q "credsync.distribute() needs Citus: the citus extension is not created in this database" <<<"$err"

# 2. a single node with data, then distributed
q "CREATE EXTENSION credsync" || { not_ok "CREATE EXTENSION credsync"; exit 1; }
"$CHECKER" --conninfo "$C" --users 6 --zones 3 --writers 4 --readers 1 --writes 1500 --seconds 60 --prefix single \
    --seed "$RANDOM" >"$work/single.out" 2>&1
expect_eq "single node before Citus: checker lost/duplicated/violations" "0 0 0" \
    "$(figure lost "$work/single.out") $(figure duplicated "$work/single.out") $(figure violations "$work/single.out")"
token_before=$(q "SELECT credsync.issue_token('single-tok')")
snapshot >"$work/before"
for n in coord w1 w2; do qn "$n" "CREATE EXTENSION citus" || { not_ok "CREATE EXTENSION citus on $n"; exit 1; }; done
q "SELECT citus_set_coordinator_host('127.0.0.1', $(port coord))" >/dev/null &&
    q "SELECT citus_add_node('127.0.0.1', $(port w1))" >/dev/null &&
    q "SELECT citus_add_node('127.0.0.1', $(port w2))" >/dev/null || { not_ok "add the workers"; exit 1; }
q "SELECT * FROM credsync.distribute()" >"$work/distribute.out" 2>&1
check "distribute() on the coordinator" [ "$(wc -l <"$work/distribute.out")" -ge 30 ]
expect_eq "distribute(): zones, records, ops, quotas, accounts, ... hash-distributed and colocated; tokens, install_secret reference tables" \
    "accounts:h deleted_users:h install_secret:n login_challenges:h login_failures:h ops:h quotas:h records:h tokens:n zones:h colocations=1" \
    "$(q "SELECT string_agg(c.relname || ':' || p.partmethod::text, ' ' ORDER BY c.relname) ||
              ' colocations=' || count(DISTINCT p.colocationid) FILTER (WHERE p.partmethod = 'h')
         FROM pg_dist_partition p JOIN pg_class c ON c.oid = p.logicalrelid
        WHERE c.relnamespace = 'credsync'::regnamespace")"
expect_eq "distribute(): every function taking the user first is delegated by it" "24" \
    "$(q "SELECT count(*) FROM pg_dist_object WHERE classid = 'pg_proc'::regclass AND distribution_argument_index = 0
            AND objid::regproc::text LIKE 'credsync.%'")"
expect_eq "distribute(): the three writes through the table access methods are delegated also in a transaction block (force_delegation)" \
    "credsync.sync_delete credsync.sync_push credsync.sync_push_many" \
    "$(q "SELECT string_agg(objid::regproc::text, ' ' ORDER BY objid::regproc::text) FROM pg_dist_object
           WHERE classid = 'pg_proc'::regclass AND force_delegation")"
snapshot >"$work/after"
check "moved to the workers: every zone's gencount, digest, items and records are what they were ($(wc -l <"$work/before") zones)" \
    cmp -s "$work/before" "$work/after"
# truncate_local_data_after_distributing_table: the shells are empty files.
expect_eq "moved to the workers: the coordinator keeps no copy of the rows (its zones, records and tokens files are empty)" "0" \
    "$(q "SELECT pg_relation_size('credsync.zones') + pg_relation_size('credsync.records') + pg_relation_size('credsync.tokens')")"
expect_eq "moved to the workers: a token issued before still names its user" "single-tok" \
    "$(q "SELECT credsync.token_user('$token_before')")"
q "SELECT * FROM credsync.distribute()" >"$work/distribute2.out" 2>&1
snapshot >"$work/after2"
check "distribute() a second time: no error, nothing changes" cmp -s "$work/before" "$work/after2"

# 3. pushes land in the user's shard, on its worker
u1=$(q "SELECT u FROM generate_series(1, 200) g, LATERAL (SELECT 'cit-' || g AS u) x
        WHERE (SELECT nodeport FROM pg_dist_shard_placement WHERE shardid = get_shard_id_for_distribution_column('credsync.zones', u)) = $(port w1) LIMIT 1")
u2=$(q "SELECT u FROM generate_series(1, 200) g, LATERAL (SELECT 'cit-' || g AS u) x
        WHERE (SELECT nodeport FROM pg_dist_shard_placement WHERE shardid = get_shard_id_for_distribution_column('credsync.zones', u)) = $(port w2) LIMIT 1")
for u in "$u1" "$u2"; do
    q "SELECT * FROM credsync.sync_push('$u', 'z', '\\x01')" >/dev/null
    q "SELECT * FROM credsync.sync_push_many('$u', 'z', NULL, ARRAY['\\x02', '\\x03']::bytea[])" >/dev/null
done
expect_eq "pushes through the coordinator: gencounts 1..3 for a user on each worker" "3 3" \
    "$(q "SELECT gencount FROM credsync.sync_state('$u1', 'z')") $(q "SELECT gencount FROM credsync.sync_state('$u2', 'z')")"
where() {  # the user's rows in the shard on its worker, and in the shells
    local u=$1 n=$2 shard
    shard=$(q "SELECT get_shard_id_for_distribution_column('credsync.records', '$u')")
    echo "shard=$(qn "$n" "SELECT count(*) FROM credsync.records_$shard WHERE user_id = '$u'") shells=$(
        for m in coord w1 w2; do qn "$m" "SELECT pg_relation_size('credsync.records')"; done | paste -sd' ')"
}
expect_eq "a user on worker 1: its 3 records are in its shard there; the shell tables of all nodes stay empty" "shard=3 shells=0 0 0" "$(where "$u1" w1)"
expect_eq "a user on worker 2: its 3 records are in its shard there; the shell tables of all nodes stay empty" "shard=3 shells=0 0 0" "$(where "$u2" w2)"
# Pushes in a transaction block or PL/pgSQL (force_delegation, docs/scaling.md):
# delegated into the coordinator's distributed transaction on the user's
# worker; a push Citus still cannot delegate is refused, not misplaced.
tx_user() {  # tx_user PREFIX PORT: a user whose shard is on the node with PORT
    q "SELECT u FROM generate_series(1, 300) g, LATERAL (SELECT '$1' || g AS u) x
        WHERE (SELECT nodeport FROM pg_dist_shard_placement WHERE shardid = get_shard_id_for_distribution_column('credsync.zones', u)) = $2 LIMIT 1"
}
ta=$(tx_user txa- "$(port w1)") tb=$(tx_user txb- "$(port w1)") tc=$(tx_user txc- "$(port w2)")
gens() { for u in "$@"; do q "SELECT gencount FROM credsync.sync_state('$u', 'z')"; done | paste -sd' '; }
out=$(psql -X -A -t -q -d "$C" -c "BEGIN" -c "SELECT gencount FROM credsync.sync_push('$ta', 'z', '\\x01')" \
      -c "SELECT gencount FROM credsync.sync_push('$ta', 'z', '\\x02')" -c "SELECT gencount FROM credsync.sync_state('$ta', 'z')" -c "COMMIT" 2>&1)
expect_eq "a transaction block: two pushes of a user are delegated into it and it sees them (gencounts 1, 2; state 2), committed with it" \
    "1 2 2 | 2" "$(echo $out) | $(gens "$ta")"
out=$(psql -X -A -t -q -d "$C" -c "BEGIN" -c "SELECT gencount FROM credsync.sync_push('$ta', 'z', '\\x03')" -c "ROLLBACK" 2>&1)
expect_eq "a transaction block rolled back: its push (gencount 3) is gone with it" "3 | 2" "$(echo $out) | $(gens "$ta")"
err=$(psql -X -A -t -q -d "$C" -c "BEGIN TRANSACTION READ ONLY" -c "SELECT * FROM credsync.sync_push('$ta', 'z', '\\x04')" -c "ROLLBACK" 2>&1)
check "a read-only transaction block: the delegated push is refused on the worker" grep -q "in a read-only transaction" <<<"$err"
out=$(psql -X -A -t -q -d "$C" -c "BEGIN" -c "SELECT gencount FROM credsync.sync_push('$ta', 'z', '\\x05')" \
      -c "SELECT gencount FROM credsync.sync_push('$tb', 'z', '\\x05')" -c "COMMIT" 2>&1)
expect_eq "a transaction block pushing for two users on the same worker commits both" "3 1 | 3 1" "$(echo $out) | $(gens "$ta" "$tb")"
err=$(psql -X -A -t -q -d "$C" -c "BEGIN" -c "SELECT gencount FROM credsync.sync_push('$ta', 'z', '\\x06')" \
      -c "SELECT gencount FROM credsync.sync_push('$tc', 'z', '\\x06')" -c "COMMIT" 2>&1)
check "a transaction block pushing for users on two workers cannot commit (two-phase commit, and a push NOTIFYs)" \
    grep -q "cannot PREPARE a transaction that has executed LISTEN, UNLISTEN, or NOTIFY" <<<"$err"
expect_eq "... and nothing of it was written on either worker" "3 0" "$(gens "$ta" "$tc")"
out=$(q "DO \$\$ BEGIN PERFORM * FROM credsync.sync_push('$ta', 'z', '\\x07'); END \$\$;
        SELECT gencount FROM credsync.sync_state('$ta', 'z')" 2>&1)
expect_eq "PL/pgSQL: a push with a constant user is delegated" "4" "$out"
out=$(q "DO \$\$ DECLARE u text := '$ta'; BEGIN PERFORM * FROM credsync.sync_push(u, 'z', '\\x08'); END \$\$;
        SELECT gencount FROM credsync.sync_state('$ta', 'z')" 2>&1)
expect_eq "PL/pgSQL: a push with the user in a variable is delegated (Citus plans it with the value)" "5" "$out"
err=$(q "DO \$\$ BEGIN PERFORM * FROM credsync.sync_push((SELECT '$ta'), 'z', '\\x09'); END \$\$" 2>&1)
check "PL/pgSQL: a push with the user from a subquery (not delegated) is refused with a hint, not written on the coordinator" \
    grep -q "this call was not delegated there" <<<"$err"
expect_eq "... and changed nothing" "5 | 0 0 0" "$(gens "$ta") | $(for m in coord w1 w2; do qn "$m" "SELECT pg_relation_size('credsync.records')"; done | paste -sd' ')"
# A NULL user through the coordinator: Citus 13.2.2 hashed the NULL
# distribution argument and crashed the backend (every session of the
# coordinator was reset); deploy/citus/citus-13.2.2-null-distribution-argument.patch
# makes it run the call locally, where credsync refuses it (CS400).
for call in "SELECT * FROM credsync.sync_pull(NULL, 'z')" "SELECT credsync.sync_push(NULL, 'z', '\\x01')" \
            "SELECT * FROM credsync.sync_state(NULL::text, 'z')" "SELECT credsync.device_list(NULL)"; do
    err=$(psql -X -A -t -q -d "$C" -v VERBOSITY=verbose -c "$call" 2>&1)
    check "a NULL user through the coordinator: CS400, not a crash ($call)" grep -q "ERROR:  CS400" <<<"$err"
done
check "... and the coordinator did not restart" [ "$(grep -c 'terminated by signal' "$base/coord/data/server.log")" = 0 ]
t1=$(q "SELECT credsync.issue_token('$u1', 'l1')") t2=$(q "SELECT credsync.issue_token('$u2', 'l2')")
expect_eq "token_user through the coordinator, users on both workers" "$u1 $u2" \
    "$(q "SELECT credsync.token_user('$t1')") $(q "SELECT credsync.token_user('$t2')")"
expect_eq "token_user on each worker (tokens are a reference table)" "$u1 $u2 $u1 $u2" \
    "$(qn w1 "SELECT credsync.token_user('$t1')") $(qn w1 "SELECT credsync.token_user('$t2')") $(qn w2 "SELECT credsync.token_user('$t1')") $(qn w2 "SELECT credsync.token_user('$t2')")"
expect_eq "token_identity through the coordinator" "$u2" \
    "$(q "SELECT user_id FROM credsync.token_identity(sha256('$t2'::bytea))")"
expect_eq "revoke_token through the coordinator: the token no longer names its user" "t " \
    "$(q "SELECT credsync.revoke_token('$t1')") $(q "SELECT credsync.token_user('$t1')")"

# 3b. accounts and devices through the coordinator, for names on both
# workers: login_challenge and login keep to the name's shard (a sweep of
# every name's expired challenges was a multi-shard FOR UPDATE Citus
# refuses; now() in DO UPDATE SET, CASE and RETURNING too).
on_node() {  # a name whose shard is on the node with port $2, prefix $1
    q "SELECT u FROM generate_series(1, 300) g, LATERAL (SELECT '$1' || g AS u) x
        WHERE (SELECT nodeport FROM pg_dist_shard_placement WHERE shardid = get_shard_id_for_distribution_column('credsync.zones', u)) = $2 LIMIT 1"
}
seed=c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1
pub=$(test/tools/ed25519-sign public $seed)
login_as() {  # login_as NAME: a login with a fresh challenge and a right proof; its result
    local name=$1 ch msg sig
    ch=$(q "SELECT encode(challenge, 'hex') FROM credsync.login_challenge('$name')") || return 1
    msg=$(q "SELECT encode(convert_to(E'credsync login v1\n', 'UTF8') || decode('$ch', 'hex') || convert_to('$name', 'UTF8'), 'hex')")
    sig=$(test/tools/ed25519-sign sign $seed "$msg")
    q "SELECT result FROM credsync.login('$name', decode('$ch', 'hex'), decode('$sig', 'hex'), 'second')"
}
for w in w1 w2; do
    a=$(on_node acct-cit- "$(port $w)")
    created=$(q "SELECT device IS NOT NULL FROM credsync.account_create('$a', decode('$pub', 'hex'), '\\x00112233445566778899aabbccddeeff', 2, 67108864, '\\xa1', 'first')" 2>&1)
    # an expired challenge of the name: its next challenge sweeps it
    q "INSERT INTO credsync.login_challenges (name, challenge, expires_at) VALUES ('$a', decode(repeat('de', 32), 'hex'), now() - interval '1 minute')"
    bad=$(q "SELECT result FROM credsync.login('$a', (SELECT challenge FROM credsync.login_challenge('$a')), decode(repeat('00', 64), 'hex'))" 2>&1)
    res=$(login_as "$a" 2>&1)
    expect_eq "accounts through the coordinator, a user on $w: signup, a refused proof, challenge and login" "t failed ok" "$created $bad $res"
    expect_eq "accounts through the coordinator, a user on $w: the name's expired challenge swept by its challenge, the used one gone" "0" \
        "$(q "SELECT count(*) FROM credsync.login_challenges WHERE name = '$a'")"
    dev=$(q "SELECT id FROM credsync.device_list('$a') WHERE label = 'second'")
    expect_eq "devices through the coordinator, a user on $w: two devices, one revoked" "2 t 1" \
        "$(q "SELECT count(*) FROM credsync.device_list('$a')") $(q "SELECT credsync.device_revoke('$a', '$dev')") $(q "SELECT count(*) FROM credsync.device_list('$a')")"
done
# compact() through the coordinator: tombstones of users on both workers
# (all older than keep = 0), old deletion marks, expired challenges and
# passed failure windows of names on both workers.
compact_setup() {  # compact_setup PREFIX: pushes and deletes for a user on each worker, old rows
    local w u item
    for w in w1 w2; do
        u=$(on_node "$1-" "$(port $w)")
        item=$(q "SELECT item FROM credsync.sync_push('$u', 'z', '\\x01')")
        q "SELECT * FROM credsync.sync_push('$u', 'z', '\\x02')" >/dev/null
        q "SELECT credsync.sync_delete('$u', 'z', '$item')" >/dev/null
        q "SELECT credsync.drop_user('$u-gone')" >/dev/null
        q "UPDATE credsync.deleted_users SET deleted_at = now() - interval '2 hours' WHERE user_id = '$u-gone'"
        q "INSERT INTO credsync.login_challenges (name, challenge, expires_at) VALUES ('$u', decode(repeat('de', 32), 'hex'), now() - interval '1 minute')"
        q "INSERT INTO credsync.login_failures (name, failures, window_start) VALUES ('$u', 3, now() - interval '11 minutes')"
        echo "$u"
    done
}
compact_state() {  # per user: tombstones, horizon; then old marks, expired challenges, passed windows of those users
    local u l="" names
    names=$(printf "'%s'," "$@"); names=${names%,}
    for u in "$@"; do
        l+="$(q "SELECT count(*) FROM credsync.records WHERE user_id = '$u' AND deleted") $(q "SELECT horizon FROM credsync.sync_state('$u', 'z')") "
    done
    echo "$l$(q "SELECT count(*) FROM credsync.deleted_users WHERE deleted_at < now() - interval '1 hour' AND user_id IN (SELECT n || '-gone' FROM unnest(ARRAY[$names]) n)") $(q "SELECT count(*) FROM credsync.login_challenges WHERE expires_at <= now() AND name IN ($names)") $(q "SELECT count(*) FROM credsync.login_failures WHERE window_start < now() - interval '10 minutes' AND name IN ($names)")"
}
mapfile -t cu < <(compact_setup cmp)
expect_eq "before compact(): a tombstone on each worker, horizons 0, 2 old marks, 2 expired challenges, 2 passed windows" \
    "1 0 1 0 2 2 2" "$(compact_state "${cu[@]}")"
out=$(q "SELECT credsync.compact('0') >= 2" 2>&1)  # (and the earlier sections' tombstones)
expect_eq "compact() through the coordinator: removes the tombstone on each worker, raises both horizons, the old marks, challenges and windows go" \
    "t | 0 3 0 3 0 0 0" "$out | $(compact_state "${cu[@]}")"
mapfile -t bu < <(compact_setup bat)
out=$(q "CALL credsync.compact_batched('0', 1)" 2>&1)
expect_eq "compact_batched() through the coordinator (batches of 1): the same on both workers" \
    "2 | 0 3 0 3 0 0 0" "$out | $(compact_state "${bu[@]}")"

# 3c. the proxy pointed at the coordinator: its listener LISTENs on every
# node of pg_dist_node (proxy/listener.h), so a push that commits on a
# worker wakes a long-poll, and a revocation that runs on a worker empties
# the token cache at once (a listened-to proxy keeps answers up to 60 s).
pport=$(free_port)
proxy_start "$C" "$pport" "$work/proxy.log" || not_ok "start the proxy on the coordinator"
api() {  # api TOKEN PATH [curl args...]: "status"; body in $work/body
    local tok=$1 path=$2; shift 2
    curl -s -o "$work/body" -w '%{http_code}' -m 20 -H "Authorization: Bearer $tok" "$@" "http://127.0.0.1:$pport$path"
}
for w in w1 w2; do
    u=$(on_node "lp-" "$(port $w)")
    tok=$(q "SELECT credsync.issue_token('$u', 'poll')")
    q "SELECT * FROM credsync.sync_push('$u', 'z', '\\x01')" >/dev/null
    expect_eq "proxy on the coordinator, a user on $w: a pull" 200 "$(api "$tok" "/v1/zones/z/pull?since=0")"
    # the listener connects to the new nodes within its node list's period
    api "$tok" "/v1/zones/z/pull?since=1&wait=10" >"$work/lp-status" &
    lp=$!
    sleep 1.5
    t0=$(date +%s%N)
    q "SELECT * FROM credsync.sync_push('$u', 'z', '\\x02')" >/dev/null
    wait "$lp"
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    got="$(cat "$work/lp-status") $(python3 -c 'import json,sys; print([r["gencount"] for r in json.load(open(sys.argv[1]))["records"]])' "$work/body")"
    echo "# long-poll woken ${ms} ms after a push that committed on $w"
    expect_eq "proxy on the coordinator: a long-poll of a user on $w is woken by a push that committed there (200, the new record)" "200 [2]" "$got"
    check "proxy on the coordinator: ... within 1 s of the push (${ms} ms)" [ "$ms" -lt 1000 ]
    # revocation on the worker (device_revoke is delegated by user): the
    # token's cached answer goes at once, not at the cache's 60 s
    expect_eq "proxy on the coordinator, a user on $w: the token works (and is cached)" 200 "$(api "$tok" "/v1/zones/z/pull?since=2")"
    dev=$(q "SELECT device FROM credsync.token_identity(sha256('$tok'::bytea))")
    q "SELECT credsync.device_revoke('$u', '$dev')" >/dev/null
    t0=$(date +%s%N) st=
    while [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 5000 ]; do
        st=$(api "$tok" "/v1/zones/z/pull?since=2")
        [ "$st" = 401 ] && break
        sleep 0.05
    done
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    echo "# token 401 ${ms} ms after device_revoke through the coordinator (runs on $w)"
    expect_eq "proxy on the coordinator: a device revoked through the coordinator (on $w) makes its token 401" 401 "$st"
    check "proxy on the coordinator: ... within 2 s (${ms} ms)" [ "$ms" -lt 2000 ]
done
proxy_stop

# 3d. a coordinator that hangs without closing the listener's connection
# (test/tools/hang-proxy.py swallows the node-list query, then everything
# on that connection, keeping it open): the listener gives the read up
# within its 1 s deadline, counts the connection as lost and makes a new
# one; a long-poll is woken by a push on a worker again. (A plain PQexec
# waited until the connection closed: here, for ever.)
hport=$(free_port)
python3 test/tools/hang-proxy.py "$hport" 127.0.0.1 "$(port coord)" "FROM pg_catalog.pg_dist_node" \
    "$work/hang-arm" "$work/hang-at" >/dev/null 2>&1 &
hang_pid=$!
pport=$(free_port)
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$hport") 2>/dev/null && break; sleep 0.1; done
proxy_start "host=127.0.0.1 port=$hport user=postgres dbname=postgres sslmode=disable" "$pport" "$work/proxy-hang.log" ||
    not_ok "start the proxy on the coordinator through hang-proxy"
for _ in $(seq 1 100); do [ "$(grep -c 'listening on node' "$work/proxy-hang.log")" -ge 2 ] && break; sleep 0.1; done
touch "$work/hang-arm"  # the next node-list read (within 5 s) hangs
for _ in $(seq 1 100); do [ -s "$work/hang-at" ] && break; sleep 0.1; done
lost_ms=
if [ -s "$work/hang-at" ]; then
    for _ in $(seq 1 300); do
        grep -q 'cannot read the node list' "$work/proxy-hang.log" &&
            { lost_ms=$(( $(date +%s%3N) - $(cat "$work/hang-at") )); break; }
        sleep 0.05
    done
fi
echo "# node-list read given up ${lost_ms:-never (15 s)} ms after the coordinator hung"
check "listener: a coordinator hanging on the node-list read is given up on within its 1 s deadline (${lost_ms:-never} ms; 2.5 s allowed)" \
    [ -n "$lost_ms" ] && [ "$lost_ms" -lt 2500 ]
u=$(on_node "hang-" "$(port w1)")
tok=$(q "SELECT credsync.issue_token('$u', 'hang')")
q "SELECT * FROM credsync.sync_push('$u', 'z', '\\x01')" >/dev/null
for _ in $(seq 1 100); do [ "$(grep -c 'listening on node' "$work/proxy-hang.log")" -ge 4 ] && break; sleep 0.1; done
api "$tok" "/v1/zones/z/pull?since=1&wait=10" >"$work/lp-status" &
lp=$!
sleep 1.5
t0=$(date +%s%N)
q "SELECT * FROM credsync.sync_push('$u', 'z', '\\x02')" >/dev/null
wait "$lp"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "listener: after the hang, back on every node: a long-poll is woken by a push on worker 1 ($(cat "$work/lp-status"), ${ms} ms)" \
    [ "$(cat "$work/lp-status")" = 200 ] && [ "$ms" -lt 1000 ]
proxy_stop
kill "$hang_pid" 2>/dev/null; wait "$hang_pid" 2>/dev/null

# 4. the checker through the coordinator, plain and with a worker killed
common=(--conninfo "$C" --users 8 --zones 3 --seed "$RANDOM")
report() {
    local name=$1 out=$2 rc=$3
    sed -n '/^checker figures/,$p' "$out"
    grep '^VIOLATION' "$out" | head -5
    expect_eq "$name: lost, duplicated, violations" "0 0 0" \
        "$(figure lost "$out") $(figure duplicated "$out") $(figure violations "$out")"
    expect_eq "$name: checker exit status" 0 "$rc"
}
"$CHECKER" "${common[@]}" --prefix plain --writers 4 --readers 2 --writes 2000 --seconds 90 >"$work/plain.out" 2>&1
report "checker through the coordinator" "$work/plain.out" $?
fault_run "$work/crash.out" "$base/w1" db-kill9 1 1.0 2.0 -- \
    "${common[@]}" --prefix crash --writers 4 --readers 2 --writes 2000 --seconds 90
grep '^# fault\|check:' "$work/crash.out"
expect_eq "checker through the coordinator: kill -9 of worker 1's postmaster and its restart" 1 "$FAULTS_DONE"
report "checker through the coordinator under kill -9 of a worker" "$work/crash.out" "$CHECKER_RC"

# 5. a restart of all nodes
snapshot >"$work/before-restart"
for n in w1 w2 coord; do db_fast_restart "$base/$n" || not_ok "restart $n"; done
snapshot >"$work/after-restart"
check "restart of all nodes: every zone as it was ($(wc -l <"$work/after-restart") zones)" \
    cmp -s "$work/before-restart" "$work/after-restart"
q "SELECT * FROM credsync.sync_push('$u1', 'z', '\\x05')" >/dev/null
expect_eq "restart of all nodes: the zone counts on" "4" "$(q "SELECT gencount FROM credsync.sync_state('$u1', 'z')")"

# 5b. the seed's scenario through a proxy on the coordinator, across a
# restart of all nodes: two devices push, every node restarts, a third
# pushes (retried while the proxy answers 503), every device pulls all
# three records; the listener is back on every node (a long-poll woken).
pport=$(free_port)
proxy_start "$C" "$pport" "$work/proxy-seed.log" || not_ok "start the proxy on the coordinator"
# post TOKEN BLOB: a push of one new record through the proxy, retried while
# the proxy answers 503 or cannot reach a node (nodes restarting): status
post() {
    local i st
    for i in $(seq 1 100); do
        st=$(curl -s -o "$work/body" -w '%{http_code}' -m 10 -X POST -H "Authorization: Bearer $1" \
             -H 'Content-Type: application/json' -d "{\"records\": [{\"blob\": \"$2\"}]}" \
             "http://127.0.0.1:$pport/v1/zones/seed/push")
        [ "$st" = 200 ] && break
        sleep 0.2
    done
    echo "$st"
}
blobs() {  # blobs TOKEN: the zone's live blobs by gencount, through the proxy
    curl -s -m 10 -H "Authorization: Bearer $1" "http://127.0.0.1:$pport/v1/zones/seed/pull?since=0" |
        python3 -c 'import json,sys; print(" ".join(str(r["gencount"]) + ":" + r["blob"] for r in json.load(sys.stdin)["records"]))'
}
declare -A dev
seed_users=()
for w in w1 w2; do
    u=$(on_node "seed-" "$(port $w)")
    seed_users+=("$u")
    for d in 1 2 3; do dev[$u$d]=$(q "SELECT credsync.issue_token('$u', 'device $d')"); done
    expect_eq "seed through the proxy, a user on $w: devices 1 and 2 push" "200 200" \
        "$(post "${dev[${u}1]}" b25l) $(post "${dev[${u}2]}" dHdv)"
done
for n in w1 w2 coord; do db_fast_restart "$base/$n" || not_ok "restart $n"; done
for u in "${seed_users[@]}"; do
    expect_eq "seed through the proxy, $u after a restart of all nodes: device 3 pushes (retried while the proxy answers 503)" 200 \
        "$(post "${dev[${u}3]}" dGhyZWU=)"
    for d in 1 2 3; do
        expect_eq "seed through the proxy, $u after the restart: device $d pulls all three records, in order" \
            "1:b25l 2:dHdv 3:dGhyZWU=" "$(blobs "${dev[$u$d]}")"
    done
done
# the listener is back on every node after the restart: a long-poll is woken
sleep 3
for u in "${seed_users[@]}"; do
    curl -s -o "$work/lp-body" -w '%{http_code}' -m 20 -H "Authorization: Bearer ${dev[${u}1]}" \
        "http://127.0.0.1:$pport/v1/zones/seed/pull?since=3&wait=10" >"$work/lp-status" &
    lp=$!
    sleep 1
    t0=$(date +%s%N)
    post "${dev[${u}2]}" Zm91cg== >/dev/null
    wait "$lp"
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    check "seed through the proxy, $u after the restart: a long-poll is woken by another device's push within 1 s ($(cat "$work/lp-status"), ${ms} ms)" \
        [ "$(cat "$work/lp-status")" = 200 ] && [ "$ms" -lt 1000 ]
done
proxy_stop

# Figures for docs/scaling.md, side by side in one run: single-record
# pushes per second into a plain database (nocitus, on the coordinator's
# server) and through the coordinator, 1 and 4 clients; the difference in
# latency at 1 client is the routing cost of a call.
cat >"$work/push.sql" <<'EOF2'
\set u random(1, 1000)
SELECT * FROM credsync.sync_push('bench-:u', 'z', '\x0102030405060708');
EOF2
bench() {  # bench DB CLIENTS: "tps latency_ms"
    "$PG_BINDIR/pgbench" -n -f "$work/push.sql" -c "$2" -j "$2" -T "${CREDSYNC_CITUS_BENCH_SECONDS:-8}" \
        "$(cluster_conninfo "$base/coord" "$1")" 2>&1 |
        awk '/^latency average/ { l = $4 } /^tps/ { t = $3 } END { printf "%.0f %.2f", t, l }'
}
for c in 1 4; do
    read -r tp lp <<<"$(bench nocitus "$c")"
    read -r tc lc <<<"$(bench postgres "$c")"
    echo "# pushes/s with $c client(s): plain node $tp/s (${lp} ms), through the coordinator $tc/s (${lc} ms)"
    [ "$c" = 1 ] && echo "# routing cost per call: $(awk -v a="$lc" -v b="$lp" 'BEGIN { printf "%.2f", a - b }') ms"
done

# 6. a third worker, rebalanced under writes
qn w3 "CREATE EXTENSION citus" && q "SELECT citus_add_node('127.0.0.1', $(port w3))" >/dev/null ||
    not_ok "add a third worker"
stopfile=$work/stop
"$CHECKER" "${common[@]}" --prefix grow --writers 4 --readers 2 --writes 3000 --seconds 120 \
    --tolerate-faults --stop-file "$stopfile" >"$work/grow.out" 2>&1 &
ck=$!
sleep 2
q "SELECT citus_rebalance_start()" >/dev/null && q "SELECT citus_rebalance_wait()" >/dev/null
rebalance_rc=$?
sleep 2
touch "$stopfile"
wait "$ck"
report "checker through the coordinator while a third worker is added and rebalanced" "$work/grow.out" $?
# A push routed to a worker just before its shards moved away is refused
# with 40001 (citus_shards.h); the checker retries it like a lost
# connection, as the proxy answers 503 for it.
echo "# pushes retried (40001 or connection errors) while shards moved: $(figure retries "$work/grow.out")"
expect_eq "rebalance: citus_rebalance_wait() succeeded" 0 "$rebalance_rc"
on_w3=$(q "SELECT count(*) FROM pg_dist_shard_placement WHERE nodeport = $(port w3)")
check "rebalance: the third worker holds shards now ($on_w3 placements)" [ "${on_w3:-0}" -gt 0 ]
exit 0
