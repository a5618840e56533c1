#!/usr/bin/python3
"""Issue 4, Done-when 5: packuments as served by hoard.

For unscoped, public-scoped and private-scoped packages, and for the three spellings of a scoped
name (`@s%2fn` as npm and yarn send it, `@s%2Fn` as pnpm does, `@s/n`):
  - the full document (Accept: application/json, what npm 11 sends) and the abbreviated one
    (pnpm's Accept) are valid JSON of the right type, agree with each other and with the fixture
    (versions, dist-tags, integrity, shasum), carry `Vary: Accept`;
  - the corgi keeps engines/os/cpu and `time`, drops readme and the other full-only fields;
  - every `dist.tarball` is hoard's URL in the conventional form, and fetching it gives the bytes
    whose sha512 is `dist.integrity`;
  - ETag + If-None-Match -> 304, per representation;
  - gzip is served to clients that accept it and decodes to the same document;
  - each packument is fetched from the upstream once (the corgi is derived, not fetched).
"""

import base64
import gzip
import hashlib
import sys
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import harness  # noqa: E402
from harness import CORGI, HoardTestCase, npm_url, start_npm_stack, tarball_path  # noqa: E402

FULL_ACCEPT = "application/json"  # npm 11
CORGI_ACCEPT = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"  # pnpm, npm < 10.4

# name -> the paths that must all name it
PACKAGES = {
    "fixture-b": ["/npm/fixture-b"],
    "fixture-native-win32": ["/npm/fixture-native-win32"],
    "@tools/fmt": ["/npm/@tools%2ffmt", "/npm/@tools%2Ffmt", "/npm/@tools/fmt"],
    "@acme/util": ["/npm/@acme%2futil", "/npm/@acme%2Futil", "/npm/@acme/util"],
}
FULL_ONLY = ("readme", "_npmUser", "maintainers", "_nodeVersion", "_npmVersion")


def sri(data):
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


class NpmDocuments(HoardTestCase):
    @classmethod
    def setUpClass(cls):
        cls.pub, cls.priv, cls.hoard = start_npm_stack(cls)

    def fixture(self, name):
        return self.priv if name.startswith("@acme/") else self.pub

    def get(self, path, accept, **extra):
        return self.hoard.get(path, headers=dict({"Accept": accept}, **extra))

    def check_common(self, name, path, r, ctype):
        self.assertEqual(r.status, 200, "GET %s: %r%s" % (path, r, self.logs()))
        self.assertIn(ctype, r.header("content-type", ""), "GET %s content-type" % path)
        self.assertIn("accept", [v.strip().lower() for v in r.header("vary", "").split(",")], "GET %s: Vary must name Accept: %r" % (path, r.headers))
        self.assertIsNone(r.header("content-encoding"), "no Accept-Encoding sent, yet %r" % r.header("content-encoding"))
        doc = r.json()  # valid JSON
        fx = self.fixture(name).packument(name)
        self.assertEqual(doc["name"], name)
        self.assertEqual(doc["dist-tags"], fx["dist-tags"], path)
        self.assertEqual(sorted(doc["versions"]), sorted(fx["versions"]), path)
        base = npm_url(self.hoard).rstrip("/")
        for ver, m in doc["versions"].items():
            fm = fx["versions"][ver]
            self.assertEqual(m["name"], name)
            self.assertEqual(m["version"], ver)
            self.assertEqual(m["dist"]["integrity"], fm["dist"]["integrity"], "%s@%s integrity" % (name, ver))
            self.assertEqual(m["dist"]["shasum"], fm["dist"]["shasum"], "%s@%s shasum" % (name, ver))
            self.assertEqual(m["dist"]["tarball"], base + tarball_path(name, ver), "%s@%s tarball URL must point at hoard" % (name, ver))
            for k in ("dependencies", "optionalDependencies", "engines", "os", "cpu", "bin", "deprecated"):
                self.assertEqual(m.get(k), fm.get(k), "%s@%s field %s" % (name, ver, k))
        self.assertNotIn(self.fixture(name).url, r.body.decode(), "%s: the upstream's address leaked into the document" % path)
        return doc

    def test_full_and_corgi(self):
        for name, paths in PACKAGES.items():
            for path in paths:
                full = self.check_common(name, path, self.get(path, FULL_ACCEPT), "application/json")
                self.assertIn("time", full)
                self.assertIn("readme", full)
                self.assertTrue(all("readme" in m for m in full["versions"].values()), "full document lost per-version fields")

                corgi = self.check_common(name, path, self.get(path, CORGI_ACCEPT), CORGI)
                self.assertIn("modified", corgi)
                self.assertIn("time", corgi, "%s: the corgi must keep `time` (pnpm time-based resolution)" % path)
                self.assertEqual(corgi["time"].get(corgi["dist-tags"]["latest"]), full["time"].get(full["dist-tags"]["latest"]))
                self.assertNotIn("readme", corgi)
                for ver, m in corgi["versions"].items():
                    for k in FULL_ONLY:
                        self.assertNotIn(k, m, "%s@%s: corgi carries full-only field %s" % (name, ver, k))
        # the platform fields that let a client skip a package survive in the corgi
        win = self.get("/npm/fixture-native-win32", CORGI_ACCEPT).json()["versions"]["1.0.0"]
        self.assertEqual((win.get("os"), win.get("cpu")), (["win32"], ["x64"]))
        b = self.get("/npm/fixture-b", CORGI_ACCEPT).json()["versions"]
        self.assertEqual(b["2.1.0"].get("engines"), {"node": ">=14"})
        self.assertIn("deprecated", b["1.0.0"])

        # the corgi is derived from the cached full document: one upstream GET per package
        for name in PACKAGES:
            self.assertEqual(self.fixture(name).count(kind="packument", contains=name), 1, "upstream packument GETs for %s: %r" % (name, self.fixture(name).requests()))

    def test_etag_304(self):
        for name, paths in PACKAGES.items():
            for accept in (FULL_ACCEPT, CORGI_ACCEPT):
                first = self.get(paths[0], accept)
                self.assertEqual(first.status, 200, repr(first))
                etag = first.header("etag")
                self.assertTrue(etag, "%s (%s): no ETag" % (paths[0], accept))
                for path in paths:
                    r = self.get(path, accept, **{"If-None-Match": etag})
                    self.assertEqual(r.status, 304, "GET %s If-None-Match %s (%s): %r" % (path, etag, accept, r))
                    self.assertEqual(r.body, b"")
                    r = self.get(path, accept, **{"If-None-Match": '"something-else"'})
                    self.assertEqual(r.status, 200, "a non-matching If-None-Match must get the document: %r" % r)
            full_etag = self.get(paths[0], FULL_ACCEPT).header("etag")
            corgi_etag = self.get(paths[0], CORGI_ACCEPT).header("etag")
            self.assertNotEqual(full_etag, corgi_etag, "%s: two representations share one ETag" % name)
            r = self.get(paths[0], CORGI_ACCEPT, **{"If-None-Match": full_etag})
            self.assertEqual(r.status, 200, "the full document's ETag must not validate the corgi: %r" % r)

    def test_gzip(self):
        for path, accept in (("/npm/fixture-b", FULL_ACCEPT), ("/npm/@tools%2ffmt", CORGI_ACCEPT)):
            plain = self.get(path, accept)
            zipped = self.get(path, accept, **{"Accept-Encoding": "gzip,deflate"})  # npm's header
            self.assertEqual(zipped.status, 200, repr(zipped))
            self.assertEqual(zipped.header("content-encoding"), "gzip", "%s: gzip accepted but not served: %r" % (path, zipped.headers))
            self.assertIn("accept-encoding", zipped.header("vary", "").lower())
            self.assertEqual(gzip.decompress(zipped.body), plain.body, "%s: gzip copy differs from the document" % path)

    def test_tarballs_from_documents(self):
        for name, paths in PACKAGES.items():
            doc = self.get(paths[-1], FULL_ACCEPT).json()
            for ver, m in doc["versions"].items():
                url = urllib.parse.urlsplit(m["dist"]["tarball"])
                self.assertEqual(url.netloc, self.hoard.addr)
                r = self.hoard.get(url.path)
                self.assertEqual((r.status, r.error), (200, None), "GET %s: %r%s" % (url.path, r, self.logs()))
                self.assertEqual(sri(r.body), m["dist"]["integrity"], "%s@%s bytes" % (name, ver))
                self.assertEqual(hashlib.sha1(r.body).hexdigest(), m["dist"]["shasum"])
        # the old scoped form some lockfiles carry: /@scope/name/-/@scope/name-<ver>.tgz
        r = self.hoard.get("/npm/@acme/util/-/@acme/util-1.2.0.tgz")
        self.assertEqual((r.status, sri(r.body)), (200, self.priv.integrity("@acme/util", "1.2.0")), repr(r))
        r = self.hoard.get("/npm/fixture-b/-/fixture-b-7.7.7.tgz")
        self.assertEqual(r.status, 404, "a version that does not exist: %r" % r)

    def test_missing_package(self):
        for path in ("/npm/no-such-package", "/npm/@tools%2fno-such-package"):
            r = self.get(path, FULL_ACCEPT)
            self.assertEqual(r.status, 404, repr(r))
            self.assertIn("error", r.json(), "npm-style error body: %r" % r)


if __name__ == "__main__":
    harness.main()
