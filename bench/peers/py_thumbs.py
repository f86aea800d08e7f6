#!/usr/bin/env python3
"""A peer for bench/compare_peers.sh: the thumbnail workload with Python's
concurrent.futures.ProcessPoolExecutor and OpenCV (Debian package python3-opencv).

    python3 bench/peers/py_thumbs.py IN_DIR OUT_DIR [--workers 2] [--size 256] [--quality 85]

Every *.jpg / *.jpeg / *.png in IN_DIR (not recursive) -> OUT_DIR/<stem>.jpg: cv2.imread
(full decode), long side SIZE with INTER_AREA, GaussianBlur 3x3 (sigma 0: derived from the
size), cv2.imwrite at JPEG quality QUALITY. One file per task (pool.map, chunksize 1), in
WORKERS processes (the platform's default start method), each with OpenCV's own threading
off (cv2.setNumThreads(1)) so that WORKERS images are in flight at once.
"""

import argparse
import os
import sys
from concurrent.futures import ProcessPoolExecutor

import cv2

SIZE = 256
QUALITY = 85
OUT_DIR = ""


def init(out_dir, size, quality):
    global OUT_DIR, SIZE, QUALITY
    OUT_DIR, SIZE, QUALITY = out_dir, size, quality
    cv2.setNumThreads(1)


def thumb(path):
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        return f"cannot read {path}"
    h, w = img.shape[:2]
    long_side = max(w, h)
    if long_side > SIZE:
        f = SIZE / long_side
        img = cv2.resize(img, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    img = cv2.GaussianBlur(img, (3, 3), 0)
    out = os.path.join(OUT_DIR, os.path.splitext(os.path.basename(path))[0] + ".jpg")
    if not cv2.imwrite(out, img, [cv2.IMWRITE_JPEG_QUALITY, QUALITY]):
        return f"cannot write {out}"
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("in_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--quality", type=int, default=85)
    a = ap.parse_args()
    files = sorted(os.path.join(a.in_dir, n) for n in os.listdir(a.in_dir)
                   if n.lower().endswith((".jpg", ".jpeg", ".png")))
    os.makedirs(a.out_dir, exist_ok=True)
    failed = 0
    with ProcessPoolExecutor(max_workers=a.workers, initializer=init,
                             initargs=(a.out_dir, a.size, a.quality)) as pool:
        for error in pool.map(thumb, files, chunksize=1):
            if error:
                failed += 1
                print(f"py_thumbs: {error}", file=sys.stderr)
    print(f"py_thumbs: {len(files)} files, {failed} failed, {a.workers} workers")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
