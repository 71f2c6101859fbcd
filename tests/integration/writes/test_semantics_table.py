"""docs/SEMANTICS.md is checked against a real mount.

The table's rows name a probe (last column). Each probe runs in a fresh
directory of one mount: a row whose status is "rejected (ERRNO)" must fail with
exactly that errno (and leave nothing behind where that is observable), any
other row must succeed. Every probe named in the table must exist here, and
every rejected row must have a probe.
"""

import ctypes
import errno
import fcntl
import os
import re
import socket
import stat
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wharness  # noqa: E402

DOC = os.path.join(wharness.REPO, "docs", "SEMANTICS.md")
_libc = ctypes.CDLL(None, use_errno=True)
_libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]


def _check(rc):
    if rc != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def renameat2(src, dst, flags):
    _check(_libc.renameat2(-100, os.fsencode(src), -100, os.fsencode(dst), flags))


def fallocate(path, mode, off, length):
    fd = os.open(path, os.O_RDWR)
    try:
        _check(_libc.fallocate(fd, mode, off, length))
    finally:
        os.close(fd)


def parse_table(text):
    """[(operation, status, errno name or None, probe)] from the markdown table."""
    rows = []
    for line in text.splitlines():
        if not line.startswith("|") or line.startswith("|---"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or cells[0] == "operation":
            continue
        op, status, _, probe = cells
        m = re.fullmatch(r"(supported|emulated|rejected \((E[A-Z]+)\))", status)
        if not m:
            raise AssertionError("bad status %r in row %r" % (status, op))
        rows.append((op, status.split()[0], m.group(2), probe.strip("`") or None))
    return rows


def make_file(d, name="f", data=b"0123456789"):
    p = os.path.join(d, name)
    with open(p, "wb") as f:
        f.write(data)
    return p


def read_all(path):
    with open(path, "rb") as f:
        return f.read()


def close_then_read(path):
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    os.write(fd, b"!")
    os.close(fd)
    if read_all(path) != b"0123456789!":
        raise AssertionError("the write before close is not there")


def bind_unix(path):
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(path)


# Each probe gets a fresh directory inside the mount and does one operation.
PROBES = {
    "stat": lambda d: os.lstat(make_file(d)),
    "readdir": lambda d: (make_file(d), os.listdir(d)),
    "read": lambda d: read_all(make_file(d)),
    "create": lambda d: os.close(os.open(os.path.join(d, "new"), os.O_CREAT | os.O_WRONLY, 0o644)),
    "mknod_reg": lambda d: os.mknod(os.path.join(d, "reg"), stat.S_IFREG | 0o644),
    "write": lambda d: (lambda fd: (os.pwrite(fd, b"x", 100), os.close(fd)))(
        os.open(make_file(d), os.O_WRONLY)),
    "truncate": lambda d: (os.truncate(make_file(d), 3), os.truncate(os.path.join(d, "f"), 9000)),
    "fallocate": lambda d: fallocate(make_file(d), 0, 0, 50000),
    "fallocate_keep_size": lambda d: fallocate(make_file(d), 1, 0, 50000),
    "fallocate_punch_hole": lambda d: fallocate(make_file(d), 1 | 2, 0, 5),
    "close": lambda d: close_then_read(make_file(d)),
    "fsync": lambda d: (lambda fd: (os.fsync(fd), os.fdatasync(fd), os.close(fd)))(
        os.open(make_file(d), os.O_RDWR)),
    "unlink": lambda d: os.unlink(make_file(d)),
    "mkdir": lambda d: os.mkdir(os.path.join(d, "sub")),
    "rmdir": lambda d: (os.mkdir(os.path.join(d, "sub")), os.rmdir(os.path.join(d, "sub"))),
    "rename": lambda d: os.rename(make_file(d), os.path.join(d, "g")),
    "rename_over": lambda d: os.rename(make_file(d), make_file(d, "g")),
    "rename_noreplace": lambda d: renameat2(make_file(d), os.path.join(d, "g"), 1),
    "rename_exchange": lambda d: renameat2(make_file(d), make_file(d, "g", b"g"), 2),
    "rename_whiteout": lambda d: renameat2(make_file(d), os.path.join(d, "g"), 4),
    "rename_dir": lambda d: (os.makedirs(os.path.join(d, "a", "b")),
                             make_file(os.path.join(d, "a", "b")),
                             os.rename(os.path.join(d, "a"), os.path.join(d, "c"))),
    "symlink": lambda d: (os.symlink("some/target", os.path.join(d, "l")),
                          os.readlink(os.path.join(d, "l"))),
    "symlink_too_long": lambda d: os.symlink("t" * 4081, os.path.join(d, "l")),
    "link": lambda d: os.link(make_file(d), os.path.join(d, "hard")),
    "mkfifo": lambda d: os.mkfifo(os.path.join(d, "fifo")),
    "mknod_chr": lambda d: os.mknod(os.path.join(d, "null"), stat.S_IFCHR | 0o600,
                                    os.makedev(1, 3)),
    "socket": lambda d: bind_unix(os.path.join(d, "sock")),
    "chmod": lambda d: os.chmod(make_file(d), 0o600),
    "chown": lambda d: os.chown(make_file(d), 1234, 5678),
    "utimensat": lambda d: os.utime(make_file(d), ns=(10**18, 10**18 + 5)),
    "setxattr": lambda d: os.setxattr(make_file(d), "user.foo", b"bar"),
    "getxattr_status": lambda d: os.getxattr(make_file(d), "user.stagefs.status"),
    "getxattr_other": lambda d: os.getxattr(make_file(d), "user.foo"),
    "listxattr": lambda d: os.listxattr(make_file(d)),
    "removexattr": lambda d: os.removexattr(make_file(d), "user.foo"),
    "statfs": lambda d: os.statvfs(d),
    "locks": lambda d: (lambda fd: (fcntl.flock(fd, fcntl.LOCK_EX), fcntl.lockf(fd, fcntl.LOCK_EX),
                                    fcntl.lockf(fd, fcntl.LOCK_UN), fcntl.flock(fd, fcntl.LOCK_UN),
                                    os.close(fd)))(os.open(make_file(d), os.O_RDWR)),
}


def all_refused(code, calls):
    """Runs every call; raises OSError(code) if each failed with exactly `code`."""
    for fn, args in calls:
        try:
            fn(*args)
        except OSError as e:
            if e.errno != code:
                raise
            continue
        raise AssertionError("%s%r succeeded" % (fn.__name__, args))
    raise OSError(code, os.strerror(code))


def name_not_utf8(d):
    bad = os.path.join(os.fsencode(d), b"bad-\xff\xfe")
    good = make_file(d)
    all_refused(errno.EILSEQ, [
        (os.open, (bad, os.O_CREAT | os.O_WRONLY, 0o644)), (os.mkdir, (bad,)),
        (os.mknod, (bad, stat.S_IFREG | 0o644)), (os.symlink, (b"t", bad)),
        (os.rename, (good, bad))])


def key_too_long(d):
    # d is "<mount>/pNN-key_too_long" (17 bytes of key with its slash): nest
    # directories so that the last name makes a key of 1,025 bytes.
    rel = len(os.path.basename(d)) + 1
    sub = os.path.join(d, "a" * 250, "b" * 250, "c" * 250)
    os.makedirs(sub)
    rel += 3 * 251
    name = "f" * (1025 - rel)
    all_refused(errno.ENAMETOOLONG, [
        (os.open, (os.path.join(sub, name), os.O_CREAT | os.O_WRONLY, 0o644)),
        (os.mkdir, (os.path.join(sub, name[:-1]),)),  # the marker "name/" is 1,025 bytes
        (os.symlink, ("t", os.path.join(sub, name)))])


def lost_found_entry(test, m, d):
    """Makes a conflict and returns the path of its lost+found entry: a file
    is exported, overwritten with awscli, written here again and synced (the
    check before the upload finds S3's version)."""
    lf = m.path(".stagefs-lost+found")
    before = set(os.listdir(lf)) if os.path.isdir(lf) else set()
    path = make_file(d, "conflict", b"v1")
    wharness.sync(m)
    key = os.path.relpath(path, m.mnt)
    test.aws.put(m.bucket, key, data=b"theirs")
    with open(path, "wb") as f:
        f.write(b"mine")
    wharness.stagefs("sync", m.mnt, check=False)  # reports the conflict, once
    (entry,) = set(os.listdir(lf)) - before
    return os.path.join(lf, entry)


PROBES["name_not_utf8"] = name_not_utf8
PROBES["key_too_long"] = key_too_long

# Probes that need the test (its awscli) and the mount.
SERVER_PROBES = {
    "lost_found_read_copy_delete": lambda t, m, d: (
        lambda e: (read_all(e), open(os.path.join(d, "copy"), "wb").write(read_all(e)),
                   os.unlink(e)))(lost_found_entry(t, m, d)),
    "lost_found_move": lambda t, m, d: (lambda e: all_refused(errno.EPERM, [
        (os.rename, (e, os.path.join(d, "restored"))),
        (os.rename, (e, e + ".renamed")),
        (os.rename, (make_file(d), os.path.join(os.path.dirname(e), "moved-in")))]))(
            lost_found_entry(t, m, d)),
    "lost_found_rmdir": lambda t, m, d: (lost_found_entry(t, m, d), all_refused(errno.EPERM, [
        (os.rmdir, (m.path(".stagefs-lost+found"),)),
        (os.rename, (m.path(".stagefs-lost+found"), m.path("lf-renamed")))])),
}


class SemanticsTable(wharness.WriteTestCase):
    def test_table_parses_and_every_probe_exists(self):
        with open(DOC) as f:
            rows = parse_table(f.read())
        self.assertGreaterEqual(len(rows), 30)
        for op, status, err, probe in rows:
            if status == "rejected":
                self.assertIsNotNone(probe, "rejected row %r needs a probe" % op)
                self.assertTrue(hasattr(errno, err), "%r: unknown errno %s" % (op, err))
            if probe:
                self.assertIn(probe, {**PROBES, **SERVER_PROBES},
                              "row %r names an unknown probe" % op)

    def test_rows_against_the_mount(self):
        with open(DOC) as f:
            rows = parse_table(f.read())
        m = self.mount_rw(self.bucket("sem"), 60)
        for i, (op, status, err, probe) in enumerate(rows):
            if not probe:
                continue
            with self.subTest(op=op, probe=probe):
                d = m.path("p%02d-%s" % (i, probe))
                os.mkdir(d)
                before = sorted(os.listdir(d))
                try:
                    if probe in SERVER_PROBES:
                        SERVER_PROBES[probe](self, m, d)
                    else:
                        PROBES[probe](d)
                    got = None
                except OSError as e:
                    got = errno.errorcode.get(e.errno, str(e.errno))
                if status == "rejected":
                    want = getattr(errno, err)
                    self.assertEqual(got, errno.errorcode[want],
                                     "%s is documented as rejected (%s)" % (op, err))
                    if probe in ("link", "mkfifo", "mknod_chr", "socket", "symlink_too_long"):
                        after = set(os.listdir(d)) - {"f"}
                        self.assertEqual(after, set(before) - {"f"},
                                         "%s left something behind" % op)
                else:
                    self.assertIsNone(got, "%s is documented as %s" % (op, status))
        # More specific checks of rows the probes only run.
        d = m.path("noreplace")
        os.mkdir(d)
        with self.assertRaises(FileExistsError):
            renameat2(make_file(d), make_file(d, "g"), 1)
        st = os.statvfs(m.mnt)
        self.assertEqual((st.f_bsize, st.f_namemax), (4096, 255))
        self.assertEqual(os.listxattr(make_file(d, "x")), ["user.stagefs.status"])
        fallocate(make_file(d, "fa", b"12"), 0, 0, 5000)
        self.assertEqual(os.stat(os.path.join(d, "fa")).st_size, 5000)
        fallocate(os.path.join(d, "fa"), 1, 0, 90000)
        self.assertEqual(os.stat(os.path.join(d, "fa")).st_size, 5000)
        # Everything the probes did must still export.
        wharness.sync(m, timeout=120)
        self.assertEqual(m.status().get("pending_exports"), 0)


if __name__ == "__main__":
    unittest.main()
