#!/usr/bin/env bash
# libFuzzer over the proxy's request parsing and validation (issue 4, item 4):
# a short run (FUZZ_SECONDS, default 20) of test/fuzz/fuzz.sh. `make stress`
# runs the same target for minutes (test/fuzz/run-long.sh).
set -u
cd "$CREDSYNC_ROOT"
bash test/fuzz/fuzz.sh "${FUZZ_SECONDS:-20}" "fuzz (short)"
