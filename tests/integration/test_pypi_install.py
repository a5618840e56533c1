#!/usr/bin/python3
"""Issue 5, Done-when 1: a real `pip install` into a fresh venv through hoard, plain and with
--require-hashes; then again with the upstream stopped, from hoard's cache.

The fixture index serves real wheels and sdists (nested dependencies, an extra, a yanked
version, a requires-python-excluded version, a non-normalized project name, an sdist-only
project pip builds). Pages come from the index port and files from a separate file host, as
PyPI does; hoard may fetch only from those two (file_hosts).
"""

import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from harness import Hoard, HoardTestCase, main  # noqa: E402
from pypi_support import (  # noqa: E402
    SAMPLE_INSTALLED,
    SAMPLE_MODULES,
    SAMPLE_REQUIREMENTS,
    PipClient,
    PyPIIndex,
    pypi_upstream,
    sample_universe,
    simple_url,
)


class PipInstall(HoardTestCase):
    def setUp(self):
        self.index = PyPIIndex(sample_universe(), label="pypi-fixture").start()
        self.addCleanup(self.index.stop)

    def hoard(self, ttl="10m", store=None):
        h = Hoard([pypi_upstream(self.index, manifest_ttl=ttl)], label="hoard-" + self._testMethodName, store=store).start()
        self.addCleanup(h.close)
        return h

    def check_installed(self, pip):
        self.assertEqual(pip.installed(), SAMPLE_INSTALLED)
        modules = [SAMPLE_MODULES[n] for n in SAMPLE_INSTALLED]
        got = pip.import_versions(modules)
        self.assertEqual(got, {SAMPLE_MODULES[n]: v for n, v in SAMPLE_INSTALLED.items()})

    def test_install_then_upstream_stopped(self):
        hoard = self.hoard(ttl="1s")
        pip = PipClient(simple_url(hoard), label="pip-warm")
        pip.install(*SAMPLE_REQUIREMENTS)
        self.check_installed(pip)
        # every page and file came through hoard from the fixture, each file exactly once
        self.assertGreater(self.index.count(kind="page"), 0)
        files = self.index.requests(kind="file")
        self.assertTrue(files, "no file was fetched from the fixture")
        paths = [r.path for r in files]
        self.assertEqual(len(paths), len(set(paths)), "a file was fetched twice: %s" % paths)
        self.assertTrue(all(r.server == "files" for r in files), "files must come from the file host")

        # upstream gone (connections closed); past the page TTL too: stale pages, cached files
        self.index.stop()
        time.sleep(1.2)
        pip2 = PipClient(simple_url(hoard), label="pip-offline")
        r = pip2.install(*SAMPLE_REQUIREMENTS, check=False)
        self.assertEqual(r.rc, 0, "install with the upstream stopped: %r%s" % (r, self.logs()))
        self.check_installed(pip2)
        stale = [l for l in hoard.access_log() if l.get("cache") == "stale"]
        self.assertTrue(stale, "pages past their TTL should have been served stale")

        # and after a restart of hoard on the same store
        hoard.restart()
        pip3 = PipClient(simple_url(hoard), label="pip-restarted")
        r = pip3.install(*SAMPLE_REQUIREMENTS, check=False)
        self.assertEqual(r.rc, 0, "install after restart, upstream stopped: %r%s" % (r, self.logs()))
        self.check_installed(pip3)

    def test_require_hashes(self):
        hoard = self.hoard()
        pins = dict(SAMPLE_INSTALLED)
        requirements = self.index.requirements_with_hashes(pins)
        pip = PipClient(simple_url(hoard), label="pip-hashes")
        pip.install(require_hashes=requirements)
        self.check_installed(pip)
        # pins whose hashes are none of the files': pip refuses (the check is real). pip picks
        # among the files that match a pin, so every file of that version gets a wrong one.
        wrong = requirements
        for f in self.index.dist("acme-core", "1.1.0").files:
            wrong = wrong.replace(f.sha256, "0" * 64)
        pip2 = PipClient(simple_url(hoard), label="pip-wrong-hash")
        r = pip2.install(require_hashes=wrong, check=False)
        self.assertNotEqual(r.rc, 0, "pip accepted a file whose hash was not pinned: %r" % r)
        self.assertIn("DO NOT MATCH THE HASHES", r.output)

    def test_uncached_with_upstream_down_is_a_server_error(self):
        """pip turns any error into "No matching distribution"; hoard must not add a 404 to that
        when the upstream is merely down, and a failure is not remembered once it is back."""
        hoard = self.hoard()
        self.index.stop()
        r = hoard.get("/pypi/simple/acme-core/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
        self.assertIn(r.status, (502, 503, 504), repr(r))
        self.index.start()
        deadline = time.monotonic() + 40  # the breaker may hold the upstream off for its cooldown
        while True:
            r = hoard.get("/pypi/simple/acme-core/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
            if r.status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        self.assertEqual(r.status, 200, repr(r))
        r = hoard.get("/pypi/simple/no-such-project/")
        self.assertEqual(r.status, 404, "a project the upstream does not have is a 404: %r" % r)


if __name__ == "__main__":
    main()
