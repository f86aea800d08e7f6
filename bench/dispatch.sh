#!/usr/bin/env bash
# Process-pool dispatch throughput: empty jobs through batchproc's processes mode, for each
# start method, next to Python's concurrent.futures.ProcessPoolExecutor doing the same.
#
#   bash bench/dispatch.sh [BUILD_DIR]          (default BUILD_DIR: build)
#
# The workload: JOBS generated jobs (input: {generate: {count: JOBS}}), one stage that does
# nothing (sum_of_squares with n = 0, from the bundled sumsq plugin), no output, no report,
# WORKERS workers. Python: ProcessPoolExecutor(max_workers=WORKERS).map(empty, range(JOBS),
# chunksize=1) (bench/py_dispatch.py).
#
# jobs/s = JOBS / wall time of the whole command, measured by hyperfine from outside:
# process start-up (dynamic linking, interpreter start), config, planning, pool start-up,
# the jobs, shutdown. Nothing is subtracted. Each command: WARMUP warm-up run(s), then
# RUNS timed runs; the table shows the median.
#
# Then, to explain the figures: the fixed cost (the same commands with 1 job), batchproc's
# own pool-only timing, per-job counters of one run (perf stat: CPU time, context
# switches; strace -c: system calls) and the wall-time phases of a run (strace timestamps:
# start-up, config + plan, pool, exit). PROFILE=callgrind adds an instruction profile by
# function (valgrind; slow, about 30 s).
#
# Environment: JOBS=20000 WORKERS=2 RUNS=3 WARMUP=1 OUT_DIR=/tmp/bp-dispatch
#              METHODS="fork spawn forkserver"  PY_METHODS="fork spawn forkserver"
#              PROFILE=stat (default) | none | callgrind   PYTHON=/usr/bin/python3
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

BUILD="$(resolve_build_dir "${1:-build}")"
BP="$BUILD/bin/batchproc"
JOBS="${JOBS:-20000}"
WORKERS="${WORKERS:-2}"
RUNS="${RUNS:-3}"
WARMUP="${WARMUP:-1}"
OUT="${OUT_DIR:-/tmp/bp-dispatch}"
METHODS="${METHODS:-fork spawn forkserver}"
PY_METHODS="${PY_METHODS:-fork spawn forkserver}"
PROFILE="${PROFILE:-stat}"

pkgs=(hyperfine python3)
case "$PROFILE" in
    none) ;;
    stat) pkgs+=(strace linux-perf) ;;
    callgrind) pkgs+=(strace linux-perf valgrind) ;;
    *) die "PROFILE must be none, stat or callgrind (got '$PROFILE')" ;;
esac
ensure_packages "${pkgs[@]}"
PY="$(debian_python)"

mkdir -p "$OUT"
rm -f "$OUT"/callgrind.out.* "$OUT"/phases-*.txt "$OUT"/perf-*.csv "$OUT"/strace-*.txt "$OUT"/counters.txt "$OUT"/inside.txt
# The configs: JOBS empty jobs, and 1 empty job (the fixed cost).
for n in "$JOBS" 1; do
    cat >"$OUT/dispatch-$n.yaml" <<EOF
# Written by bench/dispatch.sh: $n empty job(s) through the process pool.
plugins: [sumsq]
input:
  generate: {count: $n}
pool:
  mode: processes
  workers: $WORKERS
  start_method: forkserver
  threads_per_worker: 1
pipeline:
  - sum_of_squares: {n: 0}
EOF
done
CFG="$OUT/dispatch-$JOBS.yaml"
CFG1="$OUT/dispatch-1.yaml"
"$BP" validate "$CFG" >/dev/null || die "$BP rejects $CFG"
"$BP" plugins sumsq >/dev/null || die "the sumsq plugin is not found next to $BP"

machine_line | tee "$OUT/machine.txt"
echo "batchproc: $BP ($("$BP" --version 2>/dev/null | sed -n 1p)); $("$PY" --version)"
echo "workload: $JOBS empty jobs, $WORKERS workers; median of $RUNS runs after $WARMUP warm-up"
echo

# --- 1. the throughput, all runners in one hyperfine run --------------------------------
cmds=()
for m in $METHODS; do
    cmds+=(--command-name "batchproc $m" "$BP run $CFG --start-method $m -q")
done
for m in $PY_METHODS; do
    cmds+=(--command-name "python $m" "$PY $BENCH_DIR/py_dispatch.py --jobs $JOBS --workers $WORKERS --start-method $m --quiet")
done
note "timing $JOBS jobs (hyperfine)"
hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" --export-json "$OUT/dispatch.json" "${cmds[@]}" >"$OUT/hyperfine.txt"

# --- 2. the fixed cost: 1 job, and bare start-up ----------------------------------------
cmds=()
for m in $METHODS; do
    cmds+=(--command-name "batchproc $m" "$BP run $CFG1 --start-method $m -q")
done
cmds+=(--command-name "batchproc --version" "$BP --version")
for m in $PY_METHODS; do
    cmds+=(--command-name "python $m" "$PY $BENCH_DIR/py_dispatch.py --jobs 1 --workers $WORKERS --start-method $m --quiet")
done
cmds+=(--command-name "python -c pass" "$PY -c pass")
note "timing the fixed cost (1 job; start-up alone)"
hyperfine -N --style basic --warmup 1 --runs "$(( RUNS > 5 ? RUNS : 5 ))" --export-json "$OUT/fixed.json" "${cmds[@]}" >"$OUT/hyperfine-fixed.txt"

# --- 3. the pools alone, as each measures itself -----------------------------------------
note "pool-only timings (batchproc's summary line; py_dispatch's inside timing)"
: >"$OUT/inside.txt"
for m in $METHODS; do
    for _ in $(seq "$RUNS"); do
        s="$("$BP" run "$CFG" --start-method "$m" 2>/dev/null | sed -n 's/^wall time \([0-9.]*\) s.*/\1/p')"
        echo "batchproc $m $s" >>"$OUT/inside.txt"
    done
done
for m in $PY_METHODS; do
    s="$("$PY" "$BENCH_DIR/py_dispatch.py" --jobs "$JOBS" --workers "$WORKERS" --start-method "$m" 2>&1 >/dev/null |
        sed -n 's/.*: \([0-9.]*\) s inside.*/\1/p')"
    echo "python $m $s" >>"$OUT/inside.txt"
done

# --- 4. per-job counters of one run -----------------------------------------------------
: >"$OUT/counters.txt"
if [ "$PROFILE" != none ]; then
    note "per-job counters (perf stat, strace -c)"
    first_method="${METHODS%% *}"
    first_py="${PY_METHODS%% *}"
    for who in batchproc python; do
        if [ "$who" = batchproc ]; then
            run=("$BP" run "$CFG" --start-method "$first_method" -q)
        else
            run=("$PY" "$BENCH_DIR/py_dispatch.py" --jobs "$JOBS" --workers "$WORKERS" --start-method "$first_py" --quiet)
        fi
        if perf stat -x, -o "$OUT/perf-$who.csv" -e task-clock,context-switches,cpu-migrations,page-faults -- "${run[@]}" 2>/dev/null; then
            echo "perf $who $OUT/perf-$who.csv" >>"$OUT/counters.txt"
        else
            echo "(perf stat is not usable here; skipped)" >&2
        fi
        if strace -f -c -o "$OUT/strace-$who.txt" "${run[@]}" >/dev/null 2>&1; then
            echo "strace $who $OUT/strace-$who.txt" >>"$OUT/counters.txt"
        fi
    done
fi

# --- 5. wall-time phases of a run (strace timestamps of a few marker system calls) -------
if [ "$PROFILE" != none ]; then
    note "wall-time phases (strace -f --seccomp-bpf, 5 runs per start method)"
    for m in $METHODS; do
        for i in 1 2 3 4 5; do
            strace -f --seccomp-bpf -e trace=execve,openat,memfd_create,exit_group -e signal=none -ttt \
                -o "$OUT/phases-$m-$i.txt" "$BP" run "$CFG" --start-method "$m" -q >/dev/null 2>&1 || true
        done
    done
fi

# --- 6. optional: where the instructions go (callgrind, fork start method) ---------------
if [ "$PROFILE" = callgrind ]; then
    note "callgrind profile of one fork run (slow)"
    rm -f "$OUT"/callgrind.out.*
    valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out.%p" "$BP" run "$CFG" --start-method fork -q \
        >/dev/null 2>"$OUT/callgrind.log" || echo "(callgrind failed; see $OUT/callgrind.log)" >&2
fi

"$PY" "$BENCH_DIR/dispatch_report.py" --out "$OUT" --jobs "$JOBS" --workers "$WORKERS"
echo
echo "raw data: $OUT (dispatch.json, fixed.json, inside.txt, perf-*.csv, strace-*.txt, phases-*.txt)"
