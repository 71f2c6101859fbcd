"""Random crash loops against an oracle (CrashMonkey/ALICE style, through a
real mount on RGW).

A seeded workload (writes, overwrites, appends, truncates, renames of files and
directories, unlinks, mkdir and rmdir, chmod, symlinks, fsyncs) runs while the
daemon is SIGKILLed at a random moment, with exports and multipart uploads in
flight (export delay 0.3 s, files up to 24 MiB) and the metadata batch
committing. After each restart on the same cache dir the tree is checked
against the oracle of acknowledged operations:
  * a file whose bytes were fsynced, and whose name was made durable (an fsync
    of its directory, or of any file: stagefs's fsync checkpoints all
    metadata), with no change since, is there with exactly those bytes;
  * every file is in one of the states its path went through since the last
    check (never garbage, never a mix of two states, never zeros nobody
    wrote); every directory and symlink existed at some point;
  * nothing exists that was never created.
At the end, after `stagefs sync`, the bucket (read with awscli) equals the
final tree, and a cold mount with an empty cache dir shows the same tree.

STAGEFS_CRASH_LOOPS (default 10; the slow variant 50) and STAGEFS_TEST_SEED
control a run; the seed is printed and a rerun with it replays the workload
(the kill moments depend on timing).
"""

import hashlib
import os
import random
import stat
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rharness  # noqa: E402
from rharness import harness  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "writes"))
import wharness  # noqa: E402

MiB = 1 << 20


def digest(b):
    return hashlib.sha256(b).hexdigest()[:16]


class CrashLoop(rharness.ReliabilityTestCase):
    LOOPS = int(os.environ.get("STAGEFS_CRASH_LOOPS", "10"))

    def test_crash_loop(self):
        seed = int(os.environ.get("STAGEFS_TEST_SEED", random.randrange(1 << 30)))
        print("seed", seed, "loops", self.LOOPS, flush=True)
        self.rng = random.Random(seed)
        self.seed = seed
        self.b = self.bucket("crashloop")
        self.cache = harness.tempfile.mkdtemp(prefix="stagefs-crashloop-")
        self.addCleanup(harness.shutil.rmtree, self.cache, True)
        self._observed_data = {}
        self.oplog = []
        self.inflight = None
        self.reset_model({"w": ("dir",)})
        m = self.remount()
        os.mkdir(m.path("w"))
        totals = {"ops": 0, "crashes": 0, "checked": 0}
        for loop in range(self.LOOPS):
            ops = self.run_until_killed(m, loop)
            totals["ops"] += ops
            totals["crashes"] += 1
            m = self.remount()
            totals["checked"] += self.check(m, loop)
        wharness.sync(m, timeout=600)
        self.check_bucket(m)
        self.check_cold_mount()
        print("crash loop: %(crashes)d crashes, %(ops)d operations, %(checked)d paths "
              "checked, 0 bytes lost" % totals, flush=True)

    # ------------------------------------------------------------ mounting
    def remount(self):
        m = harness.Mount(self.server, self.b, cache_dir=self.cache,
                          args=["--export-delay", "0.3", "--refresh-interval", "3600"])
        m.own_cache = False
        self._mounts.append(m)
        m.start()
        return m

    # ------------------------------------------------------------ the oracle
    # A file is an identity (an inode): renames move it, and its content goes
    # through states. After a crash a path may show any file that had it
    # during the cycle, in any state that file went through; a name and a
    # content are each old or new (neither was fsynced), never invented.
    def state_of(self, rel):
        k = self.kinds.get(rel)
        if k is None:
            return None
        if k == "file":
            data, mode = self.files[self.ids[rel]]
            return ("file", digest(data), mode)
        if k == "link":
            return ("link", self.links[rel])
        return ("dir",)

    def note(self, rel):
        """Records what `rel` holds now, in both histories."""
        k = self.kinds.get(rel)
        if k == "file":
            fid = self.ids[rel]
            self.path_hist.setdefault(rel, [None]).append(("id", fid))
            self.states.setdefault(fid, []).append(self.state_of(rel))
        else:
            self.path_hist.setdefault(rel, [None]).append(self.state_of(rel))

    def expect(self, rel, state, provisional=True):
        """A state an operation about to run leads to: allowed even if the
        crash comes before the operation returns."""
        if state and state[0] == "file" and rel in self.ids:
            self.states.setdefault(self.ids[rel], []).append(state)
        else:
            self.path_hist.setdefault(rel, [None]).append(state)

    def new_file(self, rel, data, mode):
        self.next_id = getattr(self, "next_id", 0) + 1
        self.kinds[rel] = "file"
        self.ids[rel] = self.next_id
        self.files[self.next_id] = (data, mode)

    def under(self, rel):
        return [p for p in self.kinds if p == rel or p.startswith(rel + "/")]

    # ------------------------------------------------------------ workload
    def run_until_killed(self, m, loop):
        """Runs random operations until the daemon is killed at a random moment."""
        stop = threading.Event()
        killer_delay = self.rng.uniform(0.3, 2.5)

        def killer():
            time.sleep(killer_delay)
            try:
                os.kill(m.pid, 9)
            except ProcessLookupError:
                pass
            stop.set()
        t = threading.Thread(target=killer)
        t.start()
        ops = 0
        try:
            while not stop.is_set():
                self.one_op(m)
                ops += 1
        except OSError:
            pass  # the mount died under the operation: its outcome is unknown
        t.join()
        wharness.kill_daemon(m, pid=m.pid) if harness.pid_alive(m.pid) else self.detach(m)
        return ops

    def detach(self, m):
        if subprocess.run(["fusermount3", "-u", m.mnt], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", m.mnt], capture_output=True)
        m.pid = None

    def pick(self, kind, parent_ok=True):
        c = sorted(p for p, k in self.kinds.items() if k == kind)
        return self.rng.choice(c) if c else None

    def new_name(self):
        d = self.pick("dir")
        return d + "/" + self.rng.choice("abcdefgh") + str(self.rng.randrange(100))

    def one_op(self, m):
        r = self.rng
        op = r.choice(["create", "create", "write", "write", "append", "truncate", "rename",
                       "rename_dir", "unlink", "mkdir", "rmdir", "chmod", "symlink", "fsync",
                       "fsync_dir"])
        P = m.path
        self.oplog.append(op)
        self.inflight = None
        if op == "create":
            rel = self.new_name()
            if rel in self.kinds:
                return
            size = r.choice([0, 1, 4096, 100000, 3 * MiB, 20 * MiB if r.random() < 0.1 else 10])
            data = r.randbytes(size)
            # Each syscall is a state: created empty, then each write's prefix.
            self.oplog[-1] = "create %s (%d bytes)" % (rel, size)
            self.new_file(rel, b"", 0o644)
            self.note(rel)
            with open(P(rel), "wb", buffering=0) as f:
                for i in range(0, len(data), 128 << 10):  # one FUSE write each
                    self.expect(rel, ("file", digest(data[:i + (128 << 10)]), 0o644))
                    self.inflight = (self.ids[rel], data[:i], data[:i + (128 << 10)])
                    f.write(data[i:i + (128 << 10)])
            self.files[self.ids[rel]] = (data, 0o644)
            self.note(rel)
        elif op in ("write", "append", "truncate"):
            rel = self.pick("file")
            if not rel:
                return
            data, mode = self.files[self.ids[rel]]
            if op == "write":
                off = r.randrange(0, len(data) + 10)
                chunk = r.randbytes(r.randrange(1, 128 << 10))
                new = data[:off].ljust(off, b"\0") + chunk + data[off + len(chunk):]
            elif op == "append":
                chunk = r.randbytes(r.randrange(1, 64 << 10))
                off, new = len(data), data + chunk
            else:
                n = r.randrange(0, len(data) + 5000)
                new = data[:n].ljust(n, b"\0")
            self.expect(rel, ("file", digest(new), mode), provisional=True)
            self.oplog[-1] = "%s %s: %d -> %d bytes" % (op, rel, len(data), len(new))
            self.inflight = (self.ids[rel], data, new)
            fd = os.open(P(rel), os.O_WRONLY)
            try:
                if op == "truncate":
                    os.ftruncate(fd, len(new))
                else:
                    os.pwrite(fd, chunk, off)
            finally:
                os.close(fd)
            self.files[self.ids[rel]] = (new, mode)
            self.note(rel)
        elif op == "chmod":
            rel = self.pick("file")
            if not rel:
                return
            data, _ = self.files[self.ids[rel]]
            mode = r.choice([0o600, 0o640, 0o644, 0o755])
            self.expect(rel, ("file", digest(data), mode), provisional=True)
            os.chmod(P(rel), mode)
            self.files[self.ids[rel]] = (data, mode)
            self.note(rel)
        elif op in ("rename", "rename_dir"):
            src = self.pick("file" if op == "rename" else "dir")
            if not src or src == "w":
                return
            dst = self.new_name()
            if dst in self.kinds or dst.startswith(src + "/"):
                return
            moved = self.under(src)
            for p in moved:
                q = dst + p[len(src):]
                self.path_hist.setdefault(q, [None]).append(
                    ("id", self.ids[p]) if p in self.ids else self.state_of(p))
                self.path_hist.setdefault(p, [None]).append(None)
            self.oplog[-1] = "rename %s -> %s" % (src, dst)
            os.rename(P(src), P(dst))
            for p in sorted(moved):
                q = dst + p[len(src):]
                self.kinds[q] = self.kinds.pop(p)
                if p in self.ids:
                    self.ids[q] = self.ids.pop(p)
                if p in self.links:
                    self.links[q] = self.links.pop(p)
                self.note(q)
                self.note(p)
                self.durable.pop(p, None)
        elif op == "unlink":
            rel = self.pick(r.choice(["file", "link"]))
            if not rel:
                return
            self.expect(rel, None, provisional=True)
            self.oplog[-1] = "unlink " + rel
            os.unlink(P(rel))
            del self.kinds[rel]
            self.ids.pop(rel, None)
            self.links.pop(rel, None)
            self.note(rel)
            self.durable.pop(rel, None)
        elif op == "mkdir":
            rel = self.new_name()
            if rel in self.kinds:
                return
            self.expect(rel, ("dir",), provisional=True)
            self.oplog[-1] = "mkdir " + rel
            os.mkdir(P(rel))
            self.kinds[rel] = "dir"
            self.note(rel)
        elif op == "rmdir":
            rel = self.pick("dir")
            if not rel or rel == "w" or len(self.under(rel)) > 1:
                return
            self.expect(rel, None, provisional=True)
            self.oplog[-1] = "rmdir " + rel
            os.rmdir(P(rel))
            del self.kinds[rel]
            self.note(rel)
        elif op == "symlink":
            rel = self.new_name()
            if rel in self.kinds:
                return
            target = "t-" + str(r.randrange(1000))
            self.expect(rel, ("link", target), provisional=True)
            os.symlink(target, P(rel))
            self.kinds[rel] = "link"
            self.links[rel] = target
            self.note(rel)
        elif op == "fsync":
            rel = self.pick("file")
            if not rel:
                return
            self.oplog[-1] = "fsync " + rel
            fd = os.open(P(rel), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            # Its bytes and (stagefs checkpoints all metadata) its name.
            self.durable[rel] = (self.ids[rel], self.state_of(rel))
        elif op == "fsync_dir":
            rel = self.pick("dir")
            fd = os.open(P(rel), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    # ------------------------------------------------------------ checks
    def observe(self, m):
        out = {}
        root = m.path("w")
        for dirpath, dirnames, filenames in os.walk(root):
            rel_dir = os.path.relpath(dirpath, m.mnt)
            out[rel_dir] = ("dir",)
            for n in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
                p = os.path.join(dirpath, n)
                rel = os.path.relpath(p, m.mnt)
                st = os.lstat(p)
                if stat.S_ISLNK(st.st_mode):
                    out[rel] = ("link", os.readlink(p))
                    continue
                try:
                    with open(p, "rb") as f:
                        data = f.read()
                except OSError as e:
                    out[rel] = ("error", e.errno)
                    continue
                out[rel] = ("file", digest(data), stat.S_IMODE(st.st_mode))
                self._observed_data[rel] = data
        return out

    def allowed(self, rel):
        out = []
        for h in self.path_hist.get(rel, [None]):
            if h and h[0] == "id":
                out += self.states.get(h[1], [])
            else:
                out.append(h)
        cur = self.state_of(rel)
        return out + [cur]

    def check(self, m, loop):
        self._observed_data = {}
        seen = self.observe(m)
        where = "seed %d, loop %d" % (self.seed, loop)
        problems = []
        for rel, state in seen.items():
            allowed = self.allowed(rel)
            if state not in allowed and not self.partial_inflight(rel, state):
                problems.append("%s is %r, never one of its %d states (last: %r)%s" % (
                    rel, state, len(allowed), allowed[-3:], self.explain(rel)))
        for rel in sorted(set(self.path_hist) | set(self.kinds)):
            if rel not in seen and None not in self.allowed(rel) and not rel.startswith(
                    tuple(p + "/" for p in self.kinds if p not in seen)):
                problems.append("%s vanished (its states: %r)" % (rel, self.allowed(rel)[-3:]))
        for rel, (fid, state) in self.durable.items():
            # fsynced, and neither changed nor moved since: exactly that
            if self.ids.get(rel) == fid and self.state_of(rel) == state and seen.get(rel) != state:
                problems.append("%s was fsynced as %r but is %r" % (rel, state, seen.get(rel)))
        if problems:
            print("operations of the cycle:\n  " + "\n  ".join(self.oplog), flush=True)
        self.assertEqual(problems, [], where + ":\n" + "\n".join(problems[:20]))
        self.oplog = []
        # The mount is the truth from here on.
        self.reset_model(seen)
        return len(seen)

    def partial_inflight(self, rel, state):
        """The write the kill interrupted may be half applied (its bytes in
        the cache file, its new size not yet committed, or the other way):
        every byte must still be one of the file's before or after that write."""
        if not self.inflight or state[0] != "file":
            return False
        fid, before, after = self.inflight
        if fid not in [h[1] for h in self.path_hist.get(rel, []) if h and h[0] == "id"]:
            return False
        got = self._observed_data[rel]
        if len(got) not in (len(before), len(after)):
            return False
        return all((o < len(before) and before[o] == c) or (o < len(after) and after[o] == c)
                   for o, c in enumerate(got))

    def reset_model(self, seen):
        self.kinds, self.ids, self.files, self.links = {"w": "dir"}, {}, {}, {}
        self.path_hist, self.states, self.durable = {}, {}, {}
        for rel, state in seen.items():
            if state[0] == "dir":
                self.kinds[rel] = "dir"
            elif state[0] == "link":
                self.kinds[rel] = "link"
                self.links[rel] = state[1]
            else:
                self.new_file(rel, self._observed_data[rel], state[2])
            self.note(rel)
            self.path_hist[rel].pop(0)  # it existed at the start of the cycle

    def explain(self, rel):
        got = self._observed_data.get(rel)
        if got is None or self.kinds.get(rel) != "file":
            return ""
        want = self.files[self.ids[rel]][0]
        first = next((i for i in range(min(len(got), len(want))) if got[i] != want[i]),
                     min(len(got), len(want)))
        zeros = got[first:].count(0) if first < len(got) else 0
        return " (read %d bytes, the last state has %d; first difference at %d; %d zero " \
               "bytes after it)" % (len(got), len(want), first, zeros)

    def check_bucket(self, m):
        objects = wharness.read_bucket(self.aws, self.b)
        want = {}
        for rel, k in self.kinds.items():
            if k == "dir":
                continue
            want[rel] = self.links[rel] if k == "link" else self.files[self.ids[rel]][0]
        got = {k: o.data for k, o in objects.items() if not k.endswith("/")}
        for rel, data in want.items():
            if isinstance(data, str):
                self.assertEqual(got.get(rel), data.encode(), rel)
            else:
                self.assertEqual(digest(got.get(rel, b"<missing>")), digest(data), rel)
        self.assertEqual(sorted(got), sorted(want), "the bucket holds other objects")

    def check_cold_mount(self):
        cold = harness.Mount(self.server, self.b)
        self._mounts.append(cold)
        cold.start()
        self._observed_data = {}
        seen = self.observe(cold)
        for rel, k in self.kinds.items():
            if k == "file":
                self.assertEqual(seen.get(rel), self.state_of(rel), rel)
            elif k == "link":
                self.assertEqual(seen.get(rel), ("link", self.links[rel]), rel)
            else:
                self.assertEqual(seen.get(rel), ("dir",), rel)
        self.assertEqual(sorted(seen), sorted(self.kinds), "the cold mount shows another tree")


if __name__ == "__main__":
    unittest.main()
