#!/usr/bin/python3
"""Issue 4, Done-when 2: the install keeps working from hoard's cache when the upstream is down.

Warm hoard's store with one install, stop both fixture upstreams (closing their open keep-alive
connections), then install the same project again with a FRESH npm cache: every packument and
tarball must come from hoard. Variants: within the packument TTL, past it (stale-if-error),
and after a hoard restart on the same store. Also: what is not cached fails quickly
with a clear 5xx JSON error -- never a 404, which npm treats as final -- and a transient upstream
failure is not remembered once the upstream is back (no cached 404).
"""

import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import harness  # noqa: E402
from harness import (  # noqa: E402
    SAMPLE_DIST_TAGS,
    SAMPLE_REQUIRE_EXPECTED,
    Hoard,
    HoardTestCase,
    NpmClient,
    NpmRegistry,
    npm_lock_problems,
    npm_stack_upstreams,
    npm_url,
    sample_require,
    sample_universe,
    write_npm_project,
)


class NpmUpstreamDown(HoardTestCase):
    def setUp(self):
        public, private = sample_universe()
        self.pub = NpmRegistry(public, label="npm-public", dist_tags=SAMPLE_DIST_TAGS).start()
        self.addCleanup(self.pub.stop)
        self.priv = NpmRegistry(private, label="npm-private").start()
        self.addCleanup(self.priv.stop)
        self.fixtures = {"@acme/": self.priv, "": self.pub}

    def hoard(self, ttl, store=None, extra=None):
        ups = npm_stack_upstreams(self.pub, self.priv, manifest_ttl=ttl, public_extra=extra, private_extra=extra)
        h = Hoard(ups, label="hoard-" + self._testMethodName, store=store).start()
        self.addCleanup(h.close)
        return h

    def warm(self, hoard):
        npm = NpmClient(npm_url(hoard), label="npm-warm")
        project = write_npm_project()
        npm.install(project)
        self.assertEqual(npm_lock_problems(project, hoard, self.fixtures), [])

    def install_offline(self, hoard):
        npm = NpmClient(npm_url(hoard), label="npm-offline")  # fresh npm cache
        project = write_npm_project()
        r = npm.install(project, check=False, timeout=90)
        self.assertEqual(r.rc, 0, "install with the upstreams stopped: %r%s" % (r, self.logs()))
        self.assertEqual(npm_lock_problems(project, hoard, self.fixtures), [])
        self.assertEqual(sample_require(project), SAMPLE_REQUIRE_EXPECTED)
        return r

    def stop_upstreams(self):
        self.pub.stop()
        self.priv.stop()

    def test_stopped_within_ttl(self):
        hoard = self.hoard("5m")
        self.warm(hoard)
        self.stop_upstreams()
        self.install_offline(hoard)

    def test_stopped_past_ttl(self):
        hoard = self.hoard("1s")
        self.warm(hoard)
        self.stop_upstreams()
        time.sleep(1.3)  # every packument is now past its TTL: revalidation fails, stale is served
        self.install_offline(hoard)

    def test_stopped_after_restart(self):
        """The cache is on disk: a restarted hoard serves it, within the TTL and past it."""
        hoard = self.hoard("2s")
        self.warm(hoard)
        self.stop_upstreams()
        hoard.restart()
        self.install_offline(hoard)
        time.sleep(2.3)
        self.install_offline(hoard)

    def test_uncached_fails_clearly_and_is_not_remembered(self):
        # the breaker would (rightly) keep refusing for its cooldown after the upstream is back
        hoard = self.hoard("5m", extra={"breaker": {"failures": 1000, "cooldown": "1s"}})
        self.stop_upstreams()
        for path in ("/npm/fixture-a", "/npm/@tools%2ffmt", "/npm/fixture-a/-/fixture-a-1.1.0.tgz", "/npm/@acme/util/-/util-1.2.0.tgz"):
            r = hoard.get(path, headers={"Accept": "application/json"}, timeout=30)
            self.assertIn(r.status, (502, 503, 504), "GET %s with the upstream down: want 5xx (npm retries those; 404 is final): %r" % (path, r))
            self.assertLess(r.elapsed, 10.0, "a refused connection must fail fast")
            self.assertIn("error", r.json(), repr(r))
        npm = NpmClient(npm_url(hoard), label="npm-down")
        r = npm.install(write_npm_project({"fixture-a": "^1.0.0"}), check=False, timeout=90)
        self.assertNotEqual(r.rc, 0, "install succeeded with nothing cached and the upstream down: %r" % r)
        self.assertNotIn("E404", r.output, "a down upstream must not look like a missing package: %r" % r)

        # upstream back: the same documents and tarballs are served (the failure was not cached)
        self.pub.start()
        self.priv.start()
        for path in ("/npm/fixture-a", "/npm/@tools%2ffmt", "/npm/fixture-a/-/fixture-a-1.1.0.tgz", "/npm/@acme/util/-/util-1.2.0.tgz"):
            r = hoard.get(path, headers={"Accept": "application/json"})
            self.assertEqual(r.status, 200, "GET %s after the upstream came back: %r%s" % (path, r, self.logs()))

    def test_upstream_503_is_not_a_404(self):
        hoard = self.hoard("5m")
        self.pub.fail(503)
        r = hoard.get("/npm/fixture-b", headers={"Accept": "application/json"})
        self.assertIn(r.status, (502, 503, 504), "upstream 503 on an uncached packument: %r" % r)
        self.assertIn("error", r.json(), repr(r))
        self.assertGreater(self.pub.count(kind="packument", contains="fixture-b"), 0, "hoard did not ask the upstream")
        self.pub.heal()
        r = hoard.get("/npm/fixture-b", headers={"Accept": "application/json"})
        self.assertEqual(r.status, 200, "after the upstream healed: %r%s" % (r, self.logs()))
        self.assertEqual(sorted(r.json()["versions"]), ["1.0.0", "2.0.0", "2.1.0"])


if __name__ == "__main__":
    harness.main()
