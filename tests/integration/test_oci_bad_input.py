#!/usr/bin/python3
"""Done-when 6: malformed HTTP, oversized headers, bad names/digests, path traversal, an
`ns` that is not configured: each gets its clear 4xx, nothing reaches the upstream, no file
leaks, and hoard keeps serving (checked after every test).
"""

import socket
import time

import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import harness  # noqa: E402
from harness import HoardTestCase, raw_exchange, raw_status, request

GOOD_DIGEST = "sha256:" + "a" * 64


class BadInput(HoardTestCase):
    @classmethod
    def setUpClass(cls):
        cls.reg, cls.proxy, cls.hoard = harness.start_stack(cls)

    def setUp(self):
        self.proxy.reset()

    def tearDown(self):
        # hoard keeps serving, and no bad request was forwarded upstream
        self.assertTrue(self.hoard.proc.alive(), "hoard died" + self.logs())
        r = self.hoard.get("/v2/", timeout=5)
        self.assertEqual(r.status, 200, "hoard stopped answering /v2/: %r%s" % (r, self.logs()))
        forwarded = [(m, p) for m, p in self.proxy.requests() if p.split("?")[0] != "/v2/"]
        self.assertEqual(forwarded, [], "bad input reached the upstream")

    def raw(self, data, timeout=5.0):
        out = raw_exchange(self.hoard.addr, data, timeout=timeout)
        return raw_status(out), out

    def assert4xx(self, data, expect=None, what=None):
        status, out = self.raw(data)
        what = what or repr(data[:120])
        self.assertIsNotNone(status, "%s: no HTTP response (got %r)%s" % (what, out[:200], self.logs()))
        if expect is not None:
            self.assertEqual(status, expect, "%s: %r" % (what, out[:300]))
        else:
            self.assertTrue(400 <= status < 500, "%s: wanted a 4xx, got %r" % (what, out[:300]))
        self.assertNotIn(b"root:", out, "%s: file content leaked" % what)
        return out

    def get(self, path):
        return request(self.hoard.addr, "GET", path, timeout=10)

    # ---- malformed HTTP --------------------------------------------------------------
    def test_garbage_request_line(self):
        self.assert4xx(b"GARBAGE\r\n\r\n", expect=400)
        self.assert4xx(b"GET /v2/ HTTX/1.1\r\nHost: x\r\n\r\n")
        self.assert4xx(b"\x00\xff\xfe\x16\x03\x01binary junk\r\n\r\n")

    def test_content_length_and_transfer_encoding(self):
        self.assert4xx(
            b"GET /v2/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            expect=400,
        )

    def test_oversized_header(self):
        big = b"X-Big: " + b"a" * (128 * 1024) + b"\r\n"
        self.assert4xx(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n" + big + b"\r\n", expect=431)

    def test_too_many_headers(self):
        many = b"".join(b"X-H%d: v\r\n" % i for i in range(2000))
        self.assert4xx(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")

    def test_overlong_request_line(self):
        self.assert4xx(b"GET /v2/" + b"a" * (256 * 1024) + b"/manifests/latest HTTP/1.1\r\nHost: x\r\n\r\n")

    def test_half_sent_requests_do_not_block_others(self):
        socks = []
        try:
            for _ in range(16):
                s = socket.create_connection(("127.0.0.1", int(self.hoard.addr.rsplit(":", 1)[1])), timeout=5)
                s.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                socks.append(s)
            t0 = time.monotonic()
            r = self.hoard.get("/v2/", timeout=5)
            self.assertEqual(r.status, 200)
            self.assertLess(time.monotonic() - t0, 2.0, "a normal request waited behind slow ones")
        finally:
            for s in socks:
                s.close()

    def test_write_methods_rejected(self):
        for method, path in (
            ("POST", "/v2/library/x/blobs/uploads/"),
            ("PUT", "/v2/library/x/manifests/latest"),
            ("DELETE", "/v2/library/x/manifests/%s" % GOOD_DIGEST),
            ("PATCH", "/v2/library/x/blobs/uploads/abc"),
        ):
            r = request(self.hoard.addr, method, path, body=b"{}", timeout=10)
            self.assertTrue(400 <= r.status < 500, "%s %s on a read-only mirror: %r" % (method, path, r))

    # ---- names, references, digests ---------------------------------------------------
    def test_bad_names(self):
        for path in (
            "/v2/library/UPPER/manifests/latest",
            "/v2/library/foo$bar/manifests/latest",
            "/v2/library/-foo/manifests/latest",
            "/v2/library/foo-/blobs/%s" % GOOD_DIGEST,
            "/v2/library/foo%20bar/manifests/latest",
            "/v2/library//foo/manifests/latest",
        ):
            r = self.get(path)
            self.assertOciError(r, 400, "NAME_INVALID", path)

    def test_bad_tags(self):
        for path in (
            "/v2/library/alpine/manifests/-bad",
            "/v2/library/alpine/manifests/" + "t" * 129,
            "/v2/library/alpine/manifests/a%20b",
        ):
            r = self.get(path)
            self.assertEqual(r.status, 400, "%s: %r" % (path, r))
            self.assertTrue(r.error_codes(), "%s: error body must be OCI JSON: %r" % (path, r))

    def test_bad_digests(self):
        for d in (
            "sha256:" + "a" * 63,
            "sha256:" + "A" * 64,
            "sha256:" + "g" * 64,
            "sha256:",
            "notadigest",
            "sha256:" + "a" * 64 + "00",
        ):
            path = "/v2/library/alpine/blobs/%s" % d
            r = self.get(path)
            self.assertOciError(r, 400, "DIGEST_INVALID", path)
        r = self.get("/v2/library/alpine/manifests/sha256:1234")
        self.assertEqual(r.status, 400, "manifest by malformed digest: %r" % r)

    # ---- path traversal ----------------------------------------------------------------
    def test_path_traversal(self):
        for target in (
            "/v2/../etc/passwd",
            "/v2/../../../../../../etc/passwd",
            "/v2/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
            "/v2/%2E%2E/%2E%2E/etc/passwd",
            "/v2/library/../../../../etc/passwd/manifests/latest",
            "/v2/library/..%2f..%2f..%2fetc%2fpasswd/manifests/latest",
            "/v2/library/%2e%2e/manifests/latest",
            "/v2/library/../manifests/latest",
            "/v2/../manifests/latest",
            "/v2/library/alpine/blobs/../../../../etc/passwd",
            "/v2/library/alpine/blobs/sha256:..%2f..%2f..%2fetc%2fpasswd",
            "/v2/library/alpine/manifests/..",
            "/v2/dockerhub/../../etc/passwd/manifests/latest",
            "/..%2f..%2f..%2fetc/passwd",
            "/../../etc/passwd",
        ):
            out = self.assert4xx(b"GET " + target.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n", what=target)
            self.assertFalse(out.startswith(b"HTTP/1.1 200"), target)

    # ---- routing ---------------------------------------------------------------------
    def test_unconfigured_ns_is_fast_404(self):
        for path in (
            "/v2/library/alpine/manifests/latest?ns=ghcr.io",
            "/v2/library/alpine/blobs/%s?ns=evil.example.com" % GOOD_DIGEST,
            "/v2/foo/bar/tags/list?ns=quay.io",
        ):
            t0 = time.monotonic()
            r = self.get(path)
            elapsed = time.monotonic() - t0
            self.assertOciError(r, 404, "NAME_UNKNOWN", path)
            self.assertLess(elapsed, 1.0, "%s: an unconfigured ns must be answered at once" % path)
            self.assertIn("json", r.header("content-type", ""), "%s: OCI errors are JSON: %r" % (path, r))

    def test_unknown_manifest_is_json_404(self):
        r = self.get("/v2/library/doesnotexist/manifests/latest")
        self.assertEqual(r.status, 404, repr(r))
        self.assertTrue(set(r.error_codes()) & {"MANIFEST_UNKNOWN", "NAME_UNKNOWN"}, repr(r))
        self.proxy.reset()  # this one legitimately asks upstream


if __name__ == "__main__":
    harness.main()
