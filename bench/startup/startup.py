#!/usr/bin/python3
"""One timed start of `hoard serve`: launch, wait until ready, sample, stop.

    startup.py HOARD CONFIG READY_FILE

Starts `HOARD serve --config CONFIG --ready-file READY_FILE`, polls every 2 ms for the ready
file (hoard writes it once the store is open and the listener is bound) and then GETs /-/readyz
until it answers 200. Then reads hoard's VmRSS/VmHWM at that moment and 2 s later, and
hoard_store_bytes / hoard_store_objects from /metrics (proof that the index was read), sends
SIGTERM and waits for the exit. Prints one line of key=value pairs:
  ready_file_s readyz_s rss_ready_kib rss_settled_kib hwm_kib store_bytes store_objects exit
Gives up (and kills hoard) after 120 s. Stdlib only.
"""
import http.client
import os
import re
import signal
import subprocess
import sys
import time


def status_kib(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return "?"


def get(addr, path):
    host, port = addr.rsplit(":", 1)
    c = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def metric(text, name):
    m = re.search(r"^%s(?:\{[^}]*\})? (\S+)$" % re.escape(name), text, re.M)
    return m.group(1) if m else "?"


def main():
    hoard, config, ready = sys.argv[1:4]
    if os.path.exists(ready):
        os.unlink(ready)
    log = open(config + ".log", "ab")
    t0 = time.monotonic()
    p = subprocess.Popen([hoard, "serve", "--config", config, "--ready-file", ready], stdout=log, stderr=log)
    out = {}
    try:
        deadline = t0 + 120
        while not (os.path.exists(ready) and os.path.getsize(ready) > 0):
            if p.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("hoard exited or timed out before writing its ready file")
            time.sleep(0.002)
        out["ready_file_s"] = "%.3f" % (time.monotonic() - t0)
        with open(ready) as f:
            addr = f.read().strip()
        while True:
            try:
                if get(addr, "/-/readyz")[0] == 200:
                    break
            except OSError:
                pass
            if p.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("no 200 from /-/readyz")
            time.sleep(0.002)
        out["readyz_s"] = "%.3f" % (time.monotonic() - t0)
        out["rss_ready_kib"] = status_kib(p.pid, "VmRSS")
        time.sleep(2)
        out["rss_settled_kib"] = status_kib(p.pid, "VmRSS")
        out["hwm_kib"] = status_kib(p.pid, "VmHWM")
        text = get(addr, "/metrics")[1].decode()
        out["store_bytes"] = metric(text, "hoard_store_bytes")
        out["store_objects"] = metric(text, "hoard_store_objects")
    except Exception as e:  # noqa: BLE001 -- reported as the run's failure, hoard still stopped
        out["error"] = str(e).replace(" ", "_")
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        out["exit"] = p.returncode
    print(" ".join("%s=%s" % kv for kv in out.items()))


if __name__ == "__main__":
    main()
