"""harness.py: shared helpers for the FUSE integration tests (stdlib only).

What it gives a test file:
  * load_server() / FuseTestCase.setUpClass: the S3 server named by
    STAGEFS_TEST_SERVER (rgw or s3rver), read from STAGEFS_<SERVER>_ENDPOINT,
    _ACCESS_KEY, _SECRET_KEY and _REGION (scripts/test exports them). Missing
    variables FAIL the test when CI is set and skip it otherwise.
  * Aws: awscli as the independent client (create buckets, put objects with
    metadata, list keys), with the server's credentials and never the user's
    profile.
  * Mount: `stagefs mount` into a fresh temp dir with a fresh cache dir and a
    metrics port of its own; scrapes /metrics, reads `stagefs status`, and always
    unmounts (tearDown, atexit and SIGTERM all end up in Mount.cleanup()).

The binary comes from STAGEFS_BIN (CTest sets it to the build dir's stagefs),
the NFS handle probe from STAGEFS_HANDLE_PROBE. Nothing here is thread-safe.
"""

import atexit
import concurrent.futures
import datetime
import email.utils
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request
import uuid

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
MiB = 1024 * 1024


def in_ci():
    return os.environ.get("CI", "") not in ("", "0", "false")


def stagefs_bin():
    b = os.environ.get("STAGEFS_BIN")
    if b:
        return b
    for cand in ("build-fuse/stagefs", "build/stagefs"):
        p = os.path.join(REPO, cand)
        if os.path.exists(p):
            return p
    return "stagefs"


class Server:
    def __init__(self, name, endpoint, access_key, secret_key, region, ceph_conf=""):
        self.name = name
        self.endpoint = endpoint
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region or "us-east-1"
        self.ceph_conf = ceph_conf

    @property
    def is_rgw(self):
        return self.name == "rgw"

    @property
    def is_s3rver(self):
        return self.name == "s3rver"

    def env(self, **extra):
        """Environment for awscli and stagefs: only this server's credentials."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AWS_")}
        env.update(AWS_ACCESS_KEY_ID=self.access_key,
                   AWS_SECRET_ACCESS_KEY=self.secret_key,
                   AWS_DEFAULT_REGION=self.region, AWS_REGION=self.region,
                   AWS_EC2_METADATA_DISABLED="true", AWS_PAGER="",
                   AWS_CONFIG_FILE="/dev/null",
                   AWS_SHARED_CREDENTIALS_FILE="/dev/null")
        env.update(extra)
        return env

    def rgw_request_count(self):
        """RGW's own count of requests served (perf counter rgw.req), or None."""
        if not self.is_rgw or not self.ceph_conf:
            return None
        asok = os.path.join(os.path.dirname(self.ceph_conf), "run", "client.rgw.a.asok")
        try:
            out = subprocess.run(["ceph", "--admin-daemon", asok, "perf", "dump"],
                                 capture_output=True, text=True, timeout=20, check=True)
            return json.loads(out.stdout)["rgw"]["req"]
        except (OSError, subprocess.SubprocessError, ValueError, KeyError):
            return None


def load_server():
    """Returns (Server, None) or (None, why)."""
    name = os.environ.get("STAGEFS_TEST_SERVER", "")
    if name not in ("rgw", "s3rver"):
        return None, ("STAGEFS_TEST_SERVER must be rgw or s3rver (got %r); "
                      "run through scripts/test or ctest" % name)
    up = name.upper()
    get = lambda s: os.environ.get("STAGEFS_%s_%s" % (up, s), "")
    if not (get("ENDPOINT") and get("ACCESS_KEY") and get("SECRET_KEY")):
        return None, ("STAGEFS_{0}_ENDPOINT, STAGEFS_{0}_ACCESS_KEY and STAGEFS_{0}_SECRET_KEY "
                      "must be set (scripts/testbed/{1}-up DIR writes them to DIR/env; "
                      "scripts/test exports them)".format(up, name))
    return Server(name, get("ENDPOINT"), get("ACCESS_KEY"), get("SECRET_KEY"),
                  get("REGION"), get("CEPH_CONF")), None


def sha256_file(path, chunk=MiB):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def drop_kernel_caches(level=2):
    """1: page cache, 2: dentries and inodes (root only)."""
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write(str(level))


def evict_page_cache(path):
    """Drops the kernel's cached pages of one file, so the next read reaches stagefs."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def parse_time(s):
    """awscli prints LastModified as RFC 1123 or ISO 8601, by version."""
    try:
        return email.utils.parsedate_to_datetime(s).timestamp()
    except (TypeError, ValueError):
        return datetime.datetime.fromisoformat(s).timestamp()


def wait_for(pred, timeout, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(interval)


# ---------------------------------------------------------------- awscli

_PENDING = []  # background bucket deletions


def _wait_pending():
    for p in _PENDING:
        try:
            p.wait(timeout=300)
        except subprocess.TimeoutExpired:
            p.kill()


atexit.register(_wait_pending)


class Aws:
    def __init__(self, server):
        self.server = server

    def run(self, *args, check=True, timeout=900):
        cmd = ["aws", "--endpoint-url", self.server.endpoint] + list(args)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                           env=self.server.env())
        if check and p.returncode != 0:
            raise AssertionError("aws %s failed (exit %d): %s%s" % (
                " ".join(args)[:300], p.returncode, p.stdout[-2000:], p.stderr[-2000:]))
        return p

    def create_bucket(self, tag):
        name = ("stagefs-fuse-%s-%d-%s" % (tag, os.getpid(), uuid.uuid4().hex[:8])).lower()
        self.run("s3api", "create-bucket", "--bucket", name)
        return name

    def delete_bucket(self, bucket, wait=False):
        """Deletes the bucket and its objects in the background (the next test
        need not wait for it); all deletions finish before the process exits."""
        p = subprocess.Popen(["aws", "--endpoint-url", self.server.endpoint, "s3", "rb",
                              "--force", "s3://" + bucket], env=self.server.env(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _PENDING.append(p)
        if wait:
            p.wait()

    def put(self, bucket, key, data=None, path=None, metadata=None):
        """Uploads bytes (or a local file) with one PutObject; returns the ETag."""
        tmp = None
        if path is None:
            fd, tmp = tempfile.mkstemp(prefix="stagefs-body-")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            path = tmp
        try:
            args = ["s3api", "put-object", "--bucket", bucket, "--key", key, "--body", path,
                    "--output", "json"]
            if metadata:
                args += ["--metadata", json.dumps(metadata)]
            return json.loads(self.run(*args).stdout).get("ETag", "")
        finally:
            if tmp:
                os.unlink(tmp)

    def put_many(self, bucket, objects, workers=4):
        """Uploads {key: bytes or (bytes, metadata)} in parallel (awscli spends most
        of its ~0.8 s per call starting up). Returns {key: exception or None}."""
        def one(item):
            key, v = item
            data, meta = v if isinstance(v, tuple) else (v, None)
            try:
                self.put(bucket, key, data=data, metadata=meta)
                return key, None
            except AssertionError as e:
                return key, e
        with concurrent.futures.ThreadPoolExecutor(workers) as ex:
            return dict(ex.map(one, objects.items()))

    def cp(self, local, bucket, key):
        """`aws s3 cp` (multipart for large files)."""
        self.run("s3", "cp", "--only-show-errors", local, "s3://%s/%s" % (bucket, key))

    def sync_dir(self, local_dir, bucket, prefix=""):
        self.run("s3", "sync", "--only-show-errors", local_dir, "s3://%s/%s" % (bucket, prefix))

    def list_keys(self, bucket, prefix=""):
        args = ["s3api", "list-objects-v2", "--bucket", bucket, "--output", "json"]
        if prefix:
            args += ["--prefix", prefix]
        out = self.run(*args).stdout
        return [o["Key"] for o in (json.loads(out).get("Contents", []) if out.strip() else [])]

    def list_delimited(self, bucket):
        """Keys reachable by listing with delimiter '/' level by level, as a file
        system client sees them (s3rver omits some common prefixes)."""
        def level(pre):
            out = self.run("s3api", "list-objects-v2", "--bucket", bucket, "--delimiter", "/",
                           "--prefix", pre, "--output", "json").stdout
            o = json.loads(out) if out.strip() else {}
            return ([c["Key"] for c in o.get("Contents", [])],
                    [c["Prefix"] for c in o.get("CommonPrefixes", [])])
        keys, todo = [], [""]
        with concurrent.futures.ThreadPoolExecutor(4) as ex:
            while todo:
                nxt = []
                for k, p in ex.map(level, todo):
                    keys += k
                    nxt += p
                todo = nxt
        return keys

    def get_bytes(self, bucket, key):
        fd, tmp = tempfile.mkstemp(prefix="stagefs-get-")
        os.close(fd)
        try:
            self.run("s3api", "get-object", "--bucket", bucket, "--key", key, tmp)
            with open(tmp, "rb") as f:
                return f.read()
        finally:
            os.unlink(tmp)

    def head(self, bucket, key):
        return json.loads(self.run("s3api", "head-object", "--bucket", bucket, "--key", key,
                                   "--output", "json").stdout)


# ---------------------------------------------------------------- metrics

_METRIC_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)')
_LABEL_RE = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """Prometheus text -> {(name, frozenset(labels.items())): value}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _METRIC_RE.match(line)
        if not m:
            continue
        labels = frozenset(_LABEL_RE.findall(m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


class Metrics:
    def __init__(self, samples):
        self.samples = samples

    def sum(self, name, **labels):
        want = set(labels.items())
        return sum(v for (n, l), v in self.samples.items() if n == name and want <= set(l))

    def s3(self, op=None):
        return self.sum("stagefs_s3_requests_total", **({"op": op} if op else {}))

    def s3_by_op(self):
        out = {}
        for (n, l), v in self.samples.items():
            if n == "stagefs_s3_requests_total" and v:
                out[dict(l).get("op", "?")] = v
        return out


# ---------------------------------------------------------------- mounts

_LIVE_MOUNTS = []


def _cleanup_all():
    for m in list(_LIVE_MOUNTS):
        m.cleanup()


atexit.register(_cleanup_all)


def _on_sigterm(*_):
    # CTest's timeout ends a test with SIGTERM: unmount before dying.
    _cleanup_all()
    os._exit(143)


signal.signal(signal.SIGTERM, _on_sigterm)


def is_mounted(path):
    path = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == path for line in f)


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is dead for our purposes.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


class Mount:
    """One `stagefs mount` of s3://bucket[/prefix] into a fresh temp dir.

    start() runs the daemonizing mount and returns the CompletedProcess; on
    success `pid` is the daemon's pid (from CACHE_DIR/lock). cleanup() always
    unmounts (repeatedly, if something got stacked) and removes the temp dirs.
    """

    def __init__(self, server, bucket, prefix="", args=(), cache_dir=None, mountpoint=None,
                 metrics=True, env=None):
        self.server = server
        self.bucket = bucket
        self.prefix = prefix
        self.args = list(args)
        self.own_mnt = mountpoint is None
        self.mnt = mountpoint or tempfile.mkdtemp(prefix="stagefs-mnt-")
        self.own_cache = cache_dir is None
        self.cache = cache_dir or tempfile.mkdtemp(prefix="stagefs-cache-")
        self.port = free_port() if metrics else None
        self.env = env
        self.pid = None
        self.proc = None
        _LIVE_MOUNTS.append(self)

    def command(self):
        src = "s3://" + self.bucket + ("/" + self.prefix if self.prefix else "")
        cmd = [stagefs_bin(), "mount", src, self.mnt, "--endpoint-url", self.server.endpoint,
               "--region", self.server.region, "--cache-dir", self.cache]
        if self.port:
            cmd += ["--metrics-addr", "127.0.0.1:%d" % self.port]
        return cmd + self.args

    def start(self, check=True, timeout=120):
        env = self.env if self.env is not None else self.server.env()
        t0 = time.monotonic()
        self.proc = subprocess.run(self.command(), capture_output=True, text=True,
                                   timeout=timeout, env=env)
        self.start_seconds = time.monotonic() - t0
        if self.proc.returncode == 0:
            self.pid = self.read_lock_pid()
        if check and self.proc.returncode != 0:
            raise AssertionError("stagefs mount failed (exit %d): %s%s" % (
                self.proc.returncode, self.proc.stdout, self.proc.stderr))
        if check and not is_mounted(self.mnt):
            raise AssertionError("stagefs mount returned 0 but %s is not mounted" % self.mnt)
        return self.proc

    def read_lock_pid(self):
        try:
            with open(os.path.join(self.cache, "lock")) as f:
                return int(f.read().strip() or 0) or None
        except (OSError, ValueError):
            return None

    def path(self, *parts):
        return os.path.join(self.mnt, *parts)

    # -- observation
    def metrics(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.port, timeout=10) as r:
            return Metrics(parse_metrics(r.read().decode()))

    def status(self):
        p = subprocess.run([stagefs_bin(), "status", self.mnt], capture_output=True, text=True,
                           timeout=30)
        if p.returncode != 0:
            raise AssertionError("stagefs status failed: %s%s" % (p.stdout, p.stderr))
        return json.loads(p.stdout)

    def file_status(self, rel):
        raw = os.getxattr(self.path(rel), "user.stagefs.status")
        out = {}
        for line in raw.decode(errors="replace").splitlines():
            k, _, v = line.partition(": ")
            out[k] = v
        return out

    def wait_idle(self, timeout=60, quiet=0.6):
        """Waits until imports and S3 requests stop moving for `quiet` seconds."""
        def snap():
            m = self.metrics()
            return (m.sum("stagefs_files_imported_total"), m.s3())
        last, since = snap(), time.monotonic()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            time.sleep(0.2)
            cur = snap()
            if cur != last:
                last, since = cur, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
        raise AssertionError("mount still busy after %d s: %r" % (timeout, last))

    def lost_found(self):
        """Sorted names in /.stagefs-lost+found ([] while it does not exist)."""
        try:
            return sorted(os.listdir(self.path(".stagefs-lost+found")))
        except FileNotFoundError:
            return []

    def log_tail(self, n=40):
        try:
            with open(os.path.join(self.cache, "stagefs.log"), errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return "(no log)"

    # -- teardown
    def unmount(self, timeout=20):
        """Unmounts (fusermount3 -u, retried; lazy as a last resort) and waits for
        the daemon to exit. Returns True if it exited on its own."""
        deadline = time.monotonic() + timeout
        while is_mounted(self.mnt) and time.monotonic() < deadline:
            p = subprocess.run(["fusermount3", "-u", self.mnt], capture_output=True)
            if p.returncode != 0:
                time.sleep(0.2)
        while is_mounted(self.mnt):
            if subprocess.run(["fusermount3", "-u", "-z", self.mnt]).returncode != 0:
                subprocess.run(["umount", "-l", self.mnt])
                break
        clean = True
        if self.pid:
            if not wait_for(lambda: not pid_alive(self.pid), 15):
                clean = False
                try:
                    os.kill(self.pid, signal.SIGKILL)  # our own daemon
                except ProcessLookupError:
                    pass
        return clean

    def cleanup(self):
        if self not in _LIVE_MOUNTS:
            return
        try:
            self.unmount()
        finally:
            _LIVE_MOUNTS.remove(self)
            if self.own_mnt and not is_mounted(self.mnt):
                shutil.rmtree(self.mnt, ignore_errors=True)
            if self.own_cache:
                shutil.rmtree(self.cache, ignore_errors=True)


# ---------------------------------------------------------------- test base

class FuseTestCase(unittest.TestCase):
    """Loads the server once per class. A test that changes objects gets its own
    bucket via self.bucket(); tests that only read may share one made once per
    class with cls.class_bucket() (uploads are the slow part of these tests).
    Mounts come from self.mount(). All are cleaned up afterwards."""

    server = None
    only_servers = None  # e.g. ("rgw",) for tests that make no sense on s3rver

    @classmethod
    def setUpClass(cls):
        server, why = load_server()
        if server is None:
            if in_ci():
                raise AssertionError("no S3 test server, and CI is set: " + why)
            raise unittest.SkipTest("no S3 test server: " + why)
        if cls.only_servers and server.name not in cls.only_servers:
            raise unittest.SkipTest("runs only on " + ",".join(cls.only_servers))
        b = stagefs_bin()
        if not (os.path.exists(b) or shutil.which(b)):
            raise AssertionError("stagefs binary not found (%s); set STAGEFS_BIN" % b)
        cls.server = server
        cls.aws = Aws(server)

    @classmethod
    def class_bucket(cls, tag, objects):
        """A bucket holding {key: bytes or (bytes, metadata)}, deleted after the class."""
        b = cls.aws.create_bucket(tag)
        cls.addClassCleanup(cls.aws.delete_bucket, b)
        for k, err in cls.aws.put_many(b, objects).items():
            if err:
                raise err
        return b

    def setUp(self):
        self._buckets = []
        self._mounts = []

    def tearDown(self):
        for m in reversed(self._mounts):
            m.cleanup()
        for b in self._buckets:
            self.aws.delete_bucket(b)

    def bucket(self, tag="t"):
        b = self.aws.create_bucket(tag)
        self._buckets.append(b)
        return b

    def mount(self, bucket, start=True, **kw):
        m = Mount(self.server, bucket, **kw)
        self._mounts.append(m)
        if start:
            m.start()
        return m
