#!/usr/bin/python3
"""Issue 3, Done-when 5: authenticated upstreams.

- Basic: docker-registry with htpasswd (bcrypt) auth; hoard has `auth: {username, password}`.
- Bearer: docker-registry with `auth: token` trusting tests/fixtures/token_server.py (RS256 JWTs,
  basic credentials at the token endpoint). hoard reuses a token until it expires: several
  upstream fetches within expires_in cost one token request, after expiry exactly one more.
- Neither the password, the basic-auth header value nor any token appears in anything hoard
  writes (stderr access log, stdout).

upstream: docker-registry (auth) <- counting proxy <- hoard; token server on its own port.
"""

import sys
import time
import uuid

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import harness  # noqa: E402
from harness import CONTAINERD_ACCEPT, CountingProxy, Hoard, HoardTestCase, Image, Registry, basic_auth, oci_upstream, skopeo, sha256_digest, tmpdir
from token_server import TokenServer  # noqa: E402

USER = "hoard-puller"
EXPIRES_IN = 6  # seconds; hoard may keep a safety margin of up to half of it


class SecretsMixin:
    def assert_no_secret_in_output(self, hoard, secrets):
        text = hoard.output_text()
        self.assertTrue(text.strip(), "hoard wrote nothing at all: the check would be vacuous")
        for label, secret in secrets:
            self.assertTrue(secret)
            self.assertNotIn(secret, text, "%s appears in hoard's output (stderr/stdout)" % label)

    def pull_objects(self, hoard, repo, tag, image):
        r = hoard.get("/v2/%s/manifests/%s" % (repo, tag), headers={"Accept": CONTAINERD_ACCEPT}, timeout=15)
        self.assertEqual(r.status, 200, "%s:%s through hoard: %r%s" % (repo, tag, r, self.logs()))
        self.assertEqual(r.header("docker-content-digest"), image.digest)
        for b in image.blobs():
            g = hoard.get("/v2/%s/blobs/%s" % (repo, b.digest), timeout=15)
            self.assertEqual((g.status, g.body == b.data), (200, True), "blob %s of %s: %r%s" % (b.digest, repo, g, self.logs()))


class BasicAuthUpstream(SecretsMixin, HoardTestCase):
    @classmethod
    def setUpClass(cls):
        cls.password = "pw-" + uuid.uuid4().hex
        cls.reg = Registry("registry-basic", htpasswd=(USER, cls.password)).start()
        cls.addClassCleanup(cls.reg.stop)
        cls.proxy = CountingProxy(cls.reg.url).start()
        cls.addClassCleanup(cls.proxy.stop)
        cls.image = Image(layer_sizes=(3000, 4000))
        cls.reg.skopeo_push("team/app", "1", cls.image)
        cls.reg.push_image("team/raw", "1", Image(layer_sizes=(1000,)))
        cls.hoard = Hoard([oci_upstream(cls.proxy.url, auth={"username": USER, "password": cls.password})]).start()
        cls.addClassCleanup(cls.hoard.stop)

    def test_registry_really_demands_auth(self):
        r = harness.request(self.reg.addr, "GET", "/v2/team/app/manifests/1", headers={"Accept": CONTAINERD_ACCEPT})
        self.assertEqual(r.status, 401, "the fixture registry must refuse anonymous pulls: %r" % r)
        self.assertTrue(r.header("www-authenticate", "").lower().startswith("basic"), repr(r))

    def test_skopeo_pulls_through_hoard(self):
        out = tmpdir("copy")
        skopeo("copy", "--src-tls-verify=false", "docker://%s/team/app:1" % self.hoard.addr, "dir:" + out)
        with open(out + "/manifest.json", "rb") as f:
            self.assertEqual(sha256_digest(f.read()), self.image.digest)
        self.assertTrue(
            any(k.lower() == "authorization" and v.lower().startswith("basic ") for _, _, hs in self.proxy.request_headers() for k, v in hs),
            "hoard never sent basic credentials upstream",
        )
        self.assert_no_secret_in_output(self.hoard, [("the password", self.password), ("the basic Authorization value", basic_auth(USER, self.password)[6:])])

    def test_hoard_without_credentials_is_refused(self):
        anon = Hoard([oci_upstream(self.proxy.url)], label="hoard-anonymous").start()
        self.addCleanup(anon.close)
        r = anon.get("/v2/team/raw/manifests/1", headers={"Accept": CONTAINERD_ACCEPT}, timeout=10)
        self.assertGreaterEqual(r.status, 400, "no credentials, yet hoard got the manifest: %r" % r)
        self.assertTrue(r.error_codes(), "expected an OCI JSON error: %r" % r)


class BearerTokenUpstream(SecretsMixin, HoardTestCase):
    @classmethod
    def setUpClass(cls):
        cls.password = "pw-" + uuid.uuid4().hex
        cls.tokens = TokenServer(tmpdir("token-server"), USER, cls.password, expires_in=EXPIRES_IN).start()
        cls.addClassCleanup(cls.tokens.stop)
        cls.reg = Registry("registry-token", token=cls.tokens).start()
        cls.addClassCleanup(cls.reg.stop)
        cls.proxy = CountingProxy(cls.reg.url).start()
        cls.addClassCleanup(cls.proxy.stop)
        cls.images = {tag: Image(layer_sizes=(1000 + i, 2000 + i, 3000 + i)) for i, tag in enumerate(("1", "2", "3"))}
        for tag, img in cls.images.items():
            cls.reg.push_image("team/app", tag, img)
        cls.other = Image(layer_sizes=(2500,))
        cls.reg.skopeo_push("team/other", "1", cls.other)
        cls.hoard = Hoard([oci_upstream(cls.proxy.url, auth={"username": USER, "password": cls.password})]).start()
        cls.addClassCleanup(cls.hoard.stop)
        cls.tokens.reset()  # the pushes above asked for tokens too

    def issued_for(self, repo):
        return [r for r in self.tokens.issued() if any(s.startswith("repository:%s:" % repo) for s in r["scopes"])]

    def test_registry_really_demands_a_token(self):
        r = harness.request(self.reg.addr, "GET", "/v2/team/app/manifests/1", headers={"Accept": CONTAINERD_ACCEPT})
        self.assertEqual(r.status, 401, repr(r))
        self.assertIn('realm="%s"' % self.tokens.realm, r.header("www-authenticate", ""), repr(r))

    def test_token_reused_until_expiry(self):
        # within the token's life: tag 1 and tag 2 with all their blobs (8 upstream fetches)
        self.pull_objects(self.hoard, "team/app", "1", self.images["1"])
        first = self.issued_for("team/app")
        self.assertEqual(len(first), 1, "first pull: expected one token request, token server saw %r" % self.tokens.requests())
        self.assertEqual(first[0]["account"], USER, "the token request must authenticate with the configured user")
        self.assertIn("repository:team/app:pull", first[0]["scopes"])
        self.pull_objects(self.hoard, "team/app", "2", self.images["2"])
        elapsed = time.monotonic() - first[0]["time"]
        self.assertLess(elapsed, EXPIRES_IN / 2.0, "test too slow: %.1fs spent inside a %ds token life" % (elapsed, EXPIRES_IN))
        self.assertEqual(
            len(self.issued_for("team/app")),
            1,
            "a token must be reused until it expires; %d upstream requests caused token requests %r"
            % (len(self.proxy.requests()), [(r["time"] - first[0]["time"], r["scopes"]) for r in self.tokens.requests()]),
        )
        bearer = [v for _, _, hs in self.proxy.request_headers() for k, v in hs if k.lower() == "authorization"]
        self.assertIn("Bearer " + first[0]["token"], bearer, "hoard did not send the issued token upstream")

        # after expiry: exactly one new token for the next fetches
        time.sleep(max(0.0, first[0]["time"] + EXPIRES_IN + 0.5 - time.monotonic()))
        self.pull_objects(self.hoard, "team/app", "3", self.images["3"])
        self.assertEqual(
            len(self.issued_for("team/app")),
            2,
            "after expires_in a new token is needed, once: %r" % [(r["time"] - first[0]["time"], r["scopes"]) for r in self.tokens.requests()],
        )
        self.assertEqual([r for r in self.tokens.requests() if r["status"] != 200], [], "refused token requests")
        self.assert_no_secret_in_output(
            self.hoard,
            [("the password", self.password), ("the basic Authorization value", basic_auth(USER, self.password)[6:])]
            + [("an issued token", t) for t in self.tokens.tokens()]
            + [("an issued token's signature", t.rsplit(".", 1)[1]) for t in self.tokens.tokens()],
        )

    def test_skopeo_pulls_through_hoard(self):
        out = tmpdir("copy")
        skopeo("copy", "--src-tls-verify=false", "docker://%s/team/other:1" % self.hoard.addr, "dir:" + out)
        with open(out + "/manifest.json", "rb") as f:
            self.assertEqual(sha256_digest(f.read()), self.other.digest)
        self.assertEqual(len(self.issued_for("team/other")), 1, "one pull of 3 objects: %r" % self.tokens.requests())
        self.assert_no_secret_in_output(self.hoard, [("the password", self.password)] + [("an issued token", t) for t in self.tokens.tokens()])


if __name__ == "__main__":
    harness.main()
