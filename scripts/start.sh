#!/usr/bin/env bash
# `make start`: a project-local PostgreSQL cluster under .credsync/pg (kept
# between runs, so data survives a restart), the database `credsync` with the
# extension, a login role for the proxy, and credsync-proxy on 127.0.0.1:8080
# (log in .credsync/proxy.log). Prints a demo token and a working curl push
# and pull. `make stop` (scripts/stop.sh) stops both.
set -eu
cd "$(dirname "$0")/.."
source test/lib/cluster.sh

root=$PWD/.credsync
dir=$root/pg
listen=${CREDSYNC_LISTEN:-127.0.0.1:8080}
proxy_role=credsync_proxy
mkdir -p "$root"
chmod 755 "$root"   # the postgres OS user must reach .credsync/pg

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
nohup proxy/credsync-proxy --db "$conninfo" --listen "$listen" \
    ${CREDSYNC_PROXY_FLAGS:-} >>"$root/proxy.log" 2>&1 </dev/null &
echo $! >"$root/proxy.pid"
for _ in $(seq 1 100); do
    curl -fsS "http://$listen/healthz" >/dev/null 2>&1 && break
    kill -0 "$(cat "$root/proxy.pid")" 2>/dev/null || { echo "the proxy exited; see $root/proxy.log" >&2; tail -5 "$root/proxy.log" >&2; exit 1; }
    sleep 0.1
done
curl -fsS "http://$listen/healthz" >/dev/null || { echo "the proxy is not healthy; see $root/proxy.log" >&2; exit 1; }

token=$(psql_q -d credsync -c "SELECT credsync.issue_token('demo', 'make start')")
cat <<EOF2

credsync is running.
  database: psql "host=$dir/sock port=$(cluster_port "$dir") dbname=credsync user=postgres"
  proxy:    http://$listen   (log: .credsync/proxy.log, docs: docs/http.md)
  demo user 'demo', token (shown once):
    $token

Push a record (the blob is base64 of your ciphertext) and pull it back:

  TOKEN=$token
  curl -sS -X POST http://$listen/v1/zones/default/push \\
       -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' \\
       -d '{"records": [{"blob": "aGVsbG8gd29ybGQ="}]}'
  curl -sS "http://$listen/v1/zones/default/pull?since=0" -H "Authorization: Bearer \$TOKEN"

Stop everything with: make stop
EOF2
