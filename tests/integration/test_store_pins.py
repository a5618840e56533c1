#!/usr/bin/python3
"""Issue 7, store lifecycle: pinned objects survive eviction. With a small store.max_size, an
image pinned by repository (store.pin: oci:<registry>/<repo>), an image pinned by tag (its
layers are pinned through the manifest) and an npm version stay cached through a fill of 3x
max_size of other content, while unpinned content of the same age is evicted. Checked with the
upstreams stopped, so a 200 can only come from the store."""

import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from harness import (  # noqa: E402
    MANIFEST_ACCEPT,
    Hoard,
    HoardTestCase,
    Image,
    NpmRegistry,
    Registry,
    _yaml_scalar,
    main,
    npm_upstream,
    oci_upstream,
    tarball_path,
)
from harness import sample_universe as npm_universe  # noqa: E402

MAX = 1 << 20  # 1 MiB
LAYER = 100_000
PINS = ["oci:docker.io/library/pinned", "oci:docker.io/library/bytag:1", "npm:fixture-c@1.0.0"]


class StorePins(HoardTestCase):
    def setUp(self):
        self.reg = Registry().start()
        self.addCleanup(self.reg.stop)
        public, _ = npm_universe()
        self.npm = NpmRegistry(public, label="npm-pins").start()
        self.addCleanup(self.npm.stop)
        self.hoard = Hoard([oci_upstream(self.reg.url), npm_upstream(self.npm.url)], label="hoard-pins")
        # The harness writes a one-line store section; this test needs max_size and pin too.
        with open(self.hoard.config_path) as f:
            config = f.read()
        store_line = "store: { path: %s }" % _yaml_scalar(self.hoard.store)
        self.assertIn(store_line, config)
        config = config.replace(
            store_line,
            "store: { path: %s, max_size: %d, pin: %s }" % (_yaml_scalar(self.hoard.store), MAX, _yaml_scalar(PINS)),
        )
        with open(self.hoard.config_path, "w") as f:
            f.write(config)
        self.hoard.start()
        self.addCleanup(self.hoard.close)

    def pull(self, repo, tag, image):
        r = self.hoard.get("/v2/%s/manifests/%s" % (repo, tag), headers={"Accept": MANIFEST_ACCEPT})
        self.assertEqual(r.status, 200, "%s:%s %r%s" % (repo, tag, r, self.logs()))
        for b in image.blobs():
            r = self.hoard.get("/v2/%s/blobs/%s" % (repo, b.digest))
            self.assertEqual(r.status, 200, "%s %r" % (b.digest, r))

    def test_pinned_survive_a_fill_of_three_times_max_size(self):
        pinned = Image(layer_sizes=(LAYER, LAYER))
        bytag = Image(layer_sizes=(LAYER,))
        early = Image(layer_sizes=(LAYER,))  # unpinned, pulled at the same time as the pinned ones
        self.reg.push_image("library/pinned", "1", pinned)
        self.reg.push_image("library/bytag", "1", bytag)
        self.reg.push_image("library/early", "1", early)
        self.pull("library/pinned", "1", pinned)
        self.pull("library/bytag", "1", bytag)
        self.pull("library/early", "1", early)
        tgz = "/npm" + tarball_path("fixture-c", "1.0.0")
        self.assertEqual(self.hoard.get(tgz).status, 200)

        # 3x max_size of other, distinct content.
        filler = [Image(layer_sizes=(LAYER, LAYER, LAYER)) for _ in range((3 * MAX) // (3 * LAYER) + 1)]
        for i, img in enumerate(filler):
            self.reg.push_image("library/fill%d" % i, "1", img)
            self.pull("library/fill%d" % i, "1", img)
        time.sleep(1.5)  # let a background eviction pass (timer) finish

        self.reg.stop()
        self.npm.stop()
        for repo, img in (("pinned", pinned), ("bytag", bytag)):
            for b in img.blobs():
                r = self.hoard.get("/v2/library/%s/blobs/%s" % (repo, b.digest))
                self.assertEqual(r.status, 200, "pinned %s of %s was evicted: %r%s" % (b.digest, repo, r, self.logs()))
        r = self.hoard.get(tgz)
        self.assertEqual(r.status, 200, "pinned tarball was evicted: %r" % r)
        # The test can fail: unpinned content of the same age is gone.
        r = self.hoard.get("/v2/library/early/blobs/" + early.layers[0].digest)
        self.assertNotEqual(r.status, 200, "unpinned early layer survived: eviction did not run")
        store_bytes = self.hoard.metric("hoard_store_bytes")
        self.assertIsNotNone(store_bytes)
        self.assertLessEqual(store_bytes, MAX + 3 * LAYER, "store exceeds max_size")


if __name__ == "__main__":
    main()
