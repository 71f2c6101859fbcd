#!/usr/bin/python3
"""TCP proxy on 127.0.0.1 that counts the bytes going through it.

  countproxy.py LISTEN_PORT TARGET_PORT STATS_FILE

Used by bench/run-mount-bench to measure, independently of each client, how many
bytes a mount sends to S3 (client -> server, HTTP headers included) and receives
from it. SigV4 stays valid: the client signs the Host it connects to and the
proxy passes bytes through untouched. On SIGTERM or SIGINT it writes
"sent=N received=N connections=N" to STATS_FILE and exits; it also rewrites the
file every second while running.
"""
import os
import signal
import socket
import sys
import threading
import time

listen_port, target_port, stats_file = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
lock = threading.Lock()
counts = {"sent": 0, "received": 0, "connections": 0}


def write_stats():
    with lock:
        line = " ".join(f"{k}={v}" for k, v in counts.items())
    with open(stats_file + ".tmp", "w") as f:
        f.write(line + "\n")
    os.replace(stats_file + ".tmp", stats_file)


def pump(src, dst, key):
    try:
        while True:
            data = src.recv(1 << 20)
            if not data:
                break
            with lock:
                counts[key] += len(data)
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s, how in ((dst, socket.SHUT_WR), (src, socket.SHUT_RD)):
            try:
                s.shutdown(how)
            except OSError:
                pass


def handle(client):
    try:
        upstream = socket.create_connection(("127.0.0.1", target_port))
    except OSError:
        client.close()
        return
    for s in (client, upstream):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    with lock:
        counts["connections"] += 1
    t = threading.Thread(target=pump, args=(upstream, client, "received"), daemon=True)
    t.start()
    pump(client, upstream, "sent")
    t.join()
    client.close()
    upstream.close()


def stop(*_):
    write_stats()
    sys.exit(0)


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", listen_port))
srv.listen(256)
write_stats()


def ticker():
    while True:
        time.sleep(1)
        write_stats()


threading.Thread(target=ticker, daemon=True).start()
while True:
    conn, _ = srv.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
