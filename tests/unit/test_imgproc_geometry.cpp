// imgproc geometry stages (resize, crop, rotate, flip, pad) run through the real host.
#include "support/stage_harness.hpp"

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <string>

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

// ---------------------------------------------------------------- resize: fit and gravity

namespace {

const cv::Vec3b kRed(0, 0, 255), kGrey(128, 128, 128), kBlue(255, 0, 0);

// Three bands along the long side: the first 100 pixels red, the last 100 blue, grey between.
cv::Mat bands(int width, int height) {
    cv::Mat m(height, width, CV_8UC3, cv::Scalar(128, 128, 128));
    if (height > width) {
        m.rowRange(0, 100).setTo(cv::Scalar(0, 0, 255));
        m.rowRange(height - 100, height).setTo(cv::Scalar(255, 0, 0));
    } else {
        m.colRange(0, 100).setTo(cv::Scalar(0, 0, 255));
        m.colRange(width - 100, width).setTo(cv::Scalar(255, 0, 0));
    }
    return m;
}

// Flat grey with one 60x60 black-and-white checkerboard (squares of 6 pixels) at `patch`.
cv::Mat grey_with_patch(int width, int height, cv::Point patch) {
    cv::Mat m(height, width, CV_8UC3, cv::Scalar::all(128));
    for (int y = 0; y < 60; ++y)
        for (int x = 0; x < 60; ++x)
            m.at<cv::Vec3b>(patch.y + y, patch.x + x) =
                ((x / 6 + y / 6) % 2) ? cv::Vec3b(255, 255, 255) : cv::Vec3b(0, 0, 0);
    return m;
}

// How far the image strays from flat grey, summed: the amount of patch it holds.
double detail(const cv::Mat &m) { return cv::norm(m, cv::Mat(m.size(), m.type(), cv::Scalar::all(128)), cv::NORM_L1); }

} // namespace

TEST(ImgprocResizeFit, ExactSizesOnPortraitAndLandscape) {
    struct Case {
        cv::Size input, box;
        const char *fit;
        cv::Size expected;
    };
    const cv::Size portrait(300, 500), landscape(500, 300), square(200, 200), wide(160, 90);
    const std::vector<Case> cases{
        {portrait, square, "auto", {120, 200}},   {portrait, square, "inside", {120, 200}},
        {portrait, square, "contain", {200, 200}}, {portrait, square, "cover", {200, 200}},
        {portrait, square, "fill", {200, 200}},    {portrait, square, "outside", {200, 333}},
        {portrait, wide, "inside", {54, 90}},      {portrait, wide, "contain", {160, 90}},
        {portrait, wide, "cover", {160, 90}},      {portrait, wide, "fill", {160, 90}},
        {portrait, wide, "outside", {160, 267}},   {landscape, square, "inside", {200, 120}},
        {landscape, square, "contain", {200, 200}}, {landscape, square, "cover", {200, 200}},
        {landscape, square, "fill", {200, 200}},   {landscape, square, "outside", {333, 200}},
        {landscape, wide, "auto", {150, 90}},      {landscape, wide, "inside", {150, 90}},
        {landscape, wide, "contain", {160, 90}},   {landscape, wide, "cover", {160, 90}},
        {landscape, wide, "fill", {160, 90}},      {landscape, wide, "outside", {160, 96}},
    };
    for (const Case &c : cases) {
        const std::string params = "{width: " + std::to_string(c.box.width) + ", height: " +
                                   std::to_string(c.box.height) + ", fit: " + c.fit + "}";
        SCOPED_TRACE(std::to_string(c.input.width) + "x" + std::to_string(c.input.height) + " " + params);
        const StageResult r = run_stage_ok("resize", params, bands(c.input.width, c.input.height));
        EXPECT_EQ(r.image.size(), c.expected);
        EXPECT_EQ(r.image.type(), CV_8UC3);
    }
    // keep_aspect: false is fill.
    EXPECT_EQ(run_stage_ok("resize", "{width: 160, height: 90, keep_aspect: false}", bands(300, 500)).image.size(),
              cv::Size(160, 90));
}

TEST(ImgprocResizeFit, WithoutUpscaleNothingIsEnlarged) {
    // 300x100 into 200x200: covering would need x2; without upscale the scale stays 1 and
    // cover only cuts the width down to the box.
    const cv::Mat strip = bands(300, 100);
    EXPECT_EQ(run_stage_ok("resize", "{width: 200, height: 200, fit: cover}", strip).image.size(), cv::Size(200, 100));
    EXPECT_EQ(run_stage_ok("resize", "{width: 200, height: 200, fit: cover, upscale: true}", strip).image.size(),
              cv::Size(200, 200));
    EXPECT_EQ(run_stage_ok("resize", "{width: 200, height: 200, fit: outside}", strip).image.size(),
              cv::Size(300, 100));
    EXPECT_EQ(run_stage_ok("resize", "{width: 200, height: 200, fit: fill}", strip).image.size(), cv::Size(200, 100));

    // An image smaller than the box: cover, outside, inside and fill leave it alone; contain
    // still pads it to the box.
    const cv::Mat small(60, 100, CV_8UC3, cv::Scalar(30, 20, 10));
    for (const char *fit : {"cover", "outside", "inside", "fill"}) {
        const StageResult r = run_stage_ok("resize", std::string("{width: 200, height: 200, fit: ") + fit + "}", small);
        ASSERT_EQ(r.image.size(), small.size()) << fit;
        EXPECT_EQ(cv::norm(r.image, small, cv::NORM_INF), 0) << fit;
    }
    const StageResult r = run_stage_ok("resize", "{width: 200, height: 200, fit: contain}", small);
    ASSERT_EQ(r.image.size(), cv::Size(200, 200));
    EXPECT_EQ(r.image.at<cv::Vec3b>(70, 50), cv::Vec3b(30, 20, 10)); // the image, centred
    EXPECT_EQ(r.image.at<cv::Vec3b>(129, 149), cv::Vec3b(30, 20, 10));
    EXPECT_EQ(r.image.at<cv::Vec3b>(69, 50), cv::Vec3b(0, 0, 0)); // black padding by default
    EXPECT_EQ(r.image.at<cv::Vec3b>(70, 150), cv::Vec3b(0, 0, 0));
}

TEST(ImgprocResizeFit, CoverKeepsThePartAtGravity) {
    // Portrait 300x500 -> 200x333, cut to 200x200: the 133 rows of overflow go by gravity.
    const cv::Mat portrait = bands(300, 500);
    const auto cover = [](const cv::Mat &in, const std::string &gravity) {
        return run_stage_ok("resize", "{width: 200, height: 200, fit: cover, gravity: " + gravity + "}", in).image;
    };
    for (const char *g : {"top", "top_left", "top_right"}) {
        const cv::Mat out = cover(portrait, g);
        ASSERT_EQ(out.size(), cv::Size(200, 200)) << g;
        EXPECT_EQ(out.at<cv::Vec3b>(0, 100), kRed) << g;
        EXPECT_EQ(out.at<cv::Vec3b>(199, 100), kGrey) << g;
    }
    for (const char *g : {"bottom", "bottom_right"}) {
        const cv::Mat out = cover(portrait, g);
        EXPECT_EQ(out.at<cv::Vec3b>(0, 100), kGrey) << g;
        EXPECT_EQ(out.at<cv::Vec3b>(199, 100), kBlue) << g;
    }
    // The centre keeps rows 66 to 265 of 333: from the red band's last row to the grey.
    cv::Mat out = cover(portrait, "center");
    EXPECT_EQ(out.at<cv::Vec3b>(2, 100), kGrey);
    EXPECT_EQ(out.at<cv::Vec3b>(197, 100), kGrey);
    EXPECT_NE(out.at<cv::Vec3b>(0, 100), kGrey);
    // left and right do not move a crop that only overflows vertically.
    EXPECT_EQ(cv::norm(cover(portrait, "left"), out, cv::NORM_INF), 0);

    // Landscape 500x300 -> 333x200, cut to 200x200 along the width.
    const cv::Mat landscape = bands(500, 300);
    for (const char *g : {"left", "top_left", "bottom_left"}) {
        out = cover(landscape, g);
        ASSERT_EQ(out.size(), cv::Size(200, 200)) << g;
        EXPECT_EQ(out.at<cv::Vec3b>(100, 0), kRed) << g;
        EXPECT_EQ(out.at<cv::Vec3b>(100, 199), kGrey) << g;
    }
    for (const char *g : {"right", "bottom_right"}) {
        out = cover(landscape, g);
        EXPECT_EQ(out.at<cv::Vec3b>(100, 0), kGrey) << g;
        EXPECT_EQ(out.at<cv::Vec3b>(100, 199), kBlue) << g;
    }
}

TEST(ImgprocResizeFit, ContainPadsWithBackgroundAtGravity) {
    // Portrait 300x500 -> 120x200 in a 200x200 frame: 80 columns of padding.
    const cv::Mat portrait(500, 300, CV_8UC3, cv::Scalar(30, 20, 10));
    const cv::Vec3b image(30, 20, 10), red(0, 0, 255);
    StageResult r =
        run_stage_ok("resize", "{width: 200, height: 200, fit: contain, background: \"#ff0000\"}", portrait);
    ASSERT_EQ(r.image.size(), cv::Size(200, 200));
    EXPECT_EQ(r.image.at<cv::Vec3b>(100, 39), red);
    EXPECT_EQ(r.image.at<cv::Vec3b>(100, 40), image);
    EXPECT_EQ(r.image.at<cv::Vec3b>(100, 159), image);
    EXPECT_EQ(r.image.at<cv::Vec3b>(100, 160), red);
    EXPECT_EQ(r.image.at<cv::Vec3b>(0, 100), image); // the height is filled
    r = run_stage_ok("resize", "{width: 200, height: 200, fit: contain, background: red, gravity: left}", portrait);
    EXPECT_EQ(r.image.at<cv::Vec3b>(100, 0), image);
    EXPECT_EQ(r.image.at<cv::Vec3b>(100, 119), image);
    EXPECT_EQ(r.image.at<cv::Vec3b>(100, 120), red);

    // Landscape 500x300 -> 150x90 in a 160x90 frame: bottom_right puts the 10 columns of padding left.
    const cv::Mat landscape(300, 500, CV_8UC3, cv::Scalar(30, 20, 10));
    r = run_stage_ok("resize", "{width: 160, height: 90, fit: contain, background: white, gravity: bottom_right}",
                     landscape);
    ASSERT_EQ(r.image.size(), cv::Size(160, 90));
    EXPECT_EQ(r.image.at<cv::Vec3b>(45, 9), cv::Vec3b(255, 255, 255));
    EXPECT_EQ(r.image.at<cv::Vec3b>(45, 10), image);
    EXPECT_EQ(r.image.at<cv::Vec3b>(89, 159), image);

    // 16-bit with alpha: the padding may be transparent; the image keeps its samples.
    const cv::Mat rgba(300, 500, CV_16UC4, cv::Scalar(1000, 2000, 3000, 65535));
    r = run_stage_ok("resize", "{width: 200, height: 200, fit: contain, background: transparent}", rgba);
    ASSERT_EQ(r.image.type(), CV_16UC4);
    ASSERT_EQ(r.image.size(), cv::Size(200, 200));
    EXPECT_EQ(r.image.at<cv::Vec4w>(0, 100)[3], 0);
    EXPECT_EQ(r.image.at<cv::Vec4w>(100, 100), cv::Vec4w(1000, 2000, 3000, 65535));
}

TEST(ImgprocResizeFit, EntropyAndAttentionKeepTheDetailedCorner) {
    struct Case {
        cv::Size input;
        cv::Point patch;
    };
    const std::vector<Case> cases{{{300, 500}, {0, 440}},   // portrait, bottom-left
                                  {{300, 500}, {240, 0}},   // portrait, top-right
                                  {{500, 300}, {440, 0}},   // landscape, top-right
                                  {{500, 300}, {0, 240}}};  // landscape, bottom-left
    for (const Case &c : cases) {
        const cv::Mat in = grey_with_patch(c.input.width, c.input.height, c.patch);
        for (const char *box : {"width: 200, height: 200", "width: 160, height: 90"}) {
            // outside scales as cover does without cutting: all the detail there is.
            const double all = detail(run_stage_ok("resize", std::string("{") + box + ", fit: outside}", in).image);
            ASSERT_GT(all, 0);
            const double centre = detail(run_stage_ok("resize", std::string("{") + box + ", fit: cover}", in).image);
            EXPECT_LT(centre, 0.95 * all); // a centre cut loses (some of) the patch: the test can fail
            for (const char *gravity : {"entropy", "attention"}) {
                SCOPED_TRACE(std::to_string(c.input.width) + "x" + std::to_string(c.input.height) + " patch at " +
                             std::to_string(c.patch.x) + "," + std::to_string(c.patch.y) + " " + box + " " + gravity);
                const std::string params = std::string("{") + box + ", fit: cover, gravity: " + gravity + "}";
                const cv::Mat out = run_stage_ok("resize", params, in).image;
                EXPECT_GE(detail(out), 0.99 * all);
            }
        }
    }
}

TEST(ImgprocResizeFit, AttentionFindsSaturatedColourOn16BitAlpha) {
    // No texture at all: a flat saturated red square on grey, in a 16-bit image with alpha.
    cv::Mat in(300, 500, CV_16UC4, cv::Scalar(32896, 32896, 32896, 65535));
    in(cv::Rect(420, 100, 50, 50)).setTo(cv::Scalar(0, 0, 65535, 65535));
    const StageResult r = run_stage_ok("resize", "{width: 200, height: 200, fit: cover, gravity: attention}", in);
    ASSERT_EQ(r.image.type(), CV_16UC4);
    ASSERT_EQ(r.image.size(), cv::Size(200, 200));
    // Scaled by 2/3 the square is at x 280..313 of 333: x 147..180 of the right-hand cut.
    EXPECT_EQ(r.image.at<cv::Vec4w>(83, 163), cv::Vec4w(0, 0, 65535, 65535));
}

TEST(ImgprocResizeFit, EntropyCutsAFeaturelessImageInTheMiddle) {
    // Every row a different grey: every 100-row window holds 100 values of 100 pixels each,
    // so no cut is better than another and the middle one is taken, as by gravity center.
    // (100x167 into 100x100 needs no resampling.)
    cv::Mat ramp(167, 100, CV_8UC1);
    for (int y = 0; y < ramp.rows; ++y) ramp.row(y).setTo(cv::Scalar(y));
    const cv::Mat smart = run_stage_ok("resize", "{width: 100, height: 100, fit: cover, gravity: entropy}", ramp).image;
    ASSERT_EQ(smart.size(), cv::Size(100, 100));
    EXPECT_EQ(smart.at<uint8_t>(0, 0), 33); // (167 - 100) / 2
    EXPECT_EQ(cv::norm(smart, run_stage_ok("resize", "{width: 100, height: 100, fit: cover}", ramp).image,
                       cv::NORM_INF), 0);
}

TEST(ImgprocResizeFit, ValidatesParameters) {
    std::string m = expect_config_error("resize", "{width: 100, fit: cover}", "fit");
    EXPECT_NE(m.find("width and height"), std::string::npos) << m;
    EXPECT_NE(m.find("only width"), std::string::npos) << m;
    m = expect_config_error("resize", "{height: 100, fit: contain}", "fit");
    EXPECT_NE(m.find("only height"), std::string::npos) << m;
    expect_config_error("resize", "{max_side: 100, fit: outside}", "max_side");
    expect_config_error("resize", "{scale: 0.5, fit: fill}", "scale");
    m = expect_config_error("resize", "{width: 10, height: 10, fit: fill, keep_aspect: false}", "keep_aspect");
    EXPECT_NE(m.find("fit"), std::string::npos) << m;
    expect_config_error("resize", "{width: 10, height: 10, fit: cover, keep_aspect: false}", "keep_aspect");
    m = expect_config_error("resize", "{width: 10, height: 10, fit: contian}", "fit");
    EXPECT_NE(m.find("did you mean \"contain\""), std::string::npos) << m;
    m = expect_config_error("resize", "{width: 10, height: 10, fit: cover, gravity: middle}", "gravity");
    EXPECT_NE(m.find("attention"), std::string::npos) << m;
    // gravity and background only mean something where they place a crop or colour padding.
    expect_config_error("resize", "{width: 10, height: 10, gravity: top}", "gravity");
    expect_config_error("resize", "{width: 10, gravity: entropy}", "gravity");
    expect_config_error("resize", "{width: 10, height: 10, fit: outside, gravity: attention}", "gravity");
    expect_config_error("resize", "{width: 10, height: 10, fit: contain, gravity: entropy}", "gravity");
    expect_config_error("resize", "{width: 10, height: 10, fit: cover, background: white}", "background");
    expect_config_error("resize", "{width: 10, height: 10, fit: contain, background: purple}", "background");
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

TEST(ImgprocCrop, EntropyAndAttentionFindTheDetail) {
    // A 100x100 window in 400x300 slides both ways; the patch sits away from every edge.
    const cv::Mat in = grey_with_patch(400, 300, {290, 170});
    const double all = detail(in);
    for (const char *gravity : {"entropy", "attention"}) {
        SCOPED_TRACE(gravity);
        const StageResult r =
            run_stage_ok("crop", std::string("{width: 100, height: 100, gravity: ") + gravity + "}", in);
        ASSERT_EQ(r.image.size(), cv::Size(100, 100));
        EXPECT_EQ(detail(r.image), all);
    }
    EXPECT_LT(detail(run_stage_ok("crop", "{width: 100, height: 100, gravity: center}", in).image), all / 2);

    // A portrait image larger than the analysis copy, 16-bit with alpha, only the height given.
    cv::Mat tall(900, 400, CV_16UC4, cv::Scalar(32896, 32896, 32896, 65535));
    for (int y = 0; y < 60; ++y)
        for (int x = 0; x < 60; ++x)
            tall.at<cv::Vec4w>(800 + y, 170 + x) =
                ((x / 6 + y / 6) % 2) ? cv::Vec4w(65535, 65535, 65535, 65535) : cv::Vec4w(0, 0, 0, 65535);
    for (const char *gravity : {"entropy", "attention"}) {
        SCOPED_TRACE(gravity);
        const StageResult r = run_stage_ok("crop", std::string("{height: 300, gravity: ") + gravity + "}", tall);
        ASSERT_EQ(r.image.type(), CV_16UC4);
        ASSERT_EQ(r.image.size(), cv::Size(400, 300));
        cv::Mat grey;
        cv::inRange(r.image, cv::Scalar(32896, 32896, 32896, 65535), cv::Scalar(32896, 32896, 32896, 65535), grey);
        EXPECT_EQ(r.image.total() - size_t(cv::countNonZero(grey)), 3600u); // every pixel of the patch
    }
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
}

// Placed by gravity, a side longer than the image's is clamped to it, on portrait and
// landscape images alike (a square centre crop of a mixed folder).
TEST(ImgprocCrop, WithGravityASideLongerThanTheImageIsTheWholeSide) {
    const cv::Mat portrait = coordinates(300, 500), landscape = coordinates(500, 300);
    StageResult r = run_stage_ok("crop", "{width: 400, height: 400, gravity: center}", portrait);
    ASSERT_EQ(r.image.size(), cv::Size(300, 400));
    EXPECT_EQ(cv::countNonZero(r.image != portrait(cv::Rect(0, 50, 300, 400))), 0);
    r = run_stage_ok("crop", "{width: 400, height: 400, gravity: center}", landscape);
    ASSERT_EQ(r.image.size(), cv::Size(400, 300));
    EXPECT_EQ(cv::countNonZero(r.image != landscape(cv::Rect(50, 0, 400, 300))), 0);
    r = run_stage_ok("crop", "{width: 20, height: 4, gravity: bottom_right}", coordinates(16, 12));
    EXPECT_EQ(r.image.size(), cv::Size(16, 4));
}

TEST(ImgprocCrop, ValidatesParameters) {
    expect_config_error("crop", "", "width");
    expect_config_error("crop", "{x: 2, width: 4, gravity: center}", "gravity");
    expect_config_error("crop", "{x: -1}", "x");
    expect_config_error("crop", "{width: 4, gravity: middle}", "gravity");
    expect_config_error("crop", "{x: 2, width: 4, gravity: entropy}", "gravity");
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
