// Encoding an image into a file format: batchproc's own codecs for JPEG, PNG, WebP and
// TIFF (in the tiff module), the heif module for AVIF and HEIC, and OpenCV's imgcodecs (the
// opencv module) for the rest; modules are loaded on first use. The image is first made to fit the format: alpha
// blended over a background where the format has none, 16-bit samples scaled to 8 where
// it holds only 8.
#pragma once

#include "codec/encode_options.hpp"

#include <opencv2/core.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace batchproc {

// True when `format` (an extension, lower case, no dot: "jpg", "avif", "bmp"...) can be
// written. May load the codec module that writes it.
bool can_encode(const std::string &format);

// Every format batchproc can write here (loads the codec modules to ask them); a module
// that cannot be loaded contributes nothing.
std::vector<std::string> writable_formats();

struct EncodedImage {
    std::vector<uint8_t> bytes;
    int width = 0, height = 0; // of what was encoded
};

// Encodes `image` (8U or 16U; 1, 3 (BGR) or 4 (BGRA) channels) as `format`, embedding
// `icc` when not empty and the format holds profiles. Throws EncodeError with a sentence.
EncodedImage encode_image(const cv::Mat &image, const std::string &format, const EncodeOptions &options,
                          const std::vector<uint8_t> &icc = {});

} // namespace batchproc
