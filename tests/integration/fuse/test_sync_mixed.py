"""Randomized two-way sync: writes through the mount and awscli writes on the
SAME keys, checked against a recorded oracle ("S3 wins, nothing is lost").

A seeded schedule (the seed is printed; STAGEFS_MIXED_SEED replays it) of about
120 steps runs against 6 keys in 2 directories: full rewrites through the mount
(unique contents "mount:step:N:..."), unlinks through the mount, awscli puts
(unique contents "s3:step:N:...") and awscli deletes, and short sleeps. The
awscli operations run one at a time in a background thread while the mount
steps go on, so they race with the mount's writes, exports (--export-delay 1)
and re-lists (--refresh-interval 1) for real. Two variants: the reconciler alone,
and S3 event notifications POSTed to --events-addr after each awscli operation.

At the end: `stagefs sync`, then wait until the mount and the bucket agree on
every key. Then, from the record only:

  * For each side and key, the LAST write of that side (earlier writes of the
    same side are superseded; a side whose last action on a key is a delete has
    nothing to find) must be found at its path (read through the mount, and
    the bucket must hold the same bytes), or in /.stagefs-lost+found with
    FilePath naming that key in its user.stagefs.status xattr, or have been
    superseded by a later write of the other side that could see it:
      - a mount write is superseded by an awscli write only once it reached S3
        (its bytes are a version in the bucket's history, followed by another);
      - an awscli write is superseded by a mount write or unlink only if the
        mount had seen it (its ETag was the file's ETag in user.stagefs.status
        at or before that mount operation). Otherwise the mount overwrote or
        deleted data it never saw: a lost update.
    The acceptance text says "superseded by a later write of the same side";
    the other side's overwrite is allowed only in the causal cases above,
    because a plain overwrite after seeing the other side's data is no loss.
  * No garbage: every file at a key, every file in lost+found and every version
    in the bucket's history holds exactly the bytes of one recorded write of
    that key (so no mixing of two versions, no truncated or empty leftovers).
  * Nothing from lost+found is ever exported.
  * Every awscli write that the mount overwrote or deleted must have been seen
    by the mount first (this checks the earlier writes too, not just the last).

  * Emptying lost+found (as a user would) changes nothing in S3.

The bucket has versioning enabled: S3's own version history (list-object-versions,
read with awscli) is the independent witness of which mount writes reached S3
and in what order. stagefs itself never uses version ids (its reads are pinned to
ETags), so versioning does not change what is tested. Contents are small
(single PUT), so every ETag is the MD5 of the bytes.

Bugs this test found (about one run in ten), fixed, and kept as deterministic
regression tests in ExportRaceTest below: a small file whose export was in
flight was not marked as exporting, so a re-list that ran meanwhile treated it
as a plain dirty file ("double-move": moved into lost+found twice;
"own-export-conflict": the export's own PUT taken for a change in S3, after
which removing the lost+found copy deleted the object). The random test fails
on these signatures; STAGEFS_MIXED_STRICT=0 reports them without failing (to
look for other problems while one of them is open). Knobs: STAGEFS_MIXED_SEED,
STAGEFS_MIXED_STEPS (default 120), STAGEFS_MIXED_STRICT.
"""

import collections
import concurrent.futures
import hashlib
import http.client
import http.server
import json
import os
import random
import socketserver
import subprocess
import sys
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

LF = ".stagefs-lost+found"
DIRS = ["a", "b"]
KEYS = ["%s/k%d" % (d, i) for d in DIRS for i in range(3)]
# Step weights: mount write, mount unlink, awscli put, awscli delete, sleep.
WEIGHTS = {"mw": 40, "mu": 8, "sp": 24, "sd": 7, "sleep": 21}
STEPS = int(os.environ.get("STAGEFS_MIXED_STEPS", "120"))
# The signatures of the fixed export races (see ExportRaceTest) fail the test
# unless this is set to 0.
STRICT = os.environ.get("STAGEFS_MIXED_STRICT", "1") not in ("", "0")
# Ceph RGW 16 has no conditional PUT, so an export checks the object with a HEAD
# right before its PUT (docs/CONSISTENCY.md). An awscli put that lands between
# the two is overwritten: the documented limit of that check, kept in S3 as a
# noncurrent version. A mount version at most this many seconds after the
# awscli one is counted as that case (and printed), not as a lost update.
HEAD_PUT_WINDOW = 0.25


def md5(b):
    return hashlib.md5(b).hexdigest()


def base_seed():
    s = os.environ.get("STAGEFS_MIXED_SEED")
    return int(s) if s else random.SystemRandom().randrange(1, 2**31)


def content(side, step, seed, key, rng):
    """Unique bytes naming side, step and key; a random length (some longer than
    others, so a shorter version mixed with a longer one would show)."""
    tag = ("%s:step:%d:seed:%d:key:%s|" % (side, step, seed, key)).encode()
    size = rng.choice([len(tag), rng.randint(len(tag), 300), rng.randint(300, 6000)])
    return (tag * (size // len(tag) + 1))[:size]


def xattr_etag(target):
    """The ETag in user.stagefs.status of a path or fd ("" if none or unreadable)."""
    try:
        raw = os.getxattr(target, "user.stagefs.status")
    except OSError:
        return ""
    for line in raw.decode(errors="replace").splitlines():
        k, _, v = line.partition(": ")
        if k == "ETag":
            return v.strip().strip('"')
    return ""


class Record:
    """What each side did, in its own order (each side is sequential)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.ops = []  # dicts: side, op, key, data, etag, seen, t
        self.by_etag = {}  # md5 -> op that wrote it
        self.seen = {k: set() for k in KEYS}  # ETags the mount showed at each key
        self.t0 = time.time()  # wall clock, to compare with S3's LastModified
        self.enoent_on_write = 0

    def add(self, side, op, key, data=None, seen=None, step=0):
        with self.lock:
            o = {"side": side, "op": op, "key": key, "data": data, "step": step,
                 "etag": md5(data) if data is not None else None,
                 "seen": frozenset(seen) if seen is not None else None,
                 "t": time.time() - self.t0, "i": len(self.ops)}
            self.ops.append(o)
            if data is not None:
                assert o["etag"] not in self.by_etag, "contents must be unique"
                self.by_etag[o["etag"]] = o
            return o

    def see(self, key, etag):
        if etag:
            with self.lock:
                self.seen[key].add(etag)

    def side_ops(self, side, key):
        return [o for o in self.ops if o["side"] == side and o["key"] == key]


class MixedSyncBase(harness.FuseTestCase):
    only_servers = ("rgw",)
    EVENTS = False
    REFRESH = "1"
    SEED_OFFSET = 0

    # ------------------------------------------------------------ setup
    def setUp(self):
        super().setUp()
        self.seed = base_seed() + self.SEED_OFFSET
        print("\n%s: seed %d (replay: STAGEFS_MIXED_SEED=%d)" % (
            type(self).__name__, self.seed, self.seed - self.SEED_OFFSET), flush=True)
        self.rng = random.Random(self.seed)
        self.rec = Record()
        self.b = self.bucket("mixed")
        self.aws.run("s3api", "put-bucket-versioning", "--bucket", self.b,
                     "--versioning-configuration", "Status=Enabled")
        # Directory markers keep both directories alive when all their files go.
        initial = {d + "/": b"" for d in DIRS}
        for k in KEYS:
            data = content("s3", 0, self.seed, k, self.rng)
            initial[k] = data
            self.rec.add("s3", "put", k, data, step=0)
        for k, err in self.aws.put_many(self.b, initial).items():
            self.assertIsNone(err, k)
        self.events_port = harness.free_port()
        args = ["--export-delay", "1", "--refresh-interval", self.REFRESH]
        if self.EVENTS:
            args += ["--events-addr", "127.0.0.1:%d" % self.events_port]
        self.m = self.mount(self.b, args=args)
        for d in DIRS:
            os.listdir(self.m.path(d))
        self.m.wait_idle()

    def tearDown(self):
        # Versions and delete markers would keep `s3 rb --force` (the base
        # class's tearDown) from deleting the bucket: remove them all first,
        # after the mount is gone.
        self.m.cleanup()
        out = self.aws.run("s3api", "list-object-versions", "--bucket", self.b,
                           "--output", "json", check=False).stdout
        o = json.loads(out) if out.strip() else {}
        objs = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in o.get("Versions", []) + o.get("DeleteMarkers", [])]
        for i in range(0, len(objs), 1000):
            self.aws.run("s3api", "delete-objects", "--bucket", self.b, "--delete",
                         json.dumps({"Objects": objs[i:i + 1000], "Quiet": True}), check=False)
        super().tearDown()

    # ------------------------------------------------------------ the two sides
    def post_event(self, name, key):
        rec = {"eventName": name, "s3": {"bucket": {"name": self.b}, "object": {"key": key}}}
        req = urllib.request.Request("http://127.0.0.1:%d/" % self.events_port,
                                     data=json.dumps({"Records": [rec]}).encode(), method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            self.assertEqual(r.status, 200)

    def s3_op(self, rec_op):
        op, key, data = rec_op["op"], rec_op["key"], rec_op["data"]
        if op == "put":
            etag = self.aws.put(self.b, key, data=data).strip('"')
            self.assertEqual(etag, md5(data))
        else:
            self.aws.run("s3api", "delete-object", "--bucket", self.b, "--key", key)
        if self.EVENTS:
            self.post_event("ObjectCreated:Put" if op == "put" else "ObjectRemoved:Delete", key)
        rec_op["done"] = time.time() - self.rec.t0

    def mount_write(self, step, key):
        path = self.m.path(key)
        self.rec.see(key, xattr_etag(path))
        data = content("mount", step, self.seed, key, self.rng)
        for _ in range(5):
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            except FileNotFoundError:
                # The open revalidated a file that was deleted in S3 (the kernel
                # still had its dentry): the next lookup no longer finds it.
                self.rec.enoent_on_write += 1
                time.sleep(0.1)
                continue
            try:
                n = 0
                while n < len(data):
                    n += os.write(fd, data[n:])
                # A dirty file's ETag is the base its export will be checked
                # against; it changes only when the mount's own export commits.
                self.rec.see(key, xattr_etag(fd))
            finally:
                os.close(fd)
            with self.rec.lock:
                seen = set(self.rec.seen[key])
            self.rec.add("mount", "write", key, data, seen, step=step)
            return
        self.rec.add("mount", "write-failed", key, step=step)

    def mount_unlink(self, step, key):
        path = self.m.path(key)
        fd = None
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            pass
        try:
            self.rec.see(key, xattr_etag(fd if fd is not None else path))
            try:
                os.unlink(path)
            except FileNotFoundError:
                return
            if fd is not None:
                # An unlinked file keeps its ETag until its delete is exported.
                self.rec.see(key, xattr_etag(fd))
        finally:
            if fd is not None:
                os.close(fd)
        with self.rec.lock:
            seen = set(self.rec.seen[key])
        self.rec.add("mount", "unlink", key, None, seen, step=step)

    # ------------------------------------------------------------ the run
    def schedule(self):
        names = list(WEIGHTS)
        weights = [WEIGHTS[n] for n in names]
        return [(self.rng.choices(names, weights)[0], self.rng.choice(KEYS)) for _ in range(STEPS)]

    def run_mix(self):
        t_start = time.monotonic()
        pool = concurrent.futures.ThreadPoolExecutor(1)
        pending = None
        counts = {}
        try:
            for step, (op, key) in enumerate(self.schedule(), start=1):
                counts[op] = counts.get(op, 0) + 1
                if op in ("sp", "sd"):
                    if pending is not None:
                        pending.result()
                    data = content("s3", step, self.seed, key, self.rng) if op == "sp" else None
                    # Recorded when issued: the S3 side runs its operations in this order.
                    o = self.rec.add("s3", "put" if op == "sp" else "delete", key, data, step=step)
                    pending = pool.submit(self.s3_op, o)
                elif op == "mw":
                    self.mount_write(step, key)
                elif op == "mu":
                    self.mount_unlink(step, key)
                else:
                    time.sleep(self.rng.choice([0.05, 0.1, 0.2, 0.4, 0.8, 1.5]))
            if pending is not None:
                pending.result()
        finally:
            pool.shutdown(wait=True)
        t_run = time.monotonic() - t_start
        rc, err = self.sync()
        final, history = self.wait_agreement()
        t_total = time.monotonic() - t_start
        lf = self.lost_found()
        print("%s: %d steps %r in %.1f s, settled after %.1f s; sync exit %d; "
              "lost+found %d; ENOENT on O_CREAT %d" % (
                  type(self).__name__, STEPS, counts, t_run, t_total - t_run, rc, len(lf),
                  self.rec.enoent_on_write), flush=True)
        if rc != 0:
            # Conflicts are reported as failed exports; nothing else may fail.
            listed = [ln for ln in err.splitlines() if ln.startswith("  /")]
            self.assertTrue(listed and all(": Conflict: " in ln for ln in listed), err)
        self.stats = collections.Counter()
        self.known = []
        problems = self.check(final, history, lf)
        print("%s: outcome %s" % (type(self).__name__, dict(sorted(self.stats.items()))),
              flush=True)
        if not problems:
            problems += self.empty_lost_found(history, lf)
        for name, what in self.known:
            print("%s: export-race signature %s (not failing: STAGEFS_MIXED_STRICT=0): %s" % (
                type(self).__name__, name, what), flush=True)
        if problems:
            self.fail("seed %d: %d problem(s):\n  %s\n\n%s" % (
                self.seed, len(problems), "\n  ".join(problems), self.explain(problems, history)))

    def known_bug(self, name, what):
        self.known.append((name, what))

    def empty_lost_found(self, history, lf):
        """A user who empties lost+found must not change anything in S3: its
        files stand for no object. Removes them all, syncs, compares the
        bucket's whole version history before and after."""
        for path, data, name, st in lf:
            if st.get("ExportState") == "clean" and not STRICT:
                # Exported after its move: its S3Key is a live object, which
                # removing this file would delete.
                self.known_bug("own-export-conflict", "lost+found/%s (FilePath %s) is %s with "
                               "ETag %s; left in place" % (name, path, st.get("ExportState"),
                                                          st.get("ETag")))
                continue
            os.unlink(self.m.path(LF, name))
        rc, err = self.sync()
        after = self.versions()
        problems = []
        for k in sorted(set(history) | set(after)):
            a = [(e["etag"], e["latest"]) for e in history.get(k, [])]
            b = [(e["etag"], e["latest"]) for e in after.get(k, [])]
            if a != b:
                problems.append("%s: emptying lost+found changed S3: %s -> %s" % (
                    k, [self.name_of(e) for e, _ in a], [self.name_of(e) for e, _ in b]))
        return problems

    def sync(self):
        p = subprocess.run([harness.stagefs_bin(), "sync", self.m.mnt], capture_output=True,
                           text=True, timeout=120)
        return p.returncode, p.stdout + p.stderr

    # ------------------------------------------------------------ observation
    def read_mount(self, key):
        path = self.m.path(key)
        for _ in range(5):
            try:
                harness.evict_page_cache(path)
                with open(path, "rb") as f:
                    return f.read()
            except FileNotFoundError:
                return None
            except OSError:  # EIO: the object changed under a pinned read; open again
                time.sleep(0.2)
        with open(path, "rb") as f:
            return f.read()

    def versions(self):
        """{key: [entry, ...] oldest first}; entry = dict(t, etag or None for a
        delete marker, latest). Ties in LastModified (millisecond resolution)
        keep awscli's newest-first order within one kind."""
        out = self.aws.run("s3api", "list-object-versions", "--bucket", self.b,
                           "--output", "json").stdout
        o = json.loads(out) if out.strip() else {}
        hist = {}
        for n, v in enumerate(o.get("Versions", [])):
            hist.setdefault(v["Key"], []).append(
                {"t": harness.parse_time(v["LastModified"]), "n": n,
                 "etag": v["ETag"].strip('"'), "latest": v["IsLatest"]})
        for n, v in enumerate(o.get("DeleteMarkers", [])):
            hist.setdefault(v["Key"], []).append(
                {"t": harness.parse_time(v["LastModified"]), "n": n, "etag": None,
                 "latest": v["IsLatest"]})
        for k in hist:
            hist[k].sort(key=lambda e: (e["t"], -e["n"]))
        return hist

    def wait_agreement(self, timeout=40):
        """Waits until the mount shows what the bucket holds, key by key."""
        deadline = time.monotonic() + timeout
        while True:
            history = self.versions()
            bucket = {}
            for k in KEYS:
                cur = [e for e in history.get(k, []) if e["latest"]]
                bucket[k] = cur[0]["etag"] if cur else None
            final = {k: self.read_mount(k) for k in KEYS}
            mount = {k: None if b is None else md5(b) for k, b in final.items()}
            if mount == bucket or time.monotonic() > deadline:
                diff = {k: (mount[k], bucket[k]) for k in KEYS if mount[k] != bucket[k]}
                self.agreement_diff = diff
                return final, history
            time.sleep(0.5)

    def lost_found(self):
        """[(FilePath, bytes, name, status)] of everything in lost+found."""
        out = []
        for n in self.m.lost_found():
            p = self.m.path(LF, n)
            st = self.m.file_status(os.path.join(LF, n))
            with open(p, "rb") as f:
                out.append((st.get("FilePath", ""), f.read(), n, st))
        return out

    # ------------------------------------------------------------ the oracle
    def check(self, final, history, lf):
        rec = self.rec
        problems = []
        for k, (m, b) in sorted(self.agreement_diff.items()):
            problems.append("%s: mount shows %s, bucket holds %s" % (
                k, self.name_of(m), self.name_of(b)))
        # No garbage anywhere.
        for k in KEYS:
            if final[k] is not None:
                o = rec.by_etag.get(md5(final[k]))
                if not o or o["key"] != k or o["data"] != final[k]:
                    problems.append("%s: mount shows bytes nobody wrote there: %r" % (
                        k, final[k][:80]))
        lf_by_key = {}
        for path, data, name, st in lf:
            k = path.lstrip("/")
            o = rec.by_etag.get(md5(data))
            if o and o["side"] == "mount" and k.startswith(LF + "/") and not STRICT:
                # The bytes are a mount write (their text names the key), but the
                # file was moved into lost+found twice and its status names its
                # first lost+found path instead of the key.
                self.known_bug("double-move", "lost+found/%s (FilePath %s) holds %s" % (
                    name, path, self.name_of(o["etag"])))
                k = o["key"]
            if k not in KEYS or not o or o["side"] != "mount" or o["key"] != k:
                problems.append("lost+found/%s (FilePath %s) holds bytes no mount write of "
                                "that path made: %r" % (name, path, data[:80]))
                continue
            lf_by_key.setdefault(k, set()).add(md5(data))
        for k, entries in sorted(history.items()):
            if LF in k:
                problems.append("lost+found was exported: %s" % k)
            if k.endswith("/") or k.startswith(".stagefs-"):
                continue
            if k not in KEYS:
                problems.append("unexpected key in the bucket: %s" % k)
                continue
            for e in entries:
                if e["etag"] is not None and (e["etag"] not in rec.by_etag
                                              or rec.by_etag[e["etag"]]["key"] != k):
                    problems.append("%s: a version in S3 (ETag %s) is no recorded write" % (
                        k, e["etag"]))
        for k in KEYS:
            problems += self.check_key(k, history.get(k, []), final[k], lf_by_key.get(k, set()))
        return problems

    def neighbours(self, entries, idx, after):
        """Entries right after (or before) entries[idx]; a tie in time makes every
        entry of that time a candidate (the order between them is unknown)."""
        t = entries[idx]["t"]
        same = [e for j, e in enumerate(entries) if j != idx and e["t"] == t]
        if after:
            later = [e for e in entries if e["t"] > t]
            return same + later[:1]
        earlier = [e for e in entries if e["t"] < t]
        return same + earlier[-1:]

    def check_key(self, k, entries, final, lf_etags):
        rec = self.rec
        problems = []
        idx = {e["etag"]: i for i, e in enumerate(entries) if e["etag"] is not None}
        final_etag = md5(final) if final is not None else None
        unlinks = [o for o in rec.side_ops("mount", k) if o["op"] == "unlink"]

        # Every awscli write is at its path at the end, or was replaced in S3 by
        # a later awscli operation, or by the mount after the mount had seen it.
        # For the S3 side's last write only the latter two are accepted by the
        # acceptance text; for earlier ones a blind replacement is still a lost
        # update and is reported the same way.
        s3_ops = rec.side_ops("s3", k)
        for n, o in enumerate(s3_ops):
            if o["op"] != "put":
                continue
            x = o["etag"]
            is_last = n == len(s3_ops) - 1
            label = "the last awscli write" if is_last else "an earlier awscli write"
            if is_last:
                self.stats["s3 last: put"] += 1
            if x not in idx:
                problems.append("%s: %s %s is not in the bucket's history" % (
                    k, label, self.name_of(x)))
                continue
            succs = self.neighbours(entries, idx[x], after=True)
            if not succs:  # the current version: the mount must show it
                self.stats["s3 put: current at the end"] += 1
                if final_etag != x:
                    problems.append("%s: %s %s is the current version in S3 but the mount "
                                    "shows %s" % (k, label, self.name_of(x),
                                                  self.name_of(final_etag)))
                continue
            s3_deletes_next = not is_last and s3_ops[n + 1]["op"] == "delete"
            ok = False
            for s in succs:
                if s["etag"] is None:
                    # A delete marker: the S3 side's own if it deleted next.
                    ok |= s3_deletes_next or any(x in u["seen"] for u in unlinks)
                else:
                    w = rec.by_etag.get(s["etag"])
                    ok |= w is not None and (w["side"] == "s3" or x in w["seen"])
                    if w is not None and w["side"] == "mount" and x in w["seen"]:
                        self.stats["s3 put: overwritten by a mount write that saw it"] += 1
            if not ok:
                s = succs[-1]
                w = rec.by_etag.get(s["etag"]) if s["etag"] else None
                if (w is not None and w["side"] == "mount"
                        and 0 <= s["t"] - entries[idx[x]]["t"] <= HEAD_PUT_WINDOW):
                    self.stats["s3 put: overwritten inside the HEAD-to-PUT window"] += 1
                    print("%s: %s overwritten by %s %.3f s later, inside the export's "
                          "HEAD-to-PUT window (no conditional PUT on this server)" % (
                              k, self.name_of(x), self.name_of(s["etag"]),
                              s["t"] - entries[idx[x]]["t"]), flush=True)
                    continue
                how = ("deleted it" if s["etag"] is None
                       else "overwrote it with %s" % self.name_of(s["etag"]))
                problems.append("%s: LOST UPDATE: %s %s was replaced in S3 by the mount, "
                                "which never saw it (the mount %s)" % (
                                    k, label, self.name_of(x), how))

        # The mount's last write: at its path, in lost+found, or in S3 and then
        # replaced there by the S3 side (no later mount operation on the key).
        m_ops = [o for o in rec.side_ops("mount", k) if o["op"] in ("write", "unlink")]
        self.stats["mount versions in S3"] += sum(
            1 for e in entries
            if e["etag"] and rec.by_etag.get(e["etag"], {}).get("side") == "mount")
        if m_ops and m_ops[-1]["op"] == "write":
            mm = m_ops[-1]["etag"]
            if final_etag == mm:
                self.stats["mount last write: at its path"] += 1
            elif mm in lf_etags:
                self.stats["mount last write: in lost+found"] += 1
            elif mm in idx and self.neighbours(entries, idx[mm], after=True):
                self.stats["mount last write: reached S3, then replaced by awscli"] += 1
            else:
                problems.append("%s: LOST: the mount's last write %s is not at its path "
                                "(which shows %s), not in lost+found, and %s" % (
                                    k, self.name_of(mm), self.name_of(final_etag),
                                    "is the current version in S3" if mm in idx
                                    else "never reached S3"))
        return problems

    def name_of(self, etag):
        if etag is None:
            return "(absent)"
        o = self.rec.by_etag.get(etag)
        if not o:
            return "unknown bytes (ETag %s)" % etag
        return "%s:step:%d" % (o["side"], o["step"])

    def explain(self, problems, history):
        """The record and the S3 history of every key named in a problem."""
        lines = []
        for k in KEYS:
            if not any(p.startswith(k + ":") for p in problems):
                continue
            lines.append("== %s" % k)
            for o in self.rec.ops:
                if o["key"] != k:
                    continue
                extra = ""
                if "done" in o:
                    extra = " (done at t=%.3f)" % o["done"]
                if o["seen"] is not None:
                    extra = " seen=%s" % sorted(self.name_of(s) for s in o["seen"])
                lines.append("  t=%7.3f %s:step:%d %s%s" % (o["t"], o["side"], o["step"], o["op"],
                                                             extra))
            lines.append("  S3 history (oldest first):")
            for e in history.get(k, []):
                lines.append("    t=%7.3f %s%s" % (
                    e["t"] - self.rec.t0, "delete marker" if e["etag"] is None
                    else self.name_of(e["etag"]), " (latest)" if e["latest"] else ""))
        return "\n".join(lines)


class ReconcilerMixTest(MixedSyncBase):
    """Changes made in S3 reach the mount by re-listing (every second)."""

    def test_random_mix(self):
        self.run_mix()


class EventsMixTest(MixedSyncBase):
    """Changes made in S3 reach the mount by event notifications, with a slow
    re-list (10 s) as the backstop."""

    EVENTS = True
    REFRESH = "10"
    SEED_OFFSET = 1

    def test_random_mix(self):
        self.run_mix()


class HoldingProxy:
    """An HTTP proxy in front of the S3 server that can hold one request: before
    forwarding it, or after the server answered (the change is made in S3, the
    client does not know yet). SigV4 signs the Host header, which is forwarded
    unchanged, so the server accepts the requests."""

    HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te",
           "trailer", "upgrade", "expect"}

    class Hold:
        def __init__(self, when):
            self.when = when
            self.arrived = threading.Event()  # "after": set once the server answered
            self.release = threading.Event()

    def __init__(self, upstream):
        u = urllib.parse.urlparse(upstream)
        up = (u.hostname, u.port)
        self.holds = {}
        lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def forward(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else None
                with lock:
                    hold = proxy.holds.pop((self.command, urllib.parse.urlsplit(self.path).path),
                                           None)
                if hold and hold.when == "before":
                    hold.arrived.set()
                    hold.release.wait(30)
                c = http.client.HTTPConnection(*up, timeout=60)
                c.request(self.command, self.path, body=body, headers={
                    k: v for k, v in self.headers.items() if k.lower() not in proxy.HOP})
                r = c.getresponse()
                data = r.read()
                c.close()
                if hold and hold.when == "after":
                    hold.arrived.set()
                    hold.release.wait(30)
                self.send_response_only(r.status, r.reason)
                for k, v in r.getheaders():
                    # A HEAD answer keeps the object's Content-Length.
                    if k.lower() not in proxy.HOP and (k.lower() != "content-length"
                                                       or self.command == "HEAD"):
                        self.send_header(k, v)
                if self.command != "HEAD":
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = forward

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        self.srv = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        self.endpoint = "http://127.0.0.1:%d" % self.srv.server_address[1]

    def hold(self, method, path, when):
        h = self.Hold(when)
        self.holds[(method, path)] = h
        return h

    def stop(self):
        for h in list(self.holds.values()):
            h.release.set()
        self.srv.shutdown()
        self.srv.server_close()


class ExportRaceTest(harness.FuseTestCase):
    """Deterministic reproductions of what the random test found, with a proxy
    that holds the export of one file in flight while the re-list runs.

    Fixed bug (both tests): FileSystem::PrepareExport (core/export_target.cc)
    returned the job of a small file (below 16 MiB, all of it cached, so its
    bytes are inlined) before it set ExportState::kExporting. The re-list skips
    conflict checks only for files in kExporting, so it treated a file whose
    export was in flight like any dirty file. What the tests guard against:
      * test_conflict_found_while_exporting_moves_once: S3 changes during the
        export; the re-list moves the file to lost+found, then the export finds
        the same conflict and moves it again (CompleteExport): the file ends up
        as .stagefs-lost+found/<id>_<id>_<name>, its user.stagefs.status names
        its first lost+found path instead of the original one (FilePath and
        S3Key), the audit log has two entries and stagefs_lost_and_found_files
        counts it twice. The bytes are kept; where they came from is lost.
      * test_own_export_is_not_a_conflict: the export's PUT is committed but its
        answer not yet processed when the re-list sees the new ETag; the re-list
        calls it "Conflict: the object was changed in S3" and moves the file to
        lost+found; then the export completes and gives that lost+found file the
        key back (ExportState clean). Removing it from lost+found, as a user
        cleaning up conflicts would, deletes the object from S3: the data is
        gone from the bucket and the mount.
    """

    only_servers = ("rgw",)

    def start(self):
        self.b = self.bucket("race")
        self.aws.put(self.b, "a/k2", data=b"base\n")
        self.proxy = HoldingProxy(self.server.endpoint)
        self.addCleanup(self.proxy.stop)
        s = self.server
        via = harness.Server(s.name, self.proxy.endpoint, s.access_key, s.secret_key, s.region)
        self.m = harness.Mount(via, self.b, args=["--export-delay", "1",
                                                  "--refresh-interval", "1"])
        self._mounts.append(self.m)
        self.m.start()
        with open(self.m.path("a/k2"), "rb") as f:
            self.assertEqual(f.read(), b"base\n")
        self.key_path = "/%s/a/k2" % self.b

    def write_mine_and_hold(self, method, when):
        """Mounts, writes MINE over a/k2, and returns the proxy's hold on the
        export's `method` request to it (`when`: "before" or "after" S3 got it)."""
        self.start()
        with open(self.m.path("a/k2"), "wb") as f:
            f.write(b"MINE\n")
        hold = self.proxy.hold(method, self.key_path, when)
        self.assertTrue(hold.arrived.wait(15), "the export did not start")
        return hold

    def release_and_settle(self, hold):
        hold.release.set()
        self.assertTrue(harness.wait_for(lambda: self.m.status()["pending_exports"] == 0, 10))

    def test_conflict_found_while_exporting_moves_once(self):
        # The export's check before its PUT waits in the proxy...
        hold = self.write_mine_and_hold("HEAD", "before")
        # ...while the object changes in S3 and the re-list (every second) runs.
        self.aws.put(self.b, "a/k2", data=b"THEIRS\n")
        harness.wait_for(self.m.lost_found, 3)
        self.release_and_settle(hold)
        self.assertTrue(harness.wait_for(self.m.lost_found, 5))
        time.sleep(0.5)
        names = self.m.lost_found()
        self.assertEqual(len(names), 1, names)
        st = self.m.file_status(os.path.join(LF, names[0]))
        self.assertEqual((names[0].count("_"), st["FilePath"], st["S3Key"]),
                         (1, "/a/k2", "s3://%s/a/k2" % self.b),
                         "moved to lost+found twice: %r" % st)
        with open(self.m.path(LF, names[0]), "rb") as f:
            self.assertEqual(f.read(), b"MINE\n")
        self.assertEqual(self.m.metrics().sum("stagefs_lost_and_found_files"), 1)

    def test_own_export_is_not_a_conflict(self):
        # The export's PUT reaches S3; its answer waits in the proxy while the
        # re-list sees the new ETag.
        hold = self.write_mine_and_hold("PUT", "after")
        harness.wait_for(self.m.lost_found, 3)
        self.release_and_settle(hold)
        moved = self.m.lost_found()
        # A user empties lost+found: that must change nothing in S3.
        for n in moved:
            os.unlink(self.m.path(LF, n))
        p = subprocess.run([harness.stagefs_bin(), "sync", self.m.mnt], capture_output=True,
                           text=True, timeout=60)
        self.assertIn("a/k2", self.aws.list_keys(self.b),
                      "removing %s from lost+found deleted the mount's own export from S3 "
                      "(sync: %s)" % (moved, p.stderr.strip()))
        self.assertEqual(self.aws.get_bytes(self.b, "a/k2"), b"MINE\n")
        self.assertEqual(moved, [], "the mount's own export was taken for a conflict")


if __name__ == "__main__":
    unittest.main()
