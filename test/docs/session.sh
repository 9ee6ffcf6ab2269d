#!/usr/bin/env bash
# session.sh CLONE OUT: the docs' examples against a fresh server, as a reader
# runs them (test/suites/91-docs.sh):
#
#   1. in CLONE (a throwaway copy of the repository), start the server the
#      way docs/http.md says: `CREDSYNC_PROXY_FLAGS=--open-registration make
#      start`, minus the building and installing `make test` has done
#      already, i.e. scripts/start.sh (a fresh cluster in CLONE/.credsync, the
#      database `credsync`, the proxy on 127.0.0.1:8080, the demo token in
#      .credsync/demo-token, the superuser's conninfo in .credsync/conninfo);
#   2. run OUT/session.bash (run_examples.py gen) from CLONE's root, in a
#      clean environment, within CREDSYNC_DOCS_TIMEOUT seconds (default 120);
#   3. stop the server (scripts/stop.sh).
#
# It runs in a network namespace of its own (`unshare --net`, from the suite),
# so 127.0.0.1:8080, the address the docs write, is ours whatever else runs on
# the machine (another make start, other suites), and the docs' commands need
# no other address. (CREDSYNC_DOCS_NO_NETNS=1: run where we are, the suite
# having checked that nothing listens on 127.0.0.1:8080.)
set -u
clone=$1 out=$2
[ -n "${CREDSYNC_DOCS_NO_NETNS:-}" ] || ip link set lo up ||
    { echo "cannot bring up lo in the namespace" >&2; exit 1; }
cd "$clone" || exit 1
trap 'bash scripts/stop.sh >>"$out/stop.log" 2>&1' EXIT
if ! CREDSYNC_PROXY_FLAGS=--open-registration bash scripts/start.sh >"$out/start.log" 2>&1; then
    echo "scripts/start.sh failed:" >&2
    tail -20 "$out/start.log" >&2
    exit 1
fi
env -i PATH="$PATH" HOME="${HOME:-/root}" LANG=C.UTF-8 TERM=dumb \
    timeout -k 5 "${CREDSYNC_DOCS_TIMEOUT:-120}" bash --noprofile --norc "$out/session.bash" \
    >"$out/session.log" 2>&1
echo $? >"$out/session.rc"
exit 0
