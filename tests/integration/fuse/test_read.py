"""Read path (acceptance 3, the quick part; the 1 GiB read is in test_large.py):
files below the import threshold are served locally once imported, and random
4 KiB re-reads of a large file come from the block cache, not from S3.

Every read that must reach stagefs first drops the file's pages from the
kernel page cache (posix_fadvise DONTNEED), so "zero GETs" is not the kernel's
doing.
"""

import os
import random
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from harness import MiB  # noqa: E402

THRESHOLD = 131072  # the default --import-size-less-than (strictly less than)
SMALL = {"d/one": 1, "d/f4095": 4095, "d/f131071": THRESHOLD - 1}
LARGE = {"d/f131072": THRESHOLD, "d/f200000": 200000}


def read_file(path):
    """Reads through stagefs with a single open (an open can trigger an import)."""
    with open(path, "rb") as f:
        os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        return f.read()


class SmallFileImportTest(harness.FuseTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.data = {k: os.urandom(n) for k, n in {**SMALL, **LARGE}.items()}
        cls.b = cls.class_bucket("read", cls.data)

    def assert_resident(self, m, rel, want):
        self.assertEqual(int(m.file_status(rel)["ResidentBytes"]), want, rel)

    def test_small_files_served_locally_after_directory_import(self):
        m = self.mount(self.b)
        self.assertEqual(sorted(os.listdir(m.path("d"))),
                         sorted(os.path.basename(k) for k in self.data))
        m.wait_idle()
        self.assertEqual(m.metrics().sum("stagefs_files_imported_total"), len(SMALL))
        for rel, n in SMALL.items():
            self.assert_resident(m, rel, n)
        for rel in LARGE:
            self.assert_resident(m, rel, 0)  # at or above the threshold: not imported

        gets = m.metrics().s3("GetObject")
        hits = m.metrics().sum("stagefs_cache_hits_total")
        for rnd in (1, 2):
            for rel in SMALL:
                self.assertEqual(read_file(m.path(rel)), self.data[rel], rel)
            after = m.metrics()
            self.assertEqual(after.s3("GetObject") - gets, 0,
                             "GETs for imported files, pass %d: %r" % (rnd, after.s3_by_op()))
        self.assertGreater(m.metrics().sum("stagefs_cache_hits_total"), hits)

        # Files at the threshold are read from S3, then the re-read is local.
        for rel in LARGE:
            self.assertEqual(read_file(m.path(rel)), self.data[rel], rel)
        gets = m.metrics().s3("GetObject")
        self.assertGreater(gets, 0)
        for rel in LARGE:
            self.assertEqual(read_file(m.path(rel)), self.data[rel], rel)
        self.assertEqual(m.metrics().s3("GetObject") - gets, 0, "GETs on re-reading LARGE")

    def test_on_file_access_trigger_and_custom_threshold(self):
        m = self.mount(self.b, args=["--import-trigger", "on-file-access",
                                     "--import-size-less-than", "5000"])
        os.listdir(m.path("d"))
        m.wait_idle()
        self.assertEqual(m.metrics().sum("stagefs_files_imported_total"), 0,
                         "on-file-access imported files on listing")
        for rel in ("d/f4095", "d/f131071"):
            self.assertEqual(read_file(m.path(rel)), self.data[rel], rel)
            m.wait_idle()
        self.assert_resident(m, "d/f4095", 4095)
        self.assertEqual(m.metrics().sum("stagefs_files_imported_total"), 1,
                         "only d/f4095 is below --import-size-less-than 5000")
        gets = m.metrics().s3("GetObject")
        self.assertEqual(read_file(m.path("d/f4095")), self.data["d/f4095"])
        self.assertEqual(m.metrics().s3("GetObject") - gets, 0)

    # Regression (fixed in 10a2553): every open() before the first import
    # finished scheduled another whole-file import; 10 quick opens of each of 3
    # small files made 24 GETs and stagefs_files_imported_total=24.
    def test_on_file_access_quick_opens_import_once(self):
        m = self.mount(self.b, args=["--import-trigger", "on-file-access"])
        os.listdir(m.path("d"))
        m.wait_idle()
        gets = m.metrics().s3("GetObject")
        for rel in SMALL:
            for _ in range(10):
                os.close(os.open(m.path(rel), os.O_RDONLY))
        m.wait_idle()
        after = m.metrics()
        self.assertEqual(
            (after.s3("GetObject") - gets, after.sum("stagefs_files_imported_total")),
            (len(SMALL), len(SMALL)), "GETs and imports for %d files opened 10 times each" % len(SMALL))


class RandomReadTest(harness.FuseTestCase):
    SIZE = 64 * MiB

    def test_random_4k_rereads_come_from_the_block_cache(self):
        b = self.bucket("rand")
        data = os.urandom(self.SIZE)
        with tempfile.NamedTemporaryFile(prefix="stagefs-64m-") as f:
            f.write(data)
            f.flush()
            self.aws.cp(f.name, b, "big/random.bin")
        m = self.mount(b)
        rng = random.Random(1234)
        offsets = [rng.randrange(0, self.SIZE // 4096) * 4096 for _ in range(150)]
        offsets += [rng.randrange(0, self.SIZE - 4096) for _ in range(50)]  # unaligned
        offsets.append(self.SIZE - 4096)
        path = m.path("big/random.bin")

        def one_pass():
            harness.evict_page_cache(path)
            fd = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)  # no kernel read-ahead
                for off in offsets:
                    got = os.pread(fd, 4096, off)
                    self.assertEqual(got, data[off:off + 4096], "offset %d" % off)
            finally:
                os.close(fd)

        one_pass()
        m.wait_idle()
        first = m.metrics()
        self.assertGreater(first.s3("GetObject"), 0)
        one_pass()
        second = m.metrics()
        self.assertEqual(second.s3("GetObject") - first.s3("GetObject"), 0,
                         "GETs on the second random pass: %r -> %r" % (
                             first.s3_by_op(), second.s3_by_op()))
        self.assertEqual(second.s3() - first.s3(), 0, "any S3 request on the second pass")
        print("random pass 1: %d GETs, %.1f MiB cached" % (
            first.s3("GetObject"), first.sum("stagefs_cache_bytes") / MiB))


if __name__ == "__main__":
    unittest.main()
