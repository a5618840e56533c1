#!/usr/bin/env bash
# bench/run.sh [--quick] [--skip-hoard] [--no-build] [--keep] [--out FILE]
#
# One run, one machine, 127.0.0.1 only: hoard vs nginx (sendfile, the same bytes from disk) vs
# Debian's docker-registry in proxy mode, all three in front of one local upstream (a plain
# docker-registry holding a test image and big random blobs). Measures
#   1. warm 64 MiB blob GET throughput, c=4 (bench/blobget: 1 MiB reads, checks Content-Length)
#   2. warm manifest GET by tag req/s, c=50, containerd's Accept header (wrk)
#   3. warm manifest HEAD by tag req/s, c=50 (bench/reqload: wrk 4.1 cannot do HEAD)
#   4. cold GET of one 512 MiB blob: 1 client alone, then 8 clients at once on a fresh cache:
#      wall time, upstream GETs (from the upstream's access log), every body compared byte for byte
#      with the blob's file; then the same GETs again on the warm server (and on nginx): the floor
#   5. the same with a bandwidth-limited upstream: hoard and the distribution proxy reach the
#      upstream through bench/throttle.py (one shared 100 MiB/s link), the same 512 MiB blob size
#   6. hoard only (issue 3): p50/p99 of a warm tag resolve (HEAD by tag, c=10) with manifest_ttl 1s,
#      upstream up (TTL expires every second: HEAD revalidation) vs upstream stopped (served stale)
# and writes bench/RESULTS.md (figures, ratios vs nginx, machine, date, the command).
#
# Not a test: nothing here is registered with ctest. Every phase is time-bounded and every
# process this script starts is killed on exit (normal end, error or Ctrl-C).
#
#   --quick       ~1.5 minutes: 1 round of 2 s phases, no reqload GET cross-check, 128 MiB cold
#                 blob (64 MiB throttled), 1 cold trial; writes build-bench/RESULTS-quick.md
#   --skip-hoard  measure nginx and docker-registry only (harness work while hoard is broken)
#   --no-build    use the existing build-bench/hoard
#   --keep        keep the work directory (logs, stores, configs) for inspection
#   --out FILE    write the report there instead
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BENCH=bench
PY=/usr/bin/python3
# log, put, make_workdir, stop_pids, build_hoard, launch_hoard, wait_http, cpu_secs, rotated,
# wrk_figures, put_machine, ...; BUILD and HOARD (build-bench/hoard).
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$HERE/lib/common.sh"

CMDLINE="bench/run.sh${*:+ $*}"
QUICK=0 SKIP_HOARD=0 NO_BUILD=0 KEEP=0 OUT=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --skip-hoard) SKIP_HOARD=1 ;;
    --no-build) NO_BUILD=1 ;;
    --keep) KEEP=1 ;;
    --out) OUT="$2"; shift ;;
    *) echo "usage: bench/run.sh [--quick] [--skip-hoard] [--no-build] [--keep] [--out FILE]" >&2; exit 2 ;;
  esac
  shift
done

if [[ $QUICK == 1 ]]; then
  ROUNDS=1 BLOB_SECS=2 WRK_SECS=2 RL_GET_SECS=0 BIG_MIB=128 COLD_REPS=1 THR_MIB=64 STALE_SECS=2
  OUT=${OUT:-$ROOT/build-bench/RESULTS-quick.md}
else
  ROUNDS=3 BLOB_SECS=4 WRK_SECS=4 RL_GET_SECS=2 BIG_MIB=512 COLD_REPS=3 THR_MIB=512 STALE_SECS=5
  OUT=${OUT:-$ROOT/bench/RESULTS.md}
fi
WARM_MIB=64
BLOB_CONNS=4 WRK_CONNS=50 WRK_THREADS=2 COLD_CONNS=8
# Throttled cold phase: the upstream link's rate (all connections together), MiB/s. The blob is
# the issue's 512 MiB: the distribution proxy's 9 upstream fetches of it take ~46 s per trial.
THR_RATE_MIB=100
# Stale phase (issue 3): connections of the tag-resolve load, hoard's tag TTL there.
STALE_CONNS=10 STALE_TTL=1s
BLOBGET=$BUILD/bench/blobget
REQLOAD=$BUILD/bench/reqload
REPO=library/bench
TAG=1
# containerd 1.6's tag-resolution Accept list (shared/protocol-evidence/containerd-requests.txt).
ACCEPT='application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, */*'
UA='containerd/1.6.20~ds1'
MANIFEST_TYPE=application/vnd.docker.distribution.manifest.v2+json

require_tools /usr/sbin/nginx /usr/bin/docker-registry /usr/bin/wrk curl g++ cmake "$PY" sha256sum
make_workdir hoard-bench
note_load_before

# ---------------------------------------------------------------- build
mkdir -p "$BUILD/bench"
if [[ ! -x $BLOBGET || $ROOT/bench/blobget.cpp -nt $BLOBGET ]]; then
  log "building bench/blobget"
  g++ -std=c++20 -O2 -Wall -Wextra -o "$BLOBGET" "$ROOT/bench/blobget.cpp" -lcrypto -lpthread
fi
if [[ ! -x $REQLOAD || $ROOT/bench/reqload.cpp -nt $REQLOAD ]]; then
  log "building bench/reqload"
  g++ -std=c++20 -O2 -Wall -Wextra -o "$REQLOAD" "$ROOT/bench/reqload.cpp" -lpthread
fi

HOARD_OK=0 HOARD_NOTE=""
if [[ $SKIP_HOARD == 1 ]]; then
  HOARD_NOTE="skipped (--skip-hoard)"
elif [[ $NO_BUILD == 0 ]]; then
  if build_hoard build.log "continuing without hoard"; then HOARD_OK=1; else HOARD_NOTE="build failed"; fi
elif [[ -x $HOARD ]]; then
  HOARD_OK=1
else
  HOARD_NOTE="no binary at build-bench/hoard"
fi

# ---------------------------------------------------------------- upstream + content
log "creating test content (${WARM_MIB} MiB + ${BIG_MIB} MiB random blobs)"
C=$WORK/content
mkdir -p "$C/rootfs/etc"
echo "hoard bench $(date -u +%FT%TZ)" >"$C/rootfs/etc/motd"
tar -C "$C/rootfs" -czf "$C/small.tar.gz" .
head -c $((WARM_MIB << 20)) /dev/urandom >"$C/warm.bin"
head -c $((BIG_MIB << 20)) /dev/urandom >"$C/big.bin"
# The throttled cold phase's blob: in the upstream repository, not in the image's manifest
# (registries serve any blob of the repository by digest; so do both proxies).
head -c $((THR_MIB << 20)) /dev/urandom >"$C/thr.bin"
sha() { sha256sum "$1" | cut -d' ' -f1; }
SMALL_HEX=$(sha "$C/small.tar.gz") WARM_HEX=$(sha "$C/warm.bin") BIG_HEX=$(sha "$C/big.bin") THR_HEX=$(sha "$C/thr.bin")
SMALL_DIFF=$(gzip -dc "$C/small.tar.gz" | sha256sum | cut -d' ' -f1)
cat >"$C/config.json" <<EOF
{"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:$SMALL_DIFF","sha256:$WARM_HEX","sha256:$BIG_HEX"]}}
EOF
CONFIG_HEX=$(sha "$C/config.json")
size() { stat -c %s "$1"; }
cat >"$C/manifest.json" <<EOF
{
   "schemaVersion": 2,
   "mediaType": "$MANIFEST_TYPE",
   "config": {
      "mediaType": "application/vnd.docker.container.image.v1+json",
      "size": $(size "$C/config.json"),
      "digest": "sha256:$CONFIG_HEX"
   },
   "layers": [
      {
         "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
         "size": $(size "$C/small.tar.gz"),
         "digest": "sha256:$SMALL_HEX"
      },
      {
         "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
         "size": $(size "$C/warm.bin"),
         "digest": "sha256:$WARM_HEX"
      },
      {
         "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
         "size": $(size "$C/big.bin"),
         "digest": "sha256:$BIG_HEX"
      }
   ]
}
EOF
MANIFEST_HEX=$(sha "$C/manifest.json")
MANIFEST_LEN=$(size "$C/manifest.json")

registry_conf() {  # registry_conf FILE PORT ROOTDIR ACCESSLOG(true|false) [REMOTEURL]
  cat >"$1" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: $([[ $4 == true ]] && echo false || echo true)
storage:
  filesystem:
    rootdirectory: $3
  cache:
    blobdescriptor: inmemory
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$2
  secret: hoard-bench
EOF
  if [[ -n ${5:-} ]]; then printf 'proxy:\n  remoteurl: %s\n' "$5" >>"$1"; fi
}

UP_PORT=$(free_port)
UP_LOG=$WORK/upstream.log
: >"$UP_LOG"
registry_conf "$WORK/upstream.yml" "$UP_PORT" "$WORK/upstream-store" true
UP=http://127.0.0.1:$UP_PORT
start_upstream() {  # (re)start the upstream registry on its port; its log is appended to
  /usr/bin/docker-registry serve "$WORK/upstream.yml" >>"$UP_LOG" 2>&1 &
  UP_PID=$!
  PIDS+=("$UP_PID")
  wait_http "$UP/v2/" upstream "$UP_PID"
}
start_upstream

push_blob() {  # push_blob FILE HEX: monolithic upload (POST, then PUT with the bytes)
  local loc
  loc=$(curl -sS -f -X POST -D - -o /dev/null "$UP/v2/$REPO/blobs/uploads/" |
    awk 'tolower($1) == "location:" { print $2 }' | tr -d '\r')
  [[ $loc == /* ]] && loc=$UP$loc
  [[ $loc == *\?* ]] && loc="$loc&digest=sha256:$2" || loc="$loc?digest=sha256:$2"
  curl -sS -f -o /dev/null -X PUT -H 'Content-Type: application/octet-stream' -T "$1" "$loc"
}
log "pushing image $REPO:$TAG to the upstream (127.0.0.1:$UP_PORT)"
push_blob "$C/small.tar.gz" "$SMALL_HEX"
push_blob "$C/config.json" "$CONFIG_HEX"
push_blob "$C/warm.bin" "$WARM_HEX"
push_blob "$C/big.bin" "$BIG_HEX"
push_blob "$C/thr.bin" "$THR_HEX"
got=$(curl -sS -f -X PUT -H "Content-Type: $MANIFEST_TYPE" --data-binary @"$C/manifest.json" -D - -o /dev/null \
  "$UP/v2/$REPO/manifests/$TAG" | awk 'tolower($1) == "docker-content-digest:" { print $2 }' | tr -d '\r')
[[ $got == "sha256:$MANIFEST_HEX" ]] || { log "upstream manifest digest $got != sha256:$MANIFEST_HEX"; exit 1; }

MPATH=/v2/$REPO/manifests/$TAG
WARM_PATH=/v2/$REPO/blobs/sha256:$WARM_HEX
BIG_PATH=/v2/$REPO/blobs/sha256:$BIG_HEX
THR_PATH=/v2/$REPO/blobs/sha256:$THR_HEX

# The bandwidth-limited way to the same upstream (phase 5).
THR_READY=$WORK/throttle.ready
"$PY" "$ROOT/bench/throttle.py" --upstream "127.0.0.1:$UP_PORT" --rate-mib "$THR_RATE_MIB" \
  --ready-file "$THR_READY" >"$WORK/throttle.log" 2>&1 &
THR_PID=$!
PIDS+=("$THR_PID")
for _ in $(seq 150); do [[ -s $THR_READY ]] && break; sleep 0.1; done
[[ -s $THR_READY ]] || { log "bench/throttle.py did not start: $(cat "$WORK/throttle.log")"; exit 1; }
UP_THR=http://$(tr -d '\n' <"$THR_READY")

# ---------------------------------------------------------------- the servers under test
declare -A PORT PID STATUS   # keyed by server: hoard nginx registry

start_nginx() {
  local d=$WORK/nginx port port_rw
  port=$(free_port)
  port_rw=$(free_port)
  mkdir -p "$d/tmp" "$d/root/v2/$REPO/blobs" "$d/root/v2/$REPO/manifests"
  # Hard links: nginx reads the very file the upstream was fed, through the same page cache.
  ln "$C/warm.bin" "$d/root$WARM_PATH"
  ln "$C/big.bin" "$d/root$BIG_PATH"
  cp "$C/manifest.json" "$d/root$MPATH"
  cat >"$d/nginx.conf" <<EOF
$([[ $(id -u) == 0 ]] && echo 'user root;')
worker_processes 2;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_requests 100000;
  keepalive_timeout 65;
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
    # The same manifest bytes as a static file, with the headers a registry sends.
    location ~ ^/v2/.+/manifests/[^/]+\$ {
      default_type $MANIFEST_TYPE;
      add_header Docker-Content-Digest sha256:$MANIFEST_HEX;
      add_header Docker-Distribution-API-Version registry/2.0;
    }
    location /v2/ {
      add_header Docker-Distribution-API-Version registry/2.0;
    }
  }
  # Reference only (warm blob phase): on loopback, sendfile'd pages cost the receiving side more
  # than written buffers, so nginx with plain read/write can be faster than with sendfile.
  server {
    listen 127.0.0.1:$port_rw;
    root $d/root;
    sendfile off;
    output_buffers 2 1m;
    location ~ ^/v2/.+/manifests/[^/]+\$ {
      default_type $MANIFEST_TYPE;
      add_header Docker-Content-Digest sha256:$MANIFEST_HEX;
      add_header Docker-Distribution-API-Version registry/2.0;
    }
    location /v2/ {
      add_header Docker-Distribution-API-Version registry/2.0;
    }
  }
}
EOF
  /usr/sbin/nginx -c "$d/nginx.conf" -p "$d" -g 'daemon off;' >"$d/stdout.log" 2>&1 &
  PID[nginx]=$!
  PIDS+=("${PID[nginx]}")
  PORT[nginx]=$port
  PID[nginxrw]=${PID[nginx]}
  PORT[nginxrw]=$port_rw
  wait_http "http://127.0.0.1:$port$MPATH" nginx "${PID[nginx]}"
}

start_registry_proxy() {  # start_registry_proxy DIRNAME [UPSTREAM_URL]
  local d=$WORK/$1 port
  port=$(free_port)
  mkdir -p "$d"
  registry_conf "$d/config.yml" "$port" "$d/store" false "${2:-$UP}"
  /usr/bin/docker-registry serve "$d/config.yml" >"$d/log" 2>&1 &
  PID[registry]=$!
  PIDS+=("${PID[registry]}")
  PORT[registry]=$port
  wait_http "http://127.0.0.1:$port/v2/" docker-registry-proxy "${PID[registry]}"
}

start_hoard() {  # start_hoard DIRNAME [UPSTREAM_URL [MANIFEST_TTL [EXTRA_UPSTREAM_YAML]]]
  local d=$WORK/$1
  # Port 0: hoard picks a free port and writes where it listens to the ready file.
  mkdir -p "$d/store"
  cat >"$d/hoard.yml" <<EOF
listen: 127.0.0.1:0
store: { path: $d/store }
log: { access: "" }
upstreams:
  - name: dockerhub
    kind: oci
    url: ${2:-$UP}
    registries: [docker.io]
    prefix: dockerhub
    default: true
    manifest_ttl: ${3:-5m}
${4:-}
EOF
  launch_hoard "$d" || return 1
  PID[hoard]=$HOARD_PID
  PORT[hoard]=${HOARD_ADDR##*:}
  wait_http "http://127.0.0.1:${PORT[hoard]}/v2/" hoard "${PID[hoard]}"
}

SERVERS=()
if [[ $HOARD_OK == 1 ]]; then
  if start_hoard hoard-warm; then SERVERS+=(hoard); else HOARD_OK=0 HOARD_NOTE="did not start (see log)"; fi
fi
start_nginx
SERVERS+=(nginx)
start_registry_proxy registry-warm
SERVERS+=(registry)

# Check one server's answers before timing it: a fast wrong answer must not become a figure.
# Also warms its cache (tag, manifest and the 64 MiB blob).
check_server() {
  local s=$1 base=http://127.0.0.1:${PORT[$1]} hdr=$WORK/$1.hdr body=$WORK/$1.body ok=1 v
  : >"$hdr"
  : >"$body"
  curl -sS --max-time 30 -H "Accept: $ACCEPT" -A "$UA" -D "$hdr" -o "$body" "$base$MPATH" || true
  v=$(awk 'NR==1 {print $2}' "$hdr" 2>/dev/null)
  [[ $v == 200 ]] || { log "$s: GET manifest by tag: status '$v'"; ok=0; }
  [[ $(sha "$body") == "$MANIFEST_HEX" ]] || { log "$s: GET manifest by tag: body differs from the upstream's bytes"; ok=0; }
  v=$(awk 'tolower($1) == "content-type:" { print $2 }' "$hdr" | tr -d '\r')
  [[ $v == "$MANIFEST_TYPE" ]] || { log "$s: GET manifest: Content-Type '$v'"; ok=0; }
  : >"$hdr"
  curl -sS --max-time 30 -I -H "Accept: $ACCEPT" -A "$UA" -D "$hdr" -o /dev/null "$base$MPATH" || true
  v=$(awk 'NR==1 {print $2}' "$hdr" 2>/dev/null)
  [[ $v == 200 ]] || { log "$s: HEAD manifest by tag: status '$v'"; ok=0; }
  v=$(awk 'tolower($1) == "docker-content-digest:" { print $2 }' "$hdr" | tr -d '\r')
  [[ $v == "sha256:$MANIFEST_HEX" ]] || { log "$s: HEAD manifest: Docker-Content-Digest '$v'"; ok=0; }
  v=$(awk 'tolower($1) == "content-length:" { print $2 }' "$hdr" | tr -d '\r')
  [[ $v == "$MANIFEST_LEN" ]] || { log "$s: HEAD manifest: Content-Length '$v' (want $MANIFEST_LEN)"; ok=0; }
  if ! timeout 120 "$BLOBGET" -p "${PORT[$s]}" -u "$WARM_PATH" -c 1 --once --sha256 "$WARM_HEX" \
    -l $((WARM_MIB << 20)) >"$WORK/$s.warm" 2>&1; then
    log "$s: GET 64 MiB blob failed: $(cat "$WORK/$s.warm")"
    ok=0
  fi
  STATUS[$s]=$ok
  put "check_$s" "$ok"
}

for s in "${SERVERS[@]}"; do
  log "checking and warming $s (port ${PORT[$s]})"
  check_server "$s"
done
# nginxrw: the same nginx, sendfile off; measured in the warm blob phase only, for reference.
BLOB_SERVERS=("${SERVERS[@]}" nginxrw)
check_server nginxrw

# ---------------------------------------------------------------- 1-3. warm phases
# The machine may be shared, so each warm measurement runs in ROUNDS short rounds with the
# servers interleaved (and their order rotated per round); the report takes the median round.
# Each round's line carries server_cpu_s: the server's own CPU time during that round.
cat >"$WORK/get.lua" <<EOF
wrk.method = "GET"
wrk.headers["Accept"] = "$ACCEPT"
wrk.headers["User-Agent"] = "$UA"
EOF
run_blob() {  # run_blob SERVER ROUND
  local s=$1 r=$2 cpu0 line
  cpu0=$(cpu_secs "${PID[$s]}")
  line=$(timeout $((BLOB_SECS + 60)) "$BLOBGET" -p "${PORT[$s]}" -u "$WARM_PATH" -c "$BLOB_CONNS" -d "$BLOB_SECS" \
    -l $((WARM_MIB << 20)) 2>"$WORK/$s.blob$r.err" || true)
  line="${line:-errors=no-output} server_cpu_s=$(cpu_delta "$cpu0" "$(cpu_secs "${PID[$s]}")")"
  log "  warm blob  $s: $line"
  put "blob_r${r}_$s" "$line"
  [[ -s $WORK/$s.blob$r.err ]] && put "blob_err_r${r}_$s" "$(head -c 300 "$WORK/$s.blob$r.err" | tr '\n' ' ')"
  return 0
}

# wrk for manifest GET by tag (what the issue names).
run_wrk() {  # run_wrk SERVER ROUND
  local s=$1 r=$2 out=$WORK/$1.get$2.wrk cpu0 line
  cpu0=$(cpu_secs "${PID[$s]}")
  timeout $((WRK_SECS + 30)) /usr/bin/wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${WRK_SECS}s" --timeout 10s --latency \
    -s "$WORK/get.lua" "http://127.0.0.1:${PORT[$s]}$MPATH" >"$out" 2>&1 || true
  line="$(wrk_figures "$out") server_cpu_s=$(cpu_delta "$cpu0" "$(cpu_secs "${PID[$s]}")")"
  log "  wrk GET    $s: $line"
  put "get_r${r}_$s" "$line"
}

# wrk 4.1 cannot do HEAD (after a HEAD answer it waits for Content-Length body bytes that never
# come), so HEAD is measured with bench/reqload; reqload also runs GET to cross-check against wrk.
run_reqload() {  # run_reqload SERVER ROUND METHOD SECONDS
  local s=$1 r=$2 m=$3 k cpu0 line
  k=rl$(tr 'A-Z' 'a-z' <<<"$m")
  cpu0=$(cpu_secs "${PID[$s]}")
  line=$(timeout $(($4 + 30)) "$REQLOAD" -p "${PORT[$s]}" -u "$MPATH" -m "$m" -c "$WRK_CONNS" -t "$WRK_THREADS" \
    -d "$4" -h "Accept: $ACCEPT" -h "User-Agent: $UA" -l "$MANIFEST_LEN" 2>&1 || true)
  line="${line:-errors=no-output} server_cpu_s=$(cpu_delta "$cpu0" "$(cpu_secs "${PID[$s]}")")"
  log "  reqload $m $s: $line"
  put "${k}_r${r}_$s" "$line"
}

for ((r = 1; r <= ROUNDS; r++)); do
  log "warm blob round $r/$ROUNDS: c=$BLOB_CONNS, ${BLOB_SECS}s per server"
  for s in $(rotated "$r" "${BLOB_SERVERS[@]}"); do run_blob "$s" "$r"; done
done
for ((r = 1; r <= ROUNDS; r++)); do
  log "manifest GET by tag (wrk) round $r/$ROUNDS: c=$WRK_CONNS, ${WRK_SECS}s per server"
  for s in $(rotated "$r" "${SERVERS[@]}"); do run_wrk "$s" "$r"; done
done
for ((r = 1; r <= ROUNDS; r++)); do
  log "manifest HEAD by tag (reqload) round $r/$ROUNDS: c=$WRK_CONNS, ${WRK_SECS}s per server"
  for s in $(rotated "$r" "${SERVERS[@]}"); do run_reqload "$s" "$r" HEAD "$WRK_SECS"; done
done
# Phase 6's reference: the same c=10 tag-resolve load on the warm hoard (tag TTL 5m: pure hits).
run_rl10() {  # run_rl10 SERVER ROUND
  local s=$1 r=$2 line
  line=$(timeout $((STALE_SECS + 30)) "$REQLOAD" -p "${PORT[$s]}" -u "$MPATH" -m HEAD -c "$STALE_CONNS" -t 2 \
    -d "$STALE_SECS" -h "Accept: $ACCEPT" -h "User-Agent: $UA" -l "$MANIFEST_LEN" 2>&1 || true)
  log "  reqload HEAD c=$STALE_CONNS $s (TTL 5m, fresh): $line"
  put "rl10_r${r}_$s" "${line:-errors=no-output}"
}
for ((r = 1; r <= ROUNDS && RL_GET_SECS > 0; r++)); do
  log "manifest GET by tag (reqload cross-check) round $r/$ROUNDS: ${RL_GET_SECS}s per server"
  for s in $(rotated "$r" "${SERVERS[@]}"); do run_reqload "$s" "$r" GET "$RL_GET_SECS"; done
done

if [[ $HOARD_OK == 1 ]]; then
  for ((r = 1; r <= ROUNDS; r++)); do run_rl10 hoard "$r"; done
fi
for s in "${SERVERS[@]}"; do
  put "rss_warm_$s" "$(peak_rss_mib "${PID[$s]}")"
  if kill -0 "${PID[$s]}" 2>/dev/null; then put "alive_$s" 1; else put "alive_$s" 0; log "$s EXITED during the warm phases"; fi
done

# ---------------------------------------------------------------- 4. cold big blob
# Each trial gets a fresh, empty cache (a new process on a new store), so "cold" means the cache,
# not the process: GET /v2/ and the manifest first (thread pools, upstream connection), then the
# blob. Upstream GETs are counted in the upstream docker-registry's access log, which writes a
# line when a request *ends*: a proxy may still be fetching after its clients are done (the
# distribution proxy does), so the trial's server is stopped and the log left to go quiet before
# counting; a fetch cut short by the stop still counts (it was a GET). up_bytes sums their bodies.
upstream_lines() {  # upstream_lines FROM_LINE [TO_LINE]: the upstream log after FROM_LINE (up to TO_LINE)
  if [[ -z ${2:-} ]]; then tail -n +"$(($1 + 1))" "$UP_LOG"
  elif (($2 > $1)); then sed -n "$(($1 + 1)),$2p" "$UP_LOG"; fi
}
count_upstream() {  # count_upstream FROM_LINE METHOD HEX [TO_LINE]
  upstream_lines "$1" "${4:-}" | grep -c "\"$2 /v2/$REPO/blobs/sha256:$3" || true
}
upstream_bytes() {  # upstream_bytes FROM_LINE HEX [TO_LINE]: body bytes of those GETs
  upstream_lines "$1" "${3:-}" | grep "\"GET /v2/$REPO/blobs/sha256:$2" |
    awk '{ for (i = 1; i < NF; i++) if ($i ~ /HTTP\/1\.[01]"$/) { t += $(i + 2); break } } END { printf "%.0f\n", t }'
}
wait_log_quiet() {  # until the upstream log has not grown for 1 s (at most 20 s)
  local prev=-1 cur
  for _ in $(seq 40); do
    cur=$(wc -l <"$UP_LOG")
    [[ $cur == "$prev" ]] && return 0
    prev=$cur
    sleep 1
  done
}
# warm_once SERVER CONNS REP PATH FILE MIB: CONNS clients at once GET a blob the server already
# holds (blobget --once, bodies compared with FILE); result key warm<CONNS>_r<REP>_<SERVER>.
warm_once() {
  local s=$1 n=$2 rep=$3 cpu0 line
  cpu0=$(cpu_secs "${PID[$s]}")
  line=$(timeout 300 "$BLOBGET" -p "${PORT[$s]}" -u "$4" -c "$n" --once --expect "$5" \
    -l $(($6 << 20)) 2>>"$WORK/warm-once.err" || true)
  line="${line:-mode=once errors=no-output} server_cpu_s=$(cpu_delta "$cpu0" "$(cpu_secs "${PID[$s]}")")"
  log "  warm $s x$n #$rep: $line"
  put "warm${n}_r${rep}_$s" "$line"
}
cold_trial() {  # cold_trial SERVER CONNS REP [t]: "t" = through the throttled link, THR blob
  local s=$1 n=$2 rep=$3 t=${4:-} dir from line cpu0 base stats url=$UP path=$BIG_PATH hex=$BIG_HEX mib=$BIG_MIB
  local file=$C/big.bin
  if [[ $t == t ]]; then url=$UP_THR path=$THR_PATH hex=$THR_HEX mib=$THR_MIB file=$C/thr.bin; fi
  dir=$s-cold$t$n-r$rep
  rm -rf "$WORK/$s-cold"*/store  # earlier trials' caches: keep disk and page cache small, keep logs
  if [[ $s == hoard ]]; then
    start_hoard "$dir" "$url" || { put "cold$t${n}_r${rep}_$s" "mode=once errors=start-failed"; return 0; }
  else
    start_registry_proxy "$dir" "$url"
  fi
  base=http://127.0.0.1:${PORT[$s]}
  curl -s -o /dev/null --max-time 10 "$base/v2/" || true
  curl -s -o /dev/null --max-time 10 -H "Accept: $ACCEPT" "$base$MPATH" || true
  wait_log_quiet
  from=$(wc -l <"$UP_LOG")
  cpu0=$(cpu_secs "${PID[$s]}")
  line=$(timeout 300 "$BLOBGET" -p "${PORT[$s]}" -u "$path" -c "$n" --once --expect "$file" \
    -l $((mib << 20)) 2>"$WORK/$dir.err" || true)
  sleep 0.5
  stats="server_cpu_s=$(cpu_delta "$cpu0" "$(cpu_secs "${PID[$s]}")") server_rss_mib=$(peak_rss_mib "${PID[$s]}")"
  # The same GETs again, now that the server holds the blob: what delivering these bytes to these
  # clients costs on this machine with no upstream in the way (the floor of the cold figure). Once
  # the upstream log is quiet (a proxy may still be fetching for the cold GETs), so the cold GETs
  # are counted up to `mid` and whatever the warm ones cause upstream after it.
  local mid=""
  if [[ -z $t ]]; then
    wait_log_quiet
    mid=$(wc -l <"$UP_LOG")
    warm_once "$s" "$n" "$rep" "$path" "$file" "$mib"
  fi
  stop_pids "${PID[$s]}"
  wait_log_quiet
  if [[ -n $mid ]]; then
    put "warm${n}_up_r${rep}_$s" "up_get=$(count_upstream "$mid" GET "$hex") up_head=$(count_upstream "$mid" HEAD "$hex")"
  fi
  line="${line:-mode=once errors=no-output} up_get=$(count_upstream "$from" GET "$hex" "$mid") up_head=$(count_upstream "$from" HEAD "$hex" "$mid")"
  line+=" up_bytes=$(upstream_bytes "$from" "$hex" "$mid") $stats"
  log "  cold$t $s x$n #$rep: $line"
  put "cold$t${n}_r${rep}_$s" "$line"
  [[ -s $WORK/$dir.err ]] && put "cold${t}_err_${n}_r${rep}_$s" "$(sort "$WORK/$dir.err" | uniq -c | head -c 400 | tr '\n' ' ')"
  return 0
}
for s in "${SERVERS[@]}"; do
  [[ $s == nginx ]] || stop_pids "${PID[$s]}"  # the warm instances are done
done
for ((rep = 1; rep <= COLD_REPS; rep++)); do
  log "cold ${BIG_MIB} MiB blob, trial $rep/$COLD_REPS: 1 client alone, then $COLD_CONNS at once, fresh cache each"
  for s in "${SERVERS[@]}"; do
    if [[ $s == nginx ]]; then  # nothing to fill: its warm figures are the delivery floor
      warm_once nginx 1 "$rep" "$BIG_PATH" "$C/big.bin" "$BIG_MIB"
      warm_once nginx "$COLD_CONNS" "$rep" "$BIG_PATH" "$C/big.bin" "$BIG_MIB"
      continue
    fi
    cold_trial "$s" 1 "$rep"
    cold_trial "$s" "$COLD_CONNS" "$rep"
  done
  log "cold ${THR_MIB} MiB blob through a ${THR_RATE_MIB} MiB/s upstream link, trial $rep/$COLD_REPS"
  for s in "${SERVERS[@]}"; do
    [[ $s == nginx ]] && continue
    cold_trial "$s" 1 "$rep" t
    cold_trial "$s" "$COLD_CONNS" "$rep" t
  done
done
stop_pids "$THR_PID"

# ---------------------------------------------------------------- 6. stale path (issue 3)
# hoard with manifest_ttl 1s, max_stale 7d, breaker { failures: 3, cooldown: 30s }, straight to the
# upstream. Per round: a fresh hoard, the tag warmed, then
#   up:    upstream running, TTL expired: HEAD-by-tag load for STALE_SECS; the tag expires every
#          second, so this includes hoard's upstream HEAD revalidations (counted from the log);
#   stale: the upstream registry stopped (its port refuses), TTL expired: the same load; hoard
#          serves the cached tag stale; after 3 failed revalidations its breaker opens (30 s), so
#          later requests do not try the upstream at all.
# The upstream is restarted for the next round. hoard's /-/metrics is read around each load.
metrics_delta() {  # metrics_delta BEFORE AFTER: "name{labels}=delta" for the series that moved
  "$PY" - "$1" "$2" <<'PYEOF'
import sys
def load(p):
    out = {}
    for line in open(p):
        if line.startswith("#") or " " not in line:
            continue
        k, v = line.rsplit(" ", 1)
        try:
            out[k] = out.get(k, 0) + float(v)
        except ValueError:
            pass
    return out
a, b = load(sys.argv[1]), load(sys.argv[2])
keep = ("hoard_cache_requests_total", "hoard_revalidations_total", "hoard_stale_served_total",
        "hoard_upstream_requests_total", "hoard_upstream_errors_total", "hoard_breaker_opened_total",
        "hoard_upstream_rejected_total", "hoard_manifest_fetch_coalesced_total")
moved = []
for k in sorted(b):
    d = b[k] - a.get(k, 0)
    if d and k.startswith(keep):
        name = k.replace("hoard_", "").replace("_total", "").replace('upstream="dockerhub"', "")
        name = name.replace("{}", "").replace(",}", "}").replace("{,", "{").replace('"', "")
        moved.append("%s=%d" % (name.replace(" ", ""), d))
print(";".join(moved) or "none")
PYEOF
}
stale_load() {  # stale_load ROUND PHASE: one HEAD-by-tag load on the stale-phase hoard
  local r=$1 ph=$2 d=$WORK/hoard-stale-r$1 from line
  curl -s --max-time 5 "http://127.0.0.1:${PORT[hoard]}/-/metrics" >"$d/m0" || true
  from=$(wc -l <"$UP_LOG")
  line=$(timeout $((STALE_SECS + 30)) "$REQLOAD" -p "${PORT[hoard]}" -u "$MPATH" -m HEAD -c "$STALE_CONNS" -t 2 \
    -d "$STALE_SECS" -h "Accept: $ACCEPT" -h "User-Agent: $UA" -l "$MANIFEST_LEN" 2>&1 || true)
  curl -s --max-time 5 "http://127.0.0.1:${PORT[hoard]}/-/metrics" >"$d/m1" || true
  line="${line:-errors=no-output} up_log_head=$(tail -n +"$((from + 1))" "$UP_LOG" | grep -c "\"HEAD $MPATH" || true)"
  line+=" up_log_get=$(tail -n +"$((from + 1))" "$UP_LOG" | grep -c "\"GET $MPATH" || true)"
  line+=" metrics=$(metrics_delta "$d/m0" "$d/m1")"
  log "  stale phase $ph: $line"
  put "stale_${ph}_r${r}_hoard" "$line"
}
if [[ $HOARD_OK == 1 ]]; then
  BREAKER_YAML='    max_stale: 7d
    breaker: { failures: 3, cooldown: 30s }'
  for ((r = 1; r <= ROUNDS; r++)); do
    log "stale path round $r/$ROUNDS: HEAD by tag, c=$STALE_CONNS, ${STALE_SECS}s, manifest_ttl $STALE_TTL; upstream up, then stopped"
    kill -0 "$UP_PID" 2>/dev/null || start_upstream
    if ! start_hoard "hoard-stale-r$r" "$UP" "$STALE_TTL" "$BREAKER_YAML"; then
      put "stale_up_r${r}_hoard" "errors=start-failed"
      continue
    fi
    # Warm the tag (and check it answers as it should), then let its TTL pass.
    v=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "Accept: $ACCEPT" -A "$UA" \
      "http://127.0.0.1:${PORT[hoard]}$MPATH" || true)
    [[ $v == 200 ]] || log "stale phase: warming GET by tag answered '$v'"
    put "stale_warm_r${r}_hoard" "$v"
    sleep 1.5
    stale_load "$r" up
    stop_pids "$UP_PID"
    sleep 1.5
    stale_load "$r" stale
    v=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "Accept: $ACCEPT" -A "$UA" \
      "http://127.0.0.1:${PORT[hoard]}$MPATH" || true)
    put "stale_get_r${r}_hoard" "$v"
    kill -0 "${PID[hoard]}" 2>/dev/null && put "stale_alive_r${r}_hoard" 1 || put "stale_alive_r${r}_hoard" 0
    stop_pids "${PID[hoard]}"
  done
fi

# ---------------------------------------------------------------- report
put_machine
put hoard_ok "$HOARD_OK"
put hoard_note "$HOARD_NOTE"
put quick "$QUICK"
put cmdline "$CMDLINE"
put nginx_version "$(/usr/sbin/nginx -v 2>&1 | sed 's/.*version: //')"
put registry_version "$(/usr/bin/docker-registry --version 2>&1 | awk '{print $NF}')"
put wrk_version "$(/usr/bin/wrk --version 2>&1 | head -1 | awk '{print $2}')"
put rounds "$ROUNDS"
put cold_reps "$COLD_REPS"
put blob_secs "$BLOB_SECS"
put wrk_secs "$WRK_SECS"
put rl_get_secs "$RL_GET_SECS"
put big_mib "$BIG_MIB"
put thr_mib "$THR_MIB"
put thr_rate_mib "$THR_RATE_MIB"
put stale_secs "$STALE_SECS"
put stale_conns "$STALE_CONNS"
put stale_ttl "$STALE_TTL"
put warm_mib "$WARM_MIB"
put manifest_len "$MANIFEST_LEN"

mkdir -p "$(dirname "$OUT")"
# The raw figures, kept next to the build so the report can be re-rendered (report.py ENV OUT).
cp "$RES" "$BUILD/bench/$(basename "$OUT" .md).env"
"$PY" "$ROOT/bench/report.py" "$RES" "$OUT"
log "wrote $OUT"
