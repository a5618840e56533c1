#!/usr/bin/python3
"""Done-when 3: 8 concurrent cold GETs of one 64 MiB blob cause exactly 1 upstream GET,
and all 8 bodies hash to the digest.

The counting proxy throttles the upstream body (so the fill lasts long enough for all 8
requests to arrive while it runs: they really are concurrent, not served from a finished
cache entry) and counts upstream GETs.
"""

import os

import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import harness  # noqa: E402
from harness import HoardTestCase, run_concurrently, stream_hash, wait_until

SIZE = 64 << 20
CLIENTS = 8
THROTTLE = 96 << 20  # bytes/s: the fill takes ~0.7 s


class ConcurrentColdGets(HoardTestCase):
    @classmethod
    def setUpClass(cls):
        cls.reg, cls.proxy, cls.hoard = harness.start_stack(cls)
        cls.data_digest = cls.reg.push_blob("library/big", os.urandom(SIZE))

    def test_eight_cold_gets_one_upstream_get(self):
        d = self.data_digest
        path = "/v2/library/big/blobs/%s" % d
        self.proxy.configure(throttle_bps=THROTTLE)
        try:
            results = run_concurrently([lambda: stream_hash(self.hoard.addr, path, timeout=60) for _ in range(CLIENTS)])
        finally:
            self.proxy.configure()
        for i, (resp, digest, n) in enumerate(results):
            self.assertEqual(resp.status, 200, "client %d: %r%s" % (i, resp, self.logs()))
            self.assertIsNone(resp.error, "client %d: body cut: %r%s" % (i, resp.error, self.logs()))
            self.assertEqual(n, SIZE, "client %d got %d bytes" % (i, n))
            self.assertEqual(digest, d, "client %d got wrong bytes" % i)
            self.assertEqual(resp.header("docker-content-digest"), d, "client %d" % i)
        upstream_gets = self.proxy.count("GET", "/blobs/" + d)
        self.assertEqual(
            upstream_gets,
            1,
            "8 concurrent cold GETs must cause exactly 1 upstream GET; upstream saw:\n%s%s"
            % ("\n".join("%s %s" % r for r in self.proxy.requests()), self.logs()),
        )

        # and it stays cached. Clients finish as soon as the bytes are verified,
        # before the fsync + rename + index write; wait for that commit so the
        # next GET is a store hit rather than a join of the finishing fill.
        self.assertTrue(wait_until(lambda: self.hoard.metric("hoard_active_fills") == 0, 10),
                        "the fill never committed")
        resp, digest, n = stream_hash(self.hoard.addr, path)
        self.assertEqual((resp.status, digest, n), (200, d, SIZE), repr(resp))
        self.assertEqual(self.proxy.count("GET", "/blobs/" + d), 1, "a warm GET went upstream")

        # access log: one miss, the others joined the fill (or, if late, hit the cache)
        lines = self.hoard.wait_access_log(d, CLIENTS + 1)
        self.assertEqual(len(lines), CLIENTS + 1, "expected one access-log line per request: %r" % lines)
        caches = sorted(str(l.get("cache")) for l in lines[:CLIENTS])
        self.assertEqual(caches.count("miss"), 1, "cache results of the 8 cold GETs: %r" % caches)
        self.assertTrue(set(caches) <= {"miss", "coalesced", "hit"}, repr(caches))
        self.assertEqual(lines[-1].get("cache"), "hit", repr(lines[-1]))


if __name__ == "__main__":
    harness.main()
