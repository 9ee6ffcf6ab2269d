#!/usr/bin/env python3
"""The README's SQL: what its comments claim holds (test/suites/91-docs.sh).

  readme_sql.py OUT    OUT as run_examples.py left it, after the session

The README's SQL block ran as written in the session (a step of README.md
holding a here-document `<<'SQL'`); its psql output is OUT/N.out. Its SELECTs
print one table each, in order, after the commands' tags. A SELECT's comment
is a claim:

  -- (item, gencount N)   one row: a uuid item and gencount N
  -- the record at N      one row: gencount N, the item and blob pushed by the
                          statement claimed to get gencount N

A comment no rule understands fails, so the claims cannot drift unchecked.
"""

import json
import os
import re
import sys

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def tables(text):
    """psql's aligned tables: [(columns, [rows])]."""
    out, lines, i = [], text.split("\n"), 0
    while i < len(lines):
        if lines[i].strip() and i + 1 < len(lines) and re.match(r"^-+(\+-+)*$", lines[i + 1]):
            cols = [c.strip() for c in lines[i].split("|")]
            rows, i = [], i + 2
            while i < len(lines) and not re.match(r"^\(\d+ rows?\)$", lines[i]):
                rows.append([c.strip() for c in lines[i].split("|")])
                i += 1
            out.append((cols, rows))
        i += 1
    return out


def main(out):
    with open(os.path.join(out, "steps.json"), encoding="utf-8") as f:
        meta = json.load(f)
    step = next((m for m in meta if m.get("file") == "README.md" and
                 any("<<'SQL'" in t for _, t in m.get("commands", []))), None)
    if step is None:
        print("not ok - README.md: its SQL block (a here-document <<'SQL') is run")
        return
    where = f"README.md:{step['line']}"
    try:
        with open(os.path.join(out, f"{step['n']}.out"), encoding="utf-8") as f:
            printed = f.read()
    except FileNotFoundError:
        print(f"not ok - {where}: the README's SQL ran")
        return
    selects = [(no, t) for no, t in step["commands"] if t.lstrip().upper().startswith("SELECT")]
    got = tables(printed)
    if len(got) != len(selects):
        print(f"not ok - {where}: one table per SELECT ({len(selects)} SELECTs, {len(got)} tables)")
        print("#   " + printed.replace("\n", "\n#   "))
        return
    pushed = {}   # gencount claimed → (item, blob pushed)
    for (no, sql), (cols, rows) in zip(selects, got):
        claim = sql.split("--", 1)[1].strip() if "--" in sql else ""
        name = f"README.md:{no} {claim or sql.strip()[:50]}"
        problems = []
        row = dict(zip(cols, rows[0])) if len(rows) == 1 else None
        m1 = re.fullmatch(r"\(item, gencount (\d+)\)", claim)
        m2 = re.fullmatch(r"the record at (\d+)", claim)
        if m1:
            if row is None:
                problems.append(f"expected one row, got {len(rows)}")
            elif not UUID.match(row.get("item", "")) or row.get("gencount") != m1.group(1):
                problems.append(f"expected a uuid item and gencount {m1.group(1)}, got {row}")
            else:
                blob = re.search(r"'(\\x[0-9a-f]+)'", sql)
                pushed[m1.group(1)] = (row["item"], blob.group(1) if blob else None)
        elif m2:
            if row is None:
                problems.append(f"expected one row, got {len(rows)}")
            elif m2.group(1) not in pushed:
                problems.append(f"no statement above claims gencount {m2.group(1)}")
            elif (row.get("gencount"), row.get("item"), row.get("blob"), row.get("deleted")) != (
                    m2.group(1), pushed[m2.group(1)][0], pushed[m2.group(1)][1], "f"):
                problems.append(f"expected gencount {m2.group(1)}, item and blob {pushed[m2.group(1)]}, "
                                f"not deleted; got {row}")
        elif claim:
            problems.append(f"no rule of test/docs/readme_sql.py checks the claim {claim!r}")
        else:
            # no claim: it ran, and printed a table
            if not rows:
                problems.append("expected a row")
        print(("not ok - " if problems else "ok - ") + name)
        for p in problems:
            print("#   " + p)


if __name__ == "__main__":
    main(sys.argv[1])
