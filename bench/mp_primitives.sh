#!/usr/bin/env bash
# batchproc::mp primitives beside Python's multiprocessing, on this machine, in one run:
#
#   bash bench/mp_primitives.sh [BUILD_DIR]          (default BUILD_DIR: build)
#
#   queue_pingpong  put/get round trips between two processes (one Queue each way)
#   queue_oneway    one-way throughput: a child puts N small items (ints), the parent gets them
#   pipe_pingpong   send/recv round trips over a duplex Pipe
#   value_lock      two processes each add 1 to a shared int N times under its lock
#
# Both sides use the fork start method and time the same span: from before the child starts
# to the parent's last answer with the children joined (process start-up included: under a
# millisecond for fork, a fraction of a percent of a run). The C++ side is
# bench/mp_primitives/mp_primitives_bench.cpp, built against an install of the "mp"
# component of BUILD_DIR (as a user would build it); Python's is bench/mp_primitives.py.
# Each figure is the median of RUNS runs; "x Python" is the C++ rate over Python's.
#
# Environment: N_PINGPONG=20000 N_ONEWAY=100000 N_VALUE=100000 RUNS=5 OUT_DIR=/tmp/bp-mp-primitives
#              PYTHON=/usr/bin/python3
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

BUILD="${1:-build}"
[ -d "$BUILD" ] || BUILD="$REPO_ROOT/$BUILD"
[ -f "$BUILD/CMakeCache.txt" ] || die "no configured build tree at $BUILD (cmake -S . -B build -DCMAKE_BUILD_TYPE=Release)"
BUILD="$(cd "$BUILD" && pwd)"
N_PINGPONG="${N_PINGPONG:-20000}"
N_ONEWAY="${N_ONEWAY:-100000}"
N_VALUE="${N_VALUE:-100000}"
RUNS="${RUNS:-5}"
OUT="${OUT_DIR:-/tmp/bp-mp-primitives}"
PY="$(debian_python)"

rm -rf "$OUT"
mkdir -p "$OUT"
note "installing batchproc::mp from $BUILD to $OUT/prefix"
cmake --build "$BUILD" --target batchproc_mp -j2 >/dev/null
cmake --install "$BUILD" --component mp --prefix "$OUT/prefix" >/dev/null
note "building the C++ benchmark against it"
cmake -S "$BENCH_DIR/mp_primitives" -B "$OUT/build" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$OUT/prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF >/dev/null
cmake --build "$OUT/build" -j2 >/dev/null
CXX_BENCH="$OUT/build/mp_primitives_bench"

# median_rate CMD...: runs CMD RUNS times ("<name> <ops> <seconds>" each) and prints the
# median rate in operations per second.
median_rate() {
    local i
    for ((i = 0; i < RUNS; i++)); do "$@"; done |
        awk '{ print $2 / $3 }' | sort -g | awk '{ r[NR] = $1 } END { print r[int((NR + 1) / 2)] }'
}

printf '%-16s %10s %16s %16s %10s\n' benchmark N "batchproc::mp/s" "Python/s" "x Python"
for bench in queue_pingpong queue_oneway pipe_pingpong value_lock; do
    case "$bench" in
        queue_pingpong | pipe_pingpong) n="$N_PINGPONG" ;;
        queue_oneway) n="$N_ONEWAY" ;;
        value_lock) n="$N_VALUE" ;;
    esac
    cxx="$(median_rate "$CXX_BENCH" "$bench" "$n")"
    py="$(median_rate "$PY" "$BENCH_DIR/mp_primitives.py" "$bench" "$n")"
    awk -v b="$bench" -v n="$n" -v c="$cxx" -v p="$py" \
        'BEGIN { printf "%-16s %10d %16.0f %16.0f %9.1fx\n", b, n, c, p, c / p }'
done
echo "(medians of $RUNS runs; $(nproc) CPUs; $("$PY" --version 2>&1); value_lock: N per process, 2 processes)"
