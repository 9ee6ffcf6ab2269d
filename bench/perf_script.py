"""Reading perf's output for the bench's profile summaries: profile.py (the
backends), proxy_profile.py (the proxy) and bench.py (its top symbols)."""
import re
import subprocess

# One frame of `perf script`: ip, symbol (its +0x offset dropped), dso.
FRAME = re.compile(r"\s+([0-9a-f]+) (.*?)(?:\+0x[0-9a-f]+)? \((.*)\)$")


def stacks(data, fields="comm,ip,sym,symoff,dso"):
    """Every sample of perf.data `data`: a list of (ip, symbol, dso), leaf first."""
    script = subprocess.run(["perf", "script", "-i", data, "-F", fields], capture_output=True, text=True).stdout
    samples, stack = [], []
    for line in script.splitlines():
        if not line.strip():
            if stack:
                samples.append(stack)
            stack = []
            continue
        m = FRAME.match(line)
        if m:
            stack.append((int(m.group(1), 16), m.group(2), m.group(3)))
    if stack:
        samples.append(stack)
    return samples


def short_symbol(sym):
    """nlohmann::json_abi_v3_11_2::basic_json<...>::dump -> nlohmann::basic_json::dump"""
    out, depth = [], 0
    for ch in sym:
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return re.sub(r"json_abi_v[\d_]+::", "", "".join(out))
