#!/usr/bin/python3
"""Done-when 7: Range requests on a cached blob return exactly the requested bytes
(206 + Content-Range), unsatisfiable ranges get 416. Ranges on a cached blob make no
upstream request. Also: a range on a blob still being filled is answered (206) from the
fill, without a second upstream GET.
"""

import os
import threading
import time

import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import harness  # noqa: E402
from harness import HoardTestCase, stream_hash

SIZE = 100000


class RangeOnCachedBlob(HoardTestCase):
    @classmethod
    def setUpClass(cls):
        cls.reg, cls.proxy, cls.hoard = harness.start_stack(cls)
        cls.data = os.urandom(SIZE)
        cls.digest = cls.reg.push_blob("library/ranged", cls.data)
        cls.path = "/v2/library/ranged/blobs/%s" % cls.digest
        r = cls.hoard.get(cls.path)
        assert r.status == 200 and r.body == cls.data, "warming GET failed: %r" % r

    def setUp(self):
        self.gets_before = self.proxy.count("GET", "/blobs/" + self.digest)

    def tearDown(self):
        self.assertEqual(
            self.proxy.count("GET", "/blobs/" + self.digest),
            self.gets_before,
            "a range on a cached blob went upstream",
        )

    def check_range(self, spec, start, end):
        """`spec` must yield bytes [start, end] inclusive."""
        r = self.hoard.get(self.path, headers={"Range": "bytes=" + spec})
        self.assertEqual(r.status, 206, "Range bytes=%s: %r%s" % (spec, r, self.logs()))
        self.assertIsNone(r.error, repr(r))
        self.assertEqual(r.header("content-range"), "bytes %d-%d/%d" % (start, end, SIZE), "Range bytes=%s" % spec)
        self.assertEqual(r.header("content-length"), str(end - start + 1), "Range bytes=%s" % spec)
        self.assertEqual(len(r.body), end - start + 1, "Range bytes=%s" % spec)
        self.assertTrue(r.body == self.data[start : end + 1], "Range bytes=%s: wrong bytes" % spec)

    def test_first_bytes(self):
        self.check_range("0-99", 0, 99)

    def test_open_ended(self):
        self.check_range("100-", 100, SIZE - 1)

    def test_suffix(self):
        self.check_range("-50", SIZE - 50, SIZE - 1)

    def test_middle(self):
        self.check_range("12345-54320", 12345, 54320)

    def test_single_byte_and_last_byte(self):
        self.check_range("0-0", 0, 0)
        self.check_range("%d-%d" % (SIZE - 1, SIZE - 1), SIZE - 1, SIZE - 1)

    def test_end_past_size_is_clamped(self):
        self.check_range("99990-200000", 99990, SIZE - 1)

    def test_unsatisfiable(self):
        for spec in ("%d-" % SIZE, "200000-300000", "%d-%d" % (SIZE, SIZE + 10)):
            r = self.hoard.get(self.path, headers={"Range": "bytes=" + spec})
            self.assertEqual(r.status, 416, "Range bytes=%s: %r%s" % (spec, r, self.logs()))
            cr = r.header("content-range")
            if cr is not None:
                self.assertEqual(cr, "bytes */%d" % SIZE)

    def test_head_with_range_has_no_body_and_right_length(self):
        r = self.hoard.head(self.path, headers={"Range": "bytes=0-99"})
        self.assertIn(r.status, (200, 206), repr(r))
        if r.status == 206:
            self.assertEqual(r.header("content-length"), "100")
            self.assertEqual(r.header("content-range"), "bytes 0-99/%d" % SIZE)

    def test_accept_ranges_advertised(self):
        r = self.hoard.head(self.path)
        self.assertEqual(r.status, 200, repr(r))
        self.assertEqual(r.header("accept-ranges"), "bytes")


class RangeDuringFill(HoardTestCase):
    """containerd resumes an interrupted pull with `Range: bytes=N-` (protocol evidence)."""

    SIZE = 8 << 20

    @classmethod
    def setUpClass(cls):
        cls.reg, cls.proxy, cls.hoard = harness.start_stack(cls, hoard_label="hoard-fill")
        cls.data = os.urandom(cls.SIZE)
        cls.digest = cls.reg.push_blob("library/filling", cls.data)

    def test_range_answered_from_the_fill(self):
        path = "/v2/library/filling/blobs/%s" % self.digest
        self.proxy.configure(throttle_bps=4 << 20)  # the fill takes ~2 s
        try:
            out = {}
            t = threading.Thread(target=lambda: out.setdefault("full", stream_hash(self.hoard.addr, path)), daemon=True)
            t.start()
            deadline = time.monotonic() + 10
            while self.proxy.digest_bytes(self.digest) < (1 << 20):
                self.assertLess(time.monotonic(), deadline, "fill did not start" + self.logs())
                time.sleep(0.01)
            start = 3 << 20  # not yet filled: the answer has to wait for the fill
            r = self.hoard.get(path, headers={"Range": "bytes=%d-" % start}, timeout=30)
            t.join(30)
        finally:
            self.proxy.configure()
        self.assertEqual(r.status, 206, repr(r) + self.logs())
        self.assertEqual(r.header("content-range"), "bytes %d-%d/%d" % (start, self.SIZE - 1, self.SIZE))
        self.assertTrue(r.body == self.data[start:], "range during fill: wrong bytes (%d received)" % len(r.body))
        resp, got, n = out["full"]
        self.assertEqual((resp.status, got, n), (200, self.digest, self.SIZE), repr(resp))
        self.assertEqual(
            self.proxy.count("GET", "/blobs/" + self.digest),
            1,
            "the range during the fill must be served from the fill: %r" % self.proxy.requests(),
        )


if __name__ == "__main__":
    harness.main()
