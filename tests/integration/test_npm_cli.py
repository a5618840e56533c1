#!/usr/bin/python3
"""Issue 4, Done-when 6: the npm commands a user runs besides install.

  npm ping              -> PONG
  npm view              -> the fixture's data (dist-tags, a private scoped package, E404 for none)
  npm audit             -> passed through to the public fixture (its bulk advisory endpoint
                           answers {} -> "found 0 vulnerabilities"); the private @acme packages
                           are stripped from the body before it leaves. Or, if hoard does not
                           pass audits through, a clear error that names audit.
  npm publish           -> a clear read-only error (405 with hoard's JSON message); PUT/DELETE on
                           the API -> 405 JSON; nothing reaches an upstream
"""

import json
import os
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
        """Pass-through (what the issue's behaviour section asks), or else a clear error that says
        audit is not available -- never a misleading one (e.g. "read-only mirror")."""
        project = write_npm_project()
        self.npm.install(project)
        self.pub.reset()
        self.priv.reset()
        r = self.npm.run("audit", "--json", cwd=project, check=False)
        audits = self.pub.requests(kind="audit")
        self.assertEqual(self.priv.requests(kind="audit"), [], "audit sent to the private upstream")
        if not audits:
            self.assertNotEqual(r.rc, 0, repr(r))
            self.assertRegex(
                r.output.lower(),
                r"(4\d\d|5\d\d) [a-z ]+ - post \S+/-/npm/v1/security/\S+ - [^\n]*audit",
                "npm audit neither reached the upstream nor got a clear error naming audit: %r" % r,
            )
            return
        self.assertEqual(r.rc, 0, "npm audit with an upstream that reports nothing: %r" % r)
        report = json.loads(r.stdout)
        self.assertEqual(report["metadata"]["vulnerabilities"]["total"], 0, r.stdout)
        body = audits[0].body.decode(errors="replace")
        self.assertIn("fixture-a", body, "the audit body was not passed through: %r" % body)
        self.assertNotIn("@acme", body, "names of private-scope packages leaked to the public upstream: %r" % body)
        r = self.npm.run("audit", cwd=project, check=False)
        self.assertIn("found 0 vulnerabilities", r.output, repr(r))

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


if __name__ == "__main__":
    harness.main()
