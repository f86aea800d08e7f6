#!/usr/bin/python3
"""Writes the seed images of tests/fuzz/corpus/decode and corpus/header (the same set).

Run from anywhere with Debian's python3 and python3-opencv (and heif-enc from
libheif-examples for the HEIF and AVIF seeds, skipped when it is missing):

    /usr/bin/python3 tests/fuzz/make_corpus.py

Small images (24x16) of every format the decoder reads: OpenCV writes what it can, and
the variants it cannot (palette, interlaced, gray+alpha PNG; PNG, WebP and JPEG with EXIF
orientation or an ICC profile; animated WebP; hand-made TIFF and BigTIFF; GIF) are put
together here byte by byte. A few damaged files (truncated, bad CRC) seed the tolerant
paths. The files are committed; rerunning rewrites them (JPEG, WebP and HEIF bytes may
differ between library versions, which does not matter to a seed corpus).
"""
import os
import struct
import subprocess
import sys
import tempfile
import zlib

os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")
import cv2  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIRS = [os.path.join(HERE, "corpus", "decode"), os.path.join(HERE, "corpus", "header")]
RGB_ICC = "/usr/share/color/icc/compatibleWithAdobeRGB1998.icc"  # icc-profiles-free, 580 bytes
GRAY_ICC = "/usr/share/color/icc/Gray.icc"                      # 420 bytes
W, H = 24, 16


def image(channels=3, depth=np.uint8):
    y, x = np.mgrid[0:H, 0:W]
    top = 65535 if depth == np.uint16 else 255
    planes = [x * top // (W - 1), y * top // (H - 1), (x + y) * top // (W + H - 2), (x * y) % (top + 1)]
    return np.dstack(planes[:channels]).astype(depth).squeeze()


def save(name, data):
    for d in OUT_DIRS:
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


def cv_encode(ext, img, params=()):
    ok, buf = cv2.imencode(ext, img, list(params))
    if not ok:
        raise RuntimeError("OpenCV cannot write " + ext)
    return buf.tobytes()


def exif_block(orientation, big_endian=False):
    """A TIFF-structured EXIF block with only IFD0's Orientation tag."""
    e = ">" if big_endian else "<"
    head = (b"MM\x00\x2a" if big_endian else b"II\x2a\x00") + struct.pack(e + "I", 8)
    return head + struct.pack(e + "HHHIHH", 1, 0x0112, 3, 1, orientation, 0) + struct.pack(e + "I", 0)


# ---- PNG ------------------------------------------------------------------------------------

def png_chunk(kind, payload):
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def png(rows, colour_type, depth, interlace=False, extra=(), palette=None, trns=None):
    """rows: a 2-D (or 3-D, samples last) array of sample values, already in PNG order (RGB)."""
    rows = np.asarray(rows)
    h, w = rows.shape[:2]

    def scanlines(sub):
        out = b""
        for r in sub:
            if depth == 16:
                raw = r.astype(">u2").tobytes()
            elif depth == 8:
                raw = r.astype(np.uint8).tobytes()
            else:  # 1, 2 or 4 bits a sample, one sample a pixel (gray or palette)
                per = 8 // depth
                vals = list(r.reshape(-1)) + [0] * (-len(r) % per)
                raw = bytes(sum(int(v) << (8 - depth * (k + 1)) for k, v in enumerate(vals[i:i + per]))
                            for i in range(0, len(vals), per))
            out += b"\x00" + raw
        return out

    if interlace:
        data = b"".join(scanlines(rows[y0::dy, x0::dx]) for x0, y0, dx, dy in ADAM7
                        if rows[y0::dy, x0::dx].size)
    else:
        data = scanlines(rows)
    ihdr = struct.pack(">IIBBBBB", w, h, depth, colour_type, 0, 0, 1 if interlace else 0)
    body = png_chunk(b"IHDR", ihdr)
    for kind, payload in extra:
        body += png_chunk(kind, payload)
    if palette is not None:
        body += png_chunk(b"PLTE", bytes(palette))
    if trns is not None:
        body += png_chunk(b"tRNS", bytes(trns))
    body += png_chunk(b"IDAT", zlib.compress(data, 9)) + png_chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def iccp(path):
    with open(path, "rb") as f:
        return b"icc\x00\x00" + zlib.compress(f.read(), 9)


def make_png():
    rgb = image(3)[:, :, ::-1]
    save("png_rgb8.png", cv_encode(".png", image(3)))
    save("png_rgba8.png", cv_encode(".png", image(4)))
    save("png_gray8.png", cv_encode(".png", image(1)))
    save("png_rgb16.png", cv_encode(".png", image(3, np.uint16)))
    save("png_rgba16_interlaced.png", png(image(4, np.uint16)[:, :, [2, 1, 0, 3]], 6, 16, interlace=True))
    save("png_rgb8_interlaced.png", png(rgb, 2, 8, interlace=True))
    save("png_gray_alpha8.png", png(image(2), 4, 8))
    save("png_gray2.png", png(image(1) // 64, 0, 2))
    palette = [0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255] + [200] * 12 * 3
    indices = (image(1).astype(int) // 16) % 16
    save("png_palette4_trns.png", png(indices, 3, 4, palette=palette, trns=[0, 128, 255]))
    save("png_palette8_interlaced.png", png(indices, 3, 8, interlace=True, palette=palette))
    save("png_exif_orientation6.png", png(rgb, 2, 8, extra=[(b"eXIf", exif_block(6, True))]))
    save("png_iccp_rgb.png", png(rgb, 2, 8, extra=[(b"iCCP", iccp(RGB_ICC))]))
    save("png_iccp_gray.png", png(image(1), 0, 8, extra=[(b"iCCP", iccp(GRAY_ICC))]))
    good = png(rgb, 2, 8)
    save("png_truncated.png", good[: len(good) - 20])
    bad_crc = bytearray(good)
    bad_crc[60] ^= 0x55  # inside IDAT's data: its CRC no longer matches
    save("png_bad_crc.png", bytes(bad_crc))


# ---- JPEG -----------------------------------------------------------------------------------

def jpeg_with_segment(jpeg, marker, payload):
    return jpeg[:2] + b"\xff" + bytes([marker]) + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def make_jpeg():
    base = cv_encode(".jpg", image(3), [cv2.IMWRITE_JPEG_QUALITY, 75])
    save("jpeg_baseline.jpg", base)
    save("jpeg_progressive.jpg", cv_encode(".jpg", image(3), [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]))
    save("jpeg_gray.jpg", cv_encode(".jpg", image(1)))
    save("jpeg_64x48_q30.jpg", cv_encode(".jpg", cv2.resize(image(3), (64, 48)), [cv2.IMWRITE_JPEG_QUALITY, 30]))
    save("jpeg_exif_orientation8.jpg", jpeg_with_segment(base, 0xE1, b"Exif\x00\x00" + exif_block(8)))
    with open(RGB_ICC, "rb") as f:
        save("jpeg_icc.jpg", jpeg_with_segment(base, 0xE2, b"ICC_PROFILE\x00\x01\x01" + f.read()))
    save("jpeg_truncated.jpg", base[: len(base) * 2 // 3])


# ---- WebP -----------------------------------------------------------------------------------

def riff_chunk(kind, payload):
    return kind + struct.pack("<I", len(payload)) + payload + (b"\x00" if len(payload) % 2 else b"")


def webp_file(chunks):
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def le24(v):
    return struct.pack("<I", v)[:3]


def vp8x(flags, w, h):
    return riff_chunk(b"VP8X", bytes([flags, 0, 0, 0]) + le24(w - 1) + le24(h - 1))


def image_chunk(webp):
    """The image chunk of a simple-format WebP file (VP8 or VP8L, after the RIFF header)."""
    return webp[12:]


def make_webp():
    lossy = cv_encode(".webp", image(3), [cv2.IMWRITE_WEBP_QUALITY, 60])
    lossless = cv_encode(".webp", image(3), [cv2.IMWRITE_WEBP_QUALITY, 101])
    save("webp_lossy.webp", lossy)
    save("webp_lossless.webp", lossless)
    save("webp_lossless_alpha.webp", cv_encode(".webp", image(4), [cv2.IMWRITE_WEBP_QUALITY, 101]))
    save("webp_lossy_64x48.webp", cv_encode(".webp", cv2.resize(image(3), (64, 48)), [cv2.IMWRITE_WEBP_QUALITY, 40]))
    save("webp_exif_orientation3.webp",
         webp_file([vp8x(0x08, W, H), image_chunk(lossy), riff_chunk(b"EXIF", exif_block(3))]))
    with open(RGB_ICC, "rb") as f:
        save("webp_icc.webp", webp_file([vp8x(0x20, W, H), riff_chunk(b"ICCP", f.read()), image_chunk(lossy)]))
    frames = []
    for x, y, frame in ((0, 0, lossy), (4, 2, lossless)):
        header = le24(x // 2) + le24(y // 2) + le24(W - 1) + le24(H - 1) + le24(100) + b"\x00"
        frames.append(riff_chunk(b"ANMF", header + image_chunk(frame)))
    save("webp_animated.webp",
         webp_file([vp8x(0x02, W + 4, H + 2), riff_chunk(b"ANIM", b"\xff\xff\xff\xff\x00\x00")] + frames))
    save("webp_truncated.webp", lossy[: len(lossy) // 2])


# ---- TIFF -----------------------------------------------------------------------------------

def tiff_rgb8(big=False, orientation=1):
    """Uncompressed chunky RGB in one strip, little-endian, classic or BigTIFF."""
    pixels = image(3)[:, :, ::-1].tobytes()
    entries = [(256, 3, W), (257, 3, H), (258, 3, 8), (259, 3, 1), (262, 3, 2), (273, 4, 0),
               (274, 3, orientation), (277, 3, 3), (278, 3, H), (279, 4, len(pixels))]
    # BitsPerSample has 3 values; stored as one (8) here: libtiff accepts a single value.
    head = 16 if big else 8
    ifd_size = (8 + 20 * len(entries) + 8) if big else (2 + 12 * len(entries) + 4)
    data_at = head + ifd_size
    out = b"II+\x00" + struct.pack("<HHQ", 8, 0, head) if big else b"II*\x00" + struct.pack("<I", head)
    out += struct.pack("<Q", len(entries)) if big else struct.pack("<H", len(entries))
    types = {3: "H", 4: "I"}
    for tag, kind, value in entries:
        if tag == 273:
            value = data_at
        if big:
            out += struct.pack("<HHQ", tag, kind, 1) + struct.pack("<" + types[kind], value).ljust(8, b"\x00")
        else:
            out += struct.pack("<HHI", tag, kind, 1) + struct.pack("<" + types[kind], value).ljust(4, b"\x00")
    out += struct.pack("<Q", 0) if big else struct.pack("<I", 0)
    return out + pixels


def make_tiff():
    save("tiff_rgb8.tif", cv_encode(".tif", image(3)))
    save("tiff_rgba16.tif", cv_encode(".tif", image(4, np.uint16)))
    save("tiff_gray8_uncompressed.tif", cv_encode(".tif", image(1), [cv2.IMWRITE_TIFF_COMPRESSION, 1]))
    save("tiff_float32.tif", cv_encode(".tif", image(3).astype(np.float32) / 255))
    save("tiff_handmade_orientation6.tif", tiff_rgb8(orientation=6))
    save("tiff_bigtiff.tif", tiff_rgb8(big=True))


# ---- GIF (hand-made: OpenCV 4.6 writes none) ------------------------------------------------

def gif():
    """4 colours, LZW with 9-bit codes only: a clear code every 250 pixels keeps the table small."""
    pixels = [int(v) for v in ((image(1).astype(int) // 64) % 4).reshape(-1)]
    codes = []
    for i in range(0, len(pixels), 250):
        codes += [256] + pixels[i:i + 250]
    codes.append(257)
    bits = "".join(format(c, "09b")[::-1] for c in codes)
    bits += "0" * (-len(bits) % 8)
    lzw = bytes(int(bits[i:i + 8][::-1], 2) for i in range(0, len(bits), 8))
    blocks = b"".join(bytes([len(lzw[i:i + 255])]) + lzw[i:i + 255] for i in range(0, len(lzw), 255)) + b"\x00"
    head = b"GIF89a" + struct.pack("<HHBBB", W, H, 0x81, 0, 0) + bytes([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255])
    return head + b"\x2c" + struct.pack("<HHHHB", 0, 0, W, H, 0) + b"\x08" + blocks + b"\x3b"


# ---- The rest: OpenCV's imgcodecs, heif-enc ----------------------------------------------------

def make_others():
    save("gif_4colours.gif", gif())
    save("bmp_rgb24.bmp", cv_encode(".bmp", image(3)))
    save("bmp_gray8.bmp", cv_encode(".bmp", image(1)))
    save("pnm_p6.ppm", cv_encode(".ppm", image(3)))
    save("pnm_p5_16bit.pgm", cv_encode(".pgm", image(1, np.uint16)))
    save("pnm_p3_ascii.ppm", cv_encode(".ppm", image(3)[:4, :4], [cv2.IMWRITE_PXM_BINARY, 0]))
    save("pnm_p1_ascii.pbm", b"P1\n# comment\n4 2\n0 1 0 1\n1 0 1 0\n")
    pam = b"P7\nWIDTH %d\nHEIGHT %d\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n" % (W, H)
    save("pnm_p7_rgba.pam", pam + image(4)[:, :, [2, 1, 0, 3]].tobytes())
    save("pfm_rgb.pfm", cv_encode(".pfm", image(3).astype(np.float32) / 255))
    save("hdr_rgbe.hdr", cv_encode(".hdr", image(3).astype(np.float32) / 255))
    save("ras_sun.ras", cv_encode(".ras", image(3)))
    save("jp2_rgb_64x64.jp2", cv_encode(".jp2", cv2.resize(image(3), (64, 64)), [cv2.IMWRITE_JPEG2000_COMPRESSION_X1000, 50]))
    try:
        save("exr_half.exr", cv_encode(".exr", image(3).astype(np.float32) / 255,
                                       [cv2.IMWRITE_EXR_TYPE, cv2.IMWRITE_EXR_TYPE_HALF]))
    except (RuntimeError, cv2.error) as e:
        print("skipped OpenEXR:", e, file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "in.png")
        cv2.imwrite(src, image(3))
        for name, flags in (("heif_hevc.heic", []), ("avif_av1.avif", ["-A"])):
            dst = os.path.join(tmp, name)
            try:
                subprocess.run(["heif-enc", "-q", "20", *flags, src, "-o", dst], check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            except (OSError, subprocess.CalledProcessError) as e:
                print("skipped", name, "(heif-enc from libheif-examples):", e, file=sys.stderr)
                continue
            with open(dst, "rb") as f:
                save(name, f.read())


def main():
    make_png()
    make_jpeg()
    make_webp()
    make_tiff()
    make_others()
    total = sum(os.path.getsize(os.path.join(d, n)) for d in OUT_DIRS for n in os.listdir(d))
    print("wrote", len(os.listdir(OUT_DIRS[0])), "seeds to each of", ", ".join(OUT_DIRS), "-", total, "bytes in all")


if __name__ == "__main__":
    main()
