#!/usr/bin/env bash
# The mixed corpus of bench/compare_peers.sh, one format at a time: batchproc against the
# hand-written OpenCV + oneTBB loop with reduced JPEG decode (cv-tbb-reduced), and where each
# spends its time.
#
#   bash bench/mixed_by_format.sh [BUILD_DIR]        (default BUILD_DIR: build; about 3 min)
#
# Needs the mixed corpus and the peer's binary that bench/compare_peers.sh builds (run it
# once with CORPORA=mixed and the same WORK_DIR).
#
# 1. Timing: for each format (PNG with alpha, baseline JPEG, progressive JPEG, WebP; hard
#    links into WORK_DIR/by_format/in/FORMAT), the compare_peers workload (long side 256,
#    3x3 Gaussian blur, JPEG q85, 2 workers) by batchproc (processes, forkserver, no fsync,
#    no journal: compare_peers' batchproc config with another input folder) and by
#    cv_tbb_thumbs --reduced --threads 2, interleaved by bench/interleave.py: RUNS rounds
#    after WARMUP, each round running both once; medians and the ratio batchproc / peer.
# 2. With PROFILE=1 (the default): one run of each per format on ONE core (batchproc
#    pool.mode serial, the peer --threads 1) under `perf record --call-graph dwarf`, and the
#    inclusive share of the samples in each step (decode, resize, blur, save), turned into
#    ms per file with the CPU time of that run.
#
# With WITH_SMALL=1 (the default) the small corpus of compare_peers (640 px JPEGs), if built,
# is a fifth column, small-jpeg.
#
# Environment: WORK_DIR=/tmp/bp-peers RUNS=5 WARMUP=1 PROFILE=1 PERF_FREQ=499 WITH_SMALL=1 PYTHON=/usr/bin/python3
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

BUILD="$(resolve_build_dir "${1:-build}")"
BP="$BUILD/bin/batchproc"
WORK="${WORK_DIR:-/tmp/bp-peers}"
RUNS="${RUNS:-5}"
WARMUP="${WARMUP:-1}"
PROFILE="${PROFILE:-1}"
FREQ="${PERF_FREQ:-499}"
WITH_SMALL="${WITH_SMALL:-1}"
PY="$(debian_python)"
CV_TBB="$WORK/bin/cv_tbb_thumbs"
TEMPLATE="$WORK/run/batchproc-mixed.yaml"
[ -d "$WORK/corpus/mixed" ] && [ -f "$TEMPLATE" ] && [ -x "$CV_TBB" ] ||
    die "no mixed corpus in $WORK: run  CORPORA=mixed WORK_DIR=$WORK bash bench/compare_peers.sh  first"
[ "$PROFILE" = 1 ] && ensure_packages linux-perf

BY="$WORK/by_format"
rm -rf "$BY"
mkdir -p "$BY"/{in,out,run,results}
FORMATS="png-alpha jpeg-baseline jpeg-progressive webp"
declare -A PATTERN=([png-alpha]='*-alpha.png' [jpeg-baseline]='*-baseline.jpg' [jpeg-progressive]='*-progressive.jpg' [webp]='*.webp')
declare -A FROM=([png-alpha]=mixed [jpeg-baseline]=mixed [jpeg-progressive]=mixed [webp]=mixed [small-jpeg]=small)
# The small corpus (640 px JPEGs), when there is one, as a fifth column: same workload.
if [ "$WITH_SMALL" = 1 ] && [ -d "$WORK/corpus/small" ]; then
    FORMATS="$FORMATS small-jpeg"
    PATTERN[small-jpeg]='*.jpg'
fi
for f in $FORMATS; do
    mkdir -p "$BY/in/$f"
    find "$WORK/corpus/${FROM[$f]}" -maxdepth 1 -name "${PATTERN[$f]}" -exec ln {} "$BY/in/$f/" \;
    # compare_peers' config, another input and output folder; and a serial twin for perf.
    sed -e "s#$WORK/corpus/mixed#$BY/in/$f#" -e "s#$WORK/out/batchproc-mixed#$BY/out/batchproc-$f#" \
        "$TEMPLATE" >"$BY/run/batchproc-$f.yaml"
    sed -e 's/mode: processes/mode: serial/' -e '/^  workers:/d' -e '/^  start_method:/d' \
        -e "s#$BY/out/batchproc-$f#$BY/out/batchproc-serial-$f#" "$BY/run/batchproc-$f.yaml" >"$BY/run/batchproc-serial-$f.yaml"
    "$BP" validate "$BY/run/batchproc-$f.yaml" >/dev/null && "$BP" validate "$BY/run/batchproc-serial-$f.yaml" >/dev/null ||
        die "batchproc rejects $BY/run/batchproc-$f.yaml"
done

machine_line | tee "$BY/results/machine.txt"
echo "formats (WORK_DIR=$WORK):"
for f in $FORMATS; do
    echo "  $f: $(find "$BY/in/$f" -type f | wc -l) files, $(du -sh "$BY/in/$f" | cut -f1), e.g. $(/usr/bin/identify -format '%wx%h %[channels] %b' "$(find "$BY/in/$f" -type f | LC_ALL=C sort | sed -n 1p)")"
done
echo "commands, per FORMAT:"
echo "  batchproc:       $BP run $BY/run/batchproc-FORMAT.yaml -q"
echo "  cv-tbb-reduced:  $CV_TBB $BY/in/FORMAT $BY/out/cv-FORMAT --threads 2 --size 256 --quality 85 --reduced"
echo

export VIPS_CONCURRENCY=1 MAGICK_THREAD_LIMIT=1 OMP_NUM_THREADS=1
echo "### time by format (bench/interleave.py $RUNS $WARMUP: medians of $RUNS interleaved rounds, 2 workers)"
echo
echo "| format | files | batchproc s | cv-tbb-reduced s | batchproc / cv-tbb-reduced |"
echo "| --- | ---: | ---: | ---: | ---: |"
for f in $FORMATS; do
    note "timing $f"
    "$PY" "$BENCH_DIR/interleave.py" "$RUNS" "$WARMUP" \
        "batchproc=$BP run $BY/run/batchproc-$f.yaml -q" \
        "cv-tbb-reduced=$CV_TBB $BY/in/$f $BY/out/cv-$f --threads 2 --size 256 --quality 85 --reduced" \
        >"$BY/results/time-$f.txt"
    awk -v f="$f" -v n="$(find "$BY/in/$f" -type f | wc -l)" \
        '{t[NR] = $2} END {printf "| %s | %d | %.3f | %.3f | %.2f |\n", f, n, t[1], t[2], t[1] / t[2]}' "$BY/results/time-$f.txt"
done
echo

[ "$PROFILE" = 1 ] || exit 0

# --- where the time goes, one core ---------------------------------------------------------
for f in $FORMATS; do
    note "perf: $f"
    perf record -q -F "$FREQ" --call-graph dwarf,32768 -o "$BY/results/perf-batchproc-$f.data" -- \
        "$BP" run "$BY/run/batchproc-serial-$f.yaml" -q >/dev/null 2>&1
    perf record -q -F "$FREQ" --call-graph dwarf,32768 -o "$BY/results/perf-cv-$f.data" -- \
        "$CV_TBB" "$BY/in/$f" "$BY/out/cv-1-$f" --threads 1 --size 256 --quality 85 --reduced >/dev/null 2>&1
    for who in batchproc cv; do
        perf report -i "$BY/results/perf-$who-$f.data" --children --sort sym --stdio -g none 2>/dev/null \
            >"$BY/results/perf-$who-$f.children.txt"
        perf report -i "$BY/results/perf-$who-$f.data" --no-children --sort dso --stdio -g none 2>/dev/null \
            >"$BY/results/perf-$who-$f.dso.txt"
        perf report -i "$BY/results/perf-$who-$f.data" --stdio -F sample --sort comm -g none 2>/dev/null |
            awk '!/^#/ && NF {s += $1} END {print s + 0}' >"$BY/results/perf-$who-$f.samples"
    done
done

echo "### where the time goes on one core (perf record -F $FREQ --call-graph dwarf; batchproc pool.mode serial, the peer --threads 1)"
echo
echo "ms per file = inclusive share of the samples x samples / $FREQ Hz / files. A step's share includes what it calls"
echo "(and the page faults it takes); 'kernel' is the self time in the kernel, wherever it was called from."
echo
"$PY" - "$BY/results" "$FREQ" "$FORMATS" "$BY/in" <<'PYEOF'
import os, re, sys

results, freq, formats, indir = sys.argv[1], float(sys.argv[2]), sys.argv[3].split(), sys.argv[4]

STEPS = {
    "batchproc": [
        ("whole run (process)", None),
        ("decode", r"batchproc::decode_image$"),
        ("  of which batchproc's PNG chunk walk", r"png_structure_problem$"),
        ("  of which CRCs (zlib's crc32, every caller)", r"crc32_z$"),
        ("  of which libpng's png_read_row (zlib included)", r"png_read_row$"),
        ("  of which libspng (zlib included; builds before the switch to libpng)", r"spng_decode_scanline$"),
        ("  of which cv::cvtColor (RGB(A) to BGR(A); libspng builds)", r"cv::cvtColor$"),
        ("resize stage", r"imgproc::Resize::process$"),
        ("  of which convertTo (8-bit to float and back)", r"cv::Mat::convertTo$"),
        ("  of which cv::split", r"cv::split$"),
        ("  of which cv::multiply, cv::merge, cv::divide", r"cv::(multiply|merge|divide)$"),
        ("  of which cv::resize", r"cv::resize$"),
        ("gaussian_blur stage", r"imgproc::GaussianBlur::process$"),
        ("save stage (flatten, encode, write)", r"imgproc::Save::process$"),
        ("start-up (dynamic loader)", r"dl_main$"),
    ],
    "cv": [
        ("whole run (process)", None),
        ("decode (cv::imread)", r"cv::imread$"),
        ("resize (cv::resize)", r"cv::resize$"),
        ("blur (cv::GaussianBlur)", r"cv::GaussianBlur$"),
        ("encode + write (cv::imwrite)", r"cv::imwrite$"),
        ("start-up (dynamic loader)", r"dl_main$"),
    ],
}


def children(path):
    """{symbol: largest inclusive %} from perf report --children --sort sym (a symbol can be
    listed twice, e.g. cv::split's two overloads, one calling the other: keep the larger)."""
    out = {}
    for line in open(path):
        m = re.match(r"\s+([\d.]+)%\s+([\d.]+)%\s+\[[.k]\]\s+(.*\S)", line)
        if m:
            sym = m.group(3)
            out[sym] = max(out.get(sym, 0.0), float(m.group(1)))
    return out


def kernel_share(path):
    for line in open(path):
        m = re.match(r"\s+([\d.]+)%\s+\[kernel", line)
        if m:
            return float(m.group(1))
    return 0.0


for who, title in (("batchproc", "batchproc, pool.mode serial"), ("cv", "cv_tbb_thumbs --reduced --threads 1")):
    print(f"{title}: ms per file")
    print()
    print("| step | " + " | ".join(formats) + " |")
    print("| --- | " + " | ".join("---:" for _ in formats) + " |")
    table = {}
    for f in formats:
        n = len(os.listdir(os.path.join(indir, f)))
        samples = int(open(os.path.join(results, f"perf-{who}-{f}.samples")).read().split()[0])
        total_ms = samples / freq * 1e3 / n
        ch = children(os.path.join(results, f"perf-{who}-{f}.children.txt"))
        for label, pattern in STEPS[who]:
            if pattern is None:
                table.setdefault(label, []).append(total_ms)
                continue
            # Several symbols (cv::multiply and cv::merge...) add up; one symbol listed twice
            # (an inlined wrapper and its body) counts once, as children() keeps its largest share.
            share = sum(v for s, v in ch.items() if re.search(pattern, s))
            table.setdefault(label, []).append(share / 100 * total_ms)
        table.setdefault("kernel (self, anywhere)", []).append(kernel_share(os.path.join(results, f"perf-{who}-{f}.dso.txt")) / 100 * total_ms)
    for label, values in table.items():
        print(f"| {label} | " + " | ".join(f"{v:.0f}" if v >= 10 else f"{v:.1f}" for v in values) + " |")
    print()
PYEOF
echo "raw data: $BY/results (interleave.py output, perf data and reports)"
