#!/usr/bin/env bash
# `make start`: a project-local PostgreSQL cluster (kept between runs, so data
# survives a restart; where it lives: scripts/runtime-dir.sh), the database
# `credsync` with the extension, a login role for the proxy, and
# credsync-proxy on 127.0.0.1:8080 (log in .credsync/proxy.log), never as
# root. Prints the one live demo token and a working curl push and pull.
# `make stop` (scripts/stop.sh) stops both.
set -eu
cd "$(dirname "$0")/.."
source test/lib/cluster.sh
source scripts/runtime-dir.sh

listen=${CREDSYNC_LISTEN:-127.0.0.1:8080}
proxy_role=credsync_proxy

port_busy() {
    python3 -c 'import socket,sys; s=socket.socket(); sys.exit(0 if s.connect_ex(("127.0.0.1",int(sys.argv[1])))==0 else 1)' "$1"
}

if [ ! -f "$dir/data/PG_VERSION" ]; then
    port=54329
    port_busy $port && port=$(free_port)
    echo "creating the cluster in $dir (port $port)"
    cluster_new "$dir" "$port"
fi
if [ "$(cluster_preload "$dir")" = changed ]; then
    echo "added credsync to shared_preload_libraries (its notifier); restarting the cluster"
    cluster_stop "$dir"
fi
if ! as_pg "$PG_BINDIR/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    cluster_start "$dir" || { echo "cluster did not start; see $dir/data/server.log" >&2; exit 1; }
fi
cluster_env "$dir"
# How to reach this cluster as its superuser (the README's SQL uses it).
echo "host=$dir/sock port=$(cluster_port "$dir") user=postgres" >"$state/conninfo"
psql_q() { psql -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }

[ "$(psql_q -d postgres -c "SELECT 1 FROM pg_database WHERE datname = 'credsync'")" = 1 ] ||
    psql_q -d postgres -c "CREATE DATABASE credsync"
psql_q -d credsync <<SQL
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS credsync;
ALTER EXTENSION credsync UPDATE;
DO \$\$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$proxy_role') THEN
        CREATE ROLE $proxy_role LOGIN;
    END IF;
END \$\$;
SELECT credsync.grant_proxy('$proxy_role');
SQL

# A proxy from an earlier `make start` is replaced (it may be an older build).
bash scripts/stop.sh --proxy-only
if port_busy "${listen##*:}"; then
    echo "something else listens on $listen; set CREDSYNC_LISTEN=host:port" >&2
    exit 1
fi
conninfo="host=$dir/sock port=$(cluster_port "$dir") user=$proxy_role dbname=credsync"
# Sign-up is on for this local server (on 127.0.0.1 unless CREDSYNC_LISTEN says
# otherwise), so that `credsync signup` works right away;
# CREDSYNC_PROXY_FLAGS= (empty) turns it off.
flags=${CREDSYNC_PROXY_FLAGS---open-registration}

# Never the proxy as root: as root it runs as `nobody`, from a copy of the
# binary in the runtime directory (the clone may be private to root).
proxy=proxy/credsync-proxy
run_as=()
if [ "$(id -u)" = 0 ]; then
    mkdir -p "$runtime/bin"
    install -m 755 proxy/credsync-proxy "$runtime/bin/credsync-proxy"
    proxy=$runtime/bin/credsync-proxy
    run_as=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
fi
"${run_as[@]}" "$proxy" --check --db "$conninfo" --listen "$listen" $flags |
    sed 's/^/  /' || { echo "credsync-proxy --check failed (above)" >&2; exit 1; }
nohup "${run_as[@]}" "$proxy" --db "$conninfo" --listen "$listen" \
    $flags >>"$state/proxy.log" 2>&1 </dev/null &
echo $! >"$state/proxy.pid"
for _ in $(seq 1 100); do
    curl -fsS "http://$listen/healthz" >/dev/null 2>&1 && break
    kill -0 "$(cat "$state/proxy.pid")" 2>/dev/null || { echo "the proxy exited; see $state/proxy.log" >&2; tail -5 "$state/proxy.log" >&2; exit 1; }
    sleep 0.1
done
curl -fsS "http://$listen/healthz" >/dev/null || { echo "the proxy is not healthy; see $state/proxy.log" >&2; exit 1; }

# Exactly one live demo token: the one from an earlier start if it still
# works, else a new one, after revoking every other 'make start' token of the
# demo user (their text is not kept anywhere else, so they are revoked by
# label).
token=$(cat "$state/demo-token" 2>/dev/null || true)
# (Asked by its SHA-256: a token never travels to PostgreSQL in the clear.)
if [ -z "$token" ] ||
   [ "$(psql_q -d credsync -c "SELECT credsync.token_user_hash('\\x$(printf %s "$token" | sha256sum | cut -c1-64)')")" != demo ]; then
    psql_q -d credsync -c "SELECT credsync.token_revoke_all('demo', 'make start')" >/dev/null
    token=$(psql_q -d credsync -c "SELECT credsync.issue_token('demo', 'make start')")
    (umask 077 && echo "$token" >"$state/demo-token")
fi
cat <<EOF2

credsync is running.
  database: psql "host=$dir/sock port=$(cluster_port "$dir") dbname=credsync user=postgres"
            (data in $dir; the connection string is also in .credsync/conninfo)
  proxy:    http://$listen   (log: .credsync/proxy.log, docs: docs/http.md)
            sign-up: $(case " $flags " in *" --open-registration "*) echo "on (client/credsync signup NAME; docs/client.md)";; *) echo off;; esac)
  demo user 'demo', token (also in .credsync/demo-token; the same on every start):
    $token

Push a record (the blob is base64 of your ciphertext) and pull it back:

  TOKEN=\$(cat .credsync/demo-token)
  curl -sS -X POST http://$listen/v1/zones/default/push \\
       -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' \\
       -d '{"records": [{"blob": "aGVsbG8gd29ybGQ="}]}'
  curl -sS "http://$listen/v1/zones/default/pull?since=0" -H "Authorization: Bearer \$TOKEN"

Stop everything with: make stop
EOF2
