#!/usr/bin/env bash
# make bench: credsync side by side with its baselines on a throwaway cluster.
#
#   bash bench/run.sh                  the full run (about 20 minutes)
#   BENCH_QUICK=1 bash bench/run.sh    small datasets, 2 s runs, 1 round (~3 minutes)
#   BENCH_ONLY=t1,t3 bash bench/run.sh only some targets (t1..t6, cpu, profile, client)
#   BENCH_DOC=0                        do not rewrite docs/performance.md
#                                      (the default with BENCH_ONLY: a partial
#                                      run would replace the whole page)
#   BENCH_KEEP=1                       keep the cluster (its path is printed)
#   BENCH_PROXY_REV=HEAD               measure the proxy built from that commit
#                                      (git archive) instead of proxy/credsync-proxy
#
# Target cpu (bench/cpu.py): CPU per request of nginx, credsync-proxy and
# PostgreSQL, side by side, through nginx with deploy/nginx/'s configuration.
#
# Raw output of every run goes to bench/results/<UTC timestamp>/; report.py
# writes docs/performance.md (+ the PNG chart) from it. Only the run quoted in
# docs/performance.md is committed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
source test/lib/cluster.sh

export BENCH_QUICK=${BENCH_QUICK:-0}
if [ "$BENCH_QUICK" = 1 ]; then
    export PULL_SIZES=${PULL_SIZES:-1000,10000,100000} BIG_USERS=${BIG_USERS:-1000}
else
    export PULL_SIZES=${PULL_SIZES:-1000,100000,1000000} BIG_USERS=${BIG_USERS:-10000}
fi
# The load generator and the profilers (Debian packages): installed when missing.
bench_tools=()
for tool in wrk:wrk gnuplot:gnuplot-nox nginx:nginx perf:linux-perf strace:strace; do
    command -v "${tool%%:*}" >/dev/null || bench_tools+=("${tool#*:}")
done
if [ ${#bench_tools[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "bench needs: apt-get install ${bench_tools[*]}" >&2
        exit 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${bench_tools[@]}"
fi
stamp=$(date -u +%Y%m%dT%H%M%SZ)
[ "$BENCH_QUICK" = 1 ] && stamp=$stamp-quick
export RES=$ROOT/bench/results/$stamp
mkdir -p "$RES/raw"
log() { echo "$(date +%H:%M:%S) $*"; }

dir=$(pg_owned_tmpdir bench)
cleanup() {
    if [ "${BENCH_KEEP:-0}" = 1 ]; then
        echo "cluster kept in $dir (stop: source test/lib/cluster.sh; cluster_destroy $dir)"
    else
        cluster_destroy "$dir"
    fi
}
trap cleanup EXIT

# --- the cluster, with fixed settings (also listed in docs/performance.md) ---
cluster_new "$dir"

# The proxy measured: a copy taken now (proxy/ may be rebuilt during the run),
# or the one built from BENCH_PROXY_REV.
if [ -n "${BENCH_PROXY_REV:-}" ]; then
    mkdir -p "$dir/src"
    git archive "$BENCH_PROXY_REV" proxy | tar -x -C "$dir/src"
    make -s -C "$dir/src/proxy" -j"$(nproc)" >/dev/null
    proxy_from="built from $(git rev-parse --short "$BENCH_PROXY_REV") (git archive), not from the working tree"
    export PROXY="$dir/src/proxy/credsync-proxy"
else
    [ -x "${PROXY:-proxy/credsync-proxy}" ] && cp "${PROXY:-proxy/credsync-proxy}" "$dir/credsync-proxy"
    proxy_from="${PROXY:-proxy/credsync-proxy} of the working tree, copied at the start"
    export PROXY="$dir/credsync-proxy"
fi
as_pg tee -a "$dir/data/postgresql.conf" >/dev/null <<'EOF'
# bench/run.sh: fixed benchmark settings
max_connections = 300
shared_buffers = 2GB
wal_buffers = 16MB
max_wal_size = 16GB
min_wal_size = 1GB
checkpoint_timeout = 30min
autovacuum = off
jit = off
fsync = on
synchronous_commit = on
full_page_writes = on
EOF
cluster_start "$dir"
cluster_env "$dir"

{
    echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    measured=(extension proxy)
    [ -n "${BENCH_PROXY_REV:-}" ] && measured=(extension)  # the proxy: see "proxy:" below
    echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- "${measured[@]}" || echo " (+ uncommitted changes in: $(git diff --name-only HEAD -- "${measured[@]}" | tr '\n' ' '))")"
    echo "nproc: $(nproc)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
    echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
    echo "kernel: $(uname -r)"
    echo "virtualization: $(systemd-detect-virt 2>/dev/null || lscpu | awk -F: '/Hypervisor vendor/ {gsub(/ /,"",$2); print $2}')"
    echo "disk: $(df -T "$dir" | awk 'NR==2 {print $2 " on " $1}')"
    echo "postgres: $(psql -XAtc 'SHOW server_version')"
    echo "pgbench: $(pgbench --version)"
    echo "wrk: $(wrk -v 2>&1 | head -1)"
    echo "nginx: $(nginx -v 2>&1 | sed 's/^nginx version: //')"
    echo "proxy: $proxy_from; sha256 $(sha256sum "$PROXY" 2>/dev/null | cut -c1-16)"
    echo "loadavg at start: $(cat /proc/loadavg)"
    echo "quick: $BENCH_QUICK"
} >"$RES/machine.txt"
psql -XAt -c "SELECT name || ' = ' || setting || coalesce(' ' || unit, '') FROM pg_settings
              WHERE name IN ('max_connections','shared_buffers','wal_buffers','max_wal_size','checkpoint_timeout',
                             'autovacuum','jit','fsync','synchronous_commit','full_page_writes','wal_level',
                             'work_mem','effective_cache_size','random_page_cost','huge_pages','max_worker_processes',
                             'shared_preload_libraries')
              ORDER BY name" >"$RES/settings.txt"
cat "$RES/machine.txt"

# --- databases: each has credsync, plcredsync (PL/pgSQL), floor and the seeder ---
log "creating databases"
psql -Xq -v ON_ERROR_STOP=1 -c "CREATE DATABASE tmpl" >/dev/null
psql -Xq -v ON_ERROR_STOP=1 -d tmpl -c "CREATE EXTENSION credsync" \
    -f bench/sql/plcredsync.sql -f bench/sql/floor.sql -f bench/sql/seed.sql >/dev/null
for db in bench pull big fresh; do
    psql -Xq -v ON_ERROR_STOP=1 -c "CREATE DATABASE $db TEMPLATE tmpl" >/dev/null
done
out=$(psql -XAtq -v ON_ERROR_STOP=1 -d bench -f bench/sql/check_baseline.sql)
echo "$out" | tee "$RES/baseline-check.txt"
if grep -q MISMATCH <<<"$out"; then
    echo "the PL/pgSQL baseline does not match credsync: not measuring" >&2
    exit 1
fi
# the hot-zone runs write far more than the default 100000 items to one user
psql -XAtq -d bench -c "SELECT credsync.set_quota('hot', NULL, 2000000000)" >/dev/null

log "seeding: pull zones of ${PULL_SIZES} records; ${BIG_USERS} users x 100 records"
blob="decode(repeat('5a', 256), 'hex')"
t0=$(date +%s)
for n in ${PULL_SIZES//,/ }; do
    # zone z<n>: n live records with gencounts 1001..n+1000 (as if 1000 earlier
    # versions had been overwritten), so "since = n" is exactly 1,000 changes back.
    psql -XAtq -v ON_ERROR_STOP=1 -d pull -c "SET synchronous_commit = off;
        SELECT bench_seed('puller', 1, $n, 'z$n', 1001, $blob)" >/dev/null
done
psql -XAtq -v ON_ERROR_STOP=1 -d big -c "SET synchronous_commit = off;
    SELECT bench_seed('u', $BIG_USERS, 100, 'default', 1, $blob)" >/dev/null
# target 4's "empty" database: the same users' zones exist (empty, digest 0),
# so both databases compare pushes to existing zones; only the 1M records differ.
psql -XAtq -v ON_ERROR_STOP=1 -d fresh -c "INSERT INTO credsync.zones (user_id, zone)
    SELECT 'u' || g, 'default' FROM generate_series(1, $BIG_USERS) g" >/dev/null
psql -XAtq -v ON_ERROR_STOP=1 -d big -c "SELECT credsync.issue_token('u' || g) FROM generate_series(1, 1000) g" \
    >"$RES/tokens.txt"
for db in bench pull big fresh; do
    psql -Xq -d $db -c "VACUUM ANALYZE" >/dev/null
done
psql -Xq -c CHECKPOINT >/dev/null
{
    echo "seeding took $(( $(date +%s) - t0 )) s"
    psql -XAt -d pull -c "SELECT 'pull: zone ' || zone || ' gencount ' || gencount || ' items ' || items FROM credsync.zones ORDER BY items"
    psql -XAt -d big -c "SELECT 'big: ' || count(*) || ' zones, ' || sum(items) || ' records' FROM credsync.zones"
    for db in pull big; do
        psql -XAt -d $db -c "SELECT '$db: database size ' || pg_size_pretty(pg_database_size('$db'))"
    done
} | tee "$RES/datasets.txt"

# --- measurements ---
python3 bench/bench.py 2>&1 | tee "$RES/bench.log"
# Target client (issue 12 item 7): a new device's first sync of 10,000
# entries beside plain HTTP pulls of the same pages, and the requests of a
# sync with nothing new; on a throwaway cluster of its own (test/client/bench.sh).
if [ -z "${BENCH_ONLY:-}" ] || [[ ",$BENCH_ONLY," == *,client,* ]]; then
    log "target client: first sync vs plain HTTP pulls (test/client/bench.sh)"
    bash test/client/bench.sh 2>&1 | tee "$RES/client.txt" || log "target client failed (see $RES/client.txt)"
fi
echo "loadavg at end: $(cat /proc/loadavg)" >>"$RES/machine.txt"

# --- report ---
args=()
# A run of some targets only does not rewrite the page unless BENCH_DOC=1:
# report.py writes the whole page from this run's results.
doc_default=1
[ -n "${BENCH_ONLY:-}" ] && doc_default=0
[ "${BENCH_DOC:-$doc_default}" = 1 ] && args+=(--doc docs/performance.md)
python3 bench/report.py "$RES" "${args[@]}"
rm -f "$RES/tokens.txt"  # bearer tokens of a throwaway cluster: not kept
log "results in ${RES#$ROOT/}"
