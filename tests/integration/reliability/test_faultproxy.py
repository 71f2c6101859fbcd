"""The fault-injecting proxy does what the reliability tests rely on, checked
with curl (SigV4-signed for the proxy's address) against the test RGW."""

import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rharness  # noqa: E402
from rharness import harness  # noqa: E402


class FaultProxyTest(rharness.ReliabilityTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.b = cls.class_bucket("fp", {"obj": b"0123456789" * 1000})

    def curl(self, proxy, method, key, data=None, max_time=10):
        cmd = ["curl", "-sS", "-o", "/tmp/fp-%d.out" % os.getpid(), "-w", "%{http_code}",
               "--max-time", str(max_time), "-X", method,
               "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD",
               "--aws-sigv4", "aws:amz:%s:s3" % self.server.region,
               "--user", "%s:%s" % (self.server.access_key, self.server.secret_key),
               "%s/%s/%s" % (proxy.endpoint, self.b, key)]
        if method == "HEAD":
            cmd[cmd.index("-X"):cmd.index("-X") + 2] = ["-I"]
        if data is not None:
            cmd += ["--data-binary", data]
        p = subprocess.run(cmd, capture_output=True, text=True)
        body = b""
        if os.path.exists("/tmp/fp-%d.out" % os.getpid()):
            with open("/tmp/fp-%d.out" % os.getpid(), "rb") as f:
                body = f.read()
            os.unlink("/tmp/fp-%d.out" % os.getpid())
        return p.returncode, p.stdout.strip(), body

    def test_faults(self):
        p = self.proxy(seed=1)
        rc, code, body = self.curl(p, "GET", "obj")
        self.assertEqual((rc, code, body), (0, "200", b"0123456789" * 1000))
        p.rules([{"op": "GetObject", "fault": "503", "count": 1}])
        rc, code, body = self.curl(p, "GET", "obj")
        self.assertEqual(code, "503")
        self.assertIn(b"SlowDown", body)
        self.assertEqual(self.curl(p, "GET", "obj")[1], "200")  # count exhausted
        p.rules([{"op": "GetObject", "fault": "truncate"}])
        rc, code, body = self.curl(p, "GET", "obj")
        self.assertNotEqual(rc, 0)  # curl sees the short body behind a 200
        self.assertEqual(len(body), 5000)
        p.rules([{"op": "GetObject", "fault": "corrupt"}])
        rc, code, body = self.curl(p, "GET", "obj")
        self.assertEqual((rc, code, len(body)), (0, "200", 10000))
        self.assertNotEqual(body, b"0123456789" * 1000)
        p.rules([{"op": "CopyObject", "fault": "error-200"}, {"op": "PutObject", "fault": "500"}])
        self.assertEqual(self.curl(p, "PUT", "new", data="x")[1], "500")
        p.rules([{"op": "HeadObject", "fault": "latency", "ms": 700}])
        t = time.monotonic()
        self.assertEqual(self.curl(p, "HEAD", "obj")[1], "200")
        self.assertGreater(time.monotonic() - t, 0.6)
        p.rules([{"op": "GetObject", "fault": "blackhole"}])
        rc, code, _ = self.curl(p, "GET", "obj", max_time=2)
        self.assertEqual(rc, 28)  # curl: operation timed out
        p.clear()
        p.mode("refuse")
        rc, _, _ = self.curl(p, "GET", "obj")
        self.assertEqual(rc, 7)  # curl: couldn't connect
        p.mode("up")
        self.assertEqual(self.curl(p, "GET", "obj")[1], "200")
        st = p.stats()
        self.assertGreaterEqual(st["requests"]["GetObject"], 7)
        self.assertEqual(st["faults"]["503"], 1)
        self.assertEqual(st["faults"]["truncate"], 1)


if __name__ == "__main__":
    unittest.main()
