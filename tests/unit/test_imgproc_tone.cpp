// imgproc tone stages (grayscale, equalize, brightness_contrast, gamma), run through the
// real host. The watermark's tests are in test_imgproc_annotate.cpp.
#include "support/stage_harness.hpp"

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <string>
#include <vector>

using batchproc::test::run_stage;
using batchproc::test::StageResult;
using batchproc::test::run_stage_ok;
using batchproc::test::expect_config_error;

namespace {

double stddev(const cv::Mat &m) {
    cv::Scalar mean, dev;
    cv::meanStdDev(m.reshape(1), mean, dev);
    return dev[0];
}

// A one-channel image whose columns run through `count` values from `first`.
cv::Mat narrow_ramp(int first, int count, int type) {
    cv::Mat m(16, count, type);
    for (int x = 0; x < count; ++x) m.col(x).setTo(cv::Scalar::all(first + x));
    return m;
}

cv::Mat channel(const cv::Mat &m, int index) {
    cv::Mat out;
    cv::extractChannel(m, out, index);
    return out;
}

} // namespace

// ---------------------------------------------------------------- grayscale

TEST(ImgprocGrayscale, PureColoursGiveTheirLuma) {
    // BGR order: blue, green, red, white, black side by side.
    cv::Mat in(1, 5, CV_8UC3);
    in.at<cv::Vec3b>(0, 0) = {255, 0, 0};
    in.at<cv::Vec3b>(0, 1) = {0, 255, 0};
    in.at<cv::Vec3b>(0, 2) = {0, 0, 255};
    in.at<cv::Vec3b>(0, 3) = {255, 255, 255};
    in.at<cv::Vec3b>(0, 4) = {0, 0, 0};
    StageResult r = run_stage_ok("grayscale", "", in);
    ASSERT_EQ(r.image.type(), CV_8UC1);
    EXPECT_EQ(r.image.at<uint8_t>(0, 0), 29);  // 0.114 * 255
    EXPECT_EQ(r.image.at<uint8_t>(0, 1), 150); // 0.587 * 255
    EXPECT_EQ(r.image.at<uint8_t>(0, 2), 76);  // 0.299 * 255
    EXPECT_EQ(r.image.at<uint8_t>(0, 3), 255);
    EXPECT_EQ(r.image.at<uint8_t>(0, 4), 0);
}

TEST(ImgprocGrayscale, AlphaIsKeptUnlessDropped) {
    const cv::Mat in(4, 4, CV_8UC4, cv::Scalar(0, 0, 255, 90));
    StageResult r = run_stage_ok("grayscale", "", in);
    ASSERT_EQ(r.image.type(), CV_8UC4);
    EXPECT_EQ(r.image.at<cv::Vec4b>(3, 3), cv::Vec4b(76, 76, 76, 90));
    r = run_stage_ok("grayscale", "{keep_alpha: false}", in);
    ASSERT_EQ(r.image.type(), CV_8UC1);
    EXPECT_EQ(r.image.at<uint8_t>(0, 0), 76);
}

TEST(ImgprocGrayscale, SixteenBitAndAlreadyGray) {
    StageResult r = run_stage_ok("grayscale", "", cv::Mat(3, 3, CV_16UC3, cv::Scalar::all(65535)));
    ASSERT_EQ(r.image.type(), CV_16UC1);
    EXPECT_EQ(r.image.at<uint16_t>(1, 1), 65535);
    const cv::Mat gray(3, 3, CV_8UC1, cv::Scalar(42));
    r = run_stage_ok("grayscale", "", gray);
    ASSERT_EQ(r.image.type(), CV_8UC1);
    EXPECT_EQ(cv::norm(r.image, gray, cv::NORM_INF), 0);
}

// ---------------------------------------------------------------- equalize

TEST(ImgprocEqualize, SpreadsANarrowHistogram) {
    const cv::Mat in = narrow_ramp(100, 20, CV_8UC1);
    StageResult r = run_stage_ok("equalize", "", in);
    ASSERT_EQ(r.image.type(), CV_8UC1);
    double lo = 0, hi = 0;
    cv::minMaxLoc(r.image, &lo, &hi);
    EXPECT_LE(lo, 5);
    EXPECT_GE(hi, 250);
    // Order is kept: a brighter input column stays brighter.
    for (int x = 1; x < 20; ++x) EXPECT_GT(r.image.at<uint8_t>(0, x), r.image.at<uint8_t>(0, x - 1));
}

TEST(ImgprocEqualize, ColourEqualizesLumaOnlyAndKeepsAlpha) {
    const cv::Mat gray = narrow_ramp(100, 20, CV_8UC1);
    cv::Mat in;
    cv::merge(std::vector<cv::Mat>{gray, gray, gray, cv::Mat(gray.size(), CV_8UC1, cv::Scalar(33))}, in);
    StageResult r = run_stage_ok("equalize", "", in);
    ASSERT_EQ(r.image.type(), CV_8UC4);
    double lo = 0, hi = 0;
    cv::minMaxLoc(channel(r.image, 1), &lo, &hi);
    EXPECT_LE(lo, 5);
    EXPECT_GE(hi, 250);
    // Gray pixels stay gray: only the luma moved, not the hue.
    EXPECT_LE(cv::norm(channel(r.image, 0), channel(r.image, 2), cv::NORM_INF), 2);
    EXPECT_EQ(cv::countNonZero(channel(r.image, 3) != 33), 0);
}

TEST(ImgprocEqualize, SixteenBitHistogram) {
    const cv::Mat in = narrow_ramp(30000, 100, CV_16UC1);
    StageResult r = run_stage_ok("equalize", "", in);
    ASSERT_EQ(r.image.type(), CV_16UC1);
    double lo = 0, hi = 0;
    cv::minMaxLoc(r.image, &lo, &hi);
    EXPECT_EQ(lo, 0);
    EXPECT_EQ(hi, 65535);
}

TEST(ImgprocEqualize, Clahe) {
    const cv::Mat in = narrow_ramp(100, 40, CV_8UC1);
    StageResult r = run_stage_ok("equalize", "{method: clahe, clip_limit: 40, tile: 2}", in);
    EXPECT_GT(stddev(r.image), 3 * stddev(in));
    const cv::Mat deep = narrow_ramp(30000, 40, CV_16UC3);
    r = run_stage_ok("equalize", "{method: clahe}", deep);
    EXPECT_EQ(r.image.type(), CV_16UC3);
}

TEST(ImgprocEqualize, ValidatesParameters) {
    expect_config_error("equalize", "{method: clache}", "method");
    expect_config_error("equalize", "{tile: 0}", "tile");
    expect_config_error("equalize", "{clip_limit: -1}", "clip_limit");
}

// ---------------------------------------------------------------- brightness_contrast

TEST(ImgprocBrightnessContrast, Arithmetic) {
    const cv::Mat in(2, 2, CV_8UC3, cv::Scalar(100, 250, 10));
    StageResult r = run_stage_ok("brightness_contrast", "{brightness: 20}", in);
    EXPECT_EQ(r.image.at<cv::Vec3b>(0, 0), cv::Vec3b(120, 255, 30)); // 250 + 20 saturates
    // (100 - 127.5) * 1.5 + 127.5 + 10 = 96.25; (250 - 127.5) * 1.5 + 137.5 = 321 -> 255;
    // (10 - 127.5) * 1.5 + 137.5 = -38.75 -> 0.
    r = run_stage_ok("brightness_contrast", "{brightness: 10, contrast: 1.5}", in);
    EXPECT_EQ(r.image.at<cv::Vec3b>(1, 1), cv::Vec3b(96, 255, 0));
    // contrast 0 flattens everything to mid-gray.
    r = run_stage_ok("brightness_contrast", "{contrast: 0}", in);
    EXPECT_EQ(r.image.at<cv::Vec3b>(0, 1), cv::Vec3b(128, 128, 128));
}

TEST(ImgprocBrightnessContrast, SixteenBitScalesBrightnessAndKeepsAlpha) {
    const cv::Mat in(2, 2, CV_16UC4, cv::Scalar(100 * 257, 0, 65535, 1234));
    StageResult r = run_stage_ok("brightness_contrast", "{brightness: 20}", in);
    ASSERT_EQ(r.image.type(), CV_16UC4);
    EXPECT_EQ(r.image.at<cv::Vec4w>(0, 0), cv::Vec4w(120 * 257, 20 * 257, 65535, 1234));
}

TEST(ImgprocBrightnessContrast, ValidatesParameters) {
    expect_config_error("brightness_contrast", "{brightness: 300}", "brightness");
    expect_config_error("brightness_contrast", "{contrast: -1}", "contrast");
    expect_config_error("brightness_contrast", "{contrast: high}", "contrast");
}

// ---------------------------------------------------------------- gamma

TEST(ImgprocGamma, KnownValues) {
    const cv::Mat in = (cv::Mat_<uint8_t>(1, 3) << 0, 64, 255);
    StageResult r = run_stage_ok("gamma", "{gamma: 2}", in);
    // 255 * (64 / 255)^(1/2) = 127.75
    EXPECT_EQ(r.image.at<uint8_t>(0, 0), 0);
    EXPECT_EQ(r.image.at<uint8_t>(0, 1), 128);
    EXPECT_EQ(r.image.at<uint8_t>(0, 2), 255);
    // 255 * (64 / 255)^2 = 16.06
    r = run_stage_ok("gamma", "{gamma: 0.5}", in);
    EXPECT_EQ(r.image.at<uint8_t>(0, 1), 16);
}

TEST(ImgprocGamma, SixteenBitAndAlpha) {
    const cv::Mat in(2, 2, CV_16UC4, cv::Scalar(16384, 0, 65535, 16384));
    StageResult r = run_stage_ok("gamma", "{gamma: 2}", in);
    ASSERT_EQ(r.image.type(), CV_16UC4);
    // 65535 * sqrt(16384 / 65535) = 32767.75; alpha is not a tone and stays.
    EXPECT_EQ(r.image.at<cv::Vec4w>(1, 1), cv::Vec4w(32768, 0, 65535, 16384));
}

TEST(ImgprocGamma, ValidatesParameters) {
    expect_config_error("gamma", "", "gamma");
    expect_config_error("gamma", "{gamma: 0}", "gamma");
    expect_config_error("gamma", "{gamma: two}", "gamma");
}
