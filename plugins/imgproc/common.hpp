// Helpers shared by the imgproc stages: supported image kinds, depth scaling, alpha
// handling and colour parameters.
#pragma once

#include <opencv2/core.hpp>

#include <string>

namespace imgproc {

// The largest side, in pixels, that a size parameter accepts.
constexpr double kMaxSide = 1000000;
// The most pixels a stage may produce (256 Mi, the host's default input limit), so that a
// typo such as scale: 100 fails with a sentence instead of exhausting memory.
constexpr double kMaxPixels = 268435456;

// A colour as written in a config: 0..255 per component, alpha 255 = opaque.
struct Rgba {
    double r = 0, g = 0, b = 0, a = 255;
};

// Parses "#rrggbb", "#rrggbbaa", "r,g,b", "r,g,b,a" or a name (black, white, gray, grey,
// red, green, blue, transparent). Throws batchproc::ParamError naming `param`.
Rgba parse_colour(const std::string &text, const char *param);

// The colour in an image's own units and channel order (B,G,R[,A]); one-channel images get
// the colour's luma (the weights cv::cvtColor uses).
cv::Scalar colour_scalar(const Rgba &colour, int depth, int channels);

// Throws std::runtime_error unless the image is 8-bit or 16-bit with 1, 3 or 4 channels.
void check_image(const cv::Mat &image, const char *stage);

// 255 for 8-bit images, 65535 for 16-bit ones.
double max_value(int depth);

// 8-bit brightness units (as parameters are written) in the image's own units.
inline double from_8bit_units(double value, int depth) { return value * max_value(depth) / 255.0; }

// The image as one channel of luma (alpha dropped); shares the pixels when already gray.
cv::Mat to_gray(const cv::Mat &image);

// The image in 8-bit depth (16-bit values are divided by 257, rounding).
cv::Mat to_8bit(const cv::Mat &image);

// Splits a 4-channel image into its colour (3 channels) and alpha (1 channel); for other
// images `colour` shares the pixels and `alpha` is left empty.
void split_alpha(const cv::Mat &image, cv::Mat &colour, cv::Mat &alpha);

// The inverse of split_alpha: returns `colour` itself when `alpha` is empty.
cv::Mat merge_alpha(const cv::Mat &colour, const cv::Mat &alpha);

// Checks the size a stage is about to produce.
void check_output_size(double width, double height, const char *stage);

// "8-bit 3-channel" and the like, for messages.
std::string describe(const cv::Mat &image);

// An interpolation choice value (nearest, linear, cubic, area, lanczos) as an OpenCV flag.
int interpolation_flag(const std::string &choice);

} // namespace imgproc
