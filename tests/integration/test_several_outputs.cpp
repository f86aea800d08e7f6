// Several outputs per input, one decode: each save writes the image as it is at that point,
// to its own name; the plan, the report and the journal know every output.
#include "support/image_bytes.hpp"
#include "support/run_helpers.hpp"

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

namespace fs = std::filesystem;
using namespace batchproc::test;

namespace {

class SeveralOutputs : public ::testing::Test {
protected:
    TempDir dir{"bp-outputs"};

    void SetUp() override {
        // A landscape and a portrait photo, one in a subfolder.
        write_bytes(dir / "photos/wide.jpg", encode_image(".jpg", cv::Mat(600, 900, CV_8UC3, cv::Scalar(40, 90, 160))));
        write_bytes(dir / "photos/sub/tall.png", encode_image(".png", cv::Mat(900, 600, CV_8UC3, cv::Scalar(200, 30, 60))));
    }
    fs::path config(const std::string &pipeline, const std::string &plugins = "[imgproc]") {
        const fs::path c = dir / "gallery.yaml";
        write_text(c, "plugins: " + plugins + "\ninput: {paths: [photos], recursive: true}\n"
                      "output: {dir: out}\nreport: out/report.json\npool: {workers: 2}\npipeline:\n" + pipeline);
        return c;
    }
    // A report path relative to the test's folder (reports show paths from the current one).
    std::string rel(const nlohmann::json &path) const {
        return fs::path(path.get<std::string>()).lexically_relative(dir.path()).generic_string();
    }
    static const char *gallery() {
        return "  - resize: {width: 600}\n"
               "  - save: {format: webp, quality: 80, name: \"web/{rel_dir}/{stem}.webp\"}\n"
               "  - resize: {width: 300}\n"
               "  - save: {format: jpg, name: \"srcset/{rel_dir}/{stem}-300w.jpg\"}\n"
               "  - resize: {width: 100}\n"
               "  - save: {format: png}\n";
    }
};

cv::Size size_of(const fs::path &p) {
    const cv::Mat m = cv::imread(p.string(), cv::IMREAD_UNCHANGED);
    return m.empty() ? cv::Size() : m.size();
}

} // namespace

TEST_F(SeveralOutputs, EachSaveWritesTheImageAsItIsThenToItsOwnName) {
    const RunOutcome r = run_batchproc(config(gallery()), {"-q"}, dir.path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(size_of(dir / "out/web/wide.webp"), cv::Size(600, 400));
    EXPECT_EQ(size_of(dir / "out/web/sub/tall.webp"), cv::Size(600, 900)); // never enlarged
    EXPECT_EQ(size_of(dir / "out/srcset/wide-300w.jpg"), cv::Size(300, 200));
    EXPECT_EQ(size_of(dir / "out/srcset/sub/tall-300w.jpg"), cv::Size(300, 450));
    // The last save has no name: output.name's default, with its own format.
    EXPECT_EQ(size_of(dir / "out/wide.png"), cv::Size(100, 67));
    EXPECT_EQ(size_of(dir / "out/sub/tall.png"), cv::Size(100, 150));

    const nlohmann::json report = read_json(dir / "out/report.json");
    ASSERT_EQ(report["jobs"].size(), 2u);
    for (const nlohmann::json &job : report["jobs"]) {
        ASSERT_EQ(job["status"], "ok") << job.dump();
        ASSERT_EQ(job["outputs"].size(), 3u) << job.dump();
        EXPECT_EQ(job["output"], job["outputs"][0]["path"]);
        for (const nlohmann::json &o : job["outputs"]) {
            EXPECT_TRUE(fs::exists(dir / rel(o["path"]))) << o.dump();
            EXPECT_EQ(o["bytes"].get<uint64_t>(), fs::file_size(dir / rel(o["path"]))) << o.dump();
        }
    }
    const nlohmann::json &wide = rel(report["jobs"][0]["input"]) == "photos/wide.jpg" ? report["jobs"][0] : report["jobs"][1];
    EXPECT_EQ(rel(wide["outputs"][1]["path"]), "out/srcset/wide-300w.jpg");
    EXPECT_EQ(wide["outputs"][1]["width"], 300);
    EXPECT_EQ(wide["outputs"][1]["height"], 200);
}

TEST_F(SeveralOutputs, TwoOutputsOnOnePathAreAConfigErrorBeforeAnythingRuns) {
    const RunOutcome r = run_batchproc(config("  - save: {format: jpg}\n  - resize: {width: 10}\n  - save: {format: jpg}\n"),
                                       {"-q"}, dir.path());
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("two outputs of"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("pipeline[0].save and pipeline[2].save"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir / "out/wide.jpg")) << "nothing may run before the plan is checked";
    // A fixed name in one stage is the same file for every photo.
    const RunOutcome fixed = run_batchproc(config("  - save: {format: jpg, name: cover.jpg}\n"), {"-q"}, dir.path());
    EXPECT_EQ(fixed.exit_code, 2) << fixed.err;
    EXPECT_NE(fixed.err.find("both map to output"), std::string::npos) << fixed.err;
}

TEST_F(SeveralOutputs, AJobIsOkOnlyWhenAllItsOutputsAreWritten) {
    // The second save fails on the portrait photo (a stage between the saves fails it).
    const std::string pipeline = "  - save: {format: jpg, name: \"a/{stem}.jpg\"}\n"
                                 "  - fault: {action: throw, on_name: tall}\n"
                                 "  - save: {format: png, name: \"b/{stem}.png\"}\n";
    const RunOutcome r =
        run_batchproc(config(pipeline, "[imgproc, " + yaml_quote(faults_plugin_path()) + "]"), {"-q"}, dir.path());
    EXPECT_EQ(r.exit_code, 1) << r.err;
    const nlohmann::json report = read_json(dir / "out/report.json");
    for (const nlohmann::json &job : report["jobs"]) {
        if (rel(job["input"]) == "photos/sub/tall.png") {
            EXPECT_EQ(job["status"], "failed");
            EXPECT_TRUE(job["output"].is_null());
            EXPECT_FALSE(job.contains("outputs"));
        } else {
            EXPECT_EQ(job["status"], "ok");
        }
    }
    EXPECT_TRUE(fs::exists(dir / "out/b/wide.png"));
    EXPECT_FALSE(fs::exists(dir / "out/b/tall.png"));
}

TEST_F(SeveralOutputs, ARerunSkipsDoneJobsAndRedoesOneWhoseSecondOutputIsGone) {
    const fs::path c = config(gallery());
    ASSERT_EQ(run_batchproc(c, {"-q"}, dir.path()).exit_code, 0);
    fs::remove(dir / "out/srcset/wide-300w.jpg");
    const RunOutcome r = run_batchproc(c, {"-q"}, dir.path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const nlohmann::json report = read_json(dir / "out/report.json");
    for (const nlohmann::json &job : report["jobs"])
        EXPECT_EQ(job["status"], rel(job["input"]) == "photos/wide.jpg" ? "ok" : "unchanged") << job.dump();
    EXPECT_TRUE(fs::exists(dir / "out/srcset/wide-300w.jpg"));
    // An unchanged job still lists every output.
    for (const nlohmann::json &job : report["jobs"]) EXPECT_EQ(job["outputs"].size(), 3u) << job.dump();
}

// configs/gallery.yaml on the bundled samples: seven files per photo, the thumbnails square.
TEST(GalleryConfig, EverySampleGetsItsWebpItsSrcsetAndASquareThumbnail) {
    TempDir dir("bp-gallery");
    const RunOutcome r = run_batchproc(fs::path(BP_SOURCE_DIR) / "configs/gallery.yaml",
                                       {"-q", "--set", "output.dir=" + (dir / "out").string(), "--report",
                                        (dir / "report.json").string()},
                                       dir.path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const nlohmann::json report = read_json(dir / "report.json");
    ASSERT_GE(report["jobs"].size(), 8u);
    for (const nlohmann::json &job : report["jobs"]) {
        ASSERT_EQ(job["status"], "ok") << job.dump();
        ASSERT_EQ(job["outputs"].size(), 7u) << job.dump();
        const nlohmann::json &thumb = job["outputs"][6];
        EXPECT_EQ(thumb["width"], 256) << job.dump();
        EXPECT_EQ(thumb["height"], 256) << job.dump();
        const cv::Mat written = cv::imread(thumb["path"].get<std::string>(), cv::IMREAD_UNCHANGED);
        EXPECT_EQ(written.size(), cv::Size(256, 256)) << thumb.dump();
        // The srcset never grows: each width is at most the one before.
        for (size_t o = 2; o < 6; ++o)
            EXPECT_LE(job["outputs"][o]["width"], job["outputs"][o - 1]["width"]) << job.dump();
    }
}
