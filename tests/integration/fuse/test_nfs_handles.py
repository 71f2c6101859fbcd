"""NFS readiness (acceptance 4): a handle from name_to_handle_at still opens the
right file or directory after the kernel drops its dentry and inode caches
(the kernel then resolves it with LOOKUP(node, ".") and ".."), and on the next
mount of the same cache dir (an NFS server restart). Uses handle_probe.c.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

FILES = {
    "a/b/c/deep.txt": b"the deep file\n",
    "a/b/c/other.txt": b"its sibling\n",
    "a/b/c/sub/leaf": b"leaf\n",
    "a/b/near.txt": b"one level up\n",
    "z.txt": b"top\n",
}


def probe_bin():
    p = os.environ.get("STAGEFS_HANDLE_PROBE") or os.path.join(
        harness.REPO, "build-fuse", "tests", "handle_probe")
    if not os.path.exists(p):
        raise AssertionError("handle_probe not built (%s); set STAGEFS_HANDLE_PROBE" % p)
    return p


class NfsHandleTest(harness.FuseTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root to write /proc/sys/vm/drop_caches")
        cls.b = cls.class_bucket("nfs", FILES)

    def probe(self, *args):
        p = subprocess.run([probe_bin()] + list(args), capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, "handle_probe %s failed: %s" % (
            " ".join(args), p.stderr.decode(errors="replace")))
        return p.stdout

    def test_file_three_dirs_deep_after_drop_caches(self):
        m = self.mount(self.b)
        for rel in ("a/b/c/deep.txt", "a/b/c/other.txt", "a/b/near.txt"):
            with self.subTest(rel):
                self.assertEqual(self.probe(m.mnt, m.path(rel)), FILES[rel])

    def test_directory_after_drop_caches(self):
        m = self.mount(self.b)
        self.assertEqual(self.probe(m.mnt, m.path("a/b/c")), b"deep.txt\nother.txt\nsub\n")
        self.assertEqual(self.probe(m.mnt, m.path("a/b/c/sub")), b"leaf\n")
        self.assertEqual(self.probe(m.mnt, m.path("a")), b"b\n")

    def test_handle_survives_remount_of_same_cache_dir(self):
        cache = tempfile.mkdtemp(prefix="stagefs-cache-")
        self.addCleanup(shutil.rmtree, cache, True)
        m1 = self.mount(self.b, cache_dir=cache)
        hdir = tempfile.mkdtemp(prefix="stagefs-handles-")
        self.addCleanup(shutil.rmtree, hdir, True)
        saved = {}
        for rel in ("a/b/c/deep.txt", "a/b/c"):
            f = os.path.join(hdir, rel.replace("/", "_"))
            saved[rel] = (f, int(self.probe("save", m1.path(rel), f)))
        m1.cleanup()
        m2 = self.mount(self.b, cache_dir=cache)
        # No lookups first: the new daemon must resolve the node ids cold.
        self.assertEqual(self.probe("open", m2.mnt, saved["a/b/c/deep.txt"][0]),
                         FILES["a/b/c/deep.txt"])
        self.assertEqual(self.probe("open", m2.mnt, saved["a/b/c"][0]),
                         b"deep.txt\nother.txt\nsub\n")
        self.assertEqual(os.stat(m2.path("a/b/c/deep.txt")).st_ino, saved["a/b/c/deep.txt"][1])


if __name__ == "__main__":
    unittest.main()
