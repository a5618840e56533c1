#!/usr/bin/env bash
# bench/slow_clients/run.sh [--quick] [--no-build] [--keep] [--conns N] [--secs S] [--out FILE]
#
# Issue 7's memory benchmark. One run, one machine, 127.0.0.1 only: hoard and nginx (sendfile,
# one worker) each serve one cached 64 MiB blob to N (default 1,000) concurrent slow clients
# (bench/slow_clients/slowclients.py: one asyncio process, each connection reading ~64 KiB/s),
# one server after the other, for S seconds each (default 45). The blob is committed into
# hoard's store with bench/startup's store_fill (the same commit a fill does); hoard runs
# offline, so every byte comes from its cache; nginx serves the same file from the same disk.
# While the clients read, /proc is sampled every second: VmRSS, VmHWM, Pss, open fds, threads
# (nginx: master + worker summed). Reports each server's idle RSS (after one warm GET), RSS with
# all clients connected (median of the steady-state samples), the peak (VmHWM), the memory per
# connection ((steady - idle) / connections) and the hoard/nginx ratios; writes
# bench/slow_clients/RESULTS.md and its section of bench/RESULTS.md (between
# <!-- slowclients:begin --> and <!-- slowclients:end -->; nothing else there is touched; the
# marker name has no underscore because bench/report.py carries over only [a-z]+ sections).
#
# Not a test: nothing here is registered with ctest. Bounded: the client stops by itself after
# S seconds; every process this script starts is killed on exit (normal end, error or Ctrl-C).
#
#   --quick     100 clients, 10 s each; writes build-bench/slow_clients-RESULTS-quick.md
#   --no-build  use the existing build-bench/hoard and build-bench/bench/startup/hoard_bench_store_fill
#   --keep      keep the work directory (logs, store, samples)
#   --conns N   concurrent clients (default 1000)
#   --secs S    seconds of reading per server (default 45)
#   --out FILE  write the report there instead (then no RESULTS.md is touched)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BENCH=bench/slow_clients
PY=/usr/bin/python3
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"

CMDLINE="bench/slow_clients/run.sh${*:+ $*}"
CONNS_OPT="" SECS_OPT=""
declare -A VALUE_OPTS=([--conns]=CONNS_OPT [--secs]=SECS_OPT)
parse_args "usage: bench/slow_clients/run.sh [--quick] [--no-build] [--keep] [--conns N] [--secs S] [--out FILE]" "$@"
pick_outputs slow_clients
if [[ $QUICK == 1 ]]; then CONNS=100 SECS=10; else CONNS=1000 SECS=45; fi
[[ -z $CONNS_OPT ]] || CONNS=$CONNS_OPT
[[ -z $SECS_OPT ]] || SECS=$SECS_OPT
[[ $CONNS =~ ^[1-9][0-9]*$ && $SECS =~ ^[1-9][0-9]*$ ]] || { echo "$BENCH: --conns and --secs want positive numbers" >&2; exit 2; }
BLOB_MIB=64
RATE=$((64 * 1024))   # bytes/s per client
RAMP=3                # seconds over which the clients connect
FILL=$BUILD/bench/startup/hoard_bench_store_fill
export PYTHONDONTWRITEBYTECODE=1  # run.sh imports slowclients.py: no caches in the source tree

require_tools /usr/sbin/nginx curl cmake sha256sum "$PY"
make_workdir hoard-slow-clients
note_load_before

# Each connection is a socket in the client and one in the server, plus the blob's file in the
# server while it is sent: ~3 descriptors per client in all.
NOFILE_NEED=$((CONNS * 3 + 200))
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [[ $(ulimit -n) != unlimited && $(ulimit -n) -lt $NOFILE_NEED ]]; then
  log "ulimit -n is $(ulimit -n), $CONNS clients need ~$NOFILE_NEED: raise the hard limit"
  exit 1
fi

# ---------------------------------------------------------------- build
if [[ $NO_BUILD == 0 ]]; then
  build_hoard slow_clients-build.log "see the log" hoard_bench_store_fill || exit 1
fi
[[ -x $HOARD && -x $FILL ]] || { log "no $HOARD or $FILL (run without --no-build)"; exit 1; }

# ---------------------------------------------------------------- content
log "creating a ${BLOB_MIB} MiB random blob and committing it into hoard's store"
mkdir -p "$WORK/hoard/store" "$WORK/nginx/root/blobs" "$WORK/nginx/tmp"
head -c $((BLOB_MIB << 20)) /dev/urandom >"$WORK/blob.bin"
HEX=$(sha256sum "$WORK/blob.bin" | cut -d' ' -f1)
DIGEST=$("$FILL" "$WORK/hoard/store" --commit "$WORK/blob.bin")
[[ $DIGEST == "sha256:$HEX" ]] || { log "store_fill committed $DIGEST, expected sha256:$HEX"; exit 1; }
# nginx gets its own copy on the same disk (a hard link would share hoard's page cache pages
# only by accident of the layout; a copy is what a separate server would have).
cp "$WORK/blob.bin" "$WORK/nginx/root/blobs/$HEX"
rm -f "$WORK/blob.bin"
BLOB_LEN=$((BLOB_MIB << 20))
BLOB_PATH=/v2/library/bench/blobs/$DIGEST

# ---------------------------------------------------------------- servers
start_hoard() {
  local d=$WORK/hoard
  # offline: every byte from the store, no upstream involved; the upstream is a closed port.
  cat >"$d/hoard.yml" <<EOC
listen: 127.0.0.1:0
max_connections: $((CONNS + 100))
idle_timeout: 5m
offline: true
store: { path: $d/store }
log: { access: "" }
upstreams:
  - name: hub
    kind: oci
    url: http://127.0.0.1:9
    registries: [docker.io]
    default: true
EOC
  launch_hoard "$d"
  SRV_PID=$HOARD_PID
  SRV_URL=http://$HOARD_ADDR$BLOB_PATH
}

start_nginx() {
  local d=$WORK/nginx port
  port=$(free_port)
  # One worker: one event loop, like hoard's. sendfile with nginx's default sendfile_max_chunk.
  cat >"$d/nginx.conf" <<EOC
$([[ $(id -u) == 0 ]] && echo 'user root;')
worker_processes 1;
worker_rlimit_nofile $((CONNS * 3 + 200));
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections $((CONNS + 100)); }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 65;
  send_timeout 5m;
  client_body_temp_path $d/tmp/body;
  proxy_temp_path $d/tmp/proxy;
  fastcgi_temp_path $d/tmp/fastcgi;
  uwsgi_temp_path $d/tmp/uwsgi;
  scgi_temp_path $d/tmp/scgi;
  types { }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$port;
    root $d/root;
    location ~ "^/v2/library/bench/blobs/sha256:([0-9a-f]{64})\$" { try_files /blobs/\$1 =404; }
  }
}
EOC
  /usr/sbin/nginx -c "$d/nginx.conf" -p "$d" -g 'daemon off;' >"$d/stdout.log" 2>&1 &
  SRV_PID=$!
  PIDS+=("$SRV_PID")
  SRV_URL=http://127.0.0.1:$port$BLOB_PATH
  wait_http "$SRV_URL" nginx "$SRV_PID"
}

# ---------------------------------------------------------------- one server
measure() {  # measure SERVER
  local s=$1 got idle
  log "== $s: starting"
  "start_$s"
  got=$(curl -s --max-time 30 "$SRV_URL" | sha256sum | cut -d' ' -f1)
  if [[ $got != "$HEX" ]]; then
    log "$s served wrong bytes for the blob (sha256 $got)"
    put "check_$s" 0
    stop_pids "$SRV_PID"
    return
  fi
  put "check_$s" 1
  sleep 1
  # Idle: after one complete GET (the blob's pages are in the page cache, the server has
  # allocated what a first request allocates), no client connected.
  idle=$("$PY" -c 'import sys; sys.path.insert(0, sys.argv[1]); import slowclients as s, json; print(json.dumps(s.sample(int(sys.argv[2]), 0)))' "$HERE" "$SRV_PID")
  put "idle_$s" "$idle"
  log "$s idle: $idle"
  log "$s: $CONNS clients at $((RATE / 1024)) KiB/s each for ${SECS}s"
  "$PY" "$HERE/slowclients.py" --url "$SRV_URL" --conns "$CONNS" --rate "$RATE" --secs "$SECS" --ramp "$RAMP" \
    --pid "$SRV_PID" --expect-length "$BLOB_LEN" --out "$WORK/$s.json" 2>"$WORK/$s.client.log" || true
  tail -1 "$WORK/$s.client.log" >&2 || true
  if [[ -s $WORK/$s.json ]]; then put "run_$s" "$WORK/$s.json"; fi
  if kill -0 "$SRV_PID" 2>/dev/null; then put "alive_$s" 1; else put "alive_$s" 0; log "$s EXITED during the run"; fi
  put "threads_$s" "$(awk '/^Threads/ {print $2}' /proc/"$SRV_PID"/status 2>/dev/null || echo '?')"
  stop_pids "$SRV_PID"
}

measure hoard
measure nginx

# ---------------------------------------------------------------- report
put_machine
put quick "$QUICK"
put cmdline "$CMDLINE"
put conns "$CONNS"
put secs "$SECS"
put rate "$RATE"
put ramp "$RAMP"
put blob_mib "$BLOB_MIB"
put nofile "$(ulimit -n)"
put nginx_version "$(/usr/sbin/nginx -v 2>&1 | sed 's/.*version: //')"
put python_version "$("$PY" --version 2>&1 | awk '{print $2}')"
mkdir -p "$(dirname "$OUT")"
"$PY" "$HERE/report.py" "$RES" "$OUT" ${SUMMARY:+"$SUMMARY"}
log "wrote $OUT${SUMMARY:+ and the slowclients section of ${SUMMARY#"$ROOT"/}}"
