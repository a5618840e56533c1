#!/usr/bin/python3
"""Many slow HTTP/1.1 clients downloading one URL at once, while the server's memory is sampled.

    slowclients.py --url URL --conns N --rate BYTES_PER_S --secs S --pid PID --out FILE.json
                   [--ramp S] [--expect-length N]

Opens N connections (spread over --ramp seconds), sends one GET on each and then reads the body
at about --rate bytes per second per connection (a read of rate/4 bytes every 0.25 s; asyncio's
stream buffer stays small, so TCP flow control holds the server back and the rest of the body
waits in the server's socket buffers and on its disk, as it would with real slow clients).
After --secs seconds from the first connection it closes them all and exits: bounded, nothing
to stop. Every second it samples PID and its child processes (nginx workers) from /proc:
VmRSS, VmHWM, Pss (smaps_rollup), open file descriptors, threads.

The JSON written has: connected (connections that got a "200" status line), failed (refused,
reset, another status, wrong Content-Length), bytes (body bytes read by all), per-connection
rates (min/median/max bytes/s over the connections that stayed up) and the samples.
Stdlib only.
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import urllib.parse


def proc_tree(pid):
    pids = [pid]
    try:
        for task in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, task)) as f:
                pids += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return pids


def status_kib(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kib(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def fd_count(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return 0


def sample(pid, t):
    pids = proc_tree(pid)
    return {
        "t": round(t, 2),
        "procs": len(pids),
        "rss_kib": sum(status_kib(p, "VmRSS") for p in pids),
        "hwm_kib": sum(status_kib(p, "VmHWM") for p in pids),
        "pss_kib": sum(pss_kib(p) for p in pids),
        "fds": sum(fd_count(p) for p in pids),
        "threads": sum(status_kib(p, "Threads") for p in pids),
    }


class Client:
    def __init__(self):
        self.status_ok = False
        self.failed = None
        self.bytes = 0
        self.t_first = None
        self.t_last = None
        self.t_up = None


async def one(c, host, port, path, rate, deadline, expect_length):
    tick = 0.25
    chunk = max(1, int(rate * tick))
    writer = None
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port, limit=chunk), 30)
        writer.write(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: hoard-bench-slowclients\r\n\r\n"
                      % (path, host, port)).encode())
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        lines = head.decode("latin-1").split("\r\n")
        if not lines[0].startswith("HTTP/1.1 200"):
            c.failed = "status: " + lines[0]
            return
        if expect_length is not None:
            length = [ln.split(":", 1)[1].strip() for ln in lines if ln.lower().startswith("content-length:")]
            if length != [str(expect_length)]:
                c.failed = "content-length %r" % length
                return
        c.status_ok = True
        c.t_first = time.monotonic()
        c.t_up = c.t_first
        nxt = c.t_first
        while True:
            now = time.monotonic()
            if now >= deadline:
                break
            data = await reader.read(chunk)
            if not data:
                c.failed = "eof after %d bytes" % c.bytes
                break
            c.bytes += len(data)
            c.t_last = time.monotonic()
            nxt += tick * len(data) / chunk
            if nxt > c.t_last:
                await asyncio.sleep(min(nxt, deadline) - c.t_last)
    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError) as e:
        c.failed = "%s: %s" % (type(e).__name__, e)
    finally:
        if writer is not None:
            writer.close()


async def sampler(pid, t0, deadline, out):
    while time.monotonic() < deadline:
        out.append(sample(pid, time.monotonic() - t0))
        await asyncio.sleep(1.0)


async def run(args):
    u = urllib.parse.urlsplit(args.url)
    path = u.path + ("?" + u.query if u.query else "")
    t0 = time.monotonic()
    deadline = t0 + args.secs
    clients = [Client() for _ in range(args.conns)]
    samples = []
    tasks = [asyncio.ensure_future(sampler(args.pid, t0, deadline, samples))]
    # In batches every 50 ms: one sleep per connection would stretch the ramp on a busy machine.
    batches = max(1, int(args.ramp / 0.05))
    per = -(-args.conns // batches)
    for i in range(0, args.conns, per):
        for c in clients[i:i + per]:
            tasks.append(asyncio.ensure_future(one(c, u.hostname, u.port, path, args.rate, deadline, args.expect_length)))
        await asyncio.sleep(0.05)
    await asyncio.gather(*tasks)
    # After the clients closed: what the server keeps (it should drop back).
    await asyncio.sleep(1.0)
    after = sample(args.pid, time.monotonic() - t0)
    ok = [c for c in clients if c.status_ok]
    lasted = [c for c in ok if c.failed is None and c.t_first and c.t_last and c.t_last > c.t_first]
    rates = sorted(c.bytes / (c.t_last - c.t_first) for c in lasted)
    failures = {}
    for c in clients:
        if c.failed:
            failures[c.failed.split(":")[0]] = failures.get(c.failed.split(":")[0], 0) + 1
    return {
        "conns": args.conns,
        "connected": len(ok),
        "failed": sum(1 for c in clients if c.failed),
        "failures": failures,
        "bytes": sum(c.bytes for c in clients),
        # When the last connection got its status line: the steady state starts after it.
        "all_up_s": round(max([c.t_up for c in ok], default=t0) - t0, 2),
        "rate_min": round(rates[0]) if rates else None,
        "rate_median": round(statistics.median(rates)) if rates else None,
        "rate_max": round(rates[-1]) if rates else None,
        "samples": samples,
        "after_close": after,
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--conns", type=int, default=1000)
    p.add_argument("--rate", type=int, default=64 * 1024)
    p.add_argument("--secs", type=float, default=45)
    p.add_argument("--ramp", type=float, default=3)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--expect-length", type=int)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    res = asyncio.run(run(args))
    with open(args.out, "w") as f:
        json.dump(res, f)
    s = res["samples"]
    peak = max(s, key=lambda x: x["rss_kib"]) if s else {}
    print("connected=%d/%d failed=%d bytes=%d rate_median=%s peak_rss_kib=%s" % (
        res["connected"], res["conns"], res["failed"], res["bytes"], res["rate_median"], peak.get("rss_kib")),
        file=sys.stderr)


if __name__ == "__main__":
    main()
