#!/usr/bin/python3
"""Turn bench/npm/run.sh's results.env into bench/npm/RESULTS.md (and print it).

  report.py RESULTS_ENV OUT.md [SUMMARY.md]

results.env holds key=value lines; per-round keys (pk_full_r1_hoard, pkpad_full_r1_hoard,
inst_cold_r2_verdaccio, ...) carry lines of key=value pairs (wrk summary, install wall time and
checks); the infix "pad" marks the padded set (packuments with --pad-versions old versions). A
figure is the median over rounds; a server that failed its packument checks, or any round with an
error, a non-2xx answer, a socket error, a failed npm or a wrong lockfile, shows as "n/a", never as
a number.

With SUMMARY.md (bench/RESULTS.md), the headline figures also go into that file between
<!-- npm:begin --> and <!-- npm:end -->: the section is replaced when the markers are there and
appended (markers included) when they are not; the rest of the file is left byte for byte.
"""
import os
import statistics
import sys

# The helpers shared with the other benchmarks' reports live in bench/lib (not a package). No
# bytecode cache: the benchmarks leave nothing behind in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from report_common import (check_lines, checked_median, fields, fmt, fmt_ratio, load,  # noqa: E402
                           machine_lines, met, num, per_round, provenance, ratio, ranges_overlap,
                           replace_section, write_report)

NAMES = {"hoard": "hoard", "verdaccio": "Verdaccio", "nginx": "nginx (static, ceiling)"}


def rate(v):  # req/s: whole numbers, one decimal below 100 (a slow server's 2.4 is not "2")
    return fmt(v, 1 if v is not None and v < 100 else 0)


def kib(v):
    n = num(v)
    if n is None:
        return "?"
    return f"{n / 1048576:.1f} MiB" if n >= 1048576 else f"{n / 1024:,.0f} KiB" if n >= 10240 else f"{n:,.0f} B"


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    res = load(sys.argv[1])
    out_path = sys.argv[2]
    summary_path = sys.argv[3] if len(sys.argv) == 4 else None
    rounds = int(res.get("rounds", "1"))
    reps = int(res.get("install_reps", "1"))
    pad_n = int(res.get("pad_versions", "0") or 0)
    # The sets that ran: key infix -> label. "" is the fixture as is; "pad" the padded one.
    sets = [k for k in ("", "pad") if any(key.startswith(f"check{k}_") for key in res)]
    ik = res.get("install_set", "")  # the set the installs ran in
    ipad = int(res.get("install_pad", "0") or 0)

    def checked(k, s):
        return res.get(f"check{k}_{s}") == "1"

    def pk_ok(f):
        return f.get("non2xx", "") == "" and f.get("sockerr", "") == "" and num(f.get("req_per_s")) is not None

    def pk(k, v, s, c=""):
        if not checked(k, s):
            return None
        return checked_median(per_round(res, f"pk{k}{c}_{v}", s, rounds), rounds, pk_ok, "req_per_s")

    def pk_spread(k, v, s, c=""):
        vals = [f.get("req_per_s", "?") for f in per_round(res, f"pk{k}{c}_{v}", s, rounds)]
        return ", ".join(rate(num(x)) if num(x) is not None else str(x) for x in vals) or "n/a"

    def pk_cpu(k, v, s, c=""):
        rs = per_round(res, f"pk{k}{c}_{v}", s, rounds)
        cpu = sum(num(f.get("server_cpu_s")) or 0 for f in rs)
        n = sum(num(f.get("requests")) or 0 for f in rs)
        return f"{cpu / n * 1e6:,.0f}" if n else "n/a"

    def pk_field(k, v, s, key, c=""):
        return ", ".join(f.get(key, "?") or "?" for f in per_round(res, f"pk{k}{c}_{v}", s, rounds)) or "n/a"

    def pk_lat(k, v, s, c=""):
        rs = per_round(res, f"pk{k}{c}_{v}", s, rounds)
        return ", ".join(f.get("lat_p99", "?") or "?" for f in rs) or "n/a"

    def inst_ok(f):
        return f.get("rc") == "0" and f.get("ok") == "1" and num(f.get("wall_s")) is not None

    def inst(kind, s):
        return checked_median(per_round(res, f"inst_{kind}", s, reps), reps, inst_ok, "wall_s")

    def inst_spread(kind, s):
        rs = per_round(res, f"inst_{kind}", s, reps)
        return ", ".join(f.get("wall_s", "?") for f in rs) or "n/a"

    def inst_field(kind, s, key):
        rs = per_round(res, f"inst_{kind}", s, reps)
        return ", ".join(f.get(key, "?") for f in rs) or "n/a"

    def inst_cpu_median(kind, s):
        vals = [num(f.get("server_cpu_s")) for f in per_round(res, f"inst_{kind}", s, reps)]
        return None if not vals or None in vals else statistics.median(vals)

    def overlap(kind):
        hs = [num(f.get("wall_s")) for f in per_round(res, f"inst_{kind}", "hoard", reps)]
        vs = [num(f.get("wall_s")) for f in per_round(res, f"inst_{kind}", "verdaccio", reps)]
        return ranges_overlap(hs, vs)

    def doc_size(k, v, s):  # "X KiB gzip (Y KiB JSON)" of a server's answer
        f = fields(res.get(f"doc{k}_{v}_{s}"))
        return f"{kib(f.get('bytes'))} gzip ({kib(f.get('raw_bytes'))} JSON)" if f.get("bytes") else "?"

    def set_label(k):
        t = fields(res.get(f"tree{k}"))
        n = t.get("doc_versions", "?")
        if k == "":
            return f"the fixture's own packument ({n} versions)"
        return f"padded: {pad_n} extra old versions per package ({n} versions)"

    tree = fields(res.get(f"tree{ik}"))
    install_docs = (f"{tree.get('packuments', '?')} packuments, {tree.get('versions', '?')} versions, "
                    f"{kib(tree.get('full_bytes'))} of full JSON in all")
    install_desc = (f"packuments padded with {ipad} old versions each: {install_docs}" if ipad
                    else f"the fixture's own packuments: {install_docs}")

    # The headline figures, computed once, shown in both files.
    inst_rows = {}
    for kind in ("cold", "warm"):
        h, vd = inst(kind, "hoard"), inst(kind, "verdaccio")
        r = ratio(h, vd)
        note = " (the runs' ranges overlap: within this machine's noise)" if r is not None and overlap(kind) else ""
        inst_rows[kind] = (h, vd, r, f"hoard faster: {met(None if r is None else r < 1.0)}{note}")

    quick = res.get("quick") == "1"
    doc = res.get("doc", "fixture-a")
    produced = provenance(res, "bench/npm/run.sh") + "."
    L = []
    L.append("# hoard npm benchmark results (issue 4)" +
             (" (QUICK run: 1 short round; not the reference figures)" if quick else ""))
    L.append("")
    L.append(produced)
    L.append("")
    if res.get("hoard_ok") != "1":
        L.append(f"**hoard was not measured: {res.get('hoard_note') or 'unavailable'}.**")
        L.append("")
    for k in sets:
        for s, name in NAMES.items():
            if res.get(f"check{k}_{s}") == "0":
                L.append(f"**{name} failed the packument checks ({set_label(k)}: status, headers, document or "
                         "tarball URLs); its req/s figures there are withheld (n/a).** Check lines below.")
                L.append("")

    L.append(f"## 1. Warm packument GET, `{doc}`, c={res.get('wrk_conns', 50)} (wrk, {res.get('wrk_secs')} s × "
             f"{rounds} interleaved rounds, median)")
    L.append("")
    for k in sets:
        if len(sets) > 1:
            L.append(f"### {'1a' if k == '' else '1b'}. {set_label(k)[0].upper() + set_label(k)[1:]}, "
                     f"full: {doc_size(k, 'full', 'hoard')}")
            L.append("")
        L.append("| Accept-Encoding: gzip, Accept: | hoard | Verdaccio | nginx (ceiling) | hoard ÷ nginx | hoard ÷ Verdaccio | target |")
        L.append("|---|---|---|---|---|---|---|")
        for v, label in (("full", "full: `application/json`"), ("corgi", "corgi: npm's install-v1 list")):
            h, vd, n = pk(k, v, "hoard"), pk(k, v, "verdaccio"), pk(k, v, "nginx")
            rn, rv = ratio(h, n), ratio(h, vd)
            tgt = f"≥ 0.50 × nginx: {met(None if rn is None else rn >= 0.5)}" if v == "full" else "—"
            L.append(f"| {label} (req/s) | {rate(h)} | {rate(vd)} | {rate(n)} | "
                     f"{fmt_ratio(rn)} | {'n/a' if rv is None else f'{rv:,.0f} ×'} | {tgt} |")
        for v in ("full", "corgi"):
            L.append(f"| {v}: each round (req/s) | {pk_spread(k, v, 'hoard')} | {pk_spread(k, v, 'verdaccio')} | "
                     f"{pk_spread(k, v, 'nginx')} | | | |")
        for v in ("full", "corgi"):
            L.append(f"| {v}: requests answered, each round | {pk_field(k, v, 'hoard', 'requests')} | "
                     f"{pk_field(k, v, 'verdaccio', 'requests')} | {pk_field(k, v, 'nginx', 'requests')} | | | |")
        for v in ("full", "corgi"):
            L.append(f"| {v}: p99 latency, each round | {pk_lat(k, v, 'hoard')} | {pk_lat(k, v, 'verdaccio')} | "
                     f"{pk_lat(k, v, 'nginx')} | | | |")
        for v in ("full", "corgi"):
            L.append(f"| {v}: server CPU-µs per request | {pk_cpu(k, v, 'hoard')} | {pk_cpu(k, v, 'verdaccio')} | "
                     f"{pk_cpu(k, v, 'nginx')} | | | |")
        for v in ("full", "corgi"):
            cells = []
            for s in ("hoard", "verdaccio", "nginx"):
                f = fields(res.get(f"doc{k}_{v}_{s}"))
                cells.append(f"{f.get('bytes', '?')} B, {f.get('ctype', '?')}" if f else "n/a")
            L.append(f"| {v}: response body (gzip) | {cells[0]} | {cells[1]} | {cells[2]} | | | |")
        if any(f"pk{k}c1_full_r1_{s}" in res for s in NAMES):
            h, vd, n = pk(k, "full", "hoard", "c1"), pk(k, "full", "verdaccio", "c1"), pk(k, "full", "nginx", "c1")
            rn, rv = ratio(h, n), ratio(h, vd)
            L.append(f"| **one connection** (wrk -t1 -c1), full (req/s = 1 / latency) | {rate(h)} | {rate(vd)} | "
                     f"{rate(n)} | {fmt_ratio(rn)} | {'n/a' if rv is None else f'{rv:,.0f} ×'} | — |")
            L.append(f"| … each round (req/s) | {pk_spread(k, 'full', 'hoard', 'c1')} | "
                     f"{pk_spread(k, 'full', 'verdaccio', 'c1')} | {pk_spread(k, 'full', 'nginx', 'c1')} | | | |")
            L.append(f"| … average latency, each round | {pk_field(k, 'full', 'hoard', 'lat_avg', 'c1')} | "
                     f"{pk_field(k, 'full', 'verdaccio', 'lat_avg', 'c1')} | {pk_field(k, 'full', 'nginx', 'lat_avg', 'c1')} | | | |")
            L.append(f"| … server CPU-µs per request | {pk_cpu(k, 'full', 'hoard', 'c1')} | "
                     f"{pk_cpu(k, 'full', 'verdaccio', 'c1')} | {pk_cpu(k, 'full', 'nginx', 'c1')} | | | |")
        L.append("")
        few = [NAMES[s] for s in NAMES
               if any((num(f.get("requests")) or 0) < 100 for v in ("full", "corgi") for f in per_round(res, f"pk{k}_{v}", s, rounds))]
        if few:
            L.append(f"{' and '.join(few)} answered fewer than 100 requests at c=50 in some round here, so that req/s "
                     "is coarse and biased low, and its CPU-µs per request is an upper bound: it works on all 50 "
                     "requests at once, so its first answers come only after about 50 request-times, and much of "
                     "its CPU in a round goes to requests still in flight at the deadline (the run waits for each "
                     "server to go idle before the next one starts). The one-connection row has no such "
                     "start-up transient: it is the cost of one request.")
            L.append("")

    L.append(f"## 2. Warm `npm install` of the sample project (wall seconds, median of {reps}, interleaved)")
    L.append("")
    L.append(f"The installs use {install_desc}.")
    L.append("")
    L.append("| | hoard | Verdaccio | hoard ÷ Verdaccio | target |")
    L.append("|---|---|---|---|---|")
    for kind, label in (("cold", "server warm, client cache cold (empty `--cache` each time)"),
                        ("warm", "server warm, client cache warm (`--prefer-online`: packuments revalidated)")):
        h, vd, r, tgt = inst_rows[kind]
        L.append(f"| {label} | {fmt(h, 2)} | {fmt(vd, 2)} | {fmt_ratio(r)} | {tgt} |")
        L.append(f"| … each run (s) | {inst_spread(kind, 'hoard')} | {inst_spread(kind, 'verdaccio')} | | |")
        L.append(f"| … server CPU-s per install | {inst_field(kind, 'hoard', 'server_cpu_s')} | "
                 f"{inst_field(kind, 'verdaccio', 'server_cpu_s')} | | |")
        L.append(f"| … npm's fetches (what npm's cache did: count) | {inst_field(kind, 'hoard', 'cache')} | "
                 f"{inst_field(kind, 'verdaccio', 'cache')} | | |")
        L.append(f"| … sum of npm's per-request fetch times (ms) | {inst_field(kind, 'hoard', 'fetch_ms_sum')} | "
                 f"{inst_field(kind, 'verdaccio', 'fetch_ms_sum')} | | |")
        L.append(f"| … slowest single fetch (ms) | {inst_field(kind, 'hoard', 'slowest_fetch_ms')} | "
                 f"{inst_field(kind, 'verdaccio', 'slowest_fetch_ms')} | | |")
        L.append(f"| … requests reaching the fixture upstreams | {inst_field(kind, 'hoard', 'upstream_requests')} | "
                 f"{inst_field(kind, 'verdaccio', 'upstream_requests')} | | = 0 (warm) |")
    fh, fv = fields(res.get("first_hoard")), fields(res.get("first_verdaccio"))
    L.append(f"| for reference, the first install (server and client cold), one run | "
             f"{fh.get('wall_s', 'n/a')} | {fv.get('wall_s', 'n/a')} | | |")
    L.append(f"| … its requests to the fixture upstreams | {fh.get('upstream_requests', 'n/a')} | "
             f"{fv.get('upstream_requests', 'n/a')} | | |")
    bad = []
    for key in sorted(res):
        if key.startswith(("inst_", "first_")):
            f = fields(res[key])
            if not inst_ok(f):
                bad.append(f"- `{key}`: rc={f.get('rc')} ok={f.get('ok')} problems={f.get('problems')}")
    if bad:
        L.append("")
        L.append("Installs that failed their checks (their medians are n/a):")
        L.extend(bad)
    L.append("")

    L.append("## What was measured")
    L.append("")
    L.append("- Upstreams: two `tests/fixtures/npm_registry.py` processes (Python, stdlib), one with the sample "
             "public packages (`--sample`), one with the private `@acme/*` ones (`--private`); hoard and Verdaccio "
             "route `@acme/*` to the private one and everything else to the public one.")
    if pad_n:
        L.append(f"- Two sets, one after the other, each with its own fixture upstreams, hoard, Verdaccio and nginx "
                 f"(the previous set stopped first): the fixture as the integration tests see it (packuments of "
                 f"1–3 versions, about 1 KiB; section 1a), then the same fixture with `--pad-versions {pad_n}` "
                 f"(section 1b and the installs). Padding gives every package {pad_n} older versions (0.0.1 … "
                 f"0.{pad_n // 25}.x) whose version objects look like modern published ones (about 2 KiB each: "
                 "dependencies, dev tooling, scripts, repository, maintainers, dist with integrity, shasum, "
                 "fileCount, unpackedSize and a signature; no per-version readme) plus their `time` entries, but "
                 "no tarballs; the real versions stay the newest, so npm resolves the same tree. Real packuments "
                 "carry their whole history, and npm 10.4+ fetches the full document during install: a widely "
                 "used package has hundreds to thousands of versions (hundreds of KB to tens of MB), which is "
                 "what makes the server's share of an install visible.")
    L.append(f"- hoard: Release build, `manifest_ttl: {res.get('packument_ttl')}`, access log off. Verdaccio "
             f"{res.get('verdaccio_version')}: uplinks with `maxage: {res.get('packument_ttl')}`, log level warn, web UI "
             "off, no auth for reads. So every warm request is a cache hit in both; the fixture request counts "
             "above show it.")
    L.append("- nginx: hoard's own gzip bytes of both documents (fetched through hoard), static files picked by "
             "Accept (`map`), with hoard's Content-Type, `Content-Encoding: gzip` and `Vary`; sendfile, "
             "2 workers, access log off. It is the ceiling for serving those bytes, not a registry.")
    L.append(f"- Packument phase: every server's answer is checked first (200, gzip, Content-Type, "
             f"`{doc}` with exactly its versions (padded ones included) and dist-tags, every `dist.tarball` on "
             f"the server itself); wrk {res.get('wrk_version')}, 2 threads, c={res.get('wrk_conns')}, a Lua script "
             "for the headers; the servers interleaved and rotated per round; after each wrk run the script "
             "waits for the server to go idle before the next one starts. With padded packuments, also one "
             "connection (`wrk -t1 -c1`) for the full document: the cost of one request without the c=50 "
             "start-up transient a slow server has. Any non-2xx or socket error voids the figure.")
    L.append("- Install phase: npm with its own HOME and npmrc (nothing from the machine's config), "
             "`npm install --prefer-online --no-audit` in a fresh directory holding only the sample project's "
             "package.json (no lockfile, no node_modules), so npm resolves the whole tree (fixture-a → "
             "fixture-b → fixture-c, @tools/fmt, @acme/util → @acme/core, an optional win32-only package): "
             "7 packuments, 6 tarballs. Each install is checked: npm's exit status, the lockfile's versions, "
             "integrity (the fixture's) and resolved URLs (on the server under test), node_modules, and that "
             "every fetch in npm's http log went to the server under test. Wall time includes npm itself "
             "(node start-up, resolution, parsing the packuments, extraction: the same for both servers); the "
             "server's share is the packument fetches, so on a shared machine the server CPU per install and "
             "the sum of npm's fetch times are the steadier comparison.")
    L.append("")
    L.extend(machine_lines(res, f"node {res.get('node_version')}, npm {res.get('npm_version')}, "
                                f"nginx {res.get('nginx_version')}, wrk {res.get('wrk_version')}", shared=False))
    for k in sets:
        L.append(f"- peak RSS (MiB){'' if len(sets) == 1 else ', ' + ('plain set' if k == '' else 'padded set')}: "
                 f"hoard {res.get(f'rss{k}_hoard', 'n/a')}, Verdaccio {res.get(f'rss{k}_verdaccio', 'n/a')}, "
                 f"nginx {res.get(f'rss{k}_nginx', 'n/a')}")
        gone = [NAMES[s] for s in NAMES if res.get(f"alive{k}_{s}") == "0"]
        if gone:
            L.append(f"- **exited during the run: {', '.join(gone)}**")
    L.append("")
    L.extend(check_lines(res, ("doc_", "docpad_", "first_", "tree")))

    write_report(out_path, "\n".join(L))

    if summary_path:
        S = []
        S.append("## npm front end (issue 4): hoard vs Verdaccio vs nginx")
        S.append("")
        S.append(produced.replace("Produced by", "From", 1) + f" Written by `bench/npm/run.sh`; details, every round "
                 f"and the method: [`bench/npm/RESULTS.md`](npm/RESULTS.md). Verdaccio {res.get('verdaccio_version')}, "
                 f"node {res.get('node_version')}, npm {res.get('npm_version')}; load average before/after: "
                 f"{res.get('load_before')} / {res.get('load_after')}.")
        S.append("")
        S.append("| | hoard | Verdaccio | nginx (ceiling) | hoard ÷ nginx | hoard ÷ Verdaccio | target (issue 4) |")
        S.append("|---|---:|---:|---:|---:|---:|---|")
        for k in sets:
            h, vd, n = pk(k, "full", "hoard"), pk(k, "full", "verdaccio"), pk(k, "full", "nginx")
            rn, rv = ratio(h, n), ratio(h, vd)
            S.append(f"| Warm packument GET, full + gzip, c=50 (req/s): `{doc}`, {set_label(k)}, "
                     f"{doc_size(k, 'full', 'hoard')} | {rate(h)} | {rate(vd)} | {rate(n)} | "
                     f"{fmt_ratio(rn)} | {'n/a' if rv is None else f'{rv:,.0f} ×'} | "
                     f"≥ 0.50 × nginx: {met(None if rn is None else rn >= 0.5)} |")
            if any(f"pk{k}c1_full_r1_{s}" in res for s in NAMES):
                h, vd, n = pk(k, "full", "hoard", "c1"), pk(k, "full", "verdaccio", "c1"), pk(k, "full", "nginx", "c1")
                rn, rv = ratio(h, n), ratio(h, vd)
                S.append(f"| … same document, one connection (req/s = 1 / latency) | {rate(h)} | {rate(vd)} | {rate(n)} | "
                         f"{fmt_ratio(rn)} | {'n/a' if rv is None else f'{rv:,.0f} ×'} | — |")
        for kind, label in (("cold", "client cache cold"), ("warm", "client cache warm, packuments revalidated")):
            h, vd, r, tgt = inst_rows[kind]
            hc, vc = inst_cpu_median(kind, "hoard"), inst_cpu_median(kind, "verdaccio")
            S.append(f"| Warm `npm install` of the sample project, server warm, {label}: wall s, median of {reps} "
                     f"(server CPU-s) | {fmt(h, 2)} ({fmt(hc, 2)}) | {fmt(vd, 2)} ({fmt(vc, 2)}) | | | "
                     f"{fmt_ratio(r)} | {tgt} |")
        S.append("")
        S.append(f"The installs use {install_desc}. Their wall time is mostly npm's own work (start-up, "
                 "resolution, parsing the packuments, extraction), the same through either server; the server's "
                 "part is answering the packument requests.")
        replace_section(summary_path, "npm", "\n".join(S))
        print(f"report.py: wrote the npm section of {summary_path}", file=sys.stderr)

if __name__ == "__main__":
    main()
