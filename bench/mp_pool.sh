#!/usr/bin/env bash
# Pool.map of N trivial tasks (x*x), batchproc::mp against Python's multiprocessing.Pool,
# side by side in one run, with chunksize 1 and 64. Prints the median time of RUNS maps
# after one warm-up map, the throughput, and the ratio.
#
# knobs: BUILD_DIR=/work/build-pool WORKERS=2 N=100000 RUNS=5 CHUNKSIZES="1 64"
#        METHOD=fork (batchproc's start method; Python's is fork) PYTHON=/usr/bin/python3
set -euo pipefail
. "$(dirname "$0")/lib.sh"

BUILD_DIR=${BUILD_DIR:-$REPO_ROOT/build}
WORKERS=${WORKERS:-2}
N=${N:-100000}
RUNS=${RUNS:-5}
CHUNKSIZES=${CHUNKSIZES:-"1 64"}
METHOD=${METHOD:-fork}
PY=$(debian_python)

LIB=$BUILD_DIR/lib/libbatchproc_mp.a
[ -f "$LIB" ] || die "no $LIB: build the batchproc_mp target in $BUILD_DIR first"
BIN=$(mktemp -d)/mp_pool_map
trap 'rm -rf "$(dirname "$BIN")"' EXIT
note "compiling bench/mp/pool_map.cpp against $LIB"
${CXX:-c++} -O2 -std=c++17 -I"$REPO_ROOT/framework/include" "$BENCH_DIR/mp/pool_map.cpp" "$LIB" -lpthread -lrt -o "$BIN"

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

echo "Pool.map of $N trivial tasks, $WORKERS workers, median of $RUNS runs ($(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
printf '%-10s %14s %14s %14s %14s %8s\n' chunksize "C++ s" "Python s" "C++ tasks/s" "Py tasks/s" ratio
for c in $CHUNKSIZES; do
    cpp=$("$BIN" "$WORKERS" "$N" "$c" "$RUNS" "$METHOD" | median)
    py=$("$PY" "$BENCH_DIR/mp/pool_map.py" "$WORKERS" "$N" "$c" "$RUNS" | median)
    awk -v c="$c" -v a="$cpp" -v b="$py" -v n="$N" \
        'BEGIN {printf "%-10s %14.4f %14.4f %14.0f %14.0f %7.1fx\n", c, a, b, n/a, n/b, b/a}'
done
