// Shrink-on-load: when the pipeline starts with a downscale, JPEGs are decoded at 1/2, 1/4
// or 1/8 scale and finished with the exact resize. Output sizes stay exact and the pixels
// stay within 35 dB PSNR of the full decode path.
#include "support/run_helpers.hpp"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace fs = std::filesystem;
using namespace batchproc::test;

namespace {

// A large photo-like JPEG: a sample photo enlarged, at an awkward size (not a multiple of 8).
void make_large_jpeg(const fs::path &path, int width, int height) {
    cv::Mat src = cv::imread((fs::path(BP_SOURCE_DIR) / "samples/images/ladybird.jpg").string(), cv::IMREAD_COLOR);
    cv::Mat big;
    cv::resize(src, big, cv::Size(width, height), 0, 0, cv::INTER_CUBIC);
    ASSERT_TRUE(cv::imwrite(path.string(), big, {cv::IMWRITE_JPEG_QUALITY, 92}));
}

nlohmann::json run_resize(const fs::path &dir, const std::string &tag, bool shrink, const std::string &resize) {
    const fs::path config = dir / (tag + ".yaml");
    write_text(config, "plugins: [imgproc]\n"
                       "input: {paths: [in], shrink_on_load: " + std::string(shrink ? "true" : "false") + "}\n"
                       "output: {dir: " + tag + "}\n"
                       "pool: {mode: serial}\n"
                       "report: " + tag + "/report.json\n"
                       "pipeline:\n"
                       "  - resize: " + resize + "\n"
                       "  - save: {format: png}\n");
    const RunOutcome run = run_batchproc(config, {}, dir);
    EXPECT_EQ(run.exit_code, 0) << run.err;
    return read_json(dir / tag / "report.json");
}

} // namespace

TEST(ShrinkOnLoad, ExactSizesAndPixelsCloseToTheFullDecode) {
    TempDir dir("bp-shrink");
    fs::create_directories(dir / "in");
    make_large_jpeg(dir / "in" / "wide.jpg", 3000, 2000);
    make_large_jpeg(dir / "in" / "tall.jpg", 1200, 2400);
    // Sides that 2 does not divide: never decoded at reduced scale.
    make_large_jpeg(dir / "in" / "odd.jpg", 2001, 1333);

    struct Case {
        std::string resize;
        std::string scale; // expected decode_scale of wide.jpg ("" = full decode)
    };
    const std::vector<Case> cases{{"{max_side: 256, interpolation: area}", "1/4"}, // 750 >= 2 x 256 > 375
                                  {"{max_side: 150, interpolation: area}", "1/8"}, // 375 >= 2 x 150,
                                  {"{width: 700, interpolation: area}", "1/2"},
                                  {"{scale: 0.2, interpolation: linear}", "1/2"},
                                  {"{max_side: 2000}", ""},
                                  // cover and outside resample to the larger scale (225x150, 240x160),
                                  // so 1/4 (750 >= 2 x 225) where inside would allow 1/8.
                                  {"{width: 150, height: 150, fit: cover, gravity: entropy}", "1/4"},
                                  {"{width: 150, height: 150, fit: cover, gravity: attention}", "1/4"},
                                  {"{width: 160, height: 160, fit: outside}", "1/4"}};
    int n = 0;
    for (const Case &c : cases) {
        SCOPED_TRACE(c.resize);
        const std::string tag = "case" + std::to_string(++n);
        const nlohmann::json fast = run_resize(dir.path(), tag + "_shrink", true, c.resize);
        const nlohmann::json full = run_resize(dir.path(), tag + "_full", false, c.resize);
        ASSERT_EQ(fast["jobs"].size(), 3u);
        for (size_t i = 0; i < 3; ++i) {
            const auto &a = fast["jobs"][i];
            const auto &b = full["jobs"][i];
            SCOPED_TRACE(a["input"].get<std::string>());
            EXPECT_FALSE(b["metrics"].contains("decode_scale")); // shrink_on_load: false
            EXPECT_EQ(a["metrics"]["width"], b["metrics"]["width"]);
            EXPECT_EQ(a["metrics"]["height"], b["metrics"]["height"]);
            const cv::Mat x = cv::imread((dir / (tag + "_shrink") / fs::path(a["input"].get<std::string>()).stem())
                                             .string() + ".png");
            const cv::Mat y = cv::imread((dir / (tag + "_full") / fs::path(b["input"].get<std::string>()).stem())
                                             .string() + ".png");
            ASSERT_FALSE(x.empty());
            ASSERT_EQ(x.size(), y.size());
            EXPECT_GT(cv::PSNR(x, y), 35.0);
        }
        EXPECT_FALSE(fast["jobs"][0]["metrics"].contains("decode_scale")); // odd.jpg
        const auto &wide = fast["jobs"][2]; // sorted: odd.jpg, tall.jpg, wide.jpg
        if (c.scale.empty()) EXPECT_FALSE(wide["metrics"].contains("decode_scale"));
        else EXPECT_EQ(wide["metrics"].value("decode_scale", ""), c.scale);
    }
}

TEST(ShrinkOnLoad, OnlyWhenTheFirstStageDownscales) {
    TempDir dir("bp-shrink-first");
    fs::create_directories(dir / "in");
    make_large_jpeg(dir / "in" / "a.jpg", 1600, 1200);
    const fs::path config = dir / "c.yaml";
    write_text(config, "plugins: [imgproc]\n"
                       "input: {paths: [in]}\n"
                       "output: {dir: out}\n"
                       "pool: {mode: serial}\n"
                       "report: out/report.json\n"
                       "pipeline:\n"
                       "  - flip: {}\n"
                       "  - resize: {max_side: 100}\n"
                       "  - save: {format: png}\n");
    const RunOutcome run = run_batchproc(config, {}, dir.path());
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const nlohmann::json r = read_json(dir / "out" / "report.json");
    EXPECT_FALSE(r["jobs"][0]["metrics"].contains("decode_scale"));
    EXPECT_EQ(r["jobs"][0]["metrics"]["width"], 100);
    EXPECT_EQ(r["jobs"][0]["metrics"]["height"], 75);
}
