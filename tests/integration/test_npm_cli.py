#!/usr/bin/python3
"""Issue 4, Done-when 6: the npm commands a user runs besides install.

  npm ping              -> PONG
  npm view              -> the fixture's data (dist-tags, a private scoped package, E404 for none)
  npm audit             -> passed through to the public fixture (its bulk advisory endpoint
                           answers {} -> "found 0 vulnerabilities"); the private @acme packages
                           are stripped from the body before it leaves, the client's credentials
                           never go along, nothing goes to the private upstream. npm 6's quick
                           endpoint (npm's fallback when bulk fails) is passed through the same way.
                           With the public upstream stopped, `npm audit` fails with an error that
                           names audit and hoard keeps serving.
  npm publish           -> a clear read-only error (405 with hoard's JSON message); PUT/DELETE on
                           the API -> 405 JSON; nothing reaches an upstream
"""

import gzip
import json
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import harness  # noqa: E402
from harness import HoardTestCase, NpmClient, npm_url, request, start_npm_stack, tmpdir, write_npm_project  # noqa: E402


class NpmCli(HoardTestCase):
    @classmethod
    def setUpClass(cls):
        cls.pub, cls.priv, cls.hoard = start_npm_stack(cls)
        # a token for hoard's URL, so that npm publish really sends its PUT instead of ENEEDAUTH
        rc = "//%s/npm/:_authToken=test-token-not-a-secret\n" % cls.hoard.addr
        cls.npm = NpmClient(npm_url(cls.hoard), label="npm-cli", extra_rc=rc)

    def test_ping(self):
        r = self.npm.run("ping", check=False)
        self.assertEqual(r.rc, 0, repr(r))
        self.assertIn("PONG", r.output)

    def test_view(self):
        r = self.npm.run("view", "fixture-a", "version", check=False)
        self.assertEqual((r.rc, r.stdout.strip()), (0, "1.1.0"), repr(r))
        r = self.npm.run("view", "fixture-a", "dist-tags", "--json", check=False)
        self.assertEqual((r.rc, json.loads(r.stdout or "null")), (0, {"latest": "1.1.0", "next": "2.0.0-beta.1"}), repr(r))
        r = self.npm.run("view", "fixture-a@1.0.0", "dependencies", "--json", check=False)
        self.assertEqual((r.rc, json.loads(r.stdout or "null")), (0, {"fixture-b": "^1.0.0"}), repr(r))
        r = self.npm.run("view", "@acme/util", "version", check=False)
        self.assertEqual((r.rc, r.stdout.strip()), (0, "1.2.0"), "the private package, not the public impostor: %r" % r)
        r = self.npm.run("view", "@tools/fmt", "dist.tarball", check=False)
        self.assertEqual((r.rc, r.stdout.strip()), (0, npm_url(self.hoard) + "@tools/fmt/-/fmt-1.2.0.tgz"), repr(r))
        r = self.npm.run("view", "no-such-package", "version", check=False)
        self.assertNotEqual(r.rc, 0, repr(r))
        self.assertIn("E404", r.output, repr(r))

    def test_audit(self):
        """npm audit reaches the public upstream through hoard, without the private names."""
        project = write_npm_project()
        self.npm.install(project)
        self.pub.reset()
        self.priv.reset()
        before = audit_requests_metric(self.hoard)
        r = self.npm.run("audit", "--json", cwd=project, check=False)
        audits = self.pub.requests(kind="audit")
        self.assertEqual(self.priv.requests(kind="audit"), [], "audit sent to the private upstream")
        self.assertTrue(audits, "npm audit did not reach the public upstream: %r" % r)
        self.assertEqual(r.rc, 0, "npm audit with an upstream that reports nothing: %r" % r)
        report = json.loads(r.stdout)
        self.assertEqual(report["metadata"]["vulnerabilities"]["total"], 0, r.stdout)
        self.assertEqual(audits[0].method, "POST")
        self.assertTrue(audits[0].path.startswith("/-/npm/v1/security/advisories/bulk"), audits[0].path)
        body = audits[0].body.decode(errors="replace")
        self.assertIn("fixture-a", body, "the audit body was not passed through: %r" % body)
        self.assertNotIn("@acme", body, "names of private-scope packages leaked to the public upstream: %r" % body)
        sent = json.loads(body)
        self.assertEqual(sent.get("fixture-a"), ["1.1.0"], body)
        self.assertNotIn("authorization", audits[0].headers, "the client's token went to the upstream")
        r = self.npm.run("audit", cwd=project, check=False)
        self.assertIn("found 0 vulnerabilities", r.output, repr(r))
        self.assertGreaterEqual(audit_requests_metric(self.hoard) - before, 2, "audits not counted as upstream requests")
        logged = self.hoard.wait_access_log("/-/npm/v1/security/advisories/bulk", 2)
        self.assertTrue(logged and all(l.get("method") == "POST" and l.get("upstream") == "npmjs" for l in logged), logged)
        self.assertIn("bulk", [l.get("audit") for l in logged], logged)

    def test_audit_quick_endpoint(self):
        """npm 6's quick audit (and npm 7+'s fallback): gzip JSON tree in, private names out."""
        self.pub.reset()
        self.priv.reset()
        tree = {
            "name": "sample-project",
            "version": "1.0.0",
            "requires": {"fixture-a": "^1.0.0", "@acme/util": "^1.0.0"},
            "dependencies": {
                "fixture-a": {"version": "1.1.0", "requires": {"fixture-b": "^1.0.0"}},
                "fixture-b": {"version": "1.0.0"},
                "@acme/util": {"version": "1.2.0"},
            },
            "install": [],
            "remove": [],
            "metadata": {"npm_version": "6.14.18"},
        }
        resp = request(
            self.hoard.addr,
            "POST",
            "/npm/-/npm/v1/security/audits/quick",
            headers={
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
                "Authorization": "Bearer test-token-not-a-secret",
            },
            body=gzip.compress(json.dumps(tree).encode()),
        )
        self.assertEqual(resp.status, 200, repr(resp))
        self.assertEqual(resp.json()["metadata"]["dependencies"], 2, "the fixture counts what it got: %r" % resp.body)
        audits = self.pub.requests(kind="audit")
        self.assertEqual(len(audits), 1, audits)
        self.assertTrue(audits[0].path.startswith("/-/npm/v1/security/audits/quick"), audits[0].path)
        sent = json.loads(audits[0].body)
        self.assertEqual(sorted(sent["dependencies"]), ["fixture-a", "fixture-b"], sent)
        self.assertEqual(sent["requires"], {"fixture-a": "^1.0.0"}, sent)
        self.assertNotIn("@acme", audits[0].body.decode(), sent)
        self.assertNotIn("authorization", audits[0].headers, "the client's token went to the upstream")
        self.assertEqual(self.priv.requests(), [])
        resp = request(self.hoard.addr, "POST", "/npm/-/npm/v1/security/advisories/bulk", headers={"Content-Type": "application/json"}, body=b"{not json")
        self.assertEqual(resp.status, 400, repr(resp))
        self.assertIn("audit", resp.json().get("error", ""), repr(resp))
        self.assertEqual(len(self.pub.requests(kind="audit")), 1, "a bad body reached the upstream")

    def test_publish_is_refused(self):
        pkg = tmpdir("publish-me")
        with open(os.path.join(pkg, "package.json"), "w") as f:
            json.dump({"name": "brand-new-package", "version": "1.0.0"}, f)
        with open(os.path.join(pkg, "index.js"), "w") as f:
            f.write("module.exports = 1;\n")
        r = self.npm.run("publish", cwd=pkg, check=False)
        self.assertNotEqual(r.rc, 0, "publish succeeded on a read-only mirror: %r" % r)
        self.assertIn("E405", r.output, "npm should report hoard's 405: %r" % r)
        r = self.npm.run("unpublish", "fixture-a@1.0.0", "--force", check=False)
        self.assertNotEqual(r.rc, 0, repr(r))
        for method, path in (
            ("PUT", "/npm/brand-new-package"),
            ("PUT", "/npm/@acme%2fnew"),
            ("DELETE", "/npm/fixture-a/-rev/1-abc"),
            ("PUT", "/npm/-/user/org.couchdb.user:someone"),
        ):
            resp = request(self.hoard.addr, method, path, headers={"Content-Type": "application/json"}, body=b"{}")
            self.assertEqual(resp.status, 405, "%s %s: %r" % (method, path, resp))
            self.assertTrue(resp.json().get("error"), "npm-style JSON error expected: %r" % resp)
        for reg in (self.pub, self.priv):
            writes = [x for x in reg.requests() if x.method in ("PUT", "DELETE", "POST") and x.kind != "audit"]
            self.assertEqual(writes, [], "a write reached an upstream")


def audit_requests_metric(hoard):
    """hoard_upstream_requests_total{kind="audit"}, summed over upstreams."""
    r = request(hoard.addr, "GET", "/-/metrics", timeout=5)
    total = 0.0
    for line in r.body.decode(errors="replace").splitlines():
        if line.startswith("hoard_upstream_requests_total{") and 'kind="audit"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


class NpmAuditUpstreamDown(HoardTestCase):
    """Its own stack: stopping the public fixture opens hoard's breaker for it, which must not
    leak into NpmCli's tests."""

    @classmethod
    def setUpClass(cls):
        cls.pub, cls.priv, cls.hoard = start_npm_stack(cls, hoard_label="hoard-audit-down")
        cls.npm = NpmClient(npm_url(cls.hoard), label="npm-audit-down")

    def test_audit_with_the_upstream_stopped(self):
        project = write_npm_project()
        self.npm.install(project)
        self.pub.stop()
        try:
            for attempt in range(2):  # a refused connection, then (maybe) the open breaker
                r = self.npm.run("audit", cwd=project, check=False, timeout=60)
                self.assertNotEqual(r.rc, 0, "npm audit succeeded with the upstream stopped: %r" % r)
                self.assertRegex(
                    r.output.lower(),
                    r"5\d\d [a-z ]+ - post \S+/-/npm/v1/security/\S+ - audit: upstream npmjs unavailable",
                    "attempt %d: npm audit should fail with an error that names audit: %r" % (attempt, r),
                )
            # hoard keeps serving: its own endpoints, cached packuments, the private upstream
            self.assertEqual(self.npm.run("ping", check=False).rc, 0)
            r = self.npm.run("view", "fixture-a", "version", check=False)
            self.assertEqual((r.rc, r.stdout.strip()), (0, "1.1.0"), "a cached packument: %r" % r)
            r = self.npm.run("view", "@acme/util", "version", check=False)
            self.assertEqual((r.rc, r.stdout.strip()), (0, "1.2.0"), "the private upstream: %r" % r)
            self.assertEqual(self.priv.requests(kind="audit"), [], "audit sent to the private upstream")
            lines = self.hoard.wait_access_log("/-/npm/v1/security/", 1)
            self.assertTrue(lines and all(re.match(r"5\d\d$", str(l.get("status"))) for l in lines), lines)
        finally:
            self.pub.start()


if __name__ == "__main__":
    harness.main()
