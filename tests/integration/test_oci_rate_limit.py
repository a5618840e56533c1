#!/usr/bin/python3
"""Issue 3, Done-when 3: the upstream answers 429 with Retry-After.

- a cached tag past its TTL is served stale, cached blobs are served;
- hoard does not call the upstream again before Retry-After has passed (counted), and
  does once it has;
- what is not cached gets OCI code TOOMANYREQUESTS with a Retry-After header, on status
  503 (not 429: containerd retries 429 in place, 503 makes it move to its next host --
  see daemon/oci/responses.h).

upstream: docker-registry <- counting proxy (429 mode) <- hoard (manifest_ttl: 1s)
"""

import email.utils
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import harness  # noqa: E402
from harness import CONTAINERD_ACCEPT, CountingProxy, Hoard, HoardTestCase, Image, Registry, oci_upstream, sha256_digest

TTL = 1.0
PAST_TTL = TTL + 0.3


class RateLimited(HoardTestCase):
    @classmethod
    def setUpClass(cls):
        cls.reg = Registry().start()
        cls.addClassCleanup(cls.reg.stop)
        cls.proxy = CountingProxy(cls.reg.url).start()
        cls.addClassCleanup(cls.proxy.stop)
        cls.image = Image(layer_sizes=(2000, 3000))
        cls.other = Image(layer_sizes=(1000,))
        cls.reg.push_image("library/app", "1", cls.image)
        cls.reg.push_image("library/app", "2", cls.other)

    def setUp(self):
        self.addCleanup(self.proxy.heal)

    def new_hoard(self):
        # a breaker that would never open in these tests: what stops the calls must be Retry-After
        h = Hoard(
            [oci_upstream(self.proxy.url, manifest_ttl="1s", breaker={"failures": 100, "cooldown": "1s"})],
            label="hoard-" + self._testMethodName,
        ).start()
        self.addCleanup(h.close)
        return h

    def get(self, hoard, path):
        return hoard.get(path, headers={"Accept": CONTAINERD_ACCEPT}, timeout=10)

    def warm(self, hoard):
        r = self.get(hoard, "/v2/library/app/manifests/1")
        self.assertEqual(r.status, 200, repr(r) + self.logs())
        for b in self.image.blobs():
            self.assertEqual(self.get(hoard, "/v2/library/app/blobs/" + b.digest).status, 200)

    def assert_too_many_requests(self, r, what, max_retry_after):
        self.assertEqual(r.status, 503, "%s: uncached while rate limited must be 503 (not 429), got %r%s" % (what, r, self.logs()))
        self.assertIn("TOOMANYREQUESTS", r.error_codes(), "%s: OCI code TOOMANYREQUESTS expected: %r" % (what, r))
        ra = r.header("retry-after")
        self.assertIsNotNone(ra, "%s: no Retry-After header: %r" % (what, r))
        if ra.strip().isdigit():
            secs = int(ra)
        else:  # RFC 9110 10.2.3 allows an HTTP-date too
            try:
                secs = email.utils.parsedate_to_datetime(ra).timestamp() - time.time()
            except (TypeError, ValueError):
                self.fail("%s: Retry-After is neither delta-seconds nor an HTTP-date: %r" % (what, ra))
        self.assertTrue(0.5 <= secs <= max_retry_after + 1, "%s: Retry-After %r (%.1fs) not in [1, %d]" % (what, ra, secs, max_retry_after))
        self.assertLess(r.elapsed, 2.0, "%s: took %.2fs" % (what, r.elapsed))

    def test_stale_served_and_upstream_left_alone_until_retry_after(self):
        hoard = self.new_hoard()
        self.warm(hoard)
        time.sleep(PAST_TTL)
        self.proxy.fail(status=429, headers={"Retry-After": "30"})
        self.proxy.reset()

        r = self.get(hoard, "/v2/library/app/manifests/1")
        self.assertEqual((r.status, r.header("docker-content-digest")), (200, self.image.digest), "expired tag while limited: %r%s" % (r, self.logs()))
        self.assertEqual(r.body, self.image.manifest.data)
        lines = hoard.wait_access_log("/v2/library/app/manifests/1", 2)
        self.assertEqual(lines[-1].get("cache"), "stale", "served past TTL during a 429 must be logged stale: %r" % lines[-1])
        calls = self.proxy.count()
        self.assertEqual(calls, 1, "the expired tag should have cost one upstream call (answered 429): %r" % self.proxy.requests())

        # limited for 30 s: nothing else reaches the upstream, whatever is asked
        time.sleep(PAST_TTL)  # the tag is past its TTL again
        for _ in range(3):
            r = self.get(hoard, "/v2/library/app/manifests/1")
            self.assertEqual((r.status, r.header("docker-content-digest")), (200, self.image.digest), repr(r))
        for b in self.image.blobs():
            r = self.get(hoard, "/v2/library/app/blobs/" + b.digest)
            self.assertEqual((r.status, r.body == b.data), (200, True), "cached blob while limited: %r" % r)
        r = self.get(hoard, "/v2/library/app/manifests/2")
        self.assert_too_many_requests(r, "uncached tag", 30)
        r = self.get(hoard, "/v2/library/app/manifests/" + self.other.digest)
        self.assert_too_many_requests(r, "uncached manifest by digest", 30)
        r = self.get(hoard, "/v2/library/app/blobs/" + self.other.layers[0].digest)
        self.assert_too_many_requests(r, "uncached blob", 30)
        h = hoard.head("/v2/library/app/manifests/2", headers={"Accept": CONTAINERD_ACCEPT}, timeout=10)
        self.assertEqual(h.status, 503, "HEAD of an uncached tag while limited: %r" % h)
        self.assertEqual(
            self.proxy.count(),
            calls,
            "hoard called the upstream again before Retry-After (30 s) passed: %r%s" % (self.proxy.requests()[calls:], self.logs()),
        )

    def test_upstream_called_again_after_retry_after(self):
        hoard = self.new_hoard()
        self.proxy.fail(status=429, headers={"Retry-After": "2"})
        self.proxy.reset()
        r = self.get(hoard, "/v2/library/app/manifests/1")
        self.assert_too_many_requests(r, "uncached tag, first 429", 2)
        limited_at = time.monotonic()
        self.assertEqual(self.proxy.count(), 1, repr(self.proxy.requests()))
        self.proxy.heal()
        r = self.get(hoard, "/v2/library/app/manifests/1")
        self.assert_too_many_requests(r, "uncached tag, within Retry-After", 2)
        self.assertEqual(self.proxy.count(), 1, "called again within Retry-After: %r" % self.proxy.requests())
        time.sleep(max(0.0, limited_at + 2.3 - time.monotonic()))
        r = self.get(hoard, "/v2/library/app/manifests/1")
        self.assertEqual((r.status, r.header("docker-content-digest")), (200, self.image.digest), "after Retry-After: %r%s" % (r, self.logs()))
        self.assertGreater(self.proxy.count(), 1)

    def test_retry_after_http_date(self):
        """Retry-After may be an HTTP-date (RFC 9110 10.2.3)."""
        hoard = self.new_hoard()
        when = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
        self.proxy.fail(status=429, headers={"Retry-After": when})
        self.proxy.reset()
        self.assert_too_many_requests(self.get(hoard, "/v2/library/app/manifests/1"), "first 429 (HTTP-date)", 31)
        self.assert_too_many_requests(self.get(hoard, "/v2/library/app/blobs/" + sha256_digest(b"nope")), "while limited", 31)
        self.assertEqual(self.proxy.count(), 1, "called again before an HTTP-date Retry-After: %r" % self.proxy.requests())


if __name__ == "__main__":
    harness.main()
