#!/usr/bin/env bash
# Fails when a C++ source or header differs from what clang-format makes of it
# under the repository's .clang-format. clang-format-14 (Debian 12's) is the
# reference: other versions format a few constructs differently.
# Fix what it reports with: clang-format-14 -i FILE...
set -euo pipefail
cd "$(dirname "$0")/.."
formatter=$(command -v clang-format-14 || true)
if [[ -z $formatter ]]; then
  echo "lint: clang-format-14 not found (make setup installs it)" >&2
  exit 1
fi
mapfile -t files < <(find src include extension scheduler test/unit test/sql_behaviour test/stress \
  -type f \( -name '*.cpp' -o -name '*.hpp' -o -name '*.h' \) | sort)
if "$formatter" --dry-run --Werror "${files[@]}"; then
  echo "lint: ${#files[@]} files formatted as .clang-format says"
else
  echo "lint: unformatted code above; run clang-format-14 -i on those files" >&2
  exit 1
fi
