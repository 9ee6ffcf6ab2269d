#!/usr/bin/env bash
# The regress files (sql/*.sql) through a Citus coordinator (issue 13,
# docs/scaling.md): the same files as 10-regress, compared with the same
# expected/*.out, on a coordinator and two workers (Citus 13.2.2, built once
# per machine by test/lib/citus.sh) where credsync is distributed as soon as
# it is created, so every call in them goes through the coordinator and runs
# where Citus sends it.
#
# Differences that are Citus's own, not credsync's, are expected in
# test/citus-regress/expected/X_1.out (pg_regress's alternative output),
# kept out of expected/ so that 10-regress never accepts them; each is
# explained in test/citus-regress/README.md, with what the files do so that
# they run on both.
set -u
cd "$CREDSYNC_ROOT"
source test/lib/cluster.sh
source test/lib/tap.sh
source test/lib/citus.sh

citus_ensure || { not_ok "Citus $CITUS_VERSION installed (test/lib/citus.sh)"; exit 1; }
base=$(pg_owned_tmpdir citus-regress)
nodes=(coord w1 w2)
cleanup() {
    for n in "${nodes[@]}"; do [ -d "$base/$n" ] && cluster_stop "$base/$n"; done
    rm -rf "$base"
}
trap cleanup EXIT
for n in "${nodes[@]}"; do
    citus_cluster_new "$base/$n" >/dev/null || { not_ok "create Citus node $n"; exit 1; }
done
# The regress files change credsync's settings with SET LOCAL in a
# transaction block: Citus passes those on to the workers the transaction
# uses (a session's SET stays on the coordinator; docs/scaling.md).
as_pg tee -a "$base/coord/data/postgresql.conf" >/dev/null <<<"citus.propagate_set_commands = 'local'"
for n in "${nodes[@]}"; do
    cluster_start "$base/$n" || { not_ok "start Citus node $n"; tail -5 "$base/$n/data/server.log"; exit 1; }
done
db=regression
for n in "${nodes[@]}"; do
    psql -X -q -v ON_ERROR_STOP=1 -d "$(cluster_conninfo "$base/$n")" -c "CREATE DATABASE $db" &&
        psql -X -q -v ON_ERROR_STOP=1 -d "$(cluster_conninfo "$base/$n" $db)" -c "CREATE EXTENSION citus" ||
        { not_ok "CREATE EXTENSION citus on $n"; exit 1; }
done
C=$(cluster_conninfo "$base/coord" $db)
# The regress files create the extension themselves (01_basics, and
# 15_hardening again): an event trigger of this harness runs the documented
# step, credsync.distribute(), right after a CREATE EXTENSION credsync that
# is a statement of its own, in the same transaction.
psql -X -q -v ON_ERROR_STOP=1 -d "$C" -o /dev/null <<EOF || { not_ok "set up the coordinator"; exit 1; }
SELECT citus_set_coordinator_host('127.0.0.1', $(cluster_port "$base/coord"));
SELECT citus_add_node('127.0.0.1', $(cluster_port "$base/w1"));
SELECT citus_add_node('127.0.0.1', $(cluster_port "$base/w2"));
CREATE SCHEMA citus_harness;
CREATE FUNCTION citus_harness.distribute_credsync() RETURNS event_trigger
    LANGUAGE plpgsql AS \$\$
BEGIN
    -- Top-level only: 15_hardening's installs inside a function are
    -- rolled back, and read only the new local install_secret.
    IF current_query() ~* '^\\s*CREATE\\s+EXTENSION\\s+credsync'
       AND EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands() c
                    WHERE c.object_type = 'extension' AND c.object_identity = 'credsync') THEN
        PERFORM credsync.distribute();
    END IF;
END \$\$;
CREATE EVENT TRIGGER citus_harness_distribute ON ddl_command_end WHEN TAG IN ('CREATE EXTENSION')
    EXECUTE FUNCTION citus_harness.distribute_credsync();
EOF

# Every file runs here: none is about one server only.
tests=()
for f in sql/*.sql; do tests+=("$(basename "$f" .sql)"); done

# pg_regress reads DIR/sql and DIR/expected: the project's files, plus the
# Citus-only alternatives.
in=$base/in out=build/citus-regress
mkdir -p "$in/expected" "$out"
ln -s "$CREDSYNC_ROOT/sql" "$in/sql"
cp expected/*.out "$in/expected/"
cp test/citus-regress/expected/*.out "$in/expected/" 2>/dev/null
rm -f "$out/regression.diffs" "$out/regression.out"
"$(dirname "$(pg_config --pgxs)")/../test/regress/pg_regress" --inputdir="$in" --outputdir="$out" \
    --use-existing --dbname=$db --host="$base/coord/sock" --port="$(cluster_port "$base/coord")" --user=postgres \
    "${tests[@]}" >"$out/run.log" 2>&1
sed -nE 's/^(test )?[[:space:]]*([A-Za-z0-9_-]+)[[:space:]]+\.\.\.[[:space:]]+(ok|FAILED|failed)( \(test process exited with exit code [0-9]+\))?.*$/\3 \2/p' "$out/run.log" |
    while read -r status name; do
        if [ "$status" = ok ]; then ok "citus-regress/$name"; else not_ok "citus-regress/$name (see $out/regression.diffs)"; fi
    done
[ -f "$out/regression.diffs" ] && { head -c 20000 "$out/regression.diffs"; echo; }
check "the coordinator and the workers did not crash" \
    [ "$(cat "$base"/*/data/server.log | grep -c 'terminated by signal')" = 0 ]
exit 0
