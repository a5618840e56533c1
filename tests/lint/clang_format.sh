#!/usr/bin/env bash
# Fails when a C++ source is not formatted per .clang-format.
set -euo pipefail
cd "$1"
fmt=$(command -v clang-format-14 || command -v clang-format)
mapfile -t files < <(find cache conf daemon upstream tests bench -name '*.cpp' -o -name '*.h' | sort)
"$fmt" --dry-run --Werror "${files[@]}"
echo "clang-format: ${#files[@]} files clean"
