"""Small helpers for the HTTP integration tests: a real HTTP client
(http.client), raw sockets for malformed requests, the proxy process, psql and
the throwaway cluster. Standard library only."""
import base64
import http.client
import json
import os
import socket
import ssl
import subprocess
import time

ROOT = os.environ.get("CREDSYNC_ROOT", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
# CREDSYNC_PROXY_BIN runs the suite against another build (e.g. with sanitizers).
PROXY = os.environ.get("CREDSYNC_PROXY_BIN") or os.path.join(ROOT, "proxy", "credsync-proxy")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case names
        self.raw = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    @property
    def code(self):
        """The error code of an error body, or None."""
        if isinstance(self.json, dict) and isinstance(self.json.get("error"), dict):
            return self.json["error"].get("code")
        return None

    def __repr__(self):
        return f"<{self.status} {self.raw[:300]!r}>"


class Client:
    def __init__(self, port, token=None, tls=False):
        self.port = port
        self.token = token
        self.tls = tls

    def request(self, method, path, body=None, token=None, headers=None, timeout=30):
        if self.tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout, context=ctx)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = dict(headers or {})
        tok = token if token is not None else self.token
        if tok:
            h["Authorization"] = "Bearer " + tok
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            data = r.read()
            return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def push(self, zone, records, op_id=None, **kw):
        body = {"records": records}
        if op_id is not None:
            body["op_id"] = op_id
        return self.request("POST", f"/v1/zones/{zone}/push", body=body, **kw)

    def pull(self, zone, query="since=0", **kw):
        return self.request("GET", f"/v1/zones/{zone}/pull?{query}", **kw)


def raw_request(port, data: bytes, read_timeout=3.0):
    """Sends bytes as they are and returns (everything read, closed_by_server)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(data)
        s.settimeout(read_timeout)
        out = b""
        while True:
            try:
                d = s.recv(65536)
            except socket.timeout:
                return out, False
            except ConnectionResetError:
                return out, True
            if not d:
                return out, True
            out += d
    finally:
        s.close()


class Cluster:
    """The throwaway cluster of test/suites/40-http.sh (test/lib/cluster.sh)."""

    def __init__(self, dir):
        self.dir = dir
        self.port = open(os.path.join(dir, "port")).read().strip()

    def _lib(self, fn):
        r = subprocess.run(["bash", "-c", f'source test/lib/cluster.sh && {fn} "$0"', self.dir],
                           cwd=ROOT, capture_output=True, text=True)
        return r.returncode == 0

    def stop(self):
        return self._lib("cluster_stop")

    def start(self):
        return self._lib("cluster_start")

    def conninfo(self, user="credsync_proxy"):
        return f"host={self.dir}/sock port={self.port} user={user} dbname=credsync"

    def psql(self, sql):
        env = dict(os.environ, PGHOST=f"{self.dir}/sock", PGPORT=self.port, PGUSER="postgres",
                   PGDATABASE="credsync")
        r = subprocess.run(["psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql],
                           env=env, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"psql failed: {r.stderr.strip()}")
        return r.stdout.strip()

    def psql_background(self, sql):
        env = dict(os.environ, PGHOST=f"{self.dir}/sock", PGPORT=self.port, PGUSER="postgres",
                   PGDATABASE="credsync")
        return subprocess.Popen(["psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Proxy:
    """One credsync-proxy process; its log goes to a file we can read."""

    def __init__(self, cluster, log_path, flags=(), port=None, tls=False, env=None):
        self.cluster = cluster
        self.env = env  # the process's environment (None: ours)
        self.log_path = log_path
        self.flags = list(flags)
        self.port = port or free_port()
        self.tls = tls
        self.proc = None

    def start(self, timeout=10):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [PROXY, "--db", self.cluster.conninfo(), "--listen", f"127.0.0.1:{self.port}"] + self.flags,
            stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=self.env)
        log.close()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"proxy exited with {self.proc.returncode}: {self.log()[-500:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("proxy did not start listening")

    def stop(self, sig=15, timeout=20):
        """Signals the proxy; returns its exit status (None if it had to be killed)."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def client(self, token=None):
        return Client(self.port, token, self.tls)
