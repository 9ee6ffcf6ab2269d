#!/usr/bin/env bash
# pg_regress (sql/ + expected/) and isolation specs (test/specs/) against a
# throwaway cluster. Each pg_regress test file is reported as one check.
set -u
cd "$CREDSYNC_ROOT"
source test/lib/cluster.sh
source test/lib/tap.sh
dir=$(pg_owned_tmpdir regress)
trap 'cluster_destroy "$dir"' EXIT
cluster_new "$dir" && cluster_start "$dir" || { not_ok "start throwaway cluster"; exit 1; }
cluster_env "$dir"
mkdir -p build/regress build/isolation

report() {  # turn pg_regress lines "test x ... ok" into ok/not ok lines
    sed -nE 's/^(test )?[[:space:]]*([A-Za-z0-9_-]+)[[:space:]]+\.\.\.[[:space:]]+(ok|FAILED|failed)( \(test process exited with exit code [0-9]+\))?.*$/\3 \2/p' "$1" |
    while read -r status name; do
        if [ "$status" = ok ]; then ok "$2/$name"; else not_ok "$2/$name (see build/$2/regression.diffs)"; fi
    done
}
make -s installcheck ISOLATION= >build/regress/run.log 2>&1
report build/regress/run.log regress
# (a newline after the cut, so the next ok/not ok line starts a line)
[ -f build/regress/regression.diffs ] && { head -c 20000 build/regress/regression.diffs; echo; }
if [ -n "$(ls test/specs/*.spec 2>/dev/null)" ]; then
    make -s installcheck REGRESS= >build/isolation/run.log 2>&1
    report build/isolation/run.log isolation
    [ -f build/isolation/regression.diffs ] && { head -c 20000 build/isolation/regression.diffs; echo; }
fi
exit 0
