# Where `make start` keeps its cluster (sourced by start.sh and stop.sh).
#
# The cluster runs as the `postgres` OS user when we are root (PostgreSQL
# refuses root), and that user must be able to reach its data directory.
# Inside a clone that only its owner can enter (a mode-700 home, a mktemp -d)
# it cannot, so then the cluster lives in /var/lib/credsync-dev/<hash of the
# clone's path>/ instead, and .credsync/runtime names that place. Everything
# else (the proxy's log, pid, the demo token) stays in .credsync/.
#
# Sets: state (the clone's .credsync), runtime (where the cluster and, when we
# are root, the proxy's copy live), dir (the cluster).
state=$PWD/.credsync
mkdir -p "$state"
chmod 700 "$state"   # holds the demo token

pg_can_reach() {
    [ "$(id -u)" != 0 ] && return 0
    runuser -u postgres -- test -x "$1" 2>/dev/null
}

if [ -f "$state/runtime" ]; then
    runtime=$(cat "$state/runtime")
elif [ -f "$state/pg/data/PG_VERSION" ]; then
    runtime=$state   # a cluster made by an earlier make start, in .credsync/pg
elif pg_can_reach "$PWD"; then
    runtime=$state/local
else
    runtime=/var/lib/credsync-dev/$(printf '%s' "$PWD" | sha256sum | cut -c1-16)
fi
mkdir -p "$runtime"
[ "$runtime" = "$state" ] || chmod 755 "$runtime"
if [ "$runtime" != "${runtime#"$state"}" ]; then
    chmod 711 "$state"   # postgres passes through to its directory, lists nothing
fi
echo "$runtime" >"$state/runtime"
dir=$runtime/pg
