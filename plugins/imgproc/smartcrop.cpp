// Crop placement: fixed gravities, and the content-aware search (entropy, attention) that
// libvips' smartcrop made popular, done exhaustively on a small copy of the image.
#include "smartcrop.hpp"

#include "common.hpp"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace imgproc {

namespace {

// The content-aware search runs on a copy this long at most: enough to tell a face from a
// sky, small enough that trying every position takes a few milliseconds.
constexpr int kAnalysisSide = 256;

// Every window position's score, and the pick among the best. Scores equal up to rounding
// are ties, and of the tied positions the one nearest their mean wins: a small detailed part
// that many windows hold whole ends up in the middle of the window, not against its edge,
// and a featureless image is cut in the middle, as by center.
class WindowScores {
public:
    WindowScores(cv::Size image, cv::Size window)
        : columns_(image.width - window.width + 1),
          scores_(size_t(columns_) * size_t(image.height - window.height + 1)) {}

    void set(int x, int y, double score) { scores_[size_t(y) * size_t(columns_) + size_t(x)] = score; }

    cv::Point best() const {
        const double top = *std::max_element(scores_.begin(), scores_.end());
        const double floor = top - 1e-9 * std::max(1.0, std::fabs(top));
        double sx = 0, sy = 0, count = 0;
        for (size_t i = 0; i < scores_.size(); ++i)
            if (scores_[i] >= floor) {
                sx += double(i % size_t(columns_));
                sy += double(i / size_t(columns_));
                count += 1;
            }
        const double mx = sx / count, my = sy / count;
        cv::Point at;
        double nearest = std::numeric_limits<double>::infinity();
        for (size_t i = 0; i < scores_.size(); ++i) {
            if (scores_[i] < floor) continue;
            const int x = int(i % size_t(columns_)), y = int(i / size_t(columns_));
            const double d = (x - mx) * (x - mx) + (y - my) * (y - my);
            if (d < nearest) {
                nearest = d;
                at = {x, y};
            }
        }
        return at;
    }

private:
    int columns_;
    std::vector<double> scores_;
};

// The image at `small` size as float BGR in 0..1. Colour is scaled by alpha (composited over
// black), so the hidden colour of transparent pixels does not count as content.
cv::Mat analysis_copy(const cv::Mat &image, cv::Size small) {
    cv::Mat resized = image;
    if (small != image.size()) cv::resize(image, resized, small, 0, 0, cv::INTER_AREA);
    cv::Mat scaled;
    resized.convertTo(scaled, CV_32F, 1.0 / max_value(image.depth()));
    cv::Mat colour, alpha;
    split_alpha(scaled, colour, alpha);
    if (!alpha.empty()) {
        cv::Mat alpha3;
        cv::merge(std::vector<cv::Mat>{alpha, alpha, alpha}, alpha3);
        colour = colour.mul(alpha3);
    }
    if (colour.channels() == 1) cv::cvtColor(colour, colour, cv::COLOR_GRAY2BGR);
    return colour;
}

// The window whose 256-level luma histogram has the highest Shannon entropy. Every position
// is tried: the histogram slides one column at a time, and the entropy follows from the
// running sum of c log c over its bins, H = log n - (sum c log c) / n.
cv::Point most_entropy(const cv::Mat &bgr, cv::Size window) {
    cv::Mat gray, luma;
    cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
    gray.convertTo(luma, CV_8U, 255.0);

    const int n = window.area();
    std::vector<double> c_log_c(size_t(n) + 1, 0.0);
    for (int c = 1; c <= n; ++c) c_log_c[size_t(c)] = c * std::log(double(c));
    const double log_n = std::log(double(n));

    WindowScores scores(luma.size(), window);
    std::array<int, 256> histogram{};
    double sum = 0;
    const auto count = [&](uint8_t value, int change) {
        int &c = histogram[value];
        sum -= c_log_c[size_t(c)];
        c += change;
        sum += c_log_c[size_t(c)];
    };
    for (int y = 0; y + window.height <= luma.rows; ++y) {
        histogram.fill(0);
        sum = 0;
        for (int r = y; r < y + window.height; ++r) {
            const uint8_t *row = luma.ptr<uint8_t>(r);
            for (int x = 0; x < window.width; ++x) count(row[x], 1);
        }
        for (int x = 0;; ++x) {
            scores.set(x, y, log_n - sum / n);
            if (x + window.width >= luma.cols) break;
            for (int r = y; r < y + window.height; ++r) {
                const uint8_t *row = luma.ptr<uint8_t>(r);
                count(row[x], -1);
                count(row[x + window.width], 1);
            }
        }
    }
    return scores.best();
}

// A saliency map, as libvips' attention measures it, in CIE L*a*b*: edges (the absolute
// Sobel gradients of L*), skin tones (a* 3..22, b* 4..31, L* at least 15) and strongly
// saturated colour (chroma above 60). Skin and saturation count 255 a pixel, about a strong
// edge's gradient.
cv::Mat saliency(const cv::Mat &bgr) {
    cv::Mat lab;
    cv::cvtColor(bgr, lab, cv::COLOR_BGR2Lab); // float input: L* 0..100, a* and b* signed
    std::vector<cv::Mat> channels;
    cv::split(lab, channels);
    cv::Mat gx, gy;
    cv::Sobel(channels[0], gx, CV_32F, 1, 0);
    cv::Sobel(channels[0], gy, CV_32F, 0, 1);
    cv::Mat map = cv::abs(gx) + cv::abs(gy);

    cv::Mat skin, chroma, saturated, as_float;
    cv::inRange(lab, cv::Scalar(15, 3, 4), cv::Scalar(101, 22, 31), skin);
    skin.convertTo(as_float, CV_32F);
    map += as_float;
    cv::magnitude(channels[1], channels[2], chroma);
    cv::compare(chroma, 60.0, saturated, cv::CMP_GT);
    saturated.convertTo(as_float, CV_32F);
    map += as_float;
    return map;
}

// The window holding the most saliency once the map is blurred by about a sixth of the
// window's diagonal: the blur makes a window centred on a small subject score higher than
// one that only just holds it.
cv::Point most_attention(const cv::Mat &bgr, cv::Size window) {
    cv::Mat map = saliency(bgr);
    // Three box blurs of side w approach a Gaussian of sigma sqrt((w^2 - 1) / 4), at a cost
    // that does not grow with w.
    const double sigma = std::hypot(window.width, window.height) / 6.0;
    const int side = int(std::lround(std::sqrt(4.0 * sigma * sigma + 1.0))) | 1;
    if (side > 1)
        for (int pass = 0; pass < 3; ++pass)
            cv::blur(map, map, cv::Size(side, side), cv::Point(-1, -1), cv::BORDER_CONSTANT);

    cv::Mat sums;
    cv::integral(map, sums, CV_64F);
    WindowScores scores(map.size(), window);
    for (int y = 0; y + window.height <= map.rows; ++y) {
        const double *top = sums.ptr<double>(y);
        const double *bottom = sums.ptr<double>(y + window.height);
        for (int x = 0; x + window.width <= map.cols; ++x)
            scores.set(x, y, bottom[x + window.width] - bottom[x] - top[x + window.width] + top[x]);
    }
    return scores.best();
}

} // namespace

bool is_content_gravity(const std::string &gravity) { return gravity == "entropy" || gravity == "attention"; }

cv::Point gravity_origin(const std::string &gravity, cv::Size outer, cv::Size inner) {
    const std::string &g = gravity;
    const bool at_left = g == "left" || g == "top_left" || g == "bottom_left";
    const bool at_right = g == "right" || g == "top_right" || g == "bottom_right";
    const bool at_top = g == "top" || g == "top_left" || g == "top_right";
    const bool at_bottom = g == "bottom" || g == "bottom_left" || g == "bottom_right";
    const int spare_x = outer.width - inner.width, spare_y = outer.height - inner.height;
    return {at_left ? 0 : at_right ? spare_x : spare_x / 2, at_top ? 0 : at_bottom ? spare_y : spare_y / 2};
}

cv::Point crop_origin(const cv::Mat &image, cv::Size window, const std::string &gravity) {
    if (!is_content_gravity(gravity) || window == image.size()) return gravity_origin(gravity, image.size(), window);

    const double f = std::min(1.0, double(kAnalysisSide) / std::max(image.cols, image.rows));
    const cv::Size small(std::max(1, int(std::lround(image.cols * f))), std::max(1, int(std::lround(image.rows * f))));
    const double fx = double(small.width) / image.cols, fy = double(small.height) / image.rows;
    const cv::Size small_window(std::clamp(int(std::lround(window.width * fx)), 1, small.width),
                                std::clamp(int(std::lround(window.height * fy)), 1, small.height));
    const cv::Mat copy = analysis_copy(image, small);
    const cv::Point found =
        gravity == "entropy" ? most_entropy(copy, small_window) : most_attention(copy, small_window);

    // The found window's centre, at full scale, becomes the crop's centre; a window against
    // an edge of the copy stays against that edge (rounding could leave a sliver out).
    const auto back = [](int origin, int small_side, int small_image_side, double factor, int side, int image_side) {
        if (small_side == small_image_side) return (image_side - side) / 2; // no choice at this scale
        if (origin == 0) return 0;
        if (origin + small_side == small_image_side) return image_side - side;
        const double centre = (origin + small_side / 2.0) / factor;
        return std::clamp(int(std::lround(centre - side / 2.0)), 0, image_side - side);
    };
    return {back(found.x, small_window.width, small.width, fx, window.width, image.cols),
            back(found.y, small_window.height, small.height, fy, window.height, image.rows)};
}

} // namespace imgproc
