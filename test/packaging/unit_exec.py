#!/usr/bin/python3
"""Runs a systemd service's ExecStart= the way systemd would, without systemd.

    unit_exec.py UNIT_FILE [--print]

Test machines run no systemd (no PID 1 of it), so test/suites/80-packages.sh
cannot `systemctl start` the packaged units. This reads the installed unit
file and reproduces what systemd does to start it: the [Service] section's
EnvironmentFile= (systemd's syntax: NAME=VALUE, quotes removed, # and ;
comments), User=, and ExecStart= with systemd's variable expansion ("${VAR}"
replaced by the value as part of one argument, a word that is exactly "$VAR"
split on white space into several). It then execs the command as that user
with that environment, so the packaged binary, the packaged settings file and
the packaged command line are what runs. --print shows the argv instead.

What it does not reproduce is the sandbox (ProtectSystem= and friends): that
needs systemd itself; `systemd-analyze verify` and `security` check the unit.
"""
import os
import pwd
import re
import shlex
import sys


def read_unit(path):
    """The [Service] section as a dict of lists (a key may repeat)."""
    section, out, pending = None, {}, ""
    with open(path) as f:
        for raw in f:
            line = raw.rstrip("\n")
            if pending:
                line = pending + " " + line.lstrip()
                pending = ""
            if line.endswith("\\"):
                pending = line[:-1].rstrip()
                continue
            s = line.strip()
            if not s or s[0] in "#;":
                continue
            if s.startswith("[") and s.endswith("]"):
                section = s[1:-1]
                continue
            if section == "Service" and "=" in s:
                k, v = s.split("=", 1)
                out.setdefault(k.strip(), []).append(v.strip())
    return out


def read_env_file(path):
    """systemd's EnvironmentFile= syntax, for the subset our files use."""
    env = {}
    with open(path) as f:
        for raw in f:
            s = raw.strip()
            if not s or s[0] in "#;":
                continue
            if "=" not in s:
                raise SystemExit(f"{path}: not NAME=VALUE: {s!r}")
            k, v = s.split("=", 1)
            k, v = k.strip(), v.strip()
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k):
                raise SystemExit(f"{path}: bad name {k!r}")
            if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
                v = v[1:-1]
            env[k] = v
    return env


def expand_exec(line, env):
    """systemd.service(5), "Command lines": words are split like a shell's
    (quotes group), then a word that is exactly $NAME becomes the value split
    on white space (no word when empty), and ${NAME} anywhere in a word is
    replaced by the value, the word staying one argument."""
    # A leading prefix like "-", "@", "+", "!" changes how systemd runs it; our
    # units use none, and a test that silently ignored one would be wrong.
    if line[:1] in "-@+!:|":
        raise SystemExit(f"ExecStart prefix {line[0]!r} is not supported here")
    argv = []
    for word in shlex.split(line):
        m = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", word)
        if m:
            argv.extend(env.get(m.group(1), "").split())
            continue
        argv.append(re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda mm: env.get(mm.group(1), ""), word))
    return argv


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    unit = read_unit(sys.argv[1])
    env = {}
    for ef in unit.get("EnvironmentFile", []):
        optional = ef.startswith("-")
        ef = ef.lstrip("-")
        if optional and not os.path.exists(ef):
            continue
        env.update(read_env_file(ef))
    starts = unit.get("ExecStart", [])
    if len(starts) != 1:
        raise SystemExit(f"expected one ExecStart=, found {len(starts)}")
    argv = expand_exec(starts[0], env)
    user = (unit.get("User") or ["root"])[-1]
    if "--print" in sys.argv[2:]:
        print(user)
        for a in argv:
            print(a)
        return
    full_env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
    full_env.update(env)
    pw = pwd.getpwnam(user)
    full_env.update({"USER": user, "LOGNAME": user, "HOME": pw.pw_dir})
    os.chdir("/")
    os.umask(0o077)  # UMask=0077 in the units
    if os.getuid() != pw.pw_uid:
        # As systemd does: become the user in this process, then exec (no
        # runuser/su in between, which would fork and turn the service's exit
        # status on SIGTERM into its own).
        os.setgid(pw.pw_gid)
        os.initgroups(user, pw.pw_gid)
        os.setuid(pw.pw_uid)
    os.execvpe(argv[0], argv, full_env)


if __name__ == "__main__":
    main()
