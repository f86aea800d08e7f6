#!/usr/bin/env bash
# Fresh Debian 12 machine, as root: install dependencies, build, and run the whole test
# suite with ctest. Exits non-zero when any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
# Unit tests in parallel; integration and package tests one at a time (they start
# process pools and time out hung jobs, so they should not compete for the cores).
status=0
ctest --test-dir build -L unit -j"$(nproc)" --output-on-failure || status=1
ctest --test-dir build -LE unit --output-on-failure || status=1
exit $status
