#!/usr/bin/env bash
# Accounts, login and devices (issue 11) and deleting one's own data (issue
# 16) over HTTP: test/http/test_accounts.py drives the real credsync-proxy
# against a throwaway cluster with extension 1.4: signup, login from a second
# device, refused proofs (another name, another or a foreign challenge, a
# reused or expired one) answered byte for byte like an unknown name, the
# rate limit (429 with Retry-After, unknown names too, across a proxy
# restart, another name unaffected), devices of two users, revocation within
# 2 s (a waiting long-poll too), a password change logging the others out,
# deleting a zone (old cursors 410, counting on), deleting the account while
# other devices push (nothing left), strict query strings.
# CREDSYNC_PROXY_BIN runs it against another build.
set -u
cd "$CREDSYNC_ROOT"
source test/lib/cluster.sh
source test/lib/tap.sh
source test/lib/http_stack.sh

[ -n "${CREDSYNC_PROXY_BIN:-}" ] || [ -x proxy/credsync-proxy ] || make -s -C proxy >/dev/null || { not_ok "build proxy/credsync-proxy"; exit 1; }
# Debian's python3 has python3-nacl (scripts/install-deps.sh); another
# python3 first in PATH may not: the test then signs with test/tools/ed25519-sign.
py=python3
/usr/bin/python3 -c 'import nacl.signing' 2>/dev/null && py=/usr/bin/python3
http_stack_setup accounts
"$py" test/http/test_accounts.py "$dir" "$work"
