# Reporting helpers for suites (see test/run-all.sh).
ok()     { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; }
# check NAME CMD...: run CMD, report by its exit status.
check() {
    local name=$1; shift
    if "$@"; then ok "$name"; else not_ok "$name"; fi
}
# expect_eq NAME EXPECTED ACTUAL
expect_eq() {
    if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (expected '$2', got '$3')"; fi
}
