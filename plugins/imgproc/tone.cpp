// Stages that change sample values but not geometry: grayscale, equalize,
// brightness_contrast, gamma.
#include "stages.hpp"

#include <opencv2/imgproc.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

namespace imgproc {

using batchproc::ParamError;

namespace {

// Global histogram equalization of a one-channel 16-bit image (cv::equalizeHist is 8-bit
// only), with the same mapping: the cumulative histogram stretched over the full range.
void equalize16(const cv::Mat &in, cv::Mat &out) {
    std::vector<uint64_t> hist(65536, 0);
    for (int r = 0; r < in.rows; ++r) {
        const auto *p = in.ptr<uint16_t>(r);
        for (int c = 0; c < in.cols; ++c) ++hist[p[c]];
    }
    const uint64_t total = uint64_t(in.total());
    size_t first = 0;
    while (hist[first] == 0) ++first;
    if (hist[first] == total) { // one value only: nothing to spread, as equalizeHist does
        out = in.clone();
        return;
    }
    std::vector<uint16_t> lut(65536);
    const double scale = 65535.0 / double(total - hist[first]);
    uint64_t sum = 0;
    for (size_t v = 0; v < lut.size(); ++v) {
        if (v > first) sum += hist[v];
        lut[v] = cv::saturate_cast<uint16_t>(double(sum) * scale);
    }
    out.create(in.size(), in.type());
    for (int r = 0; r < in.rows; ++r) {
        const auto *p = in.ptr<uint16_t>(r);
        auto *q = out.ptr<uint16_t>(r);
        for (int c = 0; c < in.cols; ++c) q[c] = lut[p[c]];
    }
}

// Applies a per-value table to every sample of an 8-bit or 16-bit image.
cv::Mat apply_table(const cv::Mat &in, const std::vector<double> &table) {
    cv::Mat out(in.size(), in.type());
    if (in.depth() == CV_8U) {
        cv::Mat lut(1, 256, CV_8U);
        for (int i = 0; i < 256; ++i) lut.at<uint8_t>(i) = cv::saturate_cast<uint8_t>(table[size_t(i)]);
        cv::LUT(in, lut, out);
        return out;
    }
    std::vector<uint16_t> lut(65536);
    for (size_t i = 0; i < lut.size(); ++i) lut[i] = cv::saturate_cast<uint16_t>(table[i]);
    const int samples = in.cols * in.channels();
    for (int r = 0; r < in.rows; ++r) {
        const auto *p = in.ptr<uint16_t>(r);
        auto *q = out.ptr<uint16_t>(r);
        for (int c = 0; c < samples; ++c) q[c] = lut[p[c]];
    }
    return out;
}

} // namespace

// ---------------------------------------------------------------- grayscale

void Grayscale::process(Job &job) {
    const cv::Mat in = job.image();
    check_image(in, name);
    if (in.channels() == 1) return;
    const cv::Mat gray = to_gray(in);
    if (in.channels() == 4 && keep_alpha) {
        cv::Mat colour, alpha;
        split_alpha(in, colour, alpha);
        cv::Mat grey3;
        cv::merge(std::vector<cv::Mat>{gray, gray, gray}, grey3);
        job.set_image(merge_alpha(grey3, alpha));
        return;
    }
    job.set_image(gray);
}

// ---------------------------------------------------------------- equalize

void Equalize::process(Job &job) {
    const cv::Mat in = job.image();
    check_image(in, name);
    cv::Mat colour, alpha;
    split_alpha(in, colour, alpha);

    // Equalizing B, G and R separately would shift hues; only the luma is spread.
    cv::Mat ycc;
    std::vector<cv::Mat> planes;
    cv::Mat luma;
    if (colour.channels() == 1) {
        luma = colour;
    } else {
        cv::cvtColor(colour, ycc, cv::COLOR_BGR2YCrCb);
        cv::split(ycc, planes);
        luma = planes[0];
    }

    cv::Mat spread;
    if (method == "clahe") {
        cv::Ptr<cv::CLAHE> clahe = cv::createCLAHE(clip_limit, cv::Size(int(tile), int(tile)));
        clahe->apply(luma, spread);
    } else if (luma.depth() == CV_8U) {
        cv::equalizeHist(luma, spread);
    } else {
        equalize16(luma, spread);
    }

    cv::Mat out;
    if (colour.channels() == 1) {
        out = spread;
    } else {
        planes[0] = spread;
        cv::merge(planes, ycc);
        cv::cvtColor(ycc, out, cv::COLOR_YCrCb2BGR);
    }
    job.set_image(merge_alpha(out, alpha));
}

// ---------------------------------------------------------------- brightness_contrast

void BrightnessContrast::process(Job &job) {
    const cv::Mat in = job.image();
    check_image(in, name);
    if (brightness == 0.0 && contrast == 1.0) return;
    cv::Mat colour, alpha;
    split_alpha(in, colour, alpha);
    // Contrast pivots on the middle of the range, so that it does not also brighten.
    const double mid = max_value(in.depth()) / 2.0;
    const double offset = mid * (1.0 - contrast) + from_8bit_units(brightness, in.depth());
    cv::Mat out;
    colour.convertTo(out, -1, contrast, offset);
    job.set_image(merge_alpha(out, alpha));
}

// ---------------------------------------------------------------- gamma

void Gamma::validate() {
    if (!gamma.is_set()) throw ParamError("gamma needs the parameter gamma (for example 2.2 to brighten)");
}

void Gamma::process(Job &job) {
    const cv::Mat in = job.image();
    check_image(in, name);
    cv::Mat colour, alpha;
    split_alpha(in, colour, alpha);
    const double maxv = max_value(in.depth());
    std::vector<double> table(size_t(maxv) + 1);
    for (size_t i = 0; i < table.size(); ++i) table[i] = maxv * std::pow(double(i) / maxv, 1.0 / gamma);
    job.set_image(merge_alpha(apply_table(colour, table), alpha));
}

} // namespace imgproc
