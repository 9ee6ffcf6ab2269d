# Shared set-up of the HTTP suites (40-http, 45-hostile, 47-slowloris): a
# throwaway cluster with a `credsync` database holding the extension and a
# login role for the proxy. Sets $dir (the cluster) and $work (logs and
# scratch), and a trap that destroys both, keeping the proxy logs in
# build/test-logs/ for a look after a failure. Needs cluster.sh and tap.sh.

# The small limits the HTTP tests expect, set in the database so that the
# proxy is seen to read its limits from there.
HTTP_TEST_LIMITS="ALTER DATABASE credsync SET credsync.max_blob_bytes = '4kB';
ALTER DATABASE credsync SET credsync.max_batch_records = 50;"

http_stack_cleanup() {
    cluster_destroy "$dir"
    mkdir -p build/test-logs && cp "$work"/*.log build/test-logs/ 2>/dev/null
    rm -rf "$work"
}

# http_stack_setup NAME [SQL to run in the credsync database after the grants]
http_stack_setup() {
    local name=$1 extra_sql=${2:-}
    dir=$(pg_owned_tmpdir "$name")
    work=$(mktemp -d "${TMPDIR:-/tmp}/credsync-$name.XXXXXX")
    chmod 755 "$work"  # servers running as other users (nginx) write here too
    trap http_stack_cleanup EXIT
    cluster_new "$dir" && cluster_start "$dir" || { not_ok "start throwaway cluster"; exit 1; }
    cluster_env "$dir"
    psql -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE credsync" >/dev/null || { not_ok "create database"; exit 1; }
    PGDATABASE=credsync psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<SQL || { not_ok "set up the credsync database"; exit 1; }
CREATE EXTENSION credsync;
CREATE ROLE credsync_proxy LOGIN;
SELECT credsync.grant_proxy('credsync_proxy');
$extra_sql
SQL
}
