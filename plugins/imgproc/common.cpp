#include "common.hpp"

#include <opencv2/imgproc.hpp>

#include <cstdio>
#include <stdexcept>
#include <vector>

namespace imgproc {

std::string describe(const cv::Mat &image) {
    std::string depth;
    switch (image.depth()) {
    case CV_8U: depth = "8-bit"; break;
    case CV_16U: depth = "16-bit"; break;
    case CV_32F: depth = "32-bit float"; break;
    default: depth = "depth-" + std::to_string(image.depth()); break;
    }
    return depth + " " + std::to_string(image.channels()) + "-channel";
}

void check_image(const cv::Mat &image, const char *stage) {
    const int depth = image.depth(), channels = image.channels();
    if ((depth == CV_8U || depth == CV_16U) && (channels == 1 || channels == 3 || channels == 4)) return;
    throw std::runtime_error(std::string(stage) +
                             " works on 8-bit or 16-bit images with 1, 3 or 4 channels, but this image is " +
                             describe(image));
}

double max_value(int depth) {
    if (depth == CV_8U) return 255.0;
    if (depth == CV_16U) return 65535.0;
    throw std::runtime_error("only 8-bit and 16-bit images are supported");
}

cv::Mat to_gray(const cv::Mat &image) {
    if (image.channels() == 1) return image;
    cv::Mat gray;
    cv::cvtColor(image, gray, image.channels() == 4 ? cv::COLOR_BGRA2GRAY : cv::COLOR_BGR2GRAY);
    return gray;
}

cv::Mat to_8bit(const cv::Mat &image) {
    if (image.depth() == CV_8U) return image;
    cv::Mat out;
    image.convertTo(out, CV_8U, 1.0 / 257.0);
    return out;
}

void split_alpha(const cv::Mat &image, cv::Mat &colour, cv::Mat &alpha) {
    if (image.channels() != 4) {
        colour = image;
        alpha.release();
        return;
    }
    colour.create(image.size(), CV_MAKETYPE(image.depth(), 3));
    alpha.create(image.size(), CV_MAKETYPE(image.depth(), 1));
    cv::Mat outs[] = {colour, alpha};
    const int from_to[] = {0, 0, 1, 1, 2, 2, 3, 3};
    cv::mixChannels(&image, 1, outs, 2, from_to, 4);
}

cv::Mat merge_alpha(const cv::Mat &colour, const cv::Mat &alpha) {
    if (alpha.empty()) return colour;
    cv::Mat out(colour.size(), CV_MAKETYPE(colour.depth(), 4));
    const cv::Mat ins[] = {colour, alpha};
    const int from_to[] = {0, 0, 1, 1, 2, 2, 3, 3};
    cv::mixChannels(ins, 2, &out, 1, from_to, 4);
    return out;
}

void check_output_size(double width, double height, const char *stage) {
    if (width * height <= kMaxPixels && width <= kMaxSide && height <= kMaxSide) return;
    char text[256];
    std::snprintf(text, sizeof text,
                  "%s would make a %.0fx%.0f image, over the limit of %.0f pixels a side and 268 Mpx in all", stage,
                  width, height, kMaxSide);
    throw std::runtime_error(text);
}

int interpolation_flag(const std::string &choice) {
    if (choice == "nearest") return cv::INTER_NEAREST;
    if (choice == "linear") return cv::INTER_LINEAR;
    if (choice == "cubic") return cv::INTER_CUBIC;
    if (choice == "area") return cv::INTER_AREA;
    if (choice == "lanczos") return cv::INTER_LANCZOS4;
    throw std::runtime_error("unknown interpolation \"" + choice + "\"");
}

} // namespace imgproc
