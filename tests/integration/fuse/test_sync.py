"""Two-way sync against a real server: changes made with awscli become visible
through the re-list and through S3 event notifications, and conflicts follow
"S3 wins, nothing is lost" (the local copy goes to /.stagefs-lost+found with
its status xattr, an audit-log line and the metric).
"""

import errno
import json
import os
import sys
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

LF = ".stagefs-lost+found"


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


class SyncTestBase(harness.FuseTestCase):
    only_servers = ("rgw",)

    def start(self, refresh="3600", events=True):
        self.b = self.bucket("sync")
        for k, err in self.aws.put_many(self.b, {"d/f": b"v1\n", "d/g": b"g1\n"}).items():
            self.assertIsNone(err, k)
        self.events_port = harness.free_port()
        args = ["--refresh-interval", refresh, "--export-delay", "3600"]
        if events:
            args += ["--events-addr", "127.0.0.1:%d" % self.events_port]
        self.m = self.mount(self.b, args=args)
        self.assertEqual(sorted(os.listdir(self.m.path("d"))), ["f", "g"])
        self.assertEqual(read(self.m.path("d/f")), b"v1\n")
        self.m.wait_idle()

    def post(self, body):
        req = urllib.request.Request("http://127.0.0.1:%d/" % self.events_port,
                                     data=body.encode(), method="POST")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    def event(self, name, key):
        rec = {"eventName": name, "s3": {"bucket": {"name": self.b}, "object": {"key": key}}}
        self.assertEqual(self.post(json.dumps({"Records": [rec]})), 200)

    def lost_found(self):
        return self.m.lost_found()


class ChangesFromS3Test(SyncTestBase):
    def test_relist_shows_new_changed_and_deleted_keys(self):
        self.start(refresh="1")
        self.aws.put(self.b, "d/new", data=b"new\n")
        self.aws.put(self.b, "d/f", data=b"version two\n")
        self.aws.run("s3api", "delete-object", "--bucket", self.b, "--key", "d/g")
        t0 = time.monotonic()
        self.assertTrue(harness.wait_for(
            lambda: sorted(os.listdir(self.m.path("d"))) == ["f", "new"], 1 + 2),
            os.listdir(self.m.path("d")))
        print("re-list: visible after %.2f s" % (time.monotonic() - t0))
        self.assertEqual(read(self.m.path("d/f")), b"version two\n")
        m = self.m.metrics()
        self.assertGreaterEqual(m.sum("stagefs_s3_changes_applied_total"), 2)  # new, changed
        age = m.sum("stagefs_import_age_seconds")
        self.assertTrue(0 <= age < 1 + 2 + 5, age)  # interval + slack + clock skew

    def test_create_over_a_name_deleted_in_s3(self):
        # d has an unexported change (chmod), so no re-list replaces its
        # entries; open(O_CREAT) of a name whose object was deleted in S3 must
        # still create the file (open revalidation drops the name, ESTALE makes
        # the kernel look it up again).
        self.start(refresh="1")
        os.chmod(self.m.path("d"), 0o750)
        self.aws.run("s3api", "delete-object", "--bucket", self.b, "--key", "d/f")
        time.sleep(1.5)
        fd = os.open(self.m.path("d/f"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, b"recreated\n")
        os.close(fd)
        self.assertEqual(read(self.m.path("d/f")), b"recreated\n")
        self.assertEqual(self.lost_found(), [])

    def test_events_apply_within_a_second(self):
        self.start()
        self.aws.put(self.b, "d/new", data=b"new\n")
        self.aws.put(self.b, "d/f", data=b"version two\n")
        self.aws.run("s3api", "delete-object", "--bucket", self.b, "--key", "d/g")
        t0 = time.monotonic()
        self.event("ObjectCreated:Put", "d/new")
        self.event("ObjectCreated:Put", "d/f")
        self.event("ObjectRemoved:Delete", "d/g")
        self.assertTrue(harness.wait_for(
            lambda: sorted(os.listdir(self.m.path("d"))) == ["f", "new"], 1.0),
            os.listdir(self.m.path("d")))
        self.assertEqual(read(self.m.path("d/f")), b"version two\n")
        print("events: applied after %.2f s" % (time.monotonic() - t0))
        self.assertEqual(self.post("{not json"), 400)
        self.assertEqual(self.post('{"Records":[{"eventName":"ObjectCreated:Put"}]}'), 400)


class ConflictTest(SyncTestBase):
    def check_lost(self, origin, data, reason_word, key=None):
        names = self.lost_found()
        self.assertEqual(len(names), 1, names)
        self.assertTrue(names[0].endswith("_" + os.path.basename(origin)), names)
        lost = os.path.join(LF, names[0])
        self.assertEqual(read(self.m.path(lost)), data)
        st = self.m.file_status(lost)
        self.assertEqual(st["FilePath"], "/" + origin)
        # S3 deleted the object: the entry stands for no key (as in S3 Files).
        want_key = "" if reason_word == "deleted" else "s3://%s/%s" % (self.b, key or origin)
        self.assertEqual(st["S3Key"], want_key)
        self.assertIn(reason_word, st["ExportError"])
        with open(os.path.join(self.m.cache, "audit.log")) as f:
            entries = [json.loads(line) for line in f]
        self.assertEqual([e["path"] for e in entries], ["/" + origin])
        self.assertEqual(self.m.metrics().sum("stagefs_lost_and_found_files"), 1)
        # Nothing in lost+found is exported.
        self.assertFalse([k for k in self.aws.list_keys(self.b) if LF in k])

    def test_modify_vs_modify(self):
        self.start()
        write(self.m.path("d/f"), b"mine\n")
        self.aws.put(self.b, "d/f", data=b"theirs\n")
        self.event("ObjectCreated:Put", "d/f")
        self.assertTrue(harness.wait_for(lambda: self.lost_found(), 2))
        self.assertEqual(read(self.m.path("d/f")), b"theirs\n")
        self.check_lost("d/f", b"mine\n", "Conflict")
        self.assertEqual(self.aws.get_bytes(self.b, "d/f"), b"theirs\n")

    def test_modify_vs_delete(self):
        self.start()
        write(self.m.path("d/f"), b"mine\n")
        self.aws.run("s3api", "delete-object", "--bucket", self.b, "--key", "d/f")
        self.event("ObjectRemoved:Delete", "d/f")
        self.assertTrue(harness.wait_for(lambda: self.lost_found(), 2))
        self.assertFalse(os.path.exists(self.m.path("d/f")))
        self.check_lost("d/f", b"mine\n", "deleted")

    def test_delete_vs_modify(self):
        self.start()
        os.unlink(self.m.path("d/f"))
        self.aws.put(self.b, "d/f", data=b"theirs\n")
        p = harness.subprocess.run([harness.stagefs_bin(), "sync", self.m.mnt],
                                   capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.aws.get_bytes(self.b, "d/f"), b"theirs\n")  # S3 wins
        self.event("ObjectCreated:Put", "d/f")
        self.assertTrue(harness.wait_for(lambda: os.path.exists(self.m.path("d/f")), 2))
        self.assertEqual(read(self.m.path("d/f")), b"theirs\n")
        self.assertEqual(self.lost_found(), [])  # a local delete loses nothing

    def test_rename_vs_modify(self):
        self.start()
        os.rename(self.m.path("d/f"), self.m.path("d/h"))
        self.aws.put(self.b, "d/f", data=b"theirs\n")
        p = harness.subprocess.run([harness.stagefs_bin(), "sync", self.m.mnt],
                                   capture_output=True, text=True, timeout=120)
        self.assertNotEqual(p.returncode, 0, "the conflict is reported")
        self.assertIn("Conflict", p.stderr)
        self.assertEqual(self.aws.get_bytes(self.b, "d/f"), b"theirs\n")
        self.assertNotIn("d/h", self.aws.list_keys(self.b))
        self.event("ObjectCreated:Put", "d/f")
        self.assertTrue(harness.wait_for(lambda: os.path.exists(self.m.path("d/f")), 2))
        self.assertEqual(read(self.m.path("d/f")), b"theirs\n")
        self.check_lost("d/h", b"v1\n", "Conflict", key="d/f")


    def test_directory_rename_vs_changes_under_the_old_prefix(self):
        # d/f and d/g exist; d is renamed locally (not yet exported) while S3
        # gets a new d/f and a new key d/new. Nothing written by either side is
        # lost: unchanged g moves to e/, S3's d/f and d/new stay under d/, the
        # local copy of f (which S3 changed) goes to lost+found.
        self.start()
        os.rename(self.m.path("d"), self.m.path("e"))
        self.aws.put(self.b, "d/f", data=b"theirs\n")
        self.aws.put(self.b, "d/new", data=b"new\n")
        p = harness.subprocess.run([harness.stagefs_bin(), "sync", self.m.mnt],
                                   capture_output=True, text=True, timeout=120)
        self.assertNotEqual(p.returncode, 0, "the conflict is reported")
        keys = sorted(self.aws.list_keys(self.b))
        self.assertIn("e/g", keys)
        self.assertEqual(self.aws.get_bytes(self.b, "e/g"), b"g1\n")
        self.assertEqual(self.aws.get_bytes(self.b, "d/f"), b"theirs\n")
        self.assertEqual(self.aws.get_bytes(self.b, "d/new"), b"new\n")
        self.assertNotIn("e/f", keys)
        self.assertNotIn("d/g", keys)
        self.event("ObjectCreated:Put", "d/new")
        self.assertTrue(harness.wait_for(lambda: os.path.exists(self.m.path("d/new")), 2))
        self.assertEqual(read(self.m.path("d/f")), b"theirs\n")
        self.assertEqual(read(self.m.path("e/g")), b"g1\n")
        self.assertFalse(os.path.exists(self.m.path("e/f")))
        self.check_lost("e/f", b"v1\n", "Conflict", key="d/f")

    def partly_fetched_conflict(self, versioned):
        """A 3 MiB object, 4 bytes changed at offset 0 through the mount (the rest
        never fetched), then S3 replaces the object: returns (lost+found path,
        old bytes)."""
        self.b = self.bucket("partial")
        if versioned:
            self.aws.run("s3api", "put-bucket-versioning", "--bucket", self.b,
                         "--versioning-configuration", "Status=Enabled")
        old = os.urandom(3 << 20)
        self.aws.put(self.b, "d/big", data=old)
        self.m = self.mount(self.b, args=["--export-delay", "3600",
                                          "--import-size-less-than", "0"])
        fd = os.open(self.m.path("d/big"), os.O_WRONLY)
        os.pwrite(fd, b"MINE", 0)
        os.close(fd)
        self.aws.put(self.b, "d/big", data=b"theirs\n")
        p = harness.subprocess.run([harness.stagefs_bin(), "sync", self.m.mnt],
                                   capture_output=True, text=True, timeout=120)
        self.assertNotEqual(p.returncode, 0, "the conflict is reported")
        names = self.lost_found()
        self.assertEqual(len(names), 1, names)
        return os.path.join(LF, names[0]), old

    def test_partly_fetched_file_in_a_versioned_bucket_is_recovered(self):
        lost, old = self.partly_fetched_conflict(versioned=True)
        want = b"MINE" + old[4:]
        self.assertTrue(harness.wait_for(
            lambda: "MissingBytes" not in self.m.file_status(lost), 10),
            self.m.file_status(lost))
        self.assertEqual(read(self.m.path(lost)), want)
        self.assertEqual(self.aws.get_bytes(self.b, "d/big"), b"theirs\n")

    def test_partly_fetched_file_never_reads_invented_zeros(self):
        lost, old = self.partly_fetched_conflict(versioned=False)
        st = self.m.file_status(lost)
        self.assertIn("MissingBytes", st)
        # The bytes it held read back; the others fail with EIO, never zeros.
        fd = os.open(self.m.path(lost), os.O_RDONLY)
        try:
            self.assertEqual(os.pread(fd, 4, 0), b"MINE")
            with self.assertRaises(OSError) as cm:
                os.pread(fd, 4096, (3 << 20) - 4096)
            self.assertEqual(cm.exception.errno, errno.EIO)
        finally:
            os.close(fd)

if __name__ == "__main__":
    unittest.main()
