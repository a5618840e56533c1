#!/usr/bin/python3
"""Done-when 5: `kill -9` of hoard in the middle of a large blob fill, then a restart on the
same store: no partial blob is ever served; the blob is refetched (upstream GET count goes
up) and verified.

The counting proxy throttles the upstream body so the kill reliably lands mid-fill: hoard is
killed once the proxy has sent KILL_AT bytes of a SIZE-byte blob.
"""

import os
import threading
import time

import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import harness  # noqa: E402
from harness import CountingProxy, Hoard, HoardTestCase, Registry, oci_upstream, stream_hash

SIZE = 48 << 20
THROTTLE = 16 << 20  # bytes/s: a full fill would take 3 s
KILL_AT = 8 << 20


def large_files(root, min_size=1 << 20):
    """Files of at least min_size under root that are not RocksDB's own (sst, WAL, MANIFEST, LOG...)."""
    out = []
    for dirpath, _, names in os.walk(root):
        for n in names:
            if n.endswith((".sst", ".log")) or n.startswith(("MANIFEST-", "LOG", "OPTIONS-", "CURRENT")):
                continue
            p = os.path.join(dirpath, n)
            try:
                if os.path.getsize(p) >= min_size:
                    out.append((p, os.path.getsize(p)))
            except OSError:
                pass
    return out


class KillDuringFill(HoardTestCase):
    @classmethod
    def setUpClass(cls):
        cls.reg = Registry().start()
        cls.addClassCleanup(cls.reg.stop)
        cls.proxy = CountingProxy(cls.reg.url).start()
        cls.addClassCleanup(cls.proxy.stop)
        cls.digest = cls.reg.push_blob("library/large", os.urandom(SIZE))
        cls.hoard = Hoard([oci_upstream(cls.proxy.url)])
        cls.addClassCleanup(lambda: cls.hoard.stop())

    def test_kill9_mid_fill_then_restart(self):
        d = self.digest
        path = "/v2/library/large/blobs/%s" % d
        self.hoard.start()
        self.proxy.configure(throttle_bps=THROTTLE)

        result = {}

        def client():
            try:
                result["r"] = stream_hash(self.hoard.addr, path, timeout=30)
            except Exception as e:  # no response head at all: also "nothing served"
                result["exc"] = e

        t = threading.Thread(target=client, daemon=True)
        t.start()
        deadline = time.monotonic() + 20
        while self.proxy.digest_bytes(d) < KILL_AT:
            self.assertLess(time.monotonic(), deadline, "the fill never reached %d bytes upstream%s" % (KILL_AT, self.logs()))
            self.assertTrue(t.is_alive(), "the client finished before the fill did: %r%s" % (result, self.logs()))
            time.sleep(0.01)
        self.hoard.kill9()
        sent_at_kill = self.proxy.digest_bytes(d)
        self.assertLess(sent_at_kill, SIZE, "the kill did not land mid-fill (throttle too weak?)")
        t.join(30)
        self.assertFalse(t.is_alive(), "the client hung after hoard was killed")
        if "r" in result:
            resp, got, n = result["r"]
            self.assertEqual(resp.status, 200, repr(resp))
            self.assertIsNotNone(
                resp.error, "the client's body must be cut when hoard dies mid-fill, got %d bytes, digest %s" % (n, got)
            )
            self.assertLess(n, SIZE)
        self.assertEqual(self.proxy.count("GET", "/blobs/" + d), 1)

        # restart on the same store, upstream at full speed
        self.proxy.configure()
        self.hoard.start()
        h = self.hoard.head(path)
        if h.status == 200:
            self.assertEqual(h.header("content-length"), str(SIZE), "HEAD after restart: %r" % h)
        resp, got, n = stream_hash(self.hoard.addr, path, timeout=30)
        self.assertEqual(resp.status, 200, repr(resp) + self.logs())
        self.assertIsNone(resp.error, "after restart: %r%s" % (resp.error, self.logs()))
        self.assertEqual(n, SIZE, "after restart hoard served %d of %d bytes" % (n, SIZE))
        self.assertEqual(got, d, "after restart hoard served wrong bytes (a partial file from the killed fill?)")
        self.assertEqual(
            self.proxy.count("GET", "/blobs/" + d),
            2,
            "the blob must be refetched after the crash (exactly once)%s" % self.logs(),
        )

        # now cached: no upstream call, same bytes
        resp, got, n = stream_hash(self.hoard.addr, path, timeout=30)
        self.assertEqual((resp.status, got, n), (200, d, SIZE), repr(resp))
        self.assertEqual(self.proxy.count("GET", "/blobs/" + d), 2)

        # the killed fill's temp file was cleaned at startup: one large file left, the blob itself
        big = large_files(self.hoard.store)
        self.assertEqual(
            [s for _, s in big],
            [SIZE],
            "store should hold exactly one large file (the verified blob), found %r" % big,
        )

    def test_graceful_stop_is_clean(self):
        """SIGTERM stops hoard with exit code 0 (and a restart on the same store works)."""
        h = Hoard([oci_upstream(self.proxy.url)], label="hoard-sigterm").start()
        try:
            self.assertEqual(h.get("/v2/").status, 200)
        finally:
            rc = h.stop()
        self.assertEqual(rc, 0, "hoard's exit code after SIGTERM%s" % self.logs())
        h.start()
        try:
            self.assertEqual(h.get("/v2/").status, 200)
        finally:
            self.assertEqual(h.stop(), 0)


if __name__ == "__main__":
    harness.main()
