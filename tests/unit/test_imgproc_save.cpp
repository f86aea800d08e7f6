// imgproc's save stage (encoding, formats, alpha and depth handling, metrics) run through
// the real host, and the check that docs/stages.md matches the plugin's schema.
#include "support/stage_harness.hpp"
#include "codec/image_decoder.hpp"

#include "plugin_host/param_set.hpp"
#include "plugin_host/plugin_registry.hpp"

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

using batchproc::test::run_stage;
using batchproc::test::StageResult;

namespace {

StageResult save(const std::string &params, const cv::Mat &input, const std::string &input_path = "input.png") {
    StageResult r = run_stage("save", params, input, "imgproc", input_path);
    EXPECT_EQ(r.error, "") << params;
    EXPECT_FALSE(r.output.empty()) << params;
    return r;
}

std::string config_error(const std::string &params, const std::string &param) {
    try {
        run_stage("save", params, cv::Mat(8, 8, CV_8UC3, cv::Scalar::all(0)));
    } catch (const batchproc::test::ParamError &e) {
        EXPECT_NE((e.key() + " " + e.message()).find(param), std::string::npos)
            << "error does not name " << param << ": " << e.what();
        return e.message();
    }
    ADD_FAILURE() << params << " was accepted";
    return "";
}

cv::Mat decode(const std::vector<uint8_t> &bytes) { return cv::imdecode(bytes, cv::IMREAD_UNCHANGED); }

bool starts_with(const std::vector<uint8_t> &bytes, const std::string &magic, size_t at = 0) {
    if (bytes.size() < at + magic.size()) return false;
    for (size_t i = 0; i < magic.size(); ++i)
        if (bytes[at + i] != uint8_t(magic[i])) return false;
    return true;
}

bool is_jpeg(const std::vector<uint8_t> &b) { return starts_with(b, "\xff\xd8\xff"); }
bool is_png(const std::vector<uint8_t> &b) { return starts_with(b, "\x89PNG"); }
bool is_webp(const std::vector<uint8_t> &b) { return starts_with(b, "RIFF") && starts_with(b, "WEBP", 8); }
bool is_tiff(const std::vector<uint8_t> &b) { return starts_with(b, std::string("II*\0", 4)) || starts_with(b, std::string("MM\0*", 4)); }
bool is_bmp(const std::vector<uint8_t> &b) { return starts_with(b, "BM"); }

// A JPEG marker outside entropy-coded data (where 0xFF is always followed by 0 or RSTn).
bool has_marker(const std::vector<uint8_t> &b, uint8_t marker) {
    for (size_t i = 0; i + 1 < b.size(); ++i)
        if (b[i] == 0xff && b[i + 1] == marker) return true;
    return false;
}

cv::Mat noise(int width, int height, int type) {
    cv::Mat m(height, width, type);
    cv::RNG rng(777);
    rng.fill(m, cv::RNG::UNIFORM, cv::Scalar::all(0), cv::Scalar::all(CV_MAT_DEPTH(type) == CV_16U ? 65536 : 256));
    return m;
}

// Smooth content that lossy codecs keep well, so that decoded values can be compared.
cv::Mat gradient(int width, int height) {
    cv::Mat m(height, width, CV_8UC3);
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x) m.at<cv::Vec3b>(y, x) = cv::Vec3b(uint8_t(x * 2), uint8_t(y * 2), 128);
    return m;
}

} // namespace

// ---------------------------------------------------------------- formats

TEST(ImgprocSave, PngIsLosslessWithMetrics) {
    const cv::Mat in = noise(37, 23, CV_8UC3);
    StageResult r = save("{format: png}", in);
    ASSERT_TRUE(is_png(r.output));
    const cv::Mat back = decode(r.output);
    ASSERT_EQ(back.type(), CV_8UC3);
    EXPECT_EQ(cv::norm(back, in, cv::NORM_INF), 0);
    EXPECT_EQ(r.metrics["width"], 37);
    EXPECT_EQ(r.metrics["height"], 23);
    EXPECT_EQ(r.metrics["bytes"], r.output.size());
}

TEST(ImgprocSave, PngKeepsSixteenBitAlphaAndGray) {
    for (int type : {CV_16UC3, CV_16UC4, CV_8UC4, CV_8UC1, CV_16UC1}) {
        const cv::Mat in = noise(16, 9, type);
        StageResult r = save("{format: png}", in);
        const cv::Mat back = decode(r.output);
        ASSERT_EQ(back.type(), type);
        EXPECT_EQ(cv::norm(back, in, cv::NORM_INF), 0);
    }
}

TEST(ImgprocSave, PngCompressionLevelChangesSize) {
    const cv::Mat in = gradient(128, 128);
    const size_t fast = save("{format: png, png_compression: 0}", in).output.size();
    const size_t small = save("{format: png, png_compression: 9}", in).output.size();
    EXPECT_LT(small, fast);
}

TEST(ImgprocSave, JpgQualityChangesSize) {
    const cv::Mat in = noise(64, 64, CV_8UC3);
    StageResult low = save("{format: jpg, quality: 20}", in);
    StageResult high = save("{format: jpg, quality: 95}", in);
    ASSERT_TRUE(is_jpeg(low.output));
    ASSERT_TRUE(is_jpeg(high.output));
    EXPECT_LT(low.output.size(), high.output.size());
    const cv::Mat back = decode(high.output);
    EXPECT_EQ(back.size(), in.size());
    EXPECT_EQ(back.type(), CV_8UC3);
}

TEST(ImgprocSave, JpgProgressive) {
    const cv::Mat in = gradient(64, 64);
    StageResult plain = save("{format: jpg}", in);
    StageResult progressive = save("{format: jpg, progressive: true}", in);
    EXPECT_TRUE(has_marker(plain.output, 0xc0));       // SOF0: baseline
    EXPECT_FALSE(has_marker(plain.output, 0xc2));
    EXPECT_TRUE(has_marker(progressive.output, 0xc2)); // SOF2: progressive
    EXPECT_EQ(decode(progressive.output).size(), in.size());
}

TEST(ImgprocSave, JpgConvertsSixteenBitToEightBit) {
    const cv::Mat in(32, 32, CV_16UC3, cv::Scalar(200 * 257, 100 * 257, 50 * 257));
    StageResult r = save("{format: jpg, quality: 100}", in);
    const cv::Mat back = decode(r.output);
    ASSERT_EQ(back.type(), CV_8UC3);
    const cv::Scalar mean = cv::mean(back);
    EXPECT_NEAR(mean[0], 200, 2);
    EXPECT_NEAR(mean[1], 100, 2);
    EXPECT_NEAR(mean[2], 50, 2);
}

TEST(ImgprocSave, FormatsWithoutAlphaBlendOverBackground) {
    // Left half transparent black, right half opaque red.
    cv::Mat in(32, 64, CV_8UC4, cv::Scalar(0, 0, 0, 0));
    in.colRange(32, 64).setTo(cv::Scalar(0, 0, 255, 255));
    StageResult r = save("{format: jpg, quality: 100}", in);
    cv::Mat back = decode(r.output);
    ASSERT_EQ(back.type(), CV_8UC3);
    EXPECT_LE(cv::norm(back.at<cv::Vec3b>(16, 8), cv::Vec3b(255, 255, 255), cv::NORM_INF), 3);
    EXPECT_LE(cv::norm(back.at<cv::Vec3b>(16, 56), cv::Vec3b(0, 0, 255), cv::NORM_INF), 3);

    r = save("{format: bmp, background: black}", in);
    ASSERT_TRUE(is_bmp(r.output));
    back = decode(r.output);
    ASSERT_EQ(back.type(), CV_8UC3);
    EXPECT_EQ(back.at<cv::Vec3b>(16, 8), cv::Vec3b(0, 0, 0));
    EXPECT_EQ(back.at<cv::Vec3b>(16, 56), cv::Vec3b(0, 0, 255));

    // Half transparency blends: 50% red over white.
    const cv::Mat half(4, 4, CV_8UC4, cv::Scalar(0, 0, 255, 128));
    back = decode(save("{format: bmp}", half).output);
    const cv::Vec3b blended = back.at<cv::Vec3b>(1, 1);
    EXPECT_NEAR(blended[0], 127, 1);
    EXPECT_NEAR(blended[2], 255, 1);
}

TEST(ImgprocSave, WebpKeepsAlphaAndHonoursQuality) {
    cv::Mat in = gradient(64, 64);
    cv::Mat with_alpha;
    cv::cvtColor(in, with_alpha, cv::COLOR_BGR2BGRA);
    with_alpha.colRange(0, 32).setTo(cv::Scalar(0, 0, 0, 0));
    StageResult r = save("{format: webp, quality: 90}", with_alpha);
    ASSERT_TRUE(is_webp(r.output));
    const cv::Mat back = decode(r.output);
    ASSERT_EQ(back.channels(), 4);
    EXPECT_EQ(back.at<cv::Vec4b>(10, 10)[3], 0);
    EXPECT_EQ(back.at<cv::Vec4b>(10, 50)[3], 255);
    const cv::Mat noisy = noise(64, 64, CV_8UC3);
    EXPECT_LT(save("{format: webp, quality: 10}", noisy).output.size(),
              save("{format: webp, quality: 95}", noisy).output.size());
    // 16-bit input is written as 8-bit.
    EXPECT_EQ(decode(save("{format: webp}", cv::Mat(8, 8, CV_16UC3, cv::Scalar::all(65535))).output).depth(), CV_8U);
}

TEST(ImgprocSave, TiffKeepsSixteenBitAndAlpha) {
    const cv::Mat in = noise(20, 10, CV_16UC4);
    StageResult r = save("{format: tiff}", in);
    ASSERT_TRUE(is_tiff(r.output));
    const cv::Mat back = decode(r.output);
    ASSERT_EQ(back.type(), CV_16UC4);
    EXPECT_EQ(cv::norm(back, in, cv::NORM_INF), 0);
}

TEST(ImgprocSave, BmpIsEightBit) {
    const cv::Mat in(8, 8, CV_16UC1, cv::Scalar(100 * 257));
    const cv::Mat back = decode(save("{format: bmp}", in).output);
    ASSERT_EQ(back.depth(), CV_8U);
    EXPECT_EQ(back.at<uint8_t>(3, 3), 100);
}

// ---------------------------------------------------------------- auto

TEST(ImgprocSave, AutoUsesTheInputsExtension) {
    const cv::Mat in = gradient(16, 16);
    EXPECT_TRUE(is_jpeg(save("", in, "/photos/holiday.JPG").output));
    EXPECT_TRUE(is_jpeg(save("{format: auto}", in, "a/b.jpeg").output));
    EXPECT_TRUE(is_png(save("", in, "scan.png").output));
    EXPECT_TRUE(is_webp(save("", in, "x.webp").output));
    const StageResult tif = save("", cv::Mat(4, 4, CV_16UC1, cv::Scalar(1234)), "scan.tif");
    ASSERT_TRUE(is_tiff(tif.output));
    EXPECT_EQ(decode(tif.output).type(), CV_16UC1);
    // The metrics describe what was written.
    EXPECT_EQ(tif.metrics["width"], 4);
    EXPECT_EQ(tif.metrics["bytes"], tif.output.size());
}

TEST(ImgprocSave, AutoWithAnUnwritableExtensionIsAJobError) {
    StageResult r = run_stage("save", "", gradient(8, 8), "imgproc", "anim.gif");
    EXPECT_NE(r.error.find(".gif"), std::string::npos) << r.error;
    EXPECT_TRUE(r.output.empty());
    r = run_stage("save", "", gradient(8, 8), "imgproc", "README");
    EXPECT_NE(r.error.find("no extension"), std::string::npos) << r.error;
    // An explicit format does not care about the input's name.
    EXPECT_TRUE(is_png(save("{format: png}", gradient(8, 8), "anim.gif").output));
}

// ---------------------------------------------------------------- parameters

TEST(ImgprocSave, JpgOptimizeAndSubsamplingAreHonoured) {
    cv::Mat image(64, 96, CV_8UC3);
    cv::randu(image, 0, 255);
    const StageResult plain = save("{format: jpg}", image);
    const StageResult optimized = save("{format: jpg, optimize: true}", image);
    EXPECT_LT(optimized.output.size(), plain.output.size());
    EXPECT_EQ(cv::norm(decode(plain.output), decode(optimized.output), cv::NORM_INF), 0);
    const StageResult full_colour = save("{format: jpg, subsampling: \"444\"}", image);
    EXPECT_GT(full_colour.output.size(), plain.output.size()); // twice the chroma samples
    std::vector<uint8_t> expected;
    ASSERT_TRUE(cv::imencode(".jpg", image, expected, {cv::IMWRITE_JPEG_QUALITY, 90}));
    EXPECT_EQ(plain.output, expected) << "the defaults write what OpenCV writes";
}

TEST(ImgprocSave, AvifIsWrittenWithAlphaAndLosslessOnRequest) {
    cv::Mat image(40, 56, CV_8UC4, cv::Scalar(40, 160, 220, 255));
    image(cv::Rect(0, 0, 20, 40)).setTo(cv::Scalar(10, 20, 30, 90));
    const StageResult lossy = save("{format: avif, quality: 60}", image);
    EXPECT_TRUE(starts_with(lossy.output, "ftypavif", 4));
    EXPECT_EQ(lossy.metrics["bytes"], lossy.output.size());
    const StageResult lossless = save("{format: avif, lossless: true}", image);
    const cv::Mat back = batchproc::decode_image(lossless.output.data(), lossless.output.size(), {}).pixels;
    ASSERT_EQ(back.type(), CV_8UC4);
    EXPECT_EQ(cv::norm(back, image, cv::NORM_INF), 0);
}

TEST(ImgprocSave, WebpLosslessIsExact) {
    cv::Mat image(30, 40, CV_8UC3);
    cv::randu(image, 0, 255);
    const StageResult r = save("{format: webp, lossless: true}", image);
    EXPECT_EQ(cv::norm(decode(r.output), image, cv::NORM_INF), 0);
}

TEST(ImgprocSave, ValidatesParameters) {
    config_error("{format: png, progressive: true}", "progressive");
    config_error("{format: png, optimize: true}", "optimize");
    config_error("{format: jpg, lossless: true}", "lossless");
    config_error("{subsampling: \"411\"}", "subsampling");
    config_error("{quality: 0}", "quality");
    config_error("{quality: 101}", "quality");
    config_error("{png_compression: 10}", "png_compression");
    const std::string choice = config_error("{format: jpeg}", "format");
    EXPECT_NE(choice.find("did you mean \"jpg\""), std::string::npos) << choice;
    config_error("{background: \"1,2\"}", "background");
    config_error("{quality: high}", "quality");
}

// ---------------------------------------------------------------- docs/stages.md

namespace {

const bp_plugin_descriptor &imgproc_descriptor() {
    static batchproc::PluginRegistry registry({BP_PLUGIN_DIR});
    return *registry.load("imgproc").descriptor;
}

std::string number(double v) {
    char text[64];
    if (v == std::floor(v) && std::fabs(v) < 1e15)
        std::snprintf(text, sizeof text, "%.0f", v);
    else
        std::snprintf(text, sizeof text, "%g", v);
    return text;
}

// The table row docs/stages.md must have for one parameter.
std::string doc_row(const bp_param_schema &s) {
    std::string range = "-";
    if (s.type == BP_PARAM_CHOICE) {
        range.clear();
        for (const char *const *c = s.choices; *c != nullptr; ++c) range += (range.empty() ? "`" : ", `") + std::string(*c) + "`";
    } else if (s.has_range) {
        range = number(s.min_value) + " to " + number(s.max_value);
    }
    // Float defaults are compared by value: the SDK may spell 50 as "5e+01".
    std::string def = "unset";
    if (s.default_value != nullptr)
        def = "`" + (s.type == BP_PARAM_FLOAT ? number(std::strtod(s.default_value, nullptr)) : s.default_value) + "`";
    return "| `" + std::string(s.name) + "` | " + batchproc::param_type_name(s.type) + " | " + def + " | " + range +
           " | " + s.doc + " |";
}

} // namespace

TEST(ImgprocDocs, SaveIsTheOutputStage) {
    const bp_plugin_descriptor &d = imgproc_descriptor();
    for (size_t i = 0; i < d.stage_count; ++i) {
        const bp_stage_descriptor &s = *d.stages[i];
        EXPECT_TRUE(s.flags & BP_STAGE_NEEDS_IMAGE) << s.name;
        if (std::string(s.name) == "save") {
            EXPECT_TRUE(s.flags & BP_STAGE_WRITES_OUTPUT);
            ASSERT_NE(s.extension_param, nullptr);
            EXPECT_STREQ(s.extension_param, "format");
        } else {
            EXPECT_FALSE(s.flags & BP_STAGE_WRITES_OUTPUT) << s.name;
        }
    }
}

TEST(ImgprocDocs, StagesReferenceMatchesTheSchema) {
    std::ifstream file(std::string(BP_SOURCE_DIR) + "/docs/stages.md");
    ASSERT_TRUE(file) << "docs/stages.md is missing";
    std::vector<std::string> headings;
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> docs;
    std::string line;
    bool want_doc = false;
    while (std::getline(file, line)) {
        if (line.rfind("### ", 0) == 0) {
            headings.push_back(line.substr(4));
            rows.emplace_back();
            docs.emplace_back();
            want_doc = true;
        } else if (want_doc && !line.empty()) {
            docs.back() = line;
            want_doc = false;
        } else if (!rows.empty() && line.rfind("| `", 0) == 0) {
            rows.back().push_back(line);
        }
    }

    const bp_plugin_descriptor &d = imgproc_descriptor();
    std::vector<std::string> names;
    for (size_t i = 0; i < d.stage_count; ++i) names.emplace_back(d.stages[i]->name);
    ASSERT_EQ(headings, names) << "docs/stages.md needs one '### name' section per stage, in plugin order";
    for (size_t i = 0; i < d.stage_count; ++i) {
        const bp_stage_descriptor &s = *d.stages[i];
        EXPECT_EQ(docs[i], s.doc) << "the line after '### " << s.name << "' must be the stage's doc";
        std::vector<std::string> expected;
        for (size_t p = 0; p < s.param_count; ++p) expected.push_back(doc_row(*s.params[p]));
        EXPECT_EQ(rows[i], expected) << "parameter table of " << s.name;
    }
}
