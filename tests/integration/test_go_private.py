#!/usr/bin/python3
"""Issue 6, Done-when 4: module paths under a private prefix (corp.example/) go only to the
private upstream: a consumer of corp.example/private/lib builds through hoard, and neither the
public proxy nor its checksum database (nor hoard's /go/sumdb/ routes) ever sees the name."""

import os
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from go_support import GoClient, GoProxyFixture, go_upstreams, read_go_sum, write_consumer  # noqa: E402
from harness import Hoard, HoardTestCase, main  # noqa: E402

PRIVATE = ("corp.example/private/lib", "v1.0.0")
UUID = ("github.com/google/uuid", "v1.3.0")
MAIN = '\tfmt.Println(lib.Greeting())\n\tfmt.Println(uuid.NewSHA1(uuid.NameSpaceDNS, []byte("hoard")))'
OUTPUT = "corp.example/private/lib v1.0.0\na149be05-6351-51aa-9c4e-dde9495c3bc8\n"


class GoPrivate(HoardTestCase):
    def setUp(self):
        self.pub = GoProxyFixture().start()
        self.addCleanup(self.pub.close)
        self.priv = GoProxyFixture(private=True).start()
        self.addCleanup(self.priv.close)
        self.hoard = Hoard(go_upstreams(self.pub, self.priv), label="hoard-" + self._testMethodName).start()
        self.addCleanup(self.hoard.close)

    def assertPublicNeverSawPrivate(self):
        # corp.example/... and corp.example@... (not corp.examples/, a public path)
        leaked = self.pub.requests(contains="corp.example/") + self.pub.requests(contains="corp.example@")
        self.assertEqual(leaked, [], "the public fixture (proxy or checksum database) was asked about corp.example")

    def consumer(self, go):
        return write_consumer(
            os.path.join(go.dir, "consumer"),
            dict([PRIVATE, UUID]),
            ["fmt", "corp.example/private/lib", "github.com/google/uuid"],
            MAIN,
        )

    def test_build_private_and_public_through_hoard(self):
        # GONOSUMDB (not GOPRIVATE: that implies GONOPROXY and would bypass hoard): the go command
        # fetches corp.example through GOPROXY=hoard but verifies it against no checksum database
        go = GoClient(self.hoard, self.pub, label="go-priv", extra={"GONOSUMDB": "corp.example"})
        self.assertNotIn("GONOPROXY", go.env)
        self.assertNotIn("GOPRIVATE", go.env)
        project = self.consumer(go)
        rc, out, err = go.run("mod", "download", "all", cwd=project)
        self.assertEqual(rc, 0, err + self.logs())
        pm = self.priv.module(*PRIVATE)
        self.assertEqual(
            read_go_sum(project),
            sorted(self.pub.go_sum_lines(dict([UUID])) + ["%s %s %s" % (PRIVATE + (pm["h1"],)), "%s %s/go.mod %s" % (PRIVATE + (pm["gomod_h1"],))]),
        )
        rc, out, err = go.run("build", "-o", "consumer", ".", cwd=project)
        self.assertEqual(rc, 0, err)
        run = subprocess.run([os.path.join(project, "consumer")], stdout=subprocess.PIPE, timeout=60)
        self.assertEqual(run.stdout.decode(), OUTPUT)

        # the private module came from the private fixture, the public one from the public fixture
        self.assertEqual(sorted(r.kind for r in self.priv.requests(contains="corp.example/private/lib")), ["info", "mod", "zip"])
        self.assertEqual(self.priv.requests(contains="github.com"), [])
        self.assertEqual(self.pub.count(kind="zip", contains="github.com/google/uuid"), 1)
        self.assertGreater(self.pub.count(kind="sumdb-lookup", contains="github.com/google/uuid@v1.3.0"), 0)
        self.assertPublicNeverSawPrivate()
        # with GONOSUMDB the go command did not even ask hoard's checksum-database routes
        asked = [l.get("path") for l in self.hoard.access_log() if "/sumdb/" in str(l.get("path")) and "corp.example" in str(l.get("path"))]
        self.assertEqual(asked, [])
        self.assertTrue(any("/go/corp.example/private/lib/@v/v1.0.0.zip" in str(l.get("path")) for l in self.hoard.access_log()))

    def test_private_routes_through_hoard(self):
        name = self.pub.name
        # every GOPROXY file of the private module, straight through hoard
        base = "/go/corp.example/private/lib"
        for path in ("/@v/list", "/@latest", "/@v/v1.0.0.info", "/@v/v1.0.0.mod", "/@v/v1.0.0.zip"):
            with self.subTest(path=path):
                r = self.hoard.get(base + path)
                st, _, body = self.priv.fetch("/corp.example/private/lib" + path)
                self.assertEqual((r.status, r.body), (200, body), repr(r))
        # a private path the private upstream does not know: 404, and no fallback to the public one
        for path in ("/go/corp.example/other/@v/list", "/go/corp.example/other/@v/v1.0.0.zip", "/go/corp.example/other/@v/v1.0.0.mod"):
            with self.subTest(path=path):
                self.assertEqual(self.hoard.get(path).status, 404)
        self.assertGreater(self.priv.count(contains="corp.example/other"), 0)

        # the checksum-database routes: a private lookup is refused, not forwarded
        lookup = "/go/sumdb/%s/lookup/corp.example/private/lib@v1.0.0" % name
        for _ in range(2):
            r = self.hoard.get(lookup)
            self.assertEqual(r.status, 403, repr(r))
            self.assertEqual(r.header("content-type"), "text/plain; charset=utf-8")
        self.assertEqual(self.hoard.get("/go/sumdb/%s/lookup/corp.example/other@v0.1.0" % name).status, 403)
        self.assertEqual(self.hoard.get("/go/sumdb/%s/lookup/corp.example@v0.1.0" % name).status, 403)
        # the prefix is path-element bounded: corp.examples/ is public (forwarded, 404 upstream)
        r = self.hoard.get("/go/sumdb/%s/lookup/corp.examples/x@v0.1.0" % name)
        self.assertEqual(r.status, 404, repr(r))
        self.assertEqual(self.pub.count(kind="sumdb-lookup", contains="corp.examples/x@v0.1.0"), 1)
        self.assertPublicNeverSawPrivate()

        # the go command without GONOSUMDB: hoard refuses the lookup, the go command fails, the
        # name still does not leave
        go = GoClient(self.hoard, self.pub, label="go-nosumdb-unset")
        project = self.consumer(go)
        rc, out, err = go.run("mod", "download", "all", cwd=project)
        self.assertNotEqual(rc, 0, out)
        self.assertIn("lookup/corp.example/private/lib@v1.0.0: 403 Forbidden", err)
        self.assertPublicNeverSawPrivate()


if __name__ == "__main__":
    main()
