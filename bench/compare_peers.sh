#!/usr/bin/env bash
# The same thumbnail workload by batchproc and by its peers, side by side.
#
#   bash bench/compare_peers.sh [BUILD_DIR]          (default BUILD_DIR: build)
#
# Workload, for every image of a corpus: long side 256 px (area interpolation or the peer's
# closest), 3x3 Gaussian blur (sigma 0.8, the sigma OpenCV derives for ksize 3), JPEG
# quality 85, one output file per input, 2 workers (2 processes of 1 thread each, or 2
# threads in one process for the C++ peer).
#
# Corpora (built once in WORK_DIR/corpus with ImageMagick from images that Debian packages
# ship; rebuilt when missing or when their parameters change):
#   small: SMALL_COUNT (300) JPEGs, long side 640, quality 90, from opencv-doc's sample
#          data (4 variants of each: as is, mirrored, flipped, rotated 180 degrees)
#   large: LARGE_COUNT (24) JPEGs of 4896x3264 (16 Mpx), quality 90, from mate-backgrounds'
#          opaque wallpapers (21: 16 photos, 5 drawings; then mirrored variants), scaled up
#          to cover and centre-cropped
#   mixed: MIXED_PER_KIND (8) files of each of 4 kinds, 3672x2448 (9 Mpx), from the same
#          mate-backgrounds sources as large: PNG with a real alpha channel (a soft radial
#          vignette: opaque in the middle, transparent in the corners), baseline JPEG q90,
#          progressive JPEG q90, lossy WebP q90; file i is of kind i mod 4
#
# Runners (the exact command lines are printed, and written to WORK_DIR/run/*.sh):
#   batchproc              processes mode, forkserver, threads_per_worker 1, config default decode;
#                          output.durable: false and journal: false (the peers neither fsync
#                          their outputs nor keep a journal)
#   batchproc-durable      the same with batchproc's defaults: an fsync of every output and its
#                          folder, and the run journal
#   batchproc-noshrink     batchproc with input.shrink_on_load: false (only if the config accepts it)
#   py-cv2                 bench/peers/py_thumbs.py: ProcessPoolExecutor(2) + cv2 (python3-opencv)
#   vipsthumbnail          GNU parallel -j2 -X vipsthumbnail --size 256 (NO blur; shrink-on-load)
#   vips-thumbnail-blur    GNU parallel -j2: vipsthumbnail to .v (-X), then per file vips gaussblur 0.8
#   imagemagick            GNU parallel -j2, per file: convert -resize 256x256 -gaussian-blur 1x0.8 -quality 85
#   cv-tbb                 bench/peers/cv_tbb_thumbs.cpp: OpenCV + oneTBB, task_arena(2), full decode;
#                          PNG/WebP with alpha composited over white before the JPEG is written
#   cv-tbb-reduced         the same with IMREAD_REDUCED_COLOR_2/4/8 for JPEGs (shrink-on-load)
# On the mixed corpus only batchproc and cv-tbb* do the whole workload: vipsthumbnail and
# imagemagick flatten the transparent PNGs onto black, py-cv2 drops their alpha and skips
# the WebP files.
# Library threading is pinned to 1 thread per worker everywhere (VIPS_CONCURRENCY=1,
# MAGICK_THREAD_LIMIT=1, OMP_NUM_THREADS=1, cv::setNumThreads(1)).
#
# Timing (TIMING=interleave, the default): bench/interleave.py, WARMUP rounds and then RUNS
# timed rounds, each round running every runner once in turn, so that a burst of load from
# other work on the machine slows all runners alike; outputs removed before every run
# (--prepare, untimed). TIMING=hyperfine: hyperfine --warmup WARMUP --runs RUNS per runner,
# one runner after the other (steadier statistics on a quiet machine, but a burst of load
# lands on whichever runner is being timed). JSON in WORK_DIR/results either way. Memory: one more run of each runner under
# /usr/bin/time -v (largest single process) and bench/peak_rss.py (peak of the sum over
# the process tree, RSS and PSS, sampled every 50 ms).
#
# Environment: WORK_DIR=/tmp/bp-peers SMALL_COUNT=300 LARGE_COUNT=24 MIXED_PER_KIND=8 RUNS=3 WARMUP=1 WORKERS=2
#              CORPORA="small large" PEERS="<all of the above>" MEMORY=1 TIMING=interleave PYTHON=/usr/bin/python3
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

BUILD="$(resolve_build_dir "${1:-build}")"
BP="$BUILD/bin/batchproc"
WORK="${WORK_DIR:-/tmp/bp-peers}"
SMALL_COUNT="${SMALL_COUNT:-300}"
LARGE_COUNT="${LARGE_COUNT:-24}"
MIXED_PER_KIND="${MIXED_PER_KIND:-8}"
RUNS="${RUNS:-3}"
WARMUP="${WARMUP:-1}"
WORKERS="${WORKERS:-2}"
CORPORA="${CORPORA:-small large}"
ALL_PEERS="batchproc batchproc-durable batchproc-noshrink py-cv2 vipsthumbnail vips-thumbnail-blur imagemagick cv-tbb cv-tbb-reduced"
PEERS="${PEERS:-$ALL_PEERS}"
MEMORY="${MEMORY:-1}"
TIMING="${TIMING:-interleave}"
case "$TIMING" in interleave | hyperfine) ;; *) die "TIMING must be interleave or hyperfine" ;; esac
SIZE=256
QUALITY=85
SIGMA=0.8 # what OpenCV derives for a 3x3 kernel with sigma 0: 0.3*((3-1)*0.5-1)+0.8

ensure_packages hyperfine parallel libvips-tools imagemagick python3 python3-opencv time \
    g++ pkg-config libopencv-dev libtbb-dev opencv-doc mate-backgrounds
PY="$(debian_python)"
IM=/usr/bin/convert # ImageMagick's own, not another 'convert' earlier on PATH
[ -x "$IM" ] || die "$IM is missing (package imagemagick)"
"$PY" -c "import cv2" 2>/dev/null || die "$PY cannot import cv2 (package python3-opencv; set PYTHON to Debian's python3)"

mkdir -p "$WORK"/{corpus,run,out,results,mem,bin}
WORK="$(cd "$WORK" && pwd)"

# --- the corpora --------------------------------------------------------------------------
# build_corpus NAME COUNT GEOMETRY_ARGS... : NAME/ with COUNT JPEGs made from the sources in
# $WORK/corpus/NAME.sources, through ImageMagick, 2 at a time.
build_corpus() {
    local name="$1" count="$2"
    shift 2
    local dir="$WORK/corpus/$name" stamp
    stamp="$(printf '%s\n' "$count" "$*" "$(cat "$WORK/corpus/$name.sources")" | md5sum | cut -d' ' -f1)"
    if [ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$stamp" ] &&
        [ "$(find "$dir" -maxdepth 1 -name '*.jpg' | wc -l)" -eq "$count" ]; then
        return 0
    fi
    note "building the $name corpus ($count JPEGs) in $dir"
    rm -rf "$dir"
    mkdir -p "$dir"
    local variants=("" "-flop" "-flip" "-rotate 180") i=0 v src stem out
    local -a sources
    mapfile -t sources <"$WORK/corpus/$name.sources"
    [ ${#sources[@]} -gt 0 ] || die "no source images for the $name corpus"
    # One ImageMagick command per image; output <name>_<index>_v<variant>_<source stem>.jpg.
    : >"$WORK/corpus/$name.cmds"
    while [ "$i" -lt "$count" ]; do
        v=$((i / ${#sources[@]} % ${#variants[@]}))
        src="${sources[$((i % ${#sources[@]}))]}"
        stem="$(basename "${src%.*}" | tr -c 'A-Za-z0-9_\n-' '_')"
        out="$(printf '%s/%s_%04d_v%d_%s.jpg' "$dir" "$name" "$i" "$v" "$stem")"
        # shellcheck disable=SC2086 # the variant is 0, 1 or 2 words on purpose
        printf '%q ' "$IM" "$src" -auto-orient -strip -background white -alpha remove -alpha off -colorspace sRGB \
            ${variants[$v]} "$@" -type TrueColor -quality 90 "$out" >>"$WORK/corpus/$name.cmds"
        echo >>"$WORK/corpus/$name.cmds"
        i=$((i + 1))
    done
    MAGICK_THREAD_LIMIT=1 parallel --will-cite -j2 <"$WORK/corpus/$name.cmds" ||
        die "ImageMagick failed while building the $name corpus (commands: $WORK/corpus/$name.cmds)"
    [ "$(find "$dir" -maxdepth 1 -name '*.jpg' | wc -l)" -eq "$count" ] || die "the $name corpus is incomplete"
    echo "$stamp" >"$dir/.stamp"
}

# build_mixed_corpus PER_KIND: mixed/ with PER_KIND files of each kind (PNG with alpha,
# baseline JPEG, progressive JPEG, WebP), 3672x2448, made from $WORK/corpus/mixed.sources.
build_mixed_corpus() {
    local per_kind="$1" name=mixed
    local dir="$WORK/corpus/$name" count=$((4 * per_kind)) stamp
    local geometry=3672x2448
    # The PNGs' alpha: a radial gradient (white in the middle, black at the corners) with its
    # upper half levelled to opaque, i.e. a soft vignette; min 0, mean about 0.62.
    local mask=(\( -size "$geometry" radial-gradient:white-black -level 0%,50% \) -alpha off -compose CopyOpacity -composite)
    stamp="$(printf '%s\n' "$count" "$geometry" "${mask[*]}" "$(cat "$WORK/corpus/$name.sources")" | md5sum | cut -d' ' -f1)"
    if [ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$stamp" ] &&
        [ "$(find "$dir" -maxdepth 1 -type f ! -name '.*' | wc -l)" -eq "$count" ]; then
        return 0
    fi
    note "building the $name corpus ($per_kind each of PNG+alpha, baseline JPEG, progressive JPEG, WebP) in $dir"
    rm -rf "$dir"
    mkdir -p "$dir"
    local -a sources
    mapfile -t sources <"$WORK/corpus/$name.sources"
    [ ${#sources[@]} -gt 0 ] || die "no source images for the $name corpus"
    local variants=("" "-flop" "-flip" "-rotate 180") i=0 v src stem out kind
    : >"$WORK/corpus/$name.cmds"
    while [ "$i" -lt "$count" ]; do
        v=$((i / ${#sources[@]} % ${#variants[@]}))
        src="${sources[$((i % ${#sources[@]}))]}"
        stem="$(basename "${src%.*}" | tr -c 'A-Za-z0-9_\n-' '_')"
        out="$(printf '%s/%s_%04d_v%d_%s' "$dir" "$name" "$i" "$v" "$stem")"
        # shellcheck disable=SC2086 # the variant is 0, 1 or 2 words on purpose
        printf '%q ' "$IM" "$src" -auto-orient -strip -background white -alpha remove -alpha off -colorspace sRGB \
            ${variants[$v]} -resize "$geometry^" -gravity center -extent "$geometry" >>"$WORK/corpus/$name.cmds"
        case $((i % 4)) in
        0) kind=(-type TrueColorAlpha "${mask[@]}" "PNG32:$out-alpha.png") ;;
        1) kind=(-type TrueColor -interlace none -quality 90 "$out-baseline.jpg") ;;
        2) kind=(-type TrueColor -interlace JPEG -quality 90 "$out-progressive.jpg") ;;
        3) kind=(-type TrueColor -quality 90 "$out.webp") ;;
        esac
        printf '%q ' "${kind[@]}" >>"$WORK/corpus/$name.cmds"
        echo >>"$WORK/corpus/$name.cmds"
        i=$((i + 1))
    done
    MAGICK_THREAD_LIMIT=1 parallel --will-cite -j2 <"$WORK/corpus/$name.cmds" ||
        die "ImageMagick failed while building the $name corpus (commands: $WORK/corpus/$name.cmds)"
    [ "$(find "$dir" -maxdepth 1 -type f ! -name '.*' | wc -l)" -eq "$count" ] || die "the $name corpus is incomplete"
    echo "$stamp" >"$dir/.stamp"
}

# mate_sources: mate-backgrounds' photos (JPEG) first, then the opaque drawn wallpapers (PNG;
# the transparent ones are overlays, white once flattened).
mate_sources() {
    find /usr/share/backgrounds/mate -type f -name '*.jpg' | LC_ALL=C sort
    find /usr/share/backgrounds/mate -type f -name '*.png' | LC_ALL=C sort | while read -r f; do
        opaque="$(/usr/bin/identify -format '%[opaque]' "$f" 2>/dev/null || true)"
        if [ "${opaque,,}" = true ]; then echo "$f"; fi
    done
}

for corpus in $CORPORA; do
    case "$corpus" in
    small)
        find /usr/share/doc/opencv-doc/examples/data -maxdepth 1 -type f \( -name '*.jpg' -o -name '*.png' \) |
            LC_ALL=C sort >"$WORK/corpus/small.sources"
        build_corpus small "$SMALL_COUNT" -resize 640x640
        ;;
    large)
        # The first LARGE_COUNT sources, or all of them and then their mirrored, flipped and
        # rotated variants.
        mate_sources >"$WORK/corpus/large.all"
        sed -n "1,${LARGE_COUNT}p" "$WORK/corpus/large.all" >"$WORK/corpus/large.sources"
        build_corpus large "$LARGE_COUNT" -resize '4896x3264^' -gravity center -extent 4896x3264
        ;;
    mixed)
        mate_sources >"$WORK/corpus/mixed.sources"
        build_mixed_corpus "$MIXED_PER_KIND"
        ;;
    *) die "unknown corpus '$corpus' (small, large, mixed)" ;;
    esac
done

# --- the C++ peer -------------------------------------------------------------------------
CV_TBB="$WORK/bin/cv_tbb_thumbs"
if [ ! -x "$CV_TBB" ] || [ "$BENCH_DIR/peers/cv_tbb_thumbs.cpp" -nt "$CV_TBB" ]; then
    note "building $CV_TBB"
    # shellcheck disable=SC2046
    g++ -O2 -std=c++17 -o "$CV_TBB" "$BENCH_DIR/peers/cv_tbb_thumbs.cpp" $(pkg-config --cflags --libs opencv4 tbb)
fi

# --- the runner scripts -------------------------------------------------------------------
rm -f "$WORK"/run/*.sh "$WORK"/run/*.yaml "$WORK"/results/outputs.txt.new "$WORK"/mem/*
shrink_key_ok=0
cat >"$WORK/run/probe.yaml" <<EOF
plugins: [imgproc]
input: {paths: [.], shrink_on_load: false}
pipeline: [{resize: {max_side: 256}}]
EOF
"$BP" validate "$WORK/run/probe.yaml" >/dev/null 2>&1 && shrink_key_ok=1

# write_runner NAME CORPUS COMMAND...: $WORK/run/NAME-CORPUS.sh runs COMMAND; the clean
# script empties its output folder.
write_runner() {
    local name="$1" corpus="$2" body="$3"
    local f="$WORK/run/$name-$corpus.sh"
    {
        echo "#!/usr/bin/env bash"
        echo "# $name on the $corpus corpus (written by bench/compare_peers.sh)"
        echo "set -euo pipefail"
        echo "export VIPS_CONCURRENCY=1 MAGICK_THREAD_LIMIT=1 OMP_NUM_THREADS=1"
        echo "$body"
    } >"$f"
}
cat >"$WORK/run/clean.sh" <<EOF
#!/usr/bin/env bash
# Empties one runner's output folder: bash clean.sh NAME-CORPUS
set -euo pipefail
rm -rf "$WORK/out/\$1"
mkdir -p "$WORK/out/\$1"
EOF

for corpus in $CORPORA; do
    in="$WORK/corpus/$corpus"
    find "$in" -maxdepth 1 -type f \( -name '*.jpg' -o -name '*.png' -o -name '*.webp' \) |
        LC_ALL=C sort >"$WORK/run/$corpus.list"
    for peer in $PEERS; do
        out="$WORK/out/$peer-$corpus"
        case "$peer" in
        batchproc | batchproc-durable | batchproc-noshrink)
            if [ "$peer" = batchproc-noshrink ] && [ "$shrink_key_ok" != 1 ]; then continue; fi
            # batchproc-durable keeps batchproc's defaults: output.durable (an fsync of every
            # output and of its folder) and the run journal, neither of which the peers have.
            cat >"$WORK/run/$peer-$corpus.yaml" <<EOF
# Written by bench/compare_peers.sh: the thumbnail workload on the $corpus corpus.
plugins: [imgproc]
input:
  paths: [$in]
  include: ["*.jpg", "*.png", "*.webp"]
  recursive: false$([ "$peer" = batchproc-noshrink ] && printf '\n  shrink_on_load: false')
output:
  dir: $out
  name: "{stem}.{ext}"
  overwrite: true$([ "$peer" != batchproc-durable ] && printf '\n  durable: false')
pool:
  mode: processes
  workers: $WORKERS
  start_method: forkserver
  threads_per_worker: 1
pipeline:
  - resize: {max_side: $SIZE, interpolation: area}
  - gaussian_blur: {ksize: 3}
  - save: {format: jpg, quality: $QUALITY}$([ "$peer" != batchproc-durable ] && printf '\njournal: false')
EOF
            "$BP" validate "$WORK/run/$peer-$corpus.yaml" >/dev/null || die "batchproc rejects $WORK/run/$peer-$corpus.yaml"
            write_runner "$peer" "$corpus" "exec \"$BP\" run \"$WORK/run/$peer-$corpus.yaml\" -q"
            ;;
        py-cv2)
            write_runner "$peer" "$corpus" "exec \"$PY\" \"$BENCH_DIR/peers/py_thumbs.py\" \"$in\" \"$out\" --workers $WORKERS --size $SIZE --quality $QUALITY >/dev/null"
            ;;
        vipsthumbnail)
            write_runner "$peer" "$corpus" "exec parallel --will-cite -j$WORKERS -X vipsthumbnail --size $SIZE -o '$out/%s.jpg[Q=$QUALITY]' :::: \"$WORK/run/$corpus.list\""
            ;;
        vips-thumbnail-blur)
            # Two passes, so that each file costs one vips start-up, not two: vipsthumbnail
            # to vips' own uncompressed format (.v), then vips gaussblur to the JPEG.
            write_runner "$peer" "$corpus" "parallel --will-cite -j$WORKERS -X vipsthumbnail --size $SIZE -o '$out/%s.v' :::: \"$WORK/run/$corpus.list\"
cd \"$out\" && exec parallel --will-cite -j$WORKERS 'vips gaussblur {} {.}.jpg[Q=$QUALITY] $SIGMA && rm {}' ::: *.v"
            ;;
        imagemagick)
            write_runner "$peer" "$corpus" "exec parallel --will-cite -j$WORKERS $IM {} -resize ${SIZE}x${SIZE} -gaussian-blur 1x$SIGMA -quality $QUALITY $out/{/.}.jpg :::: \"$WORK/run/$corpus.list\""
            ;;
        cv-tbb)
            write_runner "$peer" "$corpus" "exec \"$CV_TBB\" \"$in\" \"$out\" --threads $WORKERS --size $SIZE --quality $QUALITY >/dev/null"
            ;;
        cv-tbb-reduced)
            write_runner "$peer" "$corpus" "exec \"$CV_TBB\" \"$in\" \"$out\" --threads $WORKERS --size $SIZE --quality $QUALITY --reduced >/dev/null"
            ;;
        *) die "unknown peer '$peer' (known: $ALL_PEERS)" ;;
        esac
    done
done

machine_line | tee "$WORK/results/machine.txt"
echo "batchproc: $BP ($("$BP" --version 2>/dev/null | sed -n 1p)); $("$PY" --version); $(vips --version); $("$IM" -version | sed -n '1s/^Version: \([^ ]* [^ ]*\).*/\1/p'); OpenCV $(pkg-config --modversion opencv4); hyperfine $(hyperfine --version | cut -d' ' -f2)"
for corpus in $CORPORA; do
    echo "corpus $corpus: $(wc -l <"$WORK/run/$corpus.list") files ($(sed 's/.*\.//' "$WORK/run/$corpus.list" | sort | uniq -c | awk '{printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2}')), $(du -sh "$WORK/corpus/$corpus" | cut -f1), e.g. $(/usr/bin/identify -format '%wx%h q%Q %b' "$(sed -n 1p "$WORK/run/$corpus.list")")"
done
echo
echo "commands (WORK_DIR=$WORK):"
for f in "$WORK"/run/*-"${CORPORA%% *}".sh; do
    echo "  $(basename "$f" "-${CORPORA%% *}.sh"): $(sed -n '5,$p' "$f" | tr '\n' ';' | sed 's/;$//; s/;/; /g')"
done
echo

# --- timing -------------------------------------------------------------------------------
for corpus in $CORPORA; do
    args=()
    if [ "$TIMING" = hyperfine ]; then
        for peer in $PEERS; do
            [ -f "$WORK/run/$peer-$corpus.sh" ] || continue
            args+=(--prepare "bash $WORK/run/clean.sh $peer-$corpus" --command-name "$peer" "bash $WORK/run/$peer-$corpus.sh")
        done
        note "timing the $corpus corpus (hyperfine, $WARMUP warm-up + $RUNS runs per runner)"
        hyperfine --style basic --warmup "$WARMUP" --runs "$RUNS" --export-json "$WORK/results/$corpus.json" "${args[@]}" \
            >"$WORK/results/$corpus-hyperfine.txt"
    else
        for peer in $PEERS; do
            [ -f "$WORK/run/$peer-$corpus.sh" ] || continue
            args+=("$peer=bash $WORK/run/$peer-$corpus.sh")
        done
        note "timing the $corpus corpus (bench/interleave.py: $WARMUP warm-up + $RUNS rounds, each runner once per round)"
        "$PY" "$BENCH_DIR/interleave.py" --prepare "bash $WORK/run/clean.sh {name}-$corpus" \
            --json "$WORK/results/$corpus.json" "$RUNS" "$WARMUP" "${args[@]}" >"$WORK/results/$corpus-interleave.txt"
    fi
done

# --- memory and output check --------------------------------------------------------------
for corpus in $CORPORA; do
    for peer in $PEERS; do
        [ -f "$WORK/run/$peer-$corpus.sh" ] || continue
        bash "$WORK/run/clean.sh" "$peer-$corpus"
        if [ "$MEMORY" = 1 ]; then
            note "memory: $peer on $corpus"
            /usr/bin/time -v -o "$WORK/mem/$peer-$corpus.time" \
                "$PY" "$BENCH_DIR/peak_rss.py" --quiet --json "$WORK/mem/$peer-$corpus.json" -- bash "$WORK/run/$peer-$corpus.sh"
        else
            bash "$WORK/run/$peer-$corpus.sh"
        fi
        n="$(find "$WORK/out/$peer-$corpus" -maxdepth 1 -name '*.jpg' | wc -l)"
        first="$(find "$WORK/out/$peer-$corpus" -maxdepth 1 -name '*.jpg' | LC_ALL=C sort | sed -n 1p)"
        dims="$([ -n "$first" ] && /usr/bin/identify -format '%wx%h' "$first" || echo -)"
        echo "$peer $corpus $n $dims" >>"$WORK/results/outputs.txt.new"
    done
done
mv "$WORK/results/outputs.txt.new" "$WORK/results/outputs.txt"

"$PY" "$BENCH_DIR/peers_report.py" --work "$WORK" --corpora "$CORPORA"
echo
echo "raw data: $WORK/results (hyperfine JSON), $WORK/mem (GNU time, peak_rss JSON), $WORK/run (commands)"
