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

// CMYK pixels (8-bit, C, M, Y, K as stored; `inverted`: 0 means full ink, as Adobe
// applications write it) described by a CMYK profile, converted to sRGB BGR. Throws
// ColourError as above.
cv::Mat cmyk_profile_to_srgb(const cv::Mat &cmyk, bool inverted, const std::vector<uint8_t> &icc);

// Gray pixels (8- or 16-bit, one channel) described by a gray profile, converted to gray
// with sRGB's tone curve (the gray an untagged image is taken to be). Throws ColourError.
cv::Mat gray_profile_to_srgb(const cv::Mat &gray, const std::vector<uint8_t> &icc);

// The profile's colour space signature as text ("RGB ", "GRAY", "CMYK"); "" when the
// profile cannot be read.
std::string icc_colour_space(const std::vector<uint8_t> &icc);

} // namespace batchproc
