#!/usr/bin/env bash
# Request smuggling (issue 10, item 1): requests that cpp-httplib or the proxy
# answer without reading their bodies, each with a second request hidden in
# the body around the 4 KiB and 8 KiB marks, straight at the proxy and through
# nginx with the shipped deploy/nginx/credsync-server.conf, two users. See
# test/hostile/smuggling.py.
set -u
cd "$CREDSYNC_ROOT"
source test/lib/cluster.sh
source test/lib/tap.sh
source test/lib/http_stack.sh

[ -n "${CREDSYNC_PROXY_BIN:-}" ] || [ -x proxy/credsync-proxy ] || make -s -C proxy >/dev/null || { not_ok "build proxy/credsync-proxy"; exit 1; }
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { not_ok "nginx is installed (make deps)"; exit 1; }
http_stack_setup smuggle
python3 test/hostile/smuggling.py "$dir" "$work"
