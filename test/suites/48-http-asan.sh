#!/usr/bin/env bash
# The HTTP integration tests (40-http) and the hostile corpus (45-hostile) once
# more, against credsync-proxy built with AddressSanitizer + UndefinedBehavior-
# Sanitizer (make -C proxy asan -> build/asan/credsync-proxy). Sanitizer reports
# go to files (ASAN_OPTIONS/UBSAN_OPTIONS log_path) whatever a test does with the
# proxy's stderr; any report, leaks at a clean exit included, fails the suite.
set -u
cd "$CREDSYNC_ROOT"
source test/lib/tap.sh

if ! make -s -C proxy asan >build/asan-build.log 2>&1; then
    tail -20 build/asan-build.log
    not_ok "build the sanitizer proxy (make -C proxy asan)"
    exit 1
fi
reports=$(mktemp -d "${TMPDIR:-/tmp}/credsync-asan.XXXXXX")
trap 'rm -rf "$reports"' EXIT
chmod 777 "$reports"
export CREDSYNC_PROXY_BIN=$PWD/build/asan/credsync-proxy
export ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1:abort_on_error=0:halt_on_error=1:print_summary=1"
export LSAN_OPTIONS="suppressions=$PWD/test/asan/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:halt_on_error=1"
echo "# proxy: $CREDSYNC_PROXY_BIN (ASan + UBSan)"
bash test/suites/40-http.sh
bash test/suites/45-hostile.sh
n=$(find "$reports" -type f | wc -l)
if [ "$n" = 0 ]; then
    ok "no AddressSanitizer, LeakSanitizer or UndefinedBehaviorSanitizer report from the sanitizer proxy"
else
    mkdir -p build/test-logs
    cat "$reports"/* >build/test-logs/sanitizer-reports.log
    grep -hE 'ERROR: |SUMMARY: |runtime error' "$reports"/* | sort | uniq -c | head -20
    not_ok "sanitizer reports from the proxy: $n (build/test-logs/sanitizer-reports.log)"
fi
