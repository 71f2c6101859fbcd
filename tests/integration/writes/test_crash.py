"""Crash test: what fsync acknowledged survives a SIGKILL of the daemon.

50 files of 1 MiB of random bytes are written and fsynced with --export-delay
3600, so nothing reaches S3 before the crash. The daemon (pid from `stagefs
status`) is killed with SIGKILL right after the last fsync returns, the dead
mount is detached (fusermount3 -u, or umount -l), and the bucket is mounted
again with the same cache dir: all 50 files must be intact (sha256). Then
`stagefs sync` must put all 50 in the bucket, byte for byte (awscli).

Second test: files read from S3 (cached, clean) are changed without fsync and
the daemon is killed at once. Each must then read as the old or the new
content, a file with the new content must be pending, and after `stagefs sync`
the bucket holds what the mount shows. (Was a bug: the new bytes stayed in a
file the next mount took for clean, and they were never exported.)
"""

import hashlib
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wharness  # noqa: E402
from wharness import MiB  # noqa: E402

N_FILES = 50


class Crash(wharness.WriteTestCase):
    def test_kill9_after_fsync_loses_nothing(self):
        bucket = self.bucket("crash")
        m = self.mount_rw(bucket, 3600)
        cache = m.cache
        # The remount must reuse the cache dir: keep it past the first Mount.
        m.own_cache = False
        self.addCleanup(wharness.harness.shutil.rmtree, cache, True)
        os.mkdir(m.path("crash"))
        want = {}
        for i in range(N_FILES):
            rel = "crash/f%02d.bin" % i
            data = os.urandom(MiB)
            want[rel] = hashlib.sha256(data).hexdigest()
            fd = os.open(m.path(rel), os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o640)
            try:
                self.assertEqual(os.write(fd, data), MiB)
                os.fsync(fd)
            finally:
                os.close(fd)
        pid = wharness.kill_daemon(m)  # right after the last fsync returned
        self.assertEqual(wharness.list_all_keys(self.aws, bucket), [],
                         "export delay 3600: nothing may be in the bucket before the crash")

        m2 = self.mount_rw(bucket, 3600, cache_dir=cache)
        self.assertNotEqual(m2.pid, pid)
        got = sorted(os.listdir(m2.path("crash")))
        self.assertEqual(got, sorted(os.path.basename(r) for r in want))
        for rel, sha in sorted(want.items()):
            st = os.stat(m2.path(rel))
            self.assertEqual((st.st_size, oct(st.st_mode)), (MiB, oct(0o100640)), rel)
            self.assertEqual(wharness.harness.sha256_file(m2.path(rel)), sha,
                             "%s changed across the crash" % rel)
        self.assertGreater(m2.status().get("pending_exports", 0), 0,
                           "the unexported files must still be pending after the restart")

        wharness.sync(m2)
        self.assertEqual(m2.status().get("pending_exports"), 0)
        objects = wharness.read_bucket(self.aws, bucket)
        self.assertEqual(sorted(objects), sorted(["crash/"] + list(want)))
        for rel, sha in want.items():
            self.assertEqual(hashlib.sha256(objects[rel].data).hexdigest(), sha, rel)
            self.assertEqual(objects[rel].mode, 0o100640, rel)

    def test_kill9_right_after_changing_a_clean_file(self):
        """No fsync: the change may be lost, but the next mount must not take
        the new bytes for the exported (clean) content and never export them."""
        bucket = self.bucket("crash2")
        m = self.mount_rw(bucket, 3600)
        cache = m.cache
        m.own_cache = False
        self.addCleanup(wharness.harness.shutil.rmtree, cache, True)
        old = b"o" * 65536
        for i in range(5):  # in S3 first, then read through the mount: cached, clean
            self.aws.put(bucket, "f%d" % i, old)
        for i in range(5):
            with open(m.path("f%d" % i), "rb") as f:
                self.assertEqual(f.read(), old)
        time.sleep(1)  # the metadata batch (cached ranges included) is committed
        self.assertEqual(m.file_status("f0").get("ExportState"), "clean")
        pid = wharness.daemon_pid(m)
        for i in range(5):
            fd = os.open(m.path("f%d" % i), os.O_WRONLY)
            os.pwrite(fd, b"NEW!", 1000)
            os.close(fd)
        wharness.kill_daemon(m, pid)  # within milliseconds of the writes

        m2 = self.mount_rw(bucket, 3600, cache_dir=cache)
        new = old[:1000] + b"NEW!" + old[1004:]
        for i in range(5):
            rel = "f%d" % i
            with open(m2.path(rel), "rb") as f:
                got = f.read()
            self.assertIn(got, (old, new), "%s is neither the old nor the new content" % rel)
            if got == new:
                self.assertNotEqual(m2.file_status(rel).get("ExportState"), "clean",
                                    "%s shows bytes S3 does not have, and is not pending" % rel)
        wharness.sync(m2)
        for i in range(5):
            rel = "f%d" % i
            with open(m2.path(rel), "rb") as f:
                self.assertEqual(self.aws.get_bytes(bucket, rel), f.read(), rel)


if __name__ == "__main__":
    unittest.main()
