#!/usr/bin/env bash
# bench/startup/run.sh [--quick] [--no-build] [--keep] [--objects N] [--refs M] [--reps R] [--out FILE]
#
# Issue 7's start-up benchmark. How long `hoard serve` takes to become ready on a store whose
# index holds N (default 1,000,000) objects and M (default 100,000) refs, against an empty store,
# and what it holds in memory afterwards. hoard_bench_store_fill (bench/startup/store_fill.cpp,
# built only with -DHOARD_BUILD_BENCH=ON) writes the index straight into RocksDB (hoard's own
# value encoding; a flush and a full compaction at the end, the state of a store that has been
# running a while); no blob files are written, since start-up reads only the index.
# bench/startup/startup.py times each start: from launching `hoard serve --config ...` to the
# ready file, and to the first 200 from GET /-/readyz; RSS at that moment and 2 s later; the
# store size and object count hoard reports in /metrics (proof that it read the whole index).
# R starts per store (default 3), interleaved empty / full; the report takes the median.
# Page cache: warm (the machine's memory is not dropped: other people work on it); the first
# start after the fill is recorded, and is a start with the index partly in the page cache.
#
# Writes bench/startup/RESULTS.md and its section of bench/RESULTS.md (between
# <!-- startup:begin --> and <!-- startup:end -->). Not a test: nothing here is registered with
# ctest; every hoard started is stopped by startup.py, and the exit trap removes the work dir.
#
#   --quick      100,000 objects, 10,000 refs, 1 start each; writes build-bench/startup-RESULTS-quick.md
#   --no-build   use the existing build-bench/hoard and hoard_bench_store_fill
#   --keep       keep the work directory (stores, configs, logs)
#   --objects N, --refs M, --reps R   as above
#   --out FILE   write the report there instead (then no RESULTS.md is touched)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BENCH=bench/startup
PY=/usr/bin/python3
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"

CMDLINE="bench/startup/run.sh${*:+ $*}"
OBJ_OPT="" REFS_OPT="" REPS_OPT=""
declare -A VALUE_OPTS=([--objects]=OBJ_OPT [--refs]=REFS_OPT [--reps]=REPS_OPT)
parse_args "usage: bench/startup/run.sh [--quick] [--no-build] [--keep] [--objects N] [--refs M] [--reps R] [--out FILE]" "$@"
pick_outputs startup
if [[ $QUICK == 1 ]]; then OBJECTS=100000 REFS=10000 REPS=1; else OBJECTS=1000000 REFS=100000 REPS=3; fi
[[ -z $OBJ_OPT ]] || OBJECTS=$OBJ_OPT
[[ -z $REFS_OPT ]] || REFS=$REFS_OPT
[[ -z $REPS_OPT ]] || REPS=$REPS_OPT
[[ $OBJECTS =~ ^[1-9][0-9]*$ && $REFS =~ ^[0-9]+$ && $REPS =~ ^[1-9][0-9]*$ ]] ||
  { echo "$BENCH: --objects and --reps want positive numbers, --refs a number" >&2; exit 2; }
FILL=$BUILD/bench/startup/hoard_bench_store_fill

require_tools cmake "$PY"
make_workdir hoard-startup
note_load_before

if [[ $NO_BUILD == 0 ]]; then
  build_hoard startup-build.log "see the log" hoard_bench_store_fill || exit 1
fi
[[ -x $HOARD && -x $FILL ]] || { log "no $HOARD or $FILL (run without --no-build)"; exit 1; }

config() {  # config NAME: a store dir and a config for it; offline, no access log, port 0
  local d=$WORK/$1
  mkdir -p "$d/store"
  cat >"$d/hoard.yml" <<EOC
listen: 127.0.0.1:0
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
}
config empty
config full

log "filling the full store's index: $OBJECTS objects, $REFS refs"
put fill "$("$FILL" "$WORK/full/store" --blobs "$OBJECTS" --refs "$REFS")"
put index_mib "$(du -sm "$WORK/full/store/index" | cut -f1)"
log "  $(grep '^fill=' "$RES" | cut -d= -f2-); index $(grep '^index_mib=' "$RES" | cut -d= -f2) MiB"

start() {  # start STORE KEY
  local line
  line=$("$PY" "$HERE/startup.py" "$HOARD" "$WORK/$1/hoard.yml" "$WORK/$1/ready")
  log "  $2: $line"
  put "$2" "$line"
}
for ((r = 1; r <= REPS; r++)); do
  log "round $r/$REPS"
  for s in $(rotated $((r + 1)) full empty); do start "$s" "start_r${r}_$s"; done
done

put_machine
put quick "$QUICK"
put cmdline "$CMDLINE"
put objects "$OBJECTS"
put refs "$REFS"
put reps "$REPS"
put rocksdb_version "$(dpkg-query -W -f='${Version}' librocksdb-dev 2>/dev/null || echo '?')"
mkdir -p "$(dirname "$OUT")"
"$PY" "$HERE/report.py" "$RES" "$OUT" ${SUMMARY:+"$SUMMARY"}
log "wrote $OUT${SUMMARY:+ and the startup section of ${SUMMARY#"$ROOT"/}}"
