#!/usr/bin/python3
"""Issue 3, Done-when 4: two upstream registries mirrored at once, each behind its own
counting proxy, with different content under the same repository names.

- chosen by `?ns=` (containerd's mirror protocol: docker.io vs ghcr.io) and by path prefix;
- a wrong ns is refused 404 NAME_UNKNOWN and neither upstream sees a request;
- each upstream has its own breaker: one failing does not stop the other.

upstreams:  hub  = docker-registry A <- proxy A  (registries [docker.io], prefix hub, default)
            ghcr = docker-registry B <- proxy B  (registries [ghcr.io],   prefix ghcr)
"""

import json
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import harness  # noqa: E402
from harness import CONTAINERD_ACCEPT, CountingProxy, Hoard, HoardTestCase, Image, Registry, oci_upstream, skopeo, tmpdir


class TwoRegistries(HoardTestCase):
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
        # same names, different content
        cls.a = {r: Image(layer_sizes=(1000, 2000)) for r in ("org/app", "org/ns", "org/prefix", "org/skopeo", "org/breaker")}
        cls.b = {r: Image(layer_sizes=(1500, 2500)) for r in cls.a}
        for repo in cls.a:
            cls.reg_a.push_image(repo, "1", cls.a[repo])
            cls.reg_b.push_image(repo, "1", cls.b[repo])
        cls.hoard = Hoard(cls.upstreams()).start()
        cls.addClassCleanup(cls.hoard.stop)

    @classmethod
    def upstreams(cls):
        breaker = {"failures": 2, "cooldown": "30s"}
        return [
            oci_upstream(cls.proxy_a.url, name="hub", registries=["docker.io"], prefix="hub", default=True, breaker=breaker),
            oci_upstream(cls.proxy_b.url, name="ghcr", registries=["ghcr.io"], prefix="ghcr", default=False, breaker=breaker),
        ]

    def setUp(self):
        self.addCleanup(self.proxy_a.heal)
        self.addCleanup(self.proxy_b.heal)

    def get(self, path, method="GET", hoard=None):
        return harness.request((hoard or self.hoard).addr, method, path, headers={"Accept": CONTAINERD_ACCEPT}, timeout=10)

    def check_image(self, path_of, image, what, hoard=None):
        r = self.get(path_of("manifests/1"), hoard=hoard)
        self.assertEqual(r.status, 200, "%s: %r%s" % (what, r, self.logs()))
        self.assertEqual(r.header("docker-content-digest"), image.digest, "%s answered the other registry's tag" % what)
        for b in image.blobs():
            g = self.get(path_of("blobs/" + b.digest), hoard=hoard)
            self.assertEqual((g.status, g.body == b.data), (200, True), "%s blob %s: %r" % (what, b.digest, g))

    def test_routed_by_ns(self):
        repo = "org/ns"
        a0, b0 = self.proxy_a.count(), self.proxy_b.count()
        self.check_image(lambda rest: "/v2/%s/%s?ns=docker.io" % (repo, rest), self.a[repo], "ns=docker.io")
        self.assertEqual(self.proxy_b.count(), b0, "ns=docker.io reached the ghcr upstream: %r" % self.proxy_b.requests()[b0:])
        self.check_image(lambda rest: "/v2/%s/%s?ns=ghcr.io" % (repo, rest), self.b[repo], "ns=ghcr.io")
        self.assertGreater(self.proxy_a.count(), a0)
        self.assertGreater(self.proxy_b.count(), b0)
        h = self.get("/v2/%s/manifests/1?ns=ghcr.io" % repo, "HEAD")
        self.assertEqual(h.header("docker-content-digest"), self.b[repo].digest)
        self.assertEqual(h.header("oci-namespace"), "ghcr.io", "hoard must echo the ns it used")

    def test_routed_by_prefix(self):
        repo = "org/prefix"
        a0, b0 = self.proxy_a.count(), self.proxy_b.count()
        self.check_image(lambda rest: "/v2/ghcr/%s/%s" % (repo, rest), self.b[repo], "prefix ghcr")
        self.assertEqual(self.proxy_a.count(), a0, "prefix ghcr reached the hub upstream: %r" % self.proxy_a.requests()[a0:])
        self.check_image(lambda rest: "/v2/hub/%s/%s" % (repo, rest), self.a[repo], "prefix hub")
        self.check_image(lambda rest: "/v2/%s/%s" % (repo, rest), self.a[repo], "no ns, no prefix (default upstream)")
        self.assertEqual(
            [p for m, p in self.proxy_b.requests()[b0:] if "/v2/ghcr/" in p], [], "the prefix must be stripped before going upstream"
        )

    def test_skopeo_through_both_prefixes(self):
        repo = "org/skopeo"
        for prefix, image in (("hub", self.a[repo]), ("ghcr", self.b[repo])):
            out = tmpdir("copy-" + prefix)
            skopeo("copy", "--src-tls-verify=false", "docker://%s/%s/%s:1" % (self.hoard.addr, prefix, repo), "oci:%s:t" % out)
            with open(os.path.join(out, "index.json")) as f:
                self.assertEqual([m["digest"] for m in json.load(f)["manifests"]], [image.digest], prefix)
            self.assertEqual(set(os.listdir(os.path.join(out, "blobs", "sha256"))), {o.digest[7:] for o in image.all_objects()}, prefix)

    def test_wrong_ns_refused_and_never_fetched(self):
        repo = "org/app"
        a0, b0 = self.proxy_a.count(), self.proxy_b.count()
        paths = [
            "/v2/%s/manifests/1?ns=evil.example" % repo,
            "/v2/%s/manifests/%s?ns=evil.example" % (repo, self.a[repo].digest),
            "/v2/%s/blobs/%s?ns=evil.example" % (repo, self.a[repo].layers[0].digest),
            "/v2/%s/tags/list?ns=evil.example" % repo,
            "/v2/hub/%s/manifests/1?ns=evil.example" % repo,  # a prefix does not override a bad ns
            "/v2/%s/manifests/1?ns=docker.io.evil.example" % repo,
        ]
        for path in paths:
            r = self.get(path)
            self.assertOciError(r, 404, "NAME_UNKNOWN", "GET " + path)
            h = self.get(path, "HEAD")
            self.assertEqual(h.status, 404, "HEAD %s: %r" % (path, h))
        self.assertEqual(self.proxy_a.count(), a0, "a wrong ns reached the hub upstream: %r" % self.proxy_a.requests()[a0:])
        self.assertEqual(self.proxy_b.count(), b0, "a wrong ns reached the ghcr upstream: %r" % self.proxy_b.requests()[b0:])

    def test_each_upstream_has_its_own_breaker(self):
        repo = "org/breaker"
        hoard = Hoard(self.upstreams(), label="hoard-breaker").start()  # the class hoard keeps closed breakers
        self.addCleanup(hoard.close)
        self.proxy_a.fail(status=503)
        for i in range(3):
            r = self.get("/v2/%s/manifests/x%d?ns=docker.io" % (repo, i), hoard=hoard)
            self.assertEqual(r.status, 503, "hub failing: %r" % r)
        a_attempts = self.proxy_a.count()
        self.get("/v2/%s/manifests/y?ns=docker.io" % repo, hoard=hoard)
        self.assertEqual(self.proxy_a.count(), a_attempts, "hub's breaker (failures: 2) did not open")
        # ghcr is unaffected: uncached content still comes from it
        self.check_image(lambda rest: "/v2/%s/%s?ns=ghcr.io" % (repo, rest), self.b[repo], "ghcr while hub's breaker is open", hoard=hoard)


if __name__ == "__main__":
    harness.main()
