#!/usr/bin/env bash
# bench/pypi/run.sh [--quick] [--no-build] [--keep] [--install-reps N] [--out FILE]
#
# Issue 5's benchmark. One run, one machine, 127.0.0.1 only: hoard's PyPI front end (/pypi/) in
# front of the fixture PyPI (tests/fixtures/pypi_index.py's sample universe plus `acme-popular`,
# 300 releases, added by bench/pypi/pypibench.py without touching the fixture). Measures
#   1. warm `pip install --no-cache-dir` wall time of the sample requirements (SAMPLE_REQUIREMENTS,
#      7 distributions, one an sdist pip builds) into a fresh venv (created before the clock starts),
#      (a) through hoard with hoard's cache warm vs (b) straight from the fixture upstream
#      (`--index-url <fixture>/simple/`); median of N interleaved runs and hoard ÷ direct; plus the
#      first install through hoard (hoard cold), once, for reference
#   2. warm project-page GET req/s (wrk, c=50), JSON (Accept: application/vnd.pypi.simple.v1+json)
#      and HTML (Accept: text/html), both with pip's `Accept-Encoding: gzip, deflate`, of
#      acme-core (the largest sample page) and acme-popular (600 files, a few hundred KB), hoard vs
#      nginx serving hoard's own gzip bytes of each page from disk (the ceiling), nginx with
#      `worker_processes 1` (hoard serves from one loop thread) and with `worker_processes auto`
# and writes bench/pypi/RESULTS.md plus a summary between <!-- pypi:begin --> and
# <!-- pypi:end --> in bench/RESULTS.md.
#
# Not a test: nothing here is registered with ctest. Every phase is time-bounded and every
# process this script starts is killed on exit (normal end, error or Ctrl-C).
#
#   --quick     ~1.5 minutes: 1 round of 2 s wrk phases, 1 install per scenario;
#               writes build-bench/pypi-RESULTS-quick.md and touches neither RESULTS.md
#   --no-build  use the existing build-bench/hoard
#   --keep      keep the work directory (logs, store, configs, pip logs, page bodies)
#   --install-reps N  installs per scenario (default 5; the report takes the median)
#   --out FILE  write the report there instead (bench/RESULTS.md is then left alone)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BENCH=bench/pypi
PY=/usr/bin/python3
# log, put, parse_args, pick_outputs, make_workdir, build_hoard, launch_hoard, wait_http, cpu_secs,
# rotated, wrk_figures, put_machine, ...; BUILD and HOARD (build-bench/hoard).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"

CMDLINE="bench/pypi/run.sh${*:+ $*}"
REPS_OPT=""
declare -A VALUE_OPTS=([--install-reps]=REPS_OPT)
parse_args "usage: bench/pypi/run.sh [--quick] [--no-build] [--keep] [--install-reps N] [--out FILE]" "$@"

pick_outputs pypi  # OUT, and SUMMARY (bench/RESULTS.md) for a full run to the default place only
if [[ $QUICK == 1 ]]; then
  ROUNDS=1 WRK_SECS=2 INSTALL_REPS=1
else
  ROUNDS=3 WRK_SECS=4 INSTALL_REPS=5
fi
[[ -z $REPS_OPT ]] || INSTALL_REPS=$REPS_OPT
[[ $INSTALL_REPS =~ ^[1-9][0-9]*$ ]] || { echo "bench/pypi: --install-reps wants a positive number" >&2; exit 2; }
WRK_CONNS=50 WRK_THREADS=2
# Page freshness in hoard: long enough that nothing expires during the run, so "warm" is a pure
# cache hit; the fixture's request counters around each install and each wrk run show it.
PAGE_TTL=30m
POPULAR_VERSIONS=300
export PYTHONDONTWRITEBYTECODE=1  # the helper imports tests/fixtures/pypi_index.py: no caches in the tree
HELPER=$HERE/pypibench.py
JSON_ACCEPT='application/vnd.pypi.simple.v1+json'
HTML_ACCEPT='text/html'
JSON_CTYPE='application/vnd.pypi.simple.v1+json'
HTML_CTYPE='text/html'
PIP_AE='gzip, deflate'  # what pip 23's requests/urllib3 sends
PAGES=(acme-core acme-popular)
FORMS=(json html)

require_tools /usr/sbin/nginx /usr/bin/wrk curl cmake "$PY"
"$PY" -c 'import ensurepip, venv' 2>/dev/null || { echo "bench/pypi: $PY cannot make venvs (python3-venv)" >&2; exit 1; }

make_workdir hoard-pypi-bench
note_load_before

# ---------------------------------------------------------------- build
if [[ $NO_BUILD == 0 ]]; then
  build_hoard pypi-build.log "nothing to measure" || exit 1
elif [[ ! -x $HOARD ]]; then
  log "--no-build, but there is no binary at build-bench/hoard"
  exit 1
fi

# ---------------------------------------------------------------- fixture upstream
log "starting the fixture PyPI (sample universe + acme-popular, ${POPULAR_VERSIONS} releases)"
"$PY" "$HELPER" serve --popular-versions "$POPULAR_VERSIONS" >"$WORK/fixture.out" 2>"$WORK/fixture.err" &
FIXTURE_PID=$!
PIDS+=("$FIXTURE_PID")
wait_until "$FIXTURE_PID" 300 has_lines "$WORK/fixture.out" 2 || true
has_lines "$WORK/fixture.out" 2 || { log "the fixture did not start:"; tail -5 "$WORK/fixture.err" >&2; exit 1; }
FIX_INDEX=$(sed -n 1p "$WORK/fixture.out")   # http://127.0.0.1:P/simple
FIX_FILES=$(sed -n 2p "$WORK/fixture.out")   # http://127.0.0.1:Q
FIX_ORIGIN=${FIX_INDEX%/simple}
wait_http "$FIX_ORIGIN/-/fixture/counts" fixture "$FIXTURE_PID"

# ---------------------------------------------------------------- hoard
HD=$WORK/hoard
mkdir -p "$HD/store"
# Port 0: hoard picks a free port and writes where it listens to the ready file.
cat >"$HD/hoard.yml" <<EOF
listen: 127.0.0.1:0
store: { path: $HD/store }
log: { access: "" }
upstreams:
  - name: pyfix
    kind: pypi
    url: $FIX_INDEX
    file_hosts: [$FIX_FILES]
    manifest_ttl: $PAGE_TTL
EOF
log "starting hoard"
launch_hoard "$HD" || exit 1  # sets HOARD_PID and HOARD_ADDR
HOARD_URL=http://$HOARD_ADDR
wait_http "$HOARD_URL/-/metrics" hoard "$HOARD_PID"
hoard_upstream_count() {  # hoard's own count of upstream requests (pages and files)
  curl -s --max-time 5 "$HOARD_URL/-/metrics" | awk '/^hoard_upstream_requests_total/ { n += $NF } END { print n + 0 }'
}

# ---------------------------------------------------------------- pip client
# Debian's pip in fresh venvs, isolated: its own HOME, no config file, no version check, and
# every non-loopback URL sent to a proxy on port 9 (discard) that never answers.
PHOME=$WORK/pip-home
mkdir -p "$PHOME"
PIP_ENV=(env -i PATH=/usr/bin:/bin HOME="$PHOME" XDG_CONFIG_HOME="$PHOME/.config" XDG_CACHE_HOME="$PHOME/.cache"
  LANG=C.UTF-8 PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
  http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 no_proxy=127.0.0.1)
mapfile -t SAMPLE_REQS < <("$PY" -c "import sys; sys.path.insert(0, '$ROOT/tests/fixtures'); import pypi_index; print('\n'.join(pypi_index.SAMPLE_REQUIREMENTS))")
[[ ${#SAMPLE_REQS[@]} -gt 0 ]] || { log "could not read SAMPLE_REQUIREMENTS"; exit 1; }

# Every venv is made before any timed install: the clock covers `pip install` only.
VENVS=("first-hoard")
for ((r = 1; r <= INSTALL_REPS; r++)); do VENVS+=("hoard-r$r" "direct-r$r"); done
log "creating ${#VENVS[@]} venvs ($PY -m venv)"
for v in "${VENVS[@]}"; do
  timeout 120 "$PY" -m venv "$WORK/venv-$v" >"$WORK/venv-$v.log" 2>&1 || { log "venv $v failed:"; tail -5 "$WORK/venv-$v.log" >&2; exit 1; }
done
sync
PIP_VERSION=$("${PIP_ENV[@]}" "$WORK/venv-first-hoard/bin/python" -m pip --version | awk '{print $2}')
# pip's own files into the page cache, so that the first timed install does not pay for that.
for _ in 1 2; do "${PIP_ENV[@]}" "$WORK/venv-first-hoard/bin/python" -m pip --version >/dev/null 2>&1 || true; done

pip_install() {  # pip_install TARGET(hoard|direct) VENV KEY: one timed install, checked, recorded
  local target=$1 venv=$WORK/venv-$2 key=$3 index dlbase pid t0 t1 rc=0 cpu0 up0 hup0 line
  if [[ $target == hoard ]]; then
    index=$HOARD_URL/pypi/simple/ dlbase=$HOARD_URL/pypi/files/ pid=$HOARD_PID
  else
    index=$FIX_INDEX/ dlbase=$FIX_FILES/packages/ pid=$FIXTURE_PID
  fi
  up0=$(fixture_count "$FIX_ORIGIN")
  hup0=$(hoard_upstream_count)
  cpu0=$(cpu_secs "$pid")
  t0=$EPOCHREALTIME
  "${PIP_ENV[@]}" timeout 180 "$venv/bin/python" -m pip install --no-cache-dir --index-url "$index" \
    "${SAMPLE_REQS[@]}" >"$venv.pip.log" 2>&1 || rc=$?
  t1=$EPOCHREALTIME
  line="wall_s=$(elapsed "$t0" "$t1") rc=$rc server_cpu_s=$(cpu_delta "$cpu0" "$(cpu_secs "$pid")")"
  line+=" fixture_requests=$(count_delta "$up0" "$(fixture_count "$FIX_ORIGIN")") hoard_upstream_requests=$(($(hoard_upstream_count) - hup0))"
  line+=" $("$PY" "$HELPER" installed "$venv" "$venv.pip.log" "$dlbase")"
  log "  install $key $target: $line"
  put "${key}_$target" "$line"
  if [[ $rc != 0 ]]; then tail -5 "$venv.pip.log" | sed 's/^/    pip: /' >&2; fi
}

# The first install through hoard: hoard cold. It fills hoard's cache (pages and files).
log "first install through hoard (hoard cold)"
pip_install hoard first-hoard first

# ---------------------------------------------------------------- page checks, nginx
accept_of() { if [[ $1 == json ]]; then echo "$JSON_ACCEPT"; else echo "$HTML_ACCEPT"; fi; }
ctype_of() { if [[ $1 == json ]]; then echo "$JSON_CTYPE"; else echo "$HTML_CTYPE"; fi; }

# hoard's pages, checked against the fixture's files; the bodies become nginx's files. acme-popular
# is fetched here for the first time (a miss that fills hoard), then once more as a hit.
BODIES=$WORK/bodies
mkdir -p "$BODIES"
HOARD_CHECK=1
for pg in "${PAGES[@]}"; do
  for f in "${FORMS[@]}"; do
    for _ in 1 2; do  # the first may be the miss that fills hoard; the second is a hit
      line=$("$PY" "$HELPER" page "$HOARD_URL/pypi/simple/$pg/" "$(accept_of "$f")" "$(ctype_of "$f")" "$pg" "$FIX_ORIGIN" "$BODIES/$pg.$f.gz")
    done
    log "  hoard $pg $f+gzip: $line"
    put "page_${pg}_$f" "$line"
    [[ $line == ok=1* ]] || HOARD_CHECK=0
  done
done
put hoard_check "$HOARD_CHECK"
[[ $HOARD_CHECK == 1 ]] || log "WARNING: hoard's pages failed their checks; its req/s figures will be withheld"

declare -A PID PORT
PID[hoard]=$HOARD_PID
PORT[hoard]=${HOARD_ADDR##*:}
start_nginx() {  # start_nginx NAME WORKERS
  local name=$1 d=$WORK/$1 port pg
  port=$(free_port)
  mkdir -p "$d/tmp" "$d/root/_pages"
  for pg in "${PAGES[@]}"; do cp "$BODIES/$pg.json.gz" "$BODIES/$pg.html.gz" "$d/root/_pages/"; done
  # Same URL as hoard; the form picked by Accept (JSON when it names the PEP 691 JSON type, as
  # for pip's Accept list), hoard's Content-Type, Content-Encoding: gzip and Vary. A named
  # capture and a non-capturing map regex: evaluating the map must not clobber the project.
  cat >"$d/nginx.conf" <<EOF
$([[ $(id -u) == 0 ]] && echo 'user root;')
worker_processes $2;
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
  map \$http_accept \$simple_form {
    default html;
    "~application/vnd\\.pypi\\.simple\\.(?:v1|latest)\\+json" json;
  }
  server {
    listen 127.0.0.1:$port;
    root $d/root;
    location /pypi/simple/ {
      rewrite "^/pypi/simple/(?<project>[a-z0-9-]+)/\$" /_pages/\$project.\$simple_form.gz last;
      return 404;
    }
    location ~ \\.json\\.gz\$ {
      internal;
      default_type "$JSON_CTYPE";
      add_header Content-Encoding gzip;
      add_header Vary "Accept, Accept-Encoding";
    }
    location ~ \\.html\\.gz\$ {
      internal;
      default_type "$HTML_CTYPE";
      add_header Content-Encoding gzip;
      add_header Vary "Accept, Accept-Encoding";
    }
  }
}
EOF
  /usr/sbin/nginx -c "$d/nginx.conf" -p "$d" -g 'daemon off;' >"$d/stdout.log" 2>&1 &
  PID[$name]=$!
  PIDS+=("${PID[$name]}")
  PORT[$name]=$port
  wait_http "http://127.0.0.1:$port/pypi/simple/acme-core/" "nginx ($name)" "${PID[$name]}"
}
SERVERS=(hoard)
if start_nginx nginx1 1; then SERVERS+=(nginx1); fi
if start_nginx nginxN auto; then SERVERS+=(nginxN); fi
if [[ -n ${PID[nginxN]:-} ]]; then
  put nginx_auto_workers "$(cat /proc/"${PID[nginxN]}"/task/*/children 2>/dev/null | wc -w)"
fi

# Every wrk target, once with curl: status 200, hoard's exact bytes (so the same length), gzip,
# the Content-Type; and the size of the response head, which differs between servers.
for s in "${SERVERS[@]}"; do
  ok=1
  for pg in "${PAGES[@]}"; do
    for f in "${FORMS[@]}"; do
      out=$WORK/curl.$s.$pg.$f
      w=$(curl -s --max-time 10 -o "$out.body" -D "$out.head" -w '%{http_code} %{size_download} %{size_header}' \
        -H "Accept: $(accept_of "$f")" -H "Accept-Encoding: $PIP_AE" "http://127.0.0.1:${PORT[$s]}/pypi/simple/$pg/" || echo "000 0 0")
      read -r st n hn <<<"$w"
      ct=$(awk -F': ' 'tolower($1) == "content-type" { sub(/\r$/, "", $2); print $2 }' "$out.head")
      ce=$(awk -F': ' 'tolower($1) == "content-encoding" { sub(/\r$/, "", $2); print $2 }' "$out.head")
      same=0
      cmp -s "$out.body" "$BODIES/$pg.$f.gz" && same=1
      good=0
      [[ $st == 200 && $same == 1 && $ce == gzip && $ct == "$(ctype_of "$f")" ]] && good=1
      [[ $good == 1 ]] || ok=0
      line="ok=$good status=$st bytes=$n head_bytes=$hn same_bytes_as_hoard=$same ctype=${ct// /_} encoding=${ce:--}"
      log "  curl $s $pg $f: $line"
      put "curl_${pg}_${f}_$s" "$line"
    done
  done
  put "check_$s" "$ok"
done

# ---------------------------------------------------------------- 1. warm page req/s
for f in "${FORMS[@]}"; do
  cat >"$WORK/$f.lua" <<EOF
wrk.method = "GET"
wrk.headers["Accept"] = "$(accept_of "$f")"
wrk.headers["Accept-Encoding"] = "$PIP_AE"
wrk.headers["User-Agent"] = "pip/23.0.1 {\"installer\":{\"name\":\"pip\",\"version\":\"23.0.1\"}}"
EOF
done
to_bytes() {  # wrk's "1.23MB" -> bytes
  awk -v v="$1" 'BEGIN { m = 1; if (v ~ /KB$/) m = 1024; else if (v ~ /MB$/) m = 1048576; else if (v ~ /GB$/) m = 1073741824;
    sub(/[KMG]?B$/, "", v); printf "%.0f", v * m }'
}
run_wrk() {  # run_wrk SERVER PAGE FORM ROUND
  local s=$1 pg=$2 f=$3 r=$4 out=$WORK/wrk.$1.$2.$3.r$4 cpu0 up0 hup0=0 line reqs rd
  cpu0=$(cpu_secs "${PID[$s]}")
  up0=$(fixture_count "$FIX_ORIGIN")
  [[ $s != hoard ]] || hup0=$(hoard_upstream_count)
  timeout $((WRK_SECS + 30)) /usr/bin/wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${WRK_SECS}s" --timeout 10s --latency \
    -s "$WORK/$f.lua" "http://127.0.0.1:${PORT[$s]}/pypi/simple/$pg/" >"$out" 2>&1 || true
  reqs=$(awk '/requests in/ { print $1 }' "$out")
  rd=$(to_bytes "$(awk '/requests in/ { print $5 }' "$out")")
  line="$(wrk_figures "$out") bytes_per_resp=$(awk -v b="$rd" -v n="${reqs:-0}" 'BEGIN { if (n > 0) printf "%.0f", b / n; else print "?" }')"
  line+=" server_cpu_s=$(cpu_delta "$cpu0" "$(cpu_secs "${PID[$s]}")") fixture_requests=$(count_delta "$up0" "$(fixture_count "$FIX_ORIGIN")")"
  [[ $s != hoard ]] || line+=" hoard_upstream_requests=$(($(hoard_upstream_count) - hup0))"
  log "  wrk $pg $f $s: $line"
  put "rq_${pg}_${f}_r${r}_$s" "$line"
}
for ((r = 1; r <= ROUNDS; r++)); do
  for pg in "${PAGES[@]}"; do
    for f in "${FORMS[@]}"; do
      log "page GET $pg $f+gzip (wrk) round $r/$ROUNDS: c=$WRK_CONNS, ${WRK_SECS}s per server"
      for s in $(rotated "$r" "${SERVERS[@]}"); do run_wrk "$s" "$pg" "$f" "$r"; done
    done
  done
done

# ---------------------------------------------------------------- 2. warm pip install
for ((r = 1; r <= INSTALL_REPS; r++)); do
  log "pip install round $r/$INSTALL_REPS: through hoard (warm) and straight from the fixture"
  for t in $(rotated "$r" hoard direct); do pip_install "$t" "$t-r$r" "inst_r$r"; done
done

for s in "${SERVERS[@]}"; do
  put "rss_$s" "$(peak_rss_mib "${PID[$s]}")"
  if kill -0 "${PID[$s]}" 2>/dev/null; then put "alive_$s" 1; else put "alive_$s" 0; log "$s EXITED during the run"; fi
done

# ---------------------------------------------------------------- report
put_machine
put quick "$QUICK"
put cmdline "$CMDLINE"
put nginx_version "$(/usr/sbin/nginx -v 2>&1 | sed 's/.*version: //')"
put wrk_version "$(/usr/bin/wrk --version 2>&1 | head -1 | awk '{print $2}')"
put python_version "$("$PY" --version 2>&1 | awk '{print $2}')"
put pip_version "$PIP_VERSION"
put rounds "$ROUNDS"
put install_reps "$INSTALL_REPS"
put wrk_secs "$WRK_SECS"
put wrk_conns "$WRK_CONNS"
put wrk_threads "$WRK_THREADS"
put ttl_pages "$PAGE_TTL"
put popular_versions "$POPULAR_VERSIONS"
put sample_requirements "${SAMPLE_REQS[*]}"

mkdir -p "$(dirname "$OUT")"
"$PY" "$HERE/report.py" "$RES" "$OUT" ${SUMMARY:+"$SUMMARY"}
log "wrote $OUT${SUMMARY:+ and the pypi section of bench/RESULTS.md}"
