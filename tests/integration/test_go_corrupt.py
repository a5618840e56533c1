#!/usr/bin/python3
"""Issue 6, Done-when 3: a module zip (or .mod) whose h1: does not match the checksum database is
refused with a 502 "checksum mismatch", counted in hoard_digest_mismatch_total and never cached;
once the upstream serves the right bytes the download succeeds and go.sum has the right h1."""

import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from go_support import GoClient, GoProxyFixture, go_upstreams, read_go_sum, write_consumer  # noqa: E402
from harness import Hoard, HoardTestCase, main  # noqa: E402

UUID = ("github.com/google/uuid", "v1.3.0")
ERRORS = ("github.com/pkg/errors", "v0.9.1")


class GoCorrupt(HoardTestCase):
    def setUp(self):
        self.pub = GoProxyFixture().start()
        self.addCleanup(self.pub.close)
        self.hoard = Hoard(go_upstreams(self.pub), label="hoard-" + self._testMethodName).start()
        self.addCleanup(self.hoard.close)

    def mismatches(self):
        return self.hoard.metric("hoard_digest_mismatch_total") or 0

    def consumer(self, go, module, version, imp, call):
        return write_consumer(os.path.join(go.dir, "consumer"), {module: version}, ["fmt", imp], "\tfmt.Println(%s)" % call)

    def refused_twice(self, path, kind):
        """GET `path` through hoard twice: each time a 502 naming the mismatch, each time asked of
        the fixture again (nothing was cached)."""
        bodies = []
        for attempt in (1, 2):
            before = self.pub.count(kind=kind, contains=path)
            r = self.hoard.get("/go" + path)
            self.assertEqual(r.status, 502, "attempt %d: %r%s" % (attempt, r, self.logs()))
            self.assertEqual(r.header("content-type"), "text/plain; charset=utf-8")
            self.assertEqual(self.pub.count(kind=kind, contains=path), before + 1, "attempt %d was not forwarded: cached?" % attempt)
            bodies.append(r.body.decode())
        return bodies

    def test_tampered_zip(self):
        mod, ver = UUID
        real = self.pub.module(mod, ver)
        go = GoClient(self.hoard, self.pub, label="go-zip")
        project = self.consumer(go, mod, ver, "github.com/google/uuid", 'uuid.NewSHA1(uuid.NameSpaceDNS, []byte("hoard"))')
        self.pub.tamper(mod, ver, mode="name")
        m0 = self.mismatches()

        rc, out, err = go.run("mod", "download", "all", cwd=project)
        self.assertNotEqual(rc, 0, "the tampered zip was accepted:\n%s" % out)
        self.assertIn("%s/@v/%s.zip: 502 Bad Gateway" % (mod, ver), err)
        self.assertIn("checksum mismatch", err)
        self.assertEqual(self.pub.count(kind="zip"), 1)
        self.assertEqual(self.mismatches(), m0 + 1)

        zip_path = self.pub.zip_path(mod, ver)
        for body in self.refused_twice(zip_path, "zip"):
            self.assertTrue(body.startswith("checksum mismatch: %s@%s.zip" % (mod, ver)), body)
            self.assertIn(real["h1"], body)  # what the checksum database says
            self.assertIn("not cached", body)
        self.assertEqual(self.mismatches(), m0 + 3)

        # a corrupt (undecodable) zip of the same length is refused the same way
        self.pub.tamper(mod, ver, mode="bytes")
        for body in self.refused_twice(zip_path, "zip"):
            self.assertTrue(body.startswith("checksum mismatch: "), body)
        self.assertEqual(self.mismatches(), m0 + 5)

        self.pub.untamper()
        rc, out, err = go.run("mod", "download", "all", cwd=project)
        self.assertEqual(rc, 0, err + self.logs())
        self.assertEqual(read_go_sum(project), self.pub.go_sum_lines({mod: ver}))
        rc, out, err = go.run("run", ".", cwd=project)
        self.assertEqual((rc, out), (0, "a149be05-6351-51aa-9c4e-dde9495c3bc8\n"), err)
        # the good zip is cached now: served without the fixture
        zips = self.pub.count(kind="zip")
        r = self.hoard.get("/go" + zip_path)
        self.assertEqual(r.status, 200)
        self.assertEqual(self.pub.count(kind="zip"), zips)
        self.assertEqual(self.mismatches(), m0 + 5)

    def test_tampered_mod(self):
        mod, ver = ERRORS
        real = self.pub.module(mod, ver)
        go = GoClient(self.hoard, self.pub, label="go-mod")
        project = self.consumer(go, mod, ver, "github.com/pkg/errors", 'errors.New("hoard")')
        self.pub.tamper(mod, ver, mode="mod")
        m0 = self.mismatches()

        rc, out, err = go.run("mod", "download", "all", cwd=project)
        self.assertNotEqual(rc, 0, "the tampered go.mod was accepted:\n%s" % out)
        self.assertIn("%s/@v/%s.mod: 502 Bad Gateway" % (mod, ver), err)
        mod_path = "/%s/@v/%s.mod" % (mod, ver)
        self.assertEqual(self.pub.count(kind="mod", contains=mod_path), 1)

        bodies = self.refused_twice(mod_path, "mod")
        for body in bodies:
            self.assertIn(real["gomod_h1"], body)  # what the checksum database says
            self.assertIn("not cached", body)
        # the same words and the same counter as for a zip (known to fail: see the report)
        with self.subTest("the go command sees 'checksum mismatch'"):
            self.assertIn("checksum mismatch", err)
        with self.subTest("hoard's body says 'checksum mismatch'"):
            self.assertTrue(all(b.startswith("checksum mismatch") for b in bodies), bodies)
        with self.subTest("hoard_digest_mismatch_total counts .mod mismatches"):
            self.assertEqual(self.mismatches(), m0 + 3)

        self.pub.untamper()
        rc, out, err = go.run("mod", "download", "all", cwd=project)
        self.assertEqual(rc, 0, err + self.logs())
        self.assertEqual(read_go_sum(project), self.pub.go_sum_lines({mod: ver}))
        self.assertIn("%s %s/go.mod %s" % (mod, ver, real["gomod_h1"]), read_go_sum(project))
        rc, out, err = go.run("run", ".", cwd=project)
        self.assertEqual((rc, out), (0, "hoard\n"), err)
        # the good .mod is cached now
        mods = self.pub.count(kind="mod")
        self.assertEqual(self.hoard.get("/go" + mod_path).status, 200)
        self.assertEqual(self.pub.count(kind="mod"), mods)


if __name__ == "__main__":
    main()
