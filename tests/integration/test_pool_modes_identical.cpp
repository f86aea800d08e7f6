// The same config over the sample images in serial, threads and processes mode under each
// start method: every output file byte for byte identical, and the same status and metrics
// for every input in the reports. Then the modules loaded on first use (TIFF, metadata)
// under each start method.
#include "support/exiv2_edit.hpp"
#include "support/image_bytes.hpp"
#include "support/run_helpers.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace batchproc::test;

namespace {

// configs/images.yaml's pipeline, plus the test plugin's `mark` for more metrics.
const char *const kPipeline = "  - resize: {max_side: 256, interpolation: area}\n"
                              "  - gaussian_blur: {ksize: 3}\n"
                              "  - mark: {tag: identical}\n"
                              "  - save: {format: jpg, quality: 85}\n";

struct ModeRun {
    std::string name;
    PoolOptions pool;
    fs::path out;
    nlohmann::json report;
};

std::map<std::string, std::string> files_under(const fs::path &dir) {
    std::map<std::string, std::string> files;
    for (fs::recursive_directory_iterator it(dir), end; it != end; ++it) {
        if (it->path().filename() == ".batchproc") { // the journal: run-specific, not an output
            it.disable_recursion_pending();
            continue;
        }
        if (it->is_regular_file()) files[fs::relative(it->path(), dir).generic_string()] = read_text(it->path());
    }
    return files;
}

class PoolModesIdentical : public PoolHarness, public ::testing::Test {
protected:
    void TearDown() override { expect_no_new_shm(); }
};

TEST_F(PoolModesIdentical, OutputsAndMetricsAreTheSameInEveryModeAndStartMethod) {
    std::vector<ModeRun> runs;
    auto add = [&](const std::string &name, const std::string &mode, const std::string &method, int threads = 1) {
        ModeRun m;
        m.name = name;
        m.pool.mode = mode;
        m.pool.start_method = method;
        m.pool.workers = mode == "serial" ? 1 : 2;
        m.pool.threads_per_worker = threads;
        m.pool.timeout = "60s";
        m.out = dir() / ("out-" + name);
        runs.push_back(m);
    };
    add("serial", "serial", "forkserver");
    add("threads", "threads", "forkserver");
    for (const std::string &method : start_methods()) add("processes-" + method, "processes", method);
    add("processes-forkserver-2-threads-per-worker", "processes", "forkserver", 2);

    for (ModeRun &m : runs) {
        SCOPED_TRACE(m.name);
        const PoolRun r = run(images_config(m.out, m.pool, kPipeline));
        ASSERT_TRUE(r.outcome.finished) << r.diag();
        ASSERT_EQ(r.outcome.exit_code, 0) << r.diag();
        ASSERT_FALSE(r.report.is_null()) << r.diag();
        EXPECT_EQ(check_invariants(r.report), "");
        EXPECT_EQ(r.report.at("summary").at("mode"), m.pool.mode);
        m.report = r.report;
    }

    const ModeRun &ref = runs.front();
    const auto ref_files = files_under(ref.out);
    ASSERT_GE(ref_files.size(), 5u) << "the sample images should give several outputs";
    std::map<std::string, nlohmann::json> ref_jobs;
    for (const auto &j : ref.report.at("jobs")) ref_jobs[j.at("input").get<std::string>()] = j;
    for (const auto &[input, j] : ref_jobs) {
        EXPECT_EQ(j.at("status"), "ok") << j.dump();
        EXPECT_EQ(j.at("metrics").at("tag"), "identical") << j.dump();
        EXPECT_TRUE(j.at("metrics").contains("pixel_sum")) << j.dump();
    }

    for (size_t k = 1; k < runs.size(); ++k) {
        const ModeRun &m = runs[k];
        SCOPED_TRACE(m.name + " against serial");
        // Reports: the same inputs, each with the same status and metrics.
        std::map<std::string, nlohmann::json> jobs;
        for (const auto &j : m.report.at("jobs")) jobs[j.at("input").get<std::string>()] = j;
        ASSERT_EQ(jobs.size(), ref_jobs.size());
        for (const auto &[input, want] : ref_jobs) {
            ASSERT_EQ(jobs.count(input), 1u) << input;
            const nlohmann::json &got = jobs[input];
            EXPECT_EQ(got.at("status"), want.at("status")) << input;
            EXPECT_EQ(got.at("metrics"), want.at("metrics")) << input << "\n  serial: " << want.at("metrics").dump()
                                                             << "\n  " << m.name << ": " << got.at("metrics").dump();
            EXPECT_EQ(got.at("output").is_null(), want.at("output").is_null()) << input;
        }
        // Files: the same names, byte for byte the same contents.
        const auto files = files_under(m.out);
        ASSERT_EQ(files.size(), ref_files.size());
        for (const auto &[name, bytes] : ref_files) {
            const auto it = files.find(name);
            ASSERT_NE(it, files.end()) << name << " is missing";
            EXPECT_TRUE(it->second == bytes) << name << " differs (" << it->second.size() << " vs " << bytes.size()
                                             << " bytes)";
        }
    }
}

// A worker loads the tiff codec module and the metadata module (exiv2) itself, on first use,
// whatever the start method: it may be a fork of a coordinator that never loaded them, or
// a fresh image of the executable (spawn) that finds them from its own path.
TEST_F(PoolModesIdentical, ModulesLoadedOnFirstUseWorkInEveryStartMethod) {
    // A TIFF (decoded by the tiff module) and a JPEG with an EXIF tag to carry over (read and
    // written by the metadata module), both written as TIFF (the tiff module again).
    write_bytes(dir() / "in/noise.tif", encode_image(".tiff", batchproc::test::random_pixels(40, 30, CV_8UC3)));
    write_bytes(dir() / "in/artist.jpg",
                edit_metadata(encode_image(".jpg", batchproc::test::random_pixels(40, 30, CV_8UC3)),
                              [](Exiv2::Image &image) { image.exifData()["Exif.Image.Artist"] = "lazy modules"; }));
    std::vector<std::pair<std::string, PoolOptions>> pools;
    PoolOptions serial;
    serial.mode = "serial";
    serial.workers = 1;
    pools.emplace_back("serial", serial);
    for (const std::string &method : start_methods()) {
        PoolOptions p;
        p.start_method = method;
        p.workers = 2;
        p.timeout = "60s";
        pools.emplace_back("processes-" + method, p);
    }

    std::map<std::string, std::string> first;
    for (const auto &[name, pool] : pools) {
        SCOPED_TRACE(name);
        const fs::path config = dir() / ("modules-" + name + ".yaml");
        const fs::path out = dir() / ("modules-out-" + name);
        write_text(config, "plugins: [imgproc]\n"
                           "input:\n  paths: [" + yaml_quote((dir() / "in").string()) + "]\n"
                           "output:\n  dir: " + yaml_quote(out.string()) +
                               "\n  name: \"{stem}.{ext}\"\n  overwrite: true\n  metadata: keep\n" +
                           pool_yaml(pool) + "journal: false\n"
                           "report: " + yaml_quote(report_path(config).string()) + "\n"
                           "pipeline:\n  - resize: {max_side: 24}\n  - save: {format: tiff}\n");
        const PoolRun r = run(config);
        ASSERT_TRUE(r.outcome.finished) << r.diag();
        ASSERT_EQ(r.outcome.exit_code, 0) << r.diag();
        EXPECT_EQ(status_counts(r.report)["ok"], 2) << r.diag();
        const auto files = files_under(out);
        ASSERT_EQ(files.size(), 2u) << r.diag();
        const fs::path artist = out / "artist.tiff";
        ASSERT_TRUE(fs::exists(artist)) << r.diag();
        EXPECT_EQ(read_text(artist).rfind(std::string("II*\0", 4), 0), 0u) << "not a little-endian TIFF";
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations" // exiv2 0.27 hands out std::auto_ptr
        Exiv2::Image::AutoPtr image = Exiv2::ImageFactory::open(artist.string());
#pragma GCC diagnostic pop
        image->readMetadata();
        const auto tag = image->exifData().findKey(Exiv2::ExifKey("Exif.Image.Artist"));
        ASSERT_NE(tag, image->exifData().end()) << "the output lost the input's EXIF";
        EXPECT_EQ(tag->toString(), "lazy modules");
        if (first.empty()) first = files;
        else EXPECT_TRUE(files == first) << "outputs differ from the serial run's";
    }
}

} // namespace
