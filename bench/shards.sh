#!/usr/bin/env bash
# What splitting a run into shards costs.
#   1. Planning 1 000 000 generated jobs and keeping shard 0 of 64 (batchproc validate
#      --shard 0/64): wall time and peak RSS (/usr/bin/time), median of RUNS.
#   2. CPU time (user + system, /usr/bin/time) of the thumbnail workload of
#      bench/compare_peers.sh on its small corpus (300 JPEGs; built by compare_peers.sh when
#      missing), as one run and as 4 shards run one after another (the sum of the four),
#      each from a fresh output folder, median of RUNS rounds; the ratio of the two.
#
#   bash bench/shards.sh [BUILD_DIR]        Environment: WORK_DIR=/tmp/bp-peers RUNS=5
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

BUILD="$(resolve_build_dir "${1:-build}")"
BP="$BUILD/bin/batchproc"
WORK="${WORK_DIR:-/tmp/bp-peers}"
RUNS="${RUNS:-5}"
ensure_packages time
S="$WORK/shards"
mkdir -p "$S"
if [ ! -f "$WORK/corpus/small/.stamp" ]; then
    note "building the small corpus with bench/compare_peers.sh"
    WORK_DIR="$WORK" CORPORA=small PEERS=batchproc RUNS=1 WARMUP=0 MEMORY=0 bash "$BENCH_DIR/compare_peers.sh" "$BUILD" >/dev/null
fi
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

machine_line
echo
cat >"$S/generate.yaml" <<EOF
plugins: [sumsq]
input: {generate: {count: 1000000}}
journal: false
pipeline: [{sum_of_squares: {n: 10}}]
EOF
for ((i = 0; i < RUNS; i++)); do
    /usr/bin/time -f "%e %M" -o "$S/plan-$i.txt" "$BP" validate -q "$S/generate.yaml" --shard 0/64 >/dev/null 2>&1
done
echo "1. plan 1 000 000 generated jobs, keep shard 0 of 64: $(cat "$S"/plan-*.txt | awk '{print $1}' | median) s," \
    "peak RSS $(cat "$S"/plan-*.txt | awk '{print $2}' | median | awk '{printf "%.0f", $1/1024}') MB (median of $RUNS)"

cat >"$S/thumbs.yaml" <<EOF
plugins: [imgproc]
input: {paths: [$WORK/corpus/small]}
output: {dir: $S/out}
report: $S/out/report.json
pool: {mode: processes, workers: 2, start_method: forkserver}
pipeline:
  - resize: {max_side: 256, interpolation: area}
  - gaussian_blur: {ksize: 3}
  - save: {format: jpg, quality: 85}
EOF
cpu() { awk '{print $1 + $2}' "$1"; }
for ((i = 0; i < RUNS; i++)); do
    rm -rf "$S/out"
    /usr/bin/time -f "%U %S" -o "$S/one-$i.txt" "$BP" run -q "$S/thumbs.yaml"
    rm -rf "$S/out"
    total=0
    for shard in 0 1 2 3; do
        /usr/bin/time -f "%U %S" -o "$S/shard.txt" "$BP" run -q "$S/thumbs.yaml" --shard "$shard/4"
        total=$(echo "$total $(cpu "$S/shard.txt")" | awk '{print $1 + $2}')
    done
    "$BP" merge -q "$S/thumbs.yaml" >/dev/null || die "merge found the sharded run incomplete"
    echo "$total" >"$S/four-$i.txt"
done
one=$(for f in "$S"/one-*.txt; do cpu "$f"; done | median)
four=$(cat "$S"/four-*.txt | median)
echo "2. CPU time, 300 JPEGs thumbnailed: one run $one s, 4 shards one after another $four s:" \
    "$(echo "$four $one" | awk '{printf "%.3f", $1 / $2}')x (median of $RUNS rounds)"
