#!/usr/bin/python3
"""Turn bench/go/run.sh's results.env into bench/go/RESULTS.md (and print it); with a third
argument (bench/RESULTS.md) also replace the summary between <!-- go:begin --> and <!-- go:end -->
there (appended at the end when the markers are absent; nothing else in that file changes). Both
files are written atomically (a temporary file in the same folder, then rename).

results.env holds key=value lines; per-run keys (first_hoard, dl_r1_hoard, dl_r1_direct, ...)
carry lines of key=value pairs (wall time, exit status, request counters, the checks of
gobench.py). A figure is the median over runs; any run with a failed go command, a failed check
(go.sum, zips, extracted trees, database records), or -- for a warm hoard run -- a request that
reached the fixture or left hoard for its upstream, makes its median "n/a", never a number.

    report.py RESULTS_ENV OUT_MD [BENCH_RESULTS_MD]
"""
import os
import sys

# The helpers shared with the other benchmarks' reports live in bench/lib (not a package). No
# bytecode cache: the benchmarks leave nothing behind in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from report_common import (check_lines, checked_median, fields, fmt, fmt_ratio, load,  # noqa: E402
                           machine_lines, num, per_round, provenance, ranges_overlap, ratio,
                           replace_section, write_report)

TARGETS = ("hoard", "direct")


def verdict(ok):  # not met/missed: these are checks the figures rest on, not targets
    return "n/a" if ok is None else ("**verified**" if ok else "**FAILED**")


def run_ok(x, warm_hoard):
    """A download counts when the go command succeeded and every check passed; a warm hoard run
    also needs zero requests at the fixture and zero upstream requests by hoard."""
    ok = x.get("rc") == "0" and x.get("ok") == "1" and num(x.get("wall_s")) is not None
    if warm_hoard:
        ok = ok and x.get("fixture_requests") == "0" and x.get("hoard_upstream_requests") == "0"
    return ok


class Results:
    def __init__(self, res):
        self.res = res
        self.reps = int(res.get("reps", "1"))

    def runs(self, target):
        return per_round(self.res, "dl", target, self.reps)

    def median(self, target):
        return checked_median(self.runs(target), self.reps, lambda x: run_ok(x, target == "hoard"), "wall_s")

    def each(self, target, key):
        return ", ".join(x.get(key, "?") for x in self.runs(target)) or "n/a"

    def warm_isolated(self):
        """True when every warm hoard run was recorded and none reached the fixture or hoard's
        upstream; None when nothing was recorded."""
        rs = self.runs("hoard")
        if not rs:
            return None
        return len(rs) == self.reps and all(x.get("fixture_requests") == "0" and x.get("hoard_upstream_requests") == "0" for x in rs)

    def fixture_total(self):
        vals = [num(x.get("fixture_requests")) for x in self.runs("hoard")]
        return None if not vals or None in vals else int(sum(vals))


def checks_cell(rs):
    return ", ".join(f"{x.get('gosum', '?')} {x.get('zips', '?')} {x.get('extracted', '?')} {x.get('sumdb_records', '?')}" for x in rs) or "n/a"


def report(res):
    R = Results(res)
    quick = res.get("quick") == "1"
    name = res.get("sumdb_name", "sum.fixture.test")
    L = []
    L.append("# hoard Go benchmark results (issue 6)" + (" (QUICK run: 1 download per scenario; not the reference figures)" if quick else ""))
    L.append("")
    L.append(provenance(res, "bench/go/run.sh") + f"; hoard binary: {res.get('binary', '?')}.")
    L.append("")

    h, d = R.median("hoard"), R.median("direct")
    r = ratio(h, d)
    L.append(
        f"## Warm `go mod download all` of the sample, fresh module cache each run (wall seconds, median of {R.reps}, interleaved)"
    )
    L.append("")
    L.append("| | through hoard (hoard's cache warm) | straight from the fixture upstream | hoard ÷ direct |")
    L.append("|---|---:|---:|---:|")
    note = ""
    hs = [num(x.get("wall_s")) for x in R.runs("hoard")]
    ds = [num(x.get("wall_s")) for x in R.runs("direct")]
    if r is not None and ranges_overlap(hs, ds):
        note = " (the runs' ranges overlap)"
    L.append(f"| `go mod download all` wall time, median (s) | {fmt(h, 3)} | {fmt(d, 3)} | {fmt_ratio(r)}{note} |")
    L.append(f"| … each run (s) | {R.each('hoard', 'wall_s')} | {R.each('direct', 'wall_s')} | |")
    if hs and None not in hs and ds and None not in ds:
        L.append(f"| … fastest / slowest run (s) | {min(hs):.3f} / {max(hs):.3f} | {min(ds):.3f} / {max(ds):.3f} | |")
    L.append(
        f"| … requests the go command made to the server under test, each run | {R.each('hoard', 'served')} | "
        f"{R.each('direct', 'served')} | |"
    )
    iso = R.warm_isolated()
    L.append(
        f"| … requests reaching the fixture, each run | {R.each('hoard', 'fixture_requests')} (must all be 0: "
        f"{verdict(iso)}) | {R.each('direct', 'fixture_requests')} | |"
    )
    L.append(
        f"| … hoard's own upstream requests (`hoard_upstream_requests_total`), each run | "
        f"{R.each('hoard', 'hoard_upstream_requests')} (must all be 0) | {R.each('direct', 'hoard_upstream_requests')} | |"
    )
    L.append(f"| … hoard's answers other than 200, each run | {R.each('hoard', 'hoard_non200')} | | |")
    L.append(
        f"| … server CPU-s per download (hoard / the fixture), each run | {R.each('hoard', 'server_cpu_s')} | "
        f"{R.each('direct', 'server_cpu_s')} | |"
    )
    L.append(
        "| … checks, each run: go.sum lines equal to the fixture's / zips with the fixture's h1 / modules extracted / "
        f"checksum-database records in the go command's cache | {checks_cell(R.runs('hoard'))} | {checks_cell(R.runs('direct'))} | |"
    )
    fh = fields(res.get("first_hoard"))
    L.append(
        f"| for reference: the first download through hoard (hoard cold), once (s) | {fh.get('wall_s', 'n/a')} "
        f"({'ok' if run_ok(fh, False) else 'FAILED checks'}; {fh.get('fixture_requests', '?')} requests reached the fixture, "
        f"{fh.get('hoard_upstream_requests', '?')} upstream requests by hoard; go made {fh.get('served', '?')}) | | |"
    )
    bad = []
    for k in sorted(res):
        if k.startswith(("dl_", "first_")):
            x = fields(res[k])
            if not run_ok(x, k.startswith("dl_") and k.endswith("_hoard")):
                bad.append(
                    f"- `{k}`: rc={x.get('rc')} ok={x.get('ok')} fixture_requests={x.get('fixture_requests')} "
                    f"hoard_upstream_requests={x.get('hoard_upstream_requests')} problems={x.get('problems')}"
                )
    if bad:
        L.append("")
        L.append("Downloads that failed their checks (the medians they belong to are n/a):")
        L.extend(bad)
    L.append("")
    L.append(
        f"The sample (`tests/fixtures/goproxy/sample`, no go.sum) requires 7 modules: `{res.get('sample_requires', '?')}`. "
        "A download from an empty module cache asks for each module's .mod, .info and .zip and looks each one up in the "
        f"checksum database (7 lookups and the tree's one tile); through hoard the go command first asks hoard's "
        f"`/go/sumdb/{name}/supported`. The servers' share is those small requests over loopback; most of the wall time "
        "is the go command's own work (start-up, module graph, hashing, verifying the tile and lookups, unzipping into "
        "the module cache), the same both ways. \"Direct\" is the fixture: a Go net/http server holding the zips in memory."
    )
    L.append("")

    L.append("## What was measured")
    L.append("")
    L.append(
        f"- Upstream: `tests/fixtures/go_fixture.py` in its CLI mode (unchanged): a GOPROXY with real module zips built from "
        f"Debian's Go sources and a golang.org/x/mod/sumdb checksum database `{name}` holding exactly those modules, "
        "the database also served under the proxy at `/sumdb/<name>/`."
    )
    L.append(
        f"- hoard: Release build (`build-bench/`), one `kind: go` upstream configured as "
        f"`tests/integration/go_support.py`'s `go_upstreams()` (url = the fixture, `sumdb: {{name, url}}` = the fixture's "
        f"database), `manifest_ttl: {res.get('doc_ttl')}` (nothing expires during the run), access log off. Warm means every "
        "document, zip, lookup and tile is a cache hit: the fixture's request counter (`/-/fixture/counts`, which does "
        "not count itself) and hoard's `hoard_upstream_requests_total` are read around every download, and any request "
        "that reached the fixture or left hoard during a warm run voids the figure. Requests the go command made to hoard "
        f"are hoard's `hoard_http_requests_total` difference less the metrics scrape itself ({res.get('scrape_self', '?')} "
        "per before/after pair, measured at start)."
    )
    L.append(
        f"- Client: {res.get('go_version')} (`/usr/bin/go`), isolated as the fixture's `go_env()` does: `env -i`, its own "
        "HOME, GOPATH, GOMODCACHE, GOCACHE and XDG_CONFIG_HOME, all new and empty for every run (made, with a fresh copy of "
        "the sample, before any download; only `go mod download all` is timed), `GOENV=off`, `GOFLAGS=-modcacherw`, "
        "`GOTOOLCHAIN=local`, `GOTELEMETRY=off`, GONOSUMDB/GOPRIVATE/GOINSECURE unset, `http(s)_proxy` = 127.0.0.1:9 "
        "(discard) with `no_proxy=127.0.0.1`. Through hoard: `GOPROXY=http://<hoard>/go`, `GOSUMDB=<name>+<hash>+<key>` "
        "(the fixture's `gosumdb_key`: no URL, so the go command reads the database through hoard's `/go/sumdb/<name>/`; "
        "were hoard not serving it, the go command would fall back to `https://<name>`, unreachable here, and fail). "
        "Direct: `GOPROXY=<fixture>`, `GOSUMDB=\"<name>+<hash>+<key> <fixture>/sumdb/<name>\"` (the fixture's `gosumdb`)."
    )
    L.append(
        "- Each download is checked (`bench/go/gobench.py check`): exit status 0; go.sum equal to the fixture's h1 lines "
        "of the 7 requirements; every required .zip in the module cache with the fixture's h1 (recomputed); every module "
        "extracted; a checksum-database lookup record of every module in the go command's cache. hoard's cold download "
        "runs first and fills its cache; the timed rounds then alternate hoard and direct, order rotated per round."
    )
    L.append("")
    L.extend(machine_lines(res, f"{res.get('go_version')}, Python {res.get('python_version')}"))
    L.append(f"- hoard: peak RSS {res.get('rss_hoard', 'n/a')} MiB, store {res.get('hoard_store_bytes', '?')} bytes at the end")
    gone = [n for n, k in (("hoard", "alive_hoard"), ("the fixture", "alive_fixture")) if res.get(k) == "0"]
    if gone:
        L.append(f"- **exited during the run: {', '.join(gone)}**")
    L.append("")
    L.extend(check_lines(res, ("first_", "fixture_kinds")))
    return "\n".join(L), R


def summary(res, R):
    h, d = R.median("hoard"), R.median("direct")
    iso = R.warm_isolated()
    fh = fields(res.get("first_hoard"))
    S = ["## Issue 6: Go front end (`/go/`)", ""]
    S.append(
        f"Summary of [bench/go/RESULTS.md](go/RESULTS.md): `{res.get('cmdline')}` on {res.get('date')}, commit "
        f"{res.get('commit')} plus the working tree; 127.0.0.1, the fixture GOPROXY + checksum database "
        f"(`tests/fixtures/go_fixture.py`) as the upstream, {res.get('go_version')}, {res.get('nproc')} shared CPUs."
    )
    S.append("")
    S.append("| | hoard | reference | hoard ÷ reference | check |")
    S.append("|---|---:|---:|---:|---|")
    runs = R.runs("hoard") + R.runs("direct")
    failed = sum(1 for x in runs if not (x.get("rc") == "0" and x.get("ok") == "1"))
    if len(runs) != 2 * R.reps:
        checked = "**runs missing**"
    elif failed:
        checked = f"**{failed} of {len(runs)} runs failed their checks**"
    else:
        checked = f"go.sum, zips (h1) and database records checked: all {len(runs)} runs ok"
    S.append(
        f"| Warm `go mod download all` of the sample (7 modules), fresh module cache each run, checksums verified "
        f"(through hoard: `GOSUMDB` key only, database via hoard's `/go/sumdb/`) (s, median of {R.reps}) | {fmt(h, 3)} | "
        f"{fmt(d, 3)} (straight from the fixture, its own database) | {fmt_ratio(ratio(h, d))} | {checked} |"
    )
    total = R.fixture_total()
    S.append(
        f"| … requests reaching the fixture during hoard's {len(R.runs('hoard'))} warm runs | "
        f"{'n/a' if total is None else total} | | | must be 0: {verdict(iso)} |"
    )
    S.append(
        f"| Cold first download through hoard (hoard's cache empty), once (s) | {fh.get('wall_s', 'n/a')} | | | "
        f"{'ok' if run_ok(fh, False) else '**FAILED checks**'}; {fh.get('fixture_requests', '?')} requests reached the fixture |"
    )
    S.append("")  # a blank line before the end marker
    return "\n".join(S)


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    res = load(sys.argv[1])
    text, R = report(res)
    write_report(sys.argv[2], text)
    if len(sys.argv) == 4:
        replace_section(sys.argv[3], "go", summary(res, R))


if __name__ == "__main__":
    main()
