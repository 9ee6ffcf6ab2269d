#!/usr/bin/env bash
# Installs the Debian 12 packages credsync needs, only those that are missing.
# As root it uses apt-get directly; otherwise sudo (or tells you what to run).
set -eu
#
#   install-deps.sh start   what building and `make start` need
#   install-deps.sh [test]  that, plus what the test suites, `make stress`,
#                           `make bench` and `make deb` use
start_packages=(
    build-essential pkg-config python3 curl
    postgresql-15 postgresql-server-dev-15
    libpq-dev libssl-dev libcpp-httplib-dev nlohmann-json3-dev
    libsodium-dev         # client/: Argon2id, Ed25519, XChaCha20-Poly1305
    libsqlite3-dev        # client/: the device's local store
)
test_packages=(
    postgresql-contrib    # sql/08_tokens.sql checks the HMAC against pgcrypto's
    openssl               # test/tools/ed25519-sign: login signatures in the regress tests
    python3-nacl          # test/http/test_accounts.py (49-accounts): Ed25519 login signatures
    iproute2              # test/hostile/lifecycle.py: ss shows the pool's keepalive timers
    nginx                 # test/suites/41-smuggling.sh, 47-slowloris.sh: the shipped front (deploy/nginx/)
    clang libclang-rt-14-dev   # test/suites/46-fuzz.sh, 48-http-asan.sh: libFuzzer, ASan, UBSan
    debhelper dpkg-dev lintian systemd python3-jsonschema python3-yaml python3-cryptography  # tests only (issue 14): 80-packages (make deb, lintian, systemd-analyze), 81-openapi (schemas, Ed25519)
    liblz4-dev libzstd-dev libcurl4-openssl-dev libkrb5-dev   # tests only (issue 13): 90-citus builds Citus 13.2.2 from ../shared/vendor (test/lib/citus.sh)
)
packages=("${start_packages[@]}")
if [ "${1:-test}" != start ]; then
    packages+=("${test_packages[@]}")
    command -v npm >/dev/null || packages+=(npm)  # tests only (issue 14): 81-openapi's OpenAPI validator (npm ci)
fi
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} = 0 ] && exit 0
echo "installing: ${missing[*]}"
sudo=
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "run as root: apt-get install ${missing[*]}" >&2; exit 1; }
    sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
# Debian's postgresql-common creates and starts a "main" cluster on install;
# we never use it (tests start their own), so don't let it be created.
if [ ! -e /etc/postgresql-common/createcluster.conf ] || ! grep -q '^create_main_cluster = false' /etc/postgresql-common/createcluster.conf; then
    $sudo mkdir -p /etc/postgresql-common/createcluster.d
    echo 'create_main_cluster = false' | $sudo tee /etc/postgresql-common/createcluster.d/credsync.conf >/dev/null
fi
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
