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
source test/lib/http_stack.sh

[ -n "${CREDSYNC_PROXY_BIN:-}" ] || [ -x proxy/credsync-proxy ] || make -s -C proxy >/dev/null || { not_ok "build proxy/credsync-proxy"; exit 1; }
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { not_ok "nginx is installed (make deps)"; exit 1; }
http_stack_setup slow
python3 test/hostile/slow_clients.py "$dir" "$work"
