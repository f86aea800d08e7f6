#!/usr/bin/env bash
# The coordinator's memory and time for a million jobs: `validate` (planning) and `run` of
# input.generate jobs whose one stage does almost nothing (sum_of_squares n=1), in processes
# mode with 2 workers, no journal, no report. Wall time and GNU time's maximum RSS (the
# largest process of the run: the coordinator), median of RUNS runs.
#
#   bash bench/coordinator_memory.sh [BUILD_DIR]     Environment: RUNS=3 JOBS=1000000 OUT_DIR=/tmp/bp-coord
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

BUILD="$(resolve_build_dir "${1:-build}")"
BP="$BUILD/bin/batchproc"
RUNS="${RUNS:-3}"
JOBS="${JOBS:-1000000}"
OUT="${OUT_DIR:-/tmp/bp-coord}"
[ -n "$OUT" ] && [ "$OUT" != / ] || die "OUT_DIR must name a scratch folder"
ensure_packages time
rm -rf "$OUT" && mkdir -p "$OUT"
printf '%s\n' "plugins: [sumsq]" "input: {generate: {count: $JOBS}}" "pool: {mode: processes, workers: 2}" \
    "journal: false" "pipeline: [{sum_of_squares: {n: 1}}]" >"$OUT/jobs.yaml"

machine_line
echo "$JOBS generated jobs, median of $RUNS runs"
echo
echo "| command | wall s | peak RSS MB |"
echo "|---|---|---|"
for command in validate run; do
    for ((i = 0; i < RUNS; i++)); do
        /usr/bin/time -f "%e %M" -o "$OUT/time-$command-$i.txt" "$BP" "$command" -q "$OUT/jobs.yaml" >/dev/null
    done
    read -r wall rss < <(time_medians "$OUT"/time-"$command"-*.txt)
    echo "| batchproc $command | $wall | $rss |"
done
