#!/usr/bin/python3
"""Helpers of bench/go/run.sh: what the sample needs, and the check that keeps a fast wrong
answer from becoming a figure.

  gobench.py prepare RUN_DIR
      a fresh client for one timed download: RUN_DIR/home (HOME, GOPATH, an empty GOMODCACHE,
      GOCACHE, XDG_CONFIG_HOME, all created now so that the clock covers the go command only)
      and RUN_DIR/sample, a copy of tests/fixtures/goproxy/sample (go.mod and main.go, no
      go.sum, so every module's checksum is looked up in the checksum database).
  gobench.py check RUN_DIR FIXTURE_URL
      after a timed `go mod download all` in RUN_DIR/sample: go.sum holds exactly the fixture's
      h1 lines of the sample's requirements (read from FIXTURE_URL/-/fixture/modules, which the
      fixture does not count); the module cache holds every required .zip, its h1 recomputed here
      equal to the fixture's, and its extracted tree; and the go command's checksum-database
      cache holds a lookup record of every required module (the database was consulted). One
      key=value line.
  gobench.py requires
      the sample's requirements, module@version, one line.

Stdlib only. Exit status 0 even when a check fails: the line says ok=0 and why (problems=...).
"""
import json
import os
import shutil
import sys
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ in tests/fixtures
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))
import go_fixture  # noqa: E402

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def line(**kv):
    parts = []
    for k, v in kv.items():
        v = str(v).replace(" ", "_").replace("\n", "_") or "-"
        parts.append("%s=%s" % (k, v))
    print(" ".join(parts), flush=True)


def paths(run_dir):
    home = os.path.join(run_dir, "home")
    gopath = os.path.join(home, "gopath")
    return home, gopath, os.path.join(gopath, "pkg", "mod"), os.path.join(run_dir, "sample")


def prepare(run_dir):
    home, gopath, modcache, sample = paths(run_dir)
    if os.path.exists(run_dir):
        raise SystemExit("gobench: %s exists" % run_dir)
    for d in (modcache, os.path.join(home, "gocache"), os.path.join(home, ".config")):
        os.makedirs(d)
    go_fixture.copy_sample(sample)


def check(run_dir, fixture_url):
    home, gopath, modcache, sample = paths(run_dir)
    problems = []
    with _NO_PROXY.open(fixture_url + "/-/fixture/modules", timeout=30) as r:
        rows = {(m["module"], m["version"]): m for m in json.load(r)["modules"]}
    want = sorted(
        ["%s %s %s" % (p, v, rows[(p, v)]["h1"]) for p, v in go_fixture.SAMPLE_REQUIRES.items()]
        + ["%s %s/go.mod %s" % (p, v, rows[(p, v)]["gomod_h1"]) for p, v in go_fixture.SAMPLE_REQUIRES.items()]
    )
    try:
        with open(os.path.join(sample, "go.sum")) as f:
            got = sorted(l.strip() for l in f if l.strip())
    except OSError:
        got = []
    if got != want:
        problems.append("go.sum(%d_lines)!=fixture(%d)" % (len(got), len(want)))
    zips = extracted = records = 0
    for p, v in sorted(go_fixture.SAMPLE_REQUIRES.items()):
        ep = go_fixture.escape_path(p)
        z = os.path.join(modcache, "cache", "download", ep, "@v", v + ".zip")
        try:
            with open(z, "rb") as f:
                h1 = go_fixture.zip_h1(f.read())
        except (OSError, ValueError) as e:
            problems.append("no_zip:%s@%s(%s)" % (p, v, type(e).__name__))
            continue
        if h1 == rows[(p, v)]["h1"]:
            zips += 1
        else:
            problems.append("zip_h1:%s@%s" % (p, v))
        if os.path.isdir(os.path.join(modcache, "%s@%s" % (ep, v))):
            extracted += 1
        else:
            problems.append("not_extracted:%s@%s" % (p, v))
        rec = os.path.join(modcache, "cache", "download", "sumdb", go_fixture.SUMDB_NAME, "lookup", "%s@%s" % (ep, v))
        if os.path.isfile(rec):
            records += 1
        else:
            problems.append("no_sumdb_record:%s@%s" % (p, v))
    n = len(go_fixture.SAMPLE_REQUIRES)
    line(
        ok=int(not problems),
        gosum="%d/%d" % (len(got) if got == want else 0, len(want)),
        zips="%d/%d" % (zips, n),
        extracted="%d/%d" % (extracted, n),
        sumdb_records="%d/%d" % (records, n),
        problems=",".join(problems) or "-",
    )


def main(argv):
    if len(argv) == 2 and argv[0] == "prepare":
        prepare(argv[1])
    elif len(argv) == 3 and argv[0] == "check":
        check(argv[1], argv[2].rstrip("/"))
    elif len(argv) == 1 and argv[0] == "requires":
        print(" ".join("%s@%s" % kv for kv in sorted(go_fixture.SAMPLE_REQUIRES.items())))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
