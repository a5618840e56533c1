#!/usr/bin/python3
"""Issue 3, Done-when 2: the upstream stops.

- A cached tag (past its TTL) and all its blobs still pull, with skopeo and with ctr; the
  access log says cache "stale" for the tag.
- An uncached tag fails within 2 s with an OCI JSON error (no hang): upstream refusing
  connections, answering 503, closing connections unanswered, or hanging (timeouts).
- The circuit breaker: after `failures` consecutive failures hoard stops calling the
  upstream for `cooldown` (the counting proxy sees nothing more), then lets exactly one
  probe through.

upstream: docker-registry <- counting proxy (failure modes) <- hoard (manifest_ttl: 1s)
"""

import json
import os
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import harness  # noqa: E402
from harness import (  # noqa: E402
    CONTAINERD_ACCEPT,
    CountingProxy,
    Hoard,
    HoardTestCase,
    Image,
    Index,
    Registry,
    oci_upstream,
    run_concurrently,
    sha256_digest,
    skopeo,
    tmpdir,
    write_hosts_dir,
)

TTL = 1.0
PAST_TTL = TTL + 0.3
FAIL_FAST = 2.0  # seconds: what "fails fast, no hang" means here


def upstream_cfg(url, **extra):
    cfg = dict(manifest_ttl="1s", connect_timeout="1s", idle_timeout="2s", breaker={"failures": 3, "cooldown": "30s"})
    cfg.update(extra)
    return oci_upstream(url, **cfg)


class StaleMixin:
    def assert_fast_oci_error(self, r, what, statuses=(503,)):
        self.assertIn(r.status, statuses, "%s: expected %s, got %r%s" % (what, statuses, r, self.logs()))
        self.assertLess(r.elapsed, FAIL_FAST, "%s took %.2fs: must fail fast, not hang" % (what, r.elapsed))
        try:
            errors = json.loads(r.body).get("errors")
        except (ValueError, AttributeError):
            errors = None
        self.assertTrue(errors and all("code" in e for e in errors), "%s: body is not an OCI error: %r" % (what, r))

    def stale_tag_lines(self, hoard, repo, tag, at_least=1):
        """Access-log lines of the tag with cache "stale", waiting (bounded) for `at_least`: a
        line may be written just after the client saw the response."""
        path = "/v2/%s/manifests/%s" % (repo, tag)

        def stale():
            return [l for l in hoard.access_log() if str(l.get("path", "")).split("?")[0] == path and l.get("cache") == "stale"]

        harness.wait_until(lambda: len(stale()) >= at_least, 5)
        return stale()


class UpstreamStopped(StaleMixin, HoardTestCase):
    """Warm through hoard, then stop the upstream for good (connection refused)."""

    @classmethod
    def setUpClass(cls):
        cls.reg = Registry().start()
        cls.addClassCleanup(cls.reg.stop)
        cls.proxy = CountingProxy(cls.reg.url).start()
        cls.addClassCleanup(cls.proxy.stop)
        cls.image = Image(layer_sizes=(4096, 20000, 1000))
        cls.index = Index(layer_sizes=(3000, 2000))
        cls.reg.skopeo_push("library/small", "1", cls.image)
        cls.reg.skopeo_push("library/multi", "1", cls.index)
        cls.hoard = Hoard([upstream_cfg(cls.proxy.url)]).start()
        cls.addClassCleanup(cls.hoard.stop)
        # warm: everything skopeo and ctr will ask for
        for ref, extra in (("library/small:1", []), ("library/multi:1", ["--all"])):
            skopeo("copy", "--src-tls-verify=false", *extra, "docker://%s/%s" % (cls.hoard.addr, ref), "oci:%s:t" % tmpdir("warm"))
        cls.proxy.stop()  # refuses connections from now on, open keep-alive connections included
        time.sleep(PAST_TTL)

    def copy_and_check(self, ref, image, all_images=False):
        out = tmpdir("copy")
        args = ["copy", "--src-tls-verify=false"] + (["--all"] if all_images else [])
        skopeo(*(args + ["docker://%s/%s" % (self.hoard.addr, ref), "oci:%s:t" % out]))
        with open(os.path.join(out, "index.json")) as f:
            self.assertEqual([m["digest"] for m in json.load(f)["manifests"]], [image.digest])
        names = set(os.listdir(os.path.join(out, "blobs", "sha256")))
        self.assertEqual(names, {o.digest[7:] for o in image.all_objects()}, "copied objects differ from upstream's")
        for n in names:
            with open(os.path.join(out, "blobs", "sha256", n), "rb") as f:
                self.assertEqual(sha256_digest(f.read())[7:], n)

    def test_skopeo_pulls_cached_tags_while_upstream_down(self):
        self.copy_and_check("library/small:1", self.image)
        self.copy_and_check("library/multi:1", self.index, all_images=True)
        for repo in ("library/small", "library/multi"):
            self.assertTrue(
                self.stale_tag_lines(self.hoard, repo, "1"),
                "no access-log line with cache \"stale\" for %s:1 while the upstream is down%s" % (repo, self.logs()),
            )

    def test_ctr_pulls_cached_tag_while_upstream_down(self):
        if os.geteuid() != 0:
            raise unittest.SkipTest("containerd needs root")
        from test_oci_containerd import Containerd  # the private-containerd fixture

        containerd = Containerd().start()
        self.addCleanup(containerd.stop)
        hosts = write_hosts_dir(self.hoard.addr)
        for ref, image, platform in (
            ("docker.io/library/small:1", self.image, None),
            ("docker.io/library/multi:1", self.index, "linux/arm64"),
        ):
            before = len(self.stale_tag_lines(self.hoard, ref.split("/", 1)[1].split(":")[0], "1"))
            args = ["image", "pull", "--hosts-dir", hosts, "--snapshotter", "native"] + (["--platform", platform] if platform else []) + [ref]
            containerd.ctr(*args, timeout=60)
            self.assertEqual(containerd.image_digest(ref), image.digest)
            wanted = image.all_objects() if platform is None else [image.manifest] + [i for i in image.images if i.arch == "arm64"][0].all_objects()
            missing = {o.digest for o in wanted} - containerd.content()
            self.assertFalse(missing, "%s: content store lacks %s" % (ref, sorted(missing)))
            after = self.stale_tag_lines(self.hoard, ref.split("/", 1)[1].split(":")[0], "1", at_least=before + 1)
            self.assertGreater(len(after), before, "ctr's tag resolve of %s was not logged as stale%s" % (ref, self.logs()))
            self.assertIn("ns=docker.io", after[-1].get("path", ""), "ctr's request should carry ns=docker.io: %r" % after[-1])

    def test_uncached_fails_fast_with_oci_error(self):
        for path in (
            "/v2/library/small/manifests/not-cached",
            "/v2/library/other/manifests/1",
            "/v2/library/small/blobs/" + sha256_digest(b"never pushed"),
        ):
            for method in ("GET", "HEAD"):
                r = harness.request(self.hoard.addr, method, path, headers={"Accept": CONTAINERD_ACCEPT}, timeout=10)
                if method == "HEAD":
                    self.assertIn(r.status, (503,), "HEAD %s: %r" % (path, r))
                    self.assertLess(r.elapsed, FAIL_FAST)
                else:
                    self.assert_fast_oci_error(r, "GET " + path)


class Breaker(StaleMixin, HoardTestCase):
    """Counting-proxy failure modes: every attempt hoard makes is counted."""

    @classmethod
    def setUpClass(cls):
        cls.reg = Registry().start()
        cls.addClassCleanup(cls.reg.stop)
        cls.proxy = CountingProxy(cls.reg.url).start()
        cls.addClassCleanup(cls.proxy.stop)
        cls.image = Image(layer_sizes=(2000, 3000))
        cls.reg.push_image("library/app", "1", cls.image)
        cls.reg.push_image("library/app", "2", Image(layer_sizes=(1000,)))

    def setUp(self):
        self.addCleanup(self.proxy.heal)

    def new_hoard(self, **extra):
        h = Hoard([upstream_cfg(self.proxy.url, **extra)], label="hoard-" + self._testMethodName).start()
        self.addCleanup(h.close)
        return h

    def warm(self, hoard):
        r = hoard.get("/v2/library/app/manifests/1", headers={"Accept": CONTAINERD_ACCEPT})
        self.assertEqual(r.status, 200, repr(r) + self.logs())
        for b in self.image.blobs():
            self.assertEqual(hoard.get("/v2/library/app/blobs/" + b.digest).status, 200)

    def check_breaker(self, mode, max_attempts):
        """breaker {failures: 3, cooldown: 30s}; the proxy fails in `mode`."""
        hoard = self.new_hoard()
        self.warm(hoard)
        time.sleep(PAST_TTL)
        self.proxy.fail(**mode)
        self.proxy.reset()
        for i in range(3):
            r = hoard.get("/v2/library/app/manifests/missing-%d" % i, headers={"Accept": CONTAINERD_ACCEPT}, timeout=10)
            self.assert_fast_oci_error(r, "uncached tag #%d with the upstream failing (%r)" % (i, mode))
        attempts = self.proxy.count()
        self.assertGreaterEqual(attempts, 1, "hoard never tried the upstream")
        self.assertLessEqual(
            attempts, max_attempts, "3 client requests made %d upstream attempts: %r" % (attempts, self.proxy.requests())
        )
        # the breaker is open: nothing reaches the upstream, answers stay fast, cache still serves
        for i in range(4):
            r = hoard.get("/v2/library/app/manifests/other-%d" % i, headers={"Accept": CONTAINERD_ACCEPT}, timeout=10)
            self.assert_fast_oci_error(r, "uncached tag with the breaker open")
        r = hoard.get("/v2/library/other/blobs/" + sha256_digest(b"x"), timeout=10)
        self.assert_fast_oci_error(r, "uncached blob with the breaker open")
        r = hoard.get("/v2/library/app/manifests/1", headers={"Accept": CONTAINERD_ACCEPT}, timeout=10)
        self.assertEqual((r.status, r.header("docker-content-digest")), (200, self.image.digest), "cached tag: %r%s" % (r, self.logs()))
        self.assertLess(r.elapsed, FAIL_FAST)
        self.assertTrue(self.stale_tag_lines(hoard, "library/app", "1"), "the expired cached tag was not logged stale" + self.logs())
        for b in self.image.blobs():
            self.assertEqual(hoard.get("/v2/library/app/blobs/" + b.digest).status, 200, "cached blob with the breaker open")
        self.assertEqual(
            self.proxy.count(),
            attempts,
            "the breaker should have stopped upstream attempts after 3 failures; new attempts: %r%s"
            % (self.proxy.requests()[attempts:], self.logs()),
        )

    def test_breaker_opens_on_503(self):
        self.check_breaker({"status": 503}, max_attempts=3)

    def test_breaker_opens_on_closed_connections(self):
        # libcurl retries once on a reused connection that dies unanswered: allow 2 per failure
        self.check_breaker({"close": True}, max_attempts=6)

    def test_breaker_probes_once_after_cooldown(self):
        hoard = self.new_hoard(breaker={"failures": 2, "cooldown": "2s"})
        self.proxy.fail(status=503)
        for i in range(2):
            self.assert_fast_oci_error(hoard.get("/v2/library/app/manifests/m-%d" % i, timeout=10), "failure %d" % i)
        opened = self.proxy.count()
        self.assert_fast_oci_error(hoard.get("/v2/library/app/manifests/m-x", timeout=10), "breaker open")
        self.assertEqual(self.proxy.count(), opened, "breaker did not open after 2 failures: %r" % self.proxy.requests())

        time.sleep(2.3)  # past the cooldown: exactly one probe goes out
        results = run_concurrently([lambda i=i: hoard.get("/v2/library/app/manifests/p-%d" % i, timeout=10) for i in range(4)])
        for r in results:
            self.assert_fast_oci_error(r, "request during the probe")
        self.assertEqual(
            self.proxy.count() - opened,
            1,
            "after the cooldown exactly one probe may reach the upstream; it saw %r%s" % (self.proxy.requests()[opened:], self.logs()),
        )

        # the probe failed: open again. Heal; after the next cooldown the probe succeeds and traffic flows.
        self.proxy.heal()
        self.assert_fast_oci_error(hoard.get("/v2/library/app/manifests/1", timeout=10), "breaker re-opened after a failed probe")
        time.sleep(2.3)
        for tag, digest in (("1", self.image.digest), ("2", None)):
            r = hoard.get("/v2/library/app/manifests/" + tag, headers={"Accept": CONTAINERD_ACCEPT}, timeout=10)
            self.assertEqual(r.status, 200, "after recovery %s: %r%s" % (tag, r, self.logs()))
            if digest:
                self.assertEqual(r.header("docker-content-digest"), digest)

    def test_hanging_upstream_times_out(self):
        hoard = self.new_hoard(idle_timeout="1s", connect_timeout="1s")
        self.warm(hoard)
        time.sleep(PAST_TTL)
        self.proxy.fail(hang=True)
        self.proxy.reset()
        r = hoard.get("/v2/library/app/manifests/1", headers={"Accept": CONTAINERD_ACCEPT}, timeout=10)
        self.assertEqual((r.status, r.header("docker-content-digest")), (200, self.image.digest), "stale tag, upstream hanging: %r%s" % (r, self.logs()))
        self.assertLess(r.elapsed, FAIL_FAST, "serving stale waited %.2fs on a hanging upstream (idle_timeout 1s)" % r.elapsed)
        self.assertTrue(self.proxy.count() >= 1, "hoard did not even try the upstream for the expired tag")
        r = hoard.get("/v2/library/app/manifests/never", headers={"Accept": CONTAINERD_ACCEPT}, timeout=10)
        self.assert_fast_oci_error(r, "uncached tag, upstream hanging", statuses=(503, 504))


if __name__ == "__main__":
    harness.main()
