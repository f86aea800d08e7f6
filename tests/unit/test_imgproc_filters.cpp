// imgproc filter stages (gaussian_blur, median_blur, sharpen, canny, threshold) run
// through the real host.
#include "support/stage_harness.hpp"

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdlib>
#include <string>

using batchproc::test::run_stage;
using batchproc::test::StageResult;
using batchproc::test::run_stage_ok;
using batchproc::test::expect_config_error;

namespace {

cv::Mat noise(int width, int height, int type) {
    cv::Mat m(height, width, type);
    cv::RNG rng(12345);
    rng.fill(m, cv::RNG::UNIFORM, cv::Scalar::all(0), cv::Scalar::all(CV_MAT_DEPTH(type) == CV_16U ? 65536 : 256));
    return m;
}

double stddev(const cv::Mat &m) {
    cv::Scalar mean, dev;
    cv::meanStdDev(m.reshape(1), mean, dev);
    return dev[0];
}

// Left half `left`, right half `right`: a vertical step edge between columns 9 and 10.
cv::Mat step_edge(int left, int right, int type = CV_8UC1) {
    cv::Mat m(10, 20, type, cv::Scalar::all(left));
    m.colRange(10, 20).setTo(cv::Scalar::all(right));
    return m;
}

} // namespace

// ---------------------------------------------------------------- gaussian_blur

TEST(ImgprocGaussianBlur, FlatImageKeepsItsValue) {
    const cv::Mat flat(30, 40, CV_8UC3, cv::Scalar(77, 5, 250));
    StageResult r = run_stage_ok("gaussian_blur", "{ksize: 7}", flat);
    ASSERT_EQ(r.image.type(), CV_8UC3);
    EXPECT_EQ(cv::norm(r.image, flat, cv::NORM_INF), 0);
}

TEST(ImgprocGaussianBlur, ReducesNoiseKeepsMean) {
    const cv::Mat in = noise(64, 64, CV_8UC1);
    StageResult r = run_stage_ok("gaussian_blur", "{ksize: 5}", in);
    EXPECT_LT(stddev(r.image), stddev(in) / 2);
    EXPECT_NEAR(cv::mean(r.image)[0], cv::mean(in)[0], 1.0);
}

TEST(ImgprocGaussianBlur, SigmaOnlyAndSixteenBit) {
    const cv::Mat in = noise(64, 64, CV_16UC4);
    StageResult r = run_stage_ok("gaussian_blur", "{ksize: 0, sigma: 2}", in);
    ASSERT_EQ(r.image.type(), CV_16UC4);
    EXPECT_LT(stddev(r.image), stddev(in) / 2);
}

TEST(ImgprocGaussianBlur, ValidatesParameters) {
    const std::string even = expect_config_error("gaussian_blur", "{ksize: 4}", "ksize");
    EXPECT_NE(even.find("odd"), std::string::npos) << even;
    expect_config_error("gaussian_blur", "{ksize: 0}", "sigma");
    expect_config_error("gaussian_blur", "{ksize: three}", "ksize");
    expect_config_error("gaussian_blur", "{ksize: 257}", "ksize");
    expect_config_error("gaussian_blur", "{sigma: -1}", "sigma");
}

// ---------------------------------------------------------------- median_blur

TEST(ImgprocMedianBlur, RemovesIsolatedSpecks) {
    cv::Mat in(20, 20, CV_8UC3, cv::Scalar::all(100));
    in.at<cv::Vec3b>(5, 5) = cv::Vec3b(255, 255, 255);
    in.at<cv::Vec3b>(12, 7) = cv::Vec3b(0, 0, 0);
    StageResult r = run_stage_ok("median_blur", "{ksize: 3}", in);
    EXPECT_EQ(cv::norm(r.image, cv::Mat(20, 20, CV_8UC3, cv::Scalar::all(100)), cv::NORM_INF), 0);
}

TEST(ImgprocMedianBlur, SixteenBitAllowsOnlySmallKernels) {
    cv::Mat in(20, 20, CV_16UC1, cv::Scalar(1000));
    in.at<uint16_t>(5, 5) = 65535;
    StageResult r = run_stage_ok("median_blur", "{ksize: 5}", in);
    ASSERT_EQ(r.image.type(), CV_16UC1);
    EXPECT_EQ(r.image.at<uint16_t>(5, 5), 1000);
    r = run_stage("median_blur", "{ksize: 7}", in);
    EXPECT_NE(r.error.find("3 or 5"), std::string::npos) << r.error;
    // 8-bit images take any odd size.
    EXPECT_EQ(run_stage("median_blur", "{ksize: 7}", cv::Mat(20, 20, CV_8UC1, cv::Scalar(1))).error, "");
}

TEST(ImgprocMedianBlur, ValidatesParameters) {
    expect_config_error("median_blur", "{ksize: 4}", "ksize");
    expect_config_error("median_blur", "{ksize: 1}", "ksize");
}

// ---------------------------------------------------------------- sharpen

TEST(ImgprocSharpen, IncreasesEdgeContrast) {
    const cv::Mat in = step_edge(100, 150);
    StageResult r = run_stage_ok("sharpen", "{amount: 1, radius: 1}", in);
    ASSERT_EQ(r.image.type(), CV_8UC1);
    EXPECT_LT(r.image.at<uint8_t>(5, 9), 100);  // darker on the dark side
    EXPECT_GT(r.image.at<uint8_t>(5, 10), 150); // brighter on the bright side
    EXPECT_EQ(r.image.at<uint8_t>(5, 1), 100);  // far from the edge: untouched
    EXPECT_EQ(r.image.at<uint8_t>(5, 18), 150);
}

TEST(ImgprocSharpen, ThresholdSparesSmallDifferences) {
    const cv::Mat in = step_edge(100, 110);
    StageResult r = run_stage_ok("sharpen", "{amount: 2, threshold: 20}", in);
    EXPECT_EQ(cv::norm(r.image, in, cv::NORM_INF), 0);
    r = run_stage_ok("sharpen", "{amount: 2}", in);
    EXPECT_GT(cv::norm(r.image, in, cv::NORM_INF), 0);
}

TEST(ImgprocSharpen, KeepsAlphaAndDepth) {
    cv::Mat in = step_edge(10000, 50000, CV_16UC4);
    in.colRange(0, 5).setTo(cv::Scalar(10000, 10000, 10000, 0)); // an alpha edge too
    StageResult r = run_stage_ok("sharpen", "{amount: 1.5}", in);
    ASSERT_EQ(r.image.type(), CV_16UC4);
    cv::Mat alpha_in, alpha_out;
    cv::extractChannel(in, alpha_in, 3);
    cv::extractChannel(r.image, alpha_out, 3);
    EXPECT_EQ(cv::norm(alpha_in, alpha_out, cv::NORM_INF), 0);
    EXPECT_GT(r.image.at<cv::Vec4w>(5, 10)[0], 50000);
}

TEST(ImgprocSharpen, ValidatesParameters) {
    expect_config_error("sharpen", "{radius: 0}", "radius");
    expect_config_error("sharpen", "{amount: -1}", "amount");
    expect_config_error("sharpen", "{threshold: 300}", "threshold");
}

// ---------------------------------------------------------------- canny

TEST(ImgprocCanny, EdgesOnTheSquareBorderOnly) {
    cv::Mat in(100, 100, CV_8UC3, cv::Scalar::all(0));
    in(cv::Rect(30, 30, 40, 40)).setTo(cv::Scalar::all(255));
    StageResult r = run_stage_ok("canny", "", in);
    ASSERT_EQ(r.image.type(), CV_8UC1);
    ASSERT_EQ(r.image.size(), in.size());
    int on_border = 0, elsewhere = 0;
    for (int y = 0; y < 100; ++y)
        for (int x = 0; x < 100; ++x) {
            const uint8_t v = r.image.at<uint8_t>(y, x);
            EXPECT_TRUE(v == 0 || v == 255);
            if (v == 0) continue;
            // Within a pixel of the square's outline (the step lies between 29|30 and 69|70).
            const bool near_vertical = (std::abs(x - 29) <= 1 || std::abs(x - 70) <= 1) && y >= 28 && y <= 71;
            const bool near_horizontal = (std::abs(y - 29) <= 1 || std::abs(y - 70) <= 1) && x >= 28 && x <= 71;
            (near_vertical || near_horizontal ? on_border : elsewhere)++;
        }
    EXPECT_EQ(elsewhere, 0);
    EXPECT_GE(on_border, 4 * 38); // the outline is closed
    EXPECT_EQ(cv::countNonZero(r.image(cv::Rect(35, 35, 30, 30))), 0);
    EXPECT_EQ(cv::countNonZero(r.image(cv::Rect(0, 0, 100, 20))), 0);
}

TEST(ImgprocCanny, SixteenBitAlphaInputGivesEightBitEdges) {
    cv::Mat in(50, 50, CV_16UC4, cv::Scalar(0, 0, 0, 65535));
    in(cv::Rect(10, 10, 30, 30)).setTo(cv::Scalar(65535, 65535, 65535, 65535));
    StageResult r = run_stage_ok("canny", "{low: 100, high: 200, aperture: 5, l2gradient: true}", in);
    ASSERT_EQ(r.image.type(), CV_8UC1);
    EXPECT_GT(cv::countNonZero(r.image), 100);
    EXPECT_EQ(cv::countNonZero(r.image(cv::Rect(15, 15, 20, 20))), 0);
}

TEST(ImgprocCanny, ValidatesParameters) {
    const std::string order = expect_config_error("canny", "{low: 200, high: 100}", "low");
    EXPECT_NE(order.find("high"), std::string::npos) << order;
    expect_config_error("canny", "{aperture: 4}", "aperture");
    expect_config_error("canny", "{aperture: 9}", "aperture");
    expect_config_error("canny", "{l2gradient: 2}", "l2gradient");
}

// ---------------------------------------------------------------- threshold

TEST(ImgprocThreshold, BinaryAndInverse) {
    const cv::Mat in = step_edge(100, 200, CV_8UC3);
    StageResult r = run_stage_ok("threshold", "{value: 150}", in);
    ASSERT_EQ(r.image.type(), CV_8UC1);
    EXPECT_EQ(r.image.at<uint8_t>(0, 0), 0);
    EXPECT_EQ(r.image.at<uint8_t>(0, 19), 255);
    r = run_stage_ok("threshold", "{method: binary_inv, value: 150, max_value: 128}", in);
    EXPECT_EQ(r.image.at<uint8_t>(0, 0), 128);
    EXPECT_EQ(r.image.at<uint8_t>(0, 19), 0);
    // A pixel equal to value does not pass ("above").
    r = run_stage_ok("threshold", "{value: 100}", in);
    EXPECT_EQ(r.image.at<uint8_t>(0, 0), 0);
}

TEST(ImgprocThreshold, SixteenBitComparesInEightBitUnits) {
    const cv::Mat in = step_edge(100 * 257, 200 * 257, CV_16UC1);
    StageResult r = run_stage_ok("threshold", "{value: 150}", in);
    ASSERT_EQ(r.image.type(), CV_8UC1);
    EXPECT_EQ(r.image.at<uint8_t>(0, 0), 0);
    EXPECT_EQ(r.image.at<uint8_t>(0, 19), 255);
}

TEST(ImgprocThreshold, OtsuSplitsTwoLevels) {
    const cv::Mat in = step_edge(50, 200);
    StageResult r = run_stage_ok("threshold", "{method: otsu, value: 250}", in); // value is ignored by otsu
    ASSERT_EQ(r.image.type(), CV_8UC1);
    EXPECT_EQ(cv::countNonZero(r.image.colRange(0, 10)), 0);
    EXPECT_EQ(cv::countNonZero(r.image.colRange(10, 20)), 100);
    ASSERT_TRUE(r.metrics.contains("otsu_threshold"));
    const double t = r.metrics["otsu_threshold"].get<double>();
    EXPECT_GE(t, 50);
    EXPECT_LT(t, 200);
}

TEST(ImgprocThreshold, AdaptiveFindsALocalDarkSpot) {
    // A horizontal gradient (no global threshold separates the spot) with one dark dot.
    cv::Mat in(40, 200, CV_8UC1);
    for (int x = 0; x < 200; ++x) in.col(x).setTo(cv::Scalar(x));
    in(cv::Rect(150, 18, 3, 3)).setTo(cv::Scalar(100));
    for (const char *method : {"adaptive_mean", "adaptive_gaussian"}) {
        StageResult r = run_stage_ok("threshold", std::string("{method: ") + method + ", block_size: 15, c: 5}", in);
        ASSERT_EQ(r.image.type(), CV_8UC1);
        EXPECT_EQ(r.image.at<uint8_t>(19, 151), 0) << method;
        EXPECT_EQ(r.image.at<uint8_t>(5, 50), 255) << method;
        EXPECT_EQ(r.image.at<uint8_t>(30, 150), 255) << method;
    }
}

TEST(ImgprocThreshold, ValidatesParameters) {
    const std::string choice = expect_config_error("threshold", "{method: otsuu}", "method");
    EXPECT_NE(choice.find("did you mean \"otsu\""), std::string::npos) << choice;
    expect_config_error("threshold", "{block_size: 4}", "block_size");
    expect_config_error("threshold", "{value: 256}", "value");
    expect_config_error("threshold", "{max_value: [1, 2]}", "max_value");
}
