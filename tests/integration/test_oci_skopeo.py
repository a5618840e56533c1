#!/usr/bin/python3
"""Done-when 1: `skopeo copy` of a multi-layer image and (--all) of a multi-arch index
through hoard; every digest equals upstream's. Also through the path prefix
(/v2/dockerhub/...), for Docker schema2 media types, and the tag HEAD containerd sends.

upstream: docker-registry <- counting proxy <- hoard <- skopeo
"""

import hashlib
import json
import os

import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import harness  # noqa: E402
from harness import (
    CONTAINERD_ACCEPT,
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    HoardTestCase,
    Image,
    Index,
    sha256_digest,
    skopeo,
    tmpdir,
)


class SkopeoThroughHoard(HoardTestCase):
    @classmethod
    def setUpClass(cls):
        cls.reg, cls.proxy, cls.hoard = harness.start_stack(cls)
        cls.image = Image(layer_sizes=(4096, 30000, 1000, 200))
        cls.index = Index(layer_sizes=(3000, 5000))
        cls.docker_image = Image(layer_sizes=(2000, 3000), docker=True)
        cls.docker_list = Index(layer_sizes=(1500,), docker=True)
        # pushed the way users push: an OCI layout, `skopeo copy --all` to the registry
        cls.reg.skopeo_push("library/multilayer", "1", cls.image)
        cls.reg.skopeo_push("library/multiarch", "1", cls.index)
        # Docker schema2 types cannot come from an oci: layout: pushed over the registry API
        cls.reg.push_image("team/app", "v2", cls.docker_image)
        cls.reg.push_image("team/list", "v1", cls.docker_list)
        for repo, tag, img in (
            ("library/multilayer", "1", cls.image),
            ("library/multiarch", "1", cls.index),
            ("team/app", "v2", cls.docker_image),
            ("team/list", "v1", cls.docker_list),
        ):
            got = cls.reg.manifest_digest(repo, tag)
            assert got == img.digest, "upstream has %s for %s:%s, built %s" % (got, repo, tag, img.digest)

    # ---- helpers -------------------------------------------------------------
    def src(self, ref):
        return "docker://%s/%s" % (self.hoard.addr, ref)

    def inspect_raw_digest(self, ref):
        raw = skopeo("inspect", "--raw", "--tls-verify=false", self.src(ref))
        return sha256_digest(raw)

    def check_oci_layout(self, out, image):
        """dest layout: index.json names image.digest, holds exactly image's objects, each hashing to its name."""
        with open(os.path.join(out, "index.json")) as f:
            idx = json.load(f)
        self.assertEqual(
            [m["digest"] for m in idx["manifests"]],
            [image.digest],
            "copied top-level manifest digest differs from upstream's" + self.logs(),
        )
        blob_dir = os.path.join(out, "blobs", "sha256")
        names = sorted(os.listdir(blob_dir))
        for n in names:
            with open(os.path.join(blob_dir, n), "rb") as f:
                self.assertEqual(hashlib.sha256(f.read()).hexdigest(), n, "blob %s does not hash to its name" % n)
        self.assertEqual(names, sorted({o.digest[7:] for o in image.all_objects()}), "copied objects differ from upstream's")

    def copy_oci(self, ref, image, all_images=False):
        out = tmpdir("copy")
        args = ["copy", "--preserve-digests", "--src-tls-verify=false"]
        if all_images:
            args.append("--all")
        skopeo(*(args + [self.src(ref), "oci:%s:t" % out]))
        self.check_oci_layout(out, image)

    # ---- Done-when 1 -----------------------------------------------------------
    def test_multilayer_image(self):
        self.copy_oci("library/multilayer:1", self.image)
        self.assertEqual(self.inspect_raw_digest("library/multilayer:1"), self.image.digest)
        self.assertEqual(self.inspect_raw_digest("library/multilayer@" + self.image.digest), self.image.digest)

    def test_multiarch_index_all(self):
        self.copy_oci("library/multiarch:1", self.index, all_images=True)
        self.assertEqual(self.inspect_raw_digest("library/multiarch:1"), self.index.digest)

    def test_prefix_routing(self):
        self.copy_oci("dockerhub/library/multilayer:1", self.image)
        self.copy_oci("dockerhub/library/multiarch:1", self.index, all_images=True)
        self.assertEqual(self.inspect_raw_digest("dockerhub/library/multiarch:1"), self.index.digest)

    def test_docker_schema2_image_and_list(self):
        for ref, image in (("team/app:v2", self.docker_image), ("team/list:v1", self.docker_list)):
            out = tmpdir("copy-dir")
            skopeo("copy", "--all", "--preserve-digests", "--src-tls-verify=false", self.src(ref), "dir:" + out)
            with open(os.path.join(out, "manifest.json"), "rb") as f:
                self.assertEqual(sha256_digest(f.read()), image.digest, "%s: manifest bytes changed on the way" % ref)
            for b in image.blobs():
                with open(os.path.join(out, b.digest[7:]), "rb") as f:
                    self.assertEqual(sha256_digest(f.read()), b.digest)
            self.assertEqual(self.inspect_raw_digest(ref), image.digest)

    def test_second_copy_makes_no_upstream_blob_gets(self):
        self.copy_oci("library/multilayer:1", self.image)
        before = self.proxy.count("GET", "/blobs/")
        self.copy_oci("library/multilayer:1", self.image)
        self.assertEqual(
            self.proxy.count("GET", "/blobs/"),
            before,
            "blobs are immutable and cached: a second copy must not fetch any upstream\n%r%s"
            % (self.proxy.requests()[-10:], self.logs()),
        )

    # ---- the answers real clients depend on ----------------------------------------
    def test_tag_head_like_containerd(self):
        for ref, image, ctype in (
            ("library/multilayer", self.image, OCI_MANIFEST),
            ("library/multiarch", self.index, OCI_INDEX),
            ("team/app", self.docker_image, DOCKER_MANIFEST),
            ("team/list", self.docker_list, DOCKER_LIST),
        ):
            tag = "1" if ref.startswith("library/") else ("v2" if ref == "team/app" else "v1")
            path = "/v2/%s/manifests/%s?ns=docker.io" % (ref, tag)
            h = self.hoard.head(path, headers={"Accept": CONTAINERD_ACCEPT})
            self.assertEqual(h.status, 200, "%s: %r%s" % (path, h, self.logs()))
            self.assertEqual(h.header("docker-content-digest"), image.digest, path)
            self.assertEqual(h.header("content-length"), str(len(image.manifest.data)), path)
            self.assertEqual(h.header("content-type"), ctype, path)
            self.assertEqual(h.header("oci-namespace"), "docker.io", "%s: hoard must echo the ns it used" % path)
            # whatever digest hoard answers for the tag, it must serve by digest
            g = self.hoard.get(
                "/v2/%s/manifests/%s?ns=docker.io" % (ref, h.header("docker-content-digest")),
                headers={"Accept": "%s, */*" % ctype},
            )
            self.assertEqual(g.status, 200, repr(g))
            self.assertEqual(g.body, image.manifest.data)
            self.assertEqual(g.header("content-type"), ctype)

    def test_blob_answer_headers(self):
        b = self.image.layers[1]
        g = self.hoard.get("/v2/library/multilayer/blobs/%s" % b.digest)
        self.assertEqual(g.status, 200, repr(g) + self.logs())
        self.assertIsNone(g.error)
        self.assertEqual(g.body, b.data)
        self.assertEqual(g.header("docker-content-digest"), b.digest)
        self.assertEqual(g.header("content-length"), str(b.size))
        h = self.hoard.head("/v2/library/multilayer/blobs/%s" % b.digest)
        self.assertEqual(h.status, 200, repr(h))
        self.assertEqual(h.header("content-length"), str(b.size))
        self.assertEqual(h.header("docker-content-digest"), b.digest)

    def test_single_component_name_gets_library(self):
        g = self.hoard.get("/v2/multilayer/manifests/1", headers={"Accept": CONTAINERD_ACCEPT})
        self.assertEqual(g.status, 200, "docker.io single-component names map to library/: %r%s" % (g, self.logs()))
        self.assertEqual(g.header("docker-content-digest"), self.image.digest)

    def test_v2_base(self):
        g = self.hoard.get("/v2/")
        self.assertEqual(g.status, 200, repr(g))
        self.assertEqual(g.header("docker-distribution-api-version"), "registry/2.0")
        self.assertEqual(json.loads(g.body or b"null"), {})


if __name__ == "__main__":
    harness.main()
