#!/usr/bin/env bash
# bench/npm/run.sh [--quick] [--no-build] [--keep] [--install-reps N] [--pad-versions N] [--out FILE]
#
# Issue 4's benchmark. One run, one machine, 127.0.0.1 only: hoard vs Verdaccio 6.8.0 vs nginx
# (the ceiling: hoard's own rewritten packument bytes, gzip, served as static files), hoard and
# Verdaccio in front of the same fixture npm upstreams (tests/fixtures/npm_registry.py: a public one
# with the sample packages, a private one for @acme/*, routed the same way in both). Measures
#   1. warm packument GET req/s of fixture-a, c=50 (wrk), full (Accept: application/json) and corgi
#      (npm's install Accept list), both with Accept-Encoding: gzip; ratios vs nginx; for the
#      fixture's tiny packuments (3 versions) and for padded, realistic ones (see --pad-versions)
#   2. warm `npm install --prefer-online` wall time of the sample project (fresh project directory,
#      no lockfile, so npm resolves the whole tree), server cache warm, with the padded packuments,
#      two client states:
#        cold client: an empty npm cache each time: every packument and tarball comes from the server
#        warm client: the npm cache of an earlier install through the same server: packuments are
#                     revalidated with the server (--prefer-online), tarballs come from npm's cache
#      plus, once per server, the first install of all (server and client cold), for reference
# and writes bench/npm/RESULTS.md (figures, ratios, machine, date, the command) and a summary
# section of it into bench/RESULTS.md (between <!-- npm:begin --> and <!-- npm:end -->; nothing
# else in that file is touched).
#
# Why padding: the fixture's packuments have a few versions each (~1 KB), so the server's share of
# an install is a few milliseconds next to npm's own ~1 s of CPU, and hoard vs Verdaccio is noise.
# Real packuments carry the whole release history, and npm 10.4+ fetches FULL packuments during
# install: a widely used package has hundreds to thousands of versions (hundreds of KB to tens of
# MB). The servers run twice, one after the other, on separate fixture upstreams: "plain" (the
# fixture as the integration tests see it; packument req/s only) and "padded" (every package with
# N extra old versions without tarballs; packument req/s and the installs).
#
# Not a test: nothing here is registered with ctest. Every phase is time-bounded and every
# process this script starts is killed on exit (normal end, error or Ctrl-C).
#
#   --quick     ~1 minute: 1 round of 2 s wrk phases, 1 install per scenario;
#               writes build-bench/npm-RESULTS-quick.md
#   --no-build  use the existing build-bench/hoard
#   --keep      keep the work directory (logs, stores, configs, npm logs) for inspection
#   --install-reps N  installs per scenario and server (default 3; the report takes the median)
#   --pad-versions N  old versions added to every package of the padded set (default 300: ~2 KB per
#               version, so fixture-a's full packument is ~640 KB (~115 KB gzip), its corgi ~270 KB,
#               ~4.5 MB of full packuments per install: a package with a few hundred releases, the
#               order of widely used ones, short of the 10-40 MB giants; bigger N = longer phases).
#               0: no padded set; the plain set also runs the installs (the run before padding).
#   --out FILE  write the report there instead (then bench/RESULTS.md is not touched)
#
# --quick and --out never touch bench/npm/RESULTS.md or bench/RESULTS.md.
#
# Verdaccio is installed once into build-bench/verdaccio/ by `npm install` with the machine's own
# npm configuration (the only use of a registry outside 127.0.0.1; the registry is whatever
# `npm config get registry` says). Node 20 needs node-fetch pinned to 2.7.0 (an override).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BENCH=bench/npm
PY=/usr/bin/python3
# log, put, parse_args, pick_outputs, make_workdir, stop_pids, build_hoard, launch_hoard,
# wait_http, cpu_secs, rotated, wrk_figures, put_machine, ...; BUILD and HOARD (build-bench/hoard).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"

CMDLINE="bench/npm/run.sh${*:+ $*}"
REPS_OPT="" PAD_VERSIONS=300
declare -A VALUE_OPTS=([--install-reps]=REPS_OPT [--pad-versions]=PAD_VERSIONS)
parse_args "usage: bench/npm/run.sh [--quick] [--no-build] [--keep] [--install-reps N] [--pad-versions N] [--out FILE]" "$@"

# The summary section goes into bench/RESULTS.md only from a full run writing the default report.
pick_outputs npm
if [[ $QUICK == 1 ]]; then
  ROUNDS=1 WRK_SECS=2 INSTALL_REPS=1
else
  ROUNDS=3 WRK_SECS=4 INSTALL_REPS=3
fi
[[ -z $REPS_OPT ]] || INSTALL_REPS=$REPS_OPT
[[ $INSTALL_REPS =~ ^[1-9][0-9]*$ ]] || { echo "bench/npm: --install-reps wants a positive number" >&2; exit 2; }
[[ $PAD_VERSIONS =~ ^(0|[1-9][0-9]{0,4})$ ]] || { echo "bench/npm: --pad-versions wants a number from 0 to 99999" >&2; exit 2; }
WRK_CONNS=50 WRK_THREADS=2
# Packument freshness in both proxies (hoard manifest_ttl, Verdaccio uplink maxage): long enough
# that nothing expires during the run, so "warm" is a pure cache hit in both; the fixtures'
# request counters around each install show it.
DOC_TTL=10m
VERDACCIO_VERSION=6.8.0
export PYTHONDONTWRITEBYTECODE=1  # the helpers import tests/fixtures/npm_registry.py: no caches in the tree
VDIR=$BUILD/verdaccio
VERDACCIO=$VDIR/node_modules/.bin/verdaccio
FIXTURE=$ROOT/tests/fixtures/npm_registry.py
CHECK=$HERE/npmcheck.py
DOC=fixture-a
ACCEPT_FULL='application/json'
# What npm sends for packuments when it wants the abbreviated document (npm-registry-fetch).
ACCEPT_CORGI='application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*'
CTYPE_FULL=application/json
CTYPE_CORGI=application/vnd.npm.install-v1+json

require_tools /usr/sbin/nginx /usr/bin/wrk curl cmake node npm "$PY"
NPM_BIN=$(command -v npm)

make_workdir hoard-npm-bench
note_load_before

# ---------------------------------------------------------------- build / install
HOARD_OK=0 HOARD_NOTE=""
if [[ $NO_BUILD == 0 ]]; then
  if build_hoard npm-build.log "continuing without hoard"; then HOARD_OK=1; else HOARD_NOTE="build failed"; fi
elif [[ -x $HOARD ]]; then
  HOARD_OK=1
else
  HOARD_NOTE="no binary at build-bench/hoard"
fi

have_verdaccio() {
  [[ -x $VERDACCIO ]] &&
    [[ $(node -p "require('$VDIR/node_modules/verdaccio/package.json').version" 2>/dev/null) == "$VERDACCIO_VERSION" ]]
}
if ! have_verdaccio; then
  log "installing Verdaccio $VERDACCIO_VERSION into build-bench/verdaccio/ (npm, the machine's own registry config)"
  mkdir -p "$VDIR"
  cat >"$VDIR/package.json" <<EOF
{
  "name": "hoard-bench-verdaccio",
  "version": "1.0.0",
  "private": true,
  "description": "Verdaccio for bench/npm/run.sh; not part of hoard",
  "dependencies": { "verdaccio": "$VERDACCIO_VERSION" },
  "overrides": { "node-fetch": "2.7.0" }
}
EOF
  (cd "$VDIR" && timeout 600 "$NPM_BIN" install --no-audit --no-fund --loglevel=error) >"$WORK/verdaccio-install.log" 2>&1 ||
    { log "npm install of Verdaccio failed:"; tail -20 "$WORK/verdaccio-install.log" >&2; exit 1; }
  have_verdaccio || { log "Verdaccio $VERDACCIO_VERSION is not at $VERDACCIO after the install"; exit 1; }
fi

# ---------------------------------------------------------------- sets
# Each set is its own fixture upstreams and its own hoard, Verdaccio and nginx, started by run_set
# and stopped before the next set starts (so the sets never share the CPUs). Per set: SET is its
# name, SETK the infix of its result keys ("" for plain: the keys of the run before padding; "pad"
# for padded), SW its work directory.
declare -A PID PORT BASE TBASE   # per server of the current set: pid, port, registry URL, tarball URL base
SET="" SETK="" SW=""

# ---------------------------------------------------------------- fixture upstreams
start_fixture() {  # start_fixture NAME FLAG PAD
  local port
  port=$(free_port)
  "$PY" "$FIXTURE" --port "$port" "$2" --pad-versions "$3" >"$SW/fixture-$1.log" 2>&1 &
  PID[$1]=$!
  PIDS+=("${PID[$1]}")
  PORT[$1]=$port
  # It packs every sample package with `npm pack` before it listens: give it time.
  wait_http "http://127.0.0.1:$port/-/ping" "fixture $1" "${PID[$1]}" 90
}
upstream_count() {  # all recorded requests of both fixtures so far (one that does not answer: 0)
  local n=0 u c
  for u in "$UP_PUB" "$UP_PRIV"; do
    c=$(fixture_count "$u")
    [[ $c == "?" ]] && c=0
    n=$((n + c))
  done
  echo "$n"
}

# ---------------------------------------------------------------- the servers under test
start_hoard() {
  local d=$SW/hoard
  mkdir -p "$d/store"
  # Port 0: hoard picks a free port and writes where it listens to the ready file.
  cat >"$d/hoard.yml" <<EOC
listen: 127.0.0.1:0
store: { path: $d/store }
log: { access: "" }
upstreams:
  - name: npmjs
    kind: npm
    url: $UP_PUB
    default: true
    manifest_ttl: $DOC_TTL
  - name: internal
    kind: npm
    url: $UP_PRIV
    scopes: ["@acme"]
    manifest_ttl: $DOC_TTL
EOC
  launch_hoard "$d" || return 1
  PID[hoard]=$HOARD_PID
  PORT[hoard]=${HOARD_ADDR##*:}
  BASE[hoard]=http://127.0.0.1:${PORT[hoard]}/npm/
  TBASE[hoard]=http://127.0.0.1:${PORT[hoard]}/npm
  wait_http "${BASE[hoard]}-/ping" hoard "${PID[hoard]}"
}

start_verdaccio() {
  local d=$SW/verdaccio port
  port=$(free_port)
  mkdir -p "$d/storage"
  # No auth for reads; nobody may register (max_users: -1). Log level warn: hoard's access log is
  # off too. Same scope routing as hoard: @acme/* only from the private upstream.
  cat >"$d/config.yaml" <<EOC
storage: $d/storage
auth:
  htpasswd:
    file: $d/htpasswd
    max_users: -1
uplinks:
  public:
    url: $UP_PUB/
    maxage: $DOC_TTL
  private:
    url: $UP_PRIV/
    maxage: $DOC_TTL
packages:
  '@acme/*':
    access: \$all
    proxy: private
  '**':
    access: \$all
    proxy: public
listen: 127.0.0.1:$port
web:
  enable: false
log: { type: stdout, format: pretty, level: warn }
EOC
  "$VERDACCIO" --config "$d/config.yaml" >"$d/log" 2>&1 &
  PID[verdaccio]=$!
  PIDS+=("${PID[verdaccio]}")
  PORT[verdaccio]=$port
  BASE[verdaccio]=http://127.0.0.1:$port/
  TBASE[verdaccio]=http://127.0.0.1:$port
  wait_http "${BASE[verdaccio]}-/ping" verdaccio "${PID[verdaccio]}" 30
}

# ---------------------------------------------------------------- npm client
# The system npm, isolated: its own HOME and npmrc (nothing from the machine's config, no proxy
# variables), the server under test as the only registry, a cache directory given per install.
NHOME=$WORK/npm-home
mkdir -p "$NHOME"
printf 'update-notifier=false\nfund=false\naudit=false\n' >"$NHOME/user.npmrc"
: >"$NHOME/global.npmrc"
npm_install() {  # npm_install SERVER PROJECT CACHE KEY: one timed install, checked, recorded
  local s=$1 proj=$2 cache=$3 key=$4 t0 t1 rc=0 cpu0 up0 line
  rm -rf "$proj"
  "$PY" "$CHECK" project "$proj"
  up0=$(upstream_count)
  cpu0=$(cpu_secs "${PID[$s]}")
  t0=$EPOCHREALTIME
  (cd "$proj" && env -i PATH="$PATH" HOME="$NHOME" npm_config_userconfig="$NHOME/user.npmrc" \
    npm_config_globalconfig="$NHOME/global.npmrc" timeout 120 "$NPM_BIN" install --registry "${BASE[$s]}" --cache "$cache" \
    --logs-dir "$NHOME/logs" --prefer-online --no-audit --no-fund --no-update-notifier --loglevel=http \
    --fetch-retries=0 --fetch-timeout=30000) >"$proj.npm.log" 2>&1 || rc=$?
  t1=$EPOCHREALTIME
  line="wall_s=$(elapsed "$t0" "$t1") rc=$rc"
  line+=" server_cpu_s=$(cpu_delta "$cpu0" "$(cpu_secs "${PID[$s]}")") upstream_requests=$(($(upstream_count) - up0))"
  line+=" $("$PY" "$CHECK" install "$proj" "${TBASE[$s]}" "$SW/expected.json" "$proj.npm.log")"
  log "  install $key $s: $line"
  put "${key}_$s" "$line"
  if [[ $rc != 0 ]]; then tail -5 "$proj.npm.log" | sed 's/^/    npm: /' >&2; fi
}

# npm's own files into the page cache, so that the first timed install does not pay for that.
for _ in 1 2; do env -i PATH="$PATH" HOME="$NHOME" "$NPM_BIN" --version >/dev/null 2>&1 || true; done

# ---------------------------------------------------------------- nginx, the ceiling
# hoard's own rewritten packument bytes as hoard sends them (gzip), one file per document;
# nginx picks the file by Accept the way a registry must (corgi when Accept names npm's
# abbreviated type) and sends it with the same Content-Type / Content-Encoding / Vary.
start_nginx() {
  local d=$SW/nginx port v
  port=$(free_port)
  mkdir -p "$d/tmp" "$d/root/_doc"
  for v in full corgi; do
    [[ -s $SW/doc-hoard-$v.gz ]] || { log "nginx: no bytes of hoard's $v packument"; return 1; }
    cp "$SW/doc-hoard-$v.gz" "$d/root/_doc/$v.json.gz"
  done
  cat >"$d/nginx.conf" <<EOC
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
  map \$http_accept \$npm_doc {
    default full;
    "~application/vnd\\.npm\\.install-v1\\+json" corgi;
  }
  server {
    listen 127.0.0.1:$port;
    root $d/root;
    location = /npm/$DOC { rewrite ^ /_doc/\$npm_doc.json.gz last; }
    location = /_doc/full.json.gz {
      internal;
      default_type "application/json; charset=utf-8";
      add_header Content-Encoding gzip;
      add_header Vary "Accept, Accept-Encoding";
    }
    location = /_doc/corgi.json.gz {
      internal;
      default_type "application/vnd.npm.install-v1+json; charset=utf-8";
      add_header Content-Encoding gzip;
      add_header Vary "Accept, Accept-Encoding";
    }
  }
}
EOC
  /usr/sbin/nginx -c "$d/nginx.conf" -p "$d" -g 'daemon off;' >"$d/stdout.log" 2>&1 &
  PID[nginx]=$!
  PIDS+=("${PID[nginx]}")
  PORT[nginx]=$port
  BASE[nginx]=http://127.0.0.1:$port/npm/
  # The bytes are hoard's: their tarball URLs point at hoard, and that is what is checked.
  TBASE[nginx]=${TBASE[hoard]}
  wait_http "http://127.0.0.1:$port/npm/$DOC" nginx "${PID[nginx]}"
}

# Check each server's packuments before timing it (and save hoard's bytes for nginx).
declare -A STATUS
check_docs() {  # check_docs SERVER
  local s=$1 ok=1 v line acc ct
  for v in full corgi; do
    if [[ $v == full ]]; then acc=$ACCEPT_FULL ct=$CTYPE_FULL; else acc=$ACCEPT_CORGI ct=$CTYPE_CORGI; fi
    line=$("$PY" "$CHECK" doc "${BASE[$s]}$DOC" "$acc" "$ct" "${TBASE[$s]}" "$SW/doc-$s-$v.gz" "$SETPAD")
    log "  $SET: $s $v+gzip: $line"
    put "doc${SETK}_${v}_$s" "$line"
    [[ $line == ok=1* ]] || ok=0
  done
  STATUS[$s]=$ok
  put "check${SETK}_$s" "$ok"
}

# ---------------------------------------------------------------- 1. warm packument req/s
for v in full corgi; do
  if [[ $v == full ]]; then acc=$ACCEPT_FULL; else acc=$ACCEPT_CORGI; fi
  cat >"$WORK/$v.lua" <<EOC
wrk.method = "GET"
wrk.headers["Accept"] = "$acc"
wrk.headers["Accept-Encoding"] = "gzip"
wrk.headers["User-Agent"] = "npm/11 node/v20 linux x64 workspaces/false"
EOC
done
# After a load, wait (at most 30 s) until the server is idle again: a saturated Verdaccio still works
# on the requests wrk abandoned at its deadline, and that must not land in the next server's round.
settle() {  # settle SERVER: prints "settle_s=... tail_cpu_s=..."
  local s=$1 t0=$EPOCHREALTIME c0 a b
  c0=$(cpu_secs "${PID[$s]}")
  for _ in $(seq 60); do
    a=$(cpu_secs "${PID[$s]}")
    sleep 0.5
    b=$(cpu_secs "${PID[$s]}")
    awk -v a="$a" -v b="$b" 'BEGIN { exit !(b - a < 0.03) }' && break
  done
  printf 'settle_s=%s tail_cpu_s=%s' "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')" \
    "$(cpu_delta "$c0" "$(cpu_secs "${PID[$s]}")")"
}
run_wrk() {  # run_wrk SERVER VARIANT ROUND [CONNS]: CONNS 1 is one thread, one connection (key infix c1)
  local s=$1 v=$2 r=$3 c=${4:-$WRK_CONNS} out=$SW/$1.$2.r$3.c${4:-$WRK_CONNS}.wrk cpu0 line t=$WRK_THREADS ck=""
  [[ $c == 1 ]] && t=1 ck=c1
  cpu0=$(cpu_secs "${PID[$s]}")
  timeout $((WRK_SECS + 30)) /usr/bin/wrk -t"$t" -c"$c" -d"${WRK_SECS}s" --timeout 10s --latency \
    -s "$WORK/$v.lua" "${BASE[$s]}$DOC" >"$out" 2>&1 || true
  line="$(wrk_figures "$out") read=$(awk '/requests in/ { print $5 }' "$out")"
  line+=" server_cpu_s=$(cpu_delta "$cpu0" "$(cpu_secs "${PID[$s]}")")"
  line+=" $(settle "$s")"
  log "  $SET: wrk $v+gzip c=$c $s: $line"
  put "pk${SETK}${ck}_${v}_r${r}_$s" "$line"
}

# ---------------------------------------------------------------- one set
run_set() {  # run_set NAME KEY PAD INSTALLS(0|1)
  SET=$1 SETK=$2 SETPAD=$3
  local installs=$4 s r v set_pids=()
  SW=$WORK/set-$SET
  mkdir -p "$SW"
  PID=() PORT=() BASE=() TBASE=() STATUS=()
  log "== set $SET: fixture packages padded with $SETPAD old versions each$([[ $installs == 1 ]] && echo '; packument req/s and installs' || echo '; packument req/s only')"
  log "starting the fixture npm upstreams (public: --sample, private: --private for @acme/*; --pad-versions $SETPAD)"
  start_fixture pub --sample "$SETPAD"
  start_fixture priv --private "$SETPAD"
  set_pids+=("${PID[pub]}" "${PID[priv]}")
  UP_PUB=http://127.0.0.1:${PORT[pub]}
  UP_PRIV=http://127.0.0.1:${PORT[priv]}
  local tree
  tree=$("$PY" "$CHECK" expected "$UP_PUB" "$UP_PRIV" "$SW/expected.json")
  log "  $SET: the sample project's packuments at the fixtures: $tree"
  put "tree${SETK}" "$tree"

  SERVERS=()
  if [[ $HOARD_OK == 1 ]]; then
    if start_hoard; then SERVERS+=(hoard); set_pids+=("${PID[hoard]}"); else HOARD_OK=0 HOARD_NOTE="did not start (see log)"; fi
  fi
  start_verdaccio
  set_pids+=("${PID[verdaccio]}")
  SERVERS+=(verdaccio)
  local install_servers=("${SERVERS[@]}")

  # The first install through each server: both caches cold (server and client). It fills the
  # server's cache and the client cache that the warm-client installs reuse.
  if [[ $installs == 1 ]]; then
    put install_set "$SETK"
    put install_pad "$SETPAD"
    for s in "${install_servers[@]}"; do
      log "first install through $s (server and client cold)"
      npm_install "$s" "$SW/proj-$s-first" "$SW/npmcache-$s-warm" first
    done
  fi

  for s in "${SERVERS[@]}"; do
    log "checking $s's packuments of $DOC (port ${PORT[$s]})"
    check_docs "$s"
  done
  if [[ $HOARD_OK == 1 && ${STATUS[hoard]} == 1 ]]; then
    if start_nginx; then
      SERVERS+=(nginx)
      set_pids+=("${PID[nginx]}")
      log "checking nginx's packuments of $DOC (port ${PORT[nginx]})"
      check_docs nginx
    fi
  else
    log "no nginx ceiling: it serves hoard's bytes, and hoard has none"
  fi

  # 1. warm packument req/s. The machine may be shared, so each measurement runs in ROUNDS short
  # rounds with the servers interleaved (and their order rotated per round); the report takes the
  # median round.
  for ((r = 1; r <= ROUNDS; r++)); do
    for v in full corgi; do
      log "$SET: packument GET $v+gzip (wrk) round $r/$ROUNDS: c=$WRK_CONNS, ${WRK_SECS}s per server"
      for s in $(rotated "$r" "${SERVERS[@]}"); do run_wrk "$s" "$v" "$r"; done
    done
    # With big documents a slow server cannot show its rate at c=50 in a few seconds: it works on
    # 50 requests at once, so its first answers come after ~50 request-times. One connection shows
    # each server's cost per request (req/s = 1 / latency) without that start-up transient.
    if [[ $SETPAD != 0 ]]; then
      log "$SET: packument GET full+gzip (wrk) round $r/$ROUNDS: one connection, ${WRK_SECS}s per server"
      for s in $(rotated "$r" "${SERVERS[@]}"); do run_wrk "$s" full "$r" 1; done
    fi
  done

  # 2. warm npm install
  if [[ $installs == 1 ]]; then
    for ((r = 1; r <= INSTALL_REPS; r++)); do
      log "$SET: npm install round $r/$INSTALL_REPS (server warm): cold client cache, then warm client cache"
      for s in $(rotated "$r" "${install_servers[@]}"); do
        npm_install "$s" "$SW/proj-$s-cold-r$r" "$SW/npmcache-$s-cold-r$r" "inst_cold_r$r"
        rm -rf "$SW/npmcache-$s-cold-r$r"
        npm_install "$s" "$SW/proj-$s-warm-r$r" "$SW/npmcache-$s-warm" "inst_warm_r$r"
      done
    done
  fi

  for s in "${SERVERS[@]}"; do
    put "rss${SETK}_$s" "$(peak_rss_mib "${PID[$s]}")"
    if kill -0 "${PID[$s]}" 2>/dev/null; then put "alive${SETK}_$s" 1; else put "alive${SETK}_$s" 0; log "$s EXITED during the $SET set"; fi
  done
  log "stopping the $SET set"
  stop_pids "${set_pids[@]}"
  # npm caches and projects of this set are no longer needed; logs stay for --keep.
  rm -rf "$SW"/npmcache-* "$SW"/proj-*/node_modules
}

if [[ $PAD_VERSIONS == 0 ]]; then
  run_set plain "" 0 1
else
  run_set plain "" 0 0
  run_set padded pad "$PAD_VERSIONS" 1
fi
put pad_versions "$PAD_VERSIONS"

# ---------------------------------------------------------------- report
put_machine
put hoard_ok "$HOARD_OK"
put hoard_note "$HOARD_NOTE"
put quick "$QUICK"
put cmdline "$CMDLINE"
put nginx_version "$(/usr/sbin/nginx -v 2>&1 | sed 's/.*version: //')"
put verdaccio_version "$(node -p "require('$VDIR/node_modules/verdaccio/package.json').version")"
put node_version "$(node --version)"
put npm_version "$("$NPM_BIN" --version)"
put wrk_version "$(/usr/bin/wrk --version 2>&1 | head -1 | awk '{print $2}')"
put rounds "$ROUNDS"
put install_reps "$INSTALL_REPS"
put wrk_secs "$WRK_SECS"
put wrk_conns "$WRK_CONNS"
put packument_ttl "$DOC_TTL"
put doc "$DOC"

mkdir -p "$(dirname "$OUT")"
"$PY" "$HERE/report.py" "$RES" "$OUT" ${SUMMARY:+"$SUMMARY"}
log "wrote $OUT${SUMMARY:+ and the npm section of ${SUMMARY#"$ROOT"/}}"
