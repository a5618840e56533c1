#!/usr/bin/python3
"""Issue 4, Done-when 4: scoped routing and the dependency-confusion defence.

`@acme/*` is routed to the private fixture. The public fixture also carries an `@acme/util`
(9.9.9, the impostor) and an `@acme/only-public`. Whatever happens -- a normal install, a 404 from
the private upstream, the private upstream failing or stopped -- the public fixture never receives
a single request naming @acme.
"""

import json
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import harness  # noqa: E402
from harness import (  # noqa: E402
    HoardTestCase,
    NpmClient,
    npm_lock_problems,
    npm_url,
    start_npm_stack,
    write_npm_project,
)

ACME_PATHS = (
    "/npm/@acme%2fonly-public",
    "/npm/@acme%2Fonly-public",
    "/npm/@acme/only-public",
    "/npm/@acme/only-public/-/only-public-1.0.0.tgz",
    "/npm/@acme/only-public/-/@acme/only-public-1.0.0.tgz",
    "/npm/@acme/util/-/util-9.9.9.tgz",
)


class NpmScopes(HoardTestCase):
    @classmethod
    def setUpClass(cls):
        cls.pub, cls.priv, cls.hoard = start_npm_stack(cls)

    def setUp(self):
        self.pub.reset()
        self.priv.reset()
        self.priv.heal()
        if self.priv.server is None:
            self.priv.start()

    def assert_public_never_asked(self, what):
        leaked = [r for r in self.pub.requests() if "@acme" in r.path.lower() or "@acme" in r.body.decode(errors="replace")]
        self.assertEqual(leaked, [], "%s: @acme requests reached the public upstream%s" % (what, self.logs()))

    def test_install_takes_the_private_package(self):
        npm = NpmClient(npm_url(self.hoard), label="npm-scopes")
        project = write_npm_project({"@acme/util": "*"})  # "*": the impostor 9.9.9 would win if it were visible
        npm.install(project)
        expected = {"@acme/util": "1.2.0", "@acme/core": "1.0.0", "fixture-c": "1.0.1"}
        self.assertEqual(npm_lock_problems(project, self.hoard, {"@acme/": self.priv, "": self.pub}, expected), [])
        out = harness.node_eval(project, "console.log(JSON.stringify(require('@acme/util')))")
        self.assertFalse(json.loads(out).get("impostor"), "the public impostor was installed: %s" % out)
        self.assertGreater(self.priv.count(kind="packument", contains="@acme/util"), 0)
        self.assertEqual(self.priv.tarball_count("@acme/util", "1.2.0"), 1)
        self.assert_public_never_asked("install")

        r = npm.run("view", "@acme/util", "version", check=False)
        self.assertEqual((r.rc, r.stdout.strip()), (0, "1.2.0"), repr(r))
        self.assert_public_never_asked("npm view")

    def test_private_404_does_not_fall_back(self):
        for path in ACME_PATHS:
            r = self.hoard.get(path, headers={"Accept": "application/json"})
            self.assertEqual(r.status, 404, "GET %s (absent from the private upstream): %r" % (path, r))
            self.assertIn("error", r.json(), repr(r))
        self.assertGreater(self.priv.count(), 0, "the private upstream was not asked")
        npm = NpmClient(npm_url(self.hoard), label="npm-404")
        r = npm.install(write_npm_project({"@acme/only-public": "^1.0.0"}), check=False)
        self.assertNotEqual(r.rc, 0, "installed an @acme package that only the public upstream has: %r" % r)
        self.assertIn("E404", r.output, repr(r))
        self.assert_public_never_asked("private 404")

    def test_private_failing_does_not_fall_back(self):
        self.priv.fail(503)
        for path in ("/npm/@acme%2fnew-thing", "/npm/@acme/only-public", "/npm/@acme/util/-/util-9.9.9.tgz"):
            r = self.hoard.get(path, headers={"Accept": "application/json"})
            self.assertNotEqual(r.status, 200, "GET %s with the private upstream failing: %r" % (path, r))
        self.priv.heal()
        self.priv.stop()
        for path in ("/npm/@acme%2fnew-thing2", "/npm/@acme/only-public/-/only-public-1.0.0.tgz"):
            r = self.hoard.get(path, headers={"Accept": "application/json"})
            self.assertNotEqual(r.status, 200, "GET %s with the private upstream stopped: %r" % (path, r))
        self.assert_public_never_asked("private upstream down")

    def test_unscoped_and_other_scopes_go_public(self):
        for path in ("/npm/fixture-b", "/npm/@tools%2ffmt"):  # not fetched by the other tests
            r = self.hoard.get(path, headers={"Accept": "application/json"})
            self.assertEqual(r.status, 200, "%s: %r" % (path, r))
        self.assertEqual(self.priv.count(), 0, "the private upstream got requests for public packages: %r" % self.priv.requests())
        self.assertEqual(self.pub.count(kind="packument"), 2)


if __name__ == "__main__":
    harness.main()
