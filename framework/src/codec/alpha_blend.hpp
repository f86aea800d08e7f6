// Alpha blended over a background colour, for formats without an alpha channel: a whole
// image (flatten_alpha) or, for encoders that take rows, one row at a time (AlphaBlender),
// so that no 3-channel copy of the whole picture is made.
#pragma once

#include <opencv2/core.hpp>

#include <cstdint>
#include <vector>

namespace batchproc {

// out = colour * a + background * (1 - a), a = alpha / 255, rounded to the nearest, for
// 8-bit BGRA rows; through a table of every (alpha, value) pair per channel.
class AlphaBlender {
public:
    explicit AlphaBlender(const double (&background)[3]);
    // `bgra` holds 4 * width bytes, `bgr` receives 3 * width.
    void blend_row(const uint8_t *bgra, uint8_t *bgr, int width) const;

private:
    std::vector<uint8_t> table_; // [channel][alpha][value]
};

// Blends a 4-channel image (8U, 16U or 32F) over `background` (0..255 per channel, BGR
// order), giving 3 channels; any other image is returned as it is.
cv::Mat flatten_alpha(const cv::Mat &image, const double (&background)[3]);

} // namespace batchproc
