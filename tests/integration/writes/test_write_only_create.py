"""Files created write-only: their writes bypass the page cache (direct I/O).

stagefs opens a new file created with O_WRONLY in direct-I/O mode (it saves
one FUSE round trip per write). These tests pin down that nothing a program
can observe changes because of it: readers on other descriptors see every
write at once (also over pages they had cached), O_APPEND appends, sizes and
times are current, set-user-ID is cleared by a write as on a local disk, and
files created read-write still support shared mmap. The bucket is checked
with awscli after a sync.
"""

import mmap
import os
import random
import stat
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wharness  # noqa: E402


class WriteOnlyCreate(wharness.WriteTestCase):
    def setUp(self):
        super().setUp()
        self.b = self.bucket("wo")
        self.m = self.mount_rw(self.b, 60, extra=["--allow-other"])

    def test_readers_see_each_write_at_once(self):
        p = self.m.path("f")
        rnd = random.Random(7)
        expect = bytearray()
        w = os.open(p, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o644)
        r = os.open(p, os.O_RDONLY)
        try:
            for step in range(200):
                off = rnd.randrange(0, len(expect) + 9000)
                data = bytes([rnd.randrange(256)]) * rnd.randrange(1, 9000)
                # The reader caches the pages this write is about to change.
                os.pread(r, 1 << 20, 0)
                self.assertEqual(os.pwrite(w, data, off), len(data))
                if off > len(expect):
                    expect.extend(b"\0" * (off - len(expect)))
                expect[off:off + len(data)] = data
                self.assertEqual(os.fstat(r).st_size, len(expect), "step %d" % step)
                self.assertEqual(os.pread(r, len(expect) + 10, 0), bytes(expect), "step %d" % step)
        finally:
            os.close(w)
            os.close(r)
        with open(p, "rb") as f:
            self.assertEqual(f.read(), bytes(expect))
        wharness.sync(self.m)
        self.assertEqual(self.aws.get_bytes(self.b, "f"), bytes(expect))

    def test_append_and_times(self):
        p = self.m.path("log")
        a = os.open(p, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600)
        b = os.open(p, os.O_WRONLY | os.O_APPEND)
        try:
            before = os.fstat(a).st_mtime_ns
            for i in range(50):
                os.write(a if i % 2 else b, b"line %02d\n" % i)
            st = os.fstat(a)
            self.assertEqual(st.st_size, 50 * 8)
            self.assertGreaterEqual(st.st_mtime_ns, before)
        finally:
            os.close(a)
            os.close(b)
        with open(p, "rb") as f:
            self.assertEqual(f.read(), b"".join(b"line %02d\n" % i for i in range(50)))
        wharness.sync(self.m)
        self.assertEqual(self.aws.get_bytes(self.b, "log"),
                         b"".join(b"line %02d\n" % i for i in range(50)))

    def test_write_clears_set_user_id_for_non_root(self):
        os.chmod(self.m.path(), 0o777)
        p = self.m.path("suid")
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.setgid(1000)
                os.setuid(1000)
                fd = os.open(p, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o4755)
                ok = stat.S_IMODE(os.fstat(fd).st_mode) == 0o4755
                os.write(fd, b"#!/bin/sh\n")
                ok = ok and stat.S_IMODE(os.fstat(fd).st_mode) == 0o755
                os.close(fd)
                code = 0 if ok else 2
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0,
                         "set-user-ID was not cleared by the write (or the set-up failed)")
        self.assertEqual(stat.S_IMODE(os.stat(p).st_mode), 0o755)

    def test_read_write_create_keeps_shared_mmap(self):
        p = self.m.path("mapped")
        fd = os.open(p, os.O_CREAT | os.O_RDWR | os.O_EXCL, 0o644)
        try:
            os.ftruncate(fd, 8192)
            with mmap.mmap(fd, 8192, mmap.MAP_SHARED) as mm:
                mm[100:105] = b"hello"
                mm.flush()
            self.assertEqual(os.pread(fd, 5, 100), b"hello")
        finally:
            os.close(fd)
        # A write-only descriptor cannot be mapped at all (EACCES), as on any
        # file system: direct I/O takes nothing away from it.
        fd = os.open(self.m.path("wo"), os.O_CREAT | os.O_WRONLY, 0o644)
        try:
            os.write(fd, b"x" * 4096)
            with self.assertRaises(PermissionError):
                mmap.mmap(fd, 4096, mmap.MAP_SHARED, mmap.PROT_READ)
        finally:
            os.close(fd)


if __name__ == "__main__":
    unittest.main()
