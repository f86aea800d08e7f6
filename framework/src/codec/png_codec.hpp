// PNG decoded with libpng, encoded with libspng. Decoding gives the pixels
// cv::imdecode(IMREAD_UNCHANGED) gives (OpenCV 4.6 with libpng, asking libpng for the same
// transformations): BGR(A) channel order, 16-bit kept, gray kept as one channel, gray+alpha as
// BGRA, palette as BGR (BGRA when a tRNS chunk is present), 1/2/4-bit gray scaled to 0..255,
// and no gamma or colour chunk applied.
#pragma once

#include "codec/codec_image.hpp"
#include "codec/encode_options.hpp"
#include "codec/image_decoder.hpp" // DecodeError

#include <opencv2/core.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace batchproc {

// Decodes a whole PNG file held in memory; the iCCP profile (decompressed) goes to `icc`.
// A CRC error or a truncated or corrupt file throws DecodeError, unless `tolerate_damage`:
// then checksums are ignored and the rows that can be decoded are kept (the rest black),
// with a warning saying what was wrong. `crcs_checked`: the caller has checked every chunk's
// CRC already (as decode_image does), so libpng need not.
CodecImage decode_png(const uint8_t *data, size_t size, bool tolerate_damage, bool crcs_checked = false);

// `image`: 8U or 16U, 1 (gray), 3 (BGR) or 4 (BGRA) channels. options.png_compression is
// the zlib level (0..9); `icc`, when not empty, is embedded as an iCCP chunk. Throws
// EncodeError.
std::vector<uint8_t> encode_png(const cv::Mat &image, const EncodeOptions &options, const std::vector<uint8_t> &icc);

} // namespace batchproc
