#!/usr/bin/env bash
# Docs that are tested (issue 16, item 1):
#  1. every shell example of README.md and docs/http.md, run as written, in
#     order, in one bash session, from a throwaway copy of the repository,
#     against a fresh server started there as docs/http.md says
#     (test/docs/session.sh); each answer compared with the doc's
#     (test/docs/run_examples.py; the convention: docs/testing.md, "Examples
#     in the docs are tested");
#  2. the README's SQL: its comments' claims (test/docs/readme_sql.py);
#  3. every test, suite, spec, SQL function, file, flag and make target the
#     docs name exists (test/docs/names.py);
#  4. controls: each of the above fails on a doc that is wrong.
set -u
cd "$CREDSYNC_ROOT"
source test/lib/cluster.sh
source test/lib/tap.sh

work=$(mktemp -d "${TMPDIR:-/tmp}/credsync-docs.XXXXXX")
chmod 755 "$work"   # the cluster in the copy runs as postgres
clone=$work/clone out=$work/out
mkdir -p "$clone" "$out"
cleanup() {
    # Whatever the session left running (it stops both itself, normally),
    # and the cluster's directory when make start put it outside the copy
    # (scripts/runtime-dir.sh: a copy postgres cannot enter).
    local pid runtime
    pid=$(cat "$clone/.credsync/proxy.pid" 2>/dev/null) &&
        grep -q credsync-proxy "/proc/$pid/cmdline" 2>/dev/null && kill -TERM "$pid"
    runtime=$(cat "$clone/.credsync/runtime" 2>/dev/null)
    if [ -n "$runtime" ]; then
        [ -f "$runtime/pg/data/postmaster.pid" ] && cluster_stop "$runtime/pg"
        case $runtime in "$clone"/*) ;; /var/lib/credsync-dev/?*) rm -rf "$runtime" ;; esac
    fi
    mkdir -p build/test-logs/91-docs
    cp "$out"/*.log "$out"/session.bash build/test-logs/91-docs/ 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

[ -x proxy/credsync-proxy ] || make -s -C proxy >/dev/null || { not_ok "build proxy/credsync-proxy"; exit 0; }

# --- 1. the examples ---------------------------------------------------------
# The copy is what a clone has (the tracked files, as they are in this tree)
# plus the built proxy; without git, the tree minus what building and
# starting made.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z | tar --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -xf - -C "$clone"
else
    tar --exclude=./.git --exclude=./.credsync --exclude=./build -cf - . | tar -xf - -C "$clone"
fi
cp proxy/credsync-proxy "$clone/proxy/"
docs=(README.md docs/http.md)
if ! python3 test/docs/run_examples.py gen "$out" . "${docs[@]}" 2>"$work/gen.err"; then
    not_ok "extract the examples of ${docs[*]}: $(cat "$work/gen.err")"
    exit 0
fi
# A network namespace of its own gives the session 127.0.0.1:8080, the
# address the docs write, whatever else listens on this machine. Without one
# (not root), the machine's own address, if nothing listens there.
t0=$(date +%s)
if unshare --net -- true 2>/dev/null; then
    unshare --net -- bash test/docs/session.sh "$clone" "$out"
elif ! python3 -c 'import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(("127.0.0.1",8080))==0)'; then
    not_ok "the docs' examples need 127.0.0.1:8080: no network namespace (unshare --net needs root) and the port is taken"
    exit 0
else
    CREDSYNC_DOCS_NO_NETNS=1 bash test/docs/session.sh "$clone" "$out"
fi
check "a fresh server started as docs/http.md says (scripts/start.sh, --open-registration)" test -f "$out/session.rc"
echo "# the session took $(($(date +%s) - t0)) s (exit status $(cat "$out/session.rc" 2>/dev/null))"
python3 test/docs/run_examples.py check "$out"

# --- 2. the README's SQL: its comments' claims --------------------------------
python3 test/docs/readme_sql.py "$out"

# --- 3. every name the docs mention exists ------------------------------------
python3 test/docs/names.py .

# --- 4. controls: each check fails on a doc that is wrong ---------------------
# The comparison: every answer that matched, against a doc changed one way at a time.
python3 test/docs/run_examples.py control "$out"
# The session: test/docs/control-examples.md, run the same way (no server needed).
ctl=$work/control && mkdir -p "$ctl/out" "$ctl/cwd"
python3 test/docs/run_examples.py gen "$ctl/out" . test/docs/control-examples.md &&
    (cd "$ctl/cwd" && env -i PATH="$PATH" LANG=C.UTF-8 timeout 30 bash --noprofile --norc "$ctl/out/session.bash" >/dev/null 2>&1)
got=$(python3 test/docs/run_examples.py check "$ctl/out")
want_lines=(
    "^ok - test/docs/control-examples.md:9 "                                      # the answer holds
    "^not ok - test/docs/control-examples.md:14 "                                  # a JSON answer that differs
    "^#   expected an HTTP answer, but the step made no HTTP request"            # ... and no request
    "^#   body.a: expected 2, got 1"
    "^not ok - test/docs/control-examples.md:20 "                                  # a command that fails
    "^#   a command failed (status 1) at test/docs/control-examples.md:18"
    "^not ok - test/docs/control-examples.md:24 "                                  # stderr and exit status
    "^#   the step's last command exited with status 2"
    "^#   it wrote to stderr: "
    "^not ok - test/docs/control-examples.md:29 "                                  # a text answer that differs
)
missing=()
for w in "${want_lines[@]}"; do grep -q -- "$w" <<<"$got" || missing+=("$w"); done
n_steps=$(grep -c '^\(not \)\?ok - ' <<<"$got")
if [ ${#missing[@]} = 0 ] && [ "$n_steps" = 5 ]; then
    ok "control: a wrong example fails with its doc and line (test/docs/control-examples.md)"
else
    not_ok "control: a wrong example fails with its doc and line (test/docs/control-examples.md)"
    printf '#   expected a line matching %s\n' "${missing[@]}"
    echo "$got" | sed 's/^/#   | /'
fi
# The README's claims: the output with the first push's gencount changed.
rctl=$work/readme-control && mkdir -p "$rctl"
cp "$out/steps.json" "$rctl/"
n=$(python3 -c 'import json,sys; print(next(m["n"] for m in json.load(open(sys.argv[1])) if m.get("file") == "README.md" and any("<<'"'"'SQL'"'"'" in t for _, t in m.get("commands", []))))' "$out/steps.json" 2>/dev/null)
if [ -n "$n" ] && [ -f "$out/$n.out" ]; then
    sed '0,/|        1$/s//|        3/' "$out/$n.out" >"$rctl/$n.out"
    check "control: a claim of the README's SQL that does not hold fails" \
        grep -q '^not ok - README.md:[0-9]* (item, gencount 1)' <(python3 test/docs/readme_sql.py "$rctl")
else
    not_ok "control: the README's SQL step and its output (step $n)"
fi
# The names: test/docs/control-names.md names one thing per kind that does not exist.
got=$(python3 test/docs/names.py . "$PWD/test/docs/control-names.md")
bad=$(grep -c '^not ok - the docs name only existing' <<<"$got")
check "control: a name of each kind that does not exist fails (test/docs/control-names.md: $bad of 9)" test "$bad" = 9
exit 0
