#!/usr/bin/python3
"""Issue 4, Done-when 3: a tampered tarball upstream.

The public fixture serves fixture-c@1.0.1 with the right length but wrong bytes, so its sha512 no
longer matches the packument's `dist.integrity`. Two ways of being wrong:
  body  -- the second half flipped: a client's gunzip trips over it early;
  tail  -- only the last 4 bytes (gzip's ISIZE): everything inflates, only the hash tells.
Through hoard, in both cases:
  - hoard never hands out the bad bytes as a complete, successful response;
  - `npm install` fails with an error that says the DATA is bad (EINTEGRITY, or npm's gunzip
    failing with Z_DATA_ERROR/Z_BUF_ERROR, or a hoard 5xx whose message says integrity) -- not a
    "network problem" (ECONNRESET) that sends the user chasing their network;
    (npm itself races its gunzip against its integrity check: even straight from the fixture it
    reports Z_DATA_ERROR or EINTEGRITY depending on timing, hence the set)
  - nothing is cached: the next attempt asks the upstream again;
  - once the upstream serves the right bytes, the install succeeds with the fixture's integrity,
    and the tarball is then served from the store.
"""

import base64
import hashlib
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import harness  # noqa: E402
from harness import (  # noqa: E402
    SAMPLE_DIST_TAGS,
    SAMPLE_REQUIRE_EXPECTED,
    Hoard,
    HoardTestCase,
    NpmRegistry,
    npm_stack_upstreams,
    sample_universe,
    NpmClient,
    npm_lock_problems,
    npm_url,
    sample_require,
    write_npm_project,
)

NAME, VER = "fixture-c", "1.0.1"
TGZ = "/npm/fixture-c/-/fixture-c-1.0.1.tgz"
DATA_ERROR_CODES = ("EINTEGRITY", "Z_DATA_ERROR", "Z_BUF_ERROR")


def sri(data):
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def says_bad_data(output):
    """npm's final error is about the tarball's bytes (see the module doc)."""
    m = re.search(r"npm error code (\S+)", output)
    code = m.group(1) if m else None
    if code in DATA_ERROR_CODES:
        return True
    return bool(code and re.match(r"E5\d\d$", code) and "integrity" in output.lower())


class NpmTampered(HoardTestCase):
    @classmethod
    def setUpClass(cls):
        public, private = sample_universe()
        cls.pub = NpmRegistry(public, label="npm-public", dist_tags=SAMPLE_DIST_TAGS).start()
        cls.addClassCleanup(cls.pub.stop)
        cls.priv = NpmRegistry(private, label="npm-private").start()
        cls.addClassCleanup(cls.priv.stop)
        cls.fixtures = {"@acme/": cls.priv, "": cls.pub}

    def setUp(self):
        # a hoard per test: an empty store, so no test finds a tarball another one cached.
        # A tampered body may count as an upstream failure: keep the breaker out of this concern.
        breaker = {"breaker": {"failures": 1000, "cooldown": "1s"}}
        ups = npm_stack_upstreams(self.pub, self.priv, public_extra=breaker, private_extra=breaker)
        self.hoard = Hoard(ups, label="hoard-" + self._testMethodName).start()
        self.addCleanup(self.hoard.close)
        self.addCleanup(self.pub.untamper)

    def check_tampered(self, where, version=VER):
        name, tgz = NAME, "/npm/fixture-c/-/fixture-c-%s.tgz" % version
        good = self.pub.package(name, version).tarball
        self.pub.tamper(name, version, where)

        # hoard learns the packument (and so the expected integrity) first, as npm would make it
        r = self.hoard.get("/npm/fixture-c", headers={"Accept": "application/json"})
        self.assertEqual(r.status, 200, repr(r))
        self.assertEqual(r.json()["versions"][version]["dist"]["integrity"], sri(good))

        # a direct GET never yields the tampered bytes as a complete 200
        r = self.hoard.get(tgz)
        self.assertFalse(
            r.status == 200 and r.error is None,
            "hoard served a tarball that does not match dist.integrity as a complete 200 (%d bytes)%s" % (len(r.body), self.logs()),
        )
        first = self.pub.tarball_count(name, version)
        self.assertGreaterEqual(first, 1)

        # npm: clean cache, the install fails with an error about the data
        npm = NpmClient(npm_url(self.hoard), label="npm-tampered-" + where)
        project = write_npm_project({"fixture-c": version})
        r = npm.install(project, check=False, timeout=90)
        self.assertNotEqual(r.rc, 0, "install succeeded although %s@%s is tampered: %r" % (name, version, r))
        self.assertTrue(says_bad_data(r.output), "npm should fail with an integrity/data error, got: %r%s" % (r, self.logs()))

        # nothing was cached: the upstream is asked again
        second = self.pub.tarball_count(name, version)
        self.assertGreater(second, first, "npm's attempt did not reach the upstream: a bad tarball was cached?")
        r = self.hoard.get(tgz)
        self.assertFalse(r.status == 200 and r.error is None, "tampered bytes served from cache: %r" % r)
        self.assertGreater(self.pub.tarball_count(name, version), second, "hoard answered from its cache instead of asking the upstream")

        # the upstream is fixed: the install succeeds with the real bytes
        self.pub.untamper()
        npm.fresh_cache()
        project = write_npm_project({"fixture-c": version})
        r = npm.install(project, check=False, timeout=90)
        self.assertEqual(r.rc, 0, "install after the upstream was fixed: %r%s" % (r, self.logs()))
        self.assertEqual(npm_lock_problems(project, self.hoard, self.fixtures, {name: version}), [])
        r = self.hoard.get(tgz)
        self.assertEqual((r.status, r.error, sri(r.body)), (200, None, sri(good)))

        # and now it is cached: the upstream is not asked again
        n = self.pub.tarball_count(name, version)
        r = self.hoard.get(tgz)
        self.assertEqual((r.status, sri(r.body)), (200, sri(good)))
        self.assertEqual(self.pub.tarball_count(name, version), n, "a verified tarball should be served from the store")

    def test_tampered_body(self):
        self.check_tampered("half", "1.0.1")

    def test_tampered_tail(self):
        self.check_tampered("tail", "1.0.1")

    def test_sample_project_after_repair(self):
        """The whole sample project, with a tampered nested dependency, then repaired."""
        self.pub.tamper("fixture-b", "2.1.0")
        npm = NpmClient(npm_url(self.hoard), label="npm-sample")
        r = npm.install(write_npm_project(), check=False, timeout=90)
        self.assertNotEqual(r.rc, 0, repr(r))
        self.assertTrue(says_bad_data(r.output), "npm should fail with an integrity/data error, got: %r" % r)
        self.pub.untamper()
        npm.fresh_cache()
        project = write_npm_project()
        npm.install(project)
        self.assertEqual(npm_lock_problems(project, self.hoard, self.fixtures), [])
        self.assertEqual(sample_require(project), SAMPLE_REQUIRE_EXPECTED)


if __name__ == "__main__":
    harness.main()
