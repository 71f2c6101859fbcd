"""Large files (label slow, RGW only): a 1 GiB sequential read streams without
filling the cache (acceptance 3), and a 100 MiB object in a tree reads back
exactly (acceptance 1).
"""

import hashlib
import os
import subprocess
import sys
import tempfile
import time
import unittest


sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from harness import MiB  # noqa: E402


class LargeFileTest(harness.FuseTestCase):
    only_servers = ("rgw",)

    def upload_random(self, bucket, key, size_spec):
        """`head -c SIZE /dev/urandom` -> `aws s3 cp`; returns the sha256."""
        fd, tmp = tempfile.mkstemp(prefix="stagefs-large-")
        try:
            with os.fdopen(fd, "wb") as f:
                subprocess.run(["head", "-c", size_spec, "/dev/urandom"], stdout=f, check=True)
            digest = harness.sha256_file(tmp)
            self.aws.cp(tmp, bucket, key)
            return digest
        finally:
            os.unlink(tmp)

    def test_1gib_sequential_read(self):
        b = self.bucket("seq")
        digest = self.upload_random(b, "big/one-gib.bin", "1G")
        m = self.mount(b)
        path = m.path("big/one-gib.bin")
        self.assertEqual(os.stat(path).st_size, 1024 * MiB)
        before = m.metrics()
        h = hashlib.sha256()
        t0 = time.monotonic()
        with open(path, "rb", buffering=0) as f:
            while True:
                chunk = f.read(MiB)
                if not chunk:
                    break
                h.update(chunk)
        took = time.monotonic() - t0
        after = m.metrics()
        self.assertEqual(h.hexdigest(), digest, "sha256 of the 1 GiB read")
        grew = after.sum("stagefs_cache_bytes") - before.sum("stagefs_cache_bytes")
        print("1 GiB sequential: %.1f s (%.0f MiB/s), %d GETs, cache grew %.1f MiB" % (
            took, 1024 / took, after.s3("GetObject") - before.s3("GetObject"), grew / MiB))
        # Regression (fixed in 10a2553): out-of-order kernel read-ahead reset the
        # per-handle stream detection, so 26-180 MiB of a 1 GiB stream went to
        # the block cache.
        self.assertLessEqual(grew, 8 * MiB, "a sequential stream filled the cache")

    def test_100mib_object_in_a_tree(self):
        b = self.bucket("hundred")
        digest = self.upload_random(b, "t/d1/d2/hundred.bin", "100M")
        self.aws.put(b, "t/d1/small.txt", data=b"small\n")
        m = self.mount(b)
        names = sorted(os.path.relpath(os.path.join(r, n), m.mnt)
                       for r, _, fs in os.walk(m.mnt) for n in fs)
        self.assertEqual(names, ["t/d1/d2/hundred.bin", "t/d1/small.txt"])
        path = m.path("t/d1/d2/hundred.bin")
        self.assertEqual(os.stat(path).st_size, 100 * MiB)
        self.assertEqual(harness.sha256_file(path), digest)


if __name__ == "__main__":
    unittest.main()
