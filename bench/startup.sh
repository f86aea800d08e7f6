#!/usr/bin/env bash
# Start-up: what one batchproc command costs when there is almost nothing to do, next to
# ImageMagick's convert (and vipsthumbnail, for reference), side by side in one hyperfine run.
#
#   bash bench/startup.sh [BUILD_DIR]          (default BUILD_DIR: build; about 2 min)
#
# Two groups of commands, each timed by one hyperfine invocation (--warmup WARMUP --runs RUNS,
# -N: no shell in between), the whole repeated ROUNDS times so that the ratios' spread shows:
#   version:  batchproc --version | /usr/bin/convert -version | vipsthumbnail --vips-version
#   one file: a 640x442 JPEG (opencv-doc's building.jpg, resized by ImageMagick, quality 90)
#             to a 256 px JPEG at quality 85:
#     batchproc-serial      batchproc run: resize max_side 256 (area) + save jpg q85,
#                           pool.mode serial, journal: false, no report, output.durable: false
#     batchproc-1-worker    the same with pool.mode processes, 1 worker, forkserver
#     batchproc-durable     batchproc-serial with output.durable's default (fsync of the output
#                           and of its folder)
#     convert               /usr/bin/convert IN -resize 256x256 -quality 85 OUT
#     vipsthumbnail         vipsthumbnail IN --size 256 -o OUT[Q=85]
# Then, with EXPLAIN=1 (the default), where --version's time goes: empty programs
# (int main() { return 0; }) linked against batchproc's own shared libraries (its DT_NEEDED
# entries, read from the binary), all of them, the OpenCV ones, the others, and each alone
# (with the libraries it pulls in), timed by one more hyperfine run next to
# batchproc --version and convert -version; and `LD_DEBUG=statistics` of both.
# Library threading is pinned to 1 thread (threads_per_worker 1, MAGICK_THREAD_LIMIT=1,
# VIPS_CONCURRENCY=1, OMP_NUM_THREADS=1), as in bench/compare_peers.sh.
#
# /usr/bin/convert is ImageMagick's own (package imagemagick): on some machines another
# 'convert' comes first on PATH (/usr/local/bin/convert here is a sandbox shim).
#
# Environment: WORK_DIR=/tmp/bp-startup RUNS=30 WARMUP=3 ROUNDS=3 EXPLAIN=1 PYTHON=/usr/bin/python3
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

BUILD="$(resolve_build_dir "${1:-build}")"
BP="$BUILD/bin/batchproc"
WORK="${WORK_DIR:-/tmp/bp-startup}"
RUNS="${RUNS:-30}"
WARMUP="${WARMUP:-3}"
ROUNDS="${ROUNDS:-3}"
EXPLAIN="${EXPLAIN:-1}"

ensure_packages hyperfine imagemagick libvips-tools opencv-doc python3 g++
PY="$(debian_python)"
IM=/usr/bin/convert
[ -x "$IM" ] || die "$IM is missing (package imagemagick)"
SOURCE=/usr/share/doc/opencv-doc/examples/data/building.jpg
[ -f "$SOURCE" ] || die "$SOURCE is missing (package opencv-doc)"

mkdir -p "$WORK"/{in,out,results,empty}
WORK="$(cd "$WORK" && pwd)"
rm -rf "$WORK"/out/* "$WORK"/results/*
IN="$WORK/in/one.jpg"
[ -f "$IN" ] || "$IM" "$SOURCE" -strip -resize 640x640 -quality 90 "$IN"

export MAGICK_THREAD_LIMIT=1 VIPS_CONCURRENCY=1 OMP_NUM_THREADS=1

# write_config NAME MODE DURABLE: $WORK/NAME.yaml, the one-file pipeline.
write_config() {
    local name="$1" mode="$2" durable="$3" pool
    if [ "$mode" = serial ]; then
        pool="  mode: serial"
    else
        pool="  mode: processes
  workers: 1
  start_method: forkserver"
    fi
    cat >"$WORK/$name.yaml" <<EOF
# Written by bench/startup.sh: one small JPEG to a 256 px thumbnail.
plugins: [imgproc]
input:
  paths: [$IN]
output:
  dir: $WORK/out/$name
  name: "{stem}.{ext}"
  overwrite: true$([ "$durable" = false ] && printf '\n  durable: false')
pool:
$pool
  threads_per_worker: 1
journal: false
pipeline:
  - resize: {max_side: 256, interpolation: area}
  - save: {format: jpg, quality: 85}
EOF
    "$BP" validate "$WORK/$name.yaml" >/dev/null || die "batchproc rejects $WORK/$name.yaml"
    mkdir -p "$WORK/out/$name"
}
write_config batchproc-serial serial false
write_config batchproc-1-worker processes false
write_config batchproc-durable serial true
mkdir -p "$WORK/out/convert" "$WORK/out/vipsthumbnail"

VERSION_CMDS=(
    --command-name "batchproc --version" "$BP --version"
    --command-name "convert -version" "$IM -version"
    --command-name "vipsthumbnail --vips-version" "vipsthumbnail --vips-version"
)
ONE_CMDS=(
    --command-name batchproc-serial "$BP run $WORK/batchproc-serial.yaml -q"
    --command-name batchproc-1-worker "$BP run $WORK/batchproc-1-worker.yaml -q"
    --command-name batchproc-durable "$BP run $WORK/batchproc-durable.yaml -q"
    --command-name convert "$IM $IN -resize 256x256 -quality 85 $WORK/out/convert/one.jpg"
    --command-name vipsthumbnail "vipsthumbnail $IN --size 256 -o $WORK/out/vipsthumbnail/%s.jpg[Q=85]"
)

machine_line | tee "$WORK/results/machine.txt"
echo "batchproc: $BP ($("$BP" --version | sed -n 1p), $(ldd "$BP" | wc -l) shared libraries at start);" \
    "$("$IM" -version | sed -n '1s/^Version: \([^ ]* [^ ]*\).*/\1/p') ($(ldd "$IM" | wc -l));" \
    "$(vips --version) vipsthumbnail ($(ldd "$(command -v vipsthumbnail)" | wc -l)); hyperfine $(hyperfine --version | cut -d' ' -f2)"
echo "input: $IN, $(/usr/bin/identify -format '%wx%h q%Q %b' "$IN")"
echo
echo "commands (hyperfine -N --warmup $WARMUP --runs $RUNS; MAGICK_THREAD_LIMIT=1 VIPS_CONCURRENCY=1 OMP_NUM_THREADS=1):"
for ((i = 1; i < ${#VERSION_CMDS[@]}; i += 3)); do echo "  ${VERSION_CMDS[$((i + 1))]}"; done
for ((i = 1; i < ${#ONE_CMDS[@]}; i += 3)); do echo "  ${ONE_CMDS[$((i + 1))]}"; done
echo "  batchproc config ($WORK/batchproc-serial.yaml):"
sed -n '2,$p' "$WORK/batchproc-serial.yaml" | sed 's/^/    /'
echo

for ((r = 1; r <= ROUNDS; r++)); do
    note "round $r of $ROUNDS: version"
    hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" --export-json "$WORK/results/version-$r.json" \
        "${VERSION_CMDS[@]}" >"$WORK/results/version-$r.txt"
    note "round $r of $ROUNDS: one file"
    hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" --export-json "$WORK/results/one-$r.json" \
        "${ONE_CMDS[@]}" >"$WORK/results/one-$r.txt"
done

echo "outputs: $(for d in "$WORK"/out/*; do printf '%s %s; ' "$(basename "$d")" "$(/usr/bin/identify -format '%wx%h' "$d"/*.jpg)"; done)"
echo

"$PY" - "$WORK/results" "$ROUNDS" <<'PYEOF'
import json, os, statistics, sys

results, rounds = sys.argv[1], int(sys.argv[2])
for group, base in (("version", "convert -version"), ("one", "convert")):
    per_round = [{r["command"]: r for r in json.load(open(os.path.join(results, f"{group}-{i}.json")))["results"]}
                 for i in range(1, rounds + 1)]
    names = list(per_round[0])
    title = "--version against convert -version" if group == "version" else "one small JPEG to a 256 px thumbnail"
    print(f"### {title}: median ms of each round, and the ratio to convert in the same round")
    print()
    print("| command | " + " | ".join(f"round {i} ms" for i in range(1, rounds + 1)) +
          " | min ms (all rounds) | × convert, per round | × convert, median |")
    print("| --- | " + " | ".join("---:" for _ in range(rounds)) + " | ---: | --- | ---: |")
    for name in names:
        meds = [pr[name]["median"] * 1e3 for pr in per_round]
        ratios = [pr[name]["median"] / pr[base]["median"] for pr in per_round]
        lo = min(min(pr[name]["times"]) for pr in per_round) * 1e3
        print(f"| {name} | " + " | ".join(f"{m:.1f}" for m in meds) + f" | {lo:.1f} | " +
              " / ".join(f"{x:.2f}" for x in ratios) + f" | {statistics.median(ratios):.2f} |")
    print()
    for name in names:
        if not name.startswith("batchproc"):
            continue
        worst = max(pr[name]["median"] / pr[base]["median"] for pr in per_round)
        med = statistics.median(pr[name]["median"] / pr[base]["median"] for pr in per_round)
        print(f"target {name} <= 1.0x {base}: median ratio {med:.2f} (worst round {worst:.2f}) -> "
              f"{'MET' if med <= 1.0 else 'NOT MET'}")
    print()
PYEOF

# --- where --version's time goes ----------------------------------------------------------
if [ "$EXPLAIN" = 1 ]; then
    E="$WORK/empty"
    echo 'int main() { return 0; }' >"$E/empty.cpp"
    mapfile -t NEEDED < <(readelf -d "$BP" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p')
    RUNTIME_RE='^(libstdc\+\+|libm|libgcc_s|libc|ld-linux-x86-64)\.so'
    own=() cv=() rest=()
    for lib in "${NEEDED[@]}"; do
        [[ "$lib" =~ $RUNTIME_RE ]] && continue
        own+=("$lib")
        if [[ "$lib" == libopencv_* ]]; then cv+=("$lib"); else rest+=("$lib"); fi
    done
    # empty_program NAME LIB...: $E/NAME, an empty main linked against LIB... (and the C++ runtime).
    empty_program() {
        local name="$1" l
        shift
        local args=()
        for l in "$@"; do args+=("-l:$l"); done
        g++ -O2 -o "$E/$name" "$E/empty.cpp" -Wl,--no-as-needed "${args[@]}"
    }
    EMPTY_CMDS=(--command-name "batchproc --version" "$BP --version" --command-name "convert -version" "$IM -version")
    empty_program runtime
    empty_program all "${own[@]}"
    empty_program opencv "${cv[@]}"
    empty_program not-opencv "${rest[@]}"
    for name in runtime all opencv not-opencv; do EMPTY_CMDS+=(--command-name "empty+$name" "$E/$name"); done
    for lib in "${own[@]}"; do
        empty_program "${lib%%.so*}" "$lib"
        EMPTY_CMDS+=(--command-name "empty+${lib%%.so*}" "$E/${lib%%.so*}")
    done
    : >"$E/libs.txt"
    for f in "$E"/*; do [ -x "$f" ] && [ -f "$f" ] && echo "empty+$(basename "$f") $(ldd "$f" | wc -l)" >>"$E/libs.txt"; done
    echo "batchproc --version $(ldd "$BP" | wc -l)" >>"$E/libs.txt"
    echo "convert -version $(ldd "$IM" | wc -l)" >>"$E/libs.txt"
    note "where --version's time goes: empty programs linked against batchproc's libraries"
    hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" --export-json "$WORK/results/empty.json" \
        "${EMPTY_CMDS[@]}" >"$WORK/results/empty.txt"
    echo "### where --version's time goes: empty programs (int main() { return 0; }) linked against batchproc's libraries"
    echo
    echo "(one hyperfine run: -N --warmup $WARMUP --runs $RUNS; 'empty+X' = linked against X, which loads X's own dependencies too;"
    echo "'runtime' = the C++ runtime only: libstdc++, libm, libgcc_s, libc; opencv = ${cv[*]})"
    echo
    "$PY" - "$WORK/results/empty.json" "$E/libs.txt" <<'PYEOF2'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
libs = dict(line.rsplit(" ", 1) for line in open(sys.argv[2]).read().splitlines())
base = res["empty+runtime"]["median"]
print("| program | shared objects (ldd) | median ms | min ms | minus empty+runtime, ms |")
print("| --- | ---: | ---: | ---: | ---: |")
for name, r in res.items():
    print(f"| {name} | {libs.get(name, '-')} | {r['median'] * 1e3:.2f} | {r['min'] * 1e3:.2f} | {(r['median'] - base) * 1e3:+.2f} |")
PYEOF2
    echo
    echo "LD_DEBUG=statistics (the dynamic loader's own count):"
    for cmd in "$BP --version" "$IM -version"; do
        # shellcheck disable=SC2086
        stats="$(LD_DEBUG=statistics $cmd 2>&1 >/dev/null | sed -n 's/.*\(number of relocations\|number of relative relocations\): *\([0-9]*\).*/\1 \2/p' | head -2 | paste -sd';')"
        echo "  $cmd: $stats"
    done
    echo
fi
echo "raw data: $WORK/results (hyperfine JSON and text per round)"
