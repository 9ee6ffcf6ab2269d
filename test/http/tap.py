"""One "ok - name" / "not ok - name (detail)" line per check, the format
test/run-all.sh counts (test/lib/tap.sh for shell suites)."""

failures = 0


def check(name, cond, detail=""):
    global failures
    print(("ok - " if cond else "not ok - ") + name + ("" if cond or not detail else f" ({detail})"), flush=True)
    if not cond:
        failures += 1
    return cond
