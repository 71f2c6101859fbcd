"""Fault test: radosgw stops while exports are pending, and nothing is lost.

The test starts a Ceph RGW of its own (scripts/testbed/rgw-up in a temp dir),
so it may stop and restart that radosgw through its pid file without touching
the server scripts/test started. With --export-delay 1 it writes a first batch
of files (exported), a second batch (a 24 MiB multipart file among them) and
kills radosgw as soon as those exports start. During the 20 s outage the mount
keeps working (a third batch is written, everything reads back), exports stay
pending and none is counted as failed. After radosgw is back, `stagefs sync`
finishes and the bucket holds every file, byte for byte (awscli).
"""

import hashlib
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wharness  # noqa: E402
from wharness import MiB, harness, wait_for  # noqa: E402

OUTAGE_S = 20


class RgwOutage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        wharness.need_server_or_skip()
        cls.rgw = wharness.OwnRgw()
        try:
            t0 = time.monotonic()
            cls.server = cls.rgw.up()
        except BaseException:
            cls.rgw.down()
            raise
        print("\n  own RGW up in %.1f s" % (time.monotonic() - t0), flush=True)
        cls.aws = harness.Aws(cls.server)

    @classmethod
    def tearDownClass(cls):
        cls.rgw.down()

    def setUp(self):
        # A test that failed half-way may have left radosgw stopped.
        if self.rgw.radosgw_pid() is None:
            self.rgw.start_radosgw()

    def write(self, m, want, rel, data):
        with open(m.path(rel), "wb") as f:
            f.write(data)
        want[rel] = hashlib.sha256(data).hexdigest()

    def test_exports_survive_radosgw_outage(self):
        bucket = self.aws.create_bucket("outage")
        m = harness.Mount(self.server, bucket, args=["--export-delay", "1"])
        self.addCleanup(m.cleanup)  # runs before rgw.down (LIFO)
        m.start()
        want = {}
        for i in range(4):
            self.write(m, want, "a%02d" % i, os.urandom(64 * 1024))
        wharness.sync(m, timeout=60)
        exported_before = m.metrics().sum("stagefs_exports_total")

        # Second batch; stop radosgw as soon as its exports begin.
        for i in range(4):
            self.write(m, want, "b%02d" % i, os.urandom(200 * 1024))
        self.write(m, want, "big.bin", os.urandom(24 * MiB))
        base = m.metrics().s3()
        wait_for(lambda: m.metrics().s3() > base, 10, interval=0.02)
        t_stop = time.monotonic()
        self.rgw.stop_radosgw()

        # The mount keeps working locally during the outage.
        for i in range(3):
            self.write(m, want, "c%02d" % i, os.urandom(32 * 1024))
        # Files not exported yet are served from the stage (the clean ones are
        # test_clean_files_readable_while_s3_down).
        for rel, sha in want.items():
            if not rel.startswith("a"):
                self.assertEqual(harness.sha256_file(m.path(rel)), sha, rel)
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - t_stop)) / 2)
        mid = m.status()
        self.assertGreater(mid.get("pending_exports", 0), 0,
                           "exports cannot have finished with radosgw down: %r" % mid)
        self.assertEqual(m.metrics().sum("stagefs_export_failures_total"), 0,
                         "an unreachable server must be retried, not failed")
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - t_stop)))
        self.rgw.start_radosgw()
        t_back = time.monotonic()
        print("  radosgw down for %.1f s" % (t_back - t_stop), flush=True)

        wharness.sync(m, timeout=120)
        print("  exports done %.1f s after radosgw returned" % (time.monotonic() - t_back),
              flush=True)
        met = m.metrics()
        self.assertEqual(m.status().get("pending_exports"), 0)
        self.assertEqual(met.sum("stagefs_export_failures_total"), 0, m.log_tail(20))
        self.assertGreater(met.sum("stagefs_exports_total"), exported_before)
        objects = wharness.read_bucket(self.aws, bucket)
        self.assertEqual(sorted(objects), sorted(want))
        for rel, sha in want.items():
            self.assertEqual(hashlib.sha256(objects[rel].data).hexdigest(), sha, rel)
            self.assertEqual(objects[rel].mode, 0o100644, rel)
        for rel in want:
            st = m.file_status(rel)
            self.assertEqual((st.get("ExportState"), st.get("ExportError")), ("clean", ""), rel)
        m.cleanup()
        self.aws.delete_bucket(bucket)

    # Files written through the mount and exported (clean, fully resident)
    # stay readable while S3 is unreachable. This failed until writes counted
    # as access for the expirer: it evicted such files right after export.
    def test_clean_files_readable_while_s3_down(self):
        bucket = self.aws.create_bucket("offline")
        m = harness.Mount(self.server, bucket, args=["--export-delay", "1"])
        self.addCleanup(m.cleanup)
        m.start()
        want = {}
        for i in range(3):
            self.write(m, want, "a%02d" % i, os.urandom(64 * 1024))
        wharness.sync(m, timeout=60)
        self.write(m, {}, "b", os.urandom(64 * 1024))  # as in the outage test
        time.sleep(3)
        self.rgw.stop_radosgw()
        try:
            unreadable = {}
            for rel, sha in want.items():
                try:
                    self.assertEqual(harness.sha256_file(m.path(rel)), sha, rel)
                except OSError as e:
                    unreadable[rel] = "%s (ExportState %s)" % (
                        wharness.errno_name(e), m.file_status(rel).get("ExportState"))
            self.assertEqual(unreadable, {}, "exported files must stay readable while "
                             "S3 is down; log:\n" + m.log_tail(5))
        finally:
            self.rgw.start_radosgw()


if __name__ == "__main__":
    unittest.main()
