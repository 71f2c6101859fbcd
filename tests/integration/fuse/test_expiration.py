"""Expiration of cached data through a real mount, with a short window.

The mount takes a TOML --config with expiration = "3s" (a finer unit than the
design's days, for tests), refresh-interval = 1 and a long export delay. The
user.stagefs.status xattr shows ResidentBytes (what the data cache holds of
the file); the cache dir's data files and the stagefs_cache_bytes metric show
the total. Checked:

  * clean files, read once (or imported on listing), are evicted once they have
    not been read for the window: not before it, and within it plus the
    expirer's sweep period (1 s) plus slack;
  * dirty (unexported) files are never evicted, even past the window and above
    the capacity watermark, and keep their bytes; once exported they expire;
  * a read after eviction returns the current S3 bytes, also when the object
    was overwritten with awscli after the eviction (never the old bytes, never
    a mix; a read right after the overwrite may fail with EIO, the next open
    then sees the new object);
  * each read resets the clock;
  * `stagefs config put` changes the window at runtime;
  * the capacity watermark (cache-size): FileSystem::EnforceWatermark runs at
    the end of every fetch into the cache (inside the read that fetched) and
    the background sweep runs every second. It evicts whole files, least
    recently read first, but never dirty or open ones. So when a read of a
    file no larger than one block (1 MiB) returns, the cache holds at most
    cache-size bytes plus that block; a file bigger than the watermark, read
    at random offsets, stays cached while it is open, and within the sweep
    period after its close the cache is back under the watermark.
"""

import json
import os
import random
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

MiB = harness.MiB
WINDOW = 3.0  # seconds, the expiration in the config
SWEEP = 1.0   # the background loop expires once per second (core/background.cc)
SLACK = 1.5   # scheduling on a busy 2-core machine


def read(path):
    harness.evict_page_cache(path)  # so the read reaches stagefs (and resets its clock)
    with open(path, "rb") as f:
        return f.read()


def body(tag, size):
    tag = tag.encode() + b"|"
    return (tag * (size // len(tag) + 1))[:size]


class ExpirationBase(harness.FuseTestCase):
    only_servers = ("rgw",)

    def start(self, objects, expiration="3s", cache_size=64 * MiB, extra=()):
        self.b = self.bucket("exp")
        for k, err in self.aws.put_many(self.b, objects).items():
            self.assertIsNone(err, k)
        fd, self.config = tempfile.mkstemp(prefix="stagefs-exp-", suffix=".toml")
        with os.fdopen(fd, "w") as f:
            f.write('expiration = "%s"\ncache-size = %d\nexport-delay = 3600\n'
                    'refresh-interval = 1\n' % (expiration, cache_size))
        self.addCleanup(os.unlink, self.config)
        self.m = self.mount(self.b, args=["--config", self.config] + list(extra))
        cfg = self.config_get()
        self.assertEqual(cfg["expiration"]["daysAfterLastAccess"], expiration)
        return self.m

    def config_get(self):
        p = subprocess.run([harness.stagefs_bin(), "config", "get", self.m.mnt],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout)

    def resident(self, rel):
        return int(self.m.file_status(rel)["ResidentBytes"])

    def cache_data_bytes(self):
        """Allocated bytes of the cache's data files (du-style: st_blocks)."""
        total = 0
        for root, _, files in os.walk(os.path.join(self.m.cache, "data")):
            for f in files:
                try:
                    total += os.lstat(os.path.join(root, f)).st_blocks * 512
                except FileNotFoundError:
                    pass
        return total

    def cache_metric(self):
        return self.m.metrics().sum("stagefs_cache_bytes")

    def wait_evicted(self, rel, timeout):
        t0 = time.monotonic()
        ok = harness.wait_for(lambda: self.resident(rel) == 0, timeout, interval=0.1)
        self.assertTrue(ok, "%s still holds %d bytes after %.1f s" % (
            rel, self.resident(rel), time.monotonic() - t0))


class ExpirationTest(ExpirationBase):
    def test_clean_files_expire_after_the_window(self):
        small, big = body("small", 20 * 1024), body("big", 300 * 1024)
        self.start({"d/small": small, "d/big": big})
        # The small file is imported when its directory is listed; the big one
        # becomes resident when read.
        self.assertEqual(sorted(os.listdir(self.m.path("d"))), ["big", "small"])
        self.assertEqual(read(self.m.path("d/big")), big)
        t_read = time.monotonic()
        self.assertTrue(harness.wait_for(lambda: self.resident("d/small") == len(small), 5))
        self.assertEqual(self.resident("d/big"), len(big))
        self.assertGreaterEqual(self.cache_data_bytes(), len(big) + len(small))
        evictions0 = self.m.metrics().sum("stagefs_cache_evictions_total")
        # Not before the window...
        while time.monotonic() - t_read < WINDOW - 0.5:
            self.assertEqual(self.resident("d/big"), len(big),
                             "evicted %.1f s after the read" % (time.monotonic() - t_read))
            time.sleep(0.2)
        # ...but within it plus one sweep.
        self.wait_evicted("d/big", t_read + WINDOW + SWEEP + SLACK - time.monotonic())
        self.wait_evicted("d/small", 2)
        print("evicted %.1f s after the read (window %.0f s)" % (
            time.monotonic() - t_read, WINDOW))
        self.assertEqual(self.cache_data_bytes(), 0)
        self.assertEqual(self.cache_metric(), 0)
        self.assertEqual(self.m.metrics().sum("stagefs_cache_evictions_total") - evictions0, 2)
        # Eviction only drops the local copy: the bytes come back from S3.
        self.assertEqual(read(self.m.path("d/big")), big)
        self.assertEqual(read(self.m.path("d/small")), small)
        self.assertEqual(self.resident("d/big"), len(big))

    def test_read_after_eviction_returns_the_current_s3_bytes(self):
        old_same, new_same = body("old-same", 200 * 1024), body("NEW-SAME", 200 * 1024)
        old_size, new_size = body("old-size", 400 * 1024), body("new-size-shorter", 150 * 1024)
        self.start({"d/same": old_same, "d/size": old_size})
        for k, data in (("d/same", old_same), ("d/size", old_size)):
            self.assertEqual(read(self.m.path(k)), data)
        for k in ("d/same", "d/size"):
            self.wait_evicted(k, WINDOW + SWEEP + SLACK + 1)
        self.aws.put(self.b, "d/same", data=new_same)
        self.aws.put(self.b, "d/size", data=new_size)
        # At once: the new bytes, or EIO from the read pinned to the old ETag;
        # never the old bytes (they are gone from the cache) nor a mix.
        try:
            got = read(self.m.path("d/same"))
            self.assertEqual(got, new_same)
        except OSError as e:
            print("read right after the overwrite: %s (allowed)" % e)
        # After the refresh interval the open revalidates: the new object.
        time.sleep(1.2)
        self.assertEqual(read(self.m.path("d/same")), new_same)
        self.assertEqual(read(self.m.path("d/size")), new_size)
        self.assertEqual(os.stat(self.m.path("d/size")).st_size, len(new_size))
        self.assertEqual(self.resident("d/size"), len(new_size))

    def test_a_read_resets_the_clock(self):
        data = body("kept", 256 * 1024)
        self.start({"d/f": data})
        self.assertEqual(read(self.m.path("d/f")), data)
        t_end = time.monotonic() + WINDOW + 2
        while time.monotonic() < t_end:  # reads 1.5 s apart: never idle for the window
            time.sleep(1.5)
            self.assertEqual(self.resident("d/f"), len(data))
            self.assertEqual(read(self.m.path("d/f")), data)
        t_last = time.monotonic()
        self.wait_evicted("d/f", WINDOW + SWEEP + SLACK)
        self.assertGreaterEqual(time.monotonic() - t_last, WINDOW - 0.5)

    def test_dirty_files_are_never_evicted(self):
        # A watermark below the dirty bytes: neither the window nor the
        # watermark may touch them.
        self.start({"d/clean": body("clean", 100 * 1024)}, cache_size=1 * MiB)
        self.assertEqual(read(self.m.path("d/clean")), body("clean", 100 * 1024))
        dirty = {"d/new%d" % i: body("dirty-%d" % i, 700 * 1024) for i in range(3)}
        for k, data in dirty.items():
            with open(self.m.path(k), "wb") as f:
                f.write(data)
        # An existing file (read, so all of it is cached) modified in place is
        # dirty as well.
        with open(self.m.path("d/clean"), "r+b") as f:
            f.seek(10)
            f.write(b"LOCAL CHANGE")
        changed = bytearray(body("clean", 100 * 1024))
        changed[10:22] = b"LOCAL CHANGE"
        dirty["d/clean"] = bytes(changed)
        t0 = time.monotonic()
        while time.monotonic() - t0 < WINDOW + SWEEP + SLACK:
            time.sleep(0.5)
            for k, data in dirty.items():
                self.assertEqual(self.resident(k), len(data), k)
        total = sum(len(d) for d in dirty.values())
        self.assertGreaterEqual(self.cache_metric(), total)
        self.assertGreaterEqual(self.cache_data_bytes(), total)
        for k, data in dirty.items():
            self.assertEqual(self.m.file_status(k)["ExportState"], "pending", k)
            self.assertEqual(read(self.m.path(k)), data, k)
        self.assertEqual(self.aws.list_keys(self.b), ["d/clean"])  # nothing exported
        # Once exported they are clean and expire like any other file.
        p = subprocess.run([harness.stagefs_bin(), "sync", self.m.mnt], capture_output=True,
                           text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        t_sync = time.monotonic()
        for k in dirty:
            self.wait_evicted(k, WINDOW + SWEEP + SLACK)
        print("exported files evicted %.1f s after the sync" % (time.monotonic() - t_sync))
        for k, data in dirty.items():
            self.assertEqual(self.aws.get_bytes(self.b, k), data, k)
            self.assertEqual(read(self.m.path(k)), data, k)

    def test_config_put_changes_the_window(self):
        data = body("f", 200 * 1024)
        self.start({"d/f": data}, expiration="3600s")
        self.assertEqual(read(self.m.path("d/f")), data)
        time.sleep(SWEEP + 0.5)
        self.assertEqual(self.resident("d/f"), len(data))
        cfg = self.config_get()
        version = cfg.pop("version")
        cfg["expiration"]["daysAfterLastAccess"] = "2s"
        fd, path = tempfile.mkstemp(prefix="stagefs-sync-", suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(cfg, f)
        self.addCleanup(os.unlink, path)
        p = subprocess.run([harness.stagefs_bin(), "config", "put", self.m.mnt, path,
                            "--version", str(version)], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.config_get()["expiration"]["daysAfterLastAccess"], "2s")
        self.wait_evicted("d/f", SWEEP + SLACK)  # last read already more than 2 s ago


class WatermarkTest(ExpirationBase):
    CACHE = 4 * MiB

    def test_fill_loop_stays_under_the_watermark(self):
        files = {"d/f%02d" % i: body("file-%d" % i, MiB) for i in range(14)}
        files["d/big"] = body("big", 6 * MiB)
        # A window long enough that only the watermark evicts.
        self.start(files, expiration="3600s", cache_size=self.CACHE)
        names = sorted(k for k in files if k != "d/big")
        rng = random.Random(7)
        order = names + [rng.choice(names) for _ in range(16)]
        worst = (0, 0)
        for n, k in enumerate(order):
            if n == len(names):  # one pass over distinct files, each one a miss
                evicted = self.m.metrics().sum("stagefs_cache_evictions_total")
                self.assertGreaterEqual(evicted, len(names) - self.CACHE // MiB)
            self.assertEqual(read(self.m.path(k)), files[k], k)
            # Least recently read goes first: never the file just read.
            self.assertEqual(self.resident(k), MiB, k)
            # Sampled after the read returned: at most cache-size + one block.
            metric, du = self.cache_metric(), self.cache_data_bytes()
            worst = max(worst, (metric, du))
            self.assertLessEqual(metric, self.CACHE + MiB, "after reading %s" % k)
            self.assertLessEqual(du, self.CACHE + MiB, "after reading %s" % k)
            self.assertGreater(metric, 0)
        print("watermark %d MiB: %d reads of 1 MiB files, cache at most %.2f MiB "
              "(metric), %.2f MiB (data files)" % (self.CACHE // MiB, len(order),
                                                   worst[0] / MiB, worst[1] / MiB))

        # A file larger than the watermark, read at random offsets, is held
        # while it is open, and is evicted by the sweep after its close.
        big = files["d/big"]
        harness.evict_page_cache(self.m.path("d/big"))
        fd = os.open(self.m.path("d/big"), os.O_RDONLY)
        # No kernel read-ahead: stagefs sees 4 KiB reads, far from its
        # streaming threshold, so every block goes through the block cache.
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
        try:
            for off in rng.sample(range(0, len(big), 256 * 1024), len(big) // (256 * 1024)):
                self.assertEqual(os.pread(fd, 4096, off), big[off:off + 4096])
            held = self.resident("d/big")
            self.assertGreater(held, self.CACHE, "an open file is not evicted")
        finally:
            os.close(fd)
        t_close = time.monotonic()
        ok = harness.wait_for(lambda: self.cache_metric() <= self.CACHE, SWEEP + SLACK)
        self.assertTrue(ok, "cache at %d bytes %.1f s after the close" % (
            self.cache_metric(), time.monotonic() - t_close))
        print("big file: %.1f MiB cached while open, under the watermark %.2f s after close" % (
            held / MiB, time.monotonic() - t_close))
        self.assertLessEqual(self.cache_data_bytes(), self.CACHE + MiB)


if __name__ == "__main__":
    unittest.main()
