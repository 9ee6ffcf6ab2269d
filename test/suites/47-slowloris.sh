#!/usr/bin/env bash
# Slow and idle clients (issue 4, item 5): more idle keep-alive, slowloris and
# slow-body connections than credsync-proxy has threads, then a well-behaved
# client must be served within 1 s. The proxy alone cannot (cpp-httplib 0.11.4
# gives each connection a thread for its whole life: figures A and B); nginx in
# front with the project's deploy/nginx/credsync-server.conf can (check C).
# Needs nginx (scripts/install-deps.sh installs it). See docs/http.md.
set -u
cd "$CREDSYNC_ROOT"
source test/lib/cluster.sh
source test/lib/tap.sh

[ -n "${CREDSYNC_PROXY_BIN:-}" ] || [ -x proxy/credsync-proxy ] || make -s -C proxy >/dev/null || { not_ok "build proxy/credsync-proxy"; exit 1; }
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { not_ok "nginx is installed (make deps)"; exit 1; }
dir=$(pg_owned_tmpdir slow)
work=$(mktemp -d "${TMPDIR:-/tmp}/credsync-slow.XXXXXX")
chmod 755 "$work"
cleanup() {
    cluster_destroy "$dir"
    mkdir -p build/test-logs && cp "$work"/*.log build/test-logs/ 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
cluster_new "$dir" && cluster_start "$dir" || { not_ok "start throwaway cluster"; exit 1; }
cluster_env "$dir"
psql -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE credsync" >/dev/null || { not_ok "create database"; exit 1; }
PGDATABASE=credsync psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || { not_ok "set up the credsync database"; exit 1; }
CREATE EXTENSION credsync;
CREATE ROLE credsync_proxy LOGIN;
SELECT credsync.grant_proxy('credsync_proxy');
SQL
python3 test/hostile/slow_clients.py "$dir" "$work"
