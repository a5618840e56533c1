#!/usr/bin/python3
"""Issue 7: the disk fills up (ENOSPC) while a blob is being filled.

The store lives on a small tmpfs (STORE_FS bytes, RocksDB index included). A few small blobs
are cached first; then a blob bigger than the whole file system is pulled through hoard:
  - the client still gets exactly the blob's bytes (pass-through),
  - nothing partial is committed (no file in blobs/, nothing left in tmp/, not indexed: the
    next request goes upstream again),
  - an eviction pass runs (hoard_evictions_total moves),
  - hoard keeps serving, and can still commit (and index) a new blob afterwards.

Needs root (mount -t tmpfs); exits with 77 (ctest SKIP_RETURN_CODE) when mounting is not
permitted, saying why.
"""

import atexit
import hashlib
import os
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import harness  # noqa: E402
from harness import CountingProxy, Hoard, HoardTestCase, Registry, oci_upstream, stream_hash, wait_until

SKIP = 77
STORE_FS = 40 << 20
SMALL = 3 << 20
SMALL_COUNT = 4
BIG = 64 << 20  # more than the whole file system
THROTTLE = 48 << 20  # bytes/s: the big pull takes ~1.3 s, the disk stays full for a while


def mount_tmpfs(path, size):
    """Mounts a tmpfs of `size` bytes at path; None on success, else why not."""
    if os.geteuid() != 0:
        return "not running as root"
    try:
        r = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=%d" % size, "tmpfs", path],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return "mount failed: %s" % e
    if r.returncode != 0:
        return "mount failed (rc %d): %s" % (r.returncode, (r.stderr or r.stdout).strip())
    return None


def umount(path):
    subprocess.run(["umount", "-l", path], capture_output=True, timeout=30)


def files_under(root):
    out = []
    for dirpath, _, names in os.walk(root):
        out.extend(os.path.join(dirpath, n) for n in names)
    return out


def blob_file(store, digest):
    hexd = digest.split(":", 1)[1]
    return os.path.join(store, "blobs", "sha256", hexd[:2], hexd)


class StoreFull(HoardTestCase):
    @classmethod
    def setUpClass(cls):
        cls.mnt = MOUNT
        cls.store = os.path.join(cls.mnt, "store")
        cls.reg = Registry().start()
        cls.addClassCleanup(cls.reg.stop)
        cls.proxy = CountingProxy(cls.reg.url).start()
        cls.addClassCleanup(cls.proxy.stop)
        cls.small = [cls.reg.push_blob("library/small", os.urandom(SMALL)) for _ in range(SMALL_COUNT)]
        cls.after = cls.reg.push_blob("library/small", os.urandom(SMALL))
        cls.big_data = os.urandom(BIG)
        cls.big = cls.reg.push_blob("library/big", cls.big_data)
        cls.hoard = Hoard([oci_upstream(cls.proxy.url)], store=cls.store)
        # Last-access batches written often, so RocksDB writes while the disk is full.
        with open(cls.hoard.config_path) as f:
            config = f.read()
        config = config.replace("store: { path: %s }" % cls.store, "store: { path: %s, access_flush: 100ms }" % cls.store)
        with open(cls.hoard.config_path, "w") as f:
            f.write(config)
        cls.hoard.start()
        cls.addClassCleanup(cls.hoard.stop)

    def get_exact(self, digest, repo, data_len):
        path = "/v2/%s/blobs/%s" % (repo, digest)
        resp, got, n = stream_hash(self.hoard.addr, path, timeout=60)
        self.assertEqual(resp.status, 200, "%s: %r%s" % (digest, resp, self.logs()))
        self.assertIsNone(resp.error, "%s: body cut after %d bytes: %r%s" % (digest, n, resp.error, self.logs()))
        self.assertEqual(n, data_len, "%s: got %d bytes%s" % (digest, n, self.logs()))
        self.assertEqual(got, digest, "%s: wrong bytes" % digest)

    def wait_idle(self):
        self.assertTrue(wait_until(lambda: self.hoard.metric("hoard_active_fills") == 0, 15), "a fill never ended" + self.logs())

    def test_enospc_fill_passes_through_and_commits_nothing(self):
        for d in self.small:
            self.get_exact(d, "library/small", SMALL)
        self.wait_idle()
        for d in self.small:
            self.assertTrue(os.path.exists(blob_file(self.store, d)), "small blob not committed" + self.logs())
        evictions_before = self.hoard.metric("hoard_evictions_total") or 0
        st = os.statvfs(self.mnt)
        free = st.f_bavail * st.f_frsize
        self.assertLess(free, BIG, "the blob must not fit on the store's file system")
        print("store fs: %d bytes free before the big pull (blob %d)" % (free, BIG))

        # The big pull, throttled so the disk stays full for a while; meanwhile a cache hit
        # (its last-access write goes to RocksDB on the full disk).
        self.proxy.configure(throttle_bps=THROTTLE)
        hit_result = {}

        def hit_while_full():
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                s = os.statvfs(self.mnt)
                if s.f_bavail * s.f_frsize < (1 << 20):
                    break
                time.sleep(0.01)
            hit_result["full"] = os.statvfs(self.mnt).f_bavail
            r = harness.request(self.hoard.addr, "GET", "/v2/library/small/blobs/%s" % self.small[0], timeout=30)
            hit_result["status"] = r.status
            hit_result["ok"] = hashlib.sha256(r.body).hexdigest() == self.small[0].split(":")[1]
            time.sleep(0.5)  # > access_flush: the touch batch is written while the disk is full

        t = threading.Thread(target=hit_while_full, daemon=True)
        t.start()
        try:
            self.get_exact(self.big, "library/big", BIG)
        finally:
            self.proxy.configure()
        t.join(30)
        self.assertEqual(hit_result.get("status"), 200, "hit while the disk was full: %r%s" % (hit_result, self.logs()))
        self.assertTrue(hit_result.get("ok"), "hit while full: wrong bytes")
        self.assertEqual(self.proxy.count("GET", "/blobs/" + self.big), 1)

        # Nothing partial committed: no blob file, temp file gone, not indexed.
        self.wait_idle()
        self.assertFalse(os.path.exists(blob_file(self.store, self.big)), "a partial blob was committed")
        self.assertTrue(
            wait_until(lambda: files_under(os.path.join(self.store, "tmp")) == [], 10),
            "temp files left: %r" % files_under(os.path.join(self.store, "tmp")),
        )
        text = self.hoard.output_text()
        self.assertIn("store full", text, "no warning logged" + self.logs())
        self.assertGreaterEqual(self.hoard.metric("hoard_fill_no_space_total") or 0, 1)

        # An eviction pass ran.
        self.assertTrue(
            wait_until(lambda: (self.hoard.metric("hoard_evictions_total") or 0) > evictions_before, 5),
            "no eviction after ENOSPC (hoard_evictions_total %r)%s" % (self.hoard.metric("hoard_evictions_total"), self.logs()),
        )
        evicted = [d for d in self.small if not os.path.exists(blob_file(self.store, d))]
        print("evicted %d of %d small blobs; hoard_evicted_bytes_total %r" % (len(evicted), SMALL_COUNT, self.hoard.metric("hoard_evicted_bytes_total")))

        # Not indexed: the next request goes upstream again (and passes through again).
        self.get_exact(self.big, "library/big", BIG)
        self.assertEqual(self.proxy.count("GET", "/blobs/" + self.big), 2, "the big blob was served from a partial cache entry")
        self.wait_idle()
        self.assertFalse(os.path.exists(blob_file(self.store, self.big)))

        # hoard keeps serving, and can still commit and index: a new blob fills, the next GET hits.
        r = harness.request(self.hoard.addr, "GET", "/v2/")
        self.assertEqual(r.status, 200)
        self.get_exact(self.after, "library/small", SMALL)
        self.wait_idle()
        self.get_exact(self.after, "library/small", SMALL)
        self.assertEqual(
            self.proxy.count("GET", "/blobs/" + self.after),
            1,
            "a blob filled after the disk was full was not cached: index writes failing?%s" % self.logs(),
        )
        self.assertTrue(os.path.exists(blob_file(self.store, self.after)))

        # Who pulled what: the access log names the digest of every blob response.
        lines = self.hoard.wait_access_log("/blobs/" + self.big, 2)
        self.assertEqual([l.get("digest") for l in lines], [self.big, self.big], repr(lines))
        hits = [l for l in self.hoard.access_log() if l.get("cache") == "hit"]
        self.assertTrue(hits and all(l.get("digest", "").startswith("sha256:") for l in hits), repr(hits))

        # RocksDB on a full disk: report what it did (its LOG says if it went read-only).
        print("hit while the disk was full: %r" % hit_result)
        for p in files_under(os.path.join(self.store, "index")):
            st = os.stat(p)
            if st.st_blocks * 512 > st.st_size + (1 << 20):
                print("RocksDB file %s: size %d, allocated %d (preallocated)" % (os.path.basename(p), st.st_size, st.st_blocks * 512))
        log = os.path.join(self.store, "index", "LOG")
        if os.path.exists(log):
            with open(log, errors="replace") as f:
                bad = [l.strip() for l in f if "No space" in l or "NoSpace" in l or "read-only" in l.lower()]
            print("RocksDB LOG lines about the full disk: %d%s" % (len(bad), "".join("\n  " + l[:200] for l in bad[:5])))


MOUNT = None

if __name__ == "__main__":
    MOUNT = harness.tmpdir("store-fs")
    why = mount_tmpfs(MOUNT, STORE_FS)
    if why:
        print("SKIP: cannot mount a %d-byte tmpfs for the store: %s" % (STORE_FS, why))
        sys.exit(SKIP)
    # atexit is LIFO: this may run before harness' cleanup has stopped every process, so the
    # unmount is lazy (it completes once nothing uses the file system).
    atexit.register(umount, MOUNT)
    harness.main()
