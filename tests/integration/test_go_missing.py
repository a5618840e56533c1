#!/usr/bin/python3
"""Issue 6, Done-when 2: a missing module or version gives 404 and a gone module 410, as the
fixture answers; with GOPROXY=hoard,off the go command reports it as it does straight against
the fixture. 404/410 are negatively cached briefly; an upstream 503, reset or timeout is not
cached at all."""

import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from go_support import GoProxyFixture, go_env, go_upstreams, run_go, write_consumer  # noqa: E402
from harness import Hoard, HoardTestCase, main, tmpdir, wait_until  # noqa: E402

# (go command argument, the .info path it asks for, the fixture's status)
GO_CASES = (
    ("example.com/missing@v1.0.0", "/example.com/missing/@v/v1.0.0.info", 404),
    ("github.com/google/uuid@v9.9.9", "/github.com/google/uuid/@v/v9.9.9.info", 404),
    ("example.com/gone/mod@v1.0.0", "/example.com/gone/mod/@v/v1.0.0.info", 410),
)

# Direct GETs: every GOPROXY file of a missing module, a missing version and the gone module.
MISSING_MODULE = ["/example.com/missing/@v/list", "/example.com/missing/@latest"] + [
    "/example.com/missing/@v/v1.0.0" + ext for ext in (".info", ".mod", ".zip")
]
MISSING_VERSION = ["/github.com/google/uuid/@v/v9.9.9" + ext for ext in (".info", ".mod", ".zip")] + [
    "/github.com/%21burnt%21sushi/toml/@v/v9.9.9.info"
]
GONE = ["/example.com/gone/mod/@v/list", "/example.com/gone/mod/@latest"] + ["/example.com/gone/mod/@v/v1.0.0" + ext for ext in (".info", ".mod", ".zip")]


def go_lines(err, *urls):
    """stderr lines of the go command with each proxy URL replaced by PROXY."""
    for u in urls:
        err = err.replace(u, "PROXY")
    return [l.rstrip() for l in err.splitlines() if l.strip()]


class GoMissing(HoardTestCase):
    def setUp(self):
        self.pub = GoProxyFixture().start()
        self.addCleanup(self.pub.close)
        self.hoard = Hoard(go_upstreams(self.pub, manifest_ttl="1s", idle_timeout="1s"), label="hoard-" + self._testMethodName).start()
        self.addCleanup(self.hoard.close)
        self.proxy = "http://%s/go" % self.hoard.addr

    def fixture_hits(self, contains):
        return self.pub.count(contains=contains)

    def test_status_and_body_as_the_fixture_answers(self):
        for path in MISSING_MODULE + MISSING_VERSION + GONE:
            with self.subTest(path=path):
                st, _, fbody = self.pub.fetch(path)
                r = self.hoard.get("/go" + path)
                self.assertIn(st, (404, 410), "fixture: %s %s" % (st, fbody))
                self.assertEqual(r.status, st, "%s: fixture %d %r, hoard %r" % (path, st, fbody, r))
                self.assertEqual(r.header("content-type"), "text/plain; charset=utf-8", repr(r))
                self.assertTrue(r.body.strip(), "empty error body: %r" % r)

    def test_goproxy_off_reports_as_directly(self):
        d = tmpdir("go-off")
        # a go.mod that requires the gone module: the go command asks for its .mod directly
        consumer = write_consumer(os.path.join(d, "consumer"), {"example.com/gone/mod": "v1.0.0"}, ["example.com/gone/mod"], "")
        cases = [(spec, ["mod", "download", spec], None, info_path, status) for spec, info_path, status in GO_CASES]
        cases.append(("example.com/gone/mod@v1.0.0", ["mod", "download"], consumer, "/example.com/gone/mod/@v/v1.0.0.mod", 410))
        for n, (spec, args, cwd, asked, status) in enumerate(cases):
            with self.subTest(args=args, cwd=cwd):
                outputs = {}
                for name, proxy, sumdb in (("direct", self.pub.url, self.pub.gosumdb), ("hoard", self.proxy, self.pub.gosumdb_key)):
                    work = cwd or os.path.join(d, "%s-work%d" % (name, n))
                    os.makedirs(work, exist_ok=True)
                    env = go_env(os.path.join(d, "%s-off%d" % (name, n)), proxy + ",off", sumdb)
                    rc, out, err = run_go(args, env, work)
                    self.assertNotEqual(rc, 0, "%s via %s succeeded: %s" % (spec, name, out))
                    outputs[name + ",off"] = go_lines(err, proxy)
                    # the same without ",off": the go command names the status it got
                    env = go_env(os.path.join(d, "%s-only%d" % (name, n)), proxy, sumdb)
                    rc, out, err = run_go(args, env, work)
                    self.assertNotEqual(rc, 0)
                    outputs[name] = go_lines(err, proxy)
                self.assertEqual(outputs["hoard,off"], outputs["direct,off"])
                self.assertEqual(outputs["hoard,off"], ["go: %s: module lookup disabled by GOPROXY=off" % spec])
                reason = {404: "404 Not Found", 410: "410 Gone"}[status]
                first = "go: %s: reading PROXY%s: %s" % (spec, asked, reason)
                self.assertEqual(outputs["direct"][0], first, outputs["direct"])
                self.assertEqual(outputs["hoard"][0], first, outputs["hoard"])

    def test_negative_caching_is_brief(self):
        # .info, list and @latest: the second and third request within seconds stay in hoard
        for path, status in (
            ("/example.com/missing/@v/v1.0.0.info", 404),
            ("/github.com/google/uuid/@v/v9.9.9.info", 404),
            ("/example.com/missing/@v/list", 404),
            ("/example.com/gone/mod/@v/v1.0.0.info", 410),
            ("/example.com/gone/mod/@latest", 410),
        ):
            with self.subTest(path=path):
                first = self.hoard.get("/go" + path)
                self.assertEqual(first.status, status, repr(first))
                hits = self.fixture_hits(path)
                self.assertEqual(hits, 1)
                for _ in range(2):
                    again = self.hoard.get("/go" + path)
                    self.assertEqual((again.status, again.body), (first.status, first.body))
                    self.assertEqual(again.header("content-type"), "text/plain; charset=utf-8")
                self.assertEqual(self.fixture_hits(path), hits, "a repeated %d reached the fixture" % status)

        # .mod and .zip of a missing module: hoard asks the checksum database first; the answer
        # (404) must be remembered as briefly as any other
        for path in ("/example.com/missing2/@v/v1.0.0.mod", "/example.com/missing2/@v/v1.0.0.zip"):
            with self.subTest(path=path):
                self.assertEqual(self.hoard.get("/go" + path).status, 404)
                hits = self.fixture_hits("example.com/missing2")
                self.assertGreater(hits, 0)
                self.assertEqual(self.hoard.get("/go" + path).status, 404)
                self.assertEqual(self.fixture_hits("example.com/missing2"), hits, "repeated 404 for %s reached the fixture: %s" % (path, self.pub.requests(contains="example.com/missing2")))

        # brief: a module that appears upstream is seen within seconds (hoard keeps a 404 ~10 s)
        path = "/go/github.com/pkg/errors/@v/list"
        self.pub.hide("github.com/pkg/errors")
        t0 = time.monotonic()
        self.assertEqual(self.hoard.get(path).status, 404)
        self.pub.unhide("github.com/pkg/errors")
        self.assertEqual(self.hoard.get(path).status, 404, "the 404 is remembered")
        self.assertEqual(self.fixture_hits("/github.com/pkg/errors/@v/list"), 1)
        self.assertTrue(wait_until(lambda: self.hoard.get(path).status == 200, 20, interval=0.5), "404 kept longer than 20 s")
        self.assertLess(time.monotonic() - t0, 20)
        self.assertEqual(self.hoard.get(path).body, b"v0.9.1\n")

    def test_upstream_failure_is_not_cached(self):
        cases = (
            ("503", lambda: self.pub.fail(503), "/github.com/google/uuid/@v/v1.3.0.info"),
            ("reset", lambda: self.pub.fail(503, close=True), "/github.com/google/uuid/@v/v1.2.0.info"),
            ("timeout", lambda: self.pub.delay(3000, kinds=["info"]), "/github.com/pkg/errors/@v/v0.9.1.info"),
        )
        for name, breakit, path in cases:
            with self.subTest(failure=name):
                breakit()
                t0 = time.monotonic()
                bad = self.hoard.get("/go" + path)
                took = time.monotonic() - t0
                self.pub.heal()
                self.pub.delay(0)
                self.assertIn(bad.status, (502, 503, 504), repr(bad))
                self.assertEqual(bad.header("content-type"), "text/plain; charset=utf-8")
                if name == "timeout":
                    self.assertEqual(bad.status, 504, repr(bad))
                    self.assertLess(took, 2.9, "idle_timeout 1s not applied")
                hits = self.fixture_hits(path)
                good = self.hoard.get("/go" + path)
                self.assertEqual(good.status, 200, "%s was remembered: %r" % (name, good))
                self.assertIn(b'"Version"', good.body)
                self.assertEqual(self.fixture_hits(path), hits + 1)

        # a 5xx is no "not found": the go command does not fall back past hoard to "off"
        self.pub.fail(503)
        d = tmpdir("go-503")
        rc, out, err = run_go(["mod", "download", "golang.org/x/sync@v0.1.0"], go_env(os.path.join(d, "home"), self.proxy + ",off", self.pub.gosumdb_key), d)
        self.pub.heal()
        self.assertNotEqual(rc, 0)
        self.assertNotIn("module lookup disabled by GOPROXY=off", err)
        self.assertIn("golang.org/x/sync/@v/v0.1.0.info: 502 Bad Gateway", err)


if __name__ == "__main__":
    main()
