// Drawing on the image: watermark.
#include "stages.hpp"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cstdint>

namespace imgproc {

using batchproc::ParamError;

namespace {

constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;

// Blends `colour` into the pixels of `roi` with weight coverage/255 * opacity. The alpha
// channel, when present, is composited "over": the text makes the pixel more opaque.
template <typename T>
void blend(cv::Mat &roi, const cv::Mat &coverage, const cv::Scalar &colour, double opacity, double maxv) {
    const int channels = roi.channels();
    const int colour_channels = channels == 4 ? 3 : channels;
    for (int r = 0; r < roi.rows; ++r) {
        T *p = roi.ptr<T>(r);
        const uint8_t *m = coverage.ptr<uint8_t>(r);
        for (int c = 0; c < roi.cols; ++c, p += channels) {
            if (m[c] == 0) continue;
            const double a = m[c] / 255.0 * opacity;
            for (int k = 0; k < colour_channels; ++k) p[k] = cv::saturate_cast<T>(p[k] + (colour[k] - p[k]) * a);
            if (channels == 4) p[3] = cv::saturate_cast<T>(p[3] + (maxv - p[3]) * a);
        }
    }
}

} // namespace

void Watermark::validate() {
    if (!text.is_set() || text.value().empty()) throw ParamError("watermark needs the parameter text");
    for (char ch : text.value())
        if (ch < 0x20 || ch > 0x7e)
            throw ParamError("watermark: text must be printable ASCII (the built-in font has no other letters)");
    color_ = parse_colour(color, "color");
}

void Watermark::process(Job &job) {
    cv::Mat image = job.image();
    check_image(image, name);
    const int W = image.cols, H = image.rows, m = int(margin), th = int(thickness);
    int baseline = 0;
    const cv::Size size = cv::getTextSize(text.value(), kFont, scale, th, &baseline);
    // The box from the top of the tallest letter to the bottom of descenders.
    const int box_w = size.width, box_h = size.height + baseline;
    const std::string &pos = position.value();
    int bx = (W - box_w) / 2, by = (H - box_h) / 2;
    if (pos == "top_left" || pos == "bottom_left") bx = m;
    if (pos == "top_right" || pos == "bottom_right") bx = W - m - box_w;
    if (pos == "top_left" || pos == "top_right") by = m;
    if (pos == "bottom_left" || pos == "bottom_right") by = H - m - box_h;
    if (box_w + (pos == "center" ? 0 : m) > W || box_h + (pos == "center" ? 0 : m) > H)
        job.warn("watermark: the text is " + std::to_string(box_w) + "x" + std::to_string(box_h) +
                 " pixels and does not fit in the " + std::to_string(W) + "x" + std::to_string(H) +
                 " image with its margin; it is cut off");

    // Draw the coverage of the text (anti-aliased) in a mask around the box only, with room
    // for the stroke, then blend inside that area: pixels elsewhere are never touched.
    const cv::Rect area = cv::Rect(bx - th, by - th, box_w + 2 * th, box_h + 2 * th) & cv::Rect(0, 0, W, H);
    if (area.empty()) return;
    cv::Mat coverage = cv::Mat::zeros(area.size(), CV_8U);
    const cv::Point origin(bx - area.x, by + size.height - area.y);
    cv::putText(coverage, text.value(), origin, kFont, scale, cv::Scalar(255), th, cv::LINE_AA);

    // The job's pixels are ours to change in place.
    cv::Mat roi = image(area);
    const double maxv = max_value(image.depth());
    const cv::Scalar colour = colour_scalar(color_, image.depth(), image.channels() == 1 ? 1 : 3);
    if (image.depth() == CV_8U)
        blend<uint8_t>(roi, coverage, colour, opacity, maxv);
    else
        blend<uint16_t>(roi, coverage, colour, opacity, maxv);
}

} // namespace imgproc
