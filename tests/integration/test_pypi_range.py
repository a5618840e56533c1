#!/usr/bin/python3
"""Issue 5, Done-when 4: HEAD and single Range requests on a cached wheel return exactly the right
bytes and headers (uv reads a wheel's METADATA with Range + Accept-Encoding: identity when there
is no .metadata file; pip's lazy wheel does the same)."""

import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from harness import Hoard, HoardTestCase, main  # noqa: E402
from pypi_support import PyDist, PyPIIndex, pypi_upstream, sample_universe  # noqa: E402

# A wheel big enough that ranges cut through the middle of real zip structure.
BIG = PyDist("acme-big", "1.0.0", size_pad=300_000)


class Ranges(HoardTestCase):
    @classmethod
    def setUpClass(cls):
        dists = sample_universe()
        BIG.build()
        cls.index = PyPIIndex(dists + [BIG], label="pypi-fixture").start()
        cls.hoard = Hoard([pypi_upstream(cls.index)], label="hoard-range").start()
        cls.wheel = BIG.wheel_filename
        cls.data = cls.index.file(cls.wheel).data
        cls.path = "/pypi/files/acme-big/" + cls.wheel

    @classmethod
    def tearDownClass(cls):
        cls.hoard.close()
        cls.index.stop()

    def setUp(self):
        r = self.hoard.get(self.path)  # cached by the first request
        self.assertEqual((r.status, r.body), (200, self.data))

    def get(self, rng):
        return self.hoard.get(self.path, headers={"Range": rng, "Accept-Encoding": "identity"})

    def test_ranges(self):
        size = len(self.data)
        self.assertGreater(size, 300_000)
        fetched = self.index.count(kind="file")
        for rng, first, last in (
            ("bytes=0-0", 0, 0),
            ("bytes=100-4195", 100, 4195),
            ("bytes=%d-" % (size - 22), size - 22, size - 1),  # the zip's end-of-central-directory
            ("bytes=-8192", size - 8192, size - 1),  # uv's first read: the tail
            ("bytes=%d-%d" % (size - 10, size + 500), size - 10, size - 1),  # clamped
        ):
            with self.subTest(rng=rng):
                r = self.get(rng)
                self.assertEqual(r.status, 206, repr(r))
                self.assertEqual(r.body, self.data[first : last + 1])
                self.assertEqual(r.header("content-range"), "bytes %d-%d/%d" % (first, last, size))
                self.assertEqual(int(r.header("content-length")), last - first + 1)
                self.assertIsNone(r.header("content-encoding"))
        r = self.get("bytes=%d-" % size)
        self.assertEqual(r.status, 416, repr(r))
        self.assertEqual(r.header("content-range"), "bytes */%d" % size)
        self.assertEqual(self.index.count(kind="file"), fetched, "ranges on a cached wheel never go upstream")

    def test_head(self):
        r = self.hoard.head(self.path)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"")
        self.assertEqual(int(r.header("content-length")), len(self.data))
        self.assertEqual(r.header("accept-ranges"), "bytes")
        self.assertEqual(r.header("content-type"), "application/octet-stream")
        self.assertEqual(r.header("etag"), '"sha256:%s"' % self.index.sha256(self.wheel))


if __name__ == "__main__":
    main()
