#!/usr/bin/python3
"""Issue 5, Done-when 2: a tampered wheel upstream makes pip fail, nothing is cached; once the
upstream is fixed the install succeeds (and only then is the file cached).

hoard verifies every file against the sha256 on the project page before the response may
complete. Small files are held until verified, so pip gets a clear 502 ("integrity check
failed") instead of bad bytes or a cut connection. The same holds for PEP 658 `.metadata`.
"""

import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from harness import Hoard, HoardTestCase, main  # noqa: E402
from pypi_support import PipClient, PyPIIndex, pypi_upstream, sample_universe, simple_url  # noqa: E402

WHEEL = "acme_core-1.1.0-py3-none-any.whl"
SDIST = "acme_core-1.1.0.tar.gz"


class Tampered(HoardTestCase):
    def setUp(self):
        self.index = PyPIIndex(sample_universe(), label="pypi-fixture").start()
        self.addCleanup(self.index.stop)
        self.hoard = Hoard([pypi_upstream(self.index)], label="hoard-" + self._testMethodName).start()
        self.addCleanup(self.hoard.close)

    def file_path(self, filename, project="acme-core"):
        return "/pypi/files/%s/%s" % (project, filename)

    def test_tampered_wheel(self):
        for name in (WHEEL, SDIST):  # pip would otherwise pick the sdist
            self.index.tamper(name)
        pip = PipClient(simple_url(self.hoard), label="pip-tampered")
        r = pip.install("acme-core==1.1.0", check=False)
        self.assertNotEqual(r.rc, 0, "pip installed a tampered wheel: %r" % r)
        self.assertIn("502", r.output, "pip should report hoard's 502: %r" % r)
        self.assertNotIn("acme-core", pip.installed())

        # what pip got: a clear error naming the digest; counted; not cached
        before = self.index.count(kind="file", contains=WHEEL)
        resp = self.hoard.get(self.file_path(WHEEL))
        self.assertEqual(resp.status, 502, repr(resp))
        self.assertIn(b"integrity check failed", resp.body)
        self.assertIn(self.index.sha256(WHEEL).encode(), resp.body)
        self.assertEqual(self.index.count(kind="file", contains=WHEEL), before + 1, "not cached: asked upstream again")
        self.assertGreaterEqual(self.hoard.metric("hoard_digest_mismatch_total") or 0, 2)

        # fixed upstream: the install succeeds, and the file is now cached
        self.index.untamper()
        pip2 = PipClient(simple_url(self.hoard), label="pip-fixed")
        pip2.install("acme-core==1.1.0")
        self.assertEqual(pip2.installed(), {"acme-core": "1.1.0"})
        fetched = self.index.count(kind="file", contains=WHEEL)
        resp = self.hoard.get(self.file_path(WHEEL))
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.body, self.index.file(WHEEL).data)
        self.assertEqual(self.index.count(kind="file", contains=WHEEL), fetched, "a verified file is served from cache")

    def test_tampered_core_metadata(self):
        meta = WHEEL + ".metadata"
        self.index.tamper(meta)
        resp = self.hoard.get(self.file_path(meta))
        self.assertEqual(resp.status, 502, repr(resp))
        self.assertIn(b"integrity check failed", resp.body)
        self.index.untamper()
        resp = self.hoard.get(self.file_path(meta))
        self.assertEqual(resp.status, 200, repr(resp))
        self.assertEqual(resp.body, self.index.file(WHEEL).metadata)
        self.assertTrue(resp.header("content-type", "").startswith("text/plain"))


if __name__ == "__main__":
    main()
