#!/usr/bin/env bash
# Installs the built extension into the PostgreSQL that pg_config names.
# That directory belongs to root: a non-root developer needs sudo for this step.
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ] || [ -w "$(pg_config --pkglibdir)" ]; then
    make -s install >/dev/null
else
    sudo make -s install PG_CONFIG="$(command -v pg_config)" >/dev/null
fi
