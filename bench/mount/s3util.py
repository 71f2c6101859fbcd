#!/usr/bin/python3
"""Minimal S3 client (stdlib only, SigV4, path-style) for bench/run-mount-bench.

It is the benchmark's independent view of the bucket: it fills it, checks what
the mounts wrote, and polls until their writes have arrived.

Environment: S3U_ENDPOINT (http://127.0.0.1:PORT), S3U_ACCESS_KEY, S3U_SECRET_KEY,
S3U_REGION (default us-east-1).

  s3util.py mkbucket BUCKET
  s3util.py put-many BUCKET PREFIX N BYTES [THREADS]   keys PREFIX + f%06d
  s3util.py put-file BUCKET KEY FILE                   one PUT, streamed
  s3util.py count BUCKET PREFIX                        number of keys
  s3util.py wait-count BUCKET PREFIX N TIMEOUT         poll until >= N keys
  s3util.py head BUCKET KEY                            prints "size etag"
  s3util.py wait-object BUCKET KEY SIZE OLD_ETAG TIMEOUT
        poll until KEY has SIZE bytes and an ETag other than OLD_ETAG ("-": any)
  s3util.py verify-patched BUCKET KEY LOCALFILE OFFSET BYTES
        GET KEY and compare its sha256 with LOCALFILE patched at OFFSET with
        mbench's pwrite pattern
  s3util.py delete-prefix BUCKET PREFIX
Times are printed as seconds=...; failures exit non-zero.
"""
import concurrent.futures
import datetime
import hashlib
import hmac
import http.client
import os
import sys
import time
import urllib.parse
import xml.etree.ElementTree as ET

ENDPOINT = os.environ.get("S3U_ENDPOINT", "")
ACCESS = os.environ.get("S3U_ACCESS_KEY", "")
SECRET = os.environ.get("S3U_SECRET_KEY", "")
REGION = os.environ.get("S3U_REGION", "us-east-1")
NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def _host():
    u = urllib.parse.urlparse(ENDPOINT)
    return u.hostname, u.port or 80


def _q(s, safe="/"):
    return urllib.parse.quote(s, safe=safe + "-_.~")


def request(method, path, query=None, body=None, headers=None, conn=None, stream=False):
    """Signed request; path is "/bucket/key" (unencoded). Returns (status, headers, body)."""
    host, port = _host()
    query = query or {}
    headers = dict(headers or {})
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = now.strftime("%Y%m%d")
    headers["host"] = f"{host}:{port}"
    headers["x-amz-date"] = amz_date
    headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD"
    canon_path = _q(path)
    canon_query = "&".join(
        f"{_q(k, '')}={_q(str(v), '')}" for k, v in sorted(query.items()))
    names = sorted(h.lower() for h in headers)
    lower = {k.lower(): str(v).strip() for k, v in headers.items()}
    canon_headers = "".join(f"{n}:{lower[n]}\n" for n in names)
    signed = ";".join(names)
    creq = "\n".join([method, canon_path, canon_query, canon_headers, signed, "UNSIGNED-PAYLOAD"])
    scope = f"{day}/{REGION}/s3/aws4_request"
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                     hashlib.sha256(creq.encode()).hexdigest()])
    k = ("AWS4" + SECRET).encode()
    for part in (day, REGION, "s3", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={ACCESS}/{scope}, "
                                f"SignedHeaders={signed}, Signature={sig}")
    own = conn is None
    if own:
        conn = http.client.HTTPConnection(host, port, timeout=300, blocksize=1 << 20)
    url = canon_path + ("?" + canon_query if canon_query else "")
    conn.request(method, url, body=body, headers=headers)
    resp = conn.getresponse()
    if stream:
        return resp.status, resp, conn
    data = resp.read()
    if own:
        conn.close()
    return resp.status, dict(resp.getheaders()), data


def check(status, data, what):
    if status >= 300:
        sys.exit(f"s3util: {what}: HTTP {status}: {data[:300]!r}")


def list_keys(bucket, prefix):
    keys, token = [], None
    while True:
        q = {"list-type": "2", "prefix": prefix, "max-keys": "1000"}
        if token:
            q["continuation-token"] = token
        st, _, data = request("GET", f"/{bucket}", q)
        check(st, data, "ListObjectsV2")
        root = ET.fromstring(data)
        for c in root.iter(NS + "Contents"):
            keys.append(c.find(NS + "Key").text)
        if root.findtext(NS + "IsTruncated") == "true":
            token = root.findtext(NS + "NextContinuationToken")
        else:
            return keys


def head(bucket, key):
    st, h, _ = request("HEAD", f"/{bucket}/{key}")
    if st == 404:
        return None
    check(st, b"", f"HEAD {key}")
    h = {k.lower(): v for k, v in h.items()}
    return int(h.get("content-length", "0")), h.get("etag", "").strip('"')


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd == "mkbucket":
        st, _, data = request("PUT", f"/{args[0]}")
        check(st, data, "CreateBucket")
    elif cmd == "put-many":
        bucket, prefix, n, size = args[0], args[1], int(args[2]), int(args[3])
        threads = int(args[4]) if len(args) > 4 else 16
        body = bytes((i * 31 + 7) & 0xFF for i in range(size))
        t0 = time.monotonic()

        def worker(idx):
            host, port = _host()
            conn = http.client.HTTPConnection(host, port, timeout=120)
            for i in range(idx, n, threads):
                for attempt in range(5):
                    try:
                        st, _, data = request("PUT", f"/{bucket}/{prefix}f{i:06d}", body=body,
                                              conn=conn)
                        check(st, data, f"PUT {prefix}f{i:06d}")
                        break
                    except (OSError, http.client.HTTPException):
                        conn.close()
                        conn = http.client.HTTPConnection(host, port, timeout=120)
                        if attempt == 4:
                            raise
            conn.close()

        with concurrent.futures.ThreadPoolExecutor(threads) as ex:
            for f in [ex.submit(worker, t) for t in range(threads)]:
                f.result()
        print(f"objects={n} seconds={time.monotonic() - t0:.2f}")
    elif cmd == "put-file":
        bucket, key, path = args
        size = os.path.getsize(path)
        t0 = time.monotonic()
        with open(path, "rb") as f:
            st, _, data = request("PUT", f"/{bucket}/{key}", body=f,
                                  headers={"Content-Length": str(size)})
        check(st, data, f"PUT {key}")
        print(f"bytes={size} seconds={time.monotonic() - t0:.2f}")
    elif cmd == "count":
        print(len(list_keys(args[0], args[1])))
    elif cmd == "wait-count":
        bucket, prefix, n, timeout = args[0], args[1], int(args[2]), float(args[3])
        t0 = time.monotonic()
        while True:
            c = len(list_keys(bucket, prefix))
            if c >= n:
                print(f"count={c} seconds={time.monotonic() - t0:.2f}")
                return
            if time.monotonic() - t0 > timeout:
                sys.exit(f"s3util: only {c} of {n} keys under {prefix} after {timeout} s")
            time.sleep(0.2)
    elif cmd == "head":
        r = head(args[0], args[1])
        if r is None:
            sys.exit(f"s3util: {args[1]}: not found")
        print(f"{r[0]} {r[1]}")
    elif cmd == "wait-object":
        bucket, key, size, old, timeout = args[0], args[1], int(args[2]), args[3], float(args[4])
        t0 = time.monotonic()
        while True:
            r = head(bucket, key)
            if r is not None and r[0] == size and (old == "-" or r[1] != old):
                print(f"size={r[0]} etag={r[1]} seconds={time.monotonic() - t0:.2f}")
                return
            if time.monotonic() - t0 > timeout:
                sys.exit(f"s3util: {key} not updated after {timeout} s (now {r})")
            time.sleep(0.2)
    elif cmd == "verify-patched":
        bucket, key, local, off, n = args[0], args[1], args[2], int(args[3]), int(args[4])
        patch = bytes((i * 7 + 13) & 0xFF for i in range(n))
        want = hashlib.sha256()
        with open(local, "rb") as f:
            want.update(f.read(off))
            f.seek(off + n)
            want.update(patch)
            while True:
                b = f.read(1 << 20)
                if not b:
                    break
                want.update(b)
        st, resp, conn = request("GET", f"/{bucket}/{key}", stream=True)
        got, size = hashlib.sha256(), 0
        while True:
            b = resp.read(1 << 20)
            if not b:
                break
            got.update(b)
            size += len(b)
        conn.close()
        check(st, b"", f"GET {key}")
        ok = got.hexdigest() == want.hexdigest()
        print(f"size={size} match={'yes' if ok else 'NO'}")
        sys.exit(0 if ok else 1)
    elif cmd == "delete-prefix":
        keys = list_keys(args[0], args[1])
        with concurrent.futures.ThreadPoolExecutor(16) as ex:
            list(ex.map(lambda k: request("DELETE", f"/{args[0]}/{k}"), keys))
        print(f"deleted={len(keys)}")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
