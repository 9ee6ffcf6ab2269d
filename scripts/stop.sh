#!/usr/bin/env bash
# `make stop`: stops the proxy and the project-local cluster that
# scripts/start.sh started. With --proxy-only, only the proxy.
set -u
cd "$(dirname "$0")/.."
source test/lib/cluster.sh
source scripts/runtime-dir.sh
pidfile=$state/proxy.pid
if [ -f "$pidfile" ]; then
    pid=$(cat "$pidfile")
    # Only our proxy: the pid must still be a credsync-proxy process.
    if kill -0 "$pid" 2>/dev/null && grep -q credsync-proxy "/proc/$pid/cmdline" 2>/dev/null; then
        kill -TERM "$pid"
        for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            echo "proxy $pid did not stop in 15 s; killing it" >&2
            kill -KILL "$pid"
        fi
        [ "${1:-}" = --proxy-only ] || echo "proxy stopped"
    fi
    rm -f "$pidfile"
fi
[ "${1:-}" = --proxy-only ] && exit 0
if [ -f "$dir/data/postmaster.pid" ]; then
    cluster_stop "$dir"
    echo "cluster stopped (data kept in $dir)"
fi
exit 0
