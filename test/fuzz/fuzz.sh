#!/usr/bin/env bash
# Builds and runs the libFuzzer target over the proxy's request parsing and
# validation (test/fuzz/request_fuzzer.cpp, ASan + UBSan) for a fixed time.
#
#   test/fuzz/fuzz.sh SECONDS [LABEL]
#
# Reads the checked-in seeds (test/fuzz/corpus/) and the inputs earlier runs
# found (build/fuzz/work/, not checked in). Prints "ok - ..." or "not ok - ...";
# exits non-zero on a crash, a sanitizer report, a broken invariant, a leak,
# a timeout or an out-of-memory. A crashing input is kept as
# build/fuzz/artifacts/crash-* (replay: build/fuzz/request-fuzzer FILE).
set -u
cd "$(dirname "$0")/../.."
secs=${1:-20} label=${2:-fuzz}
ok()     { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; }
# Everything below writes under build/, which a fresh clone does not have.
mkdir -p build/fuzz/work build/fuzz/artifacts
if ! make -s -C proxy fuzz >build/fuzz-build.log 2>&1; then
    tail -20 build/fuzz-build.log
    not_ok "$label: build the fuzzer (make -C proxy fuzz)"
    exit 1
fi
log=build/fuzz/last-run.log
# -fno-sanitize-recover makes UBSan abort; ASan aborts by itself; both are
# reported by libFuzzer as a crash with the input saved.
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    build/fuzz/request-fuzzer -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -dict=test/fuzz/request.dict -artifact_prefix=build/fuzz/artifacts/ -print_final_stats=1 \
    build/fuzz/work test/fuzz/corpus >"$log" 2>&1
rc=$?
runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$')
cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
seeds=$(ls test/fuzz/corpus | wc -l)
echo "# $label: ${runs:-?} inputs in ${secs} s (${speed:-?}/s), coverage ${cov:-?} edges, $seeds seeds + $(ls build/fuzz/work | wc -l) found"
if [ "$rc" = 0 ] && ! grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|invariant broken|deadly signal' "$log"; then
    ok "$label: ${runs:-?} inputs through request parsing and validation, no crash, sanitizer report or broken invariant"
else
    grep -E -A12 'ERROR:|runtime error:|invariant broken|deadly signal' "$log" | head -40
    ls build/fuzz/artifacts/ 2>/dev/null | sed 's/^/# artifact: build\/fuzz\/artifacts\//'
    not_ok "$label: the fuzzer found a problem (exit $rc; log $log)"
    exit 1
fi
