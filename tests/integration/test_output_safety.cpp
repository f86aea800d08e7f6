// Outputs never destroy inputs or escape output.dir, whatever links the folders hold, and
// never follow a link planted where a temporary file would go. Each case is a config error
// (exit 2) found before anything runs, with the inputs untouched.
#include "support/image_bytes.hpp"
#include "support/run_helpers.hpp"

#include <gtest/gtest.h>
#include <opencv2/core.hpp>

#include <fstream>

namespace fs = std::filesystem;
using namespace batchproc::test;

namespace {

class OutputSafety : public ::testing::Test {
protected:
    TempDir dir{"bp-safety"};
    std::vector<uint8_t> photo = encode_image(".jpg", cv::Mat(60, 90, CV_8UC3, cv::Scalar(40, 120, 200)));

    void SetUp() override {
        write_bytes(dir / "in/a.jpg", photo);
        write_bytes(dir / "in/sub/b.jpg", photo);
    }

    fs::path config(const std::string &out_dir, const std::string &name = "{rel_dir}/{stem}.{ext}") {
        const fs::path c = dir / "config.yaml";
        write_text(c, "plugins: [imgproc]\n"
                      "input: {paths: [in]}\n"
                      "output: {dir: " + yaml_quote(out_dir) + ", name: " + yaml_quote(name) + "}\n"
                      "pool: {mode: serial}\n"
                      "report: report.json\n"
                      "pipeline:\n  - resize: {max_side: 16}\n  - save: {format: jpg}\n");
        return c;
    }

    void expect_inputs_untouched() {
        EXPECT_EQ(read_text(dir / "in/a.jpg").size(), photo.size());
        EXPECT_EQ(read_text(dir / "in/sub/b.jpg").size(), photo.size());
    }
};

} // namespace

// output.dir a link to the input folder: the outputs' paths are the inputs' own files.
TEST_F(OutputSafety, OutputDirLinkedToTheInputFolderIsAConfigErrorAndNoInputIsReplaced) {
    fs::create_directory_symlink(dir / "in", dir / "out");
    const RunOutcome r = run_batchproc(config("out"), {}, dir.path());
    ASSERT_TRUE(r.finished);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("is the input file"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("a.jpg"), std::string::npos) << r.err;
    expect_inputs_untouched();
}

// A link inside output.dir would send that folder's outputs outside it.
TEST_F(OutputSafety, ALinkedSubfolderInsideOutputDirIsAConfigError) {
    fs::create_directories(dir / "out");
    fs::create_directories(dir / "elsewhere");
    fs::create_directory_symlink(dir / "elsewhere", dir / "out/sub");
    const RunOutcome r = run_batchproc(config("out"), {}, dir.path());
    ASSERT_TRUE(r.finished);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("symbolic link"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("out/sub"), std::string::npos) << r.err;
    EXPECT_TRUE(fs::is_empty(dir / "elsewhere"));
    EXPECT_FALSE(fs::exists(dir / "out/a.jpg")) << "nothing may run after a config error";
}

// The same with a link that points back into the inputs: caught as a link, before the
// identity check would see the input.
TEST_F(OutputSafety, ALinkedSubfolderPointingAtTheInputsIsAConfigError) {
    fs::create_directories(dir / "out");
    fs::create_directory_symlink(dir / "in/sub", dir / "out/sub");
    const RunOutcome r = run_batchproc(config("out"), {}, dir.path());
    ASSERT_TRUE(r.finished);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    expect_inputs_untouched();
}

// A hard link is another name for the same file: replacing it in place is harmless for the
// input's own name, but the rule is the file's identity and the message says so.
TEST_F(OutputSafety, AnOutputPathThatIsAnInputUnderAnotherNameIsAConfigError) {
    fs::create_directories(dir / "out");
    fs::create_hard_link(dir / "in/a.jpg", dir / "out/a.jpg");
    const RunOutcome r = run_batchproc(config("out"), {}, dir.path());
    ASSERT_TRUE(r.finished);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("the same file through a symbolic link or another name"), std::string::npos) << r.err;
}

// output.dir itself may be a link to a folder of its own: that is where the outputs go.
TEST_F(OutputSafety, OutputDirItselfMayBeALinkToAnotherFolder) {
    fs::create_directories(dir / "real-out");
    fs::create_directory_symlink(dir / "real-out", dir / "out");
    const RunOutcome r = run_batchproc(config("out"), {}, dir.path());
    ASSERT_TRUE(r.finished);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(fs::exists(dir / "real-out/a.jpg"));
    EXPECT_TRUE(fs::exists(dir / "real-out/sub/b.jpg"));
    expect_inputs_untouched();
}

// The temporary name used to be ".NAME.bp-tmp-PID": a link planted there for the next pids
// to come truncated its target. Now nothing planted in the output folder is followed.
TEST_F(OutputSafety, LinksPlantedAtPredictableTemporaryNamesAreNotFollowed) {
    write_text(dir / "precious.txt", "keep me");
    fs::create_directories(dir / "out");
    long last_pid = 0;
    std::ifstream("/proc/sys/kernel/ns_last_pid") >> last_pid;
    ASSERT_GT(last_pid, 0);
    for (long pid = last_pid + 1; pid <= last_pid + 2000; ++pid)
        fs::create_symlink(dir / "precious.txt", dir / ("out/.a.jpg.bp-tmp-" + std::to_string(pid)));
    const RunOutcome r = run_batchproc(config("out"), {}, dir.path());
    ASSERT_TRUE(r.finished);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(read_text(dir / "precious.txt"), "keep me");
    EXPECT_GT(read_text(dir / "out/a.jpg").size(), 0u);
}
