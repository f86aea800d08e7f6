// What batchproc's own decoders (PNG, WebP, TIFF) hand back: the pixels as cv::imdecode
// with IMREAD_UNCHANGED would give them, plus what OpenCV drops (the ICC profile, the
// shrink-on-load factor, tolerated damage).
#pragma once

#include <opencv2/core.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace batchproc {

struct CodecImage {
    cv::Mat pixels;                    // CV_8U or CV_16U; 1 (gray), 3 (BGR) or 4 (BGRA) channels
    std::vector<uint8_t> icc;          // the embedded ICC profile, empty when none
    int scale_denominator = 1;         // pixels are the image reduced 1/d (WebP shrink-on-load)
    std::vector<std::string> warnings; // damage tolerated, and notes (e.g. frames skipped)
};

} // namespace batchproc
