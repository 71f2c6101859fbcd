"""Lost+found copies never hand out bytes nobody wrote (issue: a partly
fetched copy moved out of lost+found with `mv` read zeros where its bytes were
never fetched, and its export failed forever naming the old path).

Rules tested here, on a real mount against RGW (docs/SEMANTICS.md):
  * lost+found entries can be read, copied and deleted; renaming or moving an
    entry (inside, out of, or into lost+found) fails with EPERM, and the
    directory itself cannot be removed or renamed;
  * bytes of a file that are neither cached nor in the object version it is
    based on read EIO through every path: read(2), cp, mmap (SIGBUS or an
    error, never zeros), copy_file_range and splice;
  * such a file is never exported: S3 never receives zeros for missing ranges
    (checked with awscli); `S3Key` is empty when S3 deleted the object;
  * in a versioned bucket the copy is completed from the version it was based
    on, and then reads and copies return the right bytes;
  * a seeded random mix of partial writes, S3 overwrites and deletes and
    lost+found operations: no read anywhere returns a byte that was neither
    written locally nor in the object version the file was based on.
"""

import errno
import os
import random
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

LF = ".stagefs-lost+found"
MiB = 1 << 20


def pwrite(path, data, off):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, data, off)
    finally:
        os.close(fd)


def pread(path, n, off):
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.pread(fd, n, off)
    finally:
        os.close(fd)


MMAP_PROBE = r"""
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
try:
    m = mmap.mmap(fd, 0, prot=mmap.PROT_READ)
except OSError as e:
    print("mmap-refused", e.errno); sys.exit(0)
b = m[int(sys.argv[2]):int(sys.argv[2]) + 4096]
print("read", b.count(0))
"""


class LostFoundTestBase(harness.FuseTestCase):
    only_servers = ("rgw",)

    def conflict(self, versioned, size=40 * MiB):
        """The issue's reproduction up to the move: returns (entry path, old bytes)."""
        self.b = self.bucket("lf")
        if versioned:
            self.aws.run("s3api", "put-bucket-versioning", "--bucket", self.b,
                         "--versioning-configuration", "Status=Enabled")
        old = os.urandom(size)
        self.aws.cp_bytes = None
        path = os.path.join(self.tmp(), "big.bin")
        with open(path, "wb") as f:
            f.write(old)
        self.aws.cp(path, self.b, "big.bin")
        self.m = self.mount(self.b, args=["--import-size-less-than", "0", "--export-delay", "30",
                                          "--refresh-interval", "1"])
        pwrite(self.m.path("big.bin"), b"hello world", 0)
        self.aws.put(self.b, "big.bin", data=b"theirs\n")
        self.assertTrue(harness.wait_for(self.m.lost_found, 10), "no lost+found entry")
        names = self.m.lost_found()
        self.assertEqual(len(names), 1, names)
        return os.path.join(LF, names[0]), old

    def tmp(self):
        import tempfile
        d = tempfile.mkdtemp(prefix="stagefs-lf-")
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", d]))
        return d

    def shows(self, rel, data):
        """Whether the mount serves `data` at `rel` (its size and both ends)."""
        try:
            p = self.m.path(rel)
            tail = max(0, len(data) - 64)
            return (os.stat(p).st_size == len(data) and pread(p, 64, 0) == data[:64] and
                    pread(p, 64, tail) == data[tail:])
        except OSError:
            return False

    def debug(self, rel):
        try:
            st = self.m.file_status(rel)
        except OSError as e:
            st = e
        return "status of %s: %r\nmount: %r\nlog: %s" % (rel, st, self.m.status(),
                                                       self.m.log_tail())

    def assertErrno(self, code, fn, *args):
        with self.assertRaises(OSError) as cm:
            fn(*args)
        self.assertEqual(cm.exception.errno, code, "%s%r" % (fn.__name__, args))


class UnversionedTest(LostFoundTestBase):
    def test_missing_bytes_fail_everywhere_and_entries_cannot_move(self):
        entry, old = self.conflict(versioned=False)
        full = self.m.path(entry)
        st = self.m.file_status(entry)
        self.assertEqual(st["ResidentBytes"], "11", st)
        self.assertEqual(st["MissingBytes"], str(len(old) - 11), st)
        self.assertEqual(st["ExportState"], "blocked", st)
        self.assertEqual(st["FilePath"], "/big.bin")
        self.assertEqual(st["S3Key"], "s3://%s/big.bin" % self.b)
        # Moves: out, inside, into; the directory itself.
        self.assertErrno(errno.EPERM, os.rename, full, self.m.path("restored.bin"))
        self.assertErrno(errno.EPERM, os.rename, full, self.m.path(LF, "renamed.bin"))
        with open(self.m.path("other.txt"), "wb") as f:
            f.write(b"other")
        self.assertErrno(errno.EPERM, os.rename, self.m.path("other.txt"), self.m.path(LF, "x"))
        self.assertErrno(errno.EPERM, os.rmdir, self.m.path(LF))
        self.assertErrno(errno.EPERM, os.rename, self.m.path(LF), self.m.path("lf2"))
        self.assertErrno(errno.EPERM, os.open, self.m.path(LF, "new"), os.O_CREAT | os.O_WRONLY)
        # What it holds reads back; the rest is EIO through every path.
        self.assertEqual(pread(full, 11, 0), b"hello world")
        self.assertErrno(errno.EIO, pread, full, 4096, 20 * MiB)
        cat = subprocess.run(["cat", full], capture_output=True)
        self.assertNotEqual(cat.returncode, 0)
        self.assertNotIn(b"\0" * 4096, cat.stdout)
        dst = os.path.join(self.tmp(), "copy")
        cp = subprocess.run(["cp", full, dst], capture_output=True, text=True)
        self.assertNotEqual(cp.returncode, 0, "cp of an incomplete copy must fail")
        self.assertIn("Input/output error", cp.stderr)
        probe = subprocess.run([sys.executable, "-c", MMAP_PROBE, full, str(20 * MiB)],
                               capture_output=True, text=True)
        # SIGBUS (-7) or refused; a successful mapping must not hold zeros.
        if probe.returncode == 0:
            self.assertTrue(probe.stdout.startswith("mmap-refused"), probe.stdout)
        else:
            self.assertEqual(probe.returncode, -7, probe.stderr)
        src = os.open(full, os.O_RDONLY)
        out = os.open(self.m.path("cfr-out"), os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            self.assertErrno(errno.EIO, os.copy_file_range, src, out, 4096, 20 * MiB)
            r, w = os.pipe()
            try:
                self.assertErrno(errno.EIO, os.splice, src, w, 4096, 20 * MiB)
            finally:
                os.close(r)
                os.close(w)
        finally:
            os.close(src)
            os.close(out)
        self.assertTrue(harness.pid_alive(self.m.pid))
        # Exports: the conflict is reported once; S3 never gets the copy.
        subprocess.run([harness.stagefs_bin(), "sync", self.m.mnt], capture_output=True,
                       timeout=120)
        p = subprocess.run([harness.stagefs_bin(), "sync", self.m.mnt], capture_output=True,
                           text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(sorted(self.aws.list_keys(self.b)), ["big.bin", "cfr-out", "other.txt"])
        self.assertEqual(self.aws.get_bytes(self.b, "cfr-out"), b"")
        self.assertEqual(self.aws.get_bytes(self.b, "big.bin"), b"theirs\n")
        # Deleting the entry is allowed; lost+found stays.
        os.unlink(full)
        self.assertEqual(self.m.lost_found(), [])
        self.assertTrue(os.path.isdir(self.m.path(LF)))

    def test_copy_of_an_object_deleted_in_s3_has_no_s3_key(self):
        self.b = self.bucket("lfdel")
        self.aws.put(self.b, "d/f", data=b"v1\n")
        self.m = self.mount(self.b, args=["--export-delay", "30", "--refresh-interval", "1"])
        with open(self.m.path("d/f"), "wb") as f:
            f.write(b"mine\n")
        self.aws.run("s3api", "delete-object", "--bucket", self.b, "--key", "d/f")
        self.assertTrue(harness.wait_for(self.m.lost_found, 10))
        st = self.m.file_status(os.path.join(LF, self.m.lost_found()[0]))
        self.assertEqual(st["S3Key"], "", st)
        self.assertEqual(st["FilePath"], "/d/f", st)
        self.assertIn("deleted", st["ExportError"])


class VersionedTest(LostFoundTestBase):
    def test_copy_is_completed_from_the_base_version(self):
        entry, old = self.conflict(versioned=True, size=8 * MiB)
        want = b"hello world" + old[11:]
        self.assertTrue(harness.wait_for(
            lambda: "MissingBytes" not in self.m.file_status(entry), 20),
            self.m.file_status(entry))
        with open(self.m.path(entry), "rb") as f:
            self.assertEqual(f.read(), want)
        dst = os.path.join(self.tmp(), "copy")
        subprocess.run(["cp", self.m.path(entry), dst], check=True)
        with open(dst, "rb") as f:
            self.assertEqual(f.read(), want)
        self.assertErrno(errno.EPERM, os.rename, self.m.path(entry), self.m.path("restored"))
        self.assertEqual(self.aws.get_bytes(self.b, "big.bin"), b"theirs\n")


class RandomizedTest(LostFoundTestBase):
    """A file's bytes are allowed from two sources only: what the mount wrote at
    that offset, and the object version the file was based on."""

    SIZE = 3 * MiB
    FILES = 3

    def test_no_read_returns_bytes_nobody_wrote(self):
        seed = int(os.environ.get("STAGEFS_TEST_SEED", random.randrange(1 << 30)))
        print("seed", seed)
        rng = random.Random(seed)
        self.b = self.bucket("lfrand")
        bases = {}
        for i in range(self.FILES):
            bases["f%d" % i] = rng.randbytes(self.SIZE)
            self.aws.put(self.b, "f%d" % i, data=bases["f%d" % i])
        self.m = self.mount(self.b, args=["--import-size-less-than", "0", "--export-delay", "3600",
                                          "--refresh-interval", "1"])
        # model: path -> (base bytes, {offset: byte} written locally)
        live = {n: (bases[n], {}) for n in bases}
        lost = {}  # lost+found name -> model
        checked = 0

        def check(path, model):
            nonlocal checked
            base, written = model
            size = os.stat(path).st_size
            off = rng.randrange(0, max(1, size))
            n = min(rng.choice([1, 4096, 65536, 300000]), size - off)
            try:
                got = pread(path, n, off)
            except OSError as e:
                self.assertEqual(e.errno, errno.EIO, "seed %d: %s" % (seed, e))
                return
            for k, c in enumerate(got):
                o = off + k
                ok = (o in written and written[o] == c) or (o < len(base) and base[o] == c)
                self.assertTrue(ok, "seed %d: %s byte %d = %d, neither written nor based on"
                                % (seed, path, o, c))
            checked += len(got)

        for step in range(40):
            op = rng.choice(["write", "write", "read", "read", "s3put", "s3del", "lf"])
            names = sorted(live)
            print("step", step, op, names, sorted(lost), flush=True)
            if op == "write" and names:
                n = rng.choice(names)
                off = rng.randrange(0, self.SIZE)
                data = rng.randbytes(rng.choice([1, 100, 5000]))
                size = os.stat(self.m.path(n)).st_size
                for o in range(size, off):  # writing past the end leaves zeros
                    live[n][1][o] = 0
                pwrite(self.m.path(n), data, off)
                for k, c in enumerate(data):
                    live[n][1][off + k] = c
                if os.environ.get("STAGEFS_TEST_DEBUG"):
                    print("  wrote %d bytes at %d of %s: %r" % (len(data), off, n,
                                                              self.m.file_status(n)))
            elif op == "read":
                for n in names:
                    check(self.m.path(n), live[n])
                for e in sorted(lost):
                    check(self.m.path(LF, e), lost[e])
            elif op in ("s3put", "s3del") and names:
                n = rng.choice([x for x in names if live[x][1]] or names)
                dirty = bool(live[n][1])
                before = set(self.m.lost_found())
                if op == "s3put":
                    new = rng.randbytes(rng.choice([10, self.SIZE]))
                    self.aws.put(self.b, n, data=new)
                else:
                    self.aws.run("s3api", "delete-object", "--bucket", self.b, "--key", n)
                if dirty:
                    self.assertTrue(harness.wait_for(
                        lambda: set(self.m.lost_found()) - before, 10),
                        "seed %d step %d: %s of dirty %s: no lost+found entry\n%s" % (
                            seed, step, op, n, self.debug(n)))
                    (e,) = set(self.m.lost_found()) - before
                    lost[e] = live.pop(n)
                else:
                    live.pop(n)
                if op == "s3put":
                    self.assertTrue(harness.wait_for(lambda: self.shows(n, new), 10),
                                    "seed %d" % seed)
                    live[n] = (new, {})
                else:
                    self.assertTrue(harness.wait_for(
                        lambda: not os.path.exists(self.m.path(n)), 10), "seed %d" % seed)
            elif op == "lf" and lost:
                e = rng.choice(sorted(lost))
                what = rng.choice(["mv", "cp", "rm"])
                if what == "mv":
                    self.assertErrno(errno.EPERM, os.rename, self.m.path(LF, e),
                                     self.m.path("back-%d" % step))
                elif what == "cp":
                    dst = os.path.join(self.tmp(), "c")
                    p = subprocess.run(["cp", self.m.path(LF, e), dst], capture_output=True)
                    if p.returncode == 0:  # complete: every byte must be allowed
                        with open(dst, "rb") as f:
                            got = f.read()
                        base, written = lost[e]
                        for o, c in enumerate(got):
                            self.assertTrue((o in written and written[o] == c) or
                                            (o < len(base) and base[o] == c), "seed %d" % seed)
                else:
                    os.unlink(self.m.path(LF, e))
                    lost.pop(e)
        self.assertTrue(harness.pid_alive(self.m.pid))
        print("checked %d bytes, %d lost+found entries" % (checked, len(lost)))
        # S3 holds only objects written by awscli (the mount exported nothing).
        for k in self.aws.list_keys(self.b):
            self.assertIn(k, bases)


if __name__ == "__main__":
    unittest.main()
