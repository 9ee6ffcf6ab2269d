#!/usr/bin/env bash
# `make deb`: builds the Debian packages (debian/) with dpkg-buildpackage into
# build/deb/:
#   postgresql-15-credsync  the extension, laid out as Debian's postgresql-15-* packages
#   credsync-proxy          the proxy, its systemd units, /etc/credsync/*.env
#   credsync                the client command (only when client/ has one; see below)
#
# It builds in a copy of the working tree (build/deb/src): the build runs
# `debian/rules clean` and compiles with Debian's hardening flags, neither of
# which may touch the objects of the tree that `make` and the tests use. The
# copy's proxy and client objects are kept from one run to the next (their
# Makefiles track header dependencies), so a second `make deb` only compiles
# what changed; the extension (a couple of seconds) is always built afresh,
# since PGXS does not track headers.
#
# The package version is the extension's default_version plus the commit it
# was built from, so that each build of a newer commit upgrades the last one:
#   1.4+git20261129.131500.ff04f1f2   (DEB_VERSION=... overrides it)
# Environment: DEB_JOBS (default 2), DEB_VERSION, DEB_OUT (default build/deb).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${DEB_OUT:-$root/build/deb}
stage=$out/src
jobs=${DEB_JOBS:-2}

for tool in dpkg-buildpackage dh; do
    command -v "$tool" >/dev/null || { echo "make deb: $tool is missing (apt-get install dpkg-dev debhelper)" >&2; exit 1; }
done

if [ -z "${DEB_VERSION:-}" ]; then
    ext=$(sed -nE "s/^default_version = '([^']+)'.*/\1/p" extension/credsync.control)
    if git rev-parse -q --verify HEAD >/dev/null 2>&1; then
        when=$(TZ=UTC git log -1 --date=format-local:%Y%m%d.%H%M%S --format=%cd HEAD)
        DEB_VERSION="$ext+git$when.$(git rev-parse --short=8 HEAD)"
    else
        DEB_VERSION=$ext
    fi
fi

# The client command is another part of the tree: package it when the tree
# has one (client/Makefile with a `credsync` target and sources for it), and
# build without the `credsync` package otherwise (build profile noclient).
profiles=
if ! { [ -f client/Makefile ] && grep -q '^credsync:' client/Makefile &&
       compgen -G 'client/cli/*.cpp' >/dev/null; }; then
    profiles=noclient
    echo "make deb: no client command in client/ yet: building without the credsync package"
fi

# A fresh copy of the working tree (tracked and new files, not ignored ones),
# keeping the previous build's proxy and client objects.
mkdir -p "$out"
keep=$out/.objects
rm -rf "$keep"
if [ -d "$stage" ]; then
    mkdir -p "$keep"
    (cd "$stage" && find proxy client -type f \( -name '*.o' -o -name '*.d' -o -name '*.a' \) -print0 2>/dev/null |
        tar --null -T - -cf - 2>/dev/null) | tar -xf - -C "$keep" 2>/dev/null || true
fi
rm -rf "$stage"
mkdir -p "$stage"
git ls-files -z -c -o --exclude-standard | grep -zv '^build/' |
    (while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done) |
    tar --null -T - -cf - | tar -xf - -C "$stage"
[ -d "$keep" ] && cp -a "$keep"/. "$stage"/ && rm -rf "$keep"

# This build's version, in the copy only.
sed -i "1s/^credsync ([^)]*)/credsync ($DEB_VERSION)/" "$stage/debian/changelog"

rm -f "$out"/*.deb "$out"/*.buildinfo "$out"/*.changes
log=$out/build.log
echo "make deb: building $DEB_VERSION in $stage (log: $log)"
(
    cd "$stage"
    # -nc: the copy is new, nothing to clean (and keeping the objects is the point).
    dpkg-buildpackage -b -us -uc -nc -j"$jobs" ${profiles:+-P"$profiles"}
) >"$log" 2>&1 || { tail -40 "$log" >&2; echo "make deb: the build failed (whole log: $log)" >&2; exit 1; }
ls -1 "$out"/*.deb
