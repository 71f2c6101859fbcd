"""Errors and lifecycle of `stagefs mount` (acceptance 5): clear messages for a
missing bucket, a wrong secret, an unreachable endpoint, a busy mount point, a
shared cache dir and a bad config key; SIGTERM and `stagefs umount` unmount
cleanly. RGW only: s3rver accepts any signature.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402


class MountErrorTest(harness.FuseTestCase):
    only_servers = ("rgw",)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.b = cls.class_bucket("err", {"f.txt": b"hello\n"})

    def assert_mount_fails(self, m, *words):
        t0 = time.monotonic()
        p = m.start(check=False)
        took = time.monotonic() - t0
        out = p.stdout + p.stderr
        self.assertNotEqual(p.returncode, 0, "mount succeeded: %s" % out)
        self.assertFalse(harness.is_mounted(m.mnt), "failed mount left %s mounted" % m.mnt)
        for w in words:
            self.assertIn(w, out.lower(), "message lacks %r: %s" % (w, out))
        return out, took

    def test_missing_bucket(self):
        m = self.mount("stagefs-fuse-no-such-bucket-%d" % os.getpid(), start=False)
        out, _ = self.assert_mount_fails(m, "does not exist")
        self.assertIn("no-such-bucket", out)

    def test_wrong_secret(self):
        env = self.server.env(AWS_SECRET_ACCESS_KEY="wrong" + self.server.secret_key)
        m = self.mount(self.b, start=False, env=env)
        self.assert_mount_fails(m, "access denied")

    def test_endpoint_on_closed_port(self):
        with socket.socket() as s:  # a port nobody listens on
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            m = self.mount(self.b, start=False)
            m.server = harness.Server("rgw", "http://127.0.0.1:%d" % port, self.server.access_key,
                                      self.server.secret_key, self.server.region)
            _, took = self.assert_mount_fails(m, "unreachable")
        self.assertLess(took, 60, "giving up on a closed port took %.0f s" % took)
        print("closed port: mount gave up after %.1f s" % took)

    def test_missing_mountpoint(self):
        m = self.mount(self.b, start=False, mountpoint="/tmp/stagefs-no-such-dir-%d" % os.getpid())
        out, _ = self.assert_mount_fails(m)
        self.assertIn("/tmp/stagefs-no-such-dir", out)

    # Regression (fixed in 10a2553): a second mount on a busy mount point exited
    # 0 and stacked a second FUSE mount on the first.
    def test_mount_point_busy(self):
        a = self.mount(self.b)
        b = self.mount(self.b, start=False, mountpoint=a.mnt)
        p = b.start(check=False)
        self.assertNotEqual(p.returncode, 0, "second mount on a busy mount point succeeded")
        self.assertIn("busy", (p.stdout + p.stderr).lower())
        self.assertEqual(sum(line.split()[4] == os.path.realpath(a.mnt)
                             for line in open("/proc/self/mountinfo")), 1, "stacked mounts")
        # The first mount still serves.
        with open(a.path("f.txt"), "rb") as f:
            self.assertEqual(f.read(), b"hello\n")

    def test_two_mounts_sharing_a_cache_dir(self):
        a = self.mount(self.b)
        b = self.mount(self.b, start=False, cache_dir=a.cache)
        out, _ = self.assert_mount_fails(b, "already in use")
        self.assertIn(str(a.pid), out, "message should name the holder's pid")

    def test_bad_config_key(self):
        with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
            f.write('endpoint-url = "%s"\nrefresh-intervall = 5\n' % self.server.endpoint)
        self.addCleanup(os.unlink, f.name)
        m = self.mount(self.b, start=False)
        m.args = ["--config", f.name]
        self.assert_mount_fails(m, "refresh-intervall")

    def test_bad_config_value(self):
        with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
            f.write('import-trigger = "sometimes"\n')
        self.addCleanup(os.unlink, f.name)
        m = self.mount(self.b, start=False)
        m.args = ["--config", f.name]
        self.assert_mount_fails(m, "import-trigger")


class LifecycleTest(harness.FuseTestCase):
    only_servers = ("rgw",)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.b = cls.class_bucket("life", {"f.txt": b"hello\n"})

    def test_sigterm_to_daemon_unmounts_cleanly(self):
        m = self.mount(self.b)
        self.assertEqual(os.listdir(m.mnt), ["f.txt"])
        pid = m.read_lock_pid()
        self.assertTrue(pid and harness.pid_alive(pid), "no live pid in %s/lock" % m.cache)
        os.kill(pid, signal.SIGTERM)
        self.assertTrue(harness.wait_for(lambda: not harness.is_mounted(m.mnt), 15),
                        "still mounted 15 s after SIGTERM")
        self.assertTrue(harness.wait_for(lambda: not harness.pid_alive(pid), 15),
                        "daemon alive 15 s after SIGTERM")
        # Clean: the same cache dir mounts again at once and still has the data.
        m.start()
        with open(m.path("f.txt"), "rb") as f:
            self.assertEqual(f.read(), b"hello\n")

    # Regression (fixed in 10a2553): the daemon logged with flush_every(1 s) and
    # ended with _exit(), so its last second of log ("unmounted ...") was lost.
    def test_daemon_log_records_mount_and_unmount(self):
        m = self.mount(self.b)
        pid = m.pid
        subprocess.run(["fusermount3", "-u", m.mnt], check=True)
        self.assertTrue(harness.wait_for(lambda: not harness.pid_alive(pid), 15))
        log = m.log_tail()
        self.assertIn("mounted s3://", log)
        self.assertIn("unmounted " + m.mnt, log)

    def test_stagefs_umount(self):
        m = self.mount(self.b)
        pid = m.pid
        p = subprocess.run([harness.stagefs_bin(), "umount", m.mnt], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertFalse(harness.is_mounted(m.mnt))
        self.assertTrue(harness.wait_for(lambda: not harness.pid_alive(pid), 15),
                        "daemon alive 15 s after stagefs umount")

    # `stagefs umount --help` says it "waits for the daemon to finish", so the
    # cache dir must be free as soon as it returns.
    def test_stagefs_umount_waits_for_the_daemon(self):
        m = self.mount(self.b)
        pid = m.pid
        p = subprocess.run([harness.stagefs_bin(), "umount", m.mnt], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertFalse(harness.pid_alive(pid), "daemon %d still running when umount returned"
                         % pid)
        m.start()  # same cache dir, at once

    def test_stagefs_umount_of_a_non_mount_fails(self):
        d = tempfile.mkdtemp(prefix="stagefs-notmnt-")
        self.addCleanup(os.rmdir, d)
        p = subprocess.run([harness.stagefs_bin(), "umount", d], capture_output=True, text=True,
                           timeout=60)
        self.assertNotEqual(p.returncode, 0)


if __name__ == "__main__":
    unittest.main()
