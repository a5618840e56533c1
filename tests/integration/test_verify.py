#!/usr/bin/python3
"""Issue 7: `hoard verify [--repair]` and `hoard gc`, online (admin endpoints of a running
hoard) and offline (a stopped hoard's store).

docker-registry <- CountingProxy <- hoard. A blob is pulled through hoard, its file is
corrupted on disk, `hoard verify --url` finds it (exit 1, digest listed), `--repair`
quarantines it, and the next pull refetches it from upstream (the proxy's count moves) with
the right bytes. gc removes an old orphan file and an index entry whose file is gone, keeps a
young orphan (grace period), all while hoard runs. Each test has its own hoard and store.
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import harness  # noqa: E402
from harness import CountingProxy, Hoard, HoardTestCase, Registry, oci_upstream, request, sha256_digest, stream_hash

REPO = "library/verify"


def hoard_cli(*args, timeout=120):
    p = subprocess.run([harness.HOARD_BIN] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def blob_path(store, digest):
    alg, hex_ = digest.split(":", 1)
    return os.path.join(store, "blobs", alg, hex_[:2], hex_)


def flip_byte(path, offset=10):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0xFF]))


def metric_value(addr, series):
    r = request(addr, "GET", "/metrics", timeout=5)
    for line in r.body.decode(errors="replace").splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def non_loopback_ip():
    """An address of this host that is not loopback (no packet is sent), or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("10.255.255.255", 1))
        ip = s.getsockname()[0]
    except OSError:
        return None
    finally:
        s.close()
    return None if ip.startswith("127.") or ip == "0.0.0.0" else ip


class Verify(HoardTestCase):
    @classmethod
    def setUpClass(cls):
        cls.reg = Registry().start()
        cls.addClassCleanup(cls.reg.stop)
        cls.proxy = CountingProxy(cls.reg.url).start()
        cls.addClassCleanup(cls.proxy.stop)

    def new_hoard(self, label, **kw):
        h = Hoard([oci_upstream(self.proxy.url)], label=label, **kw).start()
        self.addCleanup(h.close)
        return h

    def push(self, size):
        data = os.urandom(size)
        return self.reg.push_blob(REPO, data), data

    def pull(self, hoard, digest):
        resp, got, n = stream_hash(hoard.addr, "/v2/%s/blobs/%s" % (REPO, digest), timeout=60)
        self.assertEqual(resp.status, 200, repr(resp) + self.logs())
        self.assertIsNone(resp.error, self.logs())
        self.assertEqual(got, digest, "hoard served wrong bytes")
        return n

    def wait_indexed(self, hoard, n):
        """A client sees the whole body before the fill commits (rename, then index write):
        wait until n objects are indexed, asking hoard itself (an uncapped verify)."""
        deadline = time.monotonic() + 10
        while True:
            r = request(hoard.addr, "POST", "/-/admin/verify?rate_mb=0", body=b"", timeout=30)
            if r.status == 200 and r.json()["ok"] >= n:
                return
            self.assertLess(time.monotonic(), deadline, "fills did not commit: %r%s" % (r, self.logs()))
            time.sleep(0.05)

    def upstream_gets(self, digest):
        return self.proxy.count("GET", "/blobs/" + digest)

    def test_online_verify_finds_and_repairs_corruption(self):
        h = self.new_hoard("hoard-online")
        bad, _ = self.push(300_000)
        good, _ = self.push(50_000)
        self.pull(h, bad)
        self.pull(h, good)
        self.wait_indexed(h, 2)
        self.assertEqual(self.upstream_gets(bad), 1)
        url = "http://" + h.addr

        rc, out, err = hoard_cli("verify", "--url", url)
        self.assertEqual(rc, 0, "healthy store: %s %s%s" % (out, err, self.logs()))
        self.assertIn("store OK", out)

        path = blob_path(h.store, bad)
        flip_byte(path)
        with open(path, "rb") as f:
            corrupted = f.read()

        rc, out, err = hoard_cli("verify", "--url", url)
        self.assertEqual(rc, 1, "corruption must make verify fail: %s %s" % (out, err))
        self.assertIn("mismatch " + bad, out)
        self.assertNotIn(good, out)
        self.assertTrue(os.path.exists(path), "verify without --repair must not touch the store")

        rc, out, err = hoard_cli("verify", "--url", url, "--json")
        self.assertEqual(rc, 1)
        report = json.loads(out)
        self.assertEqual((report["ok"], report["mismatch"], report["clean"]), (1, 1, False), report)
        self.assertEqual([(f["result"], f["subject"]) for f in report["findings"]], [("mismatch", bad)])
        self.assertGreaterEqual(metric_value(h.addr, 'hoard_verify_objects_total{result="mismatch"}'), 2)
        self.assertGreaterEqual(metric_value(h.addr, 'hoard_verify_objects_total{result="ok"}'), 3)

        # After --repair the blob is gone from the cache and its file quarantined.
        rc, out, err = hoard_cli("verify", "--url", url, "--repair")
        self.assertEqual(rc, 1, "a repaired problem is still reported: %s %s" % (out, err))
        self.assertIn("mismatch " + bad + " (quarantined)", out)
        self.assertFalse(os.path.exists(path))
        qpath = os.path.join(h.store, "quarantine", "sha256-" + bad.split(":", 1)[1])
        with open(qpath, "rb") as f:
            self.assertEqual(f.read(), corrupted, "the quarantined file keeps the bad bytes for inspection")

        rc, out, err = hoard_cli("verify", "--url", url)
        self.assertEqual(rc, 0, "after repair the store verifies clean: %s %s" % (out, err))

        # The next pull refetches from upstream and returns the right bytes.
        self.pull(h, bad)
        self.assertEqual(self.upstream_gets(bad), 2, "the quarantined blob must be refetched" + self.logs())
        self.pull(h, bad)
        self.assertEqual(self.upstream_gets(bad), 2, "and cached again")
        self.assertEqual(self.upstream_gets(good), 1)
        rc, out, err = hoard_cli("verify", "--url", url)
        self.assertEqual(rc, 0, out + err)

    def test_second_verify_gets_409_and_get_gets_405(self):
        h = self.new_hoard("hoard-busy")
        big, _ = self.push(3 << 20)
        self.pull(h, big)
        self.wait_indexed(h, 1)
        first = {}

        def slow_verify():  # 1 MB/s over 3 MiB: about 3 s
            first["r"] = request(h.addr, "POST", "/-/admin/verify?rate_mb=1", body=b"", timeout=60)

        t = threading.Thread(target=slow_verify, daemon=True)
        t.start()
        time.sleep(0.5)
        second = request(h.addr, "POST", "/-/admin/verify", body=b"", timeout=10)
        self.assertEqual(second.status, 409, repr(second))
        self.assertIn("already running", second.json()["error"])
        gc = request(h.addr, "POST", "/-/admin/gc", body=b"", timeout=10)
        self.assertEqual(gc.status, 409, "one maintenance job at a time: %r" % gc)
        t.join(60)
        self.assertFalse(t.is_alive())
        self.assertEqual(first["r"].status, 200, repr(first["r"]))
        report = first["r"].json()
        self.assertEqual((report["ok"], report["clean"]), (1, True), report)
        self.assertGreaterEqual(first["r"].elapsed, 2.0, "rate_mb=1 must pace 3 MiB of reads")
        # Free again once it finished.
        again = request(h.addr, "POST", "/-/admin/verify", body=b"", timeout=30)
        self.assertEqual(again.status, 200, repr(again))

        self.assertEqual(request(h.addr, "GET", "/-/admin/verify").status, 405)
        self.assertEqual(request(h.addr, "POST", "/-/admin/nope", body=b"").status, 404)
        # POST stays refused everywhere else (read-only mirror).
        self.assertEqual(request(h.addr, "POST", "/v2/%s/blobs/%s" % (REPO, big), body=b"").status, 405)

    def test_admin_refuses_non_loopback_clients(self):
        ip = non_loopback_ip()
        if ip is None:
            self.skipTest("this host has no non-loopback IPv4 address")
        port = harness.free_port()
        h = Hoard([oci_upstream(self.proxy.url)], label="hoard-public", extra={"listen": "0.0.0.0:%d" % port})
        # Two listen lines would be ambiguous: keep only the public one.
        with open(h.config_path) as f:
            cfg = f.read().replace("listen: 127.0.0.1:0\n", "").replace('listen: "0.0.0.0:%d"' % port, "listen: 0.0.0.0:%d" % port)
        with open(h.config_path, "w") as f:
            f.write(cfg)
        h.start()
        self.addCleanup(h.close)
        r = request("%s:%d" % (ip, port), "POST", "/-/admin/verify", body=b"", timeout=10)
        self.assertEqual(r.status, 403, repr(r))
        r = request("%s:%d" % (ip, port), "POST", "/-/admin/gc", body=b"", timeout=10)
        self.assertEqual(r.status, 403, repr(r))
        r = request("127.0.0.1:%d" % port, "POST", "/-/admin/gc", body=b"", timeout=30)
        self.assertEqual(r.status, 200, repr(r))

    def test_online_gc_removes_orphans_and_dangling_entries(self):
        h = self.new_hoard("hoard-gc")
        kept, _ = self.push(40_000)
        dangling, _ = self.push(60_000)
        self.pull(h, kept)
        self.pull(h, dangling)
        self.wait_indexed(h, 2)
        os.unlink(blob_path(h.store, dangling))  # an entry without a file

        old_data = os.urandom(20_000)
        old = sha256_digest(old_data)
        young_data = os.urandom(10_000)
        young = sha256_digest(young_data)
        for d, data in ((old, old_data), (young, young_data)):
            p = blob_path(h.store, d)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(data)
        hour_ago = time.time() - 3600
        os.utime(blob_path(h.store, old), (hour_ago, hour_ago))

        rc, out, err = hoard_cli("gc", "--url", "http://" + h.addr, "--json")
        self.assertEqual(rc, 0, out + err + self.logs())
        report = json.loads(out)
        self.assertEqual(report["entries_removed"], 1, report)
        self.assertEqual(report["orphans_removed"], 1, report)
        self.assertEqual(report["orphans_in_grace"], 1, report)
        subjects = {(f["kind"], f["subject"], f["action"]) for f in report["findings"]}
        self.assertIn(("entry_without_file", dangling, "removed"), subjects)
        self.assertIn(("orphan", old, "removed"), subjects)
        self.assertFalse(os.path.exists(blob_path(h.store, old)))
        self.assertTrue(os.path.exists(blob_path(h.store, young)), "a young orphan may be a commit in flight")
        self.assertTrue(os.path.exists(blob_path(h.store, kept)))

        # Text output of a second run: nothing left to do.
        rc, out, err = hoard_cli("gc", "--url", "http://" + h.addr)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("entries without file removed 0", out)

        # The dangling blob is refetched, the kept one is still a hit.
        self.pull(h, dangling)
        self.assertEqual(self.upstream_gets(dangling), 2)
        self.pull(h, kept)
        self.assertEqual(self.upstream_gets(kept), 1)
        self.assertGreaterEqual(metric_value(h.addr, 'hoard_gc_removed_total{kind="orphan"}'), 1)

    def test_offline_verify_and_gc_on_a_stopped_store(self):
        h = self.new_hoard("hoard-offline")
        d, _ = self.push(200_000)
        other, _ = self.push(30_000)
        self.pull(h, d)
        self.pull(h, other)
        self.wait_indexed(h, 2)

        # While hoard runs, the store is locked: say so and point at --url.
        rc, out, err = hoard_cli("verify", "--store", h.store)
        self.assertEqual(rc, 2, out + err)
        self.assertIn("in use by a running hoard", err)
        self.assertIn("--url", err)

        self.assertEqual(h.stop(), 0)
        path = blob_path(h.store, d)
        with open(path, "r+b") as f:
            f.truncate(1000)
        tmp_leftover = os.path.join(h.store, "tmp", "fill-leftover")
        with open(tmp_leftover, "wb") as f:
            f.write(b"partial")

        rc, out, err = hoard_cli("verify", "--store", h.store)
        self.assertEqual(rc, 1, out + err)
        self.assertIn("size_mismatch " + d, out)
        self.assertTrue(os.path.exists(path))

        rc, out, err = hoard_cli("verify", "--store", h.store, "--repair", "--json")
        self.assertEqual(rc, 1, out + err)
        report = json.loads(out)
        self.assertEqual((report["size_mismatch"], report["quarantined"], report["ok"]), (1, 1, 1), report)
        self.assertFalse(os.path.exists(path))
        self.assertTrue(os.path.exists(os.path.join(h.store, "quarantine", "sha256-" + d.split(":", 1)[1])))

        rc, out, err = hoard_cli("verify", "--store", h.store)
        self.assertEqual(rc, 0, out + err)

        rc, out, err = hoard_cli("gc", "--store", h.store, "--json")
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(json.loads(out)["tmp_removed"], 1)
        self.assertFalse(os.path.exists(tmp_leftover))

        rc, out, err = hoard_cli("verify", "--store", os.path.join(h.dir, "no-such-store"))
        self.assertEqual(rc, 2)
        self.assertIn("does not exist", err)
        self.assertFalse(os.path.exists(os.path.join(h.dir, "no-such-store")), "verify must not create a store")

        h.start()
        self.pull(h, d)
        self.assertEqual(self.upstream_gets(d), 2, "the quarantined blob is refetched after restart")
        self.pull(h, other)
        self.assertEqual(self.upstream_gets(other), 1)


if __name__ == "__main__":
    harness.main()
