#!/usr/bin/env bash
# The Debian packages (issue 14): `make deb` builds them, lintian finds no
# error, they install onto this machine with dpkg -i, the installed units pass
# systemd-analyze verify (and stay sandboxed: `security` exposure <= 2.0), the
# packaged extension runs the regression suite through `make installcheck`
# against a throwaway cluster (PGXS: PGHOST/PGPORT), the packaged proxy runs
# from its unit's command line with the packaged settings file, so does the
# compaction job, an upgrade keeps an edited conffile, and dpkg -r / -P remove
# everything. META.json is checked against the PGXN meta spec's rules here too.
#
# Installing puts the packages' files where `make install` puts the
# extension, and removing them deletes those files, which every other suite
# needs: the development install is restored afterwards, whatever happens
# (`make -s install -o proxy/credsync-proxy -o client`, in an EXIT trap).
#
# Needs root (dpkg -i), as CI runs; as another user it uses `sudo -n`.
# Not possible here: starting the units under systemd (no systemd runs on the
# test machines): test/packaging/unit_exec.py runs their ExecStart= as systemd
# would, minus the sandbox.
set -u
cd "$CREDSYNC_ROOT"
source test/lib/cluster.sh
source test/lib/tap.sh

priv() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }
if ! priv true 2>/dev/null; then
    not_ok "80-packages needs root or passwordless sudo (dpkg -i)"
    exit 0
fi

pkgs_all=(postgresql-15-credsync credsync-proxy credsync)
installed_pkgs() {
    local p
    for p in "${pkgs_all[@]}"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -qE 'install ok (installed|unpacked|half)|deinstall ok config-files' && echo "$p"
    done
}
pre=$(installed_pkgs)
if [ -n "$pre" ]; then
    # Someone installed them on purpose: this suite would remove them.
    not_ok "credsync packages already installed here ($(echo $pre)): remove them first (dpkg -P), this suite installs and removes its own"
    exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/credsync-packages.XXXXXX")
chmod 755 "$work"
dir=
proxy_pid=
cleanup() {
    [ -n "$proxy_pid" ] && kill "$proxy_pid" 2>/dev/null && wait "$proxy_pid" 2>/dev/null
    [ -n "$dir" ] && cluster_destroy "$dir"
    local left
    left=$(installed_pkgs)
    [ -n "$left" ] && priv dpkg -P $left >/dev/null 2>&1
    # The development install that the other suites use (the packages' removal
    # deleted those very files).
    priv make -s install -o proxy/credsync-proxy -o client >/dev/null 2>&1 ||
        echo "80-packages: could not restore the development install (make install)" >&2
    mkdir -p build/test-logs && cp "$work"/*.log build/test-logs/ 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# --- META.json (PGXN) -----------------------------------------------------
check "META.json follows the PGXN meta spec and names the extension's version and files" \
    /usr/bin/python3 test/packaging/check_meta.py META.json extension/credsync.control

# --- build ----------------------------------------------------------------
out=$CREDSYNC_ROOT/build/deb
start=$(date +%s)
if ! DEB_OUT=$out bash scripts/build-deb.sh >"$work/build-deb.log" 2>&1; then
    cat "$work/build-deb.log"
    not_ok "make deb builds the packages"
    exit 0
fi
ok "make deb builds the packages ($(( $(date +%s) - start )) s)"
version=$(dpkg-deb -f "$(ls "$out"/credsync-proxy_*.deb)" Version)
debs=()
for p in "${pkgs_all[@]}"; do
    f=$(ls "$out"/${p}_*.deb 2>/dev/null | head -1)
    [ -n "$f" ] && debs+=("$f")
done
if [ -f client/Makefile ] && grep -q '^credsync:' client/Makefile && compgen -G 'client/cli/*.cpp' >/dev/null; then
    check "the client command is packaged (credsync_*.deb)" test -n "$(ls "$out"/credsync_*.deb 2>/dev/null)"
else
    echo "# no client command in client/ yet: the credsync package is not built (profile noclient)"
fi

# --- lintian --------------------------------------------------------------
lintian --tag-display-limit 0 "$out"/*.changes >"$work/lintian.log" 2>&1
grep -E '^[EW]: ' "$work/lintian.log" | sed 's/^/# /'
errors=$(grep -c '^E: ' "$work/lintian.log")
expect_eq "lintian reports no errors" 0 "$errors"

# --- install --------------------------------------------------------------
if ! priv dpkg -i "${debs[@]}" >"$work/dpkg-install.log" 2>&1; then
    cat "$work/dpkg-install.log"
    not_ok "dpkg -i installs the packages"
    exit 0
fi
ok "dpkg -i installs ${#debs[@]} packages ($version)"

pkglib=/usr/lib/postgresql/15/lib
share=/usr/share/postgresql/15/extension
layout_ok=1
for f in "$pkglib/credsync.so" "$share/credsync.control" extension/credsync--*.sql; do
    f=${f/#extension/$share}
    owner=$(dpkg -S "$f" 2>/dev/null | cut -d: -f1)
    [ "$owner" = postgresql-15-credsync ] || { echo "# $f: owned by '${owner:-nobody}'"; layout_ok=; }
done
check "the extension is laid out as Debian's postgresql-15-* packages ($pkglib, $share), every script of extension/ included" test -n "$layout_ok"
check "the installed files match the packages' checksums (dpkg --verify)" \
    test -z "$(dpkg --verify "${pkgs_all[@]}" 2>&1)"
conffiles=$(dpkg-query -W -f='${Conffiles}' credsync-proxy | awk '{print $1}' | sort | tr '\n' ' ')
expect_eq "credsync-proxy's settings are conffiles" "/etc/credsync/compact.env /etc/credsync/proxy.env " "$conffiles"
check "the packages created the system users credsync_proxy and credsync_maint" \
    bash -c 'getent passwd credsync_proxy >/dev/null && getent passwd credsync_maint >/dev/null'
check "the packaged proxy runs (credsync-proxy --help)" bash -c '/usr/bin/credsync-proxy --help | grep -q -- --check'
if [ -e /usr/bin/credsync ]; then
    check "the packaged client's libraries all resolve (ldd /usr/bin/credsync)" \
        bash -c '! ldd /usr/bin/credsync | grep -q "not found"'
fi

# --- the units --------------------------------------------------------------
units=(/lib/systemd/system/credsync-proxy.service /lib/systemd/system/credsync-compact.service
       /lib/systemd/system/credsync-compact.timer)
verify_out=$(systemd-analyze verify "${units[@]}" 2>&1)
verify_rc=$?
[ -n "$verify_out" ] && echo "$verify_out" | sed 's/^/# /'
check "systemd-analyze verify accepts the installed units (silently)" test "$verify_rc" = 0 -a -z "$verify_out"
for u in credsync-proxy.service credsync-compact.service; do
    level=$(systemd-analyze security --offline=true --no-pager "/lib/systemd/system/$u" 2>/dev/null |
        sed -nE 's/.*Overall exposure level for [^:]*: ([0-9.]+).*/\1/p')
    if [ -n "$level" ] && awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }'; then
        ok "$u stays sandboxed (systemd-analyze security: exposure $level <= 2.0)"
    else
        not_ok "$u stays sandboxed (systemd-analyze security: exposure ${level:-unknown} > 2.0)"
    fi
done

# --- the packaged extension on a throwaway cluster ------------------------
dir=$(pg_owned_tmpdir packages)
cluster_new "$dir" || { not_ok "make a throwaway cluster"; exit 0; }
# As on a Debian server (pg_hba.conf's "local all all peer"): the services'
# roles log in by peer authentication only, so their OS users must be the
# packages' system users. (The test's other connections stay trust.)
as_pg sed -i '1i local credsync credsync_proxy,credsync_maint peer' "$dir/data/pg_hba.conf"
cluster_start "$dir" || { not_ok "start a throwaway cluster on the packaged extension"; exit 0; }
cluster_env "$dir"
port=$(cluster_port "$dir")
# The regression suite through PGXS's installcheck, against this existing
# server named by PGHOST/PGPORT, as any PGXS extension's.
mkdir -p "$work/regress"
if make -s installcheck ISOLATION= \
        REGRESS_OPTS="--inputdir=. --outputdir=$work/regress --load-extension=plpgsql" \
        >"$work/installcheck.log" 2>&1; then
    ok "make installcheck passes against the packaged extension ($(grep -c '\.\.\. ok' "$work/installcheck.log") tests)"
else
    grep -E 'FAILED|failed' "$work/installcheck.log" | sed 's/^/# /'
    not_ok "make installcheck passes against the packaged extension (see build/test-logs/installcheck.log)"
    cp "$work/regress/regression.diffs" "$work/regression-diffs.log" 2>/dev/null
fi
default_version=$(sed -nE "s/^default_version = '([^']+)'.*/\1/p" extension/credsync.control)
psql -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE credsync" >/dev/null
# docs/install.md's set-up (the extension, credsync_proxy, credsync_maint), as written:
# the sql block after the line that names this suite.
awk '/<!-- 80-packages runs the next sql block/ { m = 1; next }
     m && /^```sql/ { b = 1; next }  b && /^```/ { exit }  b' docs/install.md >"$work/install-setup.sql"
PGDATABASE=credsync psql -X -q -v ON_ERROR_STOP=1 -f "$work/install-setup.sql" >"$work/setup.log" 2>&1
rc=$?
check "docs/install.md's set-up SQL runs as written ($(grep -c ';' "$work/install-setup.sql") statements)" \
    bash -c "[ $rc = 0 ] && grep -q 'CREATE ROLE credsync_maint' '$work/install-setup.sql'"
expect_eq "CREATE EXTENSION credsync makes the default version from the packaged files" "$default_version" \
    "$(PGDATABASE=credsync psql -X -A -t -c "SELECT extversion FROM pg_extension WHERE extname = 'credsync'")"
check "peer authentication refuses the role credsync_proxy to another OS user (root)" \
    bash -c "! psql -X -q 'host=$dir/sock port=$port dbname=credsync user=credsync_proxy' -c 'SELECT 1' 2>&1 | grep -q '^1\$' &&
             psql -X -q 'host=$dir/sock port=$port dbname=credsync user=credsync_proxy' -c 'SELECT 1' 2>&1 | grep -q 'Peer authentication failed'"

# --- the packaged proxy, its settings file and its unit's command line ------
listen_port=$(free_port)
env_file=/etc/credsync/proxy.env
cp -p "$env_file" "$work/proxy.env.orig"
# What an administrator does: point the packaged settings at the database.
edit_env() {  # edit_env FILE NAME VALUE
    priv sed -i -E "s|^$2=.*|$2=\"$3\"|" "$1"
}
edit_env "$env_file" CREDSYNC_DB "host=$dir/sock port=$port dbname=credsync user=credsync_proxy"
edit_env "$env_file" CREDSYNC_LISTEN "127.0.0.1:$listen_port"
edit_env "$env_file" CREDSYNC_FLAGS "--open-registration --threads 16 --max-waiters 4"
priv /usr/sbin/credsync-proxy-check >"$work/check.log" 2>&1
rc=$?
sed 's/^/# /' "$work/check.log"
check "credsync-proxy-check finds the configuration in order (as credsync_proxy, with the packaged file)" \
    test "$rc" = 0
sed "s|dbname=credsync|dbname=nosuchdb|" "$env_file" >"$work/bad.env"
priv /usr/sbin/credsync-proxy-check "$work/bad.env" >"$work/check-bad.log" 2>&1
rc=$?
check "credsync-proxy-check fails (exit 1) on a database that does not exist" \
    bash -c "[ $rc = 1 ] && grep -q FAIL '$work/check-bad.log'"
argv=$(/usr/bin/python3 test/packaging/unit_exec.py /lib/systemd/system/credsync-proxy.service --print)
expect_eq "the unit runs the packaged binary as credsync_proxy with the settings as arguments" \
    "credsync_proxy|/usr/bin/credsync-proxy|--db|host=$dir/sock port=$port dbname=credsync user=credsync_proxy|--listen|127.0.0.1:$listen_port|--open-registration|--threads|16|--max-waiters|4" \
    "$(echo "$argv" | paste -sd'|')"
/usr/bin/python3 test/packaging/unit_exec.py /lib/systemd/system/credsync-proxy.service >"$work/proxy.log" 2>&1 &
proxy_pid=$!
for _ in $(seq 1 100); do grep -q 'ready on' "$work/proxy.log" && break; sleep 0.1; done
check "the proxy started from the unit's ExecStart says it is ready" grep -q 'ready on' "$work/proxy.log"
check "the proxy runs as the system user credsync_proxy" \
    bash -c "ps -o user= -C credsync-proxy | grep -qx credsync_proxy"
P=http://127.0.0.1:$listen_port
health=$(curl -sS -m 5 "$P/healthz")
expect_eq "GET /healthz through the packaged proxy" '{"status":"ok"}' "$health"
reg=$(curl -sS -m 5 -X POST "$P/v1/register")
token=$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["token"])' "$reg" 2>/dev/null)
push=$(curl -sS -m 5 -X POST "$P/v1/zones/default/push" -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' -d '{"records":[{"blob":"aGVsbG8="}]}')
pull=$(curl -sS -m 5 "$P/v1/zones/default/pull?since=0" -H "Authorization: Bearer $token")
check "register, push and pull through the packaged proxy and extension" \
    bash -c "grep -q '\"gencount\":1' <<<'$push' && grep -q 'aGVsbG8=' <<<'$pull'"
kill -TERM "$proxy_pid" 2>/dev/null
wait "$proxy_pid"
rc=$?
proxy_pid=
expect_eq "the proxy exits 0 on SIGTERM (the unit's KillSignal)" 0 "$rc"

# --- the compaction job ---------------------------------------------------
# Tombstones to compact: a record pushed and deleted. The role loses its
# grant for a moment, to see that it is what the job needs.
PGDATABASE=credsync psql -X -q -v ON_ERROR_STOP=1 >>"$work/setup.log" 2>&1 <<'SQL'
SELECT credsync.sync_delete('compact-me', 'z', (SELECT item FROM credsync.sync_push('compact-me', 'z', '\x01')));
REVOKE EXECUTE ON PROCEDURE credsync.compact_batched(interval, integer, bigint) FROM credsync_maint;
SQL
compact_env=/etc/credsync/compact.env
cp -p "$compact_env" "$work/compact.env.orig"
edit_env "$compact_env" CREDSYNC_COMPACT_DB "host=$dir/sock port=$port dbname=credsync user=credsync_maint"
edit_env "$compact_env" CREDSYNC_COMPACT_KEEP "0 seconds"
# Without its grants the role may not compact: the job fails, loudly.
/usr/bin/python3 test/packaging/unit_exec.py /lib/systemd/system/credsync-compact.service >"$work/compact-denied.log" 2>&1
rc=$?
check "the compaction job fails (exit $rc) while credsync_maint lacks its grant" \
    bash -c "[ $rc != 0 ] && grep -q 'permission denied' '$work/compact-denied.log'"
PGDATABASE=credsync psql -X -q -v ON_ERROR_STOP=1 >>"$work/setup.log" 2>&1 <<'SQL'
GRANT EXECUTE ON PROCEDURE credsync.compact_batched(interval, integer, bigint) TO credsync_maint;
SQL
/usr/bin/python3 test/packaging/unit_exec.py /lib/systemd/system/credsync-compact.service >"$work/compact.log" 2>&1
rc=$?
sed 's/^/# /' "$work/compact.log"
horizon=$(PGDATABASE=credsync psql -X -A -t -c "SELECT horizon FROM credsync.sync_state('compact-me', 'z')")
check "the compaction job (as credsync_maint, install.md's grants only) removes the tombstone: horizon 2" \
    bash -c "[ $rc = 0 ] && [ '$horizon' = 2 ] && grep -q 'compaction done: [1-9][0-9]* rows removed' '$work/compact.log'"

# --- upgrade ----------------------------------------------------------------
# A newer version of the same packages (repacked with a higher version: the
# maintainer scripts' upgrade path is what is tested; 61-upgrade tests the
# extension's own update scripts). dpkg must keep the edited conffiles.
newer="$version+upgradetest"
mkdir -p "$work/newer"
newdebs=()
for f in "${debs[@]}"; do
    x="$work/newer/x"
    rm -rf "$x" && dpkg-deb -R "$f" "$x"
    sed -i "s/^Version: .*/Version: $newer/" "$x/DEBIAN/control"
    n="$work/newer/$(basename "${f%%_*}")_new.deb"
    dpkg-deb --root-owner-group -b "$x" "$n" >/dev/null && newdebs+=("$n")
done
rm -rf "$work/newer/x"
priv dpkg -i --force-confold "${newdebs[@]}" >"$work/dpkg-upgrade.log" 2>&1
rc=$?
expect_eq "dpkg -i upgrades the packages to $newer" "0 $newer" \
    "$rc $(dpkg-query -W -f='${Version}' credsync-proxy)"
check "the upgrade kept the edited settings (conffile)" grep -q "port=$port dbname=credsync" "$env_file"
check "after the upgrade the extension still works" \
    bash -c "PGDATABASE=credsync psql -X -A -t -c \"SELECT gencount FROM credsync.sync_push('up', 'z', '\\\\x02')\" | grep -qx 1"

# --- removal ----------------------------------------------------------------
cluster_stop "$dir"
files=$(dpkg -L "${pkgs_all[@]}" 2>/dev/null | sort -u)
priv dpkg -r "${pkgs_all[@]}" >"$work/dpkg-remove.log" 2>&1
rc=$?
left=$(while IFS= read -r f; do [ -f "$f" ] && echo "$f"; done <<<"$files")
expect_eq "dpkg -r removes every packaged file but the conffiles" "0 /etc/credsync/compact.env /etc/credsync/proxy.env" \
    "$rc $(echo $left)"
priv dpkg -P "${pkgs_all[@]}" >"$work/dpkg-purge.log" 2>&1
rc=$?
left=$(while IFS= read -r f; do [ -e "$f" ] && [ ! -d "$f" ] && echo "$f"; done <<<"$files")
check "dpkg -P purges the settings and leaves nothing of the packages" \
    bash -c "[ $rc = 0 ] && [ -z '$left' ] && [ ! -e /etc/credsync ] && [ -z \"\$(dpkg-query -W -f='\${Status}' ${pkgs_all[*]} 2>/dev/null | grep -v not-installed)\" ]"
exit 0
