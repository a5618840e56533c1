#!/usr/bin/env bash
# bench/go/run.sh [--quick] [--no-build] [--keep] [--reps N] [--out FILE]
#
# Issue 6's benchmark. One run, one machine, 127.0.0.1 only: hoard's Go front end (/go/) in front
# of the fixture GOPROXY and checksum database (tests/fixtures/go_fixture.py, run as it is, in its
# CLI mode). Measures the warm `go mod download all` wall time of the sample consumer module
# (tests/fixtures/goproxy/sample: 7 required modules, no go.sum, so all 7 are looked up in the
# checksum database), each time with a fresh module cache (new HOME/GOPATH/GOMODCACHE/GOCACHE and
# a fresh copy of the sample, all created before the clock starts; only the go command is timed):
#   (a) through hoard, hoard's cache warm: GOPROXY=<hoard>/go, GOSUMDB=<name>+<key> (no URL: the
#       go command finds the database at <hoard>/go/sumdb/<name>/, so hoard serves it too)
#   (b) straight from the fixture: GOPROXY=<fixture>, GOSUMDB="<name>+<key> <fixture database URL>"
# median of N interleaved runs, hoard ÷ direct, and the requests that reached the fixture during
# every warm hoard run (must be 0); plus the first download through hoard (hoard cold), once.
# Writes bench/go/RESULTS.md plus a summary between <!-- go:begin --> and <!-- go:end --> in
# bench/RESULTS.md (the rest of that file is left as it is).
#
# Not a test: nothing here is registered with ctest. Every phase is time-bounded and every
# process this script starts is killed on exit (normal end, error or Ctrl-C).
#
#   --quick     1 download per scenario; writes build-bench/go-RESULTS-quick.md and touches
#               neither RESULTS.md
#   --no-build  use the existing build-bench/hoard (a warning when sources are newer than it)
#   --keep      keep the work directory (logs, store, config, every client's home and go output)
#   --reps N    downloads per scenario (default 7; the report takes the median)
#   --out FILE  write the report there instead (bench/RESULTS.md is then left alone)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BENCH=bench/go
PY=/usr/bin/python3
# log, put, parse_args, pick_outputs, make_workdir, build_hoard, launch_hoard, wait_http, cpu_secs,
# rotated, put_machine, ...; BUILD and HOARD (build-bench/hoard).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"

CMDLINE="bench/go/run.sh${*:+ $*}"
REPS_OPT=""
declare -A VALUE_OPTS=([--reps]=REPS_OPT)
parse_args "usage: bench/go/run.sh [--quick] [--no-build] [--keep] [--reps N] [--out FILE]" "$@"

pick_outputs go  # OUT, and SUMMARY (bench/RESULTS.md) for a full run to the default place only
if [[ $QUICK == 1 ]]; then
  REPS=1
else
  REPS=7
fi
[[ -z $REPS_OPT ]] || REPS=$REPS_OPT
[[ $REPS =~ ^[1-9][0-9]*$ ]] || { echo "bench/go: --reps wants a positive number" >&2; exit 2; }
# Document freshness in hoard (.info, @v/list, the database's latest): long enough that nothing
# expires during the run, so "warm" is a pure cache hit; the fixture's request counter around
# every download shows it. (.mod, .zip, lookups and tiles are immutable anyway.)
DOC_TTL=30m
GO_TIMEOUT=300  # seconds, per go command
export PYTHONDONTWRITEBYTECODE=1  # the helpers import tests/fixtures/go_fixture.py: no caches in the tree
HELPER=$HERE/gobench.py
FIXTURE=$ROOT/tests/fixtures/go_fixture.py

require_tools go curl cmake "$PY" timeout
GO=$(command -v go)

make_workdir hoard-go-bench
note_load_before

# ---------------------------------------------------------------- build
if [[ $NO_BUILD == 0 ]]; then
  build_hoard go-build.log "nothing to measure" || exit 1
  put binary "built by this run"
elif [[ ! -x $HOARD ]]; then
  log "--no-build, but there is no binary at build-bench/hoard"
  exit 1
else
  # Sources (C++ and CMake files of the daemon's folders) changed after the binary was linked:
  # the figures may not be those of the working tree.
  newer=$(find "$ROOT/cache" "$ROOT/upstream" "$ROOT/conf" "$ROOT/daemon" "$ROOT/CMakeLists.txt" \
    \( -name '*.cpp' -o -name '*.h' -o -name 'CMakeLists.txt' \) -newer "$HOARD" 2>/dev/null | wc -l)
  linked=$(date -u -r "$HOARD" '+%Y-%m-%d %H:%M:%S UTC')
  if [[ $newer -gt 0 ]]; then
    log "WARNING: --no-build: $newer source file(s) are newer than build-bench/hoard"
    put binary "existing build-bench/hoard, linked $linked (--no-build; **$newer source file(s) newer than the binary**)"
  else
    put binary "existing build-bench/hoard, linked $linked (--no-build; no source file newer than the binary)"
  fi
fi

# ---------------------------------------------------------------- fixture upstream
# The fixture's CLI mode prints its GOPROXY URL, the database URL and the full GOSUMDB value, one
# a line. Its first start may compile the fixture server (cached in /tmp afterwards).
log "starting the fixture GOPROXY + checksum database (tests/fixtures/go_fixture.py)"
"$PY" "$FIXTURE" >"$WORK/fixture.out" 2>"$WORK/fixture.err" &
FIXTURE_PID=$!
PIDS+=("$FIXTURE_PID")
wait_until "$FIXTURE_PID" 3000 has_lines "$WORK/fixture.out" 3 || true  # up to 300 s
has_lines "$WORK/fixture.out" 3 || { log "the fixture did not start:"; tail -5 "$WORK/fixture.err" >&2; exit 1; }
FIX_URL=$(sed -n 1p "$WORK/fixture.out")      # http://127.0.0.1:P
FIX_SUMDB=$(sed -n 2p "$WORK/fixture.out")    # http://127.0.0.1:P/sumdb/sum.fixture.test
FIX_GOSUMDB=$(sed -n 3p "$WORK/fixture.out")  # "<name>+<hash>+<key> <database URL>"
FIX_GOSUMDB_KEY=${FIX_GOSUMDB%% *}            # "<name>+<hash>+<key>"
SUMDB_NAME=${FIX_GOSUMDB_KEY%%+*}
[[ $FIX_SUMDB == "$FIX_URL/sumdb/$SUMDB_NAME" && $FIX_GOSUMDB == "$FIX_GOSUMDB_KEY $FIX_SUMDB" ]] ||
  { log "unexpected fixture start-up lines:"; cat "$WORK/fixture.out" >&2; exit 1; }
wait_http "$FIX_URL/-/fixture/counts" fixture "$FIXTURE_PID"
fixture_kinds() {  # the fixture's counts by kind, as kind:n,kind:n
  curl -s --max-time 5 "$FIX_URL/-/fixture/counts" | "$PY" -c 'import json,sys; print(",".join("%s:%d" % kv for kv in sorted(json.load(sys.stdin).items())) or "-")' 2>/dev/null || echo "?"
}

# ---------------------------------------------------------------- hoard
HD=$WORK/hoard
mkdir -p "$HD/store"
# Port 0: hoard picks a free port and writes where it listens to the ready file. The upstream is
# configured as tests/integration/go_support.py's go_upstreams() does.
cat >"$HD/hoard.yml" <<EOF
listen: 127.0.0.1:0
store: { path: $HD/store }
log: { access: "" }
upstreams:
  - name: gopub
    kind: go
    url: $FIX_URL
    sumdb: { name: $SUMDB_NAME, url: $FIX_SUMDB }
    manifest_ttl: $DOC_TTL
EOF
log "starting hoard"
launch_hoard "$HD" || exit 1  # sets HOARD_PID and HOARD_ADDR
HOARD_URL=http://$HOARD_ADDR
wait_http "$HOARD_URL/-/metrics" hoard "$HOARD_PID"
# hoard's metrics, one scrape: "upstream served non200" = hoard's own count of upstream requests
# (documents and zips), of HTTP requests it answered, and of those not answered 200.
hoard_counts() {
  curl -s --max-time 5 "$HOARD_URL/-/metrics" | awk '
    /^hoard_upstream_requests_total/ { up += $NF }
    /^hoard_http_requests_total/ { n += $NF; if ($0 !~ /status="200"/) bad += $NF }
    END { printf "%d %d %d\n", up, n, bad }'
}
# How many of the metrics scrapes themselves a before/after pair counts (the scrape is an HTTP
# request too): measured here rather than assumed.
read -r _ s0 _ <<<"$(hoard_counts)"
read -r _ s1 _ <<<"$(hoard_counts)"
SCRAPE_SELF=$((s1 - s0))

# ---------------------------------------------------------------- go client
# The go command isolated as tests/fixtures/go_fixture.py's go_env() does: no user config, its own
# HOME/GOPATH/GOMODCACHE/GOCACHE per run, local toolchain only, no telemetry, and every
# non-loopback URL sent to a proxy on port 9 (discard) that never answers.
go_env() {  # go_env RUN_DIR GOPROXY GOSUMDB: prints nothing, sets the array GOENV_ARGS
  local h=$1/home
  # shellcheck disable=SC2054  # the commas are inside no_proxy values, not separators
  GOENV_ARGS=(env -i PATH=/usr/bin:/bin HOME="$h" XDG_CONFIG_HOME="$h/.config" LANG=C.UTF-8
    GOENV=off GO111MODULE=on GOPATH="$h/gopath" GOMODCACHE="$h/gopath/pkg/mod" GOCACHE="$h/gocache"
    GOFLAGS=-modcacherw GOPROXY="$2" GOSUMDB="$3" GOTOOLCHAIN=local GOTELEMETRY=off
    http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9
    HTTPS_PROXY=http://127.0.0.1:9 no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost)
}

# Every client is made before any timed download: the clock covers `go mod download all` only.
RUNS=("first-hoard")
for ((r = 1; r <= REPS; r++)); do RUNS+=("hoard-r$r" "direct-r$r"); done
log "preparing ${#RUNS[@]} fresh clients (home, GOPATH, empty GOMODCACHE, GOCACHE, a copy of the sample)"
for run in "${RUNS[@]}"; do
  "$PY" "$HELPER" prepare "$WORK/run-$run" || { log "preparing $run failed"; exit 1; }
done
sync
GO_VERSION=$("$GO" version | awk '{print $3}')
# The go command's own files into the page cache, so that the first timed download does not pay
# for that (nothing is fetched: `go env` in a scratch home).
mkdir -p "$WORK/scratch/home"
go_env "$WORK/scratch" off off
for _ in 1 2; do (cd "$WORK/scratch" && "${GOENV_ARGS[@]}" "$GO" env GOMODCACHE >/dev/null 2>&1) || true; done

go_download() {  # go_download TARGET(hoard|direct) RUN KEY: one timed download, checked, recorded
  local target=$1 dir=$WORK/run-$2 key=$3 proxy sumdb pid t0 t1 rc=0 cpu0 fx0 fx1 line
  local hu0 hn0 hb0 hu1 hn1 hb1
  if [[ $target == hoard ]]; then
    proxy=$HOARD_URL/go sumdb=$FIX_GOSUMDB_KEY pid=$HOARD_PID
  else
    proxy=$FIX_URL sumdb=$FIX_GOSUMDB pid=$FIXTURE_PID
  fi
  go_env "$dir" "$proxy" "$sumdb"
  fx0=$(fixture_count "$FIX_URL")
  read -r hu0 hn0 hb0 <<<"$(hoard_counts)"
  cpu0=$(cpu_secs "$pid")
  t0=$EPOCHREALTIME
  (cd "$dir/sample" && "${GOENV_ARGS[@]}" timeout "$GO_TIMEOUT" "$GO" mod download all) >"$dir.out" 2>"$dir.err" || rc=$?
  t1=$EPOCHREALTIME
  line="wall_s=$(elapsed "$t0" "$t1") rc=$rc server_cpu_s=$(cpu_delta "$cpu0" "$(cpu_secs "$pid")")"
  fx1=$(fixture_count "$FIX_URL")
  read -r hu1 hn1 hb1 <<<"$(hoard_counts)"
  line+=" fixture_requests=$(count_delta "$fx0" "$fx1") hoard_upstream_requests=$((hu1 - hu0))"
  # Requests the go command made to the server under test (hoard: its HTTP counter, less the
  # metrics scrape; direct: the fixture's counter), and hoard's answers other than 200.
  if [[ $target == hoard ]]; then
    line+=" served=$((hn1 - hn0 - SCRAPE_SELF)) hoard_non200=$((hb1 - hb0))"
  else
    line+=" served=$(count_delta "$fx0" "$fx1") hoard_http_requests=$((hn1 - hn0 - SCRAPE_SELF))"
  fi
  line+=" $("$PY" "$HELPER" check "$dir" "$FIX_URL")"
  log "  download $key $target: $line"
  put "${key}_$target" "$line"
  if [[ $rc != 0 ]]; then tail -5 "$dir.err" | sed 's/^/    go: /' >&2; fi
}

# ---------------------------------------------------------------- downloads
# The first download through hoard: hoard cold. It fills hoard's cache (documents, zips, the
# database's lookups and tile).
log "first download through hoard (hoard cold)"
put fixture_kinds_before_first "$(fixture_kinds)"
go_download hoard first-hoard first
put fixture_kinds_after_first "$(fixture_kinds)"

for ((r = 1; r <= REPS; r++)); do
  log "go mod download all, round $r/$REPS: through hoard (warm) and straight from the fixture"
  for t in $(rotated "$r" hoard direct); do go_download "$t" "$t-r$r" "dl_r$r"; done
done
put fixture_kinds_end "$(fixture_kinds)"

put rss_hoard "$(peak_rss_mib "$HOARD_PID")"
if kill -0 "$HOARD_PID" 2>/dev/null; then put alive_hoard 1; else put alive_hoard 0; log "hoard EXITED during the run"; fi
if kill -0 "$FIXTURE_PID" 2>/dev/null; then put alive_fixture 1; else put alive_fixture 0; log "the fixture EXITED during the run"; fi
put hoard_store_bytes "$(curl -s --max-time 5 "$HOARD_URL/-/metrics" | awk '/^hoard_store_bytes/ { print $NF }')"

# ---------------------------------------------------------------- report
put_machine
put quick "$QUICK"
put cmdline "$CMDLINE"
put go_version "$GO_VERSION"
put python_version "$("$PY" --version 2>&1 | awk '{print $2}')"
put reps "$REPS"
put doc_ttl "$DOC_TTL"
put sumdb_name "$SUMDB_NAME"
put scrape_self "$SCRAPE_SELF"
put sample_requires "$("$PY" "$HELPER" requires)"

mkdir -p "$(dirname "$OUT")"
"$PY" "$HERE/report.py" "$RES" "$OUT" ${SUMMARY:+"$SUMMARY"}
log "wrote $OUT${SUMMARY:+ and the go section of bench/RESULTS.md}"
