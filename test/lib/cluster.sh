# Throwaway PostgreSQL clusters for tests, benchmarks and `make start`.
#
# PostgreSQL refuses to run as root, so when we are root every server-side
# command runs as the `postgres` OS user; a non-root developer runs them as
# themselves. Source this file, then:
#
#   cluster_new DIR [PORT]   initdb DIR, pick a free port, write settings
#                            (credsync preloaded, for its notifier, unless
#                            CREDSYNC_PRELOAD=0)
#   cluster_preload DIR      add credsync to shared_preload_libraries of an
#                            older cluster; says "changed" if it did
#   cluster_start DIR        start it and wait until it accepts connections
#   cluster_stop DIR         fast shutdown
#   cluster_kill9 DIR        kill -9 the postmaster (crash tests)
#   cluster_env DIR          export PGHOST/PGPORT/PGUSER/PGDATABASE for DIR
#   cluster_conninfo DIR     a libpq conninfo string for DIR
#
# Clients (psql, pg_regress, our programs) may run as root: they connect over
# the cluster's own Unix socket directory DIR/sock as database user `postgres`.

PG_BINDIR=${PG_BINDIR:-$(pg_config --bindir)}

as_pg() {
    if [ "$(id -u)" = 0 ]; then
        # From /: the caller's directory may be one postgres cannot enter
        # (a clone in a mode-700 home); every path passed here is absolute.
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

# A TCP port nobody listens on (the OS picks it; races are unlikely in tests).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Make a fresh directory the server user can own.
pg_owned_tmpdir() {
    local d
    d=$(mktemp -d "${TMPDIR:-/tmp}/credsync-${1:-pg}.XXXXXX")
    chmod 755 "$d"
    [ "$(id -u)" = 0 ] && chown postgres: "$d"
    echo "$d"
}

cluster_new() {
    local dir=$1 port=${2:-$(free_port)}
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    chmod 700 "$dir"
    as_pg "$PG_BINDIR/initdb" -D "$dir/data" -U postgres -A trust --no-sync -E UTF8 --locale=C.UTF-8 >/dev/null || return 1
    mkdir -p "$dir/sock"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir/sock"
    # The parent directory must be traversable by root clients only; keep it 711.
    chmod 711 "$dir"
    as_pg tee -a "$dir/data/postgresql.conf" >/dev/null <<EOF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir/sock'
max_connections = 200
fsync = on
synchronous_commit = on
log_min_messages = warning
logging_collector = off
EOF
    [ "${CREDSYNC_PRELOAD:-1}" = 0 ] || cluster_preload "$dir" >/dev/null
    echo "$port" >"$dir/port"
}

# Preloading lets credsync hand NOTIFY to its notifier worker instead of
# serializing every push's commit (docs/operations.md).
cluster_preload() {
    local conf=$1/data/postgresql.conf
    grep -q "^shared_preload_libraries = 'credsync'" "$conf" && return 0
    as_pg tee -a "$conf" >/dev/null <<<"shared_preload_libraries = 'credsync'"
    echo changed
}

cluster_start() {
    local dir=$1
    as_pg "$PG_BINDIR/pg_ctl" -D "$dir/data" -l "$dir/data/server.log" -w -t 60 start >/dev/null
}

cluster_stop() {
    local dir=$1
    as_pg "$PG_BINDIR/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
}

cluster_kill9() {
    local dir=$1 pid
    pid=$(head -1 "$dir/data/postmaster.pid" 2>/dev/null) || return 0
    kill -9 "$pid" 2>/dev/null || true
    cluster_wait_gone "$dir" "$pid"
}

# After a kill -9, a new postmaster refuses to start while the old PID still
# exists (a zombie not yet reaped answers kill -0) or while orphaned backends
# live on (their working directory is the data directory). Wait for both.
cluster_wait_gone() {
    local dir=$1 pid=$2 p busy
    for _ in $(seq 1 300); do
        busy=
        [ -n "$pid" ] && [ -e "/proc/$pid" ] && busy=1
        if [ -z "$busy" ]; then
            for p in /proc/[0-9]*; do
                [ "$(readlink "$p/cwd" 2>/dev/null)" = "$dir/data" ] && { busy=1; break; }
            done
        fi
        [ -z "$busy" ] && return 0
        sleep 0.05
    done
    return 1
}

cluster_port() { cat "$1/port"; }

cluster_env() {
    export PGHOST="$1/sock" PGPORT=$(cluster_port "$1") PGUSER=postgres PGDATABASE=${PGDATABASE:-postgres}
}

cluster_conninfo() {
    echo "host=$1/sock port=$(cluster_port "$1") user=postgres dbname=${2:-postgres}"
}

cluster_destroy() {
    cluster_stop "$1"
    rm -rf "$1"
}

# Streaming replication (test/suites/60-replication.sh):
#
#   cluster_new_standby PRIMARY DIR [APPNAME] [PORT]
#       a hot standby of the running cluster PRIMARY, made with
#       pg_basebackup -R (so it streams from PRIMARY with application_name
#       APPNAME, default "standby"), with its own port and socket directory;
#       not started
#   cluster_promote DIR           pg_ctl promote, wait until it accepts writes
#   cluster_wait_caught_up PRIMARY STANDBY [SECONDS]
#       wait until STANDBY has replayed everything PRIMARY has flushed
cluster_new_standby() {
    local primary=$1 dir=$2 app=${3:-standby} port=${4:-$(free_port)}
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    chmod 700 "$dir"
    as_pg "$PG_BINDIR/pg_basebackup" -D "$dir/data" -R -X stream -c fast --no-sync \
        -d "host=$primary/sock port=$(cluster_port "$primary") user=postgres application_name=$app" || return 1
    rm -f "$dir/data/server.log"
    mkdir -p "$dir/sock"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir/sock"
    chmod 711 "$dir"
    # Later lines win: the copied postgresql.conf names the primary's port.
    as_pg tee -a "$dir/data/postgresql.conf" >/dev/null <<EOC
port = $port
unix_socket_directories = '$dir/sock'
hot_standby = on
EOC
    echo "$port" >"$dir/port"
}

cluster_promote() {
    as_pg "$PG_BINDIR/pg_ctl" -D "$1/data" -w -t 60 promote >/dev/null
}

cluster_wait_caught_up() {
    local primary=$1 standby=$2 secs=${3:-30} target i
    target=$(psql -X -A -t -q -h "$primary/sock" -p "$(cluster_port "$primary")" -U postgres -d postgres \
        -c "SELECT pg_current_wal_flush_lsn()") || return 1
    for i in $(seq 1 $((secs * 10))); do
        [ "$(psql -X -A -t -q -h "$standby/sock" -p "$(cluster_port "$standby")" -U postgres -d postgres \
            -c "SELECT coalesce(pg_last_wal_replay_lsn() >= '$target', false)" 2>/dev/null)" = t ] && return 0
        sleep 0.1
    done
    return 1
}
