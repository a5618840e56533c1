#!/bin/sh
# containerd-hosts.sh HOARD_URL DIR [REGISTRY...]: writes DIR/<registry>/hosts.toml for each
# REGISTRY (default: docker.io ghcr.io quay.io registry.k8s.io) so that containerd clients in a
# CI job (nerdctl, ctr --hosts-dir, buildkit's containerd worker) pull through the hoard sidecar
# at HOARD_URL and fall back to the registry itself when hoard does not answer.
#
# For job images without hoard in them; the files carry the same settings as
# `hoard hosts-toml REGISTRY --url HOARD_URL` (tests/integration/test_packaging.py compares).
# POSIX sh, no dependencies.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 HOARD_URL DIR [REGISTRY...]" >&2; exit 2; }
url=${1%/}
dir=$2
shift 2
[ $# -gt 0 ] || set -- docker.io ghcr.io quay.io registry.k8s.io
for reg in "$@"; do
  # Docker Hub's registry API is not on docker.io itself.
  if [ "$reg" = docker.io ]; then server=registry-1.docker.io; else server=$reg; fi
  mkdir -p "$dir/$reg"
  cat >"$dir/$reg/hosts.toml.new" <<EOT
# Pull $reg through hoard at $url (written by packaging/ci/containerd-hosts.sh).

server = "https://$server"

[host."$url"]
  capabilities = ["pull", "resolve"]
EOT
  mv "$dir/$reg/hosts.toml.new" "$dir/$reg/hosts.toml"
done
