#!/usr/bin/python3
"""Issue 7, supply-chain gate: a deny-listed digest/version is refused in each ecosystem within
1 s of SIGHUP even when cached (403 in the protocol's format), while its neighbours still work;
the deny-list file alone changing (no signal) is picked up too; a deny-list that fails to parse
keeps the old one; an allow-list limits what is fetched upstream but not what is cached."""

import hashlib
import json
import os
import signal
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import harness  # noqa: E402
from go_support import GoProxyFixture, go_upstreams  # noqa: E402
from harness import (  # noqa: E402
    MANIFEST_ACCEPT,
    Hoard,
    HoardTestCase,
    Image,
    NpmRegistry,
    Registry,
    main,
    npm_upstream,
    oci_upstream,
    tarball_path,
    tmpdir,
    wait_until,
)
from harness import sample_universe as npm_universe  # noqa: E402
from pypi_support import PyPIIndex, pypi_upstream  # noqa: E402
from pypi_support import sample_universe as pypi_universe  # noqa: E402

PYPI_JSON = "application/vnd.pypi.simple.v1+json"
WITHIN_S = 1.0


def write_list(path, lines):
    # Written in place (not renamed): the watcher must see a same-inode change too.
    with open(path, "w") as f:
        f.write("# written by test_policy_deny\n" + "".join(l + "\n" for l in lines))


class PolicyBase(HoardTestCase):
    list_key = "deny_list"

    @classmethod
    def start_hoard(cls, upstreams, label):
        cls.list_path = os.path.join(tmpdir(label + "-policy"), "list.txt")
        write_list(cls.list_path, cls.initial_lines())
        cls.hoard = Hoard(upstreams, label=label, extra={"policy": {cls.list_key: cls.list_path}}).start()
        cls.addClassCleanup(cls.hoard.close)

    @classmethod
    def initial_lines(cls):
        return []

    def reloads(self):
        return self.hoard.metric("hoard_policy_reloads_total") or 0

    def set_list(self, lines, sighup=True):
        """Writes the list and (by default) sends SIGHUP; returns the time of the change."""
        write_list(self.list_path, lines)
        t0 = time.monotonic()
        if sighup:
            os.kill(self.hoard.proc.pid, signal.SIGHUP)
        return t0

    def set_list_and_wait(self, lines):
        """For set-up and clean-up: the new list is in force when this returns."""
        before = self.reloads()
        self.set_list(lines)
        self.assertTrue(wait_until(lambda: self.reloads() > before, 5), "no reload seen" + self.logs())

    def refused_within(self, t0, path, headers=None, entry=None):
        """Polls `path` until it is refused with 403 (naming `entry`, when given: the list
        before the change may refuse it too, by another entry); asserts that happens within
        1 s of t0."""
        while True:
            r = self.hoard.get(path, headers=headers)
            named = entry is None or ("(%s)" % entry).encode() in r.body
            if (r.status == 403 and named) or time.monotonic() - t0 > WITHIN_S:
                break
            time.sleep(0.02)
        elapsed = time.monotonic() - t0
        self.assertEqual(r.status, 403, "%s not refused within %.1f s: %r%s" % (path, WITHIN_S, r, self.logs()))
        self.assertLessEqual(elapsed, WITHIN_S + 0.1, path)
        return r

    def assertDeniedJson(self, r, entry, key="error"):
        self.assertEqual(r.header("content-type").split(";")[0], "application/json", repr(r))
        self.assertEqual(r.json()[key], "denied by hoard policy (%s)" % entry, repr(r))

    def assertOciDenied(self, r, entry):
        self.assertEqual(r.status, 403, repr(r))
        self.assertEqual(r.header("content-type"), "application/json", repr(r))
        errors = r.json()["errors"]
        self.assertEqual(errors[0]["code"], "DENIED", repr(r))
        self.assertEqual(errors[0]["message"], "denied by hoard policy (%s)" % entry, repr(r))

    def get_ok(self, path, headers=None):
        r = self.hoard.get(path, headers=headers)
        self.assertEqual(r.status, 200, "%s: %r%s" % (path, r, self.logs()))
        return r


class DenyList(PolicyBase):
    @classmethod
    def setUpClass(cls):
        # OCI: docker-registry with two tags of one repository and a second repository.
        cls.reg = Registry().start()
        cls.addClassCleanup(cls.reg.stop)
        cls.img1, cls.img2 = Image(layer_sizes=(3000, 1500)), Image(layer_sizes=(2000,))
        cls.reg.push_image("library/app", "1", cls.img1)
        cls.reg.push_image("library/app", "2", cls.img2)
        # npm, PyPI and Go fixtures.
        public, _ = npm_universe()
        cls.npm = NpmRegistry(public, label="npm-public").start()
        cls.addClassCleanup(cls.npm.stop)
        cls.pypi = PyPIIndex(pypi_universe(), label="pypi-fixture").start()
        cls.addClassCleanup(cls.pypi.stop)
        cls.go = GoProxyFixture().start()
        cls.addClassCleanup(cls.go.close)
        ups = [oci_upstream(cls.reg.url), npm_upstream(cls.npm.url), pypi_upstream(cls.pypi)]
        ups += go_upstreams(cls.go)
        cls.start_hoard(ups, "hoard-deny")

    def tearDown(self):
        self.set_list_and_wait([])

    # ---- OCI -------------------------------------------------------------------------------
    def test_oci(self):
        accept = {"Accept": MANIFEST_ACCEPT}
        tag1, tag2 = "/v2/library/app/manifests/1", "/v2/library/app/manifests/2"
        by_digest = "/v2/library/app/manifests/" + self.img1.digest
        layer1 = "/v2/library/app/blobs/" + self.img1.layers[0].digest
        layer1b = "/v2/library/app/blobs/" + self.img1.layers[1].digest
        layer2 = "/v2/library/app/blobs/" + self.img2.layers[0].digest
        for p in (tag1, tag2, by_digest):
            self.assertEqual(self.get_ok(p, accept).header("docker-content-digest"), self.img1.digest if p != tag2 else self.img2.digest)
        for p in (layer1, layer1b, layer2):
            self.get_ok(p)  # cached now
        denied_before = self.hoard.metric("hoard_policy_denied_total") or 0

        # The manifest by digest (which denies its tag once resolved) and one layer of it.
        layer_entry = "oci:docker.io/library/app@" + self.img1.layers[0].digest
        t0 = self.set_list([self.img1.digest, layer_entry])
        r = self.refused_within(t0, by_digest, accept)
        self.assertOciDenied(r, self.img1.digest)
        self.assertOciDenied(self.hoard.get(tag1, headers=accept), self.img1.digest)
        self.assertOciDenied(self.hoard.get(layer1), layer_entry)
        # Neighbours: the other tag, its layer, the other layer of the denied image.
        self.assertEqual(self.get_ok(tag2, accept).header("docker-content-digest"), self.img2.digest)
        self.get_ok(layer2)
        self.get_ok(layer1b)
        self.assertGreaterEqual(self.hoard.metric("hoard_policy_denied_total"), denied_before + 3)
        # The access log is written in batches: wait (bounded) for the line.
        denied_line = lambda: [l for l in self.hoard.access_log() if l.get("policy") == "denied" and l.get("path") == layer1]  # noqa: E731
        lines = wait_until(denied_line, 5)
        self.assertTrue(lines, "no access-log line with policy=denied for the layer")
        self.assertEqual((lines[0]["status"], lines[0]["policy_entry"]), (403, layer_entry))

        # By tag: only tag 1 goes, tag 2 (same repository) stays.
        t0 = self.set_list(["oci:docker.io/library/app:1"])
        self.assertOciDenied(self.refused_within(t0, tag1, accept, entry="oci:docker.io/library/app:1"), "oci:docker.io/library/app:1")
        self.get_ok(tag2, accept)
        self.get_ok(by_digest, accept)  # the entry names the tag, not the content

    # ---- npm -------------------------------------------------------------------------------
    def test_npm(self):
        v100 = "/npm" + tarball_path("fixture-c", "1.0.0")
        v101 = "/npm" + tarball_path("fixture-c", "1.0.1")
        body = self.get_ok(v100).body
        self.get_ok(v101)
        self.get_ok("/npm/fixture-b")

        t0 = self.set_list(["npm:fixture-c@1.0.0"])
        r = self.refused_within(t0, v100)
        self.assertDeniedJson(r, "npm:fixture-c@1.0.0")
        self.get_ok(v101)
        self.get_ok("/npm/fixture-c")  # the packument stays: other versions install

        # By digest (the packument's sha512 integrity), and a whole package (its packument too).
        sha512 = "sha512:" + hashlib.sha512(body).hexdigest()
        t0 = self.set_list([sha512, "npm:fixture-b"])
        self.assertDeniedJson(self.refused_within(t0, v100, entry=sha512), sha512)
        self.assertDeniedJson(self.hoard.get("/npm/fixture-b"), "npm:fixture-b")
        self.get_ok(v101)

    # ---- PyPI ------------------------------------------------------------------------------
    def test_pypi(self):
        page = self.get_ok("/pypi/simple/acme-core/", {"Accept": PYPI_JSON}).json()
        wheels = {f["filename"]: f for f in page["files"] if f["filename"].endswith(".whl")}
        old = next(n for n in wheels if "-1.0.0-" in n)
        new = next(n for n in wheels if "-1.1.0-" in n)
        old_path, new_path = "/pypi/files/acme-core/" + old, "/pypi/files/acme-core/" + new
        data = self.get_ok(old_path).body
        self.get_ok(new_path)
        self.get_ok("/pypi/simple/acme-utils/", {"Accept": PYPI_JSON})
        sha = "sha256:" + hashlib.sha256(data).hexdigest()
        self.assertEqual(sha, "sha256:" + wheels[old]["hashes"]["sha256"])

        t0 = self.set_list([sha])
        self.assertDeniedJson(self.refused_within(t0, old_path, entry=sha), sha)
        self.get_ok(new_path)

        t0 = self.set_list(["pypi:" + new, "pypi:Acme_Utils"])
        self.assertDeniedJson(self.refused_within(t0, new_path, entry="pypi:" + new), "pypi:" + new)
        self.assertDeniedJson(self.hoard.get("/pypi/simple/acme-utils/", headers={"Accept": PYPI_JSON}), "pypi:Acme_Utils")
        self.get_ok(old_path)
        self.get_ok("/pypi/simple/acme-core/", {"Accept": PYPI_JSON})

    # ---- Go --------------------------------------------------------------------------------
    def test_go(self):
        base = "/go/github.com/google/uuid/@v/"
        for v in ("v1.2.0", "v1.3.0"):
            for ext in (".info", ".mod", ".zip"):
                self.get_ok(base + v + ext)
        errors_zip = "/go/github.com/pkg/errors/@v/v0.9.1.zip"
        zip_body = self.get_ok(errors_zip).body
        self.get_ok(base + "list")

        entry = "go:github.com/google/uuid@v1.2.0"
        t0 = self.set_list([entry])
        for ext in (".zip", ".info", ".mod"):
            r = self.refused_within(t0, base + "v1.2.0" + ext)
            self.assertEqual(r.header("content-type"), "text/plain; charset=utf-8", repr(r))
            self.assertEqual(r.body.decode().strip(), "denied by hoard policy (%s)" % entry)
        for ext in (".info", ".mod", ".zip"):
            self.get_ok(base + "v1.3.0" + ext)
        self.get_ok(base + "list")

        sha = "sha256:" + hashlib.sha256(zip_body).hexdigest()
        t0 = self.set_list([sha, "go:github.com/google/uuid"])
        r = self.refused_within(t0, errors_zip)
        self.assertEqual(r.body.decode().strip(), "denied by hoard policy (%s)" % sha)
        r = self.hoard.get(base + "list")
        self.assertEqual((r.status, r.body.decode().strip()), (403, "denied by hoard policy (go:github.com/google/uuid)"))
        self.get_ok("/go/github.com/pkg/errors/@v/v0.9.1.info")

    # ---- the file alone changing; a bad file ---------------------------------------------
    def test_file_change_without_sighup(self):
        v = "/npm" + tarball_path("fixture-c", "1.0.1")
        self.get_ok(v)
        time.sleep(0.3)  # the watcher's previous stat is older than the write below
        t0 = self.set_list(["npm:fixture-c@1.0.1"], sighup=False)
        self.assertDeniedJson(self.refused_within(t0, v, entry="npm:fixture-c@1.0.1"), "npm:fixture-c@1.0.1")

    def test_bad_file_keeps_the_old_list(self):
        v = "/npm" + tarball_path("fixture-c", "1.0.1")
        self.get_ok(v)
        self.set_list_and_wait(["npm:fixture-c@1.0.1"])
        self.assertEqual(self.hoard.get(v).status, 403)
        errors = self.hoard.metric("hoard_policy_reload_errors_total") or 0
        self.set_list(["npm:fixture-c@1.0.1", "this is not a pattern"])
        self.assertTrue(wait_until(lambda: (self.hoard.metric("hoard_policy_reload_errors_total") or 0) > errors, 5), self.logs())
        self.assertEqual(self.hoard.get(v).status, 403, "the old list must stay in force")
        self.assertIn("keeping the previous deny-list", self.hoard.output_text())


class AllowList(PolicyBase):
    list_key = "allow_list"

    @classmethod
    def initial_lines(cls):
        return ["npm:fixture-c@1.0.0", "npm:fixture-b"]

    @classmethod
    def setUpClass(cls):
        public, _ = npm_universe()
        cls.npm = NpmRegistry(public, label="npm-public-allow").start()
        cls.addClassCleanup(cls.npm.stop)
        cls.start_hoard([npm_upstream(cls.npm.url)], "hoard-allow")

    def test_allow_list_limits_fetches_not_the_cache(self):
        v100 = "/npm" + tarball_path("fixture-c", "1.0.0")
        v101 = "/npm" + tarball_path("fixture-c", "1.0.1")
        b200 = "/npm" + tarball_path("fixture-b", "2.0.0")
        self.get_ok("/npm/fixture-c")  # the packument leads to an allowed version
        self.get_ok(v100)
        self.get_ok(b200)
        fetched = self.npm.count()
        r = self.hoard.get(v101)
        self.assertEqual(r.status, 403, repr(r))
        self.assertIn("not on hoard's allow-list", r.json()["error"])
        r = self.hoard.get("/npm/fixture-a")
        self.assertEqual(r.status, 403, repr(r))
        self.assertEqual(self.npm.count(), fetched, "a refused request reached the upstream")
        self.assertGreaterEqual(self.hoard.metric("hoard_policy_not_allowed_total"), 2)

        # Off the allow-list now, but cached: still served, and the upstream is not asked.
        self.set_list_and_wait(["npm:fixture-a"])
        self.get_ok(v100)
        self.get_ok(b200)
        self.get_ok("/npm/fixture-c")
        self.assertEqual(self.hoard.get(v101).status, 403)
        self.assertEqual(self.npm.count(), fetched)


if __name__ == "__main__":
    main()
