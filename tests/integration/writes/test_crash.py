"""Crash test: what fsync acknowledged survives a SIGKILL of the daemon.

50 files of 1 MiB of random bytes are written and fsynced with --export-delay
3600, so nothing reaches S3 before the crash. The daemon (pid from `stagefs
status`) is killed with SIGKILL right after the last fsync returns, the dead
mount is detached (fusermount3 -u, or umount -l), and the bucket is mounted
again with the same cache dir: all 50 files must be intact (sha256). Then
`stagefs sync` must put all 50 in the bucket, byte for byte (awscli).
"""

import hashlib
import os
import sys
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


if __name__ == "__main__":
    unittest.main()
