// JPEG encoding through libjpeg-turbo directly: quality, progressive scans, optimised
// Huffman tables and chroma subsampling, and an embedded ICC profile.
#pragma once

#include "codec/encode_options.hpp"

#include <opencv2/core.hpp>

#include <cstdint>
#include <vector>

namespace batchproc {

// `image`: 8-bit, 1 (gray), 3 (BGR) or 4 (BGRA, blended over options.background row by
// row as it is encoded: no 3-channel copy of the picture is made) channels. With the default options the bytes are
// those cv::imencode(".jpg", image, {IMWRITE_JPEG_QUALITY, q}) writes (the same library,
// the same settings). Throws EncodeError.
std::vector<uint8_t> encode_jpeg(const cv::Mat &image, const EncodeOptions &options, const std::vector<uint8_t> &icc);

} // namespace batchproc
