#!/usr/bin/env bash
# docs/openapi.yaml (issue 14):
#  1. validated by a maintained OpenAPI validator: @apidevtools/swagger-parser
#     (npm; pinned by test/openapi/package-lock.json), which checks the
#     document against the OpenAPI Initiative's 3.1 schema and resolves every
#     $ref. Debian 12 packages none that reads 3.1 (python3-openapi-spec-validator
#     is not in bookworm; libjson-validator-perl and kin-openapi stop at 3.0).
#  2. what that validator does not check for 3.x (test/openapi/doc_checks.py):
#     schemas valid under Draft 2020-12, unique operationIds, path parameters,
#     error codes per status, the statuses every path can answer.
#  3. a real proxy driven through every documented operation and status, each
#     answer checked against the document (test/openapi/drive.py, Debian's
#     python3-jsonschema); an operation the proxy does not serve fails.
set -u
cd "$CREDSYNC_ROOT"
source test/lib/cluster.sh
source test/lib/tap.sh
source test/lib/http_stack.sh

doc=docs/openapi.yaml
py=/usr/bin/python3   # Debian's, with python3-jsonschema, python3-yaml, python3-cryptography

# --- 1. the validator -------------------------------------------------------
# Installed from the lock file into build/ (never into the tree), again only
# when the lock changes.
vdir=build/openapi-validator
if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
    not_ok "node and npm are needed for the OpenAPI validator (apt-get install npm)"
elif ! cmp -s test/openapi/package-lock.json "$vdir/package-lock.json" || [ ! -d "$vdir/node_modules" ]; then
    rm -rf "$vdir" && mkdir -p "$vdir"
    cp test/openapi/package.json test/openapi/package-lock.json "$vdir/"
    if ! (cd "$vdir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) >"$vdir.log" 2>&1; then
        cat "$vdir.log"
        rm -rf "$vdir"
        not_ok "install the OpenAPI validator (npm ci in $vdir)"
    fi
fi
if [ -d "$vdir/node_modules" ]; then
    out=$(node test/openapi/validate.js "$PWD/$vdir/node_modules" "$doc" 2>&1)
    rc=$?
    echo "$out" | sed 's/^/# /'
    check "$doc is a valid OpenAPI 3.1 document (swagger-parser)" test "$rc" = 0
    # The validator must be able to fail: a dangling \$ref and an unknown
    # field in an operation are refused.
    bad=$(mktemp "${TMPDIR:-/tmp}/credsync-openapi-bad.XXXXXX.yaml")
    sed 's|#/components/schemas/ZoneState|#/components/schemas/NoSuchSchema|' "$doc" >"$bad"
    ! node test/openapi/validate.js "$PWD/$vdir/node_modules" "$bad" >/dev/null 2>&1
    r1=$?
    sed 's|^      operationId: pull$|      operationId: pull\n      notAField: 1|' "$doc" >"$bad"
    ! node test/openapi/validate.js "$PWD/$vdir/node_modules" "$bad" >/dev/null 2>&1
    r2=$?
    rm -f "$bad"
    check "the validator refuses a dangling \$ref and an unknown operation field" test "$r1$r2" = 00
fi

# --- 2. what the validator leaves out ---------------------------------------
out=$(cd test/openapi && $py - "$CREDSYNC_ROOT/$doc" <<'PY'
import sys
from oas import Document
import doc_checks
for name, problems in doc_checks.run_all(Document(sys.argv[1])).items():
    print(("not ok - " if problems else "ok - ") + "document: " + name.replace("_", " "))
    for p in problems:
        print("#   " + p)
PY
)
echo "$out"

# --- 3. the proxy, driven through the document ------------------------------
[ -x proxy/credsync-proxy ] || make -s -C proxy >/dev/null || { not_ok "build proxy/credsync-proxy"; exit 0; }
http_stack_setup openapi "$HTTP_TEST_LIMITS"
$py test/openapi/drive.py "$dir" "$work"
exit 0
