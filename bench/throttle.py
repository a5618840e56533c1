#!/usr/bin/python3
"""A bandwidth-limited link in front of the bench's upstream registry (bench/run.sh). Not a test.

    throttle.py --upstream 127.0.0.1:PORT --rate-mib 100 --ready-file FILE

A TCP forwarder (127.0.0.1, a free port written to --ready-file as 127.0.0.1:PORT): every accepted
connection gets its own connection to the upstream; bytes flow both ways unchanged, and the
upstream -> client direction of ALL connections together is paced to --rate-mib MiB/s, like one
site's link to Docker Hub or a CDN. The limit is shared on purpose: a proxy that opens nine upstream
fetches for one blob shares one link nine ways, as it would in reality (a per-connection limit
would let it multiply the link's capacity).

It is plain TCP, so HTTP semantics (keep-alive, HEAD, Range, chunked) pass through untouched and
upstream requests are still counted in the upstream registry's own access log. One thread per direction per connection (blocking sockets:
the GIL is released in recv/send, so it forwards far faster than the rates it is asked for).
Stdlib only.
"""

import argparse
import os
import socket
import sys
import threading
import time

CHUNK = 256 * 1024


class Link:
    """One shared pacing clock: a chunk of n bytes occupies n / rate seconds of the link."""

    def __init__(self, rate_bps):
        self.rate = rate_bps
        self.free_at = 0.0  # monotonic time at which the link is next idle
        self.lock = threading.Lock()

    def take(self, n):
        if not self.rate:
            return
        with self.lock:
            now = time.monotonic()
            # A link that was idle does not bank unlimited credit, but 20 ms of it absorbs the
            # oversleeping of time.sleep(), which would otherwise cost ~10% of the rate.
            start = max(now - 0.02, self.free_at)
            self.free_at = start + n / self.rate
            wait = self.free_at - now
        # Sleep until this chunk's slot on the link has passed (outside the lock: the other
        # connections queue their own slots meanwhile).
        if wait > 0.0005:
            time.sleep(wait)


def pump(src, dst, link):
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    try:
        while True:
            n = src.recv_into(buf)
            if n == 0:
                break
            if link is not None:
                link.take(n)
            dst.sendall(view[:n])
    except OSError:
        pass
    finally:
        # Pass the end on (a half-close), so the other direction can finish its answer.
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def serve(client, upstream, link):
    try:
        up = socket.create_connection(upstream)
    except OSError:
        client.close()
        return
    for s in (client, up):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    t = threading.Thread(target=pump, args=(client, up, None), daemon=True)
    t.start()
    pump(up, client, link)
    t.join()
    client.close()
    up.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--upstream", required=True, help="HOST:PORT")
    ap.add_argument("--rate-mib", type=float, required=True, help="MiB/s, all connections together; 0 = unlimited")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--ready-file")
    args = ap.parse_args()
    host, port = args.upstream.rsplit(":", 1)
    upstream = (host, int(port))
    link = Link(args.rate_mib * 1024 * 1024)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", args.port))
    ls.listen(256)
    port = ls.getsockname()[1]
    if args.ready_file:
        tmp = args.ready_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("127.0.0.1:%d\n" % port)
        os.replace(tmp, args.ready_file)
    print("throttle 127.0.0.1:%d -> %s at %g MiB/s" % (port, args.upstream, args.rate_mib), file=sys.stderr)
    while True:
        client, _ = ls.accept()
        threading.Thread(target=serve, args=(client, upstream, link), daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
