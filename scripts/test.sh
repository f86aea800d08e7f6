#!/usr/bin/env bash
# Fresh Debian 12 machine, as root: install dependencies, build, and run the whole test
# suite with ctest. Exits non-zero when any test fails.
#   bash scripts/test.sh              Release build in ./build
#   bash scripts/test.sh --sanitize   the same suite built with AddressSanitizer,
#                                     UndefinedBehaviorSanitizer and LeakSanitizer in
#                                     ./build-sanitize; any sanitizer report fails it
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize=""
case "${1:-}" in
  "") ;;
  --sanitize) sanitize=1 ;;
  *) echo "usage: bash scripts/test.sh [--sanitize]" >&2; exit 2 ;;
esac

bash scripts/install-deps.sh
build=build
if [ -n "$sanitize" ]; then
  build=build-sanitize
  bash scripts/build.sh --sanitize
  # Every process of the suite (test programs, batchproc runs, their workers) writes its
  # sanitizer reports to files under this folder; the run fails when any appears. The test
  # helpers that start batchproc point each run's reports at a file of its own and fail the
  # test that caused them (tests/support/run_helpers.cpp).
  reports="$PWD/$build/sanitizer-reports"
  rm -rf "$reports" && mkdir -p "$reports"
  export BP_SANITIZER_REPORTS="$reports"
  supp="$PWD/tests/sanitizers"
  export ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:abort_on_error=0"
  export UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:halt_on_error=1"
  export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
else
  bash scripts/build.sh
fi

# Unit tests in parallel; integration and package tests one at a time (they start
# process pools and time out hung jobs, so they should not compete for the cores).
status=0
ctest --test-dir "$build" -L unit -j"$(nproc)" --output-on-failure || status=1
ctest --test-dir "$build" -LE unit --output-on-failure || status=1

if [ -n "$sanitize" ] && [ -n "$(ls -A "$reports")" ]; then
  echo "test.sh: sanitizer reports were written (each one fails the run):" >&2
  for f in "$reports"/*; do echo "==== $f" >&2; cat "$f" >&2; done
  status=1
fi
exit $status
