// imgproc geometry stages (resize, crop, rotate, flip, pad) run through the real host.
#include "support/stage_harness.hpp"

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <string>

using batchproc::ConfigError;
using batchproc::test::run_stage;
using batchproc::test::StageResult;
using batchproc::test::run_stage_ok;
using batchproc::test::expect_config_error;

namespace {

// A one-channel image whose pixel at (x, y) is y * 16 + x: every pixel tells where it came from.
cv::Mat coordinates(int width, int height) {
    cv::Mat m(height, width, CV_8UC1);
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x) m.at<uint8_t>(y, x) = uint8_t(y * 16 + x);
    return m;
}

// A black BGR image with one red pixel at (x, y).
cv::Mat marked(int width, int height, int x, int y) {
    cv::Mat m(height, width, CV_8UC3, cv::Scalar::all(0));
    m.at<cv::Vec3b>(y, x) = cv::Vec3b(0, 0, 255);
    return m;
}

cv::Point find_mark(const cv::Mat &m) {
    for (int y = 0; y < m.rows; ++y)
        for (int x = 0; x < m.cols; ++x)
            if (m.at<cv::Vec3b>(y, x) == cv::Vec3b(0, 0, 255)) return {x, y};
    return {-1, -1};
}

} // namespace

// ---------------------------------------------------------------- resize

TEST(ImgprocResize, WidthOnlyKeepsAspect) {
    StageResult r = run_stage_ok("resize", "{width: 50}", cv::Mat(100, 200, CV_8UC3, cv::Scalar(1, 2, 3)));
    EXPECT_EQ(r.image.cols, 50);
    EXPECT_EQ(r.image.rows, 25);
    EXPECT_EQ(r.image.type(), CV_8UC3);
}

TEST(ImgprocResize, HeightOnlyKeepsAspect) {
    StageResult r = run_stage_ok("resize", "{height: 20}", cv::Mat(100, 200, CV_8UC3, cv::Scalar::all(9)));
    EXPECT_EQ(r.image.size(), cv::Size(40, 20));
}

TEST(ImgprocResize, WidthOnlyWithoutKeepAspectChangesOnlyWidth) {
    StageResult r = run_stage_ok("resize", "{width: 50, keep_aspect: false}", cv::Mat(100, 200, CV_8UC1, cv::Scalar(9)));
    EXPECT_EQ(r.image.size(), cv::Size(50, 100));
}

TEST(ImgprocResize, BoxFitsInsideWithKeepAspect) {
    StageResult r = run_stage_ok("resize", "{width: 50, height: 50}", cv::Mat(100, 200, CV_8UC3, cv::Scalar::all(0)));
    EXPECT_EQ(r.image.size(), cv::Size(50, 25));
}

TEST(ImgprocResize, BoxStretchesWithoutKeepAspect) {
    StageResult r = run_stage_ok("resize", "{width: 50, height: 40, keep_aspect: false}",
                       cv::Mat(100, 200, CV_8UC3, cv::Scalar::all(0)));
    EXPECT_EQ(r.image.size(), cv::Size(50, 40));
}

TEST(ImgprocResize, MaxSideShrinksTheLongestSide) {
    StageResult r = run_stage_ok("resize", "{max_side: 100}", cv::Mat(150, 300, CV_8UC3, cv::Scalar::all(0)));
    EXPECT_EQ(r.image.size(), cv::Size(100, 50));
    r = run_stage_ok("resize", "{max_side: 100}", cv::Mat(300, 150, CV_8UC3, cv::Scalar::all(0)));
    EXPECT_EQ(r.image.size(), cv::Size(50, 100));
}

TEST(ImgprocResize, MaxSideDoesNotEnlargeUnlessUpscale) {
    const cv::Mat small(20, 40, CV_8UC3, cv::Scalar(5, 6, 7));
    StageResult r = run_stage_ok("resize", "{max_side: 100}", small);
    EXPECT_EQ(r.image.size(), cv::Size(40, 20));
    EXPECT_EQ(cv::norm(r.image, small, cv::NORM_INF), 0);
    r = run_stage_ok("resize", "{max_side: 100, upscale: true}", small);
    EXPECT_EQ(r.image.size(), cv::Size(100, 50));
}

TEST(ImgprocResize, WidthDoesNotEnlargeUnlessUpscale) {
    const cv::Mat small(20, 40, CV_8UC1, cv::Scalar(5));
    EXPECT_EQ(run_stage_ok("resize", "{width: 80}", small).image.size(), cv::Size(40, 20));
    EXPECT_EQ(run_stage_ok("resize", "{width: 80, upscale: true}", small).image.size(), cv::Size(80, 40));
}

TEST(ImgprocResize, ScaleAppliesBothWays) {
    const cv::Mat in(100, 200, CV_8UC3, cv::Scalar::all(0));
    EXPECT_EQ(run_stage_ok("resize", "{scale: 0.5}", in).image.size(), cv::Size(100, 50));
    EXPECT_EQ(run_stage_ok("resize", "{scale: 2}", in).image.size(), cv::Size(400, 200));
}

TEST(ImgprocResize, AreaAveragesBlocks) {
    // 4x2 -> 2x1: each output pixel is the mean of a 2x2 block.
    cv::Mat in = (cv::Mat_<uint8_t>(2, 4) << 0, 100, 200, 200, 100, 0, 200, 200);
    StageResult r = run_stage_ok("resize", "{scale: 0.5, interpolation: area}", in);
    ASSERT_EQ(r.image.size(), cv::Size(2, 1));
    EXPECT_EQ(r.image.at<uint8_t>(0, 0), 50);
    EXPECT_EQ(r.image.at<uint8_t>(0, 1), 200);
}

TEST(ImgprocResize, NearestPicksSourcePixels) {
    const cv::Mat in = coordinates(4, 4);
    StageResult r = run_stage_ok("resize", "{scale: 0.5, interpolation: nearest}", in);
    ASSERT_EQ(r.image.size(), cv::Size(2, 2));
    EXPECT_EQ(r.image.at<uint8_t>(0, 0), in.at<uint8_t>(0, 0));
    EXPECT_EQ(r.image.at<uint8_t>(0, 1), in.at<uint8_t>(0, 2));
    EXPECT_EQ(r.image.at<uint8_t>(1, 1), in.at<uint8_t>(2, 2));
}

TEST(ImgprocResize, KeepsDepthChannelsAndFlatValues) {
    for (const char *interp : {"nearest", "linear", "cubic", "area", "lanczos"}) {
        const cv::Mat in(60, 90, CV_16UC4, cv::Scalar(40000, 1000, 65535, 30000));
        StageResult r = run_stage_ok("resize", std::string("{width: 30, interpolation: ") + interp + "}", in);
        ASSERT_EQ(r.image.type(), CV_16UC4) << interp;
        EXPECT_EQ(r.image.size(), cv::Size(30, 20)) << interp;
        EXPECT_EQ(cv::norm(r.image, cv::Mat(20, 30, CV_16UC4, cv::Scalar(40000, 1000, 65535, 30000)), cv::NORM_INF), 0)
            << interp;
    }
}

TEST(ImgprocResize, ValidatesParameters) {
    EXPECT_NE(expect_config_error("resize", "", "width").find("max_side"), std::string::npos);
    const std::string both = expect_config_error("resize", "{width: 10, max_side: 20}", "max_side");
    EXPECT_NE(both.find("width"), std::string::npos) << both;
    expect_config_error("resize", "{scale: 0.5, height: 10}", "scale");
    expect_config_error("resize", "{width: abc}", "width");
    expect_config_error("resize", "{width: 0}", "width");
    expect_config_error("resize", "{scale: 0}", "scale");
    expect_config_error("resize", "{max_side: 1.5}", "max_side");
    const std::string choice = expect_config_error("resize", "{width: 10, interpolation: cubc}", "interpolation");
    EXPECT_NE(choice.find("did you mean \"cubic\""), std::string::npos) << choice;
    expect_config_error("resize", "{width: 10, keep_aspect: maybe}", "keep_aspect");
    const std::string unknown = expect_config_error("resize", "{widht: 10}", "widht");
    EXPECT_NE(unknown.find("width"), std::string::npos) << unknown;
}

// ---------------------------------------------------------------- crop

TEST(ImgprocCrop, CornerAndSize) {
    const cv::Mat in = coordinates(16, 12);
    StageResult r = run_stage_ok("crop", "{x: 3, y: 5, width: 4, height: 2}", in);
    ASSERT_EQ(r.image.size(), cv::Size(4, 2));
    EXPECT_EQ(r.image.at<uint8_t>(0, 0), 5 * 16 + 3);
    EXPECT_EQ(r.image.at<uint8_t>(1, 3), 6 * 16 + 6);
}

TEST(ImgprocCrop, MissingSizeTakesTheRest) {
    StageResult r = run_stage_ok("crop", "{x: 3}", coordinates(16, 12));
    ASSERT_EQ(r.image.size(), cv::Size(13, 12));
    EXPECT_EQ(r.image.at<uint8_t>(0, 0), 3);
    r = run_stage_ok("crop", "{height: 4}", coordinates(16, 12));
    ASSERT_EQ(r.image.size(), cv::Size(16, 4));
    EXPECT_EQ(r.image.at<uint8_t>(3, 15), 3 * 16 + 15);
}

TEST(ImgprocCrop, Gravity) {
    const cv::Mat in = coordinates(10, 8);
    StageResult r = run_stage_ok("crop", "{width: 4, height: 4, gravity: center}", in);
    ASSERT_EQ(r.image.size(), cv::Size(4, 4));
    EXPECT_EQ(r.image.at<uint8_t>(0, 0), 2 * 16 + 3);
    r = run_stage_ok("crop", "{width: 4, height: 3, gravity: bottom_right}", in);
    EXPECT_EQ(r.image.at<uint8_t>(0, 0), 5 * 16 + 6);
    r = run_stage_ok("crop", "{width: 4, gravity: right}", in);
    ASSERT_EQ(r.image.size(), cv::Size(4, 8));
    EXPECT_EQ(r.image.at<uint8_t>(0, 0), 6);
    r = run_stage_ok("crop", "{height: 2, gravity: top}", in);
    ASSERT_EQ(r.image.size(), cv::Size(10, 2));
    EXPECT_EQ(r.image.at<uint8_t>(1, 0), 16);
}

TEST(ImgprocCrop, KeepsDepthAndChannels) {
    const cv::Mat in(20, 30, CV_16UC4, cv::Scalar(1, 2, 3, 60000));
    StageResult r = run_stage_ok("crop", "{width: 10, height: 5, gravity: center}", in);
    EXPECT_EQ(r.image.type(), CV_16UC4);
    EXPECT_EQ(r.image.at<cv::Vec4w>(4, 9), cv::Vec4w(1, 2, 3, 60000));
}

TEST(ImgprocCrop, OutOfBoundsIsAJobError) {
    StageResult r = run_stage("crop", "{x: 10, y: 0, width: 8}", coordinates(16, 12));
    EXPECT_NE(r.error.find("does not fit in the 16x12 image"), std::string::npos) << r.error;
    r = run_stage("crop", "{x: 20}", coordinates(16, 12));
    EXPECT_NE(r.error.find("does not fit"), std::string::npos) << r.error;
    r = run_stage("crop", "{width: 20, height: 4, gravity: center}", coordinates(16, 12));
    EXPECT_NE(r.error.find("20x4"), std::string::npos) << r.error;
}

TEST(ImgprocCrop, ValidatesParameters) {
    expect_config_error("crop", "", "width");
    expect_config_error("crop", "{x: 2, width: 4, gravity: center}", "gravity");
    expect_config_error("crop", "{x: -1}", "x");
    expect_config_error("crop", "{width: 4, gravity: middle}", "gravity");
}

// ---------------------------------------------------------------- rotate

TEST(ImgprocRotate, NinetyCounterClockwiseMovesTopRightToTopLeft) {
    StageResult r = run_stage_ok("rotate", "{angle: 90}", marked(4, 3, 3, 0));
    ASSERT_EQ(r.image.size(), cv::Size(3, 4));
    EXPECT_EQ(find_mark(r.image), cv::Point(0, 0));
    // The top-left corner goes to the bottom-left.
    r = run_stage_ok("rotate", "{angle: 90}", marked(4, 3, 0, 0));
    EXPECT_EQ(find_mark(r.image), cv::Point(0, 3));
}

TEST(ImgprocRotate, NegativeAngleTurnsClockwise) {
    StageResult r = run_stage_ok("rotate", "{angle: -90}", marked(4, 3, 0, 0));
    ASSERT_EQ(r.image.size(), cv::Size(3, 4));
    EXPECT_EQ(find_mark(r.image), cv::Point(2, 0));
    r = run_stage_ok("rotate", "{angle: 270}", marked(4, 3, 0, 0));
    EXPECT_EQ(find_mark(r.image), cv::Point(2, 0));
}

TEST(ImgprocRotate, HalfTurnAndFullTurn) {
    StageResult r = run_stage_ok("rotate", "{angle: 180}", marked(5, 3, 1, 0));
    ASSERT_EQ(r.image.size(), cv::Size(5, 3));
    EXPECT_EQ(find_mark(r.image), cv::Point(3, 2));
    r = run_stage_ok("rotate", "{angle: 360}", marked(5, 3, 1, 0));
    EXPECT_EQ(find_mark(r.image), cv::Point(1, 0));
    r = run_stage_ok("rotate", "{angle: -180}", marked(5, 3, 1, 0));
    EXPECT_EQ(find_mark(r.image), cv::Point(3, 2));
}

TEST(ImgprocRotate, QuarterTurnsAreExactOn16BitAlpha) {
    cv::Mat in(3, 4, CV_16UC4, cv::Scalar(1, 2, 3, 4));
    in.at<cv::Vec4w>(0, 3) = cv::Vec4w(65535, 12345, 0, 777);
    StageResult r = run_stage_ok("rotate", "{angle: 90}", in);
    ASSERT_EQ(r.image.type(), CV_16UC4);
    EXPECT_EQ(r.image.at<cv::Vec4w>(0, 0), cv::Vec4w(65535, 12345, 0, 777));
    EXPECT_EQ(r.image.at<cv::Vec4w>(3, 2), cv::Vec4w(1, 2, 3, 4));
}

TEST(ImgprocRotate, ArbitraryAngleExpandsAndFillsBackground) {
    const cv::Mat in(100, 100, CV_8UC3, cv::Scalar(10, 20, 30));
    StageResult r = run_stage_ok("rotate", "{angle: 45, background: white}", in);
    // The bounding box of a 100x100 square turned 45 degrees is 100 * sqrt(2) = 141.4 wide.
    EXPECT_EQ(r.image.size(), cv::Size(142, 142));
    EXPECT_EQ(r.image.at<cv::Vec3b>(0, 0), cv::Vec3b(255, 255, 255));
    EXPECT_EQ(r.image.at<cv::Vec3b>(71, 71), cv::Vec3b(10, 20, 30));
    // The middle of each side of the new canvas is a tip of the turned square: image, not fill.
    EXPECT_EQ(r.image.at<cv::Vec3b>(71, 3), cv::Vec3b(10, 20, 30));

    r = run_stage_ok("rotate", "{angle: 45, expand: false, background: \"#0000ff\"}", in);
    EXPECT_EQ(r.image.size(), cv::Size(100, 100));
    EXPECT_EQ(r.image.at<cv::Vec3b>(0, 0), cv::Vec3b(255, 0, 0));
    EXPECT_EQ(r.image.at<cv::Vec3b>(50, 50), cv::Vec3b(10, 20, 30));
}

TEST(ImgprocRotate, TransparentBackgroundOnAlphaImage) {
    const cv::Mat in(40, 60, CV_8UC4, cv::Scalar(10, 20, 30, 255));
    StageResult r = run_stage_ok("rotate", "{angle: 30, background: transparent}", in);
    ASSERT_EQ(r.image.type(), CV_8UC4);
    EXPECT_GT(r.image.cols, 60);
    EXPECT_EQ(r.image.at<cv::Vec4b>(0, 0)[3], 0);
    EXPECT_EQ(r.image.at<cv::Vec4b>(r.image.rows / 2, r.image.cols / 2), cv::Vec4b(10, 20, 30, 255));
}

TEST(ImgprocRotate, ValidatesParameters) {
    expect_config_error("rotate", "", "angle");
    expect_config_error("rotate", "{angle: 400}", "angle");
    expect_config_error("rotate", "{angle: ninety}", "angle");
    const std::string colour = expect_config_error("rotate", "{angle: 10, background: \"#12\"}", "background");
    EXPECT_NE(colour.find("#rrggbb"), std::string::npos) << colour;
    expect_config_error("rotate", "{angle: 10, background: \"300,0,0\"}", "background");
    expect_config_error("rotate", "{angle: 10, interpolation: area}", "interpolation");
}

// ---------------------------------------------------------------- flip

TEST(ImgprocFlip, Directions) {
    EXPECT_EQ(find_mark(run_stage_ok("flip", "", marked(5, 3, 0, 0)).image), cv::Point(4, 0));
    EXPECT_EQ(find_mark(run_stage_ok("flip", "{direction: horizontal}", marked(5, 3, 1, 2)).image), cv::Point(3, 2));
    EXPECT_EQ(find_mark(run_stage_ok("flip", "{direction: vertical}", marked(5, 3, 1, 0)).image), cv::Point(1, 2));
    EXPECT_EQ(find_mark(run_stage_ok("flip", "{direction: both}", marked(5, 3, 1, 0)).image), cv::Point(3, 2));
}

TEST(ImgprocFlip, BadChoiceSuggests) {
    const std::string message = expect_config_error("flip", "{direction: horizontl}", "direction");
    EXPECT_NE(message.find("did you mean \"horizontal\""), std::string::npos) << message;
}

// ---------------------------------------------------------------- pad

TEST(ImgprocPad, AllSidesWithColour) {
    const cv::Mat in(10, 20, CV_8UC3, cv::Scalar(1, 2, 3));
    StageResult r = run_stage_ok("pad", "{all: 2, color: \"#ff8000\"}", in);
    ASSERT_EQ(r.image.size(), cv::Size(24, 14));
    EXPECT_EQ(r.image.at<cv::Vec3b>(0, 0), cv::Vec3b(0, 128, 255));
    EXPECT_EQ(r.image.at<cv::Vec3b>(13, 23), cv::Vec3b(0, 128, 255));
    EXPECT_EQ(r.image.at<cv::Vec3b>(2, 2), cv::Vec3b(1, 2, 3));
    EXPECT_EQ(r.image.at<cv::Vec3b>(11, 21), cv::Vec3b(1, 2, 3));
}

TEST(ImgprocPad, SidesOverrideAll) {
    const cv::Mat in(10, 20, CV_8UC1, cv::Scalar(7));
    StageResult r = run_stage_ok("pad", "{all: 1, top: 3}", in);
    EXPECT_EQ(r.image.size(), cv::Size(22, 14));
    EXPECT_EQ(r.image.at<uint8_t>(2, 1), 0);
    EXPECT_EQ(r.image.at<uint8_t>(3, 1), 7);
    r = run_stage_ok("pad", "{left: 5}", in);
    EXPECT_EQ(r.image.size(), cv::Size(25, 10));
}

TEST(ImgprocPad, ColourFormsPerImageKind) {
    StageResult r = run_stage_ok("pad", "{all: 1, color: \"10, 20, 30\"}", cv::Mat(4, 4, CV_8UC3, cv::Scalar::all(0)));
    EXPECT_EQ(r.image.at<cv::Vec3b>(0, 0), cv::Vec3b(30, 20, 10));
    r = run_stage_ok("pad", "{all: 1, color: white}", cv::Mat(4, 4, CV_8UC1, cv::Scalar(0)));
    EXPECT_EQ(r.image.at<uint8_t>(0, 0), 255);
    r = run_stage_ok("pad", "{all: 1, color: white}", cv::Mat(4, 4, CV_16UC3, cv::Scalar::all(0)));
    EXPECT_EQ(r.image.at<cv::Vec3w>(0, 0), cv::Vec3w(65535, 65535, 65535));
    r = run_stage_ok("pad", "{all: 1, color: transparent}", cv::Mat(4, 4, CV_8UC4, cv::Scalar::all(200)));
    EXPECT_EQ(r.image.at<cv::Vec4b>(0, 0)[3], 0);
    EXPECT_EQ(r.image.at<cv::Vec4b>(1, 1), cv::Vec4b(200, 200, 200, 200));
    r = run_stage_ok("pad", "{all: 1, color: \"#00ff0080\"}", cv::Mat(4, 4, CV_8UC4, cv::Scalar::all(0)));
    EXPECT_EQ(r.image.at<cv::Vec4b>(0, 0), cv::Vec4b(0, 255, 0, 128));
}

TEST(ImgprocPad, ReflectAndReplicate) {
    const cv::Mat in = (cv::Mat_<uint8_t>(1, 3) << 10, 20, 30);
    StageResult r = run_stage_ok("pad", "{left: 1, right: 1, mode: reflect}", in);
    ASSERT_EQ(r.image.size(), cv::Size(5, 1));
    EXPECT_EQ(r.image.at<uint8_t>(0, 0), 20);
    EXPECT_EQ(r.image.at<uint8_t>(0, 4), 20);
    r = run_stage_ok("pad", "{left: 2, mode: replicate}", in);
    EXPECT_EQ(r.image.at<uint8_t>(0, 0), 10);
    EXPECT_EQ(r.image.at<uint8_t>(0, 1), 10);
}

TEST(ImgprocPad, ValidatesParameters) {
    expect_config_error("pad", "", "all");
    const std::string colour = expect_config_error("pad", "{all: 1, color: purple}", "color");
    EXPECT_NE(colour.find("purple"), std::string::npos) << colour;
    expect_config_error("pad", "{all: -1}", "all");
    expect_config_error("pad", "{all: 1, mode: wrap}", "mode");
}

// A white shape on a fully transparent black background, half-transparent along its edge:
// resized straight, the black of the transparent pixels bleeds into the edge (a dark
// fringe); premultiplied, every visible pixel stays white.
TEST(ImgprocResize, ATransparentBackgroundLeavesNoDarkFringe) {
    cv::Mat rgba(64, 64, CV_8UC4, cv::Scalar(0, 0, 0, 0));
    rgba(cv::Rect(16, 16, 32, 32)).setTo(cv::Scalar(255, 255, 255, 255));
    rgba(cv::Rect(15, 16, 1, 32)).setTo(cv::Scalar(255, 255, 255, 128)); // a half-transparent edge
    for (const char *interpolation : {"area", "linear", "cubic", "lanczos"}) {
        SCOPED_TRACE(interpolation);
        const cv::Mat out =
            run_stage_ok("resize", std::string("{width: 21, interpolation: ") + interpolation + "}", rgba).image;
        ASSERT_EQ(out.type(), CV_8UC4);
        int visible = 0;
        for (int y = 0; y < out.rows; ++y)
            for (int x = 0; x < out.cols; ++x) {
                const cv::Vec4b p = out.at<cv::Vec4b>(y, x);
                if (p[3] < 8) continue; // (nearly) invisible: its colour does not show
                ++visible;
                EXPECT_GE(p[0], 250) << "dark fringe at " << x << "," << y << " alpha " << int(p[3]);
                EXPECT_GE(p[2], 250) << "dark fringe at " << x << "," << y << " alpha " << int(p[3]);
            }
        EXPECT_GT(visible, 100);
    }
}

TEST(ImgprocResize, AnOpaqueAlphaChannelResizesExactlyAsWithoutPremultiplying) {
    cv::Mat rgba(40, 60, CV_16UC4);
    cv::randu(rgba, 0, 65535);
    cv::Mat alpha(rgba.size(), CV_16UC1, cv::Scalar(65535));
    cv::insertChannel(alpha, rgba, 3);
    cv::Mat expected;
    cv::resize(rgba, expected, cv::Size(20, 13), 0, 0, cv::INTER_AREA);
    const cv::Mat out = run_stage_ok("resize", "{width: 20}", rgba).image;
    ASSERT_EQ(out.size(), expected.size());
    EXPECT_EQ(cv::norm(out, expected, cv::NORM_INF), 0);
}
