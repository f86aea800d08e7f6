#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (clang, AddressSanitizer, UndefinedBehaviorSanitizer)
# in ./build-fuzz and runs them. Fresh Debian 12 machine, as root:
#   bash scripts/fuzz.sh [SECONDS]     default 60; CI runs 60
# First every file of tests/fuzz/regressions/<target>/ is run once (each is an input that
# once crashed); then each target fuzzes for SECONDS, two at a time, starting from a copy of
# tests/fuzz/corpus/<target>/ (the copy, build-fuzz/fuzz-corpus/<target>, keeps what it
# finds between runs; the seed corpus is never written). SECONDS=0 runs the regression
# inputs and the seed corpus once each, without fuzzing.
# Exits non-zero when a regression input fails or a target finds a crash, a sanitizer
# report, a leak, a timeout (-timeout=10 s an input) or an out-of-memory (-rss_limit_mb=2048),
# printing the reproducer and the command that replays it.
# BATCHPROC_FUZZ_BUILD=DIR builds elsewhere than ./build-fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ $# -gt 1 ]; then
  echo "usage: bash scripts/fuzz.sh [SECONDS]" >&2
  exit 2
fi
build="${BATCHPROC_FUZZ_BUILD:-build-fuzz}"
parallel=2

bash scripts/install-deps.sh --fuzz
start=$SECONDS
# Only the fuzzers and what they link (the option builds no tests, plugins or samples).
cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DBATCHPROC_FUZZ=ON "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" \
  "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" >/dev/null
cmake --build "$build" -j"$parallel" --target batchproc_fuzzers
echo "fuzz.sh: built in $((SECONDS - start)) s"

targets=()
for source in tests/fuzz/fuzz_*.cpp; do
  name=$(basename "$source" .cpp)
  targets+=("${name#fuzz_}")
done

export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-14/bin/llvm-symbolizer
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=0:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$PWD/tests/fuzz/lsan.supp:print_suppressions=0"
flags=(-rss_limit_mb=2048 -timeout=10)
runs="$build/fuzz-runs"
rm -rf "$runs"
mkdir -p "$runs"
status=0
passed=0
failed=0

# The last lines of a failing run's log: the sanitizer's report and libFuzzer's verdict.
show_log() {
  echo "---- last lines of $1" >&2
  tail -n 80 "$1" >&2
  echo "----" >&2
}

# 1. Regression inputs: every file, once.
start=$SECONDS
for t in "${targets[@]}"; do
  dir="tests/fuzz/regressions/$t"
  [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ] || continue
  log="$runs/regressions-$t.log"
  if ! "$build/bin/fuzz_$t" "${flags[@]}" "$dir"/* >"$log" 2>&1; then
    input=$(grep -o '^Running: .*' "$log" | tail -n 1 | cut -c 10-)
    echo "fuzz.sh: regression input ${input:-of $dir} fails fuzz_$t again (replay: $build/bin/fuzz_$t $input)" >&2
    show_log "$log"
    failed=$((failed + 1))
    status=1
  fi
done
echo "fuzz.sh: regression inputs run in $((SECONDS - start)) s"

# 2. Fuzzing, two targets at a time. Each writes its crash reproducer into $runs/<target>/.
run_target() {
  local t=$1 corpus="$build/fuzz-corpus/$1" out="$runs/$1" rc=0
  mkdir -p "$corpus" "$out"
  [ -d "tests/fuzz/corpus/$t" ] && cp -n "tests/fuzz/corpus/$t"/* "$corpus"/ 2>/dev/null || true
  local limit=(-max_total_time="$seconds")
  [ "$seconds" -eq 0 ] && limit=(-runs=0)
  "$build/bin/fuzz_$t" "${flags[@]}" "${limit[@]}" -print_final_stats=1 -artifact_prefix="$out/" \
    "$corpus" >"$out/log" 2>&1 || rc=$?
  echo "$rc" >"$out/rc"
}

start=$SECONDS
running=0
for t in "${targets[@]}"; do
  run_target "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$parallel" ]; then
    wait -n
    running=$((running - 1))
  fi
done
wait

for t in "${targets[@]}"; do
  out="$runs/$t"
  rc=$(cat "$out/rc")
  artifacts=$(find "$out" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
    -o -name 'oom-*' -o -name 'slow-unit-*' \) | sort)
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out/log" | grep -o '[0-9]*$' || true)
  cov=$(grep -o 'cov: [0-9]*' "$out/log" | tail -n 1 | cut -c 6- || true)
  if [ "$rc" -eq 0 ] && [ -z "$(echo "$artifacts" | grep -v slow-unit || true)" ]; then
    echo "fuzz.sh: fuzz_$t ok: ${execs:-?} inputs, coverage ${cov:-?} edges"
    passed=$((passed + 1))
    continue
  fi
  failed=$((failed + 1))
  status=1
  echo "fuzz.sh: fuzz_$t FAILED (exit $rc)" >&2
  for a in $artifacts; do
    echo "fuzz.sh: reproducer $a (replay: $build/bin/fuzz_$t $a)" >&2
    # In CI the file goes with the machine: its bytes, to recreate it with base64 -d.
    if [ "$(stat -c %s "$a")" -le 65536 ]; then
      echo "fuzz.sh: its bytes, base64: $(base64 -w0 "$a")" >&2
    fi
  done
  show_log "$out/log"
done
echo "fuzz.sh: fuzzed ${#targets[@]} targets ${seconds} s each in $((SECONDS - start)) s"
echo "fuzz: $passed passed, $failed failed"
exit $status
