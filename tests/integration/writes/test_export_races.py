"""Minimal reproductions of export bugs found by the differential test.

Each test is a short, deterministic sequence with --export-delay 60 (so
nothing is exported except at the explicit `stagefs sync`), followed by a
check of the bucket through awscli. Each "Was a bug" note says what the test
caught before the fix; they stay as regression tests.
"""

import ctypes
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wharness  # noqa: E402

_libc = ctypes.CDLL(None, use_errno=True)


def put(path, data, flags=os.O_CREAT | os.O_WRONLY | os.O_TRUNC):
    fd = os.open(path, flags, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


class ExportBugs(wharness.WriteTestCase):
    def setUp(self):
        super().setUp()
        self.b = self.bucket("bug")
        self.m = self.mount_rw(self.b, 60)

    def p(self, rel):
        return self.m.path(rel)

    def sync(self):
        wharness.sync(self.m, timeout=90)

    def assertBucket(self, want):
        """want: {key: bytes}; also no export may have failed."""
        got = {k: o.data for k, o in wharness.read_bucket(self.aws, self.b).items()}
        failures = self.m.metrics().sum("stagefs_export_failures_total")
        self.assertEqual((got, failures), (want, 0),
                         "bucket / export failures; stagefs log:\n" + self.m.log_tail(10))

    # -- these work (guards for the reductions in test_differential.py)
    def test_write_then_rename_exported(self):
        put(self.p("f"), b"old")
        self.sync()
        os.rename(self.p("f"), self.p("g"))
        self.sync()
        self.assertBucket({"g": b"old"})

    def test_unlink_then_create_same_name(self):
        put(self.p("f"), b"old")
        self.sync()
        os.unlink(self.p("f"))
        put(self.p("f"), b"new")
        self.sync()
        self.assertBucket({"f": b"new"})

    # -- known bugs
    # Was a bug: the ETag recorded after a CopyObject (chmod) is unquoted while HEAD
    # returns it quoted: the next export fails with a false "Conflict: s3://B/f
    # was changed in S3", ExportState=failed, and the bucket keeps "old".
    def test_chmod_then_write(self):
        put(self.p("f"), b"old")
        self.sync()
        os.chmod(self.p("f"), 0o600)
        self.sync()
        put(self.p("f"), b"new")
        self.sync()
        self.assertBucket({"f": b"new"})

    # Was a bug: same root cause: the delete's ETag check (HEAD) does not match the
    # unquoted ETag, so the unlink is treated as "rewritten in S3" and the object
    # silently stays in the bucket (no failure is counted either).
    def test_chmod_then_unlink(self):
        put(self.p("f"), b"old")
        self.sync()
        os.chmod(self.p("f"), 0o600)
        self.sync()
        os.unlink(self.p("f"))
        self.sync()
        self.assertBucket({})

    # Was a bug: same root cause through a rename (CopyObject): renaming an exported
    # file and then writing it fails the export of the new contents.
    def test_rename_then_write(self):
        put(self.p("f"), b"old")
        self.sync()
        os.rename(self.p("f"), self.p("g"))
        self.sync()
        put(self.p("g"), b"new")
        self.sync()
        self.assertBucket({"g": b"new"})

    # Was a bug: rename onto a name whose exported object was unlinked but not yet
    # exported: the export fails ("Conflict"), the bucket keeps g and loses f.
    def test_unlink_then_rename_onto(self):
        put(self.p("f"), b"old")
        put(self.p("g"), b"gee")
        self.sync()
        os.unlink(self.p("f"))
        os.rename(self.p("g"), self.p("f"))
        self.sync()
        self.assertBucket({"f": b"gee"})

    # Was a bug: f -> h then g -> f before an export: the parked copy stays under
    # .stagefs-tmp/, f is missing and g is stale in the bucket.
    def test_rename_away_then_rename_onto(self):
        put(self.p("f"), b"old")
        put(self.p("g"), b"gee")
        self.sync()
        os.rename(self.p("f"), self.p("h"))
        os.rename(self.p("g"), self.p("f"))
        self.sync()
        self.assertBucket({"f": b"gee", "h": b"old"})

    # Was a bug: renameat2(RENAME_EXCHANGE) of two exported files: both exports fail
    # with "Conflict", .stagefs-tmp/<ino>-<seq> objects are left behind.
    def test_rename_exchange_exported(self):
        put(self.p("a"), b"aaa")
        put(self.p("b"), b"b")
        self.sync()
        rc = _libc.renameat2(-100, self.p("a").encode(), -100, self.p("b").encode(), 2)
        self.assertEqual(rc, 0)
        self.sync()
        self.assertBucket({"a": b"b", "b": b"aaa"})

    # Was a bug: unlink f (exported), create f, unlink f again before an export:
    # the object f stays in the bucket (a fresh mount shows it again).
    def test_unlink_create_unlink(self):
        put(self.p("f"), b"1")
        self.sync()
        os.unlink(self.p("f"))
        put(self.p("f"), b"2")
        os.unlink(self.p("f"))
        self.sync()
        self.assertBucket({})

    # Was a bug: the same with directories: mkdir d, sync, rmdir d, mkdir d, rmdir d,
    # mkdir d: the new marker's export fails with 412 (If-None-Match).
    def test_rmdir_mkdir_rmdir_mkdir(self):
        os.mkdir(self.p("d"))
        self.sync()
        for _ in range(2):
            os.rmdir(self.p("d"))
            os.mkdir(self.p("d"))
        self.sync()
        self.assertBucket({"d/": b""})

    # Was a bug: an unlinked file whose delete is not exported yet comes back in the
    # directory listing after a periodic re-list (here --refresh-interval 1).
    def test_relist_does_not_resurrect_unlinked_file(self):
        m = self.mount_rw(self.bucket("relist"), 60, extra=("--refresh-interval", "1"))
        os.mkdir(m.path("d"))
        put(m.path("d/x"), b"x")
        wharness.sync(m, timeout=90)
        os.unlink(m.path("d/x"))
        self.assertEqual(os.listdir(m.path("d")), [])
        wharness.time.sleep(4)
        self.assertEqual(os.listdir(m.path("d")), [], "d/x came back after a re-list")

    # Was a bug: `stagefs sync` exits 0 although an export failed (ExportState: failed
    # in user.stagefs.status, stagefs_export_failures_total > 0).
    def test_sync_reports_failed_export(self):
        put(self.p("f"), b"old")
        self.sync()
        os.chmod(self.p("f"), 0o600)
        self.sync()
        put(self.p("f"), b"new")
        p = wharness.stagefs("sync", self.m.mnt, check=False, timeout=90)
        state = self.m.file_status("f").get("ExportState")
        self.assertTrue(p.returncode != 0 or state != "failed",
                        "stagefs sync exited 0 with ExportState=failed")


    # Was a bug: with --export-delay 0, a file unlinked and created again (or a
    # directory removed and a file made at its name) while the first export was
    # in flight: the first upload landed after the unlink had forgotten the
    # inode, so its object stayed ("first", or empty) and the second file's
    # upload then met it (412) and went to lost+found; `d/` markers stayed and
    # hid the file d from a fresh mount. Now an upload in flight keeps its
    # inode until it lands (then it is deleted), and another inode's upload to
    # the same key waits for it.
    def test_recreate_while_the_first_export_is_in_flight(self):
        m = self.mount_rw(self.bucket("inflight"), 0)
        want = {}
        for i in range(20):
            f = m.path("f%d" % i)
            put(f, b"first %d" % i)
            os.unlink(f)
            put(f, b"second %d" % i)
            want["f%d" % i] = b"second %d" % i
            d = m.path("d%d" % i)
            os.mkdir(d)
            os.rmdir(d)
            put(d, b"file d %d" % i)
            want["d%d" % i] = b"file d %d" % i
        wharness.sync(m, timeout=90)
        got = {k: o.data for k, o in wharness.read_bucket(self.aws, m.bucket).items()}
        self.assertEqual(got, want, "stagefs log:\n" + m.log_tail(10))
        self.assertFalse(os.path.exists(m.path(".stagefs-lost+found")))

if __name__ == "__main__":
    unittest.main()
