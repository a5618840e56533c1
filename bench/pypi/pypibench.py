#!/usr/bin/python3
"""Helpers of bench/pypi/run.sh: the fixture upstream with one big project added, and the checks
that keep a fast wrong answer from becoming a figure.

  pypibench.py serve [--popular-versions N]
      tests/fixtures/pypi_index.py's sample universe plus `acme-popular`: N releases (default 300),
      each a small wheel and an sdist, so its project page is the size of a popular package's
      (a few hundred KB of JSON). The fixture itself is not changed: this imports it. Listens on
      two free ports (index, file host) and prints the index URL and the file-host URL, one a
      line, like `pypi_index.py --sample`; control under /-/fixture/ as there.
  pypibench.py page URL ACCEPT WANT_CTYPE PROJECT FIXTURE_ORIGIN BODY_OUT
      GET hoard's project page URL with ACCEPT and pip's `Accept-Encoding: gzip, deflate`; checks
      status 200, Content-Encoding gzip, the Content-Type, and that the gunzipped page (JSON or
      HTML) lists exactly the fixture's files of PROJECT (read from FIXTURE_ORIGIN/-/fixture/files,
      which the fixture does not count) with their sha256, every link on hoard
      (../../files/PROJECT/<filename>). BODY_OUT gets the raw (gzip) body. One key=value line.
  pypibench.py installed VENV PIP_LOG DOWNLOAD_BASE
      after a timed `pip install`: every SAMPLE_INSTALLED distribution imports in VENV at its
      version (module VERSION and importlib.metadata), and every "Downloading" line of pip's
      output fetched from DOWNLOAD_BASE, one download per installed distribution. One line.

Stdlib only. Exit status 0 even when a check fails: the line says ok=0 and why (problems=...).
"""
import argparse
import datetime
import gzip
import hashlib
import html.parser
import json
import os
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ in tests/fixtures
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))
import pypi_index  # noqa: E402

POPULAR = "acme-popular"


def line(**kv):
    parts = []
    for k, v in kv.items():
        v = str(v).replace(" ", "_").replace("\n", "_") or "-"
        parts.append("%s=%s" % (k, v))
    print(" ".join(parts), flush=True)


def popular_dists(n):
    """N releases of acme-popular, oldest first: 0.0.0, 0.0.1, ... (50 per major), a day apart."""
    t0 = datetime.datetime(2019, 1, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)
    out = []
    for i in range(n):
        version = "%d.%d.%d" % (i // 50, (i // 5) % 10, i % 5)
        when = (t0 + datetime.timedelta(days=i, seconds=i * 37)).strftime("%Y-%m-%dT%H:%M:%S.123456Z")
        out.append(pypi_index.PyDist(POPULAR, version, requires_python=">=3.8", sdist=True, upload_time=when))
    return pypi_index.build_all(out)


def cmd_serve(args):
    idx = pypi_index.PyPIIndex(pypi_index.sample_universe() + popular_dists(args.popular_versions), label="pypi-bench").start()
    print(idx.index_url, flush=True)
    print(idx.files_url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        idx.stop()
    return 0


def get(url, headers, timeout=30):
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


class _Anchors(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.anchors, self._cur = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._cur = (dict(attrs), [])

    def handle_data(self, data):
        if self._cur:
            self._cur[1].append(data)

    def handle_endtag(self, tag):
        if tag == "a" and self._cur:
            self.anchors.append((self._cur[0], "".join(self._cur[1])))
            self._cur = None


def cmd_page(url, accept, want_ctype, project, fixture_origin, body_out):
    problems = []
    st, _, raw = get(fixture_origin.rstrip("/") + "/-/fixture/files", {})
    want = {f["filename"]: f["sha256"] for f in json.loads(raw)["files"] if pypi_index.normalize(f["project"]) == project}
    try:
        st, hdr, raw = get(url, {"Accept": accept, "Accept-Encoding": "gzip, deflate", "User-Agent": "pip/23.0.1 (bench)"})
    except OSError as e:
        line(ok=0, problems="request_failed:%s" % e)
        return
    with open(body_out, "wb") as f:
        f.write(raw)
    if st != 200:
        problems.append("status_%s" % st)
    if hdr.get("content-encoding") != "gzip":
        problems.append("not_gzip")
    if hdr.get("content-type") != want_ctype:
        problems.append("content_type")
    got = {}
    try:
        body = gzip.decompress(raw) if hdr.get("content-encoding") == "gzip" else raw
        prefix = "../../files/%s/" % project
        if want_ctype.startswith("application/vnd.pypi.simple.v1+json"):
            doc = json.loads(body)
            for f in doc["files"]:
                got[f["filename"]] = f["hashes"].get("sha256")
                if f["url"] != prefix + urllib.parse.quote(f["filename"]):
                    problems.append("url:" + f["filename"])
        else:
            p = _Anchors()
            p.feed(body.decode())
            for attrs, text in p.anchors:
                href, _, frag = attrs.get("href", "").partition("#sha256=")
                got[text] = frag
                if href != prefix + urllib.parse.quote(text):
                    problems.append("href:" + text)
    except (ValueError, KeyError, OSError, EOFError) as e:
        body = b""
        problems.append("unparsable:%s" % type(e).__name__)
    if got != want:
        problems.append("files_differ(%d_vs_%d)" % (len(got), len(want)))
    line(
        ok=0 if problems else 1,
        bytes=len(raw),
        plain_bytes=len(body),
        files=len(got),
        ctype=hdr.get("content-type", ""),
        sha256=hashlib.sha256(raw).hexdigest()[:16],
        problems=",".join(problems[:5]) or "-",
    )


def cmd_installed(venv, pip_log, download_base):
    problems = []
    code = (
        "import importlib, importlib.metadata, json, sys\n"
        "out = {}\n"
        "for dist, mod in json.loads(sys.argv[1]).items():\n"
        "    try:\n"
        "        m = importlib.import_module(mod)\n"
        "        out[dist] = [m.VERSION, importlib.metadata.version(dist)]\n"
        "    except Exception as e:\n"
        "        out[dist] = repr(e)\n"
        "print(json.dumps(out))\n"
    )
    r = subprocess.run(
        [os.path.join(venv, "bin", "python"), "-c", code, json.dumps(pypi_index.SAMPLE_MODULES)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"},
        timeout=60,
    )
    try:
        got = json.loads(r.stdout)
    except ValueError:
        got = {}
        problems.append("import_check_failed")
    bad = sorted(n for n, v in pypi_index.SAMPLE_INSTALLED.items() if got.get(n) != [v, v])
    if bad:
        problems.append("not_installed:" + "+".join(bad))
    with open(pip_log, errors="replace") as f:
        downloads = re.findall(r"^\s*Downloading (\S+)", f.read(), re.M)
    elsewhere = [u for u in downloads if not u.startswith(download_base)]
    if elsewhere:
        problems.append("downloads_elsewhere:%d" % len(elsewhere))
    if len(downloads) != len(pypi_index.SAMPLE_INSTALLED):
        problems.append("downloads_%d" % len(downloads))
    line(ok=0 if problems else 1, installed=len(pypi_index.SAMPLE_INSTALLED) - len(bad), downloads=len(downloads), problems=",".join(problems) or "-")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--popular-versions", type=int, default=300)
    p = sub.add_parser("page")
    for a in ("url", "accept", "want_ctype", "project", "fixture_origin", "body_out"):
        p.add_argument(a)
    i = sub.add_parser("installed")
    for a in ("venv", "pip_log", "download_base"):
        i.add_argument(a)
    args = ap.parse_args()
    if args.cmd == "serve":
        return cmd_serve(args)
    if args.cmd == "page":
        return cmd_page(args.url, args.accept, args.want_ctype, args.project, args.fixture_origin, args.body_out)
    return cmd_installed(args.venv, args.pip_log, args.download_base)


if __name__ == "__main__":
    sys.exit(main() or 0)
