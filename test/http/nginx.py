"""nginx in front of credsync-proxy for the tests, with the shipped
deploy/nginx/credsync-server.conf included as a production server block
includes it: the upstream keeps connections alive, as deploy/nginx/credsync.conf
does, so that a connection the proxy leaves in a bad state would be handed to
the next client."""
import os
import shutil
import socket
import subprocess
import time

from client import ROOT, free_port

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def start_nginx(work, upstream_port, keepalive=4):
    """Starts nginx on a free port; returns (process, port)."""
    port = free_port()
    prefix = os.path.join(work, "nginx")
    for d in ("", "tmp"):
        os.makedirs(os.path.join(prefix, d), exist_ok=True)
    os.chmod(os.path.join(prefix, "tmp"), 0o777)
    user = "user nobody nogroup;" if os.getuid() == 0 else ""
    conf = f"""{user}
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    upstream credsync {{
        server 127.0.0.1:{upstream_port};
        keepalive {keepalive};
        keepalive_timeout 4s;
        keepalive_requests 100;
    }}
    server {{
        listen 127.0.0.1:{port};
        include {ROOT}/deploy/nginx/credsync-server.conf;
    }}
}}
"""
    path = os.path.join(prefix, "nginx.conf")
    with open(path, "w") as f:
        f.write(conf)
    log = open(os.path.join(work, "nginx.log"), "ab")
    proc = subprocess.Popen([NGINX, "-p", prefix, "-e", os.path.join(prefix, "error.log"), "-c", path,
                             "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=log)
    log.close()
    deadline = time.time() + 10
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("nginx exited: " + open(os.path.join(work, "nginx.log")).read()[-500:])
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nginx did not start")


def stop_nginx(proc):
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
