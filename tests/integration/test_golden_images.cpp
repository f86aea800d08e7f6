// End-to-end golden run of configs/images.yaml, the README's main job: every sample gives
// a thumbnail of the recorded size, whose pixels match an independent OpenCV computation.
#include "support/run_helpers.hpp"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>

namespace fs = std::filesystem;
using namespace batchproc::test;

namespace {

// The sample as a person sees it: EXIF orientation applied, alpha flattened onto white.
cv::Mat reference_source(const fs::path &path) {
    cv::Mat raw = cv::imread(path.string(), cv::IMREAD_UNCHANGED);
    if (raw.channels() == 4) {
        cv::Mat out(raw.size(), CV_8UC3);
        for (int y = 0; y < raw.rows; ++y)
            for (int x = 0; x < raw.cols; ++x) {
                const cv::Vec4b p = raw.at<cv::Vec4b>(y, x);
                const double a = p[3] / 255.0;
                for (int c = 0; c < 3; ++c)
                    out.at<cv::Vec3b>(y, x)[c] = cv::saturate_cast<uchar>(p[c] * a + 255.0 * (1 - a));
            }
        return out;
    }
    return cv::imread(path.string(), cv::IMREAD_COLOR);
}

} // namespace

TEST(GoldenImages, ConfigImagesYamlMakesTheRecordedThumbnails) {
    TempDir dir("bp-golden");
    const fs::path out = dir / "thumbnails";
    const fs::path report_path = dir / "report.json";
    const RunOutcome run = run_batchproc(fs::path(BP_SOURCE_DIR) / "configs/images.yaml",
                                         {"--set", "output.dir=" + out.string(), "--report", report_path.string()},
                                         dir.path());
    ASSERT_TRUE(run.finished) << run.err;
    ASSERT_EQ(run.exit_code, 0) << run.err;

    const nlohmann::json golden = read_json(fs::path(BP_SOURCE_DIR) / "tests/integration/golden/images.json");
    const nlohmann::json report = read_json(report_path);
    EXPECT_EQ(check_invariants(report), "");
    EXPECT_EQ(report["summary"]["mode"], "processes");
    EXPECT_EQ(report["summary"]["start_method"], "forkserver");
    ASSERT_EQ(report["jobs"].size(), golden["jobs"].size());

    for (size_t i = 0; i < golden["jobs"].size(); ++i) {
        const nlohmann::json &want = golden["jobs"][i];
        const nlohmann::json &got = report["jobs"][i];
        const std::string rel = want["input"].get<std::string>();
        SCOPED_TRACE(rel);
        EXPECT_NE(got["input"].get<std::string>().find(rel), std::string::npos) << got["input"];
        EXPECT_EQ(got["status"], "ok");
        EXPECT_EQ(got["metrics"]["width"], want["width"]);
        EXPECT_EQ(got["metrics"]["height"], want["height"]);

        const fs::path written = out / want["output"].get<std::string>();
        ASSERT_TRUE(fs::exists(written)) << written;
        const cv::Mat thumb = cv::imread(written.string(), cv::IMREAD_UNCHANGED);
        ASSERT_FALSE(thumb.empty());
        EXPECT_EQ(thumb.cols, want["width"].get<int>());
        EXPECT_EQ(thumb.rows, want["height"].get<int>());

        // Independent expectation: full decode, INTER_AREA to the same size, 3x3 blur.
        cv::Mat src = reference_source(fs::path(BP_SOURCE_DIR) / "samples/images" / rel);
        if (thumb.channels() == 1 && src.channels() == 3) cv::cvtColor(src, src, cv::COLOR_BGR2GRAY);
        cv::Mat expected;
        cv::resize(src, expected, thumb.size(), 0, 0, cv::INTER_AREA);
        cv::GaussianBlur(expected, expected, cv::Size(3, 3), 0);
        ASSERT_EQ(expected.type(), thumb.type());
        EXPECT_GT(cv::PSNR(expected, thumb), 30.0);
    }
}
