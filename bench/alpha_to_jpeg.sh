#!/usr/bin/env bash
# What saving a large PNG with alpha as JPEG costs next to a JPEG of the same size:
# one 3672x2448 (9 Mpx) image, a gradient with noise and a soft round alpha mask, saved as
# JPEG quality 85 with no resize (the alpha is blended over white at full size), serial
# mode, one process. Wall time and peak RSS from /usr/bin/time, median of RUNS runs.
# Beside it, libvips doing the same: vips flatten --background white to a JPEG Q 85
# (VIPS_CONCURRENCY=1).
#
#   bash bench/alpha_to_jpeg.sh [BUILD_DIR]       Environment: RUNS=5 OUT_DIR=/tmp/bp-alpha
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

BUILD="$(resolve_build_dir "${1:-build}")"
BP="$BUILD/bin/batchproc"
RUNS="${RUNS:-5}"
OUT="${OUT_DIR:-/tmp/bp-alpha}"
[ -n "$OUT" ] && [ "$OUT" != / ] || die "OUT_DIR must name a scratch folder"
ensure_packages python3 python3-opencv time libvips-tools
PY="$(debian_python)"

rm -rf "$OUT" && mkdir -p "$OUT/in-png" "$OUT/in-jpg"
"$PY" - "$OUT" <<'PYEOF'
import sys, cv2, numpy as np
out = sys.argv[1]
h, w = 2448, 3672
y, x = np.mgrid[0:h, 0:w]
alpha = np.clip(255 - ((x - w / 2) ** 2 + (y - h / 2) ** 2) / (w * w / 4) * 255, 0, 255)
img = np.dstack([(x * 255 // w), (y * 255 // h), ((x + y) % 256), alpha]).astype(np.uint8)
img = cv2.add(img, np.random.default_rng(1).integers(0, 40, (h, w, 4), dtype=np.uint8))
cv2.imwrite(out + "/in-png/photo.png", img)
cv2.imwrite(out + "/in-jpg/photo.jpg", img[:, :, :3], [cv2.IMWRITE_JPEG_QUALITY, 90])
PYEOF
for kind in png jpg; do
    printf '%s\n' "plugins: [imgproc]" "input: {paths: [$OUT/in-$kind]}" "output: {dir: $OUT/out-$kind}" \
        "pool: {mode: serial}" "journal: false" "pipeline: [{save: {format: jpg, quality: 85}}]" >"$OUT/$kind.yaml"
done
machine_line
echo "median of $RUNS runs; 3672x2448, saved as JPEG q85 without resizing"
echo
echo "| input | wall s | peak RSS MB |"
echo "|---|---|---|"
for kind in png jpg; do
    for ((i = 0; i < RUNS; i++)); do
        rm -rf "$OUT/out-$kind"
        /usr/bin/time -f "%e %M" -o "$OUT/time-$kind-$i.txt" "$BP" run -q "$OUT/$kind.yaml"
    done
    read -r wall rss < <(time_medians "$OUT"/time-"$kind"-*.txt)
    label="PNG with alpha (blended over white)"
    [ "$kind" = jpg ] && label="JPEG of the same pixels"
    echo "| $label | $wall | $rss |"
done
for ((i = 0; i < RUNS; i++)); do
    rm -f "$OUT/vips.jpg"
    VIPS_CONCURRENCY=1 /usr/bin/time -f "%e %M" -o "$OUT/time-vips-$i.txt" \
        vips flatten "$OUT/in-png/photo.png" "$OUT/vips.jpg[Q=85]" --background "255 255 255"
done
read -r wall rss < <(time_medians "$OUT"/time-vips-*.txt)
echo "| PNG with alpha, by libvips (vips flatten) | $wall | $rss |"
