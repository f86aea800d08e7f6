// Where a crop window goes inside an image (and an image inside its padding): at a side, a
// corner or the centre, or where the content is (entropy, attention), as libvips'
// smartcrop chooses. Shared by resize (fit cover and contain) and crop.
#pragma once

#include <opencv2/core.hpp>

#include <string>

namespace imgproc {

// Whether `gravity` looks at the pixels (entropy, attention) rather than at the geometry.
bool is_content_gravity(const std::string &gravity);

// Top-left corner of an `inner`-sized rectangle placed in an `outer`-sized one, for the
// gravities center, top, bottom, left, right, top_left, top_right, bottom_left and
// bottom_right. The centre rounds towards the top-left.
cv::Point gravity_origin(const std::string &gravity, cv::Size outer, cv::Size inner);

// Top-left corner of the `window`-sized crop of `image` (8 or 16-bit, 1, 3 or 4 channels;
// the window no larger than the image) for any gravity above or entropy or attention. The
// content-aware ones are worked out on a copy at most 256 pixels long and mapped back, so
// the same image at another scale picks (nearly) the same region.
cv::Point crop_origin(const cv::Mat &image, cv::Size window, const std::string &gravity);

} // namespace imgproc
