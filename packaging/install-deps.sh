#!/usr/bin/env bash
# Installs every Debian package hoard's build, tests and benchmarks need.
# Idempotent and quiet: when everything is present it prints nothing and
# touches nothing (no apt-get update), so it is cheap to run before every build.
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config
  libuv1-dev libcurl4-openssl-dev libssl-dev librocksdb-dev libyaml-cpp-dev
  nlohmann-json3-dev zlib1g-dev node-llhttp catch2
  # lint (checked by ctest)
  clang-format clang-tidy
  # test peers and clients
  docker-registry skopeo containerd umoci curl python3 apache2-utils
  python3-venv  # pip in fresh venvs (ensurepip's bundled wheel)
  # Go: the go command, and real module sources (under /usr/share/gocode) for the GOPROXY fixture
  golang-go golang-golang-x-mod-dev golang-golang-x-sync-dev golang-github-google-uuid-dev
  golang-github-burntsushi-toml-dev golang-github-masterminds-semver-dev golang-github-pkg-errors-dev
  golang-github-davecgh-go-spew-dev golang-github-pmezard-go-difflib-dev
  # promtool checks /metrics (tests/integration/test_metrics.py)
  prometheus
  # benchmark peers
  nginx-light wrk
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
# --no-install-recommends keeps docker-registry/containerd from pulling in
# services we never start; policy-rc.d stops Debian from starting them.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod +x /usr/sbin/policy-rc.d
  trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
fi
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
