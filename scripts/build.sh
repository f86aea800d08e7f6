#!/usr/bin/env bash
# Configures and builds batchproc (warnings as errors).
#   bash scripts/build.sh              Release build in ./build
#   bash scripts/build.sh --sanitize   AddressSanitizer + UndefinedBehaviorSanitizer build
#                                      in ./build-sanitize (-O1 with line tables; the tests at
#                                      -O0, which halves the build: see tests/CMakeLists.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--sanitize" ]; then
  cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBATCHPROC_STRICT=ON -DBATCHPROC_SANITIZE=ON \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1" "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g1"
  cmake --build build-sanitize -j"$(nproc)"
else
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBATCHPROC_STRICT=ON
  cmake --build build -j"$(nproc)"
fi
