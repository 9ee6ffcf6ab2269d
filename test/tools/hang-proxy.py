#!/usr/bin/env python3
"""A TCP forwarder that can make one connection hang without closing it.

    hang-proxy.py LISTEN_PORT TARGET_HOST TARGET_PORT PATTERN ARM_FILE HUNG_FILE

Forwards every connection to TARGET. Once ARM_FILE exists, the first chunk a
client sends that contains PATTERN (bytes, plaintext: sslmode=disable) is
not forwarded, and from then on nothing more passes on that connection in
either direction, while both sockets stay open: to the client the server
hangs (a stopped backend, a network that drops everything), and TCP itself
stays healthy (the kernel acknowledges what it sends), so only a deadline of
the client's own notices. The time of the hang (ms since the epoch) is
written to HUNG_FILE. One connection hangs per run; the others go on.
Runs until killed.
"""
import os
import socket
import sys
import threading
import time

listen_port, host, port = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
pattern, arm, hung_file = sys.argv[4].encode(), sys.argv[5], sys.argv[6]
hung_once = threading.Lock()
hung = False


def pump(src, dst, state, inspect):
    global hung
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if state["hung"]:
                continue  # swallowed: the connection hangs
            if inspect and pattern in data and os.path.exists(arm):
                with hung_once:
                    if not hung:
                        hung = True
                        state["hung"] = True
                        with open(hung_file, "w") as f:
                            f.write(str(int(time.time() * 1000)))
                        continue
            dst.sendall(data)
    except OSError:
        pass
    if not state["hung"]:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(client):
    try:
        server = socket.create_connection((host, port))
    except OSError:
        client.close()
        return
    state = {"hung": False}
    threading.Thread(target=pump, args=(client, server, state, True), daemon=True).start()
    threading.Thread(target=pump, args=(server, client, state, False), daemon=True).start()


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", listen_port))
listener.listen(64)
while True:
    conn, _ = listener.accept()
    serve(conn)
