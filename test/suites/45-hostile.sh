#!/usr/bin/env bash
# Hostile input (issue 4, item 4): test/hostile/corpus.ndjson (448 malformed or
# hostile requests, made by test/hostile/gen_corpus.py) sent raw to a real
# credsync-proxy on a throwaway cluster by test/hostile/run_corpus.py: each is
# refused with a 4xx JSON error, nothing is stored in any user's data, no answer
# leaks SQL, traces or another user's data, and the proxy stays up.
# CREDSYNC_PROXY_BIN runs it against another build.
set -u
cd "$CREDSYNC_ROOT"
source test/lib/cluster.sh
source test/lib/tap.sh

[ -n "${CREDSYNC_PROXY_BIN:-}" ] || [ -x proxy/credsync-proxy ] || make -s -C proxy >/dev/null || { not_ok "build proxy/credsync-proxy"; exit 1; }
dir=$(pg_owned_tmpdir hostile)
work=$(mktemp -d "${TMPDIR:-/tmp}/credsync-hostile.XXXXXX")
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
ALTER DATABASE credsync SET credsync.max_blob_bytes = '4kB';
ALTER DATABASE credsync SET credsync.max_batch_records = 50;
SQL
python3 test/hostile/run_corpus.py "$dir" "$work"
