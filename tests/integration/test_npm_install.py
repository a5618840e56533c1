#!/usr/bin/python3
"""Issue 4, Done-when 1: a real `npm install` through hoard.

The sample project (fixture-a -> fixture-b -> fixture-c, @tools/fmt, the private @acme/util ->
@acme/core, an optional win32-only package) is installed with npm 11 and an EMPTY npm cache, hoard
as the only registry. The lockfile's integrity values must equal the fixture's (the tarballs npm
got are the upstream's bytes), every `resolved` URL must point at hoard, and node must be able to
require the installed tree. A second install with another empty npm cache is served from hoard's
store: no upstream tarball or packument request (packument TTL 5 min).

upstreams: npmjs    = public fixture (default)
           internal = private fixture (scope @acme)
"""

import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import harness  # noqa: E402
from harness import (  # noqa: E402
    SAMPLE_PROJECT_TREE,
    SAMPLE_REQUIRE_EXPECTED,
    HoardTestCase,
    NpmClient,
    npm_lock_problems,
    npm_url,
    sample_require,
    start_npm_stack,
    write_npm_project,
)


class NpmInstall(HoardTestCase):
    @classmethod
    def setUpClass(cls):
        cls.pub, cls.priv, cls.hoard = start_npm_stack(cls)
        cls.fixtures = {"@acme/": cls.priv, "": cls.pub}

    def fixture_for(self, name):
        return self.priv if name.startswith("@acme/") else self.pub

    def test_clean_install_nested_deps(self):
        npm = NpmClient(npm_url(self.hoard), label="npm-clean")
        project = write_npm_project()
        r = npm.install(project)

        # npm talked to hoard only, never to a fixture directly
        fetched = re.findall(r"npm http fetch \w+ \S+ (\S+)", r.stderr)
        self.assertTrue(fetched, "npm logged no fetches: %r" % r)
        for url in fetched:
            self.assertTrue(url.startswith(npm_url(self.hoard)), "npm fetched %s, not through hoard: %r" % (url, r))

        problems = npm_lock_problems(project, self.hoard, self.fixtures)
        self.assertEqual(problems, [], "package-lock.json%s" % self.logs())
        self.assertEqual(sample_require(project), SAMPLE_REQUIRE_EXPECTED)
        self.assertTrue(os.path.exists(os.path.join(project, "node_modules", ".bin", "fixture-c")), "bin link of fixture-c missing")
        self.assertFalse(os.path.exists(os.path.join(project, "node_modules", "fixture-native-win32")), "win32-only optional dep installed on Linux")

        # each installed tarball came from its own upstream exactly once; the skipped one never
        for name, ver in SAMPLE_PROJECT_TREE.items():
            want = 0 if name == "fixture-native-win32" else 1
            self.assertEqual(self.fixture_for(name).tarball_count(name, ver), want, "upstream GETs of %s@%s" % (name, ver))
        self.assertEqual(self.pub.count(contains="@acme"), 0, "an @acme request reached the public upstream")

        # warm: another empty npm cache, the same lockfile-free install, served by hoard's store
        pub_before, priv_before = self.pub.count(), self.priv.count()
        npm.fresh_cache()
        project2 = write_npm_project()
        npm.install(project2)
        self.assertEqual(npm_lock_problems(project2, self.hoard, self.fixtures), [])
        self.assertEqual(sample_require(project2), SAMPLE_REQUIRE_EXPECTED)
        self.assertEqual(
            (self.pub.count() - pub_before, self.priv.count() - priv_before),
            (0, 0),
            "warm install within the packument TTL reached the upstreams: %r %r" % (self.pub.requests()[pub_before:], self.priv.requests()[priv_before:]),
        )

        # and `npm ci` from the lockfile (what CI does), fresh cache again
        npm.fresh_cache()
        npm.run("ci", "--no-audit", cwd=project2)
        self.assertEqual(sample_require(project2), SAMPLE_REQUIRE_EXPECTED)


if __name__ == "__main__":
    harness.main()
