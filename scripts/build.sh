#!/usr/bin/env bash
# Configures and builds batchproc into ./build (Release, warnings as errors).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBATCHPROC_STRICT=ON
cmake --build build -j"$(nproc)"
