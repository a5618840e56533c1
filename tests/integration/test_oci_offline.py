#!/usr/bin/python3
"""Issue 3, Done-when 6: offline mode.

Warm a store with offline off, restart hoard on the same store with offline on (global
`offline: true`, or `offline: true` on one upstream): cached content is served (also tags
past their TTL), uncached content gets a clear OCI error (404 or 503, JSON mentioning
offline), and the upstream's counting proxy sees zero requests. With per-upstream offline,
the other upstream keeps working.

upstreams: hub  = docker-registry A <- proxy A (docker.io, prefix hub, default)
           ghcr = docker-registry B <- proxy B (ghcr.io,   prefix ghcr)
"""

import json
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import harness  # noqa: E402
from harness import CONTAINERD_ACCEPT, CountingProxy, Hoard, HoardTestCase, Image, Index, Registry, oci_upstream, sha256_digest, skopeo, tmpdir

TTL = "1s"
PAST_TTL = 1.3


class Offline(HoardTestCase):
    @classmethod
    def setUpClass(cls):
        cls.reg_a = Registry("registry-a").start()
        cls.addClassCleanup(cls.reg_a.stop)
        cls.reg_b = Registry("registry-b").start()
        cls.addClassCleanup(cls.reg_b.stop)
        cls.proxy_a = CountingProxy(cls.reg_a.url).start()
        cls.addClassCleanup(cls.proxy_a.stop)
        cls.proxy_b = CountingProxy(cls.reg_b.url).start()
        cls.addClassCleanup(cls.proxy_b.stop)
        cls.cached = Image(layer_sizes=(3000, 4000))
        cls.cached_index = Index(layer_sizes=(1500,))
        cls.uncached = Image(layer_sizes=(1000,))
        cls.b_cached, cls.b_uncached = Image(layer_sizes=(1200,)), Image(layer_sizes=(1300,))
        cls.reg_a.skopeo_push("library/app", "1", cls.cached)
        cls.reg_a.skopeo_push("library/multi", "1", cls.cached_index)
        cls.reg_a.push_image("library/app", "2", cls.uncached)
        cls.reg_b.push_image("org/tool", "1", cls.b_cached)
        cls.reg_b.push_image("org/tool", "2", cls.b_uncached)

    def upstreams(self, a_extra=None, b_extra=None):
        return [
            oci_upstream(self.proxy_a.url, name="hub", registries=["docker.io"], prefix="hub", default=True, manifest_ttl=TTL, **(a_extra or {})),
            oci_upstream(self.proxy_b.url, name="ghcr", registries=["ghcr.io"], prefix="ghcr", default=False, manifest_ttl=TTL, **(b_extra or {})),
        ]

    def warm_store(self):
        """A store holding library/app:1, library/multi:1 (all platforms) and ghcr org/tool:1."""
        h = Hoard(self.upstreams(), label="hoard-warm-" + self._testMethodName).start()
        try:
            for ref, extra in (("hub/library/app:1", []), ("hub/library/multi:1", ["--all"]), ("ghcr/org/tool:1", [])):
                skopeo("copy", "--src-tls-verify=false", *extra, "docker://%s/%s" % (h.addr, ref), "oci:%s:t" % tmpdir("warm"))
        finally:
            h.close()
        return h.store

    def offline_hoard(self, store, extra=None, a_extra=None, b_extra=None):
        h = Hoard(self.upstreams(a_extra, b_extra), label="hoard-offline-" + self._testMethodName, store=store, extra=extra).start()
        self.addCleanup(h.close)
        return h

    def get(self, hoard, path, method="GET"):
        return harness.request(hoard.addr, method, path, headers={"Accept": CONTAINERD_ACCEPT}, timeout=10)

    def assert_offline_error(self, r, what):
        self.assertIn(r.status, (404, 503), "%s while offline: expected 404/503, got %r%s" % (what, r, self.logs()))
        self.assertLess(r.elapsed, 1.0, "%s: an offline miss must be answered at once" % what)
        try:
            errors = json.loads(r.body)["errors"]
        except (ValueError, KeyError, TypeError):
            self.fail("%s: not an OCI JSON error: %r" % (what, r))
        self.assertTrue(errors and all(e.get("code") for e in errors), repr(r))
        self.assertIn("offline", r.body.decode(errors="replace").lower(), "%s: the error should say hoard is offline: %r" % (what, r))

    def assert_serves_cached(self, hoard, prefix=""):
        for repo, img in (("library/app", self.cached), ("library/multi", self.cached_index)):
            for method in ("HEAD", "GET"):
                r = self.get(hoard, "/v2/%s%s/manifests/1" % (prefix, repo), method)
                self.assertEqual(r.status, 200, "%s cached %s:1 offline: %r%s" % (method, repo, r, self.logs()))
                self.assertEqual(r.header("docker-content-digest"), img.digest)
            for b in img.blobs():
                r = self.get(hoard, "/v2/%s%s/blobs/%s" % (prefix, repo, b.digest))
                self.assertEqual((r.status, r.body == b.data), (200, True), "cached blob offline: %r" % r)
        # a real client, too
        out = tmpdir("copy")
        skopeo("copy", "--all", "--src-tls-verify=false", "docker://%s/%slibrary/multi:1" % (hoard.addr, prefix), "oci:%s:t" % out)
        self.assertEqual(set(os.listdir(os.path.join(out, "blobs", "sha256"))), {o.digest[7:] for o in self.cached_index.all_objects()})

    def assert_refuses_uncached(self, hoard, prefix=""):
        for path in (
            "/v2/%slibrary/app/manifests/2" % prefix,
            "/v2/%slibrary/app/manifests/%s" % (prefix, self.uncached.digest),
            "/v2/%slibrary/app/blobs/%s" % (prefix, self.uncached.layers[0].digest),
            "/v2/%slibrary/nothing/blobs/%s" % (prefix, sha256_digest(b"never")),
        ):
            self.assert_offline_error(self.get(hoard, path), "GET " + path)
            h = self.get(hoard, path, "HEAD")
            self.assertIn(h.status, (404, 503), "HEAD %s offline: %r" % (path, h))

    def test_global_offline(self):
        store = self.warm_store()
        time.sleep(PAST_TTL)  # cached tags are past their TTL: offline must not try to revalidate
        self.proxy_a.reset()
        self.proxy_b.reset()
        hoard = self.offline_hoard(store, extra={"offline": True})
        self.assert_serves_cached(hoard)
        self.assert_refuses_uncached(hoard)
        r = self.get(hoard, "/v2/org/tool/manifests/1?ns=ghcr.io")
        self.assertEqual((r.status, r.header("docker-content-digest")), (200, self.b_cached.digest), repr(r))
        self.assert_offline_error(self.get(hoard, "/v2/org/tool/manifests/2?ns=ghcr.io"), "uncached ghcr tag")
        self.assertEqual(self.proxy_a.requests(), [], "offline: hoard called upstream hub")
        self.assertEqual(self.proxy_b.requests(), [], "offline: hoard called upstream ghcr")

    def test_per_upstream_offline(self):
        store = self.warm_store()
        time.sleep(PAST_TTL)
        self.proxy_a.reset()
        self.proxy_b.reset()
        hoard = self.offline_hoard(store, a_extra={"offline": True})
        self.assert_serves_cached(hoard, prefix="hub/")
        self.assert_refuses_uncached(hoard, prefix="hub/")
        self.assertEqual(self.proxy_a.requests(), [], "hub is offline, yet hoard called it")
        # ghcr is online: its uncached tag is fetched
        r = self.get(hoard, "/v2/org/tool/manifests/2?ns=ghcr.io")
        self.assertEqual((r.status, r.header("docker-content-digest")), (200, self.b_uncached.digest), "online upstream: %r%s" % (r, self.logs()))
        self.assertGreater(len(self.proxy_b.requests()), 0)
        self.assertEqual(self.proxy_a.requests(), [], "hub is offline, yet hoard called it")


if __name__ == "__main__":
    harness.main()
