#!/usr/bin/env python3
"""Every name the docs mention exists (test/suites/91-docs.sh; issue 16).

  names.py ROOT [FILE...]    default: README.md and docs/*.md; one TAP line per kind

What is looked for in the docs, and where it must exist:

  paths        test/…, sql/…, extension/…, proxy/…, deploy/…, scripts/…, bench/…,
               client/…, debian/…, docs/…, expected/… anywhere in the text
               (globs must match something; a trailing / is a directory; a
               name without its extension, sql/01_basics, is fine)
  links        [text](target) to a file, and ../… paths in the text: it exists,
               inside the repository (a clone has nothing outside it, so
               ../../shared/… is wrong)
  file names   `name.cpp`, `name.*`, … in backticks, and NAME.md anywhere:
               some file of the repository has that name
  SQL          credsync.NAME( is a function or procedure of the extension
               (any version's script); credsync.NAME without ( is one of them,
               a table or a setting; a backticked `name(` that is not credsync's
               must be in OTHER_FUNCTIONS
  suites       `NN-name` (backticked or not): test/suites/NN-name.sh
  regress      NN_name: sql/NN_name.sql
  specs        an isolation test named after "isolation" in a backticked
               list, a backticked kebab-case-name on a line that speaks of
               isolation, and any backticked name that is a spec's name but
               for _ instead of -: test/specs/NAME.spec
  flags        --flag: a flag some program of the project takes (a string
               "--flag" in its source, or a `--flag)` case in a script), or
               another program's flag in OTHER_FLAGS
  make         `make [-C DIR] TARGET` in code: a target of that Makefile (or a
               standard PGXS one)

And the other way round: docs/testing.md has a row (`| \`NN-name\` |`) for every
suite of test/suites/ and names every spec of test/specs/ in backticks.

ALLOWED lists what is intentionally hypothetical or generated, with why.
"""

import glob
import os
import re
import sys

# (kind, name) → why it need not exist
ALLOWED = {
    ("paths", "bench/results/20261125T134122Z/"): "an example of the stamped directory bench/run.sh writes",
    ("paths", "test/stress/raw/"): "written by make stress",
    ("paths", "test/tools/pusher"): "built from test/tools/pusher.cpp (test/tools/Makefile)",
    ("paths", "test/suites/45-48"): "a range of suites, 45-hostile to 48-http-asan",
    ("paths", "proxy/direct"): "a ratio (the proxy's figure over the direct path's), not a path",
    ("paths", "debian/4.1.0-3"): "wrk's version (debian/4.1.0-3+b2), as wrk prints it",
    ("files", "credsync--A--B.sql"): "the pattern of an upgrade script's name",
    ("sql", "credsync.zones_102008"): "an example of a shard's name on a Citus worker",
    ("files", "runs.jsonl"): "written by bench/run.sh into its results directory",
    ("files", "postgresql.conf"): "PostgreSQL's",
    ("files", "postgresql.auto.conf"): "PostgreSQL's",
    ("files", "pg_hba.conf"): "PostgreSQL's",
    ("files", "credsync.so"): "built by make",
    ("files", "proxy.env"): "installed as /etc/credsync/proxy.env by the package",
    ("files", "compact.env"): "installed as /etc/credsync/compact.env by the package",
    ("paths", "../shared/vendor/citus-13.2.2.tar.gz"): "the released Citus source beside the clone (CI's layout); test/lib/citus.sh says what to do without it",
    ("paths", "../shared/vendor"): "the same folder beside the clone",
}

# Functions the docs name in backticks that are not credsync's (PostgreSQL's,
# libc's, C++'s, libsodium's ...).
OTHER_FUNCTIONS = {
    "gen_random_uuid", "pg_advisory_lock", "poll", "select", "max", "ereport", "now",
    "pg_terminate_backend", "pg_cancel_backend", "pg_postmaster_start_time", "kind",
    "run_command_on_workers", "create_distributed_table", "create_reference_table",
    "create_distributed_function", "citus_rebalance_start", "stop",
}

# Flags of programs that are not the project's (curl, pg_dump, dpkg, ...).
OTHER_FLAGS = {
    "--data-binary": "curl", "--schema-only": "pg_dump", "--binary-upgrade": "pg_dump",
    "--roles-only": "pg_dumpall", "--call-graph": "perf record", "--force-confold": "dpkg",
    "--verify": "dpkg", "--start": "pg_createcluster", "--now": "systemctl enable/disable",
    "--cflags": "pkg-config", "--libs": "pkg-config",
    "--tid": "perf report", "--seccomp-bpf": "strace",
    "--tool": "valgrind", "--separate-threads": "valgrind (callgrind)",
}

PGXS_TARGETS = {"all", "install", "installcheck", "clean", "uninstall", "installdirs"}
FILE_EXT = r"(?:cpp|h|py|sh|spec|sql|lua|yaml|yml|json|jsonl|ndjson|md|conf|service|timer|control|out|env|so|a)"
TOP_DIRS = "test|sql|extension|proxy|common|deploy|scripts|bench|client|debian|docs|expected"


class Doc:
    def __init__(self, root, path):
        self.path = path
        with open(os.path.join(root, path), encoding="utf-8") as f:
            self.text = f.read()
        # fenced code, and the text with it blanked (for backtick spans)
        self.code, prose, inside = [], [], False
        for line in self.text.split("\n"):
            if line.startswith("```"):
                inside = not inside
                prose.append("")
                self.code.append("")
                continue
            (self.code if inside else prose).append(line)
            (prose if inside else self.code).append("")
        self.prose = "\n".join(prose)
        self.codetext = "\n".join(self.code)
        self.spans = [(m.start(1), m.group(1)) for m in re.finditer(r"`([^`]+)`", self.prose)]


def ln(text, offset):
    """The line of offset in text (the doc, its prose or its code: all have the doc's lines)."""
    return text.count("\n", 0, offset) + 1


def tracked_names(root):
    names = set()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in (".git", "build", ".credsync")]
        names.update(filenames)
    return names


def sql_objects(root):
    functions, tables = set(), set()
    for path in glob.glob(os.path.join(root, "extension", "credsync--*.sql")):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        functions.update(re.findall(r"CREATE\s+(?:OR\s+REPLACE\s+)?(?:FUNCTION|PROCEDURE)\s+(?:@extschema@|credsync)\.(\w+)",
                                    text, re.I))
        tables.update(re.findall(r"CREATE\s+(?:UNLOGGED\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:@extschema@|credsync)\.(\w+)",
                                 text, re.I))
    settings = set()
    for path in glob.glob(os.path.join(root, "extension", "src", "*.cpp")):
        with open(path, encoding="utf-8") as f:
            settings.update(re.findall(r'"credsync\.(\w+)"', f.read()))
    return functions, tables, settings


def project_flags(root):
    flags = set()
    for pattern in ("proxy/*.cpp", "client/cli/*.cpp", "client/src/*.cpp", "test/stress/*.cpp",
                    "test/tools/*", "scripts/*.sh", "bench/*.sh", "bench/*.py", "test/*/*.sh"):
        for path in glob.glob(os.path.join(root, pattern)):
            try:
                with open(path, encoding="utf-8") as f:
                    text = f.read()
            except (UnicodeDecodeError, IsADirectoryError):
                continue
            flags.update(re.findall(r'"(--[a-z][a-z0-9-]*)', text))
            flags.update(re.findall(r"^\s*(--[a-z][a-z0-9-]*)(?:\|--[a-z0-9-]+)*\)", text, re.M))
            flags.update(re.findall(r"add_argument\(\s*['\"](--[a-z][a-z0-9-]*)", text))
    return flags


def make_targets(root, directory):
    path = os.path.join(root, directory, "Makefile")
    if not os.path.exists(path):
        return None
    targets = set(PGXS_TARGETS) if directory == "." else set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^([A-Za-z0-9_./ -]+?)\s*::?(?![=])", line)
            if m and not line.startswith("\t"):
                targets.update(m.group(1).split())
    return targets


def check(root, files):
    docs = [Doc(root, f) for f in files]
    specs = {os.path.basename(p)[:-5] for p in glob.glob(os.path.join(root, "test/specs/*.spec"))}
    suites = {os.path.basename(p)[:-3] for p in glob.glob(os.path.join(root, "test/suites/*.sh"))}
    regress = {os.path.basename(p)[:-4] for p in glob.glob(os.path.join(root, "sql/*.sql"))}
    functions, tables, settings = sql_objects(root)
    names = tracked_names(root)
    flags = project_flags(root)
    found = {k: [] for k in ("paths", "links", "files", "sql", "suites", "regress", "specs", "flags",
                             "make")}
    counts = {k: 0 for k in found}

    seen = set()

    def report(kind, doc, line, name, problem):
        counts[kind] += 1
        if problem and (kind, name) not in ALLOWED and (kind, doc.path, line, name) not in seen:
            seen.add((kind, doc.path, line, name))
            found[kind].append(f"{doc.path}:{line}: {name}: {problem}")

    for d in docs:
        for m in re.finditer(r"(?<![\w./~$@-])((?:%s)/[\w.*/{}-]*)" % TOP_DIRS, d.text):
            name = m.group(1).rstrip(".")
            pattern = os.path.join(root, name)
            # a test may be named without its extension (sql/01_basics)
            exists = glob.glob(pattern) if "*" in name else (
                os.path.exists(pattern) or glob.glob(glob.escape(pattern) + ".*"))
            report("paths", d, ln(d.text, m.start(1)), name, None if exists else "no such file or directory")
        for m in re.finditer(r"(?<![\w./\]()-])(\.\./[\w.*/-]+)", d.prose):
            # ../x outside a link: a path relative to the doc (or the root)
            target = m.group(1).rstrip(".")
            full = os.path.normpath(os.path.abspath(os.path.join(root, os.path.dirname(d.path), target)))
            inside = full.startswith(os.path.abspath(root) + os.sep)
            problem = None if inside and glob.glob(full) else (
                "outside the repository (a clone does not have it)" if not inside else "no such file")
            report("paths", d, ln(d.prose, m.start(1)), target, problem)
        for m in re.finditer(r"\]\(([^)\s#]+)(?:#[^)]*)?\)", d.prose):
            target = m.group(1)
            if re.match(r"^[a-z]+:", target):
                continue
            full = os.path.normpath(os.path.abspath(os.path.join(root, os.path.dirname(d.path), target)))
            inside = full == os.path.abspath(root) or full.startswith(os.path.abspath(root) + os.sep)
            problem = None if inside and os.path.exists(full) else (
                "outside the repository (a clone does not have it)" if not inside else "no such file")
            report("links", d, ln(d.prose, m.start(1)), target, problem)
        for m in re.finditer(r"(?<![\w./-])([\w-]+\.md)\b", d.prose):
            # another doc named in prose (PROTOCOL.md, http.md): a file of the clone
            report("files", d, ln(d.prose, m.start(1)), m.group(1),
                   None if m.group(1) in names else "no file of that name in the repository")
        for offset, span in d.spans:
            if re.fullmatch(r"[\w.-]+\.%s" % FILE_EXT, span) and "/" not in span:
                report("files", d, ln(d.prose, offset), span, None if span in names else "no file of that name")
            elif re.fullmatch(r"[\w-]+\.\*", span):
                stem = span[:-2]
                ok = any(n.startswith(stem + ".") for n in names)
                report("files", d, ln(d.prose, offset), span, None if ok else "no file of that name")
        for m in re.finditer(r"(?<![\w.])credsync\.([a-z_][a-z0-9_]*)(\s*\()?", d.text):
            name, call = m.group(1), m.group(2)
            if re.fullmatch(FILE_EXT, name) or name in ("db", "dump"):
                continue   # a file: credsync.so, credsync.conf, credsync.db, ...
            if call:
                problem = None if name in functions else "not a function of the extension"
            else:
                problem = None if name in functions | tables | settings else \
                    "not a function, table or setting of the extension"
            report("sql", d, ln(d.text, m.start(1)), "credsync." + name + ("(" if call else ""), problem)
        for offset, span in d.spans:
            m = re.match(r"([a-z_][a-z0-9_]*)\(", span)
            if m:
                name = m.group(1)
                ok = name in functions or name in OTHER_FUNCTIONS
                report("sql", d, ln(d.prose, offset), name + "(", None if ok else
                       "not a function of the extension, nor listed in OTHER_FUNCTIONS")
        for m in re.finditer(r"(?<![\w./@-])([0-9]{2}-[a-z][a-z0-9]*(?:-[a-z0-9]+)*)(?![\w-])", d.text):
            name = m.group(1)
            if re.fullmatch(r"[0-9]{2}-(minute|second|hour|day|bit|byte|core|way|client)s?", name):
                continue
            report("suites", d, ln(d.text, m.start(1)), name, None if name in suites else "no test/suites/%s.sh" % name)
        for m in re.finditer(r"(?<![\w./-])([0-9]{2}_[a-z][a-z0-9_]*)(?![\w-])", d.text):
            name = m.group(1)
            report("regress", d, ln(d.text, m.start(1)), name, None if name in regress else "no sql/%s.sql" % name)
        for m in re.finditer(r"(?<![`\w])isolation(?: tests?| specs?)?((?:\s+`[^`\n]+`(?:,| and)?)+)", d.prose):
            for n in re.finditer(r"`([^`]+)`", m.group(1)):
                name = n.group(1)
                if "/" in name or re.match(r"[0-9]{2}[-_]", name):
                    continue   # a path, a suite or a regress test after the specs
                report("specs", d, ln(d.prose, m.start(1) + n.start(1)), name,
                       None if name in specs else "no test/specs/%s.spec" % name)
        # on a line that speaks of isolation (outside backticks), every
        # backticked kebab-case name is a spec (or a suite)
        for no, line in enumerate(d.prose.split("\n"), 1):
            if re.search(r"\bisolation\b", re.sub(r"`[^`]*`", "", line)):
                for n in re.finditer(r"`([a-z]+(?:-[a-z0-9]+)+)`", line):
                    name = n.group(1)
                    report("specs", d, no, name, None if name in specs else "no test/specs/%s.spec" % name)
        for offset, span in d.spans:
            if span not in specs and span.replace("_", "-") in specs:
                report("specs", d, ln(d.prose, offset), span, "the spec is %s" % span.replace("_", "-"))
        for m in re.finditer(r"(?<![\w-])--[a-z][a-z0-9-]*", d.text):
            name = m.group(0)
            ok = name in flags or name in OTHER_FLAGS
            report("flags", d, ln(d.text, m.start()), name, None if ok else
                   "no program of the project takes it, and it is not in OTHER_FLAGS")
        for text, base in ((d.codetext, None), *((s, o) for o, s in d.spans)):
            for m in re.finditer(r"(?<![\w./-])make((?:\s+(?:-C\s*\S+|-[a-zA-Z]+|[A-Z_]+=\S*))*)\s+([a-z][a-z0-9_-]*)",
                                 text):
                directory = "."
                c = re.search(r"-C\s*(\S+)", m.group(1))
                if c:
                    directory = c.group(1)
                targets = make_targets(root, directory)
                target = m.group(2)
                problem = None
                if targets is None:
                    problem = "no %s/Makefile" % directory
                elif target not in targets:
                    problem = "not a target of %s" % os.path.normpath(os.path.join(directory, "Makefile"))
                line = ln(d.codetext, m.start(2)) if base is None else ln(d.prose, base)
                report("make", d, line, "make " + ("-C %s " % directory if c else "") + target, problem)
    # and the other way: docs/testing.md has a row for every suite and names
    # every isolation spec
    testing = next((d for d in docs if d.path == "docs/testing.md"), None)
    if testing is not None:
        found["rows"], counts["rows"] = [], 0
        rows = set(re.findall(r"^\| `([0-9]{2}-[a-z0-9-]+)`", testing.text, re.M))
        spans = {span for _, span in testing.spans}
        for name in sorted(suites):
            counts["rows"] += 1
            if name not in rows:
                found["rows"].append(f"docs/testing.md: no row for the suite {name}")
        for name in sorted(specs):
            counts["rows"] += 1
            if name not in spans:
                found["rows"].append(f"docs/testing.md: the isolation spec {name} is not named")
    return found, counts


def main(argv):
    root = argv[1]
    files = argv[2:] or ["README.md"] + sorted(os.path.relpath(p, root)
                                               for p in glob.glob(os.path.join(root, "docs", "*.md")))
    found, counts = check(root, files)
    for kind, problems in found.items():
        if kind == "rows":
            title = f"docs/testing.md has a row for every suite and names every spec ({counts[kind]})"
        else:
            title = f"the docs name only existing {kind} ({counts[kind]} mentions)"
        print(("not ok - " if problems else "ok - ") + title)
        for p in problems:
            print("#   " + p)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
