#!/usr/bin/env bash
# The web-gallery job, two outputs per photo from one decode, by batchproc and its peers:
# for every image, a 1600 px wide WebP (quality 80) and a 400x400 square JPEG thumbnail
# (quality 85; scaled to cover the square, the overflow cropped at the centre).
#
#   bash bench/gallery.sh [BUILD_DIR]            (default BUILD_DIR: build)
#
# Corpora: bench/compare_peers.sh's "large" (16 Mpx JPEGs) and "mixed" (9 Mpx PNG with
# alpha, baseline and progressive JPEG, WebP) folders in WORK_DIR/corpus; built by running
# compare_peers.sh for batchproc alone when missing.
#
# Runners (commands written to WORK_DIR/gallery/*.sh), 2 workers each:
#   batchproc        one config: resize width 1600, save webp, resize 400x400 fit cover, save jpg
#   imagemagick      GNU parallel -j2, one convert per file: -resize 1600x -write the WebP,
#                    then -thumbnail 400x400^ -gravity center -extent 400x400 (the same chain)
#   vipsthumbnail    two GNU parallel -j2 -X vipsthumbnail runs: --size 1600x to the WebP,
#                    then --size 400x400 --smartcrop centre to the JPEG (two decodes per file)
# ImageMagick and vips flatten the PNGs' alpha onto black for the JPEG; batchproc blends it
# over white (its default background).
# Timing: bench/interleave.py (WARMUP rounds, then RUNS rounds, each runner once per round).
#
# Environment: WORK_DIR=/tmp/bp-peers RUNS=3 WARMUP=1 CORPORA="large mixed" LARGE_COUNT=24 MIXED_PER_KIND=8
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

BUILD="$(resolve_build_dir "${1:-build}")"
BP="$BUILD/bin/batchproc"
WORK="${WORK_DIR:-/tmp/bp-peers}"
RUNS="${RUNS:-3}"
WARMUP="${WARMUP:-1}"
CORPORA="${CORPORA:-large mixed}"
ensure_packages parallel libvips-tools imagemagick python3 time
PY="$(debian_python)"
IM=/usr/bin/convert
[ -x "$IM" ] || die "$IM is missing (package imagemagick)"

for corpus in $CORPORA; do
    if [ ! -f "$WORK/corpus/$corpus/.stamp" ]; then
        note "building the $corpus corpus with bench/compare_peers.sh"
        WORK_DIR="$WORK" CORPORA="$corpus" PEERS=batchproc RUNS=1 WARMUP=0 MEMORY=0 \
            bash "$BENCH_DIR/compare_peers.sh" "$BUILD" >/dev/null
    fi
done

G="$WORK/gallery"
mkdir -p "$G"
cat >"$G/clean.sh" <<EOF
#!/usr/bin/env bash
set -euo pipefail
rm -rf "$G/out/\$1"
mkdir -p "$G/out/\$1/web" "$G/out/\$1/thumbs"
EOF

machine_line
echo "median of $RUNS interleaved rounds (after $WARMUP warm-up); 2 workers; WebP 1600w q80 + JPEG 400x400 cover q85"
echo
for corpus in $CORPORA; do
    in="$WORK/corpus/$corpus"
    find "$in" -maxdepth 1 -type f \( -name '*.jpg' -o -name '*.png' -o -name '*.webp' \) | LC_ALL=C sort >"$G/$corpus.list"
    out="$G/out/batchproc-$corpus"
    cat >"$G/batchproc-$corpus.yaml" <<EOF
# Written by bench/gallery.sh: the gallery job on the $corpus corpus.
plugins: [imgproc]
input: {paths: [$in], include: ["*.jpg", "*.png", "*.webp"]}
output: {dir: $out, durable: false}
journal: false
pool: {mode: processes, workers: 2, start_method: forkserver, threads_per_worker: 1}
pipeline:
  - resize: {width: 1600}
  - save: {format: webp, quality: 80, name: "web/{stem}.webp"}
  - resize: {width: 400, height: 400, fit: cover}
  - save: {format: jpg, quality: 85, name: "thumbs/{stem}.jpg"}
EOF
    "$BP" validate "$G/batchproc-$corpus.yaml" >/dev/null || die "batchproc rejects $G/batchproc-$corpus.yaml"
    out_im="$G/out/imagemagick-$corpus"
    out_vips="$G/out/vipsthumbnail-$corpus"
    printf '%s\n' "#!/usr/bin/env bash" "set -euo pipefail" "export MAGICK_THREAD_LIMIT=1" \
        "exec parallel --will-cite -j2 $IM {} -resize 1600x -quality 80 -write $out_im/web/{/.}.webp -thumbnail '400x400^' -gravity center -extent 400x400 -quality 85 $out_im/thumbs/{/.}.jpg :::: $G/$corpus.list" \
        >"$G/imagemagick-$corpus.sh"
    printf '%s\n' "#!/usr/bin/env bash" "set -euo pipefail" "export VIPS_CONCURRENCY=1" \
        "parallel --will-cite -j2 -X vipsthumbnail --size 1600x -o '$out_vips/web/%s.webp[Q=80]' :::: $G/$corpus.list" \
        "exec parallel --will-cite -j2 -X vipsthumbnail --size 400x400 --smartcrop centre -o '$out_vips/thumbs/%s.jpg[Q=85]' :::: $G/$corpus.list" \
        >"$G/vipsthumbnail-$corpus.sh"
    echo "### $corpus ($(wc -l <"$G/$corpus.list") files)"
    echo
    echo '```'
    "$PY" "$BENCH_DIR/interleave.py" --prepare "bash $G/clean.sh {name}-$corpus" --json "$G/$corpus.json" "$RUNS" "$WARMUP" \
        "batchproc=$BP run -q $G/batchproc-$corpus.yaml" \
        "imagemagick=bash $G/imagemagick-$corpus.sh" \
        "vipsthumbnail=bash $G/vipsthumbnail-$corpus.sh"
    echo '```'
    count="$(wc -l <"$G/$corpus.list")"
    for runner in batchproc imagemagick vipsthumbnail; do
        made="$(find "$G/out/$runner-$corpus" -type f | wc -l)"
        [ "$made" -eq $((2 * count)) ] || echo "warning: $runner wrote $made files, not $((2 * count))"
    done
    echo
done
