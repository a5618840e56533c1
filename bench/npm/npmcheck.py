#!/usr/bin/python3
"""Correctness checks for bench/npm/run.sh: a fast wrong answer must not become a figure.

  npmcheck.py project DIR
      write DIR/package.json: the sample project of the npm integration tests
      (tests/fixtures/npm_registry.py SAMPLE_PROJECT_DEPS)
  npmcheck.py expected PUBLIC_URL PRIVATE_URL OUT.json
      read the fixtures' own packuments once: the version and dist.integrity every package of
      SAMPLE_PROJECT_TREE must resolve to (what each install's lockfile is compared with). Prints
      one line: how many packuments, their total versions and size (full JSON, uncompressed), and
      fixture-a's version count and size.
  npmcheck.py doc URL ACCEPT WANT_CTYPE TARBALL_BASE [BODY_OUT [PAD]]
      GET URL with Accept and `Accept-Encoding: gzip`; checks status 200, Content-Encoding gzip,
      the Content-Type, that the gunzipped body is fixture-a's packument with its dist-tags and
      exactly its versions (its real ones plus PAD padded ones: the fixture's --pad-versions), and
      that every version's dist.tarball points at TARBALL_BASE (the server under test, not the
      fixture). Prints one key=value line; BODY_OUT gets the raw (gzip) body.
  npmcheck.py install PROJECT TARBALL_BASE EXPECTED.json NPM_LOG
      after an `npm install` through a server: the lockfile holds exactly SAMPLE_PROJECT_TREE, with
      the fixture's integrity values and `resolved` URLs on TARBALL_BASE in the conventional
      /<name>/-/<base>-<ver>.tgz form; every non-optional package is in node_modules with the right
      version; plus what npm's http log says it fetched (GETs by status, cache use). One line.

Stdlib only. Exit status 0 even when a check fails: the line says ok=0 and why (problems=...).
"""
import gzip
import json
import os
import re
import sys
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))
from npm_registry import SAMPLE_DIST_TAGS, SAMPLE_PROJECT_DEPS, SAMPLE_PROJECT_TREE, pad_version, tarball_path  # noqa: E402

DOC = "fixture-a"
DOC_VERSIONS = ("1.0.0", "1.1.0", "2.0.0-beta.1")
# On Linux npm records this optional (os: win32) package in the lockfile but never installs it.
NOT_INSTALLED = {"fixture-native-win32"}


def line(**kv):
    parts = []
    for k, v in kv.items():
        v = str(v).replace(" ", "_").replace("\n", "_") or "-"
        parts.append("%s=%s" % (k, v))
    print(" ".join(parts))


def get(url, headers, timeout=30):
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def cmd_project(d):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "package.json"), "w") as f:
        json.dump({"name": "sample-project", "version": "1.0.0", "private": True, "dependencies": SAMPLE_PROJECT_DEPS}, f, indent=2)


def cmd_expected(pub, priv, out):
    want = {}
    total_bytes, total_versions, doc_versions, doc_bytes = 0, 0, 0, 0
    for name, ver in SAMPLE_PROJECT_TREE.items():
        base = priv if name.startswith("@acme/") else pub
        st, _, body = get(base.rstrip("/") + "/" + name.replace("/", "%2f"), {"Accept": "application/json"})
        if st != 200:
            sys.exit("npmcheck: fixture %s answered %d for %s" % (base, st, name))
        doc = json.loads(body)
        want[name] = {"version": ver, "integrity": doc["versions"][ver]["dist"]["integrity"]}
        total_bytes += len(body)
        total_versions += len(doc["versions"])
        if name == DOC:
            doc_versions, doc_bytes = len(doc["versions"]), len(body)
    with open(out, "w") as f:
        json.dump(want, f, indent=1, sort_keys=True)
    line(packuments=len(SAMPLE_PROJECT_TREE), versions=total_versions, full_bytes=total_bytes,
         doc_versions=doc_versions, doc_full_bytes=doc_bytes)


def cmd_doc(url, accept, want_ctype, tarball_base, body_out=None, pad="0"):
    problems = []
    try:
        st, hdr, raw = get(url, {"Accept": accept, "Accept-Encoding": "gzip", "User-Agent": "npm/bench"})
    except Exception as e:  # noqa: BLE001 - any failure is a failed check, reported on the line
        line(ok=0, problems="request:%s" % type(e).__name__)
        return
    if body_out:
        with open(body_out, "wb") as f:
            f.write(raw)
    ctype = hdr.get("content-type", "")
    enc = hdr.get("content-encoding", "")
    if st != 200:
        problems.append("status:%d" % st)
    if enc != "gzip":
        problems.append("content-encoding:%s" % (enc or "none"))
    if ctype.split(";")[0].strip() != want_ctype:
        problems.append("content-type:%s" % ctype)
    doc, plain, versions = None, b"", {}
    try:
        plain = gzip.decompress(raw) if enc == "gzip" else raw
        doc = json.loads(plain)
    except Exception as e:  # noqa: BLE001
        problems.append("body:%s" % type(e).__name__)
    if doc is not None:
        if doc.get("name") != DOC:
            problems.append("name:%s" % doc.get("name"))
        if doc.get("dist-tags") != SAMPLE_DIST_TAGS[DOC]:
            problems.append("dist-tags")
        versions = doc.get("versions") or {}
        want = set(DOC_VERSIONS) | {pad_version(i) for i in range(int(pad))}
        for v in sorted(want - set(versions))[:3]:
            problems.append("missing:%s" % v)
        for v in sorted(set(versions) - want)[:3]:
            problems.append("extra:%s" % v)
        bad = [tb for v, m in versions.items()
               for tb in [((m or {}).get("dist") or {}).get("tarball", "")]
               if tb != tarball_base.rstrip("/") + tarball_path(DOC, v)]
        if bad:
            problems.append("tarball:%d:%s" % (len(bad), bad[0]))
    line(ok=0 if problems else 1, status=st, bytes=len(raw), raw_bytes=len(plain), versions=len(versions),
         ctype=ctype.split(";")[0], encoding=enc or "none", etag=hdr.get("etag", "none"), vary=hdr.get("vary", "none"),
         problems=",".join(problems) or "none")


# npm 10/11 with --loglevel=http: "npm http fetch GET 200 http://host/path 12ms (cache revalidated)"
FETCH_RE = re.compile(r"npm http fetch (\w+) (\d+) (\S+) (\d+)ms(?: \(([^)]*)\))?")


def cmd_install(project, tarball_base, expected_path, npm_log):
    with open(expected_path) as f:
        expected = json.load(f)
    problems = []
    try:
        with open(os.path.join(project, "package-lock.json")) as f:
            lock = json.load(f)
    except (OSError, ValueError) as e:
        lock = {}
        problems.append("lockfile:%s" % type(e).__name__)
    top = {k[len("node_modules/"):]: e for k, e in lock.get("packages", {}).items()
           if k.startswith("node_modules/") and "/node_modules/" not in k}
    if lock and set(top) != set(expected):
        problems.append("lock-packages:%s" % "+".join(sorted(set(top) ^ set(expected))))
    base = tarball_base.rstrip("/")
    for name, want in expected.items():
        e = top.get(name)
        if e is None:
            continue
        if e.get("version") != want["version"]:
            problems.append("%s:version:%s" % (name, e.get("version")))
            continue
        if e.get("integrity") != want["integrity"]:
            problems.append("%s:integrity" % name)
        if e.get("resolved") != base + tarball_path(name, want["version"]):
            problems.append("%s:resolved:%s" % (name, e.get("resolved")))
        if name not in NOT_INSTALLED:
            try:
                with open(os.path.join(project, "node_modules", name, "package.json")) as f:
                    got = json.load(f).get("version")
            except (OSError, ValueError):
                got = None
            if got != want["version"]:
                problems.append("%s:installed:%s" % (name, got))
    fetches, statuses, cache, slowest, total_ms = 0, {}, {}, 0, 0
    try:
        with open(npm_log, errors="replace") as f:
            for m in FETCH_RE.finditer(f.read()):
                fetches += 1
                statuses[m.group(2)] = statuses.get(m.group(2), 0) + 1
                note = (m.group(5) or "network").replace(" ", "-")
                cache[note] = cache.get(note, 0) + 1
                slowest = max(slowest, int(m.group(4)))
                total_ms += int(m.group(4))
                if not m.group(3).startswith(base + "/"):
                    problems.append("fetched-elsewhere:%s" % m.group(3))
    except OSError:
        problems.append("no-npm-log")
    line(ok=0 if problems else 1, fetches=fetches,
         statuses=",".join("%s:%d" % kv for kv in sorted(statuses.items())) or "none",
         cache=",".join("%s:%d" % kv for kv in sorted(cache.items())) or "none",
         slowest_fetch_ms=slowest, fetch_ms_sum=total_ms, problems=",".join(problems[:6]) or "none")


def main(argv):
    cmds = {"project": (cmd_project, 1), "expected": (cmd_expected, 3), "doc": (cmd_doc, 4), "install": (cmd_install, 4)}
    if len(argv) < 2 or argv[1] not in cmds or len(argv) - 2 < cmds[argv[1]][1]:
        sys.exit(__doc__)
    cmds[argv[1]][0](*argv[2:])


if __name__ == "__main__":
    main(sys.argv)
