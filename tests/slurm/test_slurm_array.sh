#!/usr/bin/env bash
# batchproc on a real Slurm: a single-node cluster from Debian's slurm-wlm, started and
# stopped here. A 4-task array plus merge gives the outputs of one plain run, byte for byte;
# an array with one task cancelled leaves merge incomplete (exit 4) naming the shard, and
# submitting again finishes it without redoing the other shards' jobs.
#   bash tests/slurm/test_slurm_array.sh BATCHPROC      exit 77: skipped (no Slurm, not root)
set -euo pipefail
BP="$1"
SAMPLES="$(cd "$(dirname "$0")/../../samples/images" && pwd)"
source "$(dirname "$0")/slurm_env.sh"

if ! command -v slurmctld >/dev/null || ! command -v sbatch >/dev/null; then
    echo "skipped: slurm-wlm is not installed (scripts/install-deps.sh installs it)"
    exit 77
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "skipped: the test Slurm runs its daemons as root"
    exit 77
fi
if (exec 3<>/dev/tcp/127.0.0.1/6817) 2>/dev/null; then
    echo "skipped: port 6817 is in use (another Slurm?)"
    exit 77
fi

T="$(mktemp -d "${TMPDIR:-/tmp}/bp-slurm-XXXXXX")"
cleanup() {
    local status=$?
    slurm_stop
    if [ "$status" -ne 0 ]; then
        echo "--- failed; logs:" >&2
        tail -n 30 "$T"/*/out/slurm/logs/* "$T"/slurm/log/* 2>/dev/null >&2 || true
    fi
    rm -rf "$T"
    exit "$status"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

config() { # config NAME: thumbnails of the samples into $T/NAME/out
    mkdir -p "$T/$1"
    cat >"$T/$1/c.yaml" <<CONF
plugins: [imgproc]
input: {paths: ["$SAMPLES"], recursive: true}
output: {dir: out}
report: out/report.json
pool: {workers: 1}
pipeline:
  - resize: {max_side: 96}
  - save: {format: jpg, quality: 85}
CONF
    echo "$T/$1/c.yaml"
}
ids() { sed -n 's/^submitted: job array \([0-9]*\) .* merge job \([0-9]*\) .*/\1 \2/p' "$1"; }
job_exit() { scontrol show job "$1" | sed -n 's/.* ExitCode=\([0-9]*\):.*/\1/p'; }

slurm_start "$T/slurm" || fail "slurm did not start"

# One plain run: the reference.
"$BP" run "$(config whole)" -q || fail "the plain run failed"

# 1. A 4-task array and its merge.
"$BP" slurm "$(config array)" --tasks 4 --submit >"$T/submit1.txt" || fail "batchproc slurm --submit failed"
read -r A M < <(ids "$T/submit1.txt")
[ -n "${M:-}" ] || fail "no job ids in: $(cat "$T/submit1.txt")"
slurm_wait "$A" "$M" || fail "the array did not finish"
[ "$(job_exit "$M")" = 0 ] || fail "merge exited $(job_exit "$M"): $(cat "$T"/array/out/slurm/logs/*merge*)"
grep -q "every job done exactly once" "$T"/array/out/slurm/logs/*merge* || fail "merge did not prove coverage"
for i in 0 1 2 3; do
    [ -f "$T/array/out/report.shard-000$i-of-0004.json" ] || fail "no report of shard $i"
done
(cd "$T/whole/out" && find . -name '*.jpg' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) >"$T/whole.sums"
(cd "$T/array/out" && find . -name '*.jpg' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) >"$T/array.sums"
[ -s "$T/whole.sums" ] || fail "the plain run wrote nothing"
cmp "$T/whole.sums" "$T/array.sums" || fail "the array's outputs differ from one run's"

# 2. One task cancelled: merge is incomplete and names it; a new submission finishes it.
C="$(config cancel)"
"$BP" slurm "$C" --tasks 4 --submit -- --hold >"$T/submit2.txt" || fail "batchproc slurm --submit -- --hold failed"
read -r A M < <(ids "$T/submit2.txt")
scancel "${A}_2"
scontrol release "$A" "$M"
slurm_wait "$A" "$M" || fail "the held array did not finish"
[ "$(job_exit "$M")" = 4 ] || fail "merge after a cancelled task exited $(job_exit "$M"), not 4"
grep -q "missing shards (no journal): 2" "$T"/cancel/out/slurm/logs/*merge-"$M".out || fail "merge did not name shard 2"
"$BP" slurm "$C" --tasks 4 --submit >"$T/submit3.txt" || fail "the second submission failed"
read -r A M < <(ids "$T/submit3.txt")
slurm_wait "$A" "$M" || fail "the second array did not finish"
[ "$(job_exit "$M")" = 0 ] || fail "merge after the second submission exited $(job_exit "$M")"
for i in 0 1 3; do
    if grep -q '"status": "ok"' "$T/cancel/out/report.shard-000$i-of-0004.json"; then
        fail "shard $i redid jobs its first run had done"
    fi
done
grep -q '"status": "ok"' "$T/cancel/out/report.shard-0002-of-0004.json" || fail "shard 2 did not run its jobs"
echo "slurm array test passed"
