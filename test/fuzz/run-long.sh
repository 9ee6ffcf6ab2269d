#!/usr/bin/env bash
# The fuzzer's fixed budget in `make stress`: FUZZ_LONG_SECONDS (default 300)
# of test/fuzz/fuzz.sh. Exit status non-zero on any crash or sanitizer report.
set -u
cd "$(dirname "$0")/../.."
echo "=== fuzz: request parsing and validation, ${FUZZ_LONG_SECONDS:-300} s (ASan + UBSan)"
bash test/fuzz/fuzz.sh "${FUZZ_LONG_SECONDS:-300}" "fuzz (stress)"
