#!/usr/bin/env bash
# The seed's scenario end to end (issue 12 item 6): two devices, the database
# restored from an earlier dump, a third device adds; everyone converges and
# nothing acknowledged is lost. test/client/seed.py.
set -u
cd "$CREDSYNC_ROOT"
source test/lib/cluster.sh
source test/lib/tap.sh
source test/lib/http_stack.sh

[ -x proxy/credsync-proxy ] || make -s -C proxy >/dev/null || { not_ok "build proxy/credsync-proxy"; exit 1; }
make -s -C client >/dev/null || { not_ok "build client/credsync"; exit 1; }
http_stack_setup client-seed
python3 test/client/seed.py "$dir" "$work"
