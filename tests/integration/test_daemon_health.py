#!/usr/bin/python3
"""Liveness and readiness endpoints (issue 7: /-/healthz, /-/readyz): answered by the daemon
itself, with no upstream reachable, as JSON; /-/health stays as the older name of /-/readyz.
Metrics at Prometheus' default /metrics (and /-/metrics)."""

import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from harness import Hoard, HoardTestCase, dead_port, main, oci_upstream  # noqa: E402


class Health(HoardTestCase):
    def test_healthz_and_readyz(self):
        hoard = Hoard([oci_upstream("http://127.0.0.1:%d" % dead_port())], label="hoard-health").start()
        self.addCleanup(hoard.close)
        for path, status in (("/-/healthz", "alive"), ("/-/readyz", "ready"), ("/-/health", "ready")):
            r = hoard.get(path)
            self.assertEqual(r.status, 200, "%s: %r" % (path, r))
            self.assertEqual(r.header("content-type"), "application/json")
            self.assertEqual(r.json(), {"status": status})
            self.assertEqual(hoard.head(path).status, 200)
        self.assertEqual(hoard.get("/-/nope").status, 404)

    def test_metrics_at_the_conventional_path(self):
        """Prometheus scrapes /metrics by default; /-/metrics stays as an alias."""
        hoard = Hoard([oci_upstream("http://127.0.0.1:%d" % dead_port())], label="hoard-metrics").start()
        self.addCleanup(hoard.close)
        hoard.get("/-/healthz")
        for path in ("/metrics", "/-/metrics"):
            r = hoard.get(path)
            self.assertEqual(r.status, 200, "%s: %r" % (path, r))
            self.assertTrue(r.header("content-type").startswith("text/plain; version=0.0.4"))
            text = r.body.decode()
            self.assertIn("# TYPE hoard_store_bytes gauge", text)
            self.assertIn('hoard_http_requests_total{ecosystem="other",method="GET",code="2xx",cache="none"}', text)


if __name__ == "__main__":
    main()
