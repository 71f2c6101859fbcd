"""A full cache disk (the cache dir on a small loop-mounted ext4 image):
  * writes fail with ENOSPC once no clean data can be evicted, cleanly: what
    was written before reads back, nothing is corrupted, the metadata store
    survives (an unmount and a remount serve the same tree);
  * clean (exported) data is evicted to make room, so writes go on while
    exports free space; deleting files frees space too;
  * when the metadata store itself cannot grow, operations fail with ENOSPC
    and the mount recovers once space is back;
  * in the end the bucket (awscli) holds exactly what the mount acknowledged.
"""

import errno
import hashlib
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rharness  # noqa: E402
from rharness import harness  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "writes"))
import wharness  # noqa: E402

MiB = 1 << 20


class SmallDisk:
    """An ext4 image of `mib` MiB mounted on a fresh directory (ours)."""

    def __init__(self, mib):
        self.dir = tempfile.mkdtemp(prefix="stagefs-smalldisk-")
        self.image = self.dir + ".img"
        self.mnt = os.path.join(self.dir, "fs")
        os.mkdir(self.mnt)
        subprocess.run(["truncate", "-s", "%dM" % mib, self.image], check=True)
        subprocess.run(["mkfs.ext4", "-q", "-F", "-m", "0", "-O", "^has_journal", self.image],
                       check=True, capture_output=True)
        subprocess.run(["mount", "-o", "loop", self.image, self.mnt], check=True)

    def free(self):
        st = os.statvfs(self.mnt)
        return st.f_bavail * st.f_frsize

    def fill(self, leave):
        """Fills the disk with a ballast file until `leave` bytes are free."""
        path = os.path.join(self.mnt, "ballast")
        with open(path, "ab") as f:
            while self.free() > leave:
                try:
                    f.write(b"\0" * min(MiB, self.free() - leave))
                    f.flush()
                except OSError:
                    break
        return path

    def cleanup(self):
        subprocess.run(["umount", self.mnt], capture_output=True)
        subprocess.run(["rm", "-rf", self.dir, self.image])


def write_file(path, data):
    with open(path, "wb") as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


class FullDiskTest(rharness.ReliabilityTestCase):
    def small_disk(self, mib):
        d = SmallDisk(mib)
        self.addCleanup(d.cleanup)
        return d

    def mount_on(self, disk, bucket, delay="3600", extra=()):
        cache = os.path.join(disk.mnt, "cache")
        m = harness.Mount(self.server, bucket, cache_dir=cache,
                          args=["--export-delay", delay, "--import-size-less-than", "0"]
                          + list(extra))
        m.own_cache = False
        self._mounts.append(m)
        m.start()
        return m

    def test_enospc_when_nothing_can_be_evicted_then_recovery(self):
        disk = self.small_disk(48)
        b = self.bucket("full")
        m = self.mount_on(disk, b)
        written = {}
        err = None
        for i in range(200):
            data = os.urandom(MiB)
            try:
                write_file(m.path("f%03d" % i), data)
                written["f%03d" % i] = data
            except OSError as e:
                err = e
                failed = ("f%03d" % i, data)  # created, then its write failed
                break
        self.assertIsNotNone(err, "a 48 MiB disk took 200 MiB of unexported data")
        self.assertEqual(err.errno, errno.ENOSPC, err)
        self.assertGreater(len(written), 10)
        self.assertTrue(harness.pid_alive(m.pid), m.log_tail())
        # What was acknowledged reads back whole.
        for rel, data in written.items():
            self.assertEqual(hashlib.sha256(read(m.path(rel))).hexdigest(),
                             hashlib.sha256(data).hexdigest(), rel)
        # The file whose write failed exists (open(O_CREAT) succeeded) with
        # at most a prefix of its bytes, never anything else.
        got = read(m.path(failed[0]))
        self.assertEqual(got, failed[1][:len(got)])
        os.unlink(m.path(failed[0]))
        # Deleting files frees space: writes work again.
        for rel in list(written)[:5]:
            os.unlink(m.path(rel))
            del written[rel]
        write_file(m.path("after-delete"), b"x" * MiB)
        written["after-delete"] = b"x" * MiB
        # The metadata store survives: a remount serves the same tree.
        m.unmount()
        m2 = self.mount_on(disk, b)
        names = sorted(n for n in os.listdir(m2.mnt) if not n.startswith(".stagefs"))
        self.assertEqual(names, sorted(written))
        for rel, data in written.items():
            self.assertEqual(read(m2.path(rel)), data, rel)
        wharness.sync(m2, timeout=300)
        objects = wharness.read_bucket(self.aws, b)
        self.assertEqual(sorted(objects), sorted(written))
        for rel, data in written.items():
            self.assertEqual(objects[rel].data, data, rel)

    def test_clean_data_is_evicted_to_make_room(self):
        disk = self.small_disk(48)
        b = self.bucket("evict")
        m = self.mount_on(disk, b, delay="0.2")
        # 120 MiB through a 48 MiB disk: exports turn data clean, and clean data
        # must make room for new writes (waiting for an export if needed).
        datas = {}
        for i in range(120):
            data = os.urandom(MiB)
            rel = "g%03d" % i
            for attempt in range(60):
                try:
                    write_file(m.path(rel), data)
                    break
                except OSError as e:
                    self.assertEqual(e.errno, errno.ENOSPC, e)
                    harness.time.sleep(0.5)  # exports catch up and free space
            else:
                self.fail("%s: ENOSPC for 30 s although exported data could be evicted" % rel)
            datas[rel] = data
        wharness.sync(m, timeout=300)
        objects = wharness.read_bucket(self.aws, b)
        self.assertEqual(sorted(objects), sorted(datas))
        for rel in ("g000", "g060", "g119"):
            self.assertEqual(read(m.path(rel)), datas[rel], rel)  # evicted ones come back from S3
        self.assertGreater(m.metrics().sum("stagefs_cache_evictions_total"), 0)

    def test_metadata_store_that_cannot_grow(self):
        disk = self.small_disk(32)
        b = self.bucket("metafull")
        m = self.mount_on(disk, b)
        os.mkdir(m.path("d"))
        write_file(m.path("d/before"), b"before")
        ballast = disk.fill(leave=0)
        errors = set()
        made = []
        for i in range(3000):  # names only: each one grows the store
            try:
                os.mkdir(m.path("d/n%04d" % i))
                made.append("d/n%04d" % i)
            except OSError as e:
                errors.add(e.errno)
                break
        self.assertTrue(harness.pid_alive(m.pid), m.log_tail())
        self.assertTrue(errors <= {errno.ENOSPC}, errors)
        self.assertEqual(read(m.path("d/before")), b"before")
        os.unlink(ballast)
        write_file(m.path("d/after"), b"after")
        m.unmount()
        m2 = self.mount_on(disk, b)
        self.assertEqual(read(m2.path("d/before")), b"before")
        self.assertEqual(read(m2.path("d/after")), b"after")
        for rel in made:
            self.assertTrue(os.path.isdir(m2.path(rel)), rel)


if __name__ == "__main__":
    unittest.main()
