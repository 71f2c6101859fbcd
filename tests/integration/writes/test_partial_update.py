"""Partial update of a large object: one changed part is uploaded, not the file.

A 256 MiB object is uploaded with awscli. Through the mount 4 KiB are
overwritten at offset 128 MiB (open r+b, seek, write, close) and `stagefs sync`
exports it. stagefs_s3_bytes_sent_total may grow by at most one 8 MiB part plus
a little (requests and the multipart XML); the unchanged parts must be
server-side copies. The object read back with awscli must be byte-identical to
the expected file (sha256).
"""

import hashlib
import os
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wharness  # noqa: E402
from wharness import MiB  # noqa: E402

SIZE = 256 * MiB
OFFSET = 128 * MiB
PART = 8 * MiB
SLACK = 256 * 1024  # headers, XML bodies, signatures


class PartialUpdate(wharness.WriteTestCase):
    def test_4k_overwrite_in_256mib_sends_one_part(self):
        bucket = self.bucket("partial")
        tmp = tempfile.mkdtemp(prefix="stagefs-partial-")
        self.addCleanup(wharness.harness.shutil.rmtree, tmp, True)
        src = os.path.join(tmp, "big.bin")
        patch = os.urandom(4096)
        h = hashlib.sha256()
        with open(src, "wb") as f:
            for i in range(SIZE // (16 * MiB)):
                chunk = os.urandom(16 * MiB)
                f.write(chunk)
                if i * 16 * MiB <= OFFSET < (i + 1) * 16 * MiB:
                    o = OFFSET - i * 16 * MiB
                    chunk = chunk[:o] + patch + chunk[o + 4096:]
                h.update(chunk)
        want_sha = h.hexdigest()
        self.aws.cp(src, bucket, "big.bin")

        m = self.mount_rw(bucket, 60)
        self.assertEqual(os.stat(m.path("big.bin")).st_size, SIZE)
        before = m.metrics()
        t0 = time.monotonic()
        with open(m.path("big.bin"), "r+b") as f:
            f.seek(OFFSET)
            f.write(patch)
        wharness.sync(m, timeout=300)
        took = time.monotonic() - t0
        after = m.metrics()
        sent = after.sum("stagefs_s3_bytes_sent_total") - before.sum("stagefs_s3_bytes_sent_total")
        ops = {k: v - before.s3_by_op().get(k, 0) for k, v in after.s3_by_op().items()
               if v != before.s3_by_op().get(k, 0)}
        print("\n  write+sync %.1f s, bytes sent %d, requests %s" % (took, sent, ops), flush=True)
        self.assertLessEqual(sent, PART + SLACK,
                             "a 4 KiB overwrite sent %d bytes (requests %r)" % (sent, ops))
        self.assertGreaterEqual(ops.get("UploadPartCopy", 0), SIZE // PART - 1, ops)
        self.assertEqual(ops.get("UploadPart", 0), 1, ops)
        self.assertEqual(m.status().get("pending_exports"), 0)

        out = os.path.join(tmp, "back.bin")
        self.aws.run("s3", "cp", "--only-show-errors", "s3://%s/big.bin" % bucket, out)
        self.assertEqual(wharness.harness.sha256_file(out), want_sha,
                         "the object in S3 differs from the expected file")


if __name__ == "__main__":
    unittest.main()
