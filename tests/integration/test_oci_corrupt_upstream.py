#!/usr/bin/python3
"""Done-when 4: an upstream that serves wrong bytes for a digest.

The counting proxy, switched to "corrupt" for one digest, serves the right length with
every byte flipped. Expected from hoard: the client gets an error (an error status, or the
body cut off before Content-Length: never a complete body), nothing is cached (the next
request goes upstream again), and once the upstream serves good bytes the blob is fetched,
verified and cached (a further request makes no upstream call).

Also: an upstream that dies mid-body, and a manifest fetched by digest whose bytes are wrong.
"""

import http.client
import os

import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import harness  # noqa: E402
from harness import CONTAINERD_ACCEPT, HoardTestCase, Image, Response, stream_hash

SIZE = 2 << 20


class CorruptUpstream(HoardTestCase):
    @classmethod
    def setUpClass(cls):
        cls.reg, cls.proxy, cls.hoard = harness.start_stack(cls)
        cls.bad = cls.reg.push_blob("library/corrupt", os.urandom(SIZE))
        cls.cut = cls.reg.push_blob("library/corrupt", os.urandom(SIZE))
        cls.image = Image(layer_sizes=(1000,))
        cls.reg.push_image("library/badmanifest", "1", cls.image)

    def tearDown(self):
        self.proxy.configure()

    def assertNotServed(self, resp, digest, n, what):
        """The client must not get a complete 200 body: an error status or a cut body only."""
        if resp.status >= 400:
            return
        self.assertIsNotNone(
            resp.error,
            "%s: hoard completed a %d response of %d bytes (body digest %s) instead of failing it%s"
            % (what, resp.status, n, digest, self.logs()),
        )

    def get_blob(self, digest):
        try:
            return stream_hash(self.hoard.addr, "/v2/library/corrupt/blobs/%s" % digest, timeout=30)
        except (http.client.HTTPException, ConnectionError) as e:
            # closed before any response head: a transport error, also "not served"
            return Response(0, "no response", {}, None, e), None, 0

    def test_wrong_bytes_are_never_cached(self):
        d = self.bad
        self.proxy.configure(corrupt=[d])
        for attempt in (1, 2):
            resp, got, n = self.get_blob(d)
            self.assertNotServed(resp, got, n, "attempt %d with wrong upstream bytes" % attempt)
            self.assertNotEqual((resp.status, got), (200, d))
            self.assertEqual(
                self.proxy.count("GET", "/blobs/" + d),
                attempt,
                "attempt %d: nothing may be cached from a bad fill, so every attempt goes upstream%s" % (attempt, self.logs()),
            )
        mismatches = self.hoard.metric("hoard_digest_mismatch_total")
        if mismatches is not None:  # /-/metrics is optional here
            self.assertGreaterEqual(mismatches, 2, "hoard_digest_mismatch_total")

        # upstream fixed: fetched, verified, cached
        self.proxy.configure()
        resp, got, n = self.get_blob(d)
        self.assertEqual(resp.status, 200, repr(resp) + self.logs())
        self.assertIsNone(resp.error, repr(resp) + self.logs())
        self.assertEqual((got, n), (d, SIZE))
        self.assertEqual(self.proxy.count("GET", "/blobs/" + d), 3)
        resp, got, n = self.get_blob(d)
        self.assertEqual((resp.status, got, n), (200, d, SIZE), repr(resp))
        self.assertEqual(self.proxy.count("GET", "/blobs/" + d), 3, "the verified blob must now be served from the cache")

    def test_upstream_dies_mid_body(self):
        d = self.cut
        self.proxy.configure(cut_after={d: SIZE // 2})
        resp, got, n = self.get_blob(d)
        self.assertNotServed(resp, got, n, "upstream cut mid-body")
        self.assertLess(n, SIZE, "client got all bytes although the upstream sent half")
        self.proxy.configure()
        resp, got, n = self.get_blob(d)
        self.assertEqual((resp.status, got, n), (200, d, SIZE), repr(resp) + self.logs())
        self.assertIsNone(resp.error)
        self.assertEqual(self.proxy.count("GET", "/blobs/" + d), 2, "the partial fill must have been discarded")

    def test_manifest_by_digest_with_wrong_bytes(self):
        d = self.image.digest
        path = "/v2/library/badmanifest/manifests/%s" % d
        self.proxy.configure(corrupt=[d])
        r = self.hoard.get(path, headers={"Accept": CONTAINERD_ACCEPT})
        self.assertFalse(
            r.status == 200 and r.error is None,
            "a manifest whose bytes do not match the requested digest was served: %r%s" % (r, self.logs()),
        )
        self.proxy.configure()
        r = self.hoard.get(path, headers={"Accept": CONTAINERD_ACCEPT})
        self.assertEqual(r.status, 200, repr(r) + self.logs())
        self.assertEqual(r.body, self.image.manifest.data)
        self.assertEqual(r.header("docker-content-digest"), d)


if __name__ == "__main__":
    harness.main()
