#!/usr/bin/env bash
# Compiles docs/client.md's embedding example (between its example markers)
# against the public headers and libcredsync.a into build/client/example.
set -eu
cd "$(dirname "$0")/../.."
mkdir -p build/client
sed -n '/<!-- example:begin/,/<!-- example:end/p' docs/client.md | sed '1,2d;$d' | sed '$d' >build/client/example.cpp
g++ -std=c++17 -Wall -Wextra -Werror -Iclient/include $(pkg-config --cflags cpp-httplib) -o build/client/example \
    build/client/example.cpp client/libcredsync.a $(pkg-config --libs cpp-httplib libsodium sqlite3) -lssl -lcrypto -pthread
