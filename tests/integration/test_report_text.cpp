// File names need not be UTF-8 and a result need not fit a shared-memory slot: the report is
// still written, valid, lossless and the same in every mode.
#include "engine/utf8_text.hpp"
#include "support/image_bytes.hpp"
#include "support/run_helpers.hpp"

#include <gtest/gtest.h>
#include <opencv2/core.hpp>

#include <fstream>

namespace fs = std::filesystem;
using namespace batchproc::test;

namespace {

// A relative path of about 1 KiB in non-ASCII characters (each component under NAME_MAX).
std::string long_non_ascii_path() {
    std::string component;
    for (int i = 0; i < 100; ++i) component += "\xc3\xa9"; // é
    std::string path;
    for (int level = 0; level < 5; ++level) path += component + "/";
    return path + "\xe6\x97\xa5\xe6\x9c\xac.jpg"; // 日本.jpg
}

class ReportText : public ::testing::TestWithParam<std::string> {};

} // namespace

TEST_P(ReportText, OddNamesAndBigResultsGiveAValidLosslessReport) {
    TempDir dir("bp-text");
    const std::vector<uint8_t> photo = encode_image(".jpg", cv::Mat(40, 60, CV_8UC3, cv::Scalar(10, 200, 90)));
    const std::string latin1 = "caf\xe9.jpg";
    const std::string broken = "bad\xff\xfe.jpg";
    write_bytes(dir / "in" / latin1, photo);
    write_bytes(dir / "in" / long_non_ascii_path(), photo);
    write_text(dir / "in" / broken, "not an image");
    write_bytes(dir / "in/plain.jpg", photo);

    std::string pipeline = "  - resize: {max_side: 20}\n";
    for (int i = 0; i < 20; ++i) pipeline += "  - mark: {pad_bytes: " + std::string(i == 19 ? "10000" : "1") + "}\n";
    pipeline += "  - save: {format: png}\n";
    const fs::path config = dir / "config.yaml";
    write_text(config, "plugins: [imgproc, " + yaml_quote(faults_plugin_path()) + "]\n"
                       "input: {paths: [in]}\n"
                       "output: {dir: out}\n"
                       "pool: {mode: " + GetParam() + ", workers: 2, oversubscribe: true}\n"
                       "report: report.json\n"
                       "pipeline:\n" + pipeline);
    const RunOutcome r = run_batchproc(config, {}, dir.path());
    ASSERT_TRUE(r.finished) << r.err;
    EXPECT_EQ(r.exit_code, 1) << r.err; // the broken file fails; the others are ok
    const nlohmann::json report = read_json(dir / "report.json");
    ASSERT_EQ(report.at("jobs").size(), 4u);
    EXPECT_EQ(report.at("summary").at("ok"), 3);
    EXPECT_EQ(report.at("summary").at("failed"), 1);

    std::map<std::string, nlohmann::json> by_raw_input; // the exact bytes of each input path
    for (const nlohmann::json &j : report.at("jobs")) {
        const std::string shown = j.at("input").get<std::string>();
        std::string raw = j.contains("input_bytes") ? batchproc::base64_decode(j.at("input_bytes").get<std::string>())
                                                    : shown;
        raw = fs::path(raw).lexically_relative(dir.path()).string(); // the inputs are shown absolute
        by_raw_input[raw] = j;
        if (j.at("status") == "ok") {
            const std::string out = j.contains("output_bytes")
                                        ? batchproc::base64_decode(j.at("output_bytes").get<std::string>())
                                        : j.at("output").get<std::string>();
            EXPECT_TRUE(fs::exists(fs::path(out).is_absolute() ? fs::path(out) : fs::current_path() / out)) << out;
            EXPECT_EQ(j.at("metrics").at("pad").get<std::string>().size(), 10000u) << "metrics are never cut";
        }
    }
    const auto &latin = by_raw_input.at("in/" + latin1);
    EXPECT_EQ(latin.at("input").get<std::string>(), (dir / "in").string() + "/caf\\xe9.jpg");
    EXPECT_EQ(latin.at("status"), "ok");
    EXPECT_TRUE(fs::exists(dir / "out" / "caf\xe9.png"));
    EXPECT_EQ(by_raw_input.at("in/" + long_non_ascii_path()).at("status"), "ok");
    EXPECT_TRUE(fs::exists(dir / "out" / fs::path(long_non_ascii_path()).replace_extension(".png")));
    const auto &bad = by_raw_input.at("in/" + broken);
    EXPECT_EQ(bad.at("status"), "failed");
    EXPECT_TRUE(bad.at("error").is_string());
    EXPECT_EQ(by_raw_input.at("in/plain.jpg").count("input_bytes"), 0u) << "UTF-8 paths have no raw copy";
}

INSTANTIATE_TEST_SUITE_P(Modes, ReportText, ::testing::Values("serial", "threads", "processes"),
                         [](const ::testing::TestParamInfo<std::string> &p) { return p.param; });
