#!/usr/bin/env bash
# Configures and builds batchproc (warnings as errors).
#   bash scripts/build.sh              everything (tests too), Release, in ./build
#   bash scripts/build.sh --app        only the batchproc binary and the bundled plugins, in ./build
#   bash scripts/build.sh --sanitize   AddressSanitizer + UndefinedBehaviorSanitizer build
#                                      in ./build-sanitize (-O1 with line tables; the tests at
#                                      -O0, which halves the build: see tests/CMakeLists.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  --sanitize)
    cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBATCHPROC_STRICT=ON -DBATCHPROC_SANITIZE=ON \
      "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1" "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g1"
    cmake --build build-sanitize -j"$(nproc)"
    ;;
  --app)
    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBATCHPROC_STRICT=ON
    cmake --build build -j"$(nproc)" --target batchproc imgproc sumsq
    ;;
  "")
    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBATCHPROC_STRICT=ON
    cmake --build build -j"$(nproc)"
    ;;
  *)
    echo "usage: bash scripts/build.sh [--app | --sanitize]" >&2
    exit 2
    ;;
esac
