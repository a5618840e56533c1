#!/usr/bin/python3
"""Issue 5, Done-when 3: hoard's Simple API pages, JSON and HTML, checked field by field against
PEP 503/691/700/714 and against what the fixture upstream published; non-normalized names
redirect; PEP 691 negotiation; ETag/304; gzip; upstreams that only speak HTML or use relative
file URLs; file links outside the upstream's configured hosts are never followed.
"""

import gzip
import html.parser
import sys
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from harness import Hoard, HoardTestCase, main  # noqa: E402
from pypi_support import PyPIIndex, normalize, pypi_upstream, sample_universe  # noqa: E402

JSON = "application/vnd.pypi.simple.v1+json"
V1_HTML = "application/vnd.pypi.simple.v1+html"
PIP_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"
PROJECTS = ["acme-core", "acme-utils", "acme-cli", "acme-yanked", "acme-future", "acme-http", "acme-sdist-only"]


class Anchors(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.anchors, self.meta, self._cur = [], {}, None

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._cur = (dict(attrs), [])
        elif tag == "meta":
            a = dict(attrs)
            self.meta[a.get("name")] = a.get("content")

    def handle_data(self, data):
        if self._cur:
            self._cur[1].append(data)

    def handle_endtag(self, tag):
        if tag == "a" and self._cur:
            self.anchors.append((self._cur[0], "".join(self._cur[1])))
            self._cur = None


def parse_html(body):
    p = Anchors()
    p.feed(body.decode())
    return p


class Pages(HoardTestCase):
    @classmethod
    def setUpClass(cls):
        cls.index = PyPIIndex(sample_universe(), label="pypi-fixture").start()
        cls.hoard = Hoard([pypi_upstream(cls.index)], label="hoard-pages").start()

    @classmethod
    def tearDownClass(cls):
        cls.hoard.close()
        cls.index.stop()

    def page(self, project, accept=JSON, **headers):
        headers["Accept"] = accept
        return self.hoard.get("/pypi/simple/%s/" % project, headers=headers)

    def expected_files(self, project):
        return {f["filename"]: f for f in self.index.project_json(project)["files"]}

    def test_json_pages_field_by_field(self):
        for project in PROJECTS:
            with self.subTest(project=project):
                r = self.page(project, PIP_ACCEPT)
                self.assertEqual(r.status, 200, repr(r))
                self.assertEqual(r.header("content-type"), JSON)
                self.assertIn("Accept", r.header("vary", ""))
                doc = r.json()
                up = self.index.project_json(project)
                self.assertEqual(doc["meta"]["api-version"], "1.1")
                self.assertEqual(doc["name"], up["name"])
                self.assertEqual(doc["versions"], up["versions"])  # PEP 700
                want = self.expected_files(project)
                self.assertEqual([f["filename"] for f in doc["files"]], list(want))
                for f in doc["files"]:
                    w = want[f["filename"]]
                    self.assertEqual(f["url"], "../../files/%s/%s" % (project, urllib.parse.quote(f["filename"])))
                    self.assertEqual(f["hashes"], w["hashes"])
                    self.assertEqual(f.get("requires-python"), w["requires-python"])
                    self.assertEqual(f["yanked"], w["yanked"])  # PEP 592: false or the reason
                    self.assertEqual(f["core-metadata"], w["core-metadata"])  # PEP 714
                    self.assertNotIn("dist-info-metadata", f, "pip 23.0 crashes on this JSON key")
                    self.assertEqual(f["size"], w["size"])  # PEP 700
                    self.assertEqual(f["upload-time"], w["upload-time"])
        yanked = {f["filename"]: f for f in self.page("acme-yanked").json()["files"]}
        self.assertEqual(yanked["acme_yanked-2.0.0-py3-none-any.whl"]["yanked"], "broken")
        self.assertFalse(yanked["acme_yanked-1.0.0-py3-none-any.whl"]["core-metadata"])

    def test_html_pages_field_by_field(self):
        for accept, ctype in ((V1_HTML, V1_HTML), ("text/html", "text/html"), (None, "text/html")):
            for project in PROJECTS:
                with self.subTest(project=project, accept=accept):
                    r = self.hoard.get("/pypi/simple/%s/" % project, headers={"Accept": accept} if accept else {})
                    self.assertEqual(r.status, 200, repr(r))
                    self.assertEqual(r.header("content-type").split(";")[0], ctype)
                    page = parse_html(r.body)
                    self.assertEqual(page.meta.get("pypi:repository-version"), "1.1")
                    want = self.expected_files(project)
                    self.assertEqual([text for _, text in page.anchors], list(want))
                    for attrs, text in page.anchors:
                        w = want[text]
                        self.assertEqual(
                            attrs["href"], "../../files/%s/%s#sha256=%s" % (project, urllib.parse.quote(text), w["hashes"]["sha256"])
                        )
                        self.assertEqual(attrs.get("data-requires-python"), w["requires-python"])
                        if w["yanked"] is False:
                            self.assertNotIn("data-yanked", attrs)
                        else:
                            self.assertEqual(attrs["data-yanked"], w["yanked"])
                        if w["core-metadata"]:
                            meta = "sha256=" + w["core-metadata"]["sha256"]
                            self.assertEqual(attrs.get("data-core-metadata"), meta)
                            self.assertEqual(attrs.get("data-dist-info-metadata"), meta)
                        else:
                            self.assertNotIn("data-core-metadata", attrs)
        # requires-python is escaped in the markup (">" must not appear raw in an attribute)
        raw = self.page("acme-future", "text/html").body.decode()
        self.assertIn('data-requires-python="&gt;=4"', raw)

    def test_negotiation_redirects_and_validators(self):
        self.assertEqual(self.page("acme-core", "application/xml").status, 406)
        self.assertEqual(self.page("acme-core", "text/html;q=0, application/vnd.pypi.simple.v1+json").header("content-type"), JSON)
        for path, to in (
            ("/pypi/simple/Acme.Http/", "/pypi/simple/acme-http/"),
            ("/pypi/simple/ACME_core/", "/pypi/simple/acme-core/"),
            ("/pypi/simple/acme-core", "/pypi/simple/acme-core/"),
            ("/pypi/simple", "/pypi/simple/"),
        ):
            r = self.hoard.get(path, headers={"Accept": JSON})
            self.assertEqual((r.status, r.header("location")), (301, to), path)
        for bad in ("/pypi/simple/..%2f..%2fetc/", "/pypi/simple/-bad-/", "/pypi/files/acme-core/..", "/pypi/files/acme-core/x.exe"):
            self.assertEqual(self.hoard.get(bad).status, 400, bad)

        r = self.page("acme-core")
        etag = r.header("etag")
        self.assertTrue(etag)
        again = self.page("acme-core", **{"If-None-Match": etag})
        self.assertEqual((again.status, again.body), (304, b""))
        # JSON and HTML are different representations: different validators
        self.assertNotEqual(self.page("acme-core", "text/html").header("etag"), etag)

        gz = self.page("acme-core", **{"Accept-Encoding": "gzip, deflate"})
        self.assertEqual(gz.header("content-encoding"), "gzip")
        self.assertEqual(gzip.decompress(gz.body), r.body)

    def test_project_list(self):
        r = self.hoard.get("/pypi/simple/", headers={"Accept": JSON})
        self.assertEqual(r.status, 200, repr(r))
        names = sorted(normalize(p["name"]) for p in r.json()["projects"])
        self.assertEqual(names, sorted(PROJECTS))
        page = parse_html(self.hoard.get("/pypi/simple/", headers={"Accept": "text/html"}).body)
        self.assertEqual(sorted(a["href"] for a, _ in page.anchors), sorted(p + "/" for p in PROJECTS))

    def test_core_metadata_file(self):
        wheel = "acme_core-1.1.0-py3-none-any.whl"
        r = self.hoard.get("/pypi/files/acme-core/%s.metadata" % wheel)
        self.assertEqual(r.status, 200, repr(r))
        self.assertEqual(r.body, self.index.file(wheel).metadata)
        # a file the page does not name is a 404, not a fetch
        self.assertEqual(self.hoard.get("/pypi/files/acme-core/acme_core-9.9.9-py3-none-any.whl").status, 404)


class OtherUpstreams(HoardTestCase):
    def test_html_only_upstream(self):
        """An index that predates PEP 691: hoard parses its HTML and still serves both forms."""
        index = PyPIIndex(sample_universe(), label="pypi-html-only", json_pages=False).start()
        self.addCleanup(index.stop)
        hoard = Hoard([pypi_upstream(index)], label="hoard-html-only").start()
        self.addCleanup(hoard.close)
        doc = hoard.get("/pypi/simple/acme-future/", headers={"Accept": JSON}).json()
        want = {f["filename"]: f for f in index.project_json("acme-future")["files"]}
        self.assertEqual([f["filename"] for f in doc["files"]], list(want))
        for f in doc["files"]:
            self.assertEqual(f["hashes"], want[f["filename"]]["hashes"])
            self.assertEqual(f.get("requires-python"), want[f["filename"]]["requires-python"])
        wheel = "acme_future-2.0.0-py3-none-any.whl"
        r = hoard.get("/pypi/files/acme-future/" + wheel)
        self.assertEqual((r.status, r.body), (200, index.file(wheel).data))

    def test_relative_file_urls(self):
        index = PyPIIndex(sample_universe(), label="pypi-relative", relative_urls=True).start()
        self.addCleanup(index.stop)
        hoard = Hoard([pypi_upstream(index)], label="hoard-relative").start()
        self.addCleanup(hoard.close)
        hoard.get("/pypi/simple/acme-core/", headers={"Accept": JSON})
        wheel = "acme_core-1.0.0-py3-none-any.whl"
        r = hoard.get("/pypi/files/acme-core/" + wheel)
        self.assertEqual((r.status, r.body), (200, index.file(wheel).data))
        self.assertEqual(index.count(kind="file", contains=wheel, server="index"), 1)

    def test_files_outside_configured_hosts_are_not_fetched(self):
        index = PyPIIndex(sample_universe(), label="pypi-elsewhere").start()
        self.addCleanup(index.stop)
        up = pypi_upstream(index)
        del up["file_hosts"]  # the file host is not named in the config
        hoard = Hoard([up], label="hoard-no-file-hosts").start()
        self.addCleanup(hoard.close)
        self.assertEqual(hoard.get("/pypi/simple/acme-core/", headers={"Accept": JSON}).status, 200)
        r = hoard.get("/pypi/files/acme-core/acme_core-1.0.0-py3-none-any.whl")
        self.assertEqual(r.status, 502, repr(r))
        self.assertIn(b"does not follow", r.body)
        self.assertEqual(index.count(kind="file"), 0, "hoard fetched from a host its config does not name")


if __name__ == "__main__":
    main()
