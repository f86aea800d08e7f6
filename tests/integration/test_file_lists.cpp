// Inputs from a list, the find | xargs way: --files-from FILE or - (standard input), -0,
// and input.list in the config.
#include "support/image_bytes.hpp"
#include "support/run_helpers.hpp"

#include <gtest/gtest.h>
#include <opencv2/core.hpp>

#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <map>

namespace fs = std::filesystem;
using namespace batchproc::test;

namespace {

class FileLists : public ::testing::Test {
protected:
    TempDir dir{"bp-lists"};

    void SetUp() override {
        const std::vector<uint8_t> png = encode_image(".png", cv::Mat(8, 12, CV_8UC3, cv::Scalar(10, 20, 30)));
        for (const char *f : {"photos/2023/x.png", "photos/2024/x.png", "photos/2024/y.png"}) write_bytes(dir / f, png);
    }
    fs::path config(const std::string &input = "{paths: [nowhere]}") {
        const fs::path c = dir / "config.yaml";
        write_text(c, "plugins: [imgproc]\ninput: " + input + "\noutput: {dir: out}\njournal: false\n"
                      "pipeline: [{save: {format: jpg}}]\n");
        return c;
    }
    // batchproc run with `list` on its standard input; the exit code.
    int run_with_stdin(const fs::path &c, const std::string &list, const std::string &args) {
        const std::string command = "cd '" + dir.path().string() + "' && '" + std::string(BP_BATCHPROC_EXE) +
                                    "' run -q '" + c.string() + "' --files-from - " + args + " 2>'" +
                                    (dir / "stderr.txt").string() + "'";
        std::FILE *p = popen(command.c_str(), "w");
        std::fwrite(list.data(), 1, list.size(), p);
        const int status = pclose(p);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
};

} // namespace

TEST_F(FileLists, FindPrint0PipedToFilesFromKeepsTheFolders) {
    const std::string list("photos/2023/x.png\0photos/2024/x.png\0photos/2024/y.png\0", 54);
    ASSERT_EQ(run_with_stdin(config(), list, "-0"), 0) << read_text(dir / "stderr.txt");
    for (const char *f : {"out/photos/2023/x.jpg", "out/photos/2024/x.jpg", "out/photos/2024/y.jpg"})
        EXPECT_TRUE(fs::exists(dir / f)) << f;
}

// "Argument list too long" starts near 3 000 paths on a command line; a list has no limit.
TEST_F(FileLists, AMillionListedPathsWork) {
    std::string list;
    for (int i = 0; i < 1'000'000; ++i) list += i % 3 == 0 ? "photos/2023/x.png\n" : i % 3 == 1 ? "photos/2024/x.png\n" : "./photos/2024/y.png\n";
    ASSERT_EQ(run_with_stdin(config(), list, ""), 0) << read_text(dir / "stderr.txt");
    EXPECT_TRUE(fs::exists(dir / "out/photos/2024/y.jpg"));
}

TEST_F(FileLists, AnEmptyListIsNothingToDo) {
    const fs::path c = config();
    write_text(dir / "empty.txt", "");
    const RunOutcome r = run_batchproc(c, {"--files-from", (dir / "empty.txt").string()}, dir.path());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("nothing to do"), std::string::npos) << r.err;
}

TEST_F(FileLists, InputListInTheConfigIsReadFromTheListsFolder) {
    write_text(dir / "photos/list.txt", "2024/y.png\nno-such.png\n");
    const RunOutcome r = run_batchproc(config("{list: photos/list.txt}"), {"--report", (dir / "r.json").string()}, dir.path());
    EXPECT_EQ(r.exit_code, 1) << "the missing file fails its own job: " << r.err;
    EXPECT_TRUE(fs::exists(dir / "out/2024/y.jpg"));
    const auto report = read_json(dir / "r.json");
    EXPECT_EQ(report["summary"]["ok"], 1);
    EXPECT_EQ(report["summary"]["failed"], 1);
    EXPECT_NE(r.err.find("no-such.png"), std::string::npos) << r.err;
}

TEST_F(FileLists, ListAndPathsTogetherInAConfigIsAConfigError) {
    write_text(dir / "list.txt", "photos/2023/x.png\n");
    const RunOutcome r = run_batchproc(config("{paths: [photos], list: list.txt}"), {}, dir.path());
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("input.list"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("cannot be used together with input.paths"), std::string::npos) << r.err;
}

// A listed input that is a FIFO or a link to a device fails its own job at once (it would
// block, or be read forever); the other files are processed.
TEST_F(FileLists, AFifoOrADeviceInTheListFailsItsJobWithoutBlocking) {
    ASSERT_EQ(::mkfifo((dir / "photos/pipe.png").c_str(), 0600), 0);
    fs::create_symlink("/dev/zero", dir / "photos/zero.png");
    const fs::path c = dir / "config.yaml";
    write_text(c, "plugins: [imgproc]\ninput: {paths: [nowhere]}\noutput: {dir: out}\njournal: false\n"
                  "report: report.json\npool: {timeout: 60s}\npipeline: [{save: {format: jpg}}]\n");
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(run_with_stdin(c, "photos/pipe.png\nphotos/zero.png\nphotos/2024/y.png\n", ""), 1)
        << read_text(dir / "stderr.txt");
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 30.0);
    const nlohmann::json report = read_json(dir / "report.json");
    std::map<std::string, std::string> error_of;
    for (const auto &j : report["jobs"])
        error_of[fs::path(j["input"].get<std::string>()).filename().string()] =
            j["error"].is_null() ? "" : j["error"].get<std::string>();
    EXPECT_NE(error_of["pipe.png"].find("not a regular file but a FIFO"), std::string::npos) << error_of["pipe.png"];
    EXPECT_NE(error_of["zero.png"].find("device"), std::string::npos) << error_of["zero.png"];
    EXPECT_EQ(error_of["y.png"], "");
    EXPECT_TRUE(fs::exists(dir / "out/photos/2024/y.jpg"));
}

// A FIFO inside an input folder is never opened; the walk says it skipped it.
TEST_F(FileLists, AFolderWalkSkipsAFifoWithAWarning) {
    ASSERT_EQ(::mkfifo((dir / "photos/2023/pipe.png").c_str(), 0600), 0);
    const RunOutcome r = run_batchproc(config("{paths: [photos]}"), {}, dir.path());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("skipped 1 entry that is not a regular file (a FIFO, device or socket): 2023/pipe.png"),
              std::string::npos)
        << r.err;
    EXPECT_TRUE(fs::exists(dir / "out/2023/x.jpg"));
}
