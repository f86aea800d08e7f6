// TIFF through libtiff directly, reading and writing memory (TIFFClientOpen), with
// libtiff's messages captured per file into the error text (never printed). Built into the
// tiff codec module only (tiff_module.cpp): libtiff and its dependencies (LERC, JBIG,
// libdeflate, zstd, xz...) are loaded by the runs that meet a TIFF, not by every process.
#pragma once

#include "codec/codec_image.hpp"
#include "codec/decode_error.hpp"
#include "codec/encode_options.hpp"

#include <opencv2/core.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace batchproc {

// Decodes the first page of a whole TIFF file held in memory; TIFFTAG_ICCPROFILE goes to
// `icc`, and a note to `warnings` when later pages are skipped. The Orientation tag is
// applied (the image comes out upright), as OpenCV does.
//
// 8- and 16-bit gray, RGB and RGB + one extra sample (alpha), chunky or planar, in strips or
// tiles, with any compression libtiff reads, are read as stored and come out as
// cv::imdecode(IMREAD_UNCHANGED) gives them (OpenCV 4.6): gray as one channel (an extra
// sample dropped), BGR, BGRA, 16-bit kept, alpha as stored (premultiplied stays
// premultiplied). Anything else libtiff's RGBA interface reads (palette, YCbCr/JPEG, CMYK,
// 1/2/4-bit, 8-bit MinIsWhite, CIELab...) comes out as OpenCV gives it too: 8-bit, one
// channel for gray images, else BGR, or BGRA for four samples.
//
// Where OpenCV 4.6 is wrong, the stored values win: 8-bit unassociated alpha is not
// premultiplied; 16-bit planar files are not read as if chunky; 16-bit gray + alpha stays
// 16-bit; 8-bit gray + alpha tiles cut by the right edge are not shifted; 8-bit tiled images
// with a left-right flip are mirrored whole, not tile by tile; and files OpenCV cannot read
// (2/4-bit samples, some uncompressed 8-bit tiles) are read. Floating-point, signed and
// 12/24/32-bit samples are refused ("unsupported TIFF file: ..."). Throws DecodeError.
CodecImage decode_tiff(const uint8_t *data, size_t size);

// The size decode_tiff gives the first page (turned by its Orientation tag), from its
// directory alone. Throws DecodeError as decode_tiff does.
struct TiffSize {
    int64_t width = 0, height = 0;
};
TiffSize tiff_size(const uint8_t *data, size_t size);

// `image`: 8U or 16U, 1 (gray), 3 (BGR) or 4 (BGRA, written as RGB + unassociated alpha)
// channels; LZW with the horizontal predictor, the compression cv::imencode uses. `icc`,
// when not empty, goes into TIFFTAG_ICCPROFILE. (cv::imdecode reads the translucent pixels
// of an 8-bit BGRA file premultiplied; decode_tiff reads them as written.) Throws EncodeError.
std::vector<uint8_t> encode_tiff(const cv::Mat &image, const EncodeOptions &options, const std::vector<uint8_t> &icc);

} // namespace batchproc
