#!/usr/bin/python3
"""Done-when 2: containerd (private containerd + ctr) pulls docker.io/... through hoard via
a hosts.toml whose `server` is a dead port.

hoard is configured so that only `?ns=docker.io` routing can reach the test registry:
the *default* upstream is a dead port and the docker.io upstream is not the default.
A pull that succeeds therefore proves hoard routed by ns (containerd's mirror protocol).

Runs as root only (containerd needs it); skipped otherwise. Uses the native snapshotter
(works in any sandbox; overlayfs also worked here) plus `ctr content fetch`.
"""

import os
import subprocess
import time
import unittest

import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import harness  # noqa: E402
from harness import CountingProxy, Hoard, HoardTestCase, Image, Index, Process, Registry, oci_upstream, tmpdir

CONTAINERD = "/usr/bin/containerd"
CTR = "/usr/bin/ctr"
NAMESPACE = "hoardtest"


class Containerd:
    """A private containerd: own root, state, sockets, no CRI plugin."""

    def __init__(self):
        self.dir = tmpdir("containerd")
        self.sock = os.path.join(self.dir, "c.sock")
        cfg = "\n".join(
            [
                "version = 2",
                'root = "%s/root"' % self.dir,
                'state = "%s/state"' % self.dir,
                'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
                "[grpc]",
                '  address = "%s"' % self.sock,
                "[ttrpc]",
                '  address = "%s.ttrpc"' % self.sock,
                "[debug]",
                '  address = "%s.debug"' % self.sock,
                '[plugins."io.containerd.internal.v1.opt"]',
                '  path = "%s/opt"' % self.dir,
                "",
            ]
        )
        self.config = os.path.join(self.dir, "config.toml")
        with open(self.config, "w") as f:
            f.write(cfg)
        self.proc = Process("containerd", [CONTAINERD, "--config", self.config], self.dir)

    def start(self):
        self.proc.start()
        harness.register_log("containerd log", self.proc.stderr_path, 15)
        deadline = time.monotonic() + 20
        while True:
            if not self.proc.alive():
                raise AssertionError("containerd exited early\n" + self.proc.output_tail())
            if os.path.exists(self.sock) and self.ctr("version", check=False).returncode == 0:
                return self
            if time.monotonic() > deadline:
                raise AssertionError("containerd did not come up\n" + self.proc.output_tail())
            time.sleep(0.05)

    def stop(self):
        harness.unregister_log(self.proc.stderr_path)
        return self.proc.stop(timeout=10)

    def ctr(self, *args, check=True, timeout=120):
        p = subprocess.run(
            [CTR, "-a", self.sock, "-n", NAMESPACE] + list(args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            timeout=timeout,
            text=True,
        )
        if check and p.returncode != 0:
            raise AssertionError(
                "ctr %s failed (rc=%d)\nstdout: %s\nstderr: %s%s"
                % (" ".join(args), p.returncode, p.stdout[-3000:], p.stderr[-3000:], "\n" + harness.logs_report())
            )
        return p

    def image_digest(self, ref):
        for line in self.ctr("image", "ls").stdout.splitlines()[1:]:
            cols = line.split()
            if cols and cols[0] == ref:
                return cols[2]
        return None

    def content(self):
        return set(self.ctr("content", "ls", "-q").stdout.split())


class ContainerdPullsThroughHoard(HoardTestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("containerd needs root")
        for tool in (CONTAINERD, CTR):
            if not os.access(tool, os.X_OK):
                raise AssertionError("%s missing: run packaging/install-deps.sh" % tool)
        cls.reg = Registry().start()
        cls.addClassCleanup(cls.reg.stop)
        cls.proxy = CountingProxy(cls.reg.url).start()
        cls.addClassCleanup(cls.proxy.stop)
        cls.small = Image(layer_sizes=(4096, 20000, 1000))
        cls.multi = Index(layer_sizes=(3000, 2000))
        cls.docker = Image(layer_sizes=(1500, 2500), docker=True)
        cls.reg.skopeo_push("library/small", "1", cls.small)
        cls.reg.skopeo_push("library/multi", "1", cls.multi)
        cls.reg.push_image("team/app", "v2", cls.docker)

        dead = "http://127.0.0.1:%d" % harness.dead_port()
        cls.hoard = Hoard(
            [
                # the default: anything not routed by ns or prefix lands on a dead port
                oci_upstream(dead, name="elsewhere", registries=["registry.example"], prefix="elsewhere", default=True),
                oci_upstream(cls.proxy.url, name="dockerhub", registries=["docker.io"], prefix="dockerhub", default=False),
            ]
        ).start()
        cls.addClassCleanup(cls.hoard.stop)

        cls.hosts_dir = tmpdir("hosts")
        os.makedirs(os.path.join(cls.hosts_dir, "docker.io"))
        with open(os.path.join(cls.hosts_dir, "docker.io", "hosts.toml"), "w") as f:
            f.write(
                "# all pulls of docker.io/* must go through the mirror: the real server is a dead port\n"
                'server = "http://127.0.0.1:%d"\n\n'
                '[host."http://%s"]\n'
                '  capabilities = ["pull", "resolve"]\n' % (harness.dead_port(), cls.hoard.addr)
            )
        cls.containerd = Containerd().start()
        cls.addClassCleanup(cls.containerd.stop)

    def pull(self, ref, *extra):
        return self.containerd.ctr("image", "pull", "--hosts-dir", self.hosts_dir, "--snapshotter", "native", *(list(extra) + [ref]))

    def check_access_log(self, repo):
        # a pull makes at least: HEAD tag, GET manifest, GET config, GET >= 1 layer
        lines = self.hoard.wait_access_log("/v2/%s/" % repo, 4)
        self.assertTrue(lines, "no access-log line for %s on hoard's stderr%s" % (repo, self.logs()))
        for l in lines:
            self.assertLess(int(l.get("status", 0)), 400, "failed request in the pull: %r" % l)
            for field in ("time", "client", "method", "path", "status", "bytes", "cache", "duration_ms"):
                self.assertIn(field, l, "access-log line lacks %r: %r" % (field, l))
        if any("?" in str(l["path"]) for l in lines):
            # the log keeps the query: every containerd request carried ns=docker.io
            for l in lines:
                self.assertIn("ns=docker.io", l["path"], repr(l))
        upstream_requests = [p for m, p in self.proxy.requests() if "/v2/%s/" % repo in p]
        self.assertTrue(upstream_requests, "hoard never asked the docker.io upstream for %s" % repo)

    def test_pull_multilayer_image(self):
        ref = "docker.io/library/small:1"
        self.pull(ref)
        self.assertEqual(self.containerd.image_digest(ref), self.small.digest, "ctr image ls:\n" + self.containerd.ctr("image", "ls").stdout)
        missing = {o.digest for o in self.small.all_objects()} - self.containerd.content()
        self.assertFalse(missing, "content store lacks %s" % sorted(missing))
        self.check_access_log("library/small")

    def test_pull_multiarch_one_platform_then_all(self):
        ref = "docker.io/library/multi:1"
        self.pull(ref, "--platform", "linux/arm64")
        self.assertEqual(self.containerd.image_digest(ref), self.multi.digest)
        arm = [i for i in self.multi.images if i.arch == "arm64"][0]
        missing = {o.digest for o in arm.all_objects()} - self.containerd.content()
        self.assertFalse(missing, "arm64 pull: content store lacks %s" % sorted(missing))
        self.containerd.ctr("content", "fetch", "--hosts-dir", self.hosts_dir, "--all-platforms", ref)
        missing = {o.digest for o in self.multi.all_objects()} - self.containerd.content()
        self.assertFalse(missing, "content fetch --all-platforms: content store lacks %s" % sorted(missing))
        self.check_access_log("library/multi")

    def test_pull_docker_schema2_non_library(self):
        ref = "docker.io/team/app:v2"
        self.pull(ref)
        self.assertEqual(self.containerd.image_digest(ref), self.docker.digest)
        missing = {o.digest for o in self.docker.all_objects()} - self.containerd.content()
        self.assertFalse(missing, "content store lacks %s" % sorted(missing))
        self.check_access_log("team/app")


if __name__ == "__main__":
    harness.main()
