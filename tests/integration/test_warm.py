#!/usr/bin/python3
"""Issue 7, Done-when "hoard warm": `hoard warm` of an image and of npm packages makes the next
real client's pull a pure cache hit.

upstreams: docker-registry <- counting proxy <- hoard   (OCI, a two-platform index)
           npm fixture (public sample universe)  <- hoard
For each: warm through hoard, then pull with a real client (skopeo copy --all; npm install with
an empty npm cache) and require that the upstream saw no new request at all and that hoard's
/metrics count no new cache miss. Also: --platform warms only that platform's blobs; a
nonexistent tag / package / version makes warm exit non-zero and name it; bad usage exits 2.
"""

import json
import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import harness  # noqa: E402
from harness import (  # noqa: E402
    HOARD_BIN,
    SAMPLE_DIST_TAGS,
    CountingProxy,
    Hoard,
    HoardTestCase,
    Image,
    Index,
    NpmClient,
    NpmRegistry,
    Registry,
    npm_upstream,
    npm_url,
    oci_upstream,
    request,
    sample_universe,
    skopeo,
    tmpdir,
    write_npm_project,
)

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def metric_samples(hoard):
    """[(name, {label: value}, float)] from hoard's Prometheus text (/metrics, else /-/metrics)."""
    for path in ("/metrics", "/-/metrics"):
        r = request(hoard.addr, "GET", path, timeout=5)
        if r.status == 200:
            break
    else:
        raise AssertionError("hoard serves no metrics: %r" % r)
    out = []
    for line in r.body.decode(errors="replace").splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            continue
        labels = dict(_LABEL.findall(m.group(3) or ""))
        try:
            out.append((m.group(1), labels, float(m.group(4))))
        except ValueError:
            pass
    return out


def cache_counts(hoard):
    """{"miss": n, "hit": n, ...}: hoard_http_requests_total by its cache label, or (before that
    family existed) hoard_cache_requests_total by its result label."""
    samples = metric_samples(hoard)
    for family, label in (("hoard_http_requests_total", "cache"), ("hoard_cache_requests_total", "result")):
        rows = [(labels, v) for name, labels, v in samples if name == family]
        if rows:
            out = {}
            for labels, v in rows:
                key = labels.get(label, "")
                out[key] = out.get(key, 0.0) + v
            return out
    raise AssertionError("neither hoard_http_requests_total nor hoard_cache_requests_total in /metrics")


def warm(hoard, *args, timeout=120):
    p = subprocess.run(
        [HOARD_BIN, "warm", "--url", "http://" + hoard.addr, "--no-progress", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


class Warm(HoardTestCase):
    @classmethod
    def setUpClass(cls):
        cls.reg = Registry().start()
        cls.addClassCleanup(cls.reg.stop)
        cls.proxy = CountingProxy(cls.reg.url).start()
        cls.addClassCleanup(cls.proxy.stop)
        public, _ = sample_universe()
        cls.npm = NpmRegistry(public, label="npm-public", dist_tags=SAMPLE_DIST_TAGS).start()
        cls.addClassCleanup(cls.npm.stop)
        cls.hoard = Hoard([oci_upstream(cls.proxy.url), npm_upstream(cls.npm.url)]).start()
        cls.addClassCleanup(cls.hoard.stop)
        cls.index = Index(layer_sizes=(40000, 3000))
        cls.reg.skopeo_push("library/warmed", "1", cls.index)
        cls.picky = Index(platforms=(("linux", "amd64"), ("linux", "arm64"), ("linux", "s390x")), layer_sizes=(2000,))
        cls.reg.skopeo_push("team/picky", "2", cls.picky)

    def run_warm(self, *args, expect_rc=0):
        rc, out, err = warm(self.hoard, *args)
        self.assertEqual(rc, expect_rc, "hoard warm %s -> rc %d\nstdout:\n%s\nstderr:\n%s%s" % (" ".join(args), rc, out, err, self.logs()))
        return out, err

    # ---- images ------------------------------------------------------------------
    def test_image_warm_makes_skopeo_copy_a_pure_hit(self):
        out, _ = self.run_warm("image:docker.io/library/warmed:1")
        self.assertIn("ok      image docker.io/library/warmed:1 -> 2 of 2 manifests", out)
        objects = len(self.index.all_objects())
        self.assertIn(": %d objects" % objects, out, "index + 2 manifests + 2x(config + 2 layers)")
        for b in self.index.blobs():
            self.assertEqual(self.proxy.count("GET", "/blobs/" + b.digest), 1, "blob %s fetched once by the warm-up" % b.digest)

        upstream_before, cache_before = len(self.proxy.requests()), cache_counts(self.hoard)
        dest = tmpdir("copy")
        skopeo("copy", "--all", "--preserve-digests", "--src-tls-verify=false",
               "docker://%s/library/warmed:1" % self.hoard.addr, "dir:" + dest)
        for b in self.index.blobs():
            with open(os.path.join(dest, b.digest[7:]), "rb") as f:
                self.assertEqual(harness.sha256_digest(f.read()), b.digest)
        cache_after = cache_counts(self.hoard)
        self.assertEqual(self.proxy.requests()[upstream_before:], [], "the pull after warm reached the upstream" + self.logs())
        self.assertEqual(cache_after.get("miss", 0), cache_before.get("miss", 0), "new misses: %r -> %r" % (cache_before, cache_after))
        self.assertGreaterEqual(cache_after.get("hit", 0) - cache_before.get("hit", 0), objects - 1,
                                "the pull was served as hits: %r -> %r" % (cache_before, cache_after))

        # warming again is all hits: nothing reaches the upstream
        self.run_warm("image:library/warmed:1")
        self.assertEqual(self.proxy.requests()[upstream_before:], [])

    def test_platform_picks_index_entries(self):
        out, _ = self.run_warm("--platform", "linux/arm64", "--platform", "linux/s390x", "image:team/picky:2")
        self.assertIn("-> 2 of 3 manifests", out)
        amd64, arm64, s390x = self.picky.images
        for img in (arm64, s390x):
            for b in img.blobs():
                self.assertEqual(self.proxy.count("GET", "/blobs/" + b.digest), 1)
        for b in amd64.blobs():
            self.assertEqual(self.proxy.count("GET", "/blobs/" + b.digest), 0, "amd64 was not asked for")
        self.run_warm("--platform", "windows/amd64", "image:team/picky:2", expect_rc=1)

    def test_missing_image_fails(self):
        out, err = self.run_warm("image:library/nosuch:1", "image:library/warmed:nosuchtag", expect_rc=1)
        self.assertIn("FAILED  image docker.io/library/nosuch:1", out)
        self.assertIn("FAILED  image docker.io/library/warmed:nosuchtag", out)
        self.assertIn("2 of 2 targets failed", err)
        self.assertRegex(err, r"manifest nosuchtag: HTTP 404")

    # ---- npm ---------------------------------------------------------------------
    def test_npm_warm_makes_npm_install_a_pure_hit(self):
        out, _ = self.run_warm("--jobs", "2", "npm:fixture-b@^2.0.0", "npm:fixture-c@~1.0.0")
        self.assertIn("ok      npm fixture-b@^2.0.0 -> 2.1.0: 2 objects", out)
        self.assertIn("ok      npm fixture-c@~1.0.0 -> 1.0.1: 2 objects", out)
        self.assertEqual(self.npm.tarball_count("fixture-b", "2.1.0"), 1)
        self.assertEqual(self.npm.tarball_count("fixture-c", "1.0.1"), 1)
        self.assertEqual(self.npm.tarball_count("fixture-b", "2.0.0"), 0, "only the chosen version is warmed")

        upstream_before, cache_before = self.npm.count(), cache_counts(self.hoard)
        client = NpmClient(npm_url(self.hoard), label="npm-after-warm")
        project = write_npm_project({"fixture-b": "^2.0.0"}, name="after-warm")
        client.install(project)
        with open(os.path.join(project, "package-lock.json")) as f:
            lock = json.load(f)["packages"]
        self.assertEqual(lock["node_modules/fixture-b"]["version"], "2.1.0")
        self.assertEqual(lock["node_modules/fixture-c"]["version"], "1.0.1")
        self.assertEqual(lock["node_modules/fixture-c"]["integrity"], self.npm.integrity("fixture-c", "1.0.1"))
        cache_after = cache_counts(self.hoard)
        self.assertEqual(self.npm.requests()[upstream_before:], [], "npm install after warm reached the upstream" + self.logs())
        self.assertEqual(cache_after.get("miss", 0), cache_before.get("miss", 0), "new misses: %r -> %r" % (cache_before, cache_after))

    def test_npm_dist_tag_and_scoped_spellings(self):
        out, _ = self.run_warm("npm:fixture-a@next", "npm:@tools/fmt")
        self.assertIn("npm fixture-a@next -> 2.0.0-beta.1", out)
        self.assertIn("npm @tools/fmt@latest -> 1.2.0", out)
        self.assertEqual(self.npm.tarball_count("fixture-a", "2.0.0-beta.1"), 1)
        self.assertEqual(self.npm.tarball_count("@tools/fmt", "1.2.0"), 1)

    def test_missing_npm_package_or_version_fails(self):
        out, err = self.run_warm("npm:no-such-package@1", "npm:fixture-c@^9", "npm:fixture-c@1.0.0", expect_rc=1)
        self.assertIn("FAILED  npm no-such-package@1", out)
        self.assertIn("FAILED  npm fixture-c@^9", out)
        self.assertIn("ok      npm fixture-c@1.0.0 -> 1.0.0", out, "the good target is still warmed")
        self.assertIn("2 of 3 targets failed", err)
        self.assertIn('no version matches "^9"', err)

    # ---- usage -------------------------------------------------------------------------
    def test_usage_errors_exit_2_without_fetching(self):
        before = self.npm.count()
        for args in (["bogus"], ["npm:"], ["image:UPPER:1"], ["--jobs", "0", "npm:x"], []):
            rc, out, err = warm(self.hoard, *args)
            self.assertEqual(rc, 2, "%r: %s %s" % (args, out, err))
        self.assertEqual(self.npm.count(), before)
        p = subprocess.run([HOARD_BIN, "warm", "--help"], stdout=subprocess.PIPE, timeout=10)
        self.assertEqual(p.returncode, 0)
        self.assertIn(b"dependencies are NOT followed", p.stdout)


if __name__ == "__main__":
    harness.main()
