#!/usr/bin/python3
"""Issue 6, Done-when 5: the checksum-database proxy under /go/sumdb/<name>/. /supported is
answered by hoard; lookups and full tiles are fetched once and kept; the signed tree head
(/latest) and partial tiles are short-TTL; with the upstream stopped, cached lookups and tiles
still serve and /latest is served stale."""

import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from go_support import GoProxyFixture, go_upstreams  # noqa: E402
from harness import Hoard, HoardTestCase, main  # noqa: E402

TTL = 1.0  # manifest_ttl of the upstream below
PAST_TTL = TTL + 0.2


class GoSumdbCache(HoardTestCase):
    def setUp(self):
        self.pub = GoProxyFixture().start()
        self.addCleanup(self.pub.close)
        self.hoard = Hoard(go_upstreams(self.pub, manifest_ttl="1s"), label="hoard-" + self._testMethodName).start()
        self.addCleanup(self.hoard.close)
        self.name = self.pub.name
        # the fixture's own answers, read before any count is taken
        st, _, latest = self.pub.fetch("/sumdb/%s/latest" % self.name)
        self.assertEqual(st, 200)
        self.size = int(latest.split(b"\n")[1])
        # full height-2 tiles 0 and 1 (records 0..7), the height-8 tile 0 partial
        self.assertTrue(8 <= self.size < 256, self.size)
        self.paths = {
            "lookup": "lookup/github.com/google/uuid@v1.3.0",
            "lookup-upper": "lookup/github.com/!burnt!sushi/toml@v1.2.0",
            # height 2: tile 0 of level 0 holds hashes 0..3 -- complete in a tree of >= 4 records
            "full-tile": "tile/2/0/000",
            "full-data-tile": "tile/2/data/000",
            # height 8 (what the go command reads): the tree ends inside tile 0
            "partial-tile": "tile/8/0/000.p/%d" % self.size,
            "partial-data-tile": "tile/8/data/000.p/%d" % self.size,
            "latest": "latest",
        }
        self.upstream_body = {}
        for k, p in self.paths.items():
            st, hd, body = self.pub.fetch("/sumdb/%s/%s" % (self.name, p))
            self.assertEqual(st, 200, "%s: %s %r" % (p, st, body))
            self.upstream_body[k] = body
        self.pub.reset()

    def get(self, key):
        r = self.hoard.get("/go/sumdb/%s/%s" % (self.name, self.paths[key]))
        self.assertEqual(r.status, 200, "%s: %r%s" % (key, r, self.logs()))
        self.assertEqual(r.body, self.upstream_body[key], key)
        return r

    def hits(self, key):
        return self.pub.count(contains="/sumdb/%s/%s" % (self.name, self.paths[key]))

    def cache_results(self, key, count):
        """The access log's "cache" field of the first `count` requests for `key` (a line may be
        written just after its response)."""
        path = "/go/sumdb/%s/%s" % (self.name, self.paths[key])
        lines = [l for l in self.hoard.wait_access_log(path, count) if l.get("path") == path]
        return [l.get("cache") for l in lines][:count]

    def test_supported(self):
        r = self.hoard.get("/go/sumdb/%s/supported" % self.name)
        self.assertEqual(r.status, 200, repr(r))
        self.assertEqual(self.hoard.get("/go/sumdb/sum.golang.org/supported").status, 404)
        self.assertEqual(self.hoard.get("/go/sumdb/sum.other.example/lookup/github.com/google/uuid@v1.3.0").status, 404)
        self.assertEqual(self.pub.count(), 0, "hoard answers /supported itself: %s" % self.pub.requests())

    def test_lookups_and_full_tiles_fetched_once(self):
        keys = ("lookup", "lookup-upper", "full-tile", "full-data-tile")
        for k in keys:
            self.get(k)
            self.assertEqual(self.hits(k), 1, k)
        for k in keys:
            self.get(k)
        time.sleep(PAST_TTL)  # past manifest_ttl: these are immutable, not short-TTL
        for k in keys:
            r = self.get(k)
            self.assertEqual(self.hits(k), 1, "%s was fetched again" % k)
        self.assertEqual(r.header("content-type"), "application/octet-stream")
        self.assertEqual(self.cache_results("full-tile", 3), ["miss", "hit", "hit"])
        # the go command percent-encodes the "!": the same record, the same cache entry
        r = self.hoard.get("/go/sumdb/%s/lookup/github.com/%%21burnt%%21sushi/toml@v1.2.0" % self.name)
        self.assertEqual((r.status, r.body), (200, self.upstream_body["lookup-upper"]))
        self.assertEqual(self.hits("lookup-upper"), 1)

        # hoard's own check of a zip reads the same cached lookup (one record, one fetch)
        zip_path = "/go/github.com/pkg/errors/@v/v0.9.1.zip"
        self.assertEqual(self.hoard.get(zip_path).status, 200)
        lookups = self.pub.count(kind="sumdb-lookup", contains="github.com/pkg/errors@v0.9.1")
        self.assertEqual(lookups, 1)
        r = self.hoard.get("/go/sumdb/%s/lookup/github.com/pkg/errors@v0.9.1" % self.name)
        self.assertEqual(r.status, 200)
        self.assertIn(b"github.com/pkg/errors v0.9.1 h1:", r.body)
        self.assertEqual(self.pub.count(kind="sumdb-lookup", contains="github.com/pkg/errors@v0.9.1"), lookups)

    def test_latest_and_partial_tiles_short_ttl(self):
        keys = ("latest", "partial-tile", "partial-data-tile")
        for k in keys:
            self.get(k)
            self.get(k)  # within the TTL: from hoard
            self.assertEqual(self.hits(k), 1, k)
        time.sleep(PAST_TTL)
        for k in keys:
            self.get(k)
            self.assertEqual(self.hits(k), 2, "%s not asked again after its TTL" % k)
        self.assertEqual(self.cache_results("latest", 4)[0::2], ["miss", "miss"])

    def test_upstream_stopped(self):
        keys = list(self.paths)
        for k in keys:
            self.get(k)
        self.pub.stop()
        time.sleep(PAST_TTL)  # latest and partial tiles are now expired
        for k in keys:
            self.get(k)
        self.assertEqual(self.cache_results("lookup", 2)[-1], "hit")
        self.assertEqual(self.cache_results("full-tile", 2)[-1], "hit")
        self.assertEqual(self.cache_results("latest", 2)[-1], "stale")
        self.assertEqual(self.cache_results("partial-tile", 2)[-1], "stale")
        # what was never cached fails as an upstream failure, never as "not found"
        for p in ("lookup/github.com/davecgh/go-spew@v1.1.1", "tile/2/0/001"):
            r = self.hoard.get("/go/sumdb/%s/%s" % (self.name, p))
            self.assertIn(r.status, (502, 503, 504), "%s: %r" % (p, r))


if __name__ == "__main__":
    main()
