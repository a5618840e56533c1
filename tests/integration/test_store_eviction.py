#!/usr/bin/python3
"""Issue 7, store lifecycle: a store with max_size S never exceeds it by more than one object
while 3xS of distinct blobs go through it, and the most recently used objects survive.

docker-registry <- CountingProxy <- hoard (store.max_size S). Thirty distinct blobs of S/10 bytes
are pulled one after another; after each pull the store's blobs/ directory (the bytes on disk) and
the hoard_store_bytes gauge are sampled. At the end the newest pulls are still cache hits (no
upstream request) and the oldest are gone from disk (pulling one again goes upstream).
"""

import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import harness  # noqa: E402
from harness import HoardTestCase, wait_until  # noqa: E402

BLOB = 64 * 1024
MAX_SIZE = 10 * BLOB  # S
COUNT = 30  # 3 x S in distinct blobs
REPO = "library/evict"


def blobs_bytes(store):
    """Bytes of the committed blob files under store/blobs (what the disk holds)."""
    total = 0
    for root, _dirs, files in os.walk(os.path.join(store, "blobs")):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except FileNotFoundError:
                pass  # evicted while we walked
    return total


def blob_path(store, digest):
    hexpart = digest.split(":", 1)[1]
    return os.path.join(store, "blobs", "sha256", hexpart[:2], hexpart)


class StoreEviction(HoardTestCase):
    @classmethod
    def setUpClass(cls):
        cls.reg = harness.Registry().start()
        cls.addClassCleanup(cls.reg.stop)
        cls.proxy = harness.CountingProxy(cls.reg.url).start()
        cls.addClassCleanup(cls.proxy.stop)
        cls.hoard = harness.Hoard([harness.oci_upstream(cls.proxy.url)])
        # Replace the generated store line: max_size and watermarks are store keys.
        with open(cls.hoard.config_path) as f:
            config = f.read()
        store_line = "store: { path: %s, max_size: %d, high_watermark: 90, low_watermark: 80%% }" % (
            harness._yaml_scalar(cls.hoard.store),
            MAX_SIZE,
        )
        config, n = re.subn(r"(?m)^store: .*$", lambda _m: store_line, config)
        assert n == 1, config
        with open(cls.hoard.config_path, "w") as f:
            f.write(config)
        cls.hoard.start()
        cls.addClassCleanup(cls.hoard.stop)
        cls.digests = [cls.reg.push_blob(REPO, os.urandom(BLOB)) for _ in range(COUNT)]

    def blob_gets(self, digest):
        return self.proxy.count("GET", "/blobs/" + digest)

    def pull(self, digest):
        r = self.hoard.get("/v2/%s/blobs/%s" % (REPO, digest))
        self.assertEqual(r.status, 200, "%r%s" % (r, self.logs()))
        self.assertIsNone(r.error, repr(r))
        self.assertEqual(len(r.body), BLOB)
        self.assertEqual(harness.sha256_digest(r.body), digest)

    def test_store_stays_bounded_and_keeps_the_newest(self):
        store = self.hoard.store
        bound = MAX_SIZE + BLOB  # S plus one object
        peak_disk = peak_gauge = 0
        for i, digest in enumerate(self.digests):
            self.pull(digest)
            self.assertEqual(self.blob_gets(digest), 1, "blob %d was not fetched once" % i)
            # The commit follows the response; wait until the blob is on disk (renamed into
            # blobs/) so each sample includes the newest object.
            self.assertTrue(
                wait_until(lambda: os.path.exists(blob_path(store, digest)), 10),
                "blob %d never committed%s" % (i, self.logs()),
            )
            disk = blobs_bytes(store)
            gauge = self.hoard.metric("hoard_store_bytes")
            self.assertIsNotNone(gauge, "no hoard_store_bytes at /-/metrics")
            peak_disk, peak_gauge = max(peak_disk, disk), max(peak_gauge, gauge)
            self.assertLessEqual(disk, bound, "after pull %d: %d bytes in blobs/ > S + one object (%d)" % (i, disk, bound))
            self.assertLessEqual(gauge, bound, "after pull %d: hoard_store_bytes %d > S + one object" % (i, gauge))

        # The pass to the low watermark runs in the background right after the commit that
        # crossed the high one: the store settles at or below the high mark.
        high = MAX_SIZE * 90 // 100
        self.assertTrue(
            wait_until(lambda: self.hoard.metric("hoard_store_bytes") <= high and blobs_bytes(store) <= high, 5),
            "store did not settle under the high watermark: gauge %s, disk %d%s"
            % (self.hoard.metric("hoard_store_bytes"), blobs_bytes(store), self.logs()),
        )
        evicted = self.hoard.metric("hoard_evictions_total")
        self.assertIsNotNone(evicted, "no hoard_evictions_total")
        self.assertGreaterEqual(evicted, COUNT - MAX_SIZE // BLOB, "too few evictions counted")
        self.assertEqual(self.hoard.metric("hoard_evicted_bytes_total"), evicted * BLOB)
        objects = self.hoard.metric("hoard_store_objects")
        self.assertEqual(objects, self.hoard.metric("hoard_store_bytes") // BLOB)
        files = sum(len(f) for _r, _d, f in os.walk(os.path.join(store, "blobs")))
        self.assertEqual(files, objects, "index and blobs/ disagree")

        # The most recently used survive: pulling them again is a pure cache hit.
        newest = self.digests[-5:]
        for digest in newest:
            self.assertTrue(os.path.exists(blob_path(store, digest)), "recent blob %s was evicted" % digest)
            self.pull(digest)
            self.assertEqual(self.blob_gets(digest), 1, "recent blob %s went upstream again%s" % (digest, self.logs()))

        # The oldest were evicted: gone from disk, and pulling one goes upstream again.
        oldest = self.digests[:5]
        for digest in oldest:
            self.assertFalse(os.path.exists(blob_path(store, digest)), "old blob %s was never evicted" % digest)
        self.pull(oldest[0])
        self.assertEqual(self.blob_gets(oldest[0]), 2, "an evicted blob was served without a refetch")
        self.assertLessEqual(blobs_bytes(store), bound)
        print("peak blobs/ %d bytes, peak gauge %d, S %d, evictions %d" % (peak_disk, peak_gauge, MAX_SIZE, evicted))


if __name__ == "__main__":
    import unittest

    unittest.main(verbosity=2)
