#!/usr/bin/python3
"""Turn bench/pypi/run.sh's results.env into bench/pypi/RESULTS.md (and print it); with a third
argument (bench/RESULTS.md) also replace the summary between <!-- pypi:begin --> and
<!-- pypi:end --> there (appended at the end when the markers are absent).

results.env holds key=value lines; per-round keys (rq_acme-core_json_r1_hoard, inst_r2_direct,
...) carry lines of key=value pairs (wrk summary, install wall time and checks). A figure is the
median over rounds; a server that failed its page checks, or any round with a non-2xx answer, a
socket error, a request reaching the fixture during a warm hoard measurement, a failed pip or a
wrong installed set, shows as "n/a", never as a number.

    report.py RESULTS_ENV OUT_MD [BENCH_RESULTS_MD]
"""
import os
import sys

# The helpers shared with the other benchmarks' reports live in bench/lib (not a package). No
# bytecode cache: the benchmarks leave nothing behind in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from report_common import (check_lines, checked_median, fields, fmt, fmt_ratio, load,  # noqa: E402
                           machine_lines, met, num, per_round, provenance, ranges_overlap, ratio,
                           replace_section, write_report)

SERVERS = ("hoard", "nginx1", "nginxN")
PAGES = ("acme-core", "acme-popular")
FORMS = (("json", "JSON `application/vnd.pypi.simple.v1+json`"), ("html", "HTML `text/html`"))


class Results:
    def __init__(self, res):
        self.res = res
        self.rounds = int(res.get("rounds", "1"))
        self.reps = int(res.get("install_reps", "1"))
        self.auto_workers = res.get("nginx_auto_workers", "?")

    def name(self, s):
        return {"hoard": "hoard", "nginx1": "nginx, 1 worker", "nginxN": f"nginx, auto ({self.auto_workers} workers)"}[s]

    # ---- page req/s
    def rq_rounds(self, pg, f, s):
        return per_round(self.res, f"rq_{pg}_{f}", s, self.rounds)

    @staticmethod
    def rq_ok(x, s):
        ok = x.get("non2xx", "") == "" and x.get("sockerr", "") == "" and num(x.get("req_per_s")) is not None
        if s == "hoard":  # warm means no request reached the fixture, by either count
            ok = ok and x.get("fixture_requests") == "0" and x.get("hoard_upstream_requests") == "0"
        return ok

    def rq(self, pg, f, s):
        checked = self.res.get(f"check_{s}") == "1" and (s != "hoard" or self.res.get("hoard_check") == "1")
        if not checked:
            return None
        return checked_median(self.rq_rounds(pg, f, s), self.rounds, lambda x: self.rq_ok(x, s), "req_per_s")

    def rq_each(self, pg, f, s, key="req_per_s"):
        vals = [x.get(key, "?") or "?" for x in self.rq_rounds(pg, f, s)]
        if key == "req_per_s":
            vals = [fmt(num(v)) if num(v) is not None else v for v in vals]
        return ", ".join(vals) or "n/a"

    def rq_cpu(self, pg, f, s):
        rs = self.rq_rounds(pg, f, s)
        cpu = sum(num(x.get("server_cpu_s")) or 0 for x in rs)
        n = sum(num(x.get("requests")) or 0 for x in rs)
        return f"{cpu / n * 1e6:.0f}" if n else "n/a"

    # ---- installs
    def inst_rounds(self, target):
        return per_round(self.res, "inst", target, self.reps)

    @staticmethod
    def inst_ok(x, target):
        ok = x.get("rc") == "0" and x.get("ok") == "1" and num(x.get("wall_s")) is not None
        if target == "hoard":
            ok = ok and x.get("fixture_requests") == "0"
        return ok

    def inst(self, target):
        return checked_median(self.inst_rounds(target), self.reps, lambda x: self.inst_ok(x, target), "wall_s")

    def inst_each(self, target, key):
        return ", ".join(x.get(key, "?") for x in self.inst_rounds(target)) or "n/a"


def report(res):
    R = Results(res)
    quick = res.get("quick") == "1"
    L = []
    L.append("# hoard PyPI benchmark results (issue 5)" + (" (QUICK run: 1 short round; not the reference figures)" if quick else ""))
    L.append("")
    L.append(provenance(res, "bench/pypi/run.sh") + ".")
    L.append("")
    if res.get("hoard_check") != "1":
        L.append("**hoard's project pages failed their checks (files, hashes, links, headers): its req/s figures are withheld (n/a).**")
        L.append("")
    for s in SERVERS:
        if res.get(f"check_{s}") == "0":
            L.append(f"**{R.name(s)} failed the pre-timing curl checks (status, bytes, headers); its figures are n/a.**")
            L.append("")

    # ---- 1. pip install
    h, d = R.inst("hoard"), R.inst("direct")
    r = ratio(h, d)
    L.append(f"## 1. Warm `pip install` of the sample requirements into a fresh venv (wall seconds, median of {R.reps}, interleaved)")
    L.append("")
    L.append("| | through hoard (hoard's cache warm) | straight from the fixture upstream | hoard ÷ direct |")
    L.append("|---|---:|---:|---:|")
    note = ""
    hs = [num(x.get("wall_s")) for x in R.inst_rounds("hoard")]
    ds = [num(x.get("wall_s")) for x in R.inst_rounds("direct")]
    if r is not None and ranges_overlap(hs, ds):
        note = " (the runs' ranges overlap)"
    L.append(f"| `pip install --no-cache-dir` wall time, median (s) | {fmt(h, 2)} | {fmt(d, 2)} | {fmt_ratio(r)}{note} |")
    L.append(f"| … each run (s) | {R.inst_each('hoard', 'wall_s')} | {R.inst_each('direct', 'wall_s')} | |")
    L.append(
        f"| … requests reaching the fixture, each run | {R.inst_each('hoard', 'fixture_requests')} (must be 0) | "
        f"{R.inst_each('direct', 'fixture_requests')} | |"
    )
    L.append(
        f"| … server CPU-s per install (hoard / the fixture), each run | {R.inst_each('hoard', 'server_cpu_s')} | "
        f"{R.inst_each('direct', 'server_cpu_s')} | |"
    )
    L.append(
        f"| … checks: distributions installed and importable / pip downloads from the server under test, each run | "
        f"{', '.join(x.get('installed', '?') + '/' + x.get('downloads', '?') for x in R.inst_rounds('hoard')) or 'n/a'} | "
        f"{', '.join(x.get('installed', '?') + '/' + x.get('downloads', '?') for x in R.inst_rounds('direct')) or 'n/a'} | |"
    )
    fh = fields(res.get("first_hoard"))
    L.append(
        f"| for reference: the first install through hoard (hoard cold), once (s) | {fh.get('wall_s', 'n/a')} "
        f"({'ok' if R.inst_ok(fh, 'direct') else 'FAILED checks'}; {fh.get('fixture_requests', '?')} requests reached the fixture) | | |"
    )
    bad = []
    for k in sorted(res):
        if k.startswith(("inst_", "first_")):
            x = fields(res[k])
            target = "direct" if k.endswith("_direct") or k.startswith("first_") else "hoard"
            if not R.inst_ok(x, target):
                bad.append(f"- `{k}`: rc={x.get('rc')} ok={x.get('ok')} fixture_requests={x.get('fixture_requests')} problems={x.get('problems')}")
    if bad:
        L.append("")
        L.append("Installs that failed their checks (the medians they belong to are n/a):")
        L.extend(bad)
    L.append("")
    L.append(
        f"Requirements: `{res.get('sample_requirements', '?')}` (7 distributions with dependencies and an extra: 7 project "
        "pages, 6 wheels and 1 sdist that pip builds into a wheel). Most of the wall time is pip itself (start-up, resolution, "
        "the sdist build, unpacking, byte-compiling), the same for both; the servers' share is 7 page fetches and 7 small "
        "downloads. \"Direct\" is the fixture: a stdlib Python server rendering and gzipping each page per request."
    )
    L.append("")

    # ---- 2. page req/s
    L.append(
        f"## 2. Warm project-page GET req/s, c={res.get('wrk_conns', 50)} (wrk, {res.get('wrk_secs')} s × {R.rounds} "
        f"interleaved rounds; the figure is the median round)"
    )
    L.append("")
    L.append(
        "Every request carries pip's `Accept-Encoding: gzip, deflate`; every server sends the same gzip bytes (hoard's). "
        f"hoard answers from one event-loop thread, so the like-for-like ceiling is nginx with `worker_processes 1`; "
        f"`worker_processes auto` ({R.auto_workers} workers on this machine) is the second line. The target is issue 5's "
        "≥ 0.5 × nginx, judged against the 1-worker line."
    )
    L.append("")
    L.append(
        f"| page, Accept | body (gzip / plain bytes) | hoard | nginx, 1 worker | nginx, auto ({R.auto_workers}) | "
        "hoard ÷ nginx 1 w | hoard ÷ nginx auto | target ≥ 0.5 × nginx (1 w) |"
    )
    L.append("|---|---:|---:|---:|---:|---:|---:|---|")
    for pg in PAGES:
        for f, label in FORMS:
            pc = fields(res.get(f"page_{pg}_{f}"))
            vals = {s: R.rq(pg, f, s) for s in SERVERS}
            r1, rn = ratio(vals["hoard"], vals["nginx1"]), ratio(vals["hoard"], vals["nginxN"])
            L.append(
                f"| `{pg}` {label} (req/s) | {pc.get('bytes', '?')} / {pc.get('plain_bytes', '?')} | {fmt(vals['hoard'])} | "
                f"{fmt(vals['nginx1'])} | {fmt(vals['nginxN'])} | {fmt_ratio(r1)} | {fmt_ratio(rn)} | "
                f"{met(None if r1 is None else r1 >= 0.5)} |"
            )
    L.append("")
    L.append("### Details")
    L.append("")
    L.append(f"| | {' | '.join(R.name(s) for s in SERVERS)} |")
    L.append("|---|" + "---|" * len(SERVERS))
    for pg in PAGES:
        for f, _ in FORMS:
            L.append(f"| `{pg}` {f}: req/s, each round | " + " | ".join(R.rq_each(pg, f, s) for s in SERVERS) + " |")
    for pg in PAGES:
        for f, _ in FORMS:
            L.append(f"| `{pg}` {f}: p99 latency, each round | " + " | ".join(R.rq_each(pg, f, s, "lat_p99") for s in SERVERS) + " |")
    for pg in PAGES:
        for f, _ in FORMS:
            L.append(f"| `{pg}` {f}: server CPU-µs per request | " + " | ".join(R.rq_cpu(pg, f, s) for s in SERVERS) + " |")
    for pg in PAGES:
        for f, _ in FORMS:
            cells = []
            for s in SERVERS:
                c = fields(res.get(f"curl_{pg}_{f}_{s}"))
                per = ", ".join(x.get("bytes_per_resp", "?") for x in R.rq_rounds(pg, f, s))
                cells.append(f"{c.get('bytes', '?')} + {c.get('head_bytes', '?')} (wrk: {per or '?'})" if c else "n/a")
            L.append(f"| `{pg}` {f}: body + response head bytes (curl); wire bytes per response (wrk) | " + " | ".join(cells) + " |")
    hoard_fix = []
    for pg in PAGES:
        for f, _ in FORMS:
            for x in R.rq_rounds(pg, f, "hoard"):
                hoard_fix.append(f"{x.get('fixture_requests', '?')}/{x.get('hoard_upstream_requests', '?')}")
    L.append(
        "| requests reaching the fixture / hoard's upstream request counter, during each of hoard's wrk runs | "
        + (", ".join(hoard_fix) or "n/a")
        + " (must all be 0/0) | | |"
    )
    errs = []
    for pg in PAGES:
        for f, _ in FORMS:
            for s in SERVERS:
                for i, x in enumerate(R.rq_rounds(pg, f, s), 1):
                    if not R.rq_ok(x, s):
                        errs.append(f"- {pg} {f} {s} round {i}: non2xx={x.get('non2xx') or 0} sockerr={x.get('sockerr') or '-'} "
                                    f"req_per_s={x.get('req_per_s') or '?'} fixture_requests={x.get('fixture_requests')}")
    if errs:
        L.append("")
        L.append("Rounds with errors (their figures are n/a):")
        L.extend(errs)
    L.append("")

    # ---- method
    L.append("## What was measured")
    L.append("")
    L.append(
        f"- Upstream: `tests/fixtures/pypi_index.py`'s sample universe plus `acme-popular` ({res.get('popular_versions')} "
        "releases, a wheel and an sdist each: 600 files), served by `bench/pypi/pypibench.py serve` (imports the fixture, "
        "does not change it); the index and the file host on two ports, as pypi.org and files.pythonhosted.org."
    )
    L.append(
        f"- hoard: Release build (`build-bench/`), one `kind: pypi` upstream with the fixture's file host in `file_hosts`, "
        f"`manifest_ttl: {res.get('ttl_pages')}` (nothing expires during the run), access log off. Warm means every page and "
        "file is a cache hit: the fixture's request counter (`/-/fixture/counts`) and hoard's "
        "`hoard_upstream_requests_total` are read around every warm install and every wrk run of hoard, and any request "
        "that reached the fixture voids the figure."
    )
    L.append(
        "- nginx: hoard's own gzip bytes of each page and form (fetched from hoard with pip's Accept-Encoding), static files "
        "at the same URL, the form picked by Accept (`map`), with hoard's Content-Type, `Content-Encoding: gzip` and `Vary`; "
        "sendfile, access log off. The ceiling for serving those bytes, not an index."
    )
    L.append(
        "- Page checks before timing: hoard's page (JSON and HTML) lists exactly the fixture's files of that project with "
        "their sha256, every link on hoard (`../../files/<project>/<file>`); then every wrk target once with curl: 200, "
        "byte-identical to hoard's body, gzip, the Content-Type. wrk "
        f"{res.get('wrk_version')}, {res.get('wrk_threads')} threads, c={res.get('wrk_conns')}, a Lua script for the headers; "
        "servers interleaved and rotated per round; any non-2xx or socket error voids the figure."
    )
    L.append(
        f"- Installs: Debian's pip {res.get('pip_version')} in a fresh venv (`/usr/bin/python3 -m venv`, made before the "
        "clock starts; only the `pip install` command is timed), `--no-cache-dir`, `--index-url` hoard's "
        "`/pypi/simple/` or the fixture's `/simple/`; isolated: its own HOME, `PIP_CONFIG_FILE=/dev/null`, "
        "`PIP_DISABLE_PIP_VERSION_CHECK=1`, `PIP_NO_INPUT=1`, `http(s)_proxy` = 127.0.0.1:9 with `no_proxy=127.0.0.1`. "
        "Each install is checked: exit status, every sample distribution importable at its version, every download "
        "from the server under test. hoard's first (cold) install runs before everything else and fills its cache; "
        "the timed rounds alternate hoard and direct, order rotated per round."
    )
    L.append("")
    L.extend(machine_lines(res, f"Python {res.get('python_version')}, pip {res.get('pip_version')}, "
                                f"nginx {res.get('nginx_version')}, wrk {res.get('wrk_version')}"))
    L.append("- peak RSS (MiB): " + ", ".join(f"{R.name(s)} {res.get(f'rss_{s}', 'n/a')}" for s in SERVERS))
    gone = [R.name(s) for s in SERVERS if res.get(f"alive_{s}") == "0"]
    if gone:
        L.append(f"- **exited during the run: {', '.join(gone)}**")
    L.append("")
    L.extend(check_lines(res, ("page_", "curl_", "first_")))
    return "\n".join(L), R


def summary(res, R):
    h, d = R.inst("hoard"), R.inst("direct")
    S = ["## Issue 5: PyPI front end (`/pypi/`)", ""]
    S.append(
        f"Summary of [bench/pypi/RESULTS.md](pypi/RESULTS.md): `{res.get('cmdline')}` on {res.get('date')}, commit "
        f"{res.get('commit')} plus the working tree; 127.0.0.1, the fixture PyPI as the upstream, "
        f"{res.get('nproc')} shared CPUs."
    )
    S.append("")
    S.append("| | hoard | reference | hoard ÷ reference | target (issue 5) |")
    S.append("|---|---:|---:|---:|---|")
    S.append(
        f"| Warm `pip install` of the sample requirements, fresh venv, `--no-cache-dir` (s, median of {R.reps}) | "
        f"{fmt(h, 2)} | {fmt(d, 2)} (straight from the fixture) | {fmt_ratio(ratio(h, d))} | — |"
    )
    for pg in PAGES:
        for f, label in FORMS:
            a, b, c = R.rq(pg, f, "hoard"), R.rq(pg, f, "nginx1"), R.rq(pg, f, "nginxN")
            r1 = ratio(a, b)
            S.append(
                f"| Warm page `{pg}` {label.split()[0]} + gzip, c=50 (req/s) | {fmt(a)} | {fmt(b)} (nginx, 1 worker; "
                f"{fmt(c)} with {R.auto_workers}) | {fmt_ratio(r1)} ({fmt_ratio(ratio(a, c))}) | ≥ 0.50 × nginx: "
                f"{met(None if r1 is None else r1 >= 0.5)} |"
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
        replace_section(sys.argv[3], "pypi", summary(res, R))


if __name__ == "__main__":
    main()
