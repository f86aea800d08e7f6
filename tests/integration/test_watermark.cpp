// Watermarks as a user runs them: a config with a logo (a PNG with alpha next to the config,
// named relatively) and a line of text in several scripts, on a large and a small photo.
// The outputs differ from the inputs only where the marks go, and the marks scale with the
// photo. A missing logo is a config error naming it.
#include "support/image_bytes.hpp"
#include "support/run_helpers.hpp"

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace batchproc::test;

namespace {

// "© 2026 Zoë — 写真": DejaVu Sans, the default font, has no CJK glyphs.
const std::string kText = "\xc2\xa9 2026 Zo\xc3\xab \xe2\x80\x94 \xe5\x86\x99\xe7\x9c\x9f";

// The bounding box of the pixels where a and b differ inside `area` (empty if none).
cv::Rect changed_in(const cv::Mat &a, const cv::Mat &b, const cv::Rect &area) {
    cv::Mat diff;
    cv::absdiff(a(area), b(area), diff);
    cv::Mat gray;
    cv::extractChannel(diff, gray, 0);
    for (int c = 1; c < diff.channels(); ++c) {
        cv::Mat plane;
        cv::extractChannel(diff, plane, c);
        cv::max(gray, plane, gray);
    }
    std::vector<cv::Point> points;
    cv::findNonZero(gray, points);
    if (points.empty()) return {};
    const cv::Rect r = cv::boundingRect(points);
    return r + area.tl();
}

class Watermark : public ::testing::Test {
protected:
    void SetUp() override {
        // Noise photos, lossless, so that every unchanged pixel compares equal.
        fs::create_directories(dir_ / "in");
        large_ = random_pixels(2000, 1500, CV_8UC3, 1);
        small_ = random_pixels(200, 150, CV_8UC3, 2);
        write_bytes(dir_ / "in/large.png", encode_image(".png", large_));
        write_bytes(dir_ / "in/small.png", encode_image(".png", small_));
        // A 60x30 logo: an opaque blue bar with a 5-pixel transparent border.
        cv::Mat logo(30, 60, CV_8UC4, cv::Scalar(0, 0, 0, 0));
        logo(cv::Rect(5, 5, 50, 20)).setTo(cv::Scalar(255, 0, 0, 255));
        write_bytes(dir_ / "logo.png", encode_image(".png", logo));
    }

    fs::path config(const std::string &name, const std::string &pipeline) {
        const fs::path path = dir_ / name;
        write_text(path, "plugins: [imgproc]\n"
                         "input: {paths: [in]}\n"
                         "output: {dir: out}\n"
                         "pool: {mode: processes, workers: 2}\n"
                         "journal: false\n"
                         "report: out/report.json\n"
                         "pipeline:\n" +
                             pipeline + "  - save: {format: png}\n");
        return path;
    }

    TempDir dir_{"bp-watermark"};
    cv::Mat large_, small_;
};

} // namespace

TEST_F(Watermark, TextAndLogoLandInTheirCornersAndScaleWithThePhoto) {
    const fs::path c = config("marks.yaml", "  - watermark: {image: logo.png, width: 15%, gravity: top_left, opacity: 1}\n"
                                            "  - watermark: {text: " + yaml_quote(kText) +
                                                ", size: 5%, gravity: bottom_right, opacity: 1}\n");
    const RunOutcome run = run_batchproc(c, {}, dir_.path());
    ASSERT_EQ(run.exit_code, 0) << run.out << run.err;

    // Each job is ok, with a warning naming the characters the default font lacks.
    const nlohmann::json report = read_json(dir_ / "out/report.json");
    ASSERT_EQ(report["jobs"].size(), 2u);
    for (const auto &job : report["jobs"]) {
        EXPECT_EQ(job["status"], "ok") << job.dump();
        ASSERT_EQ(job["warnings"].size(), 1u) << job.dump();
        const std::string warning = job["warnings"][0];
        EXPECT_NE(warning.find("U+5199"), std::string::npos) << warning;
        EXPECT_NE(warning.find("U+771F"), std::string::npos) << warning;
    }

    struct Marks {
        cv::Rect logo, text;
    };
    const auto marks_of = [&](const cv::Mat &in, const std::string &name) {
        const cv::Mat out = cv::imread((dir_ / "out" / name).string(), cv::IMREAD_UNCHANGED);
        EXPECT_EQ(out.size(), in.size());
        EXPECT_EQ(out.type(), in.type());
        const int w = in.cols, h = in.rows;
        Marks m;
        m.logo = changed_in(in, out, cv::Rect(0, 0, w / 2, h / 2));
        m.text = changed_in(in, out, cv::Rect(w / 2, h / 2, w - w / 2, h - h / 2));
        // Nothing else changed: the other two quarters are the input's pixels.
        EXPECT_TRUE(changed_in(in, out, cv::Rect(w / 2, 0, w - w / 2, h / 2)).empty()) << name;
        EXPECT_TRUE(changed_in(in, out, cv::Rect(0, h / 2, w / 2, h - h / 2)).empty()) << name;
        // The logo is opaque blue where its bar is.
        const cv::Point centre(m.logo.x + m.logo.width / 2, m.logo.y + m.logo.height / 2);
        EXPECT_EQ(out.at<cv::Vec3b>(centre), cv::Vec3b(255, 0, 0)) << name;
        return m;
    };
    const Marks big = marks_of(large_, "large.png");
    const Marks little = marks_of(small_, "small.png");

    // 2000 x 1500: margin 2% of 1500 = 30; the logo 15% of 2000 = 300 x 150, its bar the
    // middle 250 x 100 (the transparent border changes nothing).
    EXPECT_NEAR(big.logo.x, 30 + 25, 3);
    EXPECT_NEAR(big.logo.y, 30 + 25, 3);
    EXPECT_NEAR(big.logo.width, 250, 6);
    EXPECT_NEAR(big.logo.height, 100, 6);
    // The text's ink ends at the margin in the bottom-right corner.
    ASSERT_FALSE(big.text.empty());
    EXPECT_NEAR(big.text.x + big.text.width, 2000 - 30, 1);
    EXPECT_NEAR(big.text.y + big.text.height, 1500 - 30, 1);
    // Font size 5% of 1500 = 75 pixels: the line's ink is most of that high.
    EXPECT_GT(big.text.height, 50);
    EXPECT_LT(big.text.height, 80);

    // 200 x 150: everything a tenth, within the rounding of small sizes.
    EXPECT_NEAR(little.logo.x, 3 + 2.5, 2);
    EXPECT_NEAR(little.logo.width, 25, 3);
    ASSERT_FALSE(little.text.empty());
    EXPECT_NEAR(little.text.x + little.text.width, 200 - 3, 1);
    EXPECT_NEAR(little.text.y + little.text.height, 150 - 3, 1);
    EXPECT_NEAR(double(big.text.width) / little.text.width, 10, 2);
    EXPECT_NEAR(double(big.text.height) / little.text.height, 10, 2.5);
    EXPECT_NEAR(double(big.logo.width) / little.logo.width, 10, 1.5);
}

TEST_F(Watermark, TextIsNeverCutOffOnSmallOutputs) {
    // Text asked to be as tall as the image: shrunk until it fits inside the margins.
    const fs::path c = config("fit.yaml", "  - watermark: {text: \"batchproc watermark\", size: 100%, margin: 4, "
                                          "opacity: 1, gravity: center}\n");
    const RunOutcome run = run_batchproc(c, {}, dir_.path());
    ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
    const cv::Mat out = cv::imread((dir_ / "out/small.png").string(), cv::IMREAD_UNCHANGED);
    const cv::Rect all = changed_in(small_, out, cv::Rect(0, 0, 200, 150));
    ASSERT_FALSE(all.empty());
    EXPECT_GE(all.x, 4);
    EXPECT_GE(all.y, 4);
    EXPECT_LE(all.x + all.width, 196);
    EXPECT_LE(all.y + all.height, 146);
    EXPECT_GT(all.width, 150); // as large as fits, not a token size
    const nlohmann::json report = read_json(dir_ / "out/report.json");
    for (const auto &job : report["jobs"]) EXPECT_FALSE(job.contains("warnings") && !job["warnings"].empty()) << job.dump();
}

TEST_F(Watermark, AMissingLogoIsAConfigErrorNamingIt) {
    const fs::path c = config("missing.yaml", "  - watermark: {image: no-such-logo.png, width: 15%}\n");
    const RunOutcome run = run_batchproc(c, {}, dir_.path());
    EXPECT_EQ(run.exit_code, 2) << run.out << run.err;
    EXPECT_NE(run.err.find("pipeline[0].watermark.image"), std::string::npos) << run.err;
    EXPECT_NE(run.err.find((dir_ / "no-such-logo.png").string()), std::string::npos) << run.err;
    EXPECT_NE(run.err.find("does not exist"), std::string::npos) << run.err;
    EXPECT_FALSE(fs::exists(dir_ / "out/small.png"));
}

// The logo is part of the recipe by its bytes: replacing it under the same name redoes the
// jobs on the next run, and an untouched logo lets them be skipped.
TEST_F(Watermark, ARerunRedoesTheJobsWhenTheLogoFileIsReplaced) {
    const fs::path c = dir_ / "resume.yaml";
    write_text(c, "plugins: [imgproc]\ninput: {paths: [in]}\noutput: {dir: out}\nreport: out/report.json\n"
                  "pipeline:\n  - watermark: {image: logo.png, width: 15%}\n  - save: {format: png}\n");
    ASSERT_EQ(run_batchproc(c, {"-q"}, dir_.path()).exit_code, 0);
    ASSERT_EQ(run_batchproc(c, {"-q"}, dir_.path()).exit_code, 0);
    EXPECT_EQ(read_json(dir_ / "out/report.json")["summary"]["unchanged"], 2);
    write_bytes(dir_ / "logo.png", encode_image(".png", cv::Mat(30, 60, CV_8UC4, cv::Scalar(0, 255, 0, 255))));
    ASSERT_EQ(run_batchproc(c, {"-q"}, dir_.path()).exit_code, 0);
    const nlohmann::json report = read_json(dir_ / "out/report.json");
    EXPECT_EQ(report["summary"]["ok"], 2) << report["summary"].dump();
    EXPECT_EQ(report["summary"]["unchanged"], 0) << report["summary"].dump();
}
