#!/bin/sh
# Regenerates the go_dirhash test vectors: Python's zipfile makes some zips,
# golang.org/x/mod/zip makes the module zip, and golang.org/x/mod's dirhash
# computes every expected h1 (needs golang-golang-x-mod-dev; no network).
set -eu
cd "$(dirname "$0")"
python3 gen.py
tmp=$(mktemp -d)
GO111MODULE=off GOPATH="$tmp:/usr/share/gocode" GOCACHE="$tmp/cache" go run vec.go .
rm -rf "$tmp"
