// imgproc's watermark stage (annotate.cpp) through the real host: text drawn with FreeType
// and logos read with the host's read_image, sized relative to the image, placed by gravity
// and always inside it. Also the PATH parameter type the logo and the font use.
#include "plugin_host/param_set.hpp"
#include "plugin_host/plugin_registry.hpp"
#include "support/image_bytes.hpp"
#include "support/run_helpers.hpp"
#include "config/spec.hpp"
#include "support/stage_harness.hpp"

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstring>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using batchproc::ConfigError;
using batchproc::test::expect_config_error;
using batchproc::test::run_stage;
using batchproc::test::run_stage_ok;
using batchproc::test::StageResult;
using batchproc::test::TempDir;

namespace {

cv::Mat channel(const cv::Mat &m, int index) {
    cv::Mat out;
    cv::extractChannel(m, out, index);
    return out;
}

// Where two images differ: the bounding box of the changed pixels (empty if none).
cv::Rect changed_area(const cv::Mat &a, const cv::Mat &b) {
    cv::Mat diff;
    cv::absdiff(a, b, diff);
    cv::Mat mask;
    cv::compare(diff.reshape(1, a.rows * a.cols), 0, mask, cv::CMP_NE);
    cv::reduce(mask, mask, 1, cv::REDUCE_MAX);
    mask = mask.reshape(1, a.rows);
    if (cv::countNonZero(mask) == 0) return {};
    std::vector<cv::Point> points;
    cv::findNonZero(mask, points);
    return cv::boundingRect(points);
}

std::string quoted(const std::string &text) { return batchproc::test::yaml_quote(text); }

// A 40x20 logo: the left half opaque red, the right half fully transparent.
fs::path make_logo(const TempDir &dir, const std::string &name = "logo.png") {
    cv::Mat logo(20, 40, CV_8UC4, cv::Scalar(0, 0, 0, 0));
    logo(cv::Rect(0, 0, 20, 20)).setTo(cv::Scalar(0, 0, 255, 255));
    const fs::path path = dir / name;
    EXPECT_TRUE(cv::imwrite(path.string(), logo));
    return path;
}

const bp_stage_descriptor &watermark_descriptor() {
    static batchproc::PluginRegistry registry({BP_PLUGIN_DIR});
    registry.load("imgproc");
    return *registry.find_stage("watermark").stage;
}

} // namespace

// ---------------------------------------------------------------- text

TEST(ImgprocWatermarkText, GravityPlacesTheTextAtItsMargin) {
    const cv::Mat in(100, 200, CV_8UC3, cv::Scalar::all(0));
    StageResult r = run_stage_ok("watermark", "{text: Hi, size: 20, margin: 10, opacity: 1, gravity: top_left}", in);
    EXPECT_TRUE(r.warnings.empty());
    cv::Rect area = changed_area(in, r.image);
    ASSERT_FALSE(area.empty());
    // The box around the letters' ink sits exactly at the margin (anti-aliased edges may be
    // too faint to count in the first column).
    EXPECT_NEAR(area.x, 10, 1);
    EXPECT_NEAR(area.y, 10, 1);
    EXPECT_LT(area.width, 60);
    double hi = 0;
    cv::minMaxLoc(r.image.reshape(1), nullptr, &hi);
    EXPECT_EQ(hi, 255); // opaque white inside the strokes

    r = run_stage_ok("watermark", "{text: Hi, size: 20, margin: 10, opacity: 1, gravity: bottom_right}", in);
    area = changed_area(in, r.image);
    ASSERT_FALSE(area.empty());
    EXPECT_NEAR(area.x + area.width, 190, 1);
    EXPECT_NEAR(area.y + area.height, 90, 1);

    r = run_stage_ok("watermark", "{text: Hi, size: 20, opacity: 1, gravity: center}", in);
    area = changed_area(in, r.image);
    ASSERT_FALSE(area.empty());
    EXPECT_NEAR(area.x + area.width / 2.0, 100, 1.5);
    EXPECT_NEAR(area.y + area.height / 2.0, 50, 1.5);

    r = run_stage_ok("watermark", "{text: Hi, size: 20, margin: 5, opacity: 1, gravity: top}", in);
    area = changed_area(in, r.image);
    ASSERT_FALSE(area.empty());
    EXPECT_NEAR(area.x + area.width / 2.0, 100, 1.5);
    EXPECT_NEAR(area.y, 5, 1);

    r = run_stage_ok("watermark", "{text: Hi, size: 20, margin: 5, opacity: 1, gravity: left}", in);
    area = changed_area(in, r.image);
    ASSERT_FALSE(area.empty());
    EXPECT_NEAR(area.x, 5, 1);
    EXPECT_NEAR(area.y + area.height / 2.0, 50, 1.5);
}

TEST(ImgprocWatermarkText, OpacityAndColour) {
    // "I" is a plain stem: its middle is fully covered.
    const cv::Mat in(60, 120, CV_8UC3, cv::Scalar::all(0));
    StageResult r = run_stage_ok("watermark", "{text: I, size: 40, opacity: 0.5, color: \"#ff0000\"}", in);
    double hi = 0;
    cv::minMaxLoc(channel(r.image, 2), nullptr, &hi);
    EXPECT_NEAR(hi, 128, 1);                             // half of 255 over black
    EXPECT_EQ(cv::countNonZero(channel(r.image, 0)), 0); // no blue
    EXPECT_EQ(cv::countNonZero(channel(r.image, 1)), 0); // no green
    // Anti-aliased: edge pixels hold values between none and full.
    const cv::Mat red = channel(r.image, 2);
    EXPECT_GT(cv::countNonZero((red > 0) & (red < 120)), 0);
}

TEST(ImgprocWatermarkText, AnyLanguageDrawsWithTheDefaultFont) {
    // © was refused as "not printable ASCII" by the old built-in font.
    const cv::Mat in(80, 300, CV_8UC3, cv::Scalar::all(0));
    for (const std::string text : {"\xc2\xa9 2026 Zo\xc3\xab", "\xce\x9a\xce\xb1\xce\xbb\xce\xb7\xce\xbc\xce\xad\xcf\x81\xce\xb1",
                                   "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82"}) {
        SCOPED_TRACE(text);
        StageResult r = run_stage_ok("watermark", "{text: " + quoted(text) + ", size: 30, opacity: 1}", in);
        EXPECT_TRUE(r.warnings.empty()) << r.warnings.front();
        EXPECT_GT(cv::countNonZero(channel(r.image, 0)), 100);
    }
}

TEST(ImgprocWatermarkText, CharactersTheFontLacksAreNamedInAWarning) {
    const cv::Mat in(80, 300, CV_8UC3, cv::Scalar::all(0));
    // DejaVu Sans has no CJK: 写 (U+5199) and 真 (U+771F) are left out, the rest is drawn.
    StageResult r = run_stage_ok("watermark", "{text: \"A \xe5\x86\x99\xe7\x9c\x9f\", size: 30, opacity: 1}", in);
    ASSERT_EQ(r.warnings.size(), 1u);
    EXPECT_NE(r.warnings[0].find("U+5199"), std::string::npos) << r.warnings[0];
    EXPECT_NE(r.warnings[0].find("U+771F"), std::string::npos) << r.warnings[0];
    EXPECT_NE(r.warnings[0].find("\xe5\x86\x99"), std::string::npos) << r.warnings[0];
    EXPECT_NE(r.warnings[0].find("DejaVuSans.ttf"), std::string::npos) << r.warnings[0];
    EXPECT_GT(cv::countNonZero(channel(r.image, 0)), 50); // the A

    // Nothing the font can draw at all: refused before any job runs.
    const std::string message = expect_config_error("watermark", "{text: \"\xe5\x86\x99\xe7\x9c\x9f\"}", "text");
    EXPECT_NE(message.find("nothing to draw"), std::string::npos) << message;
}

TEST(ImgprocWatermarkText, SizeIsAShareOfTheShorterSide) {
    const cv::Mat small(100, 200, CV_8UC3, cv::Scalar::all(0));
    const cv::Mat large(1000, 2000, CV_8UC3, cv::Scalar::all(0));
    const std::string params = "{text: Watermark, size: 10%, margin: 2%, opacity: 1}";
    const cv::Rect a = changed_area(small, run_stage_ok("watermark", params, small).image);
    const cv::Rect b = changed_area(large, run_stage_ok("watermark", params, large).image);
    ASSERT_FALSE(a.empty());
    ASSERT_FALSE(b.empty());
    EXPECT_NEAR(double(b.height) / a.height, 10, 1.5);
    EXPECT_NEAR(double(b.width) / a.width, 10, 1.5);
    // The font size is 10% of the shorter side: "W" is about 0.73 of it.
    EXPECT_NEAR(b.height, 73, 12);
    // margin 2% of the shorter side: 20 pixels on the large image, 2 on the small one.
    EXPECT_NEAR(b.x + b.width, 2000 - 20, 1);
    EXPECT_NEAR(b.y + b.height, 1000 - 20, 1);
    EXPECT_NEAR(a.x + a.width, 200 - 2, 1);

    // Pixels are absolute: the same on both.
    const std::string fixed = "{text: Watermark, size: 24, margin: 4, opacity: 1}";
    const cv::Rect c = changed_area(small, run_stage_ok("watermark", fixed, small).image);
    const cv::Rect d = changed_area(large, run_stage_ok("watermark", fixed, large).image);
    EXPECT_EQ(c.size(), d.size());
    const std::string px = "{text: Watermark, size: 24px, margin: 4px, opacity: 1}";
    EXPECT_EQ(changed_area(small, run_stage_ok("watermark", px, small).image), c);
}

TEST(ImgprocWatermarkText, TooLargeTextIsShrunkToFitInsideTheMargin) {
    const cv::Mat in(40, 120, CV_8UC3, cv::Scalar::all(0));
    StageResult r = run_stage_ok("watermark", "{text: \"a rather long watermark line\", size: 80%, margin: 3, opacity: 1}", in);
    EXPECT_TRUE(r.warnings.empty());
    const cv::Rect area = changed_area(in, r.image);
    ASSERT_FALSE(area.empty());
    EXPECT_GE(area.x, 3);
    EXPECT_GE(area.y, 3);
    EXPECT_LE(area.x + area.width, 117);
    EXPECT_LE(area.y + area.height, 37);
    // Shrunk to the largest size that fits, not further: one font size more (8 pixels)
    // would be 116 pixels wide.
    EXPECT_GE(area.width, 95);

    // No room at all inside the margins: a warning, the image unchanged.
    r = run_stage_ok("watermark", "{text: x, margin: 20}", cv::Mat(30, 30, CV_8UC3, cv::Scalar::all(0)));
    ASSERT_EQ(r.warnings.size(), 1u);
    EXPECT_NE(r.warnings[0].find("no room"), std::string::npos) << r.warnings[0];
    EXPECT_EQ(cv::countNonZero(r.image.reshape(1)), 0);
}

TEST(ImgprocWatermarkText, TransparentAndSixteenBitImages) {
    const cv::Mat in(60, 120, CV_16UC4, cv::Scalar::all(0));
    StageResult r = run_stage_ok("watermark", "{text: I, size: 40, opacity: 1, gravity: top_left, margin: 0}", in);
    ASSERT_EQ(r.image.type(), CV_16UC4);
    const cv::Mat alpha = channel(r.image, 3);
    double hi = 0;
    cv::Point at;
    cv::minMaxLoc(alpha, nullptr, &hi, nullptr, &at);
    EXPECT_EQ(hi, 65535);
    // Over a transparent pixel the text keeps its own colour, whatever its coverage.
    EXPECT_EQ(r.image.at<cv::Vec4w>(at), cv::Vec4w(65535, 65535, 65535, 65535));
    EXPECT_EQ(alpha.at<uint16_t>(59, 119), 0);
    for (int y = 0; y < 60; ++y)
        for (int x = 0; x < 120; ++x) {
            const cv::Vec4w p = r.image.at<cv::Vec4w>(y, x);
            if (p[3] > 0) {
                ASSERT_EQ(p[0], 65535) << x << "," << y;
            }
        }

    // Gray: the colour's luma.
    const cv::Mat gray(60, 120, CV_8UC1, cv::Scalar(0));
    r = run_stage_ok("watermark", "{text: I, size: 40, opacity: 1, color: \"#ff0000\"}", gray);
    cv::minMaxLoc(r.image, nullptr, &hi);
    EXPECT_NEAR(hi, 76, 1); // 0.299 * 255
}

TEST(ImgprocWatermarkText, OldParametersStillWork) {
    const cv::Mat in(100, 200, CV_8UC3, cv::Scalar::all(0));
    // position is gravity's old name; scale an absolute size (1 = 30 pixels).
    const cv::Rect a = changed_area(in, run_stage_ok("watermark", "{text: Hi, position: top_left, scale: 1}", in).image);
    const cv::Rect b = changed_area(in, run_stage_ok("watermark", "{text: Hi, gravity: top_left, size: 30}", in).image);
    EXPECT_EQ(a, b);
    EXPECT_NEAR(a.height, 22, 2); // capitals about 22 pixels tall, as the old font's
    // An integer margin is pixels, as before.
    const cv::Rect c = changed_area(in, run_stage_ok("watermark", "{text: Hi, position: top_left, margin: 10}", in).image);
    EXPECT_NEAR(c.x, 10, 1);

    expect_config_error("watermark", "{text: Hi, position: top_left, gravity: bottom_left}", "gravity");
    expect_config_error("watermark", "{text: Hi, position: top}", "position");
    expect_config_error("watermark", "{text: Hi, scale: 1, size: 5%}", "size");
    // The Hershey font's stroke width has no meaning for a real font.
    expect_config_error("watermark", "{text: Hi, thickness: 2}", "thickness");
}

TEST(ImgprocWatermarkText, ValidatesParameters) {
    expect_config_error("watermark", "", "text");
    expect_config_error("watermark", "{text: \"\"}", "text");
    expect_config_error("watermark", "{text: \"   \"}", "text");
    expect_config_error("watermark", "{text: \"two\\nlines\"}", "text");
    expect_config_error("watermark", std::string("{text: \"caf\xe9\"}"), "UTF-8"); // Latin-1, not UTF-8
    expect_config_error("watermark", "{text: x, color: \"#gg0000\"}", "color");
    expect_config_error("watermark", "{text: x, opacity: 2}", "opacity");
    expect_config_error("watermark", "{text: x, gravity: middle}", "gravity");
    for (const char *bad : {"big", "0", "0%", "101%", "-5", "70000", "5 %%"})
        expect_config_error("watermark", std::string("{text: x, size: \"") + bad + "\"}", "size");
    for (const char *bad : {"-1", "50%", "1e9", "two"})
        expect_config_error("watermark", std::string("{text: x, margin: \"") + bad + "\"}", "margin");
    expect_config_error("watermark", "{text: x, width: 10%}", "width");
    expect_config_error("watermark", "{text: x, font: /nonexistent/font.ttf}", "/nonexistent/font.ttf");

    TempDir dir("bp-wm-font");
    batchproc::test::write_text(dir / "notes.ttf", "not a font\n");
    const std::string message =
        expect_config_error("watermark", "{text: x, font: " + quoted((dir / "notes.ttf").string()) + "}", "font");
    EXPECT_NE(message.find("not a font"), std::string::npos) << message;
}

TEST(ImgprocWatermarkText, AnotherFontFile) {
    const cv::Mat in(60, 200, CV_8UC3, cv::Scalar::all(0));
    const std::string serif = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf";
    if (!fs::exists(serif)) GTEST_SKIP() << serif << " is not installed";
    const cv::Mat a = run_stage_ok("watermark", "{text: Hamburg, size: 30, opacity: 1}", in).image;
    const cv::Mat b = run_stage_ok("watermark", "{text: Hamburg, size: 30, opacity: 1, font: " + serif + "}", in).image;
    EXPECT_GT(cv::norm(a, b, cv::NORM_L1), 0);
}

// ---------------------------------------------------------------- logo

TEST(ImgprocWatermarkLogo, WidthGravityMarginAndAlpha) {
    TempDir dir("bp-wm-logo");
    const fs::path logo = make_logo(dir);
    const cv::Mat in(200, 400, CV_8UC3, cv::Scalar::all(0));
    // 25% of 400 = 100 x 50; bottom_right with a 10-pixel margin: x 290..390, y 140..190.
    StageResult r = run_stage_ok(
        "watermark", "{image: " + quoted(logo.string()) + ", width: 25%, margin: 10, opacity: 1}", in);
    EXPECT_TRUE(r.warnings.empty());
    const cv::Rect area = changed_area(in, r.image);
    // Only the logo's opaque left half changes anything.
    EXPECT_EQ(area, cv::Rect(290, 140, 50, 50));
    EXPECT_EQ(r.image.at<cv::Vec3b>(150, 300), cv::Vec3b(0, 0, 255));
    EXPECT_EQ(r.image.at<cv::Vec3b>(189, 338), cv::Vec3b(0, 0, 255));
    EXPECT_EQ(r.image.at<cv::Vec3b>(150, 370), cv::Vec3b(0, 0, 0)); // transparent half

    // Opacity scales the logo's own alpha; pixels give an absolute width.
    r = run_stage_ok("watermark",
                     "{image: " + quoted(logo.string()) + ", width: 40, margin: 0, opacity: 0.5, gravity: top_left}", in);
    EXPECT_EQ(changed_area(in, r.image), cv::Rect(0, 0, 20, 20));
    EXPECT_EQ(r.image.at<cv::Vec3b>(10, 10), cv::Vec3b(0, 0, 128));

    // The default width is 15% of the image's, the default margin 2% of its shorter side.
    r = run_stage_ok("watermark", "{image: " + quoted(logo.string()) + ", opacity: 1}", in);
    EXPECT_EQ(changed_area(in, r.image), cv::Rect(400 - 4 - 60, 200 - 4 - 30, 30, 30));
}

TEST(ImgprocWatermarkLogo, AllKindsOfImages) {
    TempDir dir("bp-wm-kinds");
    const fs::path logo = make_logo(dir);
    const std::string params = "{image: " + quoted(logo.string()) + ", width: 40, margin: 0, opacity: 1, gravity: top_left}";

    StageResult r = run_stage_ok("watermark", params, cv::Mat(50, 60, CV_8UC1, cv::Scalar(0)));
    EXPECT_EQ(r.image.at<uint8_t>(5, 5), 76); // red's luma
    EXPECT_EQ(r.image.at<uint8_t>(5, 30), 0);

    r = run_stage_ok("watermark", params, cv::Mat(50, 60, CV_16UC3, cv::Scalar::all(1000)));
    EXPECT_EQ(r.image.at<cv::Vec3w>(5, 5), cv::Vec3w(0, 0, 65535));
    EXPECT_EQ(r.image.at<cv::Vec3w>(5, 30), cv::Vec3w(1000, 1000, 1000));

    // On a transparent image the logo brings its own alpha.
    r = run_stage_ok("watermark", params, cv::Mat(50, 60, CV_16UC4, cv::Scalar::all(0)));
    EXPECT_EQ(r.image.at<cv::Vec4w>(5, 5), cv::Vec4w(0, 0, 65535, 65535));
    EXPECT_EQ(r.image.at<cv::Vec4w>(5, 30), cv::Vec4w(0, 0, 0, 0));

    // A 16-bit gray logo without alpha covers its whole box.
    cv::Mat gray16(10, 10, CV_16UC1, cv::Scalar(65535));
    ASSERT_TRUE(cv::imwrite((dir / "gray16.png").string(), gray16));
    r = run_stage_ok("watermark", "{image: " + quoted((dir / "gray16.png").string()) +
                                      ", width: 10, margin: 0, opacity: 1, gravity: center}",
                     cv::Mat(30, 30, CV_8UC3, cv::Scalar::all(0)));
    EXPECT_EQ(changed_area(cv::Mat(30, 30, CV_8UC3, cv::Scalar::all(0)), r.image), cv::Rect(10, 10, 10, 10));
    EXPECT_EQ(r.image.at<cv::Vec3b>(15, 15), cv::Vec3b(255, 255, 255));
}

TEST(ImgprocWatermarkLogo, ShrunkToFitAndResizedWithPremultipliedAlpha) {
    TempDir dir("bp-wm-fit");
    // A logo whose transparent pixels are green: an area filter on straight alpha would
    // bleed green into the red's edge; on premultiplied alpha it cannot.
    cv::Mat logo(64, 64, CV_8UC4, cv::Scalar(0, 255, 0, 0));
    logo(cv::Rect(0, 0, 32, 64)).setTo(cv::Scalar(0, 0, 255, 255));
    ASSERT_TRUE(cv::imwrite((dir / "edge.png").string(), logo));
    const cv::Mat in(30, 100, CV_8UC3, cv::Scalar::all(0));
    StageResult r = run_stage_ok("watermark", "{image: " + quoted((dir / "edge.png").string()) +
                                                  ", width: 90%, margin: 1, opacity: 1, gravity: top_left}",
                                 in);
    // 90 x 90 does not fit in 98 x 28: shrunk to 28 x 28, aspect kept.
    const cv::Rect area = changed_area(in, r.image);
    EXPECT_EQ(area, cv::Rect(1, 1, 14, 28));
    EXPECT_EQ(cv::countNonZero(channel(r.image, 1)), 0); // no green anywhere
}

TEST(ImgprocWatermarkLogo, FileProblems) {
    TempDir dir("bp-wm-missing");
    const std::string missing = (dir / "nowhere.png").string();
    std::string message = expect_config_error("watermark", "{image: " + quoted(missing) + "}", "image");
    EXPECT_NE(message.find(missing), std::string::npos) << message;
    EXPECT_NE(message.find("does not exist"), std::string::npos) << message;
    message = expect_config_error("watermark", "{image: " + quoted(dir.path().string()) + "}", "image");
    EXPECT_NE(message.find("folder"), std::string::npos) << message;

    // A file that is not an image fails the jobs, with its name.
    batchproc::test::write_text(dir / "fake.png", "not a png\n");
    const StageResult r = run_stage("watermark", "{image: " + quoted((dir / "fake.png").string()) + "}",
                                    cv::Mat(20, 20, CV_8UC3, cv::Scalar::all(0)));
    EXPECT_NE(r.error.find((dir / "fake.png").string()), std::string::npos) << r.error;

    const fs::path logo = make_logo(dir);
    expect_config_error("watermark", "{image: " + quoted(logo.string()) + ", text: hi}", "text");
    expect_config_error("watermark", "{image: " + quoted(logo.string()) + ", size: 5%}", "size");
    expect_config_error("watermark", "{image: " + quoted(logo.string()) + ", width: 0}", "width");
    expect_config_error("watermark", "{image: " + quoted(logo.string()) + ", width: 120%}", "width");
}

// ---------------------------------------------------------------- PATH parameters

TEST(PathParameter, RelativeToTheConfigFolderAndChecked) {
    TempDir dir("bp-wm-path");
    make_logo(dir);
    const bp_stage_descriptor &stage = watermark_descriptor();
    bool found = false;
    for (size_t i = 0; i < stage.param_count; ++i)
        if (std::strcmp(stage.params[i]->name, "image") == 0) {
            EXPECT_EQ(stage.params[i]->type, BP_PARAM_PATH);
            found = true;
        }
    EXPECT_TRUE(found);
    EXPECT_STREQ(batchproc::param_type_name(BP_PARAM_PATH), "path");

    const auto spec_with = [&](const std::string &value, const fs::path &base) {
        batchproc::StageSpec spec;
        spec.name = "watermark";
        spec.mark = {"cfg.yaml", 4, 5};
        batchproc::RawParam param;
        param.name = "image";
        param.value = YAML::Node(value);
        param.mark = batchproc::SourceMark{"cfg.yaml", 5, 14};
        param.base_dir = base;
        spec.params.push_back(param);
        return spec;
    };
    // A relative path is taken from the config's folder and handed over absolute.
    const batchproc::ParamSet set = batchproc::validate_params(stage, spec_with("logo.png", dir.path()), "pipeline[0].watermark");
    EXPECT_EQ(std::string(set.find("image")->string_value), (dir / "logo.png").string());
    EXPECT_EQ(set.text("image"), (dir / "logo.png").string());
    const batchproc::ParamSet again =
        batchproc::validate_params(stage, spec_with("./sub/../logo.png", dir.path()), "pipeline[0].watermark");
    EXPECT_EQ(again.text("image"), (dir / "logo.png").string());

    try {
        batchproc::validate_params(stage, spec_with("gone.png", dir.path()), "pipeline[0].watermark");
        ADD_FAILURE() << "a missing file was accepted";
    } catch (const ConfigError &e) {
        EXPECT_EQ(e.key(), "pipeline[0].watermark.image");
        EXPECT_EQ(e.mark().line, 5);
        EXPECT_NE(e.message().find((dir / "gone.png").string()), std::string::npos) << e.message();
    }
    EXPECT_THROW(batchproc::validate_params(stage, spec_with("", dir.path()), "pipeline[0].watermark"), ConfigError);
}
