#!/usr/bin/python3
"""faultproxy: an HTTP/1.1 proxy on 127.0.0.1 in front of an S3 server that
injects faults, chosen per S3 operation and per fraction of requests, and
changed at run time through a control port (stdlib only).

  faultproxy.py --listen PORT --upstream HOST:PORT --control PORT [--seed N]

Clients sign requests for the proxy's address; the proxy forwards the bytes
untouched (Host included), so SigV4 stays valid.

Control API (JSON over HTTP on the control port):
  PUT    /rules   [{"op": "GetObject" | "*", "fault": F, "fraction": 0.1,
                    "count": N, "ms": N, "key": "regex"}, ...]   replaces the rules
  POST   /rules   one rule (or a list), appended
  DELETE /rules   removes every rule
  PUT    /mode    {"mode": "up" | "blackhole" | "refuse"}
  GET    /stats   {"requests": {op: n}, "faults": {fault: n}, "timeline": [[sec, op, status]...]}
  DELETE /stats   resets the counters

Faults (F): "500" (InternalError), "503" (SlowDown), "reset-request" (the
client's connection is reset in the middle of its request body), "reset-response"
(reset in the middle of the response body), "stall" (wait `ms`, default 60000,
before forwarding), "truncate" (the status and Content-Length of the real
response, then only half the body and a clean close), "error-200" (a 200 whose
body is an S3 error document, as CopyObject, UploadPartCopy and
CompleteMultipartUpload may answer), "latency" (add `ms` before forwarding),
"corrupt" (one byte of the body flipped, Content-Length unchanged), "etag" (the
ETag header replaced), "blackhole" (accept, read, never answer).
Modes: "blackhole" answers no request at all; "refuse" closes the listening
socket, so connections are refused until the mode is "up" again.
"""

import argparse
import json
import random
import re
import socket
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

S3_ERROR = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            '<Message>{msg}</Message><RequestId>faultproxy</RequestId></Error>')


def classify(method, target, headers):
    """The S3 operation of a request (path-style addressing)."""
    url = urllib.parse.urlsplit(target)
    q = urllib.parse.parse_qs(url.query, keep_blank_values=True)
    parts = url.path.lstrip("/").split("/", 1)
    has_key = len(parts) == 2 and parts[1] != ""
    copy = "x-amz-copy-source" in headers
    if method == "GET":
        if not has_key:
            if "versioning" in q:
                return "GetBucketVersioning"
            return "ListObjectsV2" if parts[0] else "ListBuckets"
        return "GetObjectTagging" if "tagging" in q else "GetObject"
    if method == "HEAD":
        return "HeadObject" if has_key else "HeadBucket"
    if method == "PUT":
        if not has_key:
            return "PutBucket"
        if "partNumber" in q and "uploadId" in q:
            return "UploadPartCopy" if copy else "UploadPart"
        if "tagging" in q:
            return "PutObjectTagging"
        return "CopyObject" if copy else "PutObject"
    if method == "POST":
        if "uploads" in q:
            return "CreateMultipartUpload"
        if "uploadId" in q:
            return "CompleteMultipartUpload"
        if "delete" in q:
            return "DeleteObjects"
        return "Post"
    if method == "DELETE":
        if "uploadId" in q:
            return "AbortMultipartUpload"
        return "DeleteObject" if has_key else "DeleteBucket"
    return method


class State:
    def __init__(self, seed):
        self.lock = threading.Lock()
        self.rules = []
        self.mode = "up"
        self.rng = random.Random(seed)
        self.requests = {}
        self.faults = {}
        self.timeline = []
        self.t0 = time.monotonic()

    def choose(self, op, key):
        with self.lock:
            self.requests[op] = self.requests.get(op, 0) + 1
            for r in self.rules:
                if r.get("op", "*") not in ("*", op):
                    continue
                if r.get("key") and not re.search(r["key"], key):
                    continue
                if r.get("count") is not None and r["count"] <= 0:
                    continue
                if self.rng.random() >= float(r.get("fraction", 1.0)):
                    continue
                if r.get("count") is not None:
                    r["count"] -= 1
                self.faults[r["fault"]] = self.faults.get(r["fault"], 0) + 1
                return r
        return None

    def record(self, op, status):
        with self.lock:
            self.timeline.append([round(time.monotonic() - self.t0, 3), op, status])
            if len(self.timeline) > 200000:
                del self.timeline[:100000]


def reset(sock):
    """Closes with RST instead of FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    finally:
        sock.close()


class Conn:
    """Buffered reads of one socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.buf += data

    def head(self):
        while b"\r\n\r\n" not in self.buf:
            self.fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        return head + b"\r\n\r\n"

    def exactly(self, n):
        while len(self.buf) < n:
            self.fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def chunked(self):
        """A chunked body, raw (terminator included)."""
        out = b""
        while True:
            while b"\r\n" not in self.buf:
                self.fill()
            line, rest = self.buf.split(b"\r\n", 1)
            self.buf = rest
            size = int(line.split(b";")[0], 16)
            out += line + b"\r\n"
            if size == 0:
                while b"\r\n" not in self.buf:
                    self.fill()
                t, self.buf = self.buf.split(b"\r\n", 1)
                return out + t + b"\r\n"
            out += self.exactly(size + 2)

    def until_close(self):
        try:
            while True:
                self.fill()
        except (EOFError, OSError):
            pass
        out, self.buf = self.buf, b""
        return out


def parse_head(raw):
    lines = raw.decode("latin-1").split("\r\n")
    first = lines[0]
    headers = {}
    for l in lines[1:]:
        if ":" in l:
            k, v = l.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    return first, headers


def read_body(conn, headers, no_body=False):
    if no_body:
        return b""
    if headers.get("transfer-encoding", "").lower() == "chunked":
        return conn.chunked()
    if "content-length" in headers:
        return conn.exactly(int(headers["content-length"]))
    return None  # until close


def error_response(status, code, msg, close=False):
    body = S3_ERROR.format(code=code, msg=msg).encode()
    reason = {500: "Internal Server Error", 503: "Slow Down", 200: "OK"}[status]
    head = ("HTTP/1.1 %d %s\r\nContent-Type: application/xml\r\nContent-Length: %d\r\n"
            "x-amz-request-id: faultproxy\r\n%s\r\n" % (
                status, reason, len(body), "Connection: close\r\n" if close else ""))
    return head.encode() + body


class Proxy:
    def __init__(self, listen, upstream, state):
        self.listen_port = listen
        self.upstream = upstream
        self.state = state
        self.lsock = None
        self.lsock_lock = threading.Lock()
        self.stopped = threading.Event()

    def open_listener(self):
        with self.lsock_lock:
            if self.lsock:
                return
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", self.listen_port))
            s.listen(256)
            self.lsock = s

    def close_listener(self):
        with self.lsock_lock:
            if self.lsock:
                # shutdown first: a thread inside accept() keeps a closed
                # socket listening until it returns.
                try:
                    self.lsock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                self.lsock.close()
                self.lsock = None

    def serve(self):
        self.open_listener()
        while not self.stopped.is_set():
            with self.lsock_lock:
                s = self.lsock
            if s is None:
                time.sleep(0.05)
                continue
            try:
                s.settimeout(0.2)
                client, _ = s.accept()
            except (socket.timeout, OSError):
                continue
            client.settimeout(None)
            threading.Thread(target=self.handle, args=(client,), daemon=True).start()

    def handle(self, client):
        up = None
        try:
            cconn = Conn(client)
            while True:
                raw = cconn.head()
                first, headers = parse_head(raw)
                method, target = first.split(" ")[:2]
                op = classify(method, target, headers)
                key = urllib.parse.unquote(urllib.parse.urlsplit(target).path)
                if self.state.mode == "blackhole":
                    self.hold(client)
                    return
                rule = self.state.choose(op, key)
                fault = rule["fault"] if rule else None
                if fault == "reset-request":
                    n = int(headers.get("content-length", "0"))
                    if n > 1:
                        cconn.exactly(n // 2)
                    self.state.record(op, "reset-request")
                    reset(client)
                    return
                body = read_body(cconn, headers)
                if body is None:
                    body = b""
                if fault == "blackhole":
                    self.hold(client)
                    return
                if fault in ("500", "503", "error-200"):
                    status, code = {"500": (500, "InternalError"), "503": (503, "SlowDown"),
                                    "error-200": (200, "InternalError")}[fault]
                    client.sendall(error_response(status, code, "injected by faultproxy"))
                    self.state.record(op, fault)
                    continue
                if fault in ("stall", "latency"):
                    time.sleep(float(rule.get("ms", 60000 if fault == "stall" else 100)) / 1000)
                if up is None:
                    up = socket.create_connection(self.upstream)
                up.sendall(raw + body)
                uconn = Conn(up)
                rhead = uconn.head()
                status_line, rheaders = parse_head(rhead)
                status = int(status_line.split(" ")[1])
                no_body = method == "HEAD" or status in (204, 304) or 100 <= status < 200
                rbody = read_body(uconn, rheaders, no_body)
                close_after = rbody is None
                if rbody is None:
                    rbody = uconn.until_close()
                self.state.record(op, status if not fault else "%d+%s" % (status, fault))
                if fault == "etag" and "etag" in rheaders:
                    rhead = re.sub(rb"(?im)^etag:.*$", b'ETag: "00000000000000000000000000000000"',
                                   rhead)
                if fault == "corrupt" and rbody:
                    i = len(rbody) // 2
                    rbody = rbody[:i] + bytes([rbody[i] ^ 0xff]) + rbody[i + 1:]
                if fault in ("truncate", "reset-response") and len(rbody) > 1:
                    client.sendall(rhead + rbody[:len(rbody) // 2])
                    if fault == "truncate":
                        client.shutdown(socket.SHUT_RDWR)
                        client.close()
                    else:
                        reset(client)
                    return
                client.sendall(rhead + rbody)
                if close_after or headers.get("connection", "").lower() == "close":
                    client.close()
                    return
        except (EOFError, OSError, ValueError, IndexError):
            pass
        finally:
            for s in (client, up):
                if s is not None:
                    try:
                        s.close()
                    except OSError:
                        pass

    def hold(self, client):
        """Keeps the connection open, answering nothing, until the peer leaves
        or the proxy stops (the "black hole")."""
        client.settimeout(0.5)
        while not self.stopped.is_set():
            try:
                if not client.recv(65536):
                    return
            except socket.timeout:
                continue
            except OSError:
                return


def control_handler(state, proxy):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def reply(self, code, obj=None):
            body = json.dumps(obj if obj is not None else {"ok": True}).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def body(self):
            n = int(self.headers.get("Content-Length", "0"))
            return json.loads(self.rfile.read(n) or b"null")

        def do_GET(self):
            if self.path == "/stats":
                with state.lock:
                    return self.reply(200, {"requests": state.requests, "faults": state.faults,
                                            "timeline": state.timeline, "mode": state.mode,
                                            "rules": state.rules})
            self.reply(404, {"error": "unknown path"})

        def do_PUT(self):
            if self.path == "/rules":
                rules = self.body()
                with state.lock:
                    state.rules = list(rules if isinstance(rules, list) else [rules])
                return self.reply(200)
            if self.path == "/mode":
                mode = self.body().get("mode")
                if mode not in ("up", "blackhole", "refuse"):
                    return self.reply(400, {"error": "mode must be up, blackhole or refuse"})
                state.mode = mode
                if mode == "refuse":
                    proxy.close_listener()
                else:
                    proxy.open_listener()
                return self.reply(200)
            self.reply(404, {"error": "unknown path"})

        def do_POST(self):
            if self.path == "/rules":
                rules = self.body()
                with state.lock:
                    state.rules += rules if isinstance(rules, list) else [rules]
                return self.reply(200)
            self.reply(404, {"error": "unknown path"})

        def do_DELETE(self):
            with state.lock:
                if self.path == "/rules":
                    state.rules = []
                elif self.path == "/stats":
                    state.requests, state.faults, state.timeline = {}, {}, []
                else:
                    return self.reply(404, {"error": "unknown path"})
            self.reply(200)
    return Handler


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--upstream", required=True, help="HOST:PORT of the S3 server")
    ap.add_argument("--control", type=int, required=True)
    ap.add_argument("--seed", type=int, default=None)
    a = ap.parse_args()
    host, port = a.upstream.rsplit(":", 1)
    if host not in ("127.0.0.1", "localhost"):
        sys.exit("faultproxy: only 127.0.0.1 may be the upstream")
    state = State(a.seed)
    proxy = Proxy(a.listen, (host, int(port)), state)
    ctl = ThreadingHTTPServer(("127.0.0.1", a.control), control_handler(state, proxy))
    threading.Thread(target=ctl.serve_forever, daemon=True).start()
    print("faultproxy listening on 127.0.0.1:%d -> %s, control on 127.0.0.1:%d" % (
        a.listen, a.upstream, a.control), flush=True)
    try:
        proxy.serve()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
