#!/usr/bin/python3
"""Issue 3, Done-when 1: after a tag's TTL, hoard revalidates it with exactly one upstream
HEAD and no manifest GET when it is unchanged; a retagged upstream is picked up within one
TTL (hoard fetches the new manifest by digest, and can then serve it).

upstream: docker-registry <- counting proxy <- hoard (manifest_ttl: 1s)
Each test gets its own hoard (fresh store) and its own repository.
"""

import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import harness  # noqa: E402
from harness import CONTAINERD_ACCEPT, CountingProxy, Hoard, HoardTestCase, Image, Registry, oci_upstream, run_concurrently

TTL = 1.0
PAST_TTL = TTL + 0.3


class Revalidation(HoardTestCase):
    @classmethod
    def setUpClass(cls):
        cls.reg = Registry().start()
        cls.addClassCleanup(cls.reg.stop)
        cls.proxy = CountingProxy(cls.reg.url).start()
        cls.addClassCleanup(cls.proxy.stop)

    def new_hoard(self):
        h = Hoard([oci_upstream(self.proxy.url, manifest_ttl="1s")], label="hoard-" + self._testMethodName).start()
        self.addCleanup(h.close)
        return h

    def upstream_manifest_requests(self, repo):
        return [(m, p) for m, p in self.proxy.requests() if "/v2/%s/manifests/" % repo in p]

    def get_tag(self, hoard, repo, tag, method="GET"):
        path = "/v2/%s/manifests/%s" % (repo, tag)
        r = hoard.head(path, headers={"Accept": CONTAINERD_ACCEPT}) if method == "HEAD" else hoard.get(path, headers={"Accept": CONTAINERD_ACCEPT})
        self.assertEqual(r.status, 200, "%s %s: %r%s" % (method, path, r, self.logs()))
        return r

    def test_unchanged_tag_one_head_no_get(self):
        repo, img = "library/same", Image(layer_sizes=(1000, 2000))
        self.reg.push_image(repo, "1", img)
        hoard = self.new_hoard()
        self.assertEqual(self.get_tag(hoard, repo, "1").header("docker-content-digest"), img.digest)
        self.assertEqual(self.get_tag(hoard, repo, "1").header("docker-content-digest"), img.digest)
        self.assertEqual(len(self.upstream_manifest_requests(repo)), 1, "within the TTL the tag is answered from cache: %r" % self.upstream_manifest_requests(repo))

        self.proxy.reset()
        time.sleep(PAST_TTL)
        r = self.get_tag(hoard, repo, "1")
        self.assertEqual(r.header("docker-content-digest"), img.digest)
        self.assertEqual(r.body, img.manifest.data)
        seen = self.upstream_manifest_requests(repo)
        self.assertEqual(
            seen,
            [("HEAD", "/v2/%s/manifests/1" % repo)],
            "an expired, unchanged tag must be revalidated with exactly one HEAD on the tag and no GET; upstream saw %r%s" % (seen, self.logs()),
        )
        # the HEAD refreshed the TTL: an immediate second request stays local
        self.get_tag(hoard, repo, "1")
        self.assertEqual(self.upstream_manifest_requests(repo), seen, "the revalidation did not refresh the TTL")

    def test_client_head_after_ttl_one_upstream_head(self):
        """containerd resolves with HEAD: same rule, one upstream HEAD, no GET."""
        repo, img = "library/headonly", Image(layer_sizes=(1500,))
        self.reg.push_image(repo, "1", img)
        hoard = self.new_hoard()
        self.get_tag(hoard, repo, "1", "HEAD")
        time.sleep(PAST_TTL)
        self.proxy.reset()
        r = self.get_tag(hoard, repo, "1", "HEAD")
        self.assertEqual(r.header("docker-content-digest"), img.digest)
        seen = self.upstream_manifest_requests(repo)
        self.assertEqual(seen, [("HEAD", "/v2/%s/manifests/1" % repo)], "upstream saw %r%s" % (seen, self.logs()))

    def test_concurrent_expired_requests_share_one_revalidation(self):
        repo, img = "library/crowd", Image(layer_sizes=(1200,))
        self.reg.push_image(repo, "1", img)
        hoard = self.new_hoard()
        self.get_tag(hoard, repo, "1")
        time.sleep(PAST_TTL)
        self.proxy.reset()
        results = run_concurrently([lambda: self.get_tag(hoard, repo, "1") for _ in range(8)])
        self.assertEqual({r.header("docker-content-digest") for r in results}, {img.digest})
        seen = self.upstream_manifest_requests(repo)
        self.assertEqual(seen, [("HEAD", "/v2/%s/manifests/1" % repo)], "8 concurrent requests for one expired tag: %r%s" % (seen, self.logs()))

    def test_cached_digest_never_revalidated(self):
        repo, img = "library/bydigest", Image(layer_sizes=(900,))
        self.reg.push_image(repo, "1", img)
        hoard = self.new_hoard()
        self.get_tag(hoard, repo, "1")
        time.sleep(PAST_TTL)
        self.proxy.reset()
        for method in ("GET", "HEAD"):
            self.get_tag(hoard, repo, img.digest, method)
        self.assertEqual(self.proxy.requests(), [], "a manifest cached by digest must never touch the upstream")

    def test_retag_picked_up_within_one_ttl(self):
        repo = "library/moving"
        old, new = Image(layer_sizes=(1000, 1100)), Image(layer_sizes=(1300, 1400))
        self.reg.push_image(repo, "latest", old)
        hoard = self.new_hoard()
        self.assertEqual(self.get_tag(hoard, repo, "latest").header("docker-content-digest"), old.digest)

        self.reg.push_image(repo, "latest", new)
        pushed = time.monotonic()
        self.proxy.reset()
        seen_digests = []
        while True:
            r = self.get_tag(hoard, repo, "latest")
            seen_digests.append(r.header("docker-content-digest"))
            if seen_digests[-1] == new.digest:
                break
            self.assertEqual(seen_digests[-1], old.digest, "hoard answered a digest that is neither the old nor the new one")
            self.assertLess(
                time.monotonic() - pushed,
                TTL + 0.5,
                "the retag was not picked up within one TTL (%.1fs); upstream saw %r%s" % (TTL, self.proxy.requests(), self.logs()),
            )
            time.sleep(0.1)
        self.assertEqual(r.body, new.manifest.data, "the new digest came with other bytes")
        seen = self.upstream_manifest_requests(repo)
        self.assertIn(("HEAD", "/v2/%s/manifests/latest" % repo), seen, "the change must be detected by a HEAD: %r" % seen)
        self.assertEqual(
            [x for x in seen if x[0] == "GET"],
            [("GET", "/v2/%s/manifests/%s" % (repo, new.digest))],
            "after a changed HEAD hoard must GET the new manifest by digest (not by tag), once: %r%s" % (seen, self.logs()),
        )
        # what hoard answered for the tag it can serve, by digest, without the upstream
        before = len(self.proxy.requests())
        g = hoard.get("/v2/%s/manifests/%s" % (repo, new.digest), headers={"Accept": CONTAINERD_ACCEPT})
        self.assertEqual((g.status, g.body), (200, new.manifest.data), repr(g))
        self.assertEqual(len(self.proxy.requests()), before, "the new manifest was not cached by digest")
        for b in new.blobs():
            g = hoard.get("/v2/%s/blobs/%s" % (repo, b.digest))
            self.assertEqual((g.status, g.body == b.data), (200, True), "blob %s of the new image: %r" % (b.digest, g))


if __name__ == "__main__":
    harness.main()
