"""Shared harness of the client suites (test/suites/7x-client-*.sh): the
throwaway cluster and proxy those suites start (test/lib/http_stack.sh), and
devices, each a `credsync` command with its own --home. Standard library only.

A device gets its account through the accounts API (signup/login, issue 11)
when the proxy has it, else through `credsync attach` with a token from
credsync.issue_token(): the sync engine under test is the same either way."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

ROOT = os.environ.get("CREDSYNC_ROOT", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
CLIENT = os.environ.get("CREDSYNC_CLIENT_BIN") or os.path.join(ROOT, "client", "credsync")
PROXY = os.environ.get("CREDSYNC_PROXY_BIN") or os.path.join(ROOT, "proxy", "credsync-proxy")
PASSWORD = "correct horse battery staple 7"


class Tap:
    """ok/not ok lines (test/lib/tap.sh)."""

    def __init__(self):
        self.failures = 0

    def check(self, name, cond, detail=""):
        if cond:
            print(f"ok - {name}", flush=True)
        else:
            self.failures += 1
            print(f"not ok - {name}" + (f" ({str(detail)[:2000]})" if detail else ""), flush=True)
        return cond

    def skip(self, name, why):
        # Not an ok line: a check that did not run must not count as passed.
        print(f"skip - {name}: {why}", flush=True)

    def run(self, name, fn, *args):
        """Runs a group; an exception is one failed check named after it."""
        try:
            fn(*args)
        except Exception as e:  # noqa: BLE001
            import traceback
            traceback.print_exc()
            self.check(f"{name} ran to the end", False, repr(e))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Stack:
    def __init__(self, cluster_dir, work, proxy_flags=("--open-registration",)):
        self.dir = cluster_dir
        self.work = work
        self.pg_port = open(os.path.join(cluster_dir, "port")).read().strip()
        self.proxy_port = free_port()
        self.proxy_flags = list(proxy_flags)
        self.proxy_log = os.path.join(work, "proxy.log")
        self.proxy = None
        self._accounts = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.proxy_port}"

    def pg_env(self, db="credsync"):
        return dict(os.environ, PGHOST=f"{self.dir}/sock", PGPORT=self.pg_port, PGUSER="postgres", PGDATABASE=db)

    def psql(self, sql, db="credsync"):
        r = subprocess.run(["psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql],
                           env=self.pg_env(db), capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"psql failed: {r.stderr.strip()}")
        return r.stdout.strip()

    def _lib(self, fn):
        r = subprocess.run(["bash", "-c", f'source test/lib/cluster.sh && {fn} "$0"', self.dir],
                           cwd=ROOT, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"{fn} failed: {r.stderr.strip()}")

    def start_proxy(self, timeout=15):
        log = open(self.proxy_log, "ab")
        conninfo = f"host={self.dir}/sock port={self.pg_port} user=credsync_proxy dbname=credsync"
        self.proxy = subprocess.Popen([PROXY, "--db", conninfo, "--listen", f"127.0.0.1:{self.proxy_port}"] + self.proxy_flags,
                                      stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proxy.poll() is not None:
                raise RuntimeError(f"proxy exited with {self.proxy.returncode}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.05)
        raise RuntimeError("proxy did not become healthy")

    def stop_proxy(self, sig=signal.SIGTERM):
        if self.proxy and self.proxy.poll() is None:
            self.proxy.send_signal(sig)
            try:
                self.proxy.wait(20)
            except subprocess.TimeoutExpired:
                self.proxy.kill()
                self.proxy.wait()
        self.proxy = None

    def restart_proxy(self):
        self.stop_proxy()
        self.start_proxy()

    def kill9_database(self):
        self._lib("cluster_kill9")
        # A start can fail while the shared library is being reinstalled by
        # a concurrent `make install` (it is preloaded): try a few times.
        for attempt in range(10):
            try:
                self._lib("cluster_start")
                return
            except RuntimeError:
                if attempt == 9:
                    raise
                time.sleep(1)

    def wait_healthy(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        return True
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.1)
        return False

    def dump(self, path):
        r = subprocess.run(["pg_dump", "-Fc", "-f", path], env=self.pg_env(), capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"pg_dump failed: {r.stderr}")

    def dump_text(self):
        r = subprocess.run(["pg_dump", "--data-only"], env=self.pg_env(), capture_output=True)
        if r.returncode != 0:
            raise RuntimeError("pg_dump failed")
        return r.stdout

    def restore(self, path):
        """Replaces the database by the dump (the seed's "server restored
        from an old backup"), with the proxy stopped meanwhile."""
        self.stop_proxy()
        try:
            self.psql("DROP DATABASE credsync WITH (FORCE)", db="postgres")
            self.psql("CREATE DATABASE credsync", db="postgres")
            r = subprocess.run(["pg_restore", "-d", "credsync", path], env=self.pg_env(), capture_output=True, text=True)
            if r.returncode != 0:
                raise RuntimeError(f"pg_restore failed: {r.stderr}")
            self.psql("SELECT credsync.grant_proxy('credsync_proxy')")
        finally:
            self.start_proxy()

    def accounts(self):
        """Whether the proxy has the accounts API (issue 11)."""
        if self._accounts is None:
            req = urllib.request.Request(self.url + "/v1/login/challenge", data=b'{"name": "probe"}',
                                         headers={"Content-Type": "application/json"}, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=5) as r:
                    self._accounts = r.status == 200
            except urllib.error.HTTPError as e:
                self._accounts = e.code != 404
        return self._accounts

    def token(self, user, label="test"):
        return self.psql(f"SELECT credsync.issue_token('{user}', '{label}')")

    def live_items(self, user):
        """{zone: {item: gencount}} of the live records the server holds."""
        out = {}
        rows = self.psql(f"SELECT zone, item, gencount FROM credsync.records WHERE user_id = '{user}' AND NOT deleted")
        for line in rows.splitlines():
            if line:
                z, i, g = line.split("|")
                out.setdefault(z, {})[i] = int(g)
        return out


class Result:
    def __init__(self, rc, out, err):
        self.rc, self.out, self.err = rc, out, err

    def json(self):
        return json.loads(self.out)

    def __repr__(self):
        return f"<rc={self.rc} out={self.out[:400]!r} err={self.err[:600]!r}>"


class Device:
    def __init__(self, stack, name, user):
        self.stack = stack
        self.name = name
        self.user = user  # the account name (or the user id of its tokens)
        self.home = os.path.join(stack.work, "homes", name)
        self.token = None

    def env(self, extra=None):
        # CREDSYNC_CHECK_APPLIED_DIGEST: a full resync's digest, computed
        # as it writes the rows, is checked against a scan of the store
        # (client/src/sync.cpp); bench.py times the sync without it.
        e = dict(os.environ, CREDSYNC_SERVER=self.stack.url, CREDSYNC_KDF="interactive",
                 CREDSYNC_CHECK_APPLIED_DIGEST="1")
        for k in ("CREDSYNC_HOME", "CREDSYNC_PASSWORD", "CREDSYNC_TOKEN"):
            e.pop(k, None)
        if extra:
            e.update(extra)
        return e

    def run(self, *args, input=None, env=None, timeout=300):
        r = subprocess.run([CLIENT, "--home", self.home] + list(args), input=input, env=self.env(env),
                           capture_output=True, text=True, timeout=timeout)
        return Result(r.returncode, r.stdout, r.stderr)

    def spawn(self, *args, env=None):
        return subprocess.Popen([CLIENT, "--home", self.home] + list(args), env=self.env(env),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def ok(self, *args, **kw):
        r = self.run(*args, **kw)
        if r.rc != 0:
            raise RuntimeError(f"{self.name}: credsync {' '.join(args)} failed: {r}")
        return r

    def json(self, *args):
        return self.ok("--json", *args).json()

    def attach(self, key_from=None):
        self.token = self.stack.token(self.user, self.name)
        args = ["attach", "--device", self.name] + (["--key-from", key_from.home] if key_from else [])
        return self.run(*args, env={"CREDSYNC_TOKEN": self.token})

    def signup(self):
        return self.run("signup", self.user, "--device", self.name, env={"CREDSYNC_PASSWORD": PASSWORD})

    def login(self, password=PASSWORD):
        return self.run("login", self.user, "--device", self.name, env={"CREDSYNC_PASSWORD": password})

    def join(self, first=None):
        """Gives this device the account: signup/login when the server has
        accounts, else attach (first: the device whose master key to share)."""
        if self.stack.accounts():
            r = self.login() if first else self.signup()
        else:
            r = self.attach(first)
        if r.rc != 0:
            how = ("login" if first else "signup") if self.stack.accounts() else "attach"
            raise RuntimeError(f"{self.name}: joining the account ({how}) failed: {r}")
        return r

    def add(self, title, password="", zone="default", **fields):
        args = ["add", title, "--zone", zone, "--password-stdin"]
        for k, v in fields.items():
            args += [f"--{k}", v]
        return self.ok(*args, input=password + "\n").out.strip()

    def edit(self, ref, password=None, **fields):
        args = ["edit", ref]
        for k, v in fields.items():
            args += [f"--{k}", v]
        if password is not None:
            args.append("--password-stdin")
        return self.ok(*args, input=(password + "\n") if password is not None else None)

    def sync(self, *args):
        return self.run("--json", "sync", *args)

    def state(self):
        """Everything the device shows: {id: show --json}."""
        return {e["id"]: self.json("show", e["id"]) for e in self.json("list")}


def wait_for(fn, timeout=10, step=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(step)
    return fn()


def main_guard(tap):
    sys.exit(1 if tap.failures else 0)
