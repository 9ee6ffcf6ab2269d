#!/usr/bin/env bash
# Runs every suite in test/suites/ in name order and tallies their results.
#
# A suite is an executable script that prints one line per check:
#   "ok - <name>" or "not ok - <name>"
# Anything else it prints (figures, diagnostics) is shown as is. A suite that
# exits non-zero without reporting a failure counts as one failed check, so a
# crash can never pass silently. The last line is "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
export CREDSYNC_ROOT=$PWD
mkdir -p build/test-logs
passed=0 failed=0 failed_names=()
only=${CREDSYNC_SUITES:-}
for suite in test/suites/*.sh; do
    name=$(basename "$suite" .sh)
    if [ -n "$only" ] && ! grep -qw -- "$name" <<<"$only"; then continue; fi
    echo "=== $name"
    log=build/test-logs/$name.log
    bash "$suite" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    p=$(grep -c '^ok - ' "$log")
    f=$(grep -c '^not ok - ' "$log")
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
        echo "not ok - $name exited with status $rc"
        f=1
    fi
    passed=$((passed + p)) failed=$((failed + f))
    while IFS= read -r line; do failed_names+=("$name: ${line#not ok - }"); done < <(grep '^not ok - ' "$log")
    [ "$rc" != 0 ] && [ "$f" = 1 ] && [ "$(grep -c '^not ok - ' "$log")" = 0 ] && failed_names+=("$name: exited with status $rc")
done
if [ "$failed" -gt 0 ]; then
    echo "--- failed:"
    printf '  %s\n' "${failed_names[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
