# shellcheck shell=bash disable=SC2034  # SC2034: the variables set here are for the sourcing script
# bench/lib/common.sh: the scaffolding every benchmark script shares (bench/run.sh,
# bench/npm/run.sh, bench/pypi/run.sh, bench/go/run.sh). Sourced, not run; defines functions and
# two paths, starts nothing.
#
# Kept here so that the four scripts cannot drift apart on the parts that must behave alike:
# which processes get killed on exit (only those the script started, by pid), when a summary may
# touch bench/RESULTS.md, how the machine and its load are recorded, how wrk's text is read.
# What each benchmark measures, and how, stays in its own script.
#
# The sourcing script sets before sourcing: BENCH (its name in log lines and messages, e.g.
# "bench/npm"), ROOT (the repository root), HERE (its own folder), PY (the python3 it uses).
# This file sets BUILD and HOARD; make_workdir sets WORK, RES and PIDS.

BUILD=$ROOT/build-bench   # the Release build every benchmark measures
HOARD=$BUILD/hoard

log() { printf '[%s %s] %s\n' "$BENCH" "$(date +%H:%M:%S)" "$*" >&2; }
put() { printf '%s=%s\n' "$1" "$2" >>"$RES"; }  # one key=value line of results.env
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }    # seconds, 3 decimals
cpu_delta() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }  # CPU seconds, 2 decimals
# A request counter that could not be read is "?", and so is any difference involving it: the
# report then shows "?" instead of a wrong number.
count_delta() { if [[ $1 == "?" || $2 == "?" ]]; then echo "?"; else echo $(($2 - $1)); fi; }

# ---------------------------------------------------------------- options
# parse_args USAGE ARG...: the options every benchmark takes (--quick, --no-build, --keep,
# --out FILE) into QUICK, NO_BUILD, KEEP, OUT; the script's own options that take a value are
# named beforehand in the associative array VALUE_OPTS (option -> variable, e.g.
# [--reps]=REPS_OPT). Anything else, or an option without its value: USAGE on stderr, exit 2.
parse_args() {
  local usage=$1 var
  shift
  QUICK=0 NO_BUILD=0 KEEP=0 OUT=""
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --quick) QUICK=1 ;;
      --no-build) NO_BUILD=1 ;;
      --keep) KEEP=1 ;;
      --*)
        if [[ $1 == --out ]]; then var=OUT; else var=${VALUE_OPTS[$1]:-}; fi
        [[ -n $var && $# -ge 2 ]] || { echo "$usage" >&2; exit 2; }
        printf -v "$var" '%s' "$2"
        shift
        ;;
      *) echo "$usage" >&2; exit 2 ;;
    esac
    shift
  done
}

# pick_outputs NAME: where the report goes. A quick run is a smoke run: its report goes to
# build-bench/NAME-RESULTS-quick.md and no RESULTS.md is touched. A full run writes the
# benchmark's own RESULTS.md and, only when --out was not given, sets SUMMARY to bench/RESULTS.md
# (the report script puts its section there); --out always leaves both RESULTS.md files alone.
pick_outputs() {
  SUMMARY=""
  if [[ $QUICK == 1 ]]; then
    OUT=${OUT:-$BUILD/$1-RESULTS-quick.md}
  else
    [[ -n $OUT ]] || SUMMARY=$ROOT/bench/RESULTS.md
    OUT=${OUT:-$HERE/RESULTS.md}
  fi
}

require_tools() {  # require_tools TOOL...: exit 1 naming the first one missing
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$BENCH: missing $tool (packaging/install-deps.sh installs it)" >&2; exit 1; }
  done
}

# ---------------------------------------------------------------- work directory, processes
# make_workdir PREFIX: a fresh /tmp/PREFIX.XXXXXX as WORK, an empty results file RES in it, no
# processes yet (PIDS), and the exit trap. Every process the script starts goes into PIDS.
make_workdir() {
  WORK=$(mktemp -d "/tmp/$1.XXXXXX")
  RES=$WORK/results.env   # key=value lines, turned into the report at the end
  : >"$RES"
  PIDS=()
  trap cleanup EXIT
  trap 'exit 130' INT TERM
}

# On any exit (normal end, error, Ctrl-C): stop the processes this script started, by pid (never
# by name: other people's servers run on the same machine), then remove the work directory unless
# --keep. The exit status is the script's own.
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  kill_pids "${PIDS[@]}"
  if [[ $KEEP == 1 ]]; then
    echo "$BENCH: work directory kept: $WORK" >&2
  else
    chmod -R u+w "$WORK" 2>/dev/null || true  # Go module caches are read-only unless -modcacherw
    rm -rf "$WORK"
  fi
  exit "$rc"
}

kill_pids() {  # kill_pids PID...: TERM to all, up to 5 s each to go, then KILL; all reaped
  local pid
  for pid in "$@"; do kill "$pid" 2>/dev/null || true; done
  for pid in "$@"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}

# stop_pids PID...: kill_pids, then drop them from PIDS, so that the exit trap never signals a pid
# the system may since have given to someone else's process.
stop_pids() {
  local keep=() p
  kill_pids "$@"
  for p in "${PIDS[@]}"; do
    [[ " $* " == *" $p "* ]] || keep+=("$p")
  done
  PIDS=("${keep[@]}")
}

# ---------------------------------------------------------------- waiting for servers
# wait_until PID TENTHS COMMAND...: until COMMAND succeeds (0), PID has exited or TENTHS × 0.1 s
# have passed (1). Callers test the condition again afterwards to say which.
wait_until() {
  local pid=$1 n=$2
  shift 2
  for _ in $(seq "$n"); do
    "$@" && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
has_lines() { [[ $(wc -l <"$1") -ge $2 ]]; }  # has_lines FILE N: a server printed its N start-up lines

wait_http() {  # wait_http URL NAME PID [SECONDS]: until any HTTP answer (default 15 s)
  local n=$((${4:-15} * 10))
  for _ in $(seq "$n"); do
    kill -0 "$3" 2>/dev/null || { log "$2 exited during start-up"; return 1; }
    curl -s -o /dev/null --max-time 1 "$1" && return 0
    sleep 0.1
  done
  log "$2 did not answer $1 within ${4:-15} s"
  return 1
}

# fixture_count URL: all requests a test fixture has recorded so far (its control requests are
# not), or "?" when it does not answer.
fixture_count() {
  curl -s --max-time 5 "$1/-/fixture/counts" | "$PY" -c 'import json,sys; print(sum(json.load(sys.stdin).values()))' 2>/dev/null || echo "?"
}

# ---------------------------------------------------------------- hoard
# build_hoard LOG_NAME CONSEQUENCE: Release build of the hoard target into build-bench/ (tests off:
# they are not measured). On failure the build log is kept as build-bench/bench/LOG_NAME, the
# first errors are shown, "CONSEQUENCE" ends the message, and the status is 1: the caller decides
# whether the run goes on without hoard.
# build_hoard LOGNAME HINT [TARGET...]: Release hoard into build-bench/, plus bench-only TARGETs
# (built with HOARD_BUILD_BENCH=ON); 1, keeping the log as build-bench/bench/LOGNAME, if it fails.
build_hoard() {
  local logname=$1 hint=$2
  shift 2
  local bench_targets=OFF
  [[ $# -gt 0 ]] && bench_targets=ON
  log "building hoard${*:+ and $*} (Release) into build-bench/"
  if cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DHOARD_BUILD_TESTS=OFF \
    -DHOARD_BUILD_BENCH="$bench_targets" >"$WORK/build.log" 2>&1 &&
    cmake --build "$BUILD" --target hoard "$@" -j"$(nproc)" >>"$WORK/build.log" 2>&1; then
    return 0
  fi
  mkdir -p "$BUILD/bench" && cp "$WORK/build.log" "$BUILD/bench/$logname"
  log "hoard build FAILED (log: build-bench/bench/$logname); $hint"
  grep -m5 -E 'error|Error' "$WORK/build.log" >&2 || true
  return 1
}

# launch_hoard DIR: `hoard serve` with DIR/hoard.yml, whose `listen` has port 0 (hoard picks a
# free port: no race with other servers for a port picked in advance) and writes where it listens
# to DIR/ready. Sets HOARD_PID (also in PIDS) and HOARD_ADDR (127.0.0.1:PORT). 1, with hoard's log
# tail, when it has not written the file within 15 s or exited first.
launch_hoard() {
  local d=$1
  rm -f "$d/ready"  # a directory used before must not pass for a started hoard
  "$HOARD" serve --config "$d/hoard.yml" --ready-file "$d/ready" >"$d/log" 2>&1 &
  HOARD_PID=$!
  PIDS+=("$HOARD_PID")
  wait_until "$HOARD_PID" 150 test -s "$d/ready" || true
  if [[ ! -s $d/ready ]]; then
    log "hoard did not write its ready file; log tail:"
    tail -5 "$d/log" >&2 || true
    return 1
  fi
  HOARD_ADDR=$(tr -d '\n' <"$d/ready")
}

# ---------------------------------------------------------------- measuring
# CPU seconds (user+sys) used so far by a process and its direct children (nginx workers, the
# fixture's Go server under its Python wrapper).
cpu_secs() {
  local total=0 p
  for p in "$1" $(cat /proc/"$1"/task/*/children 2>/dev/null); do
    [[ -r /proc/$p/stat ]] || continue
    total=$((total + $(awk '{sub(/^.*\) /, ""); print $12 + $13}' /proc/"$p"/stat)))
  done
  awk -v t="$total" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'
}
peak_rss_mib() {  # largest VmHWM of the process and its children, MiB
  local p m=0 v
  for p in "$1" $(cat /proc/"$1"/task/*/children 2>/dev/null); do
    v=$(awk '/^VmHWM/ {print $2}' /proc/"$p"/status 2>/dev/null || echo 0)
    [[ -n $v && $v -gt $m ]] && m=$v
  done
  echo $((m / 1024))
}

# rotated ROUND ITEM...: the items, rotated by ROUND places. The machine may be shared, so rounds
# interleave the servers and no server is always first (or last) after another's load.
rotated() {
  local r=$1 i
  shift
  for ((i = 0; i < $#; i++)); do
    local k=$(((i + r) % $# + 1))
    printf '%s\n' "${!k}"
  done
}

# wrk_figures FILE: wrk's --latency summary as key=value pairs: req_per_s, lat_avg, lat_p99,
# non2xx and sockerr (empty when wrk printed no such line: the reports count a round only then),
# requests.
wrk_figures() {
  local out=$1 line
  line="req_per_s=$(awk '/^Requests\/sec:/ { print $2 }' "$out")"
  line+=" lat_avg=$(awk '$1 == "Latency" { print $2; exit }' "$out") lat_p99=$(awk '$1 == "99%" { print $2 }' "$out")"
  line+=" non2xx=$(awk '/Non-2xx or 3xx/ { print $NF }' "$out") sockerr=$(awk '/Socket errors:/ { gsub(/[ ,]+/, ""); sub(/^Socketerrors:/, ""); print }' "$out")"
  line+=" requests=$(awk '/requests in/ { print $1 }' "$out")"
  printf '%s' "$line"
}

# ---------------------------------------------------------------- the machine
# Other work on the machine skews every figure: the load average is recorded before the run (with
# a warning when it is already high) and after it, and both go into the report.
note_load_before() {
  LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
  if awk -v l="${LOAD_BEFORE%% *}" -v n="$(nproc)" 'BEGIN { exit !(l > n * 0.5) }'; then
    log "WARNING: load average is $LOAD_BEFORE on $(nproc) CPUs: other work will skew the figures"
  fi
}

head_commit() {  # the checked-out commit, short, read from .git without running git
  local g=$ROOT/.git ref c=""
  [[ -f $g ]] && g=$(sed -n 's/^gitdir: //p' "$g")
  ref=$(cat "$g/HEAD" 2>/dev/null || true)
  if [[ $ref == ref:* ]]; then
    ref=${ref#ref: }
    c=$(cat "$g/$ref" 2>/dev/null || awk -v r="$ref" '$2 == r { print $1 }' "$g/packed-refs" 2>/dev/null || true)
  else
    c=$ref
  fi
  if [[ -n $c ]]; then echo "${c:0:7}"; else echo unknown; fi
}

# put_machine: what every report's header and "Machine" section show: the load before and after,
# the date, CPUs, memory, kernel and commit.
put_machine() {
  put load_before "$LOAD_BEFORE"
  put load_after "$(cut -d' ' -f1-3 /proc/loadavg)"
  put date "$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  put nproc "$(nproc)"
  put cpu "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
  put mem "$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
  put kernel "$(uname -r)"
  put commit "$(head_commit)"
}
