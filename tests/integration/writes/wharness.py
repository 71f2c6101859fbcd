"""wharness.py: helpers for the write-path integration tests (stdlib only).

Built on tests/integration/fuse/harness.py (imported, not copied): the server
from the environment, awscli as the independent client, Mount with guaranteed
unmount. This module adds what writes need:
  * WriteTestCase: a FuseTestCase that runs on RGW only and mounts with
    --export-delay.
  * sync / kill_daemon / remount helpers around `stagefs sync|status`.
  * read_bucket(): the whole bucket through awscli (list-objects-v2, then one
    get-object per key, which returns the bytes and the user metadata).
  * snapshot(): a local or mounted tree as {rel: (kind, mode, size, payload)}.
  * OwnRgw: a Ceph RGW started by the test itself (scripts/testbed/rgw-up), so
    the test can stop and restart only its radosgw through the pid file.

Nothing here is thread-safe except read_bucket's internal fan-out.
"""

import concurrent.futures
import hashlib
import json
import os
import signal
import stat
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fuse"))
import harness  # noqa: E402  (helper-3's FUSE harness, reused as is)
from harness import MiB, wait_for  # noqa: E402,F401

REPO = harness.REPO


class WriteTestCase(harness.FuseTestCase):
    """RGW only; mounts take an export delay."""

    only_servers = ("rgw",)

    def mount_rw(self, bucket, export_delay, cache_dir=None, extra=(), start=True):
        args = ["--export-delay", str(export_delay)] + list(extra)
        return self.mount(bucket, args=args, cache_dir=cache_dir, start=start)


# ---------------------------------------------------------------- stagefs CLI

def stagefs(*args, timeout=600, check=True):
    p = subprocess.run([harness.stagefs_bin()] + list(args), capture_output=True, text=True,
                       timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError("stagefs %s failed (exit %d): %s%s" % (
            " ".join(args), p.returncode, p.stdout, p.stderr))
    return p


def sync(mount, path=None, timeout=300):
    """`stagefs sync MNT [PATH]`: exports now and waits. A sync that does not
    return within `timeout` is a hang: the daemon (ours) is SIGKILLed so that
    nothing stays blocked on the mount, and the test fails."""
    cmd = [harness.stagefs_bin(), "sync", mount.mnt] + ([path] if path else [])
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        # The sync process sits in a FUSE request; only the daemon's death frees it.
        diag = hang_diagnostics(mount)
        if mount.pid:
            try:
                os.kill(mount.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        p.kill()
        raise AssertionError("stagefs sync %s hung for %d s (daemon killed); %s; log:\n%s" % (
            mount.mnt, timeout, diag, mount.log_tail(20)))
    if p.returncode != 0:
        raise AssertionError("stagefs sync failed (exit %d): %s%s" % (p.returncode, out, err))
    return p


def hang_diagnostics(mount):
    """Pending exports and S3 requests from /metrics, and the daemon's thread
    stacks (gdb, if installed) in a file; for the failure message of a hang."""
    out = []
    try:
        met = mount.metrics()
        out.append("pending_exports %s, export failures %s, S3 requests %r" % (
            met.sum("stagefs_pending_exports"), met.sum("stagefs_export_failures_total"),
            met.s3_by_op()))
    except Exception as e:  # noqa: BLE001 (diagnostics only)
        out.append("no metrics (%s)" % e)
    if mount.pid and harness.shutil.which("gdb"):
        path = os.path.join(tempfile.gettempdir(), "stagefs-hang-%d.txt" % mount.pid)
        with open(path, "w") as f:
            subprocess.run(["gdb", "-p", str(mount.pid), "-batch", "-ex",
                            "thread apply all bt 20"], stdout=f, stderr=subprocess.DEVNULL,
                           timeout=120)
        out.append("thread stacks in " + path)
    return "; ".join(out)


def daemon_pid(mount):
    """The daemon's pid as `stagefs status` reports it."""
    pid = int(mount.status().get("pid", 0))
    if pid <= 0:
        raise AssertionError("stagefs status reports no pid: %r" % mount.status())
    return pid


def kill_daemon(mount, pid=None):
    """SIGKILLs the daemon of `mount` (our own; `pid` if already known, to kill
    without the delay of asking for it) and detaches the dead mount."""
    pid = pid or daemon_pid(mount)
    os.kill(pid, signal.SIGKILL)
    if not wait_for(lambda: not harness.pid_alive(pid), 15):
        raise AssertionError("daemon %d survived SIGKILL" % pid)
    # The kernel keeps a dead FUSE mount (ENOTCONN) until it is unmounted.
    if subprocess.run(["fusermount3", "-u", mount.mnt], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", mount.mnt], capture_output=True)
    if harness.is_mounted(mount.mnt):
        raise AssertionError("dead mount %s could not be unmounted" % mount.mnt)
    mount.pid = None
    return pid


# ---------------------------------------------------------------- bucket

class Obj:
    __slots__ = ("key", "data", "metadata")

    def __init__(self, key, data, metadata):
        self.key, self.data, self.metadata = key, data, metadata

    @property
    def mode(self):
        v = self.metadata.get("file-permissions")
        return int(v, 8) if v is not None else None


def get_object(aws, bucket, key):
    """One get-object: (bytes, user metadata)."""
    fd, tmp = tempfile.mkstemp(prefix="stagefs-wget-")
    os.close(fd)
    try:
        out = aws.run("s3api", "get-object", "--bucket", bucket, "--key", key, tmp,
                      "--output", "json").stdout
        with open(tmp, "rb") as f:
            data = f.read()
        return data, json.loads(out).get("Metadata", {})
    finally:
        os.unlink(tmp)


def list_all_keys(aws, bucket):
    keys, token = [], None
    while True:
        args = ["s3api", "list-objects-v2", "--bucket", bucket, "--output", "json"]
        if token:
            args += ["--continuation-token", token]
        out = aws.run(*args).stdout
        o = json.loads(out) if out.strip() else {}
        keys += [c["Key"] for c in o.get("Contents", [])]
        token = o.get("NextContinuationToken")
        if not o.get("IsTruncated") or not token:
            return keys


def read_bucket(aws, bucket, workers=4):
    """{key: Obj} for every object in the bucket, through awscli."""
    keys = list_all_keys(aws, bucket)
    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        got = list(ex.map(lambda k: (k, get_object(aws, bucket, k)), keys))
    return {k: Obj(k, d, md) for k, (d, md) in got}


def head_metadata(aws, bucket, key):
    return aws.head(bucket, key).get("Metadata", {})


# ---------------------------------------------------------------- trees

def describe(path):
    """(kind, st_mode, size, payload) of one path, without following symlinks.
    payload: sha256 of a file, the target of a symlink, None for a directory;
    an errno name if it cannot be read."""
    try:
        st = os.lstat(path)
    except OSError as e:
        return ("absent", errno_name(e), None, None)
    if stat.S_ISLNK(st.st_mode):
        return ("symlink", st.st_mode, len(os.readlink(path)), os.readlink(path))
    if stat.S_ISDIR(st.st_mode):
        return ("dir", st.st_mode, None, None)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        return ("file", st.st_mode, st.st_size, errno_name(e))
    return ("file", st.st_mode, st.st_size, hashlib.sha256(data).hexdigest()
            if len(data) > 64 else data)


def snapshot(root):
    """{rel: describe(rel)} for every entry under root (root itself excluded)."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        pre = "" if rel == "." else rel + "/"
        for name in dirs + files:
            out[pre + name] = describe(os.path.join(dirpath, name))
    return out


def expected_objects(root):
    """What the bucket must hold for the local tree at `root`:
    {key: (st_mode, bytes)}; directories are zero-byte "dir/" markers, symlinks
    hold their target."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        pre = "" if rel == "." else rel + "/"
        for name in dirs + files:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            if stat.S_ISDIR(st.st_mode):
                out[pre + name + "/"] = (st.st_mode, b"")
            elif stat.S_ISLNK(st.st_mode):
                out[pre + name] = (st.st_mode, os.readlink(p).encode())
            else:
                with open(p, "rb") as f:
                    out[pre + name] = (st.st_mode, f.read())
    return out


def compare_bucket(expected, objects):
    """List of human-readable differences between expected_objects() and
    read_bucket() (empty if they match exactly)."""
    diffs = []
    for k in sorted(set(expected) - set(objects)):
        diffs.append("missing key %r" % k)
    for k in sorted(set(objects) - set(expected)):
        diffs.append("unexpected key %r (%d bytes, %r)" % (k, len(objects[k].data),
                                                            objects[k].metadata))
    for k in sorted(set(expected) & set(objects)):
        mode, data = expected[k]
        o = objects[k]
        if o.data != data:
            diffs.append("key %r: %d bytes (sha %s), expected %d bytes (sha %s)" % (
                k, len(o.data), hashlib.sha256(o.data).hexdigest()[:12], len(data),
                hashlib.sha256(data).hexdigest()[:12]))
        if o.mode != mode:
            diffs.append("key %r: file-permissions %r, expected %07o" % (
                k, o.metadata.get("file-permissions"), mode))
    return diffs


def errno_name(e):
    import errno as _errno
    return _errno.errorcode.get(e.errno, str(e.errno)) if isinstance(e, OSError) else repr(e)


# ---------------------------------------------------------------- own RGW

class OwnRgw:
    """A Ceph RGW of the test's own, in a temp dir. stop_radosgw() ends only the
    radosgw named by DIR/run/client.rgw.a.pid (checked against this cluster's
    ceph.conf); start_radosgw() launches it again exactly as rgw-up does."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="stagefs-own-rgw-")
        self.env = {}

    def up(self, timeout=180):
        p = subprocess.run([os.path.join(REPO, "scripts", "testbed", "rgw-up"), self.dir],
                           capture_output=True, text=True, timeout=timeout)
        if p.returncode != 0:
            raise AssertionError("rgw-up failed: %s%s" % (p.stdout, p.stderr))
        with open(os.path.join(self.dir, "env")) as f:
            for line in f:
                k, _, v = line.strip().partition("=")
                if k:
                    self.env[k] = v
        return harness.Server("rgw", self.env["STAGEFS_RGW_ENDPOINT"],
                              self.env["STAGEFS_RGW_ACCESS_KEY"],
                              self.env["STAGEFS_RGW_SECRET_KEY"],
                              self.env.get("STAGEFS_RGW_REGION"),
                              self.env.get("STAGEFS_RGW_CEPH_CONF", ""))

    @property
    def conf(self):
        return os.path.join(self.dir, "ceph.conf")

    @property
    def pidfile(self):
        return os.path.join(self.dir, "run", "client.rgw.a.pid")

    def radosgw_pid(self):
        try:
            with open(self.pidfile) as f:
                pid = int(f.read().strip())
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError):
            return None
        return pid if ("radosgw" in cmd and self.conf in cmd) else None

    def stop_radosgw(self):
        pid = self.radosgw_pid()
        if pid is None:
            raise AssertionError("no radosgw of ours to stop (%s)" % self.pidfile)
        os.kill(pid, signal.SIGKILL)  # an abrupt outage; the OSD keeps the data
        if not wait_for(lambda: not harness.pid_alive(pid), 15):
            raise AssertionError("radosgw %d did not die" % pid)
        try:
            os.unlink(self.pidfile)
        except OSError:
            pass
        return pid

    def start_radosgw(self, timeout=60):
        log = open(os.path.join(self.dir, "restart.log"), "ab")
        try:
            subprocess.run(["radosgw", "-c", self.conf, "-n", "client.rgw.a"], stdout=log,
                           stderr=log, check=True, timeout=60)
        finally:
            log.close()
        url = self.env["STAGEFS_RGW_ENDPOINT"] + "/"

        def answers():
            return subprocess.run(["curl", "-sf", "-o", "/dev/null", url],
                                  capture_output=True).returncode == 0
        if not wait_for(answers, timeout, interval=0.2):
            raise AssertionError("radosgw did not come back on %s" % url)

    def down(self):
        subprocess.run([os.path.join(REPO, "scripts", "testbed", "rgw-down"), self.dir],
                       capture_output=True, timeout=120)
        # rgw-down leaves what it did not create (our restart.log).
        harness.shutil.rmtree(self.dir, ignore_errors=True)


def need_server_or_skip():
    """For tests that start their own server: still honour CI / skip rules for
    the rest of the environment (stagefs binary, radosgw)."""
    b = harness.stagefs_bin()
    if not (os.path.exists(b) or harness.shutil.which(b)):
        raise AssertionError("stagefs binary not found (%s); set STAGEFS_BIN" % b)
    for tool in ("radosgw", "ceph-mon", "ceph-osd", "aws", "fusermount3"):
        if not harness.shutil.which(tool):
            if harness.in_ci():
                raise AssertionError("%s not found and CI is set" % tool)
            raise unittest.SkipTest("%s not installed" % tool)
