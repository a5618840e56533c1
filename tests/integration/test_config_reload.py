#!/usr/bin/python3
"""Issue 7: SIGHUP reloads the config (upstreams, TTLs) without dropping connections.

Two registries, each behind a counting proxy. hoard starts knowing only the first. While a
throttled blob download through hoard is in flight and a keep-alive connection is open, the
config file gains the second registry and SIGHUP is sent: within a second the new registry is
served (it was a fast 404 NAME_UNKNOWN before), the in-flight download completes with the right
bytes, and the old keep-alive connection keeps working. A config that does not load is refused:
the running config stays in force and the failure is counted."""

import http.client
import os
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import harness  # noqa: E402
from harness import CountingProxy, Hoard, HoardTestCase, Registry, main, oci_upstream, wait_until  # noqa: E402

SLOW_SIZE = 600 * 1024


class ConfigReload(HoardTestCase):
    def setUp(self):
        self.reg1 = Registry(label="registry-one").start()
        self.addCleanup(self.reg1.stop)
        self.reg2 = Registry(label="registry-two").start()
        self.addCleanup(self.reg2.stop)
        self.proxy1 = CountingProxy(self.reg1.url).start()
        self.addCleanup(self.proxy1.stop)
        self.proxy2 = CountingProxy(self.reg2.url).start()
        self.addCleanup(self.proxy2.stop)
        self.one = oci_upstream(self.proxy1.url, name="one", registries=("docker.io",), prefix="one")
        self.two = oci_upstream(self.proxy2.url, name="two", registries=("ghcr.io",), prefix="two", default=False)
        self.hoard = Hoard([self.one], label="hoard-reload").start()
        self.addCleanup(self.hoard.close)

    def reload_count(self, result):
        r = self.hoard.get("/metrics")
        for line in r.body.decode().splitlines():
            if line.startswith('hoard_config_reloads_total{result="%s"}' % result):
                return float(line.rsplit(" ", 1)[1])
        return 0

    def test_new_upstream_after_sighup_without_dropping_connections(self):
        slow = os.urandom(SLOW_SIZE)
        slow_digest = self.reg1.push_blob("library/slow", slow)
        other = os.urandom(5000)
        other_digest = self.reg2.push_blob("org/tool", other)
        new_path = "/v2/org/tool/blobs/%s?ns=ghcr.io" % other_digest

        r = self.hoard.get(new_path)
        self.assertEqual(r.status, 404, "ghcr.io is not configured yet: %r" % r)

        # A keep-alive connection, used once before the reload.
        host, port = self.hoard.addr.rsplit(":", 1)
        keep = http.client.HTTPConnection(host, int(port), timeout=30)
        self.addCleanup(keep.close)
        keep.request("GET", "/v2/")
        resp = keep.getresponse()
        resp.read()
        self.assertEqual(resp.status, 200)

        # A download that takes ~3 s, in flight across the reload.
        self.proxy1.configure(throttle_bps=200 * 1024)
        result = {}

        def download():
            result["resp"] = harness.request(self.hoard.addr, "GET", "/v2/library/slow/blobs/%s" % slow_digest, timeout=60)

        t = threading.Thread(target=download)
        t.start()
        self.assertTrue(wait_until(lambda: self.proxy1.count("GET", slow_digest) == 1, 10), "download did not start")

        self.hoard.write_config([self.one, self.two])
        reloads_before = self.reload_count("ok")
        t0 = time.monotonic()
        self.hoard.sighup()
        served = wait_until(lambda: self.hoard.get(new_path).status == 200, 5)
        elapsed = time.monotonic() - t0
        self.assertTrue(served, "the new upstream was not served after SIGHUP%s" % self.logs())
        self.assertLess(elapsed, 1.0, "reload took %.2f s" % elapsed)
        self.assertEqual(self.hoard.get(new_path).body, other)
        self.assertEqual(self.reload_count("ok"), reloads_before + 1)

        t.join(60)
        self.assertFalse(t.is_alive())
        r = result["resp"]
        self.assertEqual(r.status, 200, repr(r))
        self.assertIsNone(r.error, "the in-flight download was cut by the reload: %r" % r)
        self.assertTrue(r.body == slow, "the in-flight download got wrong bytes")

        keep.request("GET", "/v2/")
        resp = keep.getresponse()
        resp.read()
        self.assertEqual(resp.status, 200, "the keep-alive connection did not survive the reload")

        # The old upstream still serves (from cache, and by routing).
        self.assertEqual(self.hoard.get("/v2/library/slow/blobs/%s" % slow_digest).body, slow)
        self.assertEqual(self.proxy1.count("GET", slow_digest), 1)

    def test_bad_config_keeps_the_running_one(self):
        data = os.urandom(4000)
        digest = self.reg1.push_blob("library/kept", data)
        failures_before = self.reload_count("error")
        with open(self.hoard.config_path, "w") as f:
            f.write("listen: 127.0.0.1:0\nupstreams: [ this is not valid\n")
        self.hoard.sighup()
        self.assertTrue(wait_until(lambda: self.reload_count("error") == failures_before + 1, 5), "failed reload not counted%s" % self.logs())
        r = self.hoard.get("/v2/library/kept/blobs/%s" % digest)
        self.assertEqual(r.status, 200, repr(r))
        self.assertEqual(r.body, data)
        self.assertTrue(self.hoard.proc.alive())
        self.assertIn("reload", self.hoard.output_text())


if __name__ == "__main__":
    main()
