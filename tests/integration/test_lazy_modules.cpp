// The libraries few runs need (libtiff, exiv2, libheif, OpenCV's imgcodecs) live in modules
// under lib/batchproc/codecs that batchproc loads on first use (codec/codec_module.hpp). Here batchproc is installed
// into a scratch prefix WITHOUT any of them: a JPEG, PNG or WebP run that keeps no metadata
// must not notice, and a job that needs a missing module fails with a sentence naming the
// file, in the coordinator (serial) and in workers of every start method alike.
#include "support/image_bytes.hpp"
#include "support/run_helpers.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>

namespace fs = std::filesystem;
using namespace batchproc::test;

namespace {

const fs::path kSamples = fs::path(BP_SOURCE_DIR) / "samples/images";

class LazyModules : public ::testing::Test {
protected:
    void SetUp() override {
        // <prefix>/bin/batchproc, a copy: the modules are looked for from the real path of
        // the running executable (/proc/self/exe), so a symlink would find the build's.
        fs::create_directories(dir_ / "prefix/bin");
        fs::create_directories(dir_ / "prefix/lib/batchproc/codecs"); // empty
        fs::copy_file(BP_BATCHPROC_EXE, exe());
        fs::create_directory_symlink(BP_PLUGIN_DIR, dir_ / "prefix/lib/batchproc/plugins");
        fs::create_directories(dir_ / "in");
        fs::copy_file(kSamples / "ladybird.jpg", dir_ / "in/ladybird.jpg");
        fs::copy_file(kSamples / "water-drop-alpha.png", dir_ / "in/water-drop-alpha.png");
        fs::copy_file(kSamples / "dandelion.webp", dir_ / "in/dandelion.webp");
    }

    fs::path exe() const { return dir_ / "prefix/bin/batchproc"; }
    fs::path codec_dir() const { return fs::canonical(dir_ / "prefix/lib/batchproc/codecs"); }

    // Runs the installed copy over `inputs` (a YAML list) with `pipeline` and the extra
    // `output` keys; returns its exit code and fills `report` (null when none was written).
    int run(const std::string &inputs, const std::string &pipeline, const std::string &output_keys,
            const std::string &pool, nlohmann::json &report, std::string &out) {
        const fs::path config = dir_ / ("config-" + std::to_string(++runs_) + ".yaml");
        const fs::path report_path = dir_ / ("report-" + std::to_string(runs_) + ".json");
        const fs::path out_dir = dir_ / ("out-" + std::to_string(runs_));
        write_text(config, "plugins: [imgproc]\n"
                           "input: {paths: " + inputs + "}\n"
                           "output: {dir: " + yaml_quote(out_dir.string()) + output_keys + "}\n"
                           "pool: " + pool + "\n"
                           "journal: false\n"
                           "report: " + yaml_quote(report_path.string()) + "\n"
                           "pipeline:\n" + pipeline);
        const std::string line = "env -u BATCHPROC_PLUGIN_PATH '" + exe().string() + "' run '" + config.string() +
                                 "' -q 2>&1";
        FILE *p = popen(line.c_str(), "r");
        if (p == nullptr) return -1;
        char buf[4096];
        size_t n;
        out.clear();
        while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
        const int status = pclose(p);
        report = fs::exists(report_path) ? read_json(report_path) : nlohmann::json();
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }

    std::string in(const std::string &name) const { return yaml_quote((dir_ / "in" / name).string()); }

    TempDir dir_{"bp-lazy"};
    int runs_ = 0;
};

const char *const kThumbnail = "  - resize: {max_side: 48}\n  - save: {format: png}\n";

TEST_F(LazyModules, JpegPngAndWebpRunsNeedNoModule) {
    for (const std::string pool : {"{mode: serial}", "{mode: processes, workers: 1, start_method: spawn}"}) {
        SCOPED_TRACE(pool);
        nlohmann::json report;
        std::string out;
        const int code = run("[" + in("ladybird.jpg") + ", " + in("water-drop-alpha.png") + ", " +
                                 in("dandelion.webp") + "]",
                             "  - resize: {max_side: 48}\n  - save: {format: auto}\n", ", metadata: strip", pool,
                             report, out);
        ASSERT_EQ(code, 0) << out << report.dump(2);
        EXPECT_EQ(report.at("summary").at("ok"), 3) << report.dump(2);
    }
}

// Each job that needs a module, and the file its error must name.
struct NeedsModule {
    const char *what;
    std::string input;
    std::string pipeline;
    std::string output_keys;
    const char *file;
    const char *module;
};

TEST_F(LazyModules, AJobThatNeedsAMissingModuleFailsNamingTheFile) {
    write_bytes(dir_ / "in/gradient.tif", encode_image(".tiff", random_pixels(24, 16, CV_8UC3)));
    const std::vector<NeedsModule> cases = {
        {"TIFF input", in("gradient.tif"), kThumbnail, "", "batchproc_codec_tiff.so", "the tiff codec module"},
        {"TIFF output", in("ladybird.jpg"), "  - resize: {max_side: 48}\n  - save: {format: tiff}\n", "",
         "batchproc_codec_tiff.so", "the tiff codec module"},
        {"metadata kept", in("ladybird.jpg"), kThumbnail, ", metadata: keep", "batchproc_metadata.so",
         "the metadata module"},
    };
    for (const std::string pool : {"{mode: serial}", "{mode: processes, workers: 1, start_method: fork}",
                                   "{mode: processes, workers: 1, start_method: spawn}",
                                   "{mode: processes, workers: 1, start_method: forkserver}"}) {
        for (const NeedsModule &c : cases) {
            SCOPED_TRACE(std::string(c.what) + ", pool " + pool);
            nlohmann::json report;
            std::string out;
            const int code = run("[" + c.input + "]", c.pipeline, c.output_keys, pool, report, out);
            EXPECT_EQ(code, 1) << out;
            ASSERT_FALSE(report.is_null()) << out;
            const nlohmann::json &job = report.at("jobs").at(0);
            EXPECT_EQ(job.at("status"), "failed") << job.dump(2);
            const std::string error = job.at("error").is_string() ? job.at("error").get<std::string>() : "";
            const std::string path = (codec_dir() / c.file).string();
            EXPECT_NE(error.find(std::string("cannot load ") + c.module + " " + path + ": "), std::string::npos)
                << error;
            EXPECT_NE(error.find("(is batchproc installed completely?)"), std::string::npos) << error;
        }
    }
}

} // namespace
