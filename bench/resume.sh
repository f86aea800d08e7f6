#!/usr/bin/env bash
# What the journal costs and what resume saves, on this machine, in one run of this script:
#
#   bash bench/resume.sh [BUILD_DIR]          (default BUILD_DIR: build)
#
# 1. Generated jobs: JOBS_GEN (100 000) empty jobs (sumsq n = 0) in processes mode, the first
#    run (journal fresh, --force) against a rerun with nothing changed (every job unchanged).
# 2. Files: FILES (20 000) small PNG files (copies of one 48x32 image), resize + save, the
#    first run against a rerun; side by side, GNU parallel copying the same files with
#    --joblog (one timed run: it starts a process per file), then again with --resume (its
#    rerun also runs nothing).
# 3. Journal cost: 20 000 empty jobs (the dispatch benchmark's workload), journal off
#    against journal on, both a first run (no journal yet) and a run with --force over the
#    previous run's journal; JOURNAL_RUNS (30) interleaved rounds (bench/interleave.py),
#    medians, as the difference sought (10%) is within one run's noise here.
# 4. fsync cost: the thumbnail pipeline of configs/images.yaml over 59 copies of each sample
#    photo (472 files), output.durable true against false.
#
# Each timing is the median of RUNS (3) runs of the whole command, wall clock.
# Environment: JOBS_GEN=100000 FILES=20000 RUNS=3 JOURNAL_RUNS=30 WORKERS=2 OUT_DIR=/tmp/bp-resume
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

BUILD="$(resolve_build_dir "${1:-build}")"
BP="$BUILD/bin/batchproc"
JOBS_GEN="${JOBS_GEN:-100000}"
FILES="${FILES:-20000}"
RUNS="${RUNS:-3}"
JOURNAL_RUNS="${JOURNAL_RUNS:-30}"
WORKERS="${WORKERS:-2}"
OUT="${OUT_DIR:-/tmp/bp-resume}"
[ -n "$OUT" ] && [ "$OUT" != / ] || die "OUT_DIR must name a scratch folder"
ensure_packages parallel bc python3 python3-opencv
PY="$(debian_python)"

rm -rf "$OUT" && mkdir -p "$OUT"

# median_of CMD...: runs CMD RUNS times (output discarded), prints the median wall time in s.
median_of() {
    local times=() t0 t1 i
    for ((i = 0; i < RUNS; i++)); do
        t0=$(date +%s.%N)
        "$@" >/dev/null 2>&1 || true
        t1=$(date +%s.%N)
        times+=("$(echo "$t1 - $t0" | bc -l)")
    done
    printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)]}'
}
ratio() { echo "scale=4; $1 / $2" | bc -l | awk '{printf "%.3f", $1}'; }

note "1. $JOBS_GEN generated jobs"
printf '%s\n' "plugins: [sumsq]" "input: {generate: {count: $JOBS_GEN}}" \
    "pool: {mode: processes, workers: $WORKERS, timeout: 0}" "journal: $OUT/gen-journal/journal.sqlite" \
    "pipeline: [{sum_of_squares: {n: 0}}]" >"$OUT/gen.yaml"
gen_first=$(median_of "$BP" run -q "$OUT/gen.yaml" --force)
"$BP" run -q "$OUT/gen.yaml" --force
gen_rerun=$(median_of "$BP" run -q "$OUT/gen.yaml")

note "2. $FILES small files, and GNU parallel on the same files"
mkdir -p "$OUT/files"
"$PY" -c '
import os, shutil, sys
import cv2, numpy as np
folder, n = sys.argv[1], int(sys.argv[2])
img = (np.arange(48 * 32 * 3, dtype=np.uint32) % 251).astype(np.uint8).reshape(32, 48, 3)
first = os.path.join(folder, "f000000.png")
cv2.imwrite(first, img)
for i in range(1, n):
    shutil.copyfile(first, os.path.join(folder, "f%06d.png" % i))
' "$OUT/files" "$FILES"
printf '%s\n' "plugins: [imgproc]" "input: {paths: [$OUT/files]}" "output: {dir: $OUT/files-out}" \
    "pool: {mode: processes, workers: $WORKERS}" "pipeline:" "  - resize: {max_side: 24}" \
    "  - save: {format: png}" >"$OUT/files.yaml"
files_first=$(median_of "$BP" run -q "$OUT/files.yaml" --force)
"$BP" run -q "$OUT/files.yaml" --force
files_rerun=$(median_of "$BP" run -q "$OUT/files.yaml")
mkdir -p "$OUT/parallel-out"
par() { (cd "$OUT/files" && ls | parallel -j"$WORKERS" --joblog "$OUT/joblog" "$@" cp {} "$OUT/parallel-out/"); }
par_fresh() { rm -f "$OUT/joblog"; par; }
# GNU parallel starts a process per file (about 100 s for 20 000 here): one timed first run.
par_first=$(RUNS=1 median_of par_fresh)
par_rerun=$(median_of par --resume)

note "3. the journal's cost on the dispatch workload ($JOURNAL_RUNS interleaved rounds)"
for j in off on; do
    journal=false
    [ "$j" = on ] && journal="$OUT/dispatch-journal/journal.sqlite"
    printf '%s\n' "plugins: [sumsq]" "input: {generate: {count: 20000}}" \
        "pool: {mode: processes, workers: $WORKERS, timeout: 0}" "journal: $journal" \
        "pipeline: [{sum_of_squares: {n: 0}}]" >"$OUT/dispatch-$j.yaml"
done
# off; on, first run (no journal yet); on, --force over the journal of the previous round.
"$PY" "$(dirname "$0")/interleave.py" "$JOURNAL_RUNS" 2 \
    "off=$BP run -q $OUT/dispatch-off.yaml" \
    "first=rm -rf $OUT/dispatch-journal && $BP run -q $OUT/dispatch-on.yaml" \
    "force=$BP run -q $OUT/dispatch-on.yaml --force" >"$OUT/journal-cost.txt"
field() { awk -v n="$1" -v c="$2" '$1 == n {print $c}' "$OUT/journal-cost.txt"; }
disp_off=$(field off 2)
disp_first=$(field first 2)
disp_force=$(field force 2)

note "4. fsync's cost on 59 copies of the sample photos"
mkdir -p "$OUT/photos"
for ((k = 0; k < 59; k++)); do
    for f in "$REPO_ROOT"/samples/images/*.*; do
        case "$f" in *.md) continue ;; esac
        cp "$f" "$OUT/photos/c$k-$(basename "$f")"
    done
done
photos=$(find "$OUT/photos" -type f | wc -l)
for d in true false; do
    printf '%s\n' "plugins: [imgproc]" "input: {paths: [$OUT/photos]}" "output: {dir: $OUT/thumbs-$d, durable: $d}" \
        "pool: {mode: processes, workers: $WORKERS}" "journal: false" "pipeline:" \
        "  - resize: {max_side: 256, interpolation: area}" "  - gaussian_blur: {ksize: 3}" \
        "  - save: {format: jpg, quality: 85}" >"$OUT/thumbs-$d.yaml"
done
durable_on=$(median_of "$BP" run -q "$OUT/thumbs-true.yaml")
durable_off=$(median_of "$BP" run -q "$OUT/thumbs-false.yaml")

machine_line
echo "median of $RUNS runs, wall clock of the whole command, $WORKERS workers"
echo
echo "| workload | first run s | rerun (nothing changed) s | rerun / first |"
echo "|---|---|---|---|"
echo "| batchproc, $JOBS_GEN generated jobs | $gen_first | $gen_rerun | $(ratio "$gen_rerun" "$gen_first") |"
echo "| batchproc, $FILES small PNG files (resize + save) | $files_first | $files_rerun | $(ratio "$files_rerun" "$files_first") |"
echo "| GNU parallel --joblog / --resume, cp of the same $FILES files | $par_first | $par_rerun | $(ratio "$par_rerun" "$par_first") |"
echo
echo "| workload | off s | on s | on / off |"
echo "|---|---|---|---|"
echo "| journal, 20000 empty jobs (dispatch), first run | $disp_off | $disp_first | $(field first 3) |"
echo "| journal, 20000 empty jobs (dispatch), --force over the last run's journal | $disp_off | $disp_force | $(field force 3) |"
echo "| output.durable (fsync), thumbnails of $photos photos | $durable_off | $durable_on | $(ratio "$durable_on" "$durable_off") |"
