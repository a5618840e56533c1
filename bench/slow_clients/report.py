#!/usr/bin/python3
"""Turn bench/slow_clients/run.sh's results.env into bench/slow_clients/RESULTS.md (and print
it); with a third argument (bench/RESULTS.md) also replace the summary between
<!-- slowclients:begin --> and <!-- slowclients:end --> there (appended when absent; nothing
else in that file changes).

results.env: idle_<server> (one /proc sample as JSON, after one warm GET, no client connected),
run_<server> (the path of slowclients.py's JSON: counts, rates, a sample per second),
check_/alive_<server>, and the run's settings and machine.

Figures per server: idle RSS; RSS with the clients connected (median of the samples taken from
2 s after the last client connected to the end: the steady state); peak (largest VmHWM seen,
nginx: master + worker summed); memory per connection = (steady RSS - idle RSS) / connected.
A server whose check failed, that died, or that kept fewer than 99% of the clients connected
shows "n/a", never a number.

    report.py RESULTS_ENV OUT_MD [BENCH_RESULTS_MD]
"""
import json
import os
import statistics
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from report_common import (check_lines, fmt, fmt_ratio, load, machine_lines, provenance,  # noqa: E402
                           ratio, replace_section, write_report)

SERVERS = ("hoard", "nginx")


def mib(kib):
    return None if kib is None else kib / 1024


class Server:
    def __init__(self, res, name):
        self.name = name
        self.idle = json.loads(res["idle_" + name]) if res.get("idle_" + name) else None
        self.run = None
        path = res.get("run_" + name)
        if path and os.path.exists(path):
            with open(path) as f:
                self.run = json.load(f)
        self.ok = (res.get("check_" + name) == "1" and res.get("alive_" + name) == "1" and self.run is not None
                   and self.idle is not None and self.run["connected"] >= 0.99 * self.run["conns"])
        self.steady = []
        if self.run:
            start = self.run["all_up_s"] + 2
            self.steady = [s for s in self.run["samples"] if s["t"] >= start]

    def steady_median(self, key):
        if not self.ok or not self.steady:
            return None
        return statistics.median(s[key] for s in self.steady)

    def rss(self):
        return self.steady_median("rss_kib")

    def pss(self):
        return self.steady_median("pss_kib")

    def peak(self):
        if not self.ok:
            return None
        return max([s["hwm_kib"] for s in self.run["samples"]] + [self.run["after_close"]["hwm_kib"]])

    def idle_rss(self):
        return self.idle["rss_kib"] if self.ok else None

    def per_conn(self, key="rss_kib"):
        steady = self.steady_median(key)
        if steady is None:
            return None
        return (steady - self.idle[key]) / self.run["connected"]

    def fds(self):
        return self.steady_median("fds")


def table(res, S):
    h, n = S["hoard"], S["nginx"]
    rows = [
        ("idle RSS (after one GET, no clients)", fmt(mib(h.idle_rss()), 1) + " MiB", fmt(mib(n.idle_rss()), 1) + " MiB",
         fmt_ratio(ratio(h.idle_rss(), n.idle_rss()))),
        ("RSS with %s clients connected (median)" % res.get("conns"), fmt(mib(h.rss()), 1) + " MiB",
         fmt(mib(n.rss()), 1) + " MiB", fmt_ratio(ratio(h.rss(), n.rss()))),
        ("peak RSS (VmHWM)", fmt(mib(h.peak()), 1) + " MiB", fmt(mib(n.peak()), 1) + " MiB",
         fmt_ratio(ratio(h.peak(), n.peak()))),
        ("**memory per connection** ((RSS − idle) / clients)", fmt(h.per_conn(), 1) + " KiB",
         fmt(n.per_conn(), 1) + " KiB", fmt_ratio(ratio(h.per_conn(), n.per_conn()))),
        ("Pss with the clients connected (median)", fmt(mib(h.pss()), 1) + " MiB", fmt(mib(n.pss()), 1) + " MiB",
         fmt_ratio(ratio(h.pss(), n.pss()))),
        ("open file descriptors with the clients connected", fmt(h.fds()), fmt(n.fds()), ""),
    ]
    out = ["| | hoard | nginx | hoard / nginx |", "|---|---:|---:|---:|"]
    out += ["| %s | %s | %s | %s |" % r for r in rows]
    return out


def clients_lines(S):
    out = ["| server | connected | failed | body bytes read | per-client rate min / median / max | all connected after |",
           "|---|---:|---:|---:|---|---:|"]
    for s in SERVERS:
        r = S[s].run
        if r is None:
            out.append("| %s | n/a | n/a | n/a | n/a | n/a |" % s)
            continue
        out.append("| %s | %d / %d | %d%s | %s MiB | %s / %s / %s KiB/s | %.1f s |" % (
            s, r["connected"], r["conns"], r["failed"],
            (" (" + ", ".join("%s: %d" % kv for kv in r["failures"].items()) + ")") if r["failures"] else "",
            fmt(r["bytes"] / 2**20), fmt((r["rate_min"] or 0) / 1024, 1), fmt((r["rate_median"] or 0) / 1024, 1),
            fmt((r["rate_max"] or 0) / 1024, 1), r["all_up_s"]))
    return out


def samples_lines(S):
    out = ["| t (s) | hoard RSS (MiB) | hoard fds | nginx RSS (MiB) | nginx fds |", "|---:|---:|---:|---:|---:|"]
    hs = S["hoard"].run["samples"] if S["hoard"].run else []
    ns = S["nginx"].run["samples"] if S["nginx"].run else []
    for i in range(0, max(len(hs), len(ns)), 5):
        h = hs[i] if i < len(hs) else None
        n = ns[i] if i < len(ns) else None
        t = (h or n)["t"]
        out.append("| %.0f | %s | %s | %s | %s |" % (
            t, fmt(mib(h["rss_kib"]), 1) if h else "", h["fds"] if h else "",
            fmt(mib(n["rss_kib"]), 1) if n else "", n["fds"] if n else ""))
    return out


def report(res, S):
    quick = " (QUICK smoke run)" if res.get("quick") == "1" else ""
    L = [
        "# hoard benchmark: memory with 1,000 slow clients (issue 7)%s" % quick,
        "",
        provenance(res, "bench/slow_clients/run.sh") + ".",
        "",
        "%s concurrent clients (one Python asyncio process, `slowclients.py`) each download one cached "
        "%s MiB blob at ~%s KiB/s for %s s, from hoard (offline: every byte from its store; the blob committed "
        "with `hoard_bench_store_fill --commit`, the commit path of a fill) and then from nginx %s "
        "(sendfile, one worker, the same bytes in a file on the same disk). The clients connect over %s s; "
        "/proc is sampled every second (nginx: master + worker summed). Steady state: the samples from "
        "2 s after the last client connected to the end. TCP flow control holds each server back: "
        "what a client has not read waits in socket buffers (kernel memory, not in either RSS) and on disk."
        % (res.get("conns"), res.get("blob_mib"), int(res.get("rate", "0")) // 1024, res.get("secs"),
           res.get("nginx_version"), res.get("ramp")),
        "",
        "## Memory",
        "",
    ] + table(res, S) + [
        "",
        "## Clients",
        "",
    ] + clients_lines(S) + [
        "",
        "## RSS over time (every 5th sample)",
        "",
    ] + samples_lines(S) + [
        "",
    ] + machine_lines(res, "Python %s (clients), nginx %s; ulimit -n %s; hoard threads at the end: %s" % (
        res.get("python_version"), res.get("nginx_version"), res.get("nofile"), res.get("threads_hoard"))) + [
        "",
    ] + check_lines(res, ("check_", "alive_", "idle_")) 
    return "\n".join(L)


def summary(res, S):
    h, n = S["hoard"], S["nginx"]
    return "\n".join([
        "## Memory with %s slow clients (issue 7, bench/slow_clients)" % res.get("conns"),
        "",
        "`%s` on %s (commit %s; load average before %s, after %s): %s clients each reading one cached %s MiB blob "
        "at ~%s KiB/s for %s s, hoard vs nginx (sendfile, 1 worker). Details: "
        "[slow_clients/RESULTS.md](slow_clients/RESULTS.md)."
        % (res.get("cmdline"), res.get("date"), res.get("commit"), res.get("load_before"), res.get("load_after"),
           res.get("conns"), res.get("blob_mib"), int(res.get("rate", "0")) // 1024, res.get("secs")),
        "",
    ] + table(res, S) + [""])


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: report.py RESULTS_ENV OUT_MD [BENCH_RESULTS_MD]")
    res = load(sys.argv[1])
    S = {s: Server(res, s) for s in SERVERS}
    write_report(sys.argv[2], report(res, S))
    if len(sys.argv) == 4:
        replace_section(sys.argv[3], "slowclients", summary(res, S))


if __name__ == "__main__":
    main()
