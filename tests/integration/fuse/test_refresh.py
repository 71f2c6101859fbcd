"""Changes made in S3 with awscli show through the mount after
--refresh-interval (acceptance 6): the next open returns the new bytes,
new objects appear, deleted ones vanish. Mounted with a prefix.
"""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from harness import MiB  # noqa: E402

INTERVAL = 1.0
SETTLE = 2 * INTERVAL + 0.5  # one full interval after the change, plus slack


def read(path):
    with open(path, "rb") as f:
        return f.read()


class RefreshTest(harness.FuseTestCase):
    def setUp(self):
        super().setUp()
        self.b = self.bucket("refresh")
        self.v1 = {
            "pfx/small.txt": b"version one\n",                 # imported
            "pfx/same-size.bin": os.urandom(300000),          # block cache, same size later
            "pfx/dir/gone.txt": b"will be deleted\n",
            "pfx/dir/stays.txt": b"stays\n",
        }
        for k, err in self.aws.put_many(self.b, self.v1).items():
            self.assertIsNone(err, k)
        self.m = self.mount(self.b, prefix="pfx", args=["--refresh-interval", str(INTERVAL)])

    def rel(self, key):
        return self.m.path(key[len("pfx/"):])

    def test_next_open_after_refresh_interval_sees_new_bytes(self):
        for k, v in self.v1.items():
            self.assertEqual(read(self.rel(k)), v, k)
        self.m.wait_idle()
        v2 = {"pfx/small.txt": b"version two, longer than one\n",
              "pfx/same-size.bin": os.urandom(300000)}
        for k, err in self.aws.put_many(self.b, v2).items():
            self.assertIsNone(err, k)
        time.sleep(SETTLE)
        for k, v in v2.items():
            with self.subTest(k):
                self.assertEqual(os.stat(self.rel(k)).st_size, len(v))
                got = read(self.rel(k))
                self.assertEqual(got, v, "%s still shows %s bytes" % (
                    k, "old" if got == self.v1[k] else "mixed/other"))

    def test_new_and_deleted_objects_show_after_refresh_interval(self):
        self.assertEqual(sorted(os.listdir(self.m.path("dir"))), ["gone.txt", "stays.txt"])
        self.aws.put(self.b, "pfx/dir/new.txt", data=b"new\n")
        self.aws.run("s3api", "delete-object", "--bucket", self.b, "--key", "pfx/dir/gone.txt")
        time.sleep(SETTLE)
        self.assertEqual(sorted(os.listdir(self.m.path("dir"))), ["new.txt", "stays.txt"])
        self.assertEqual(read(self.m.path("dir/new.txt")), b"new\n")
        self.assertFalse(os.path.exists(self.m.path("dir/gone.txt")))


if __name__ == "__main__":
    unittest.main()
