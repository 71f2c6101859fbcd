"""Names S3 cannot store are refused when they are made (issue: a non-UTF-8
name used to be accepted, failed its export forever and crashed the daemon at
the next `stagefs status`).

  * every way of making a name (open(O_CREAT), mkdir, rename, symlink, mknod)
    with bytes that are not UTF-8 fails with EILSEQ; link is EPERM as always;
  * a name whose S3 key would exceed 1,024 bytes fails with ENAMETOOLONG,
    renames of directories counting their deepest key;
  * the daemon is alive afterwards, and `stagefs status` and the status xattr
    work;
  * unusual but valid UTF-8 names (emoji, combining marks, U+FFFD, a 255-byte
    name of 3-byte characters) round-trip through S3, checked with awscli.
"""

import errno
import json
import os
import stat
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

BAD = b"bad-\xff\xfe-name.txt"
LATIN1 = "caf\xe9".encode("latin-1")  # an old archive's file name


class NamesTest(harness.FuseTestCase):
    only_servers = ("rgw",)

    def setUp(self):
        super().setUp()
        self.b = self.bucket("names")
        self.m = self.mount(self.b, prefix="pre", args=["--export-delay", "0.2"])

    def p(self, *parts):
        return os.path.join(self.m.mnt.encode(), *parts)

    def assertErrno(self, code, fn, *args):
        with self.assertRaises(OSError) as cm:
            fn(*args)
        self.assertEqual(cm.exception.errno, code,
                         "%s%r: %s" % (fn.__name__, args, os.strerror(cm.exception.errno)))

    def assertAlive(self):
        self.assertTrue(harness.pid_alive(self.m.pid), "the daemon died:\n" + self.m.log_tail())
        st = self.m.status()  # JSON, parses
        self.assertIn("pending_exports", st)
        os.listdir(self.m.mnt)

    def sync(self):
        p = subprocess.run([harness.stagefs_bin(), "sync", self.m.mnt], capture_output=True,
                           text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_non_utf8_names_are_refused_with_eilseq(self):
        with open(self.p(b"good.txt"), "wb") as f:
            f.write(b"x")
        os.mkdir(self.p(b"dir"))
        for name in (BAD, LATIN1):
            self.assertErrno(errno.EILSEQ, os.open, self.p(name), os.O_CREAT | os.O_WRONLY, 0o644)
            self.assertErrno(errno.EILSEQ, os.open, self.p(b"dir", name),
                             os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
            self.assertErrno(errno.EILSEQ, os.mkdir, self.p(name))
            self.assertErrno(errno.EILSEQ, os.rename, self.p(b"good.txt"), self.p(name))
            self.assertErrno(errno.EILSEQ, os.rename, self.p(b"dir"), self.p(name))
            self.assertErrno(errno.EILSEQ, os.symlink, b"good.txt", self.p(name))
            self.assertErrno(errno.EILSEQ, os.mknod, self.p(name), stat.S_IFREG | 0o644)
            self.assertErrno(errno.EILSEQ, os.mkfifo, self.p(name))
            # Hard links are never supported (S3 cannot store two names).
            self.assertErrno(errno.EPERM, os.link, self.p(b"good.txt"), self.p(name))
            self.assertFalse(os.path.lexists(self.p(name)))
        # A target that is not UTF-8 is fine: it is the object's body.
        os.symlink(b"target-\xff", self.p(b"link"))
        self.assertEqual(os.readlink(self.p(b"link")), b"target-\xff")
        self.assertAlive()
        st = self.m.file_status("good.txt")
        self.assertEqual(st["FilePath"], "/good.txt")
        self.sync()
        self.assertEqual(sorted(self.aws.list_keys(self.b)),
                         ["pre/dir/", "pre/good.txt", "pre/link"])
        self.assertAlive()

    def test_keys_over_1024_bytes_are_refused_with_enametoolong(self):
        # prefix "pre/" (4) + 4 directories of 200 bytes with their slashes.
        dirs = [b"d" * 199 + bytes([ord("0") + i]) for i in range(4)]
        deep = self.p(*dirs)
        os.makedirs(deep)
        base = 4 + 4 * 201  # 808 bytes of key before the last name
        ok_file = b"f" * (1024 - base)          # key of exactly 1,024 bytes
        long_file = b"f" * (1025 - base)
        ok_dir = b"e" * (1024 - base - 1)       # marker "name/" of 1,024 bytes
        long_dir = b"e" * (1025 - base - 1)
        with open(os.path.join(deep, ok_file), "wb") as f:
            f.write(b"fits")
        os.mkdir(os.path.join(deep, ok_dir))
        self.assertErrno(errno.ENAMETOOLONG, os.open, os.path.join(deep, long_file),
                         os.O_CREAT | os.O_WRONLY, 0o644)
        self.assertErrno(errno.ENAMETOOLONG, os.mkdir, os.path.join(deep, long_dir))
        self.assertErrno(errno.ENAMETOOLONG, os.symlink, b"t", os.path.join(deep, long_file))
        self.assertErrno(errno.ENAMETOOLONG, os.mknod, os.path.join(deep, long_file),
                         stat.S_IFREG | 0o644)
        self.assertErrno(errno.ENAMETOOLONG, os.rename, os.path.join(deep, ok_file),
                         os.path.join(deep, long_file))
        # A directory rename counts the deepest key below it: d3 -> d3x makes
        # the 1,024-byte key 1,025 bytes.
        self.assertErrno(errno.ENAMETOOLONG, os.rename, self.p(*dirs[:3]),
                         self.p(*dirs[:2], dirs[2] + b"x"))
        os.rename(self.p(*dirs[:3]), self.p(*dirs[:2], dirs[2][:-1]))  # one byte shorter
        self.assertAlive()
        self.sync()
        keys = self.aws.list_keys(self.b)
        longest = max(len(k.encode()) for k in keys)
        self.assertEqual(longest, 1023, [len(k.encode()) for k in keys])
        self.assertAlive()

    def test_unusual_utf8_names_round_trip_through_s3(self):
        names = ["emoji-\U0001F600.txt", "combining-e\u0301.txt", "replacement-\ufffd.txt",
                 "\u20ac" * 85, "tab\tin-name", "back\\slash", "quote\"and'apostrophe"]
        self.assertEqual(len(names[3].encode()), 255)
        for i, n in enumerate(names):
            with open(os.path.join(self.m.mnt, n), "wb") as f:
                f.write(b"body %d" % i)
        self.sync()
        keys = set(self.aws.list_keys(self.b))
        for i, n in enumerate(names):
            self.assertIn("pre/" + n, keys)
            self.assertEqual(self.aws.get_bytes(self.b, "pre/" + n), b"body %d" % i)
        # And the other way: put with awscli, read through a fresh mount.
        self.aws.put(self.b, "pre/from-s3-\U0001F680\u0301", data=b"theirs")
        m2 = self.mount(self.b, prefix="pre")
        self.assertEqual(sorted(os.listdir(m2.mnt)), sorted(names + ["from-s3-\U0001F680\u0301"]))
        with open(os.path.join(m2.mnt, "from-s3-\U0001F680\u0301"), "rb") as f:
            self.assertEqual(f.read(), b"theirs")
        st = m2.file_status("tab\tin-name")
        self.assertEqual(st["FilePath"], "/tab\\x09in-name", st)  # escaped, one line
        self.assertEqual(m2.file_status("back\\slash")["FilePath"], "/back\\\\slash")
        self.assertAlive()


if __name__ == "__main__":
    unittest.main()
