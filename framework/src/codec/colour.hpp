// Colour management with Little CMS: pixels described by an embedded ICC profile are
// converted to sRGB at decode (perceptual intent with black-point compensation, as libvips'
// thumbnail does), so that every later stage and every output sees sRGB, which is what an
// untagged image is taken to be.
#pragma once

#include <opencv2/core.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace batchproc {

class ColourError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// `bgr` (8-bit, 3 channels, BGR order) as described by the ICC profile `icc`, converted to
// sRGB. Throws ColourError when the profile cannot be read or is not an RGB profile.
cv::Mat rgb_profile_to_srgb(const cv::Mat &bgr, const std::vector<uint8_t> &icc);

// The profile's colour space signature as text ("RGB ", "GRAY", "CMYK"); "" when the
// profile cannot be read.
std::string icc_colour_space(const std::vector<uint8_t> &icc);

} // namespace batchproc
