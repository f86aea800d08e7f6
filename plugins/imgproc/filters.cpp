// Neighbourhood filters: blurs, sharpen, edges and thresholds.
#include "stages.hpp"

#include <opencv2/imgproc.hpp>

#include <cmath>
#include <string>

namespace imgproc {

using batchproc::ParamError;

namespace {

void require_odd(const IntParam &p, const char *stage) {
    if (p.value() % 2 == 0)
        throw ParamError(std::string(stage) + ": " + p.name() + " must be odd (3, 5, 7, ...), got " +
                         std::to_string(p.value()));
}

} // namespace

// ---------------------------------------------------------------- gaussian_blur

void GaussianBlur::validate() {
    if (ksize == 0) {
        if (sigma <= 0)
            throw ParamError("gaussian_blur: ksize 0 takes the kernel size from sigma, so sigma must be above 0");
        return;
    }
    require_odd(ksize, name);
}

void GaussianBlur::process(Job &job) {
    const cv::Mat in = job.image();
    check_image(in, name);
    const int k = int(ksize);
    cv::Mat out;
    cv::GaussianBlur(in, out, cv::Size(k, k), sigma, sigma, cv::BORDER_REFLECT_101);
    job.set_image(out);
}

// ---------------------------------------------------------------- median_blur

void MedianBlur::validate() { require_odd(ksize, name); }

void MedianBlur::process(Job &job) {
    const cv::Mat in = job.image();
    check_image(in, name);
    // OpenCV's median filter handles 16-bit samples only with the small sorting-network kernels.
    if (in.depth() == CV_16U && ksize > 5)
        throw std::runtime_error("median_blur: 16-bit images allow ksize 3 or 5 only, got " +
                                 std::to_string(ksize.value()) +
                                 "; use a smaller ksize, or save this input as 8-bit first");
    cv::Mat out;
    cv::medianBlur(in, out, int(ksize));
    job.set_image(out);
}

// ---------------------------------------------------------------- sharpen

void Sharpen::process(Job &job) {
    const cv::Mat in = job.image();
    check_image(in, name);
    if (amount == 0.0) return;
    cv::Mat colour, alpha;
    split_alpha(in, colour, alpha); // sharpening alpha would put halos into the transparency

    // Work in float so that the difference keeps its sign and nothing clips before the end.
    cv::Mat f, blurred;
    colour.convertTo(f, CV_32F);
    cv::GaussianBlur(f, blurred, cv::Size(), radius, radius, cv::BORDER_REFLECT_101);
    cv::Mat diff = f - blurred;
    if (threshold > 0) {
        const double t = from_8bit_units(threshold, in.depth());
        cv::Mat small = cv::abs(diff) < t;
        diff.setTo(cv::Scalar::all(0), small);
    }
    cv::Mat sharpened = f + diff * double(amount);
    cv::Mat out;
    sharpened.convertTo(out, in.depth());
    job.set_image(merge_alpha(out, alpha));
}

// ---------------------------------------------------------------- canny

void Canny::validate() {
    if (low > high)
        throw ParamError("canny: low (" + batchproc::detail::format_number(low) + ") must not be above high (" +
                         batchproc::detail::format_number(high) + ")");
    if (aperture != 3 && aperture != 5 && aperture != 7)
        throw ParamError("canny: aperture must be 3, 5 or 7, got " + std::to_string(aperture.value()));
}

void Canny::process(Job &job) {
    const cv::Mat in = job.image();
    check_image(in, name);
    // cv::Canny takes 8-bit gray only.
    const cv::Mat gray = to_8bit(to_gray(in));
    cv::Mat edges;
    cv::Canny(gray, edges, low, high, int(aperture), l2gradient);
    job.set_image(edges);
}

// ---------------------------------------------------------------- threshold

void Threshold::validate() { require_odd(block_size, name); }

void Threshold::process(Job &job) {
    const cv::Mat in = job.image();
    check_image(in, name);
    const cv::Mat gray = to_gray(in);
    cv::Mat out;
    const std::string &m = method.value();
    if (m == "binary" || m == "binary_inv") {
        // Compare at the image's own depth so that 16-bit images keep their precision.
        const int type = m == "binary" ? cv::THRESH_BINARY : cv::THRESH_BINARY_INV;
        cv::Mat passed;
        if (gray.depth() == CV_8U) {
            cv::threshold(gray, passed, value, 1, type);
        } else {
            cv::Mat f;
            gray.convertTo(f, CV_32F);
            cv::threshold(f, passed, from_8bit_units(value, CV_16U), 1, type);
        }
        passed.convertTo(out, CV_8U, max_value);
    } else if (m == "otsu") {
        const double t = cv::threshold(to_8bit(gray), out, 0, max_value, cv::THRESH_BINARY | cv::THRESH_OTSU);
        job.metric("otsu_threshold", t);
    } else {
        const int adaptive = m == "adaptive_mean" ? cv::ADAPTIVE_THRESH_MEAN_C : cv::ADAPTIVE_THRESH_GAUSSIAN_C;
        cv::adaptiveThreshold(to_8bit(gray), out, max_value, adaptive, cv::THRESH_BINARY, int(block_size), c);
    }
    job.set_image(out);
}

} // namespace imgproc
