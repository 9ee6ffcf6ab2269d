#!/usr/bin/env bash
# HTTP integration tests (issue 3): test/http/test_http.py drives the real
# credsync-proxy with a real HTTP client (Python's http.client and raw
# sockets) against a throwaway cluster: every route and error status, auth and
# revocation, tenant isolation, bad input, body framing, long-poll, pool
# timeout, TLS, a proxy restart (the seed scenario) and a database restart.
set -u
cd "$CREDSYNC_ROOT"
source test/lib/cluster.sh
source test/lib/tap.sh

[ -x proxy/credsync-proxy ] || make -s -C proxy >/dev/null || { not_ok "build proxy/credsync-proxy"; exit 1; }
dir=$(pg_owned_tmpdir http)
work=$(mktemp -d "${TMPDIR:-/tmp}/credsync-http.XXXXXX")
cleanup() {
    cluster_destroy "$dir"
    # Keep the proxy logs of the last run for a look after a failure.
    mkdir -p build/test-logs && cp "$work"/*.log build/test-logs/ 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
cluster_new "$dir" && cluster_start "$dir" || { not_ok "start throwaway cluster"; exit 1; }
cluster_env "$dir"
psql -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE credsync" >/dev/null || { not_ok "create database"; exit 1; }
# Small limits, set in the database, so the tests see limits come from there.
PGDATABASE=credsync psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || { not_ok "set up the credsync database"; exit 1; }
CREATE EXTENSION credsync;
CREATE ROLE credsync_proxy LOGIN;
SELECT credsync.grant_proxy('credsync_proxy');
ALTER DATABASE credsync SET credsync.max_blob_bytes = '4kB';
ALTER DATABASE credsync SET credsync.max_batch_records = 50;
SQL
python3 test/http/test_http.py "$dir" "$work"
