#!/usr/bin/python3
"""Issue 6, Done-when 1 (and the checksum-database routes of 5): real `go mod download` and
`go build` of a sample module with GOPROXY=hoard and the checksum database verified through
hoard; go.sum equal to the direct run; again with the upstream stopped, from cache."""

import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from go_support import GoClient, GoProxyFixture, copy_sample, go_env, go_upstreams, run_go  # noqa: E402
from harness import tmpdir  # noqa: E402
from harness import Hoard, HoardTestCase, main  # noqa: E402


def read_sum(project):
    with open(os.path.join(project, "go.sum")) as f:
        return sorted(l for l in f.read().splitlines() if l.strip())


class GoDownload(HoardTestCase):
    def setUp(self):
        self.pub = GoProxyFixture().start()
        self.addCleanup(self.pub.close)
        self.hoard = Hoard(go_upstreams(self.pub, manifest_ttl="1s"), label="hoard-" + self._testMethodName).start()
        self.addCleanup(self.hoard.close)

    def download_and_build(self, label):
        go = GoClient(self.hoard, self.pub, label=label)
        project = go.sample()
        for args in (("mod", "download", "-x"), ("mod", "download", "all"), ("build", "-o", "sample", ".")):
            rc, out, err = go.run(*args, cwd=project)
            self.assertEqual(rc, 0, "go %s through hoard failed:\n%s\n%s%s" % (" ".join(args), out, err[-3000:], self.logs()))
        return project

    def direct_sum(self):
        """go.sum of the same download straight from the fixture (its own checksum database)."""
        d = tmpdir("go-direct")
        project = copy_sample(os.path.join(d, "sample"))
        env = go_env(os.path.join(d, "home"), self.pub.url, self.pub.gosumdb)
        rc, out, err = run_go(["mod", "download", "all"], env, project)
        self.assertEqual(rc, 0, "direct download: %s %s" % (out, err))
        self.pub.reset()
        return read_sum(project)

    def test_download_build_then_upstream_stopped(self):
        direct = self.direct_sum()
        project = self.download_and_build("go-warm")
        self.assertEqual(read_sum(project), direct)
        # the checksum database was reached only through hoard, and each zip fetched once
        self.assertGreater(self.pub.count(kind="sumdb-lookup"), 0)
        zips = [r.path for r in self.pub.requests(kind="zip")]
        self.assertEqual(len(zips), len(set(zips)), "a zip was fetched twice: %s" % zips)

        self.pub.stop()
        project2 = self.download_and_build("go-offline")
        self.assertEqual(read_sum(project2), direct)

    def test_sumdb_routes(self):
        name = self.pub.name
        r = self.hoard.get("/go/sumdb/%s/supported" % name)
        self.assertEqual(r.status, 200)
        self.assertEqual(self.hoard.get("/go/sumdb/sum.other.example/supported").status, 404)
        # lookups are immutable: the second one is not forwarded
        path = "/go/sumdb/%s/lookup/github.com/google/uuid@v1.3.0" % name
        first = self.hoard.get(path)
        self.assertEqual(first.status, 200, repr(first))
        self.assertIn(b"github.com/google/uuid v1.3.0 h1:", first.body)
        before = self.pub.count(kind="sumdb-lookup")
        self.assertEqual(self.hoard.get(path).body, first.body)
        self.assertEqual(self.pub.count(kind="sumdb-lookup"), before)
        # latest is short-TTL: asked again after it expires
        self.assertEqual(self.hoard.get("/go/sumdb/%s/latest" % name).status, 200)


if __name__ == "__main__":
    main()
