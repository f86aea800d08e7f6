// JPEG encoding through libjpeg-turbo directly: quality, progressive scans, optimised
// Huffman tables and chroma subsampling, and an embedded ICC profile.
#pragma once

#include "codec/encode_options.hpp"

#include <opencv2/core.hpp>

#include <cstdint>
#include <vector>

namespace batchproc {

// `image`: 8-bit, 1 (gray) or 3 (BGR) channels. With the default options the bytes are
// those cv::imencode(".jpg", image, {IMWRITE_JPEG_QUALITY, q}) writes (the same library,
// the same settings). Throws EncodeError.
std::vector<uint8_t> encode_jpeg(const cv::Mat &image, const EncodeOptions &options, const std::vector<uint8_t> &icc);

} // namespace batchproc
