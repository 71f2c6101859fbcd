"""A lying or broken server never gets bad bytes to a reader or into the cache
as good data: a truncated body behind a correct status and Content-Length, a
body whose bytes do not match its ETag, an ETag other than the one asked for
with If-Match, and on upload an ETag that is not the MD5 of what was sent.
After the fault is gone, the same reads return the right bytes (nothing bad
was cached) and the bucket (read with awscli) holds exactly what was written."""

import errno
import hashlib
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rharness  # noqa: E402
from rharness import harness  # noqa: E402

SMALL = os.urandom(10000)
BIG = os.urandom(3 << 20)


def read(path):
    with open(path, "rb") as f:
        return f.read()


class LyingServerTest(rharness.ReliabilityTestCase):
    def setUp(self):
        super().setUp()
        self.b = self.bucket("lie")
        self.aws.put_many(self.b, {"small": SMALL, "big": BIG})
        self.p = self.proxy(seed=7)
        self.m = self.mount_via(self.p, self.b, args=["--import-size-less-than", "0",
                                                      "--export-delay", "3600"])

    def attempt(self, rel):
        """The bytes read, or the errno; never anything else."""
        harness.drop_kernel_caches(1)
        try:
            return read(self.m.path(rel))
        except OSError as e:
            return e.errno

    def check_fault(self, fault, rel, want):
        self.p.rules([{"op": "GetObject", "fault": fault}])
        got = self.attempt(rel)
        self.assertTrue(got in (errno.EIO, want), "%s: read %r bytes of bad data" % (
            fault, len(got) if isinstance(got, bytes) else got))
        self.p.clear()
        self.assertTrue(self.attempt(rel) == want, "%s left bad bytes in the cache" % fault)
        return got

    def test_truncated_body_is_never_data(self):
        # Interrupted GETs resume pinned to the ETag (s3/http/get_object.cc), so
        # the right bytes may arrive in pieces; anything else is EIO.
        self.check_fault("truncate", "small", SMALL)
        self.check_fault("reset-response", "big", BIG)

    def test_bytes_that_do_not_match_the_etag_are_refused(self):
        # A whole-object GET is checked against the object's MD5 (its ETag).
        self.assertEqual(self.check_fault("corrupt", "small", SMALL), errno.EIO)

    def test_an_etag_other_than_the_one_asked_for_is_refused(self):
        self.assertEqual(self.check_fault("etag", "small", SMALL), errno.EIO)

    def test_upload_answered_with_a_wrong_etag_is_not_taken_as_exported(self):
        with open(self.m.path("new"), "wb") as f:
            f.write(b"fresh bytes\n")
        self.p.rules([{"op": "PutObject", "fault": "etag", "count": 2}])
        p = subprocess.run([harness.stagefs_bin(), "sync", self.m.mnt], capture_output=True,
                           text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)  # retried until the answer was true
        self.assertEqual(self.aws.get_bytes(self.b, "new"), b"fresh bytes\n")
        head = self.aws.head(self.b, "new")
        self.assertEqual(head["ETag"].strip('"'), hashlib.md5(b"fresh bytes\n").hexdigest())
        st = self.m.file_status("new")
        self.assertEqual(st["ETag"], head["ETag"], st)
        self.assertGreaterEqual(self.p.stats()["faults"].get("etag", 0), 1)


if __name__ == "__main__":
    unittest.main()
