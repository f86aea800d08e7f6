#include "codec/alpha_blend.hpp"
#include "codec/image_decoder.hpp"
#include "codec/jpeg_encoder.hpp"
#include "support/image_bytes.hpp"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <memory>

using namespace batchproc;
using batchproc::test::srgb_profile;

namespace {

cv::Mat photo_like(int w, int h) {
    cv::Mat img(h, w, CV_8UC3);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            img.at<cv::Vec3b>(y, x) = cv::Vec3b(uchar(x * 255 / w), uchar(y * 255 / h), uchar((x * y) % 251));
    cv::circle(img, {w / 2, h / 2}, h / 4, cv::Scalar(20, 200, 60), -1);
    return img;
}

// The SOF marker's code (0xC0 baseline, 0xC1 extended, 0xC2 progressive) and the first
// component's sampling factors (h << 4 | v).
struct Frame {
    int sof = 0;
    int luma_sampling = 0;
};

Frame frame_of(const std::vector<uint8_t> &jpg) {
    for (size_t i = 2; i + 4 < jpg.size();) {
        if (jpg[i] != 0xFF) return {};
        const int marker = jpg[i + 1];
        const size_t len = size_t(jpg[i + 2]) << 8 | jpg[i + 3];
        if (marker >= 0xC0 && marker <= 0xC2) return {marker, jpg[i + 11]};
        i += 2 + len;
    }
    return {};
}

} // namespace

TEST(JpegEncoder, DefaultOptionsWriteTheBytesOpenCvWrites) {
    const cv::Mat img = photo_like(97, 61);
    for (int q : {50, 85, 100}) {
        EncodeOptions o;
        o.quality = q;
        std::vector<uint8_t> expected;
        ASSERT_TRUE(cv::imencode(".jpg", img, expected, {cv::IMWRITE_JPEG_QUALITY, q}));
        EXPECT_EQ(encode_jpeg(img, o, {}), expected) << "quality " << q;
    }
    cv::Mat gray;
    cv::cvtColor(img, gray, cv::COLOR_BGR2GRAY);
    std::vector<uint8_t> expected;
    ASSERT_TRUE(cv::imencode(".jpg", gray, expected, {cv::IMWRITE_JPEG_QUALITY, 90}));
    EXPECT_EQ(encode_jpeg(gray, EncodeOptions{}, {}), expected);
}

TEST(JpegEncoder, ProgressiveOptimizeAndSubsamplingDoWhatTheySay) {
    const cv::Mat img = photo_like(160, 120);
    EncodeOptions o;
    const std::vector<uint8_t> plain = encode_jpeg(img, o, {});
    EXPECT_EQ(frame_of(plain).sof, 0xC0);
    EXPECT_EQ(frame_of(plain).luma_sampling, 0x22); // 4:2:0

    o.progressive = true;
    const std::vector<uint8_t> progressive = encode_jpeg(img, o, {});
    EXPECT_EQ(frame_of(progressive).sof, 0xC2);

    o = EncodeOptions{};
    o.optimize = true;
    const std::vector<uint8_t> optimized = encode_jpeg(img, o, {});
    EXPECT_LT(optimized.size(), plain.size());
    cv::Mat a = cv::imdecode(plain, cv::IMREAD_COLOR), b = cv::imdecode(optimized, cv::IMREAD_COLOR);
    EXPECT_EQ(cv::norm(a, b, cv::NORM_INF), 0) << "optimised Huffman tables change only the coding";

    for (const auto &[subsampling, factors] : {std::pair{444, 0x11}, std::pair{422, 0x21}, std::pair{420, 0x22}}) {
        o = EncodeOptions{};
        o.subsampling = subsampling;
        EXPECT_EQ(frame_of(encode_jpeg(img, o, {})).luma_sampling, factors) << subsampling;
    }
    o.subsampling = 411;
    EXPECT_THROW(encode_jpeg(img, o, {}), EncodeError);
}

TEST(JpegEncoder, AnIccProfileIsEmbeddedAndReadBack) {
    const std::vector<uint8_t> icc = srgb_profile();
    const std::vector<uint8_t> jpg = encode_jpeg(photo_like(64, 48), EncodeOptions{}, icc);
    DecodeOptions keep;
    keep.colour = ColourPolicy::keep;
    EXPECT_EQ(decode_image(jpg.data(), jpg.size(), keep).icc, icc);
}

TEST(JpegEncoder, BgraIsBlendedRowByRowAsTheWholeImageBlendWould) {
    // A soft alpha ramp over a photo-like picture, blended over a coloured background.
    const cv::Mat bgr = photo_like(97, 61);
    cv::Mat alpha(bgr.size(), CV_8UC1);
    for (int y = 0; y < alpha.rows; ++y)
        for (int x = 0; x < alpha.cols; ++x) alpha.at<uchar>(y, x) = uchar((x * 255 / alpha.cols + y) % 256);
    cv::Mat bgra;
    cv::merge(std::vector<cv::Mat>{bgr, alpha}, bgra);
    EncodeOptions o;
    o.background[0] = 30;
    o.background[1] = 144;
    o.background[2] = 250;
    const cv::Mat flat = flatten_alpha(bgra, o.background);
    ASSERT_EQ(flat.type(), CV_8UC3);
    EXPECT_EQ(flat.at<cv::Vec3b>(0, 0), cv::Vec3b(30, 144, 250)); // alpha 0: the background
    EXPECT_EQ(encode_jpeg(bgra, o, {}), encode_jpeg(flat, o, {}));
}

TEST(JpegEncoder, WhatJpegCannotHoldIsAClearError) {
    EXPECT_THROW(encode_jpeg(cv::Mat(8, 8, CV_8UC2, cv::Scalar::all(1)), EncodeOptions{}, {}), EncodeError);
    EXPECT_THROW(encode_jpeg(cv::Mat(8, 8, CV_16UC3, cv::Scalar::all(1)), EncodeOptions{}, {}), EncodeError);
}
