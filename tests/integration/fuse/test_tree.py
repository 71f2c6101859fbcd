"""A tree built with awscli is shown exactly through the mount (acceptance 1),
and a second full stat pass costs no S3 request (acceptance 2).

The bucket and its tree are built once per class (uploading is the slow part);
every test mounts it afresh with its own cache dir.
"""

import hashlib
import os
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from harness import MiB  # noqa: E402

# Plain files, uploaded with one `aws s3 sync`.
SIZES = {
    "sizes/empty": 0,
    "sizes/one": 1,
    "sizes/f4095": 4095,
    "sizes/f131071": 131071,
    "sizes/f131072": 131072,
    "sizes/f5mib+1": 5 * MiB + 1,
    "top.txt": 10,
    "d1/d2/mid.txt": 100,
    "d1/d2/d3/d4/d5/deep.txt": 1000,
    "names/with space.txt": 11,
    "names/dir with space/inner file": 12,
    "names/unicodé ü/日本語.txt": 13,
    "names/plus+sign.txt": 14,
    "names/percent%41%.txt": 15,
    "names/hash#tag.txt": 16,
    "names/mix +%# é.txt": 17,
}

AWS_META = {"file-owner": "1234", "file-group": "5678", "file-permissions": "0100640",
            "file-mtime": "1700000000123456789ns"}
S3FS_META = {"mode": str(0o100600), "uid": "4321", "gid": "8765", "mtime": "1600000000"}
MARKER_META = {"file-owner": "42", "file-group": "43", "file-permissions": "040750",
               "file-mtime": "1650000000987654321ns"}


def component_ok(c):
    return c not in ("", ".", "..") and len(c.encode()) <= 255 and "\0" not in c


def component_ok_all(key):
    return all(component_ok(c) for c in key.rstrip("/").split("/"))


class TreeBase(harness.FuseTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tree_bucket = cls.aws.create_bucket("tree")
        cls.addClassCleanup(cls.aws.delete_bucket, cls.tree_bucket)
        cls._build_tree()

    @classmethod
    def _build_tree(cls):
        b = cls.tree_bucket
        cls.content = {}  # valid file path -> sha256 hex
        with tempfile.TemporaryDirectory(prefix="stagefs-tree-") as d:
            for rel, size in SIZES.items():
                p = os.path.join(d, rel)
                os.makedirs(os.path.dirname(p), exist_ok=True)
                with open(p, "wb") as f:
                    f.write(os.urandom(size))
                cls.content[rel] = harness.sha256_file(p)
            cls.aws.sync_dir(d, b)
        puts = {
            "meta/aws.bin": (b"aws metadata\n", AWS_META),
            "meta/s3fs.bin": (b"s3fs metadata\n", S3FS_META),
            "meta/plain.bin": (b"no metadata\n", None),
            "meta/markdir/": (b"", MARKER_META),
            "meta/markdir/child.txt": (b"child\n", None),
            "emptydir/": (b"", None),
            "shadow": (b"i am shadowed\n", None),
            "shadow/child": (b"shadow child\n", None),
            "a//b": (b"empty component\n", None),
            "x/./y": (b"dot\n", None),
            "x/../y": (b"dotdot\n", None),
        }
        if cls.server.is_rgw:  # s3rver crashes on components near 255 bytes
            puts["long/" + "L" * 256] = (b"too long\n", None)
            puts["long/" + "M" * 255] = (b"just fits\n", None)
        for key, err in cls.aws.put_many(b, puts).items():
            if err and component_ok_all(key):  # s3rver answers 404 to "a//b"
                raise err
        cls.keys = cls.aws.list_keys(b)
        # s3rver leaves out common prefixes such as "d1/" when no key sits one
        # level below: expect there what a delimiter walk reaches.
        cls.visible_keys = cls.keys if cls.server.is_rgw else cls.aws.list_delimited(b)
        cls.unlisted_keys = sorted(set(cls.keys) - set(cls.visible_keys))
        # s3rver stores "x/./y" as "x/y" and "x/../y" as "y", and refuses "a//b".
        cls.missing_keys = sorted(set(puts) - set(cls.keys))
        cls.expect_files, cls.expect_dirs, cls.optional_dirs, cls.bad_keys = cls._expect(cls.visible_keys)
        for key, (data, _) in puts.items():
            if key in cls.expect_files:
                cls.content[key] = hashlib.sha256(data).hexdigest()
        for key in cls.expect_files - set(cls.content):  # "x/y" from s3rver's "x/./y"
            cls.content[key] = hashlib.sha256(cls.aws.get_bytes(b, key)).hexdigest()

    @staticmethod
    def _expect(keys):
        """From the server's key list: visible files, required dirs, dirs that may
        show up empty (valid leading components of hidden keys), hidden keys."""
        files, dirs, optional, bad = set(), set(), set(), set()
        for k in keys:
            parts = k.split("/")
            is_marker = k.endswith("/")
            comps = parts[:-1] if is_marker else parts
            if not all(component_ok(c) for c in comps):
                bad.add(k)
                for i, c in enumerate(comps):
                    if not component_ok(c):
                        break
                    if i + 1 < len(comps):
                        optional.add("/".join(comps[:i + 1]))
                continue
            for i in range(1, len(comps)):
                dirs.add("/".join(comps[:i]))
            if is_marker:
                dirs.add("/".join(comps))
            else:
                files.add(k)
        for f in list(files):  # a file key shadowed by a directory of the same name
            if f in dirs:
                files.discard(f)
                bad.add(f)
        return files, dirs, optional - dirs, bad

    def walk(self, m):
        files, dirs = set(), set()
        for root, ds, fs in os.walk(m.mnt):
            rel = os.path.relpath(root, m.mnt)
            pre = "" if rel == "." else rel + "/"
            dirs.update(pre + d for d in ds)
            files.update(pre + f for f in fs)
        return files, dirs

    def stat_all(self, m):
        n = 0
        for root, ds, fs in os.walk(m.mnt):
            for name in ds + fs:
                os.lstat(os.path.join(root, name))
                n += 1
        return n


class TreeTest(TreeBase):
    def test_names_match_key_list(self):
        if self.unlisted_keys:
            print("note: %s's delimiter listing does not reach %r" % (
                self.server.name, self.unlisted_keys))
        m = self.mount(self.tree_bucket)
        files, dirs = self.walk(m)
        self.assertEqual(sorted(files), sorted(self.expect_files))
        self.assertTrue(self.expect_dirs <= dirs, "missing dirs: %s" % (self.expect_dirs - dirs))
        self.assertEqual(dirs - self.expect_dirs - self.optional_dirs, set(), "unexpected dirs")
        for d in dirs - self.expect_dirs:  # leading components of hidden keys only
            self.assertEqual(os.listdir(m.path(d)), [], d)
        self.assertEqual(os.listdir(m.path("emptydir")), [])
        self.assertEqual(os.listdir(m.path("shadow")), ["child"])

    def test_content_sha256(self):
        m = self.mount(self.tree_bucket)
        for rel in sorted(self.expect_files):
            with self.subTest(rel):
                self.assertEqual(harness.sha256_file(m.path(rel)), self.content[rel])
                self.assertEqual(os.stat(m.path(rel)).st_size,
                                 SIZES.get(rel, os.stat(m.path(rel)).st_size))

    def test_posix_attributes(self):
        m = self.mount(self.tree_bucket)
        st = os.stat(m.path("meta/aws.bin"))
        self.assertEqual((oct(st.st_mode), st.st_uid, st.st_gid, st.st_mtime_ns),
                         (oct(0o100640), 1234, 5678, 1700000000123456789))
        st = os.stat(m.path("meta/s3fs.bin"))
        self.assertEqual((oct(st.st_mode), st.st_uid, st.st_gid, st.st_mtime_ns),
                         (oct(0o100600), 4321, 8765, 1600000000 * 10**9))
        st = os.stat(m.path("meta/markdir"))
        self.assertEqual((oct(st.st_mode), st.st_uid, st.st_gid, st.st_mtime_ns),
                         (oct(0o40750), 42, 43, 1650000000987654321))
        # No metadata: the mount's defaults, mtime from Last-Modified.
        st = os.stat(m.path("meta/plain.bin"))
        self.assertEqual((oct(st.st_mode), st.st_uid, st.st_gid),
                         (oct(0o100644), os.getuid(), os.getgid()))
        head = self.aws.head(self.tree_bucket, "meta/plain.bin")
        lm = harness.parse_time(head["LastModified"])
        self.assertLess(abs(st.st_mtime - lm), 1.0, (st.st_mtime, head["LastModified"]))
        for d in ("d1", "d1/d2/d3/d4/d5", "names/unicodé ü", "emptydir"):
            if d not in self.expect_dirs:
                continue  # s3rver does not list d1/
            self.assertEqual(oct(os.stat(m.path(d)).st_mode), oct(0o40755), d)

    def test_unrepresentable_keys_hidden_and_reported(self):
        if self.missing_keys:
            print("note: the server normalised these keys away: %r" % self.missing_keys)
        self.assertIn("shadow", self.bad_keys, self.keys)
        if self.server.is_rgw:
            self.assertTrue({"a//b", "x/./y", "x/../y", "long/" + "L" * 256} <= self.bad_keys)
        m = self.mount(self.tree_bucket)
        files, dirs = self.walk(m)
        self.assertEqual(files & self.bad_keys, set())
        failures = m.status()["import_failures"]
        reported = [f["key"] for f in failures]

        def covered(k):  # a failure names the key or the prefix that hides it
            return any(k == r or (r.endswith("/") and k.startswith(r)) for r in reported)
        for k in sorted(self.bad_keys):
            with self.subTest(k[:60]):
                self.assertTrue(covered(k), "%r not in import_failures %r" % (k, failures))
        self.assertEqual(len(failures), len(self.bad_keys), failures)
        self.assertEqual(m.status()["import_failures_count"], len(self.bad_keys))
        self.assertEqual(m.metrics().sum("stagefs_import_failures_total"), len(self.bad_keys))
        # Visiting again does not count them twice.
        self.walk(m)
        self.assertEqual(m.metrics().sum("stagefs_import_failures_total"), len(self.bad_keys))

    def test_second_stat_pass_makes_no_s3_request(self):
        # A long refresh interval, so no periodic re-list lands inside the window.
        m = self.mount(self.tree_bucket, args=["--refresh-interval", "600"])
        n = self.stat_all(m)
        m.wait_idle()
        before = m.metrics()
        srv_before = self.server.rgw_request_count()
        self.assertEqual(self.stat_all(m), n)  # kernel caches warm
        harness.drop_kernel_caches(2)         # now every lookup reaches stagefs
        self.assertEqual(self.stat_all(m), n)
        os.listdir(m.path("names/unicodé ü"))
        srv_after = self.server.rgw_request_count()
        after = m.metrics()
        self.assertEqual(after.s3() - before.s3(), 0,
                         "S3 requests during the second pass: before %r after %r" % (
                             before.s3_by_op(), after.s3_by_op()))
        if srv_before is None:
            print("note: no server-side request count on %s; client counters only"
                  % self.server.name)
        elif srv_after != srv_before:
            # RGW counts every client's requests; other tests may run in parallel.
            print("note: RGW served %d requests during the pass (other clients?)"
                  % (srv_after - srv_before))
        else:
            print("RGW server-side cross-check: 0 requests during the second pass")


if __name__ == "__main__":
    unittest.main()
