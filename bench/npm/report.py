#!/usr/bin/python3
"""Turn bench/npm/run.sh's results.env into bench/npm/RESULTS.md (and print it).

results.env holds key=value lines; per-round keys (pk_full_r1_hoard, inst_cold_r2_verdaccio, ...)
carry lines of key=value pairs (wrk summary, install wall time and checks). A figure is the median
over rounds; a server that failed its packument checks, or any round with an error, a non-2xx
answer, a socket error, a failed npm or a wrong lockfile, shows as "n/a", never as a number.
"""
import statistics
import sys

NAMES = {"hoard": "hoard", "verdaccio": "Verdaccio", "nginx": "nginx (static, ceiling)"}


def load(path):
    res = {}
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if "=" in line:
                k, v = line.split("=", 1)
                res[k] = v
    return res


def fields(line):
    out = {}
    for part in (line or "").split():
        if "=" in part:
            k, v = part.split("=", 1)
            out[k] = v
    return out


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def fmt(v, digits=0):
    return "n/a" if v is None else f"{v:,.{digits}f}"


def main():
    res = load(sys.argv[1])
    out_path = sys.argv[2]
    rounds = int(res.get("rounds", "1"))
    reps = int(res.get("install_reps", "1"))
    checked = {s: res.get(f"check_{s}") == "1" for s in NAMES}

    def rounds_of(key, s, n):
        return [fields(res[f"{key}_r{r}_{s}"]) for r in range(1, n + 1) if f"{key}_r{r}_{s}" in res]

    def pk_ok(f):
        return f.get("non2xx", "") == "" and f.get("sockerr", "") == "" and num(f.get("req_per_s")) is not None

    def pk(v, s):
        rs = rounds_of(f"pk_{v}", s, rounds)
        if not checked[s] or len(rs) != rounds or not all(pk_ok(f) for f in rs):
            return None
        return statistics.median(num(f["req_per_s"]) for f in rs)

    def pk_spread(v, s):
        vals = [f.get("req_per_s", "?") for f in rounds_of(f"pk_{v}", s, rounds)]
        return ", ".join(fmt(num(x)) if num(x) is not None else str(x) for x in vals) or "n/a"

    def pk_cpu(v, s):
        rs = rounds_of(f"pk_{v}", s, rounds)
        cpu = sum(num(f.get("server_cpu_s")) or 0 for f in rs)
        n = sum(num(f.get("requests")) or 0 for f in rs)
        return f"{cpu / n * 1e6:.0f}" if n else "n/a"

    def pk_lat(v, s):
        rs = rounds_of(f"pk_{v}", s, rounds)
        return ", ".join(f.get("lat_p99", "?") or "?" for f in rs) or "n/a"

    def inst_ok(f):
        return f.get("rc") == "0" and f.get("ok") == "1" and num(f.get("wall_s")) is not None

    def inst(kind, s):
        rs = rounds_of(f"inst_{kind}", s, reps)
        if len(rs) != reps or not all(inst_ok(f) for f in rs):
            return None
        return statistics.median(num(f["wall_s"]) for f in rs)

    def inst_spread(kind, s):
        rs = rounds_of(f"inst_{kind}", s, reps)
        return ", ".join(f.get("wall_s", "?") for f in rs) or "n/a"

    def inst_field(kind, s, key):
        rs = rounds_of(f"inst_{kind}", s, reps)
        return ", ".join(f.get(key, "?") for f in rs) or "n/a"

    def ratio(a, b):
        return None if a is None or b is None or b == 0 else a / b

    def verdict(ok):
        return "n/a" if ok is None else ("**met**" if ok else "**missed**")

    quick = res.get("quick") == "1"
    doc = res.get("doc", "fixture-a")
    L = []
    L.append("# hoard npm benchmark results (issue 4)" +
             (" (QUICK run: 1 short round; not the reference figures)" if quick else ""))
    L.append("")
    L.append(f"Produced by `{res.get('cmdline', 'bench/npm/run.sh')}` (from the repository root) on "
             f"{res.get('date', '?')}, commit {res.get('commit', '?')} plus the working tree at that time.")
    L.append("")
    if res.get("hoard_ok") != "1":
        L.append(f"**hoard was not measured: {res.get('hoard_note') or 'unavailable'}.**")
        L.append("")
    for s, name in NAMES.items():
        if res.get(f"check_{s}") == "0":
            L.append(f"**{name} failed the packument checks (status, headers, document or tarball URLs); "
                     "its req/s figures are withheld (n/a).** Check lines below.")
            L.append("")

    L.append(f"## 1. Warm packument GET, `{doc}`, c={res.get('wrk_conns', 50)} (wrk, {res.get('wrk_secs')} s × "
             f"{rounds} interleaved rounds, median)")
    L.append("")
    L.append("| Accept-Encoding: gzip, Accept: | hoard | Verdaccio | nginx (ceiling) | hoard ÷ nginx | hoard ÷ Verdaccio | target |")
    L.append("|---|---|---|---|---|---|---|")
    for v, label in (("full", "full: `application/json`"), ("corgi", "corgi: npm's install-v1 list")):
        h, vd, n = pk(v, "hoard"), pk(v, "verdaccio"), pk(v, "nginx")
        rn, rv = ratio(h, n), ratio(h, vd)
        tgt = f"≥ 0.50 × nginx: {verdict(None if rn is None else rn >= 0.5)}" if v == "full" else "—"
        L.append(f"| {label} (req/s) | {fmt(h)} | {fmt(vd)} | {fmt(n)} | "
                 f"{'n/a' if rn is None else f'{rn:.2f} ×'} | {'n/a' if rv is None else f'{rv:,.0f} ×'} | {tgt} |")
    for v in ("full", "corgi"):
        L.append(f"| {v}: each round (req/s) | {pk_spread(v, 'hoard')} | {pk_spread(v, 'verdaccio')} | "
                 f"{pk_spread(v, 'nginx')} | | | |")
    for v in ("full", "corgi"):
        L.append(f"| {v}: p99 latency, each round | {pk_lat(v, 'hoard')} | {pk_lat(v, 'verdaccio')} | "
                 f"{pk_lat(v, 'nginx')} | | | |")
    for v in ("full", "corgi"):
        L.append(f"| {v}: server CPU-µs per request | {pk_cpu(v, 'hoard')} | {pk_cpu(v, 'verdaccio')} | "
                 f"{pk_cpu(v, 'nginx')} | | | |")
    for v in ("full", "corgi"):
        cells = []
        for s in ("hoard", "verdaccio", "nginx"):
            f = fields(res.get(f"doc_{v}_{s}"))
            cells.append(f"{f.get('bytes', '?')} B, {f.get('ctype', '?')}" if f else "n/a")
        L.append(f"| {v}: response body (gzip) | {cells[0]} | {cells[1]} | {cells[2]} | | | |")
    L.append("")

    L.append(f"## 2. Warm `npm install` of the sample project (wall seconds, median of {reps}, interleaved)")
    L.append("")
    L.append("| | hoard | Verdaccio | hoard ÷ Verdaccio | target |")
    L.append("|---|---|---|---|---|")
    for kind, label in (("cold", "server warm, client cache cold (empty `--cache` each time)"),
                        ("warm", "server warm, client cache warm (`--prefer-online`: packuments revalidated)")):
        h, vd = inst(kind, "hoard"), inst(kind, "verdaccio")
        r = ratio(h, vd)
        note = ""
        hs = [num(f.get("wall_s")) for f in rounds_of(f"inst_{kind}", "hoard", reps)]
        vs = [num(f.get("wall_s")) for f in rounds_of(f"inst_{kind}", "verdaccio", reps)]
        if r is not None and len(hs) > 1 and None not in hs + vs and max(hs) > min(vs) and min(hs) < max(vs):
            note = " (the runs' ranges overlap: within this machine's noise)"
        L.append(f"| {label} | {fmt(h, 2)} | {fmt(vd, 2)} | {'n/a' if r is None else f'{r:.2f} ×'} | "
                 f"hoard faster: {verdict(None if r is None else r < 1.0)}{note} |")
        L.append(f"| … each run (s) | {inst_spread(kind, 'hoard')} | {inst_spread(kind, 'verdaccio')} | | |")
        L.append(f"| … server CPU-s per install | {inst_field(kind, 'hoard', 'server_cpu_s')} | "
                 f"{inst_field(kind, 'verdaccio', 'server_cpu_s')} | | |")
        L.append(f"| … npm's fetches (what npm's cache did: count) | {inst_field(kind, 'hoard', 'cache')} | "
                 f"{inst_field(kind, 'verdaccio', 'cache')} | | |")
        L.append(f"| … sum of npm's per-request fetch times (ms) | {inst_field(kind, 'hoard', 'fetch_ms_sum')} | "
                 f"{inst_field(kind, 'verdaccio', 'fetch_ms_sum')} | | |")
        L.append(f"| … requests reaching the fixture upstreams | {inst_field(kind, 'hoard', 'upstream_requests')} | "
                 f"{inst_field(kind, 'verdaccio', 'upstream_requests')} | | = 0 (warm) |")
    fh, fv = fields(res.get("first_hoard")), fields(res.get("first_verdaccio"))
    L.append(f"| for reference, the first install (server and client cold), one run | "
             f"{fh.get('wall_s', 'n/a')} | {fv.get('wall_s', 'n/a')} | | |")
    L.append(f"| … its requests to the fixture upstreams | {fh.get('upstream_requests', 'n/a')} | "
             f"{fv.get('upstream_requests', 'n/a')} | | |")
    bad = []
    for k in sorted(res):
        if k.startswith(("inst_", "first_")):
            f = fields(res[k])
            if not inst_ok(f):
                bad.append(f"- `{k}`: rc={f.get('rc')} ok={f.get('ok')} problems={f.get('problems')}")
    if bad:
        L.append("")
        L.append("Installs that failed their checks (their medians are n/a):")
        L.extend(bad)
    L.append("")

    L.append("## What was measured")
    L.append("")
    L.append(f"- Upstreams: two `tests/fixtures/npm_registry.py` processes (Python, stdlib), one with the sample "
             "public packages (`--sample`), one with the private `@acme/*` ones (`--private`); hoard and Verdaccio "
             "route `@acme/*` to the private one and everything else to the public one.")
    L.append(f"- hoard: Release build, `manifest_ttl: {res.get('packument_ttl')}`, access log off. Verdaccio "
             f"{res.get('verdaccio_version')}: uplinks with `maxage: {res.get('packument_ttl')}`, log level warn, web UI "
             "off, no auth for reads. So every warm request is a cache hit in both; the fixture request counts "
             "above show it.")
    L.append("- nginx: hoard's own gzip bytes of both documents (fetched through hoard), static files picked by "
             "Accept (`map`), with hoard's Content-Type, `Content-Encoding: gzip` and `Vary`; sendfile, "
             "2 workers, access log off. It is the ceiling for serving those bytes, not a registry.")
    L.append(f"- Packument phase: every server's answer is checked first (200, gzip, Content-Type, "
             f"`{doc}` with all versions and dist-tags, every `dist.tarball` on the server itself); wrk "
             f"{res.get('wrk_version')}, 2 threads, c={res.get('wrk_conns')}, a Lua script for the headers; the "
             "servers interleaved and rotated per round. Any non-2xx or socket error voids the figure.")
    L.append("- Install phase: npm with its own HOME and npmrc (nothing from the machine's config), "
             "`npm install --prefer-online --no-audit` in a fresh directory holding only the sample project's "
             "package.json (no lockfile, no node_modules), so npm resolves the whole tree (fixture-a → "
             "fixture-b → fixture-c, @tools/fmt, @acme/util → @acme/core, an optional win32-only package): "
             "7 packuments, 6 tarballs. Each install is checked: npm's exit status, the lockfile's versions, "
             "integrity (the fixture's) and resolved URLs (on the server under test), node_modules, and that "
             "every fetch in npm's http log went to the server under test. Wall time is mostly npm itself "
             "(node start-up, resolution, extraction: the same for both servers); the server's share is the "
             "packument fetches, so on a shared machine the server CPU per install and the sum of npm's "
             "fetch times are the steadier comparison.")
    L.append("")
    L.append("## Machine")
    L.append("")
    L.append(f"- {res.get('nproc')} CPUs ({res.get('cpu')}), {res.get('mem')}, kernel {res.get('kernel')}")
    L.append(f"- node {res.get('node_version')}, npm {res.get('npm_version')}, nginx {res.get('nginx_version')}, "
             f"wrk {res.get('wrk_version')}")
    L.append(f"- load average before the run: {res.get('load_before')}; after: {res.get('load_after')}")
    L.append(f"- peak RSS (MiB): hoard {res.get('rss_hoard', 'n/a')}, Verdaccio {res.get('rss_verdaccio', 'n/a')}, "
             f"nginx {res.get('rss_nginx', 'n/a')}")
    alive = [NAMES[s] for s in NAMES if res.get(f"alive_{s}") == "0"]
    if alive:
        L.append(f"- **exited during the run: {', '.join(alive)}**")
    L.append("")
    L.append("## Check lines")
    L.append("")
    L.append("```")
    for k in sorted(res):
        if k.startswith(("doc_", "first_")):
            L.append(f"{k}: {res[k]}")
    L.append("```")
    L.append("")

    text = "\n".join(L)
    with open(out_path, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
