#!/usr/bin/python3
"""Turn bench/startup/run.sh's results.env into bench/startup/RESULTS.md (and print it); with a
third argument (bench/RESULTS.md) also replace the summary between <!-- startup:begin --> and
<!-- startup:end --> there (appended when absent; nothing else in that file changes).

results.env: fill (store_fill's line), index_mib, start_r<N>_<empty|full> (startup.py's line:
ready_file_s readyz_s rss_ready_kib rss_settled_kib hwm_kib store_bytes store_objects exit),
the settings and the machine. A start counts when it reached a 200 from /-/readyz, exited 0 on
SIGTERM and (full store) reported every object in /metrics; the medians need every start to
count, otherwise they show "n/a".

    report.py RESULTS_ENV OUT_MD [BENCH_RESULTS_MD]
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from report_common import (check_lines, checked_median, fields, fmt, fmt_ratio, load,  # noqa: E402
                           machine_lines, num, per_round, provenance, ratio, replace_section,
                           write_report)


def ok(res, store):
    want = res.get("objects") if store == "full" else "0"

    def f(x):
        return ("error" not in x and x.get("exit") == "0" and num(x.get("readyz_s")) is not None
                and x.get("store_objects") in (want, "?"))
    return f


def figures(res, store):
    n = int(res.get("reps", "1"))
    rows = per_round(res, "start", store, n)
    good = ok(res, store)
    med = {k: checked_median(rows, n, good, k)
           for k in ("ready_file_s", "readyz_s", "rss_ready_kib", "rss_settled_kib", "hwm_kib")}
    med["each"] = ", ".join(x.get("readyz_s", "?") for x in rows) or "n/a"
    med["objects"] = ", ".join(sorted({x.get("store_objects", "?") for x in rows})) or "n/a"
    med["bytes"] = ", ".join(sorted({x.get("store_bytes", "?") for x in rows})) or "n/a"
    return med


def table(res):
    e, f = figures(res, "empty"), figures(res, "full")

    def ms(v):
        return fmt(None if v is None else v * 1000) + " ms"

    def mib(v):
        return fmt(None if v is None else v / 1024, 1) + " MiB"
    rows = [
        ("objects / refs in the index", "0 / 0", "%s / %s" % (fmt(num(res.get("objects"))), fmt(num(res.get("refs")))), ""),
        ("**launch → first 200 from /-/readyz** (median)", ms(e["readyz_s"]), ms(f["readyz_s"]),
         fmt_ratio(ratio(f["readyz_s"], e["readyz_s"]), 1)),
        ("launch → ready file written (median)", ms(e["ready_file_s"]), ms(f["ready_file_s"]),
         fmt_ratio(ratio(f["ready_file_s"], e["ready_file_s"]), 1)),
        ("each start, /-/readyz (s)", e["each"], f["each"], ""),
        ("RSS when ready (median)", mib(e["rss_ready_kib"]), mib(f["rss_ready_kib"]), ""),
        ("RSS 2 s later (median)", mib(e["rss_settled_kib"]), mib(f["rss_settled_kib"]), ""),
        ("peak RSS (VmHWM, median)", mib(e["hwm_kib"]), mib(f["hwm_kib"]), ""),
        ("hoard_store_objects in /metrics", e["objects"], f["objects"], ""),
    ]
    out = ["| | empty store | full store | full / empty |", "|---|---:|---:|---:|"]
    return out + ["| %s | %s | %s | %s |" % r for r in rows]


def report(res):
    quick = " (QUICK smoke run)" if res.get("quick") == "1" else ""
    fill = fields(res.get("fill"))
    L = [
        "# hoard benchmark: start-up with %s indexed objects (issue 7)%s" % (fmt(num(res.get("objects"))), quick),
        "",
        provenance(res, "bench/startup/run.sh") + ".",
        "",
        "`hoard serve` on an empty store and on a store whose RocksDB index holds %s objects (BlobMeta: "
        "sizes from 500 B to 20 MB, %s bytes in all) and %s refs, written by `hoard_bench_store_fill` "
        "(bench/startup/store_fill.cpp: hoard's own value encoding, unsynced batches, then a flush and a full "
        "compaction) in %s s; the index is %s MiB on disk. No blob files: start-up (BlobStore::recover) reads "
        "only the index, summing every object's size for the store's byte count. Each start is timed by "
        "`startup.py` from launching the process to the ready file and to the first 200 from `GET /-/readyz`; "
        "%s starts per store, interleaved; medians. The page cache is warm (not dropped on a shared machine)."
        % (fmt(num(res.get("objects"))), fmt(num(fill.get("total_bytes"))), fmt(num(res.get("refs"))),
           fill.get("total_s", "?"), res.get("index_mib", "?"), res.get("reps")),
        "",
        "## Start-up",
        "",
    ] + table(res) + [
        "",
    ] + machine_lines(res, "RocksDB %s (Debian)" % res.get("rocksdb_version")) + [
        "",
    ] + check_lines(res, ("fill", "index_mib", "start_"))
    return "\n".join(L)


def summary(res):
    return "\n".join([
        "## Start-up with %s indexed objects (issue 7, bench/startup)" % fmt(num(res.get("objects"))),
        "",
        "`%s` on %s (commit %s; load average before %s, after %s): `hoard serve` until the first 200 from "
        "`/-/readyz`, empty store vs an index of %s objects and %s refs (%s MiB of RocksDB), median of %s starts, "
        "warm page cache. Details: [startup/RESULTS.md](startup/RESULTS.md)."
        % (res.get("cmdline"), res.get("date"), res.get("commit"), res.get("load_before"), res.get("load_after"),
           fmt(num(res.get("objects"))), fmt(num(res.get("refs"))), res.get("index_mib", "?"), res.get("reps")),
        "",
    ] + table(res) + [""])


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: report.py RESULTS_ENV OUT_MD [BENCH_RESULTS_MD]")
    res = load(sys.argv[1])
    write_report(sys.argv[2], report(res))
    if len(sys.argv) == 4:
        replace_section(sys.argv[3], "startup", summary(res))


if __name__ == "__main__":
    main()
