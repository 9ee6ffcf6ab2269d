# Citus for the test suites (test/suites/90-citus.sh, docs/scaling.md).
#
# Citus is not in Debian. Source this file, then:
#
#   citus_ensure        install Citus 13.2.2 into the PostgreSQL that pg_config
#                       names, built from ../shared/vendor/citus-13.2.2.tar.gz
#                       with deploy/citus/*.patch applied, unless 13.2.2 with
#                       those patches is installed already (then nothing is
#                       built: a second run costs a file read). Prints one
#                       line saying which.
#   citus_has_fixes     whether the installed Citus carries deploy/citus's
#                       bug fixes (citus-13.2.2-null-distribution-argument:
#                       a distributed function called with a NULL first
#                       argument crashed the backend)
#   citus_cluster_new DIR [PORT]
#                       cluster_new with citus first in shared_preload_libraries
#                       (Citus requires to be first), then credsync's notifier;
#                       wal_level = logical for shard moves without blocking
#                       writes (citus_rebalance_start)
#
# Someone with Citus from its own packages has 13.2.2 installed already, but
# without deploy/citus's fixes: citus_ensure builds it again over it, unless
# CREDSYNC_CITUS_SKIP_BUILD=1 (then the packaged library is used, and the
# checks that call a function with a NULL user crash its backend and fail).

CITUS_VERSION=13.2.2
CITUS_SHA256=c8fc76dc8294636a52b1a0dd75a20d8b4a36937df6443e30ca84d8d0464a6bb9

citus_installed_version() {
    local control
    control="$(pg_config --sharedir)/extension/citus.control"
    [ -f "$control" ] && [ -f "$(pg_config --pkglibdir)/citus.so" ] || return 1
    sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" "$control"
}

# Whether the installed library carries deploy/citus's bug fixes (a build
# from ../shared/vendor does; Citus's own packages do not): each fix adds a
# message of its own to the library.
citus_has_fixes() {
    strings "$(pg_config --pkglibdir)/citus.so" 2>/dev/null |
        grep -q "cannot push down function call with a NULL distribution argument"
}

citus_ensure() {
    local root=${CREDSYNC_ROOT:?} have tarball build patch
    have=$(citus_installed_version || true)
    # default_version of 13.2.2 is "13.2-1"; the library says its full version.
    if [ -n "$have" ] && strings "$(pg_config --pkglibdir)/citus.so" 2>/dev/null | grep -q "^Citus $CITUS_VERSION"; then
        if citus_has_fixes; then
            echo "citus: $CITUS_VERSION installed already"
            return 0
        fi
        if [ "${CREDSYNC_CITUS_SKIP_BUILD:-0}" = 1 ]; then
            echo "citus: $CITUS_VERSION installed without deploy/citus's fixes (CREDSYNC_CITUS_SKIP_BUILD=1):" \
                 "a call with a NULL user crashes its backend (docs/scaling.md)"
            return 0
        fi
        echo "citus: $CITUS_VERSION installed without deploy/citus's fixes: building it again"
    elif [ "${CREDSYNC_CITUS_SKIP_BUILD:-0}" = 1 ]; then
        echo "citus: $CITUS_VERSION is not installed and CREDSYNC_CITUS_SKIP_BUILD=1" >&2
        return 1
    fi
    tarball=${CREDSYNC_CITUS_TARBALL:-$root/../shared/vendor/citus-$CITUS_VERSION.tar.gz}
    [ -f "$tarball" ] || { echo "citus: $tarball not found (see README: Citus)" >&2; return 1; }
    echo "$CITUS_SHA256  $tarball" | sha256sum -c --quiet - || { echo "citus: $tarball: wrong sha256" >&2; return 1; }
    build=$(mktemp -d "${TMPDIR:-/tmp}/credsync-citus-build.XXXXXX")
    tar xzf "$tarball" -C "$build" --strip-components=1 || return 1
    for patch in "$root"/deploy/citus/*.patch; do
        patch -d "$build" -p1 --quiet --forward <"$patch" || { echo "citus: $patch does not apply" >&2; return 1; }
    done
    echo "citus: building $CITUS_VERSION in $build (a few minutes; once per machine)"
    (cd "$build" && ./configure --quiet >configure.log 2>&1 && make -s -j"$(nproc)" >build.log 2>&1 &&
        make -s install >install.log 2>&1) || {
        echo "citus: build failed; logs in $build" >&2
        tail -20 "$build"/*.log >&2
        return 1
    }
    rm -rf "$build"
    echo "citus: $CITUS_VERSION installed"
}

citus_cluster_new() {
    local dir=$1
    CREDSYNC_PRELOAD=0 cluster_new "$@" || return 1
    as_pg tee -a "$dir/data/postgresql.conf" >/dev/null <<EOF
shared_preload_libraries = 'citus,credsync'
max_prepared_transactions = 100
wal_level = logical
citus.log_remote_commands = off
EOF
}
