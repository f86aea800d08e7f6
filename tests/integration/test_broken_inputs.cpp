// A folder of good images and broken ones: the good ones are written, each broken one
// fails with its reason, the exit code is 1 and no partial file is left.
#include "support/image_bytes.hpp"
#include "support/run_helpers.hpp"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include <cstdint>
#include <fstream>
#include <random>
#include <sstream>

namespace fs = std::filesystem;
using namespace batchproc::test;

namespace {

void put_be32(std::vector<uint8_t> &b, size_t at, uint32_t v) {
    b[at] = uint8_t(v >> 24);
    b[at + 1] = uint8_t(v >> 16);
    b[at + 2] = uint8_t(v >> 8);
    b[at + 3] = uint8_t(v);
}

cv::Mat pattern(int w, int h) {
    cv::Mat m(h, w, CV_8UC3);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) m.at<cv::Vec3b>(y, x) = cv::Vec3b(uchar(x * 3), uchar(y * 5), uchar((x + y) * 2));
    return m;
}

} // namespace

TEST(BrokenInputs, GoodFilesAreWrittenAndEachBrokenOneFailsWithItsReason) {
    TempDir dir("bp-broken");
    const fs::path in = dir / "in";
    fs::create_directories(in);

    write_bytes(in / "good1.jpg", encode_image(".jpg", pattern(120, 80)));
    write_bytes(in / "good2.png", encode_image(".png", pattern(64, 64)));
    write_bytes(in / "empty.jpg", {});
    std::vector<uint8_t> jpeg = encode_image(".jpg", pattern(400, 300));
    jpeg.resize(jpeg.size() / 2);
    write_bytes(in / "truncated.jpg", jpeg);
    write_text(in / "text.jpg", "this is not an image, it is a note someone saved with the wrong name\n");
    std::vector<uint8_t> noise(5000);
    std::mt19937 rng(42);
    for (auto &b : noise) b = uint8_t(rng());
    write_bytes(in / "noise.png", noise);
    // IHDR claims 100000x100000 (with a valid CRC, so only the size is wrong).
    std::vector<uint8_t> huge = encode_image(".png", pattern(16, 16));
    put_be32(huge, 16, 100000);
    put_be32(huge, 20, 100000);
    put_be32(huge, 29, png_crc32(huge.data() + 12, 17));
    write_bytes(in / "huge.png", huge);
    // A PNG with a damaged IDAT (its CRC no longer matches).
    std::vector<uint8_t> bad_crc = encode_image(".png", pattern(32, 32));
    bad_crc[bad_crc.size() - 20] ^= 0xff;
    write_bytes(in / "badcrc.png", bad_crc);

    const fs::path out = dir / "out";
    const fs::path config = dir / "config.yaml";
    write_text(config, "plugins: [imgproc]\n"
                       "input: {paths: [in]}\n"
                       "output: {dir: out}\n"
                       "pool: {mode: processes, workers: 2}\n"
                       "report: out/report.json\n"
                       "pipeline:\n"
                       "  - resize: {max_side: 32}\n"
                       "  - save: {format: png}\n");
    const RunOutcome run = run_batchproc(config, {}, dir.path());
    ASSERT_TRUE(run.finished) << run.err;
    EXPECT_EQ(run.exit_code, 1) << run.err;

    const nlohmann::json report = read_json(out / "report.json");
    EXPECT_EQ(check_invariants(report), "");
    std::map<std::string, nlohmann::json> by_name;
    for (const auto &job : report["jobs"]) by_name[fs::path(job["input"].get<std::string>()).filename().string()] = job;
    ASSERT_EQ(by_name.size(), 8u);

    auto error_of = [&](const std::string &name) {
        const nlohmann::json &j = by_name.at(name);
        EXPECT_EQ(j["status"], "failed") << name;
        return j["error"].is_string() ? j["error"].get<std::string>() : std::string();
    };
    EXPECT_NE(error_of("empty.jpg").find("empty file"), std::string::npos);
    EXPECT_NE(error_of("truncated.jpg").find("truncated JPEG"), std::string::npos);
    EXPECT_NE(error_of("text.jpg").find("not a recognised image"), std::string::npos);
    EXPECT_NE(error_of("noise.png").find("not a recognised image"), std::string::npos);
    const std::string huge_error = error_of("huge.png");
    EXPECT_NE(huge_error.find("100000x100000"), std::string::npos) << huge_error;
    EXPECT_NE(huge_error.find("limit"), std::string::npos) << huge_error;
    const std::string crc_error = error_of("badcrc.png");
    EXPECT_NE(crc_error.find("CRC"), std::string::npos) << crc_error;

    for (const std::string good : {"good1.jpg", "good2.png"}) {
        EXPECT_EQ(by_name.at(good)["status"], "ok") << good;
        const fs::path written = out / (fs::path(good).stem().string() + ".png");
        ASSERT_TRUE(fs::exists(written)) << written;
        const cv::Mat m = cv::imread(written.string(), cv::IMREAD_UNCHANGED);
        ASSERT_FALSE(m.empty());
        EXPECT_EQ(std::max(m.cols, m.rows), 32);
    }
    // Only the two good outputs and the report (and the run journal's folder): no partial
    // file, under any name.
    std::vector<std::string> files;
    for (fs::recursive_directory_iterator it(out), end; it != end; ++it) {
        files.push_back(it->path().filename().string());
        if (it->path().filename() == ".batchproc") it.disable_recursion_pending();
    }
    std::sort(files.begin(), files.end());
    EXPECT_EQ(files, (std::vector<std::string>{".batchproc", "good1.png", "good2.png", "report.json"}));
    // Each failure is named in the log, with its file.
    EXPECT_NE(run.err.find("truncated.jpg"), std::string::npos) << run.err;
}

TEST(BrokenInputs, DamagedPolicyWarnKeepsTheTruncatedImageWithAWarning) {
    TempDir dir("bp-damaged");
    const fs::path in = dir / "in";
    fs::create_directories(in);
    std::vector<uint8_t> jpeg = encode_image(".jpg", pattern(400, 300));
    jpeg.resize(jpeg.size() * 2 / 3);
    write_bytes(in / "truncated.jpg", jpeg);
    const fs::path config = dir / "config.yaml";
    write_text(config, "plugins: [imgproc]\n"
                       "input: {paths: [in], damaged: warn}\n"
                       "output: {dir: out}\n"
                       "pool: {mode: serial}\n"
                       "report: out/report.json\n"
                       "pipeline:\n"
                       "  - save: {format: png}\n");
    const RunOutcome run = run_batchproc(config, {}, dir.path());
    ASSERT_TRUE(run.finished);
    EXPECT_EQ(run.exit_code, 0) << run.err;
    const nlohmann::json report = read_json(dir / "out" / "report.json");
    const auto &job = report["jobs"][0];
    EXPECT_EQ(job["status"], "ok");
    ASSERT_TRUE(job.contains("warnings"));
    EXPECT_NE(job["warnings"][0].get<std::string>().find("truncated"), std::string::npos);
    EXPECT_TRUE(fs::exists(dir / "out" / "truncated.png"));
}

TEST(BrokenInputs, LibraryMessagesStayOutOfTheTerminalAndInTheJobsErrors) {
    // Truncated BMPs and JPEG 2000s go through OpenCV's decoders (the opencv codec module),
    // which print on stderr: imdecode its decoders' exceptions, OpenJPEG through OpenCV's
    // log. Under -q the only lines are batchproc's own, one per failed job, and the gist of
    // what the library said is in the job's error.
    TempDir dir;
    const fs::path in = dir / "in";
    fs::create_directories(in);
    for (const char *ext : {".bmp", ".jp2"}) {
        std::vector<uint8_t> bytes = encode_image(ext, pattern(80, 64));
        bytes.resize(bytes.size() / 2);
        write_bytes(in / (std::string("cut-") + (ext + 1) + ext), bytes);
    }
    const fs::path config = dir / "config.yaml";
    write_text(config, "plugins: [imgproc]\ninput: {paths: [in]}\noutput: {dir: out}\njournal: false\n"
                       "report: report.json\npipeline:\n  - save: {format: png}\n");
    for (const char *mode : {"processes", "serial"}) {
        const RunOutcome run = run_batchproc(config, {"-q", "--set", std::string("pool.mode=") + mode}, dir.path());
        ASSERT_TRUE(run.finished) << run.err;
        EXPECT_EQ(run.exit_code, 1) << run.err;
        std::istringstream lines(run.err);
        std::string line;
        size_t count = 0;
        while (std::getline(lines, line)) {
            ++count;
            EXPECT_EQ(line.rfind("error: ", 0), 0u) << mode << ": a line that is not batchproc's: " << line;
        }
        EXPECT_EQ(count, 2u) << mode << ":\n" << run.err;
        const nlohmann::json report = read_json(dir / "report.json");
        for (const auto &job : report.at("jobs")) {
            const std::string error = job.at("error");
            const bool bmp = job.at("input").get<std::string>().find(".bmp") != std::string::npos;
            EXPECT_NE(error.find(bmp ? "Unexpected end of input stream" : "OpenJPEG2000"), std::string::npos) << error;
        }
    }
}

