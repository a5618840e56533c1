#!/usr/bin/python3
"""Issue 7, metrics: GET /metrics parses with Prometheus' own `promtool check metrics`
(lint included: HELP and TYPE for every family, counter/unit naming) and its counters move
as traffic says they must: a blob miss then a hit, a manifest by tag, a 404, bytes served
from the upstream and then from the cache, upstream latency histograms, store gauges."""

import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import harness  # noqa: E402
from harness import HoardTestCase, Image, main  # noqa: E402

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
SIZE = 300000


def parse(text):
    """Sample lines of a Prometheus text exposition -> {series: value}."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        series, value = line.rsplit(" ", 1)
        samples[series] = float(value)
    return samples


def req(ecosystem, method, code, cache):
    return 'hoard_http_requests_total{ecosystem="%s",method="%s",code="%s",cache="%s"}' % (ecosystem, method, code, cache)


class Metrics(HoardTestCase):
    @classmethod
    def setUpClass(cls):
        cls.reg, cls.proxy, cls.hoard = harness.start_stack(cls, hoard_label="hoard-metrics")
        cls.data = os.urandom(SIZE)
        cls.digest = cls.reg.push_blob("library/measured", cls.data)
        cls.image = Image()
        cls.reg.push_image("library/measured", "v1", cls.image)

    def scrape(self):
        r = self.hoard.get("/metrics")
        self.assertEqual(r.status, 200, repr(r))
        self.assertTrue(r.header("content-type").startswith("text/plain; version=0.0.4"))
        return r.body.decode()

    def test_promtool_accepts_the_exposition(self):
        # Traffic first, so every family (histograms, labelled counters) is present.
        self.hoard.get("/v2/library/measured/blobs/%s" % self.digest)
        self.hoard.get("/v2/library/measured/manifests/v1")
        self.hoard.get("/npm/no-such-upstream-here")
        text = self.scrape()
        self.assertIn("hoard_upstream_first_byte_seconds_bucket", text)
        p = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(), capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, "promtool check metrics:\n%s%s\n--- exposition:\n%s" % (p.stdout.decode(), p.stderr.decode(), text))
        # A broken exposition must fail the same check (the check is real).
        bad = text + "hoard_bogus_counter 1\n# TYPE hoard_bogus_counter counter\n"
        p = subprocess.run([PROMTOOL, "check", "metrics"], input=bad.encode(), capture_output=True, timeout=60)
        self.assertNotEqual(p.returncode, 0, "promtool accepted a malformed exposition")

    def oci_requests(self, samples):
        return sum(v for k, v in samples.items() if k.startswith('hoard_http_requests_total{ecosystem="oci"'))

    def scrape_after(self, previous):
        """Metrics once the request just made is counted (it is counted when its exchange
        ends, which may be a moment after the client has read the last byte)."""
        want = self.oci_requests(previous) + 1
        samples = {}

        def counted():
            samples.update(parse(self.scrape()))
            return self.oci_requests(samples) >= want

        self.assertTrue(harness.wait_until(counted, 5), "request not counted")
        return samples

    def test_counters_follow_traffic(self):
        path = "/v2/library/measured/blobs/%s" % self.digest
        before = parse(self.scrape())
        # Each step is measured on its own, so the assertions say which request moved what.
        r = self.hoard.get(path)
        self.assertEqual(r.status, 200, repr(r))
        self.assertEqual(r.body, self.data)
        after_miss = self.scrape_after(before)
        # The client has every byte once the digest verified; the commit may still be running,
        # and a request meanwhile would (rightly) join the fill as "coalesced".
        self.assertTrue(harness.wait_until(lambda: self.hoard.metric("hoard_active_fills") == 0, 10))
        after_miss = parse(self.scrape())
        r = self.hoard.get(path)
        self.assertEqual(r.body, self.data)
        after_hit = self.scrape_after(after_miss)
        r = self.hoard.get("/v2/library/measured/blobs/sha256:" + "0" * 64)
        self.assertEqual(r.status, 404)
        after_404 = self.scrape_after(after_hit)

        def delta(a, b, series):
            return b.get(series, 0) - a.get(series, 0)

        self.assertEqual(delta(before, after_miss, req("oci", "GET", "2xx", "miss")), 1)
        self.assertEqual(delta(before, after_miss, req("oci", "GET", "2xx", "hit")), 0)
        self.assertEqual(delta(after_miss, after_hit, req("oci", "GET", "2xx", "hit")), 1)
        self.assertEqual(delta(after_miss, after_hit, req("oci", "GET", "2xx", "miss")), 0)
        self.assertEqual(delta(after_hit, after_404, req("oci", "GET", "4xx", "miss")) + delta(after_hit, after_404, req("oci", "GET", "4xx", "none")), 1)

        self.assertEqual(delta(before, after_miss, 'hoard_served_bytes_total{source="upstream"}'), SIZE)
        self.assertEqual(delta(after_miss, after_hit, 'hoard_served_bytes_total{source="cache"}'), SIZE)
        self.assertEqual(delta(after_miss, after_hit, 'hoard_served_bytes_total{source="upstream"}'), 0)

        # One upstream transfer for the miss, none for the hit.
        self.assertGreaterEqual(delta(before, after_miss, "hoard_upstream_transfer_seconds_count"), 1)
        self.assertEqual(delta(after_miss, after_hit, "hoard_upstream_transfer_seconds_count"), 0)
        self.assertGreaterEqual(after_hit["hoard_store_bytes"], SIZE)
        self.assertGreaterEqual(after_hit["hoard_store_objects"], 1)
        self.assertEqual(after_hit["hoard_active_fills"], 0)


if __name__ == "__main__":
    main()
