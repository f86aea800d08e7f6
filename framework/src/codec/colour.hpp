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

// `pixels` (8- or 16-bit, BGR or BGRA; alpha is carried over unchanged) as described by the
// ICC profile `icc`, converted to sRGB. Throws ColourError when the profile cannot be read,
// is not an RGB profile, or the pixels are of another kind (gray, float).
cv::Mat rgb_profile_to_srgb(const cv::Mat &pixels, const std::vector<uint8_t> &icc);

// The profile's colour space signature as text ("RGB ", "GRAY", "CMYK"); "" when the
// profile cannot be read.
std::string icc_colour_space(const std::vector<uint8_t> &icc);

} // namespace batchproc
