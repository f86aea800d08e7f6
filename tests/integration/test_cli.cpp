// The command line as a user meets it: subcommands, exit codes, messages.
#include "support/run_helpers.hpp"

#include <batchproc/plugin.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <sys/wait.h>

namespace fs = std::filesystem;
using namespace batchproc::test;

namespace {

struct Cmd {
    int code = -1;
    std::string out;
};

// Runs the batchproc binary with a shell command line (stdout and stderr together).
Cmd run_cli(const std::string &args) {
    Cmd c;
    const std::string line = std::string("'") + BP_BATCHPROC_EXE + "' " + args + " 2>&1";
    FILE *p = popen(line.c_str(), "r");
    if (p == nullptr) return c;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) c.out.append(buf, n);
    const int status = pclose(p);
    c.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return c;
}

std::string q(const fs::path &p) { return "'" + p.string() + "'"; }

const char *kGoodConfig = "plugins: [imgproc]\n"
                          "input: {paths: [in]}\n"
                          "output: {dir: out}\n"
                          "pool: {mode: serial}\n"
                          "pipeline:\n"
                          "  - resize: {max_side: 16}\n"
                          "  - save: {format: png}\n";

class Cli : public ::testing::Test {
protected:
    void SetUp() override {
        fs::create_directories(dir_ / "in");
        fs::copy_file(fs::path(BP_SOURCE_DIR) / "samples/images/ladybird.jpg", dir_ / "in" / "a.jpg");
        fs::copy_file(fs::path(BP_SOURCE_DIR) / "samples/images/dune.jpg", dir_ / "in" / "b.jpg");
    }
    fs::path config(const std::string &text) {
        const fs::path p = dir_ / ("config" + std::to_string(++n_) + ".yaml");
        write_text(p, text);
        return p;
    }
    TempDir dir_{"bp-cli"};
    int n_ = 0;
};

} // namespace

TEST_F(Cli, RunIsTheDefaultCommandAndExitsZeroWhenAllJobsAreOk) {
    const Cmd c = run_cli(q(config(kGoodConfig)));
    EXPECT_EQ(c.code, 0) << c.out;
    EXPECT_TRUE(fs::exists(dir_.path() / "out" / "a.png"));
    EXPECT_TRUE(fs::exists(dir_.path() / "out" / "b.png"));
    EXPECT_NE(c.out.find("2 jobs: 2 ok"), std::string::npos) << c.out;
    EXPECT_NE(c.out.find("slowest stage"), std::string::npos) << c.out;
}

TEST_F(Cli, ValidateChecksEverythingAndRunsNothing) {
    const Cmd c = run_cli("validate " + q(config(kGoodConfig)));
    EXPECT_EQ(c.code, 0) << c.out;
    EXPECT_NE(c.out.find("2 jobs"), std::string::npos) << c.out;
    EXPECT_FALSE(fs::exists(dir_.path() / "out"));
}

TEST_F(Cli, DryRunListsJobsAndWritesNothing) {
    const Cmd c = run_cli("run " + q(config(kGoodConfig)) + " --dry-run");
    EXPECT_EQ(c.code, 0) << c.out;
    EXPECT_NE(c.out.find("a.jpg -> "), std::string::npos) << c.out;
    EXPECT_NE(c.out.find("a.png"), std::string::npos) << c.out;
    EXPECT_FALSE(fs::exists(dir_.path() / "out"));
}

TEST_F(Cli, ConfigErrorsExitTwoWithFileLineColumnAndKey) {
    const fs::path p = config("plugins: [imgproc]\n"
                              "input: {paths: [in]}\n"
                              "output: {dir: out}\n"
                              "pool:\n"
                              "  workerz: 2\n"
                              "pipeline:\n"
                              "  - save: {format: png}\n");
    const Cmd c = run_cli(q(p));
    EXPECT_EQ(c.code, 2) << c.out;
    EXPECT_NE(c.out.find(p.string() + ":5:3"), std::string::npos) << c.out;
    EXPECT_NE(c.out.find("did you mean \"workers\""), std::string::npos) << c.out;
    EXPECT_FALSE(fs::exists(dir_.path() / "out"));
}

TEST_F(Cli, UnknownStageAndBadParameterAreConfigErrorsWithTheirLine) {
    const fs::path p1 = config("plugins: [imgproc]\n"
                               "input: {paths: [in]}\n"
                               "output: {dir: out}\n"
                               "pipeline:\n"
                               "  - resise: {max_side: 16}\n"
                               "  - save: {format: png}\n");
    Cmd c = run_cli("validate " + q(p1));
    EXPECT_EQ(c.code, 2) << c.out;
    EXPECT_NE(c.out.find(p1.string() + ":5:5"), std::string::npos) << c.out;
    EXPECT_NE(c.out.find("did you mean \"resize\""), std::string::npos) << c.out;

    const fs::path p2 = config("plugins: [imgproc]\n"
                               "input: {paths: [in]}\n"
                               "output: {dir: out}\n"
                               "pipeline:\n"
                               "  - gaussian_blur: {ksize: 4}\n"
                               "  - save: {format: jpeg}\n");
    c = run_cli("validate " + q(p2));
    EXPECT_EQ(c.code, 2) << c.out;
    EXPECT_NE(c.out.find("ksize"), std::string::npos) << c.out;
    EXPECT_NE(c.out.find(":5:"), std::string::npos) << c.out;
}

TEST_F(Cli, SetOverridesAConfigKey) {
    const fs::path p = config(kGoodConfig);
    const Cmd c = run_cli(q(p) + " --set output.name={stem}-small.{ext} -q");
    EXPECT_EQ(c.code, 0) << c.out;
    EXPECT_TRUE(fs::exists(dir_.path() / "out" / "a-small.png"));
    const Cmd bad = run_cli(q(p) + " --set pool.mode=paralel");
    EXPECT_EQ(bad.code, 2) << bad.out;
    EXPECT_NE(bad.out.find("--set"), std::string::npos) << bad.out;
}

TEST_F(Cli, ReportOptionWritesTheContractFields) {
    const fs::path report = dir_.path() / "r.json";
    const Cmd c = run_cli(q(config(kGoodConfig)) + " --report " + q(report) + " -q");
    EXPECT_EQ(c.code, 0) << c.out;
    const nlohmann::json r = read_json(report);
    for (const char *key : {"total", "ok", "failed", "skipped", "wall_s", "mode", "workers", "start_method"})
        EXPECT_TRUE(r["summary"].contains(key)) << key;
    ASSERT_EQ(r["jobs"].size(), 2u);
    for (const char *key : {"input", "output", "status", "error", "attempts", "worker_pid", "ms", "metrics"})
        EXPECT_TRUE(r["jobs"][0].contains(key)) << key;
    EXPECT_EQ(r["jobs"][0]["metrics"]["width"], 16);
    EXPECT_EQ(r["jobs"][0]["attempts"], 1);
}

TEST_F(Cli, PluginsListsTheFormatsReadAndWritten) {
    const Cmd c = run_cli("plugins --json");
    ASSERT_EQ(c.code, 0) << c.out;
    const nlohmann::json j = nlohmann::json::parse(c.out.substr(c.out.find('{')));
    const auto has = [](const nlohmann::json &list, const char *name) {
        for (const auto &f : list)
            if (f == name) return true;
        return false;
    };
    for (const char *f : {"jpg", "png", "webp", "tiff", "heic", "avif", "bmp"})
        EXPECT_TRUE(has(j["formats"]["read"], f)) << f;
    for (const char *f : {"jpg", "png", "webp", "tiff", "avif", "bmp"}) EXPECT_TRUE(has(j["formats"]["write"], f)) << f;
    EXPECT_FALSE(has(j["formats"]["write"], "gif"));
    const Cmd text = run_cli("plugins");
    EXPECT_NE(text.out.find("file formats (by extension)"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("write: jpg, png, webp, tiff, avif"), std::string::npos) << text.out;
}

TEST_F(Cli, PluginsListsStagesAndParametersAsJson) {
    const Cmd c = run_cli("plugins imgproc --json");
    ASSERT_EQ(c.code, 0) << c.out;
    const nlohmann::json j = nlohmann::json::parse(c.out.substr(c.out.find('{')));
    ASSERT_EQ(j["plugins"].size(), 1u);
    bool has_resize = false;
    for (const auto &s : j["plugins"][0]["stages"])
        if (s["name"] == "resize") {
            has_resize = true;
            bool has_interpolation = false;
            for (const auto &p : s["params"])
                if (p["name"] == "interpolation") {
                    has_interpolation = true;
                    EXPECT_EQ(p["type"], "choice");
                    EXPECT_FALSE(p["choices"].empty());
                }
            EXPECT_TRUE(has_interpolation);
        }
    EXPECT_TRUE(has_resize);
    const Cmd text = run_cli("plugins sumsq");
    EXPECT_EQ(text.code, 0);
    EXPECT_NE(text.out.find("sum_of_squares"), std::string::npos) << text.out;
    EXPECT_EQ(run_cli("plugins no_such_plugin").code, 2);
}

TEST_F(Cli, APluginBuiltForAnotherMajorVersionIsRejectedNamingBothVersions) {
    const fs::path so = fs::path(BP_TEST_PLUGIN_DIR) / "bad_major.so";
    const fs::path p = config("plugins: [imgproc, " + yaml_quote(so.string()) + "]\n"
                              "input: {paths: [in]}\n"
                              "output: {dir: out}\n"
                              "pipeline:\n"
                              "  - save: {format: png}\n");
    const Cmd c = run_cli("validate " + q(p));
    EXPECT_EQ(c.code, 2) << c.out;
    EXPECT_NE(c.out.find("bad_major.so"), std::string::npos) << c.out;
    EXPECT_NE(c.out.find("2.0"), std::string::npos) << c.out;
    EXPECT_NE(c.out.find(std::to_string(BP_API_VERSION_MAJOR) + "." + std::to_string(BP_API_VERSION_MINOR)),
              std::string::npos)
        << c.out;
}

TEST_F(Cli, BadUsageExitsTwo) {
    EXPECT_EQ(run_cli("run").code, 2);
    EXPECT_EQ(run_cli("run /no/such/config.yaml").code, 2);
    EXPECT_EQ(run_cli("run " + q(config(kGoodConfig)) + " --no-such-option").code, 2);
}

TEST_F(Cli, OverwriteFalseFailsTheJobWhoseOutputExists) {
    const fs::path p = config(kGoodConfig);
    ASSERT_EQ(run_cli(q(p) + " -q").code, 0);
    // --force: the journal would skip the finished job, and the point is to run it again.
    const Cmd c = run_cli(q(p) + " --force --set output.overwrite=false");
    EXPECT_EQ(c.code, 1) << c.out;
    EXPECT_NE(c.out.find("exists"), std::string::npos) << c.out;
}

// Messages that help: failures show under -q (20 lines, then a count and where to look);
// a stage of a plugin the config does not load names that plugin; output.dir with nothing
// writing there is a warning.
TEST_F(Cli, FailedJobsShowUnderQuietTwentyLinesThenACount) {
    std::string list;
    for (int i = 0; i < 25; ++i) list += (dir_ / ("missing-" + std::to_string(i) + ".jpg")).string() + "\n";
    write_text(dir_ / "list.txt", list);
    const fs::path p = config("plugins: [imgproc]\ninput: {paths: [in]}\noutput: {dir: out}\njournal: false\n"
                              "pipeline:\n  - save: {format: png}\n");
    const Cmd c = run_cli("run -q " + q(p) + " --files-from " + q(dir_ / "list.txt"));
    EXPECT_EQ(c.code, 1) << c.out;
    size_t lines = 0;
    for (size_t pos = c.out.find(": failed: "); pos != std::string::npos; pos = c.out.find(": failed: ", pos + 1)) ++lines;
    EXPECT_EQ(lines, 20u) << c.out;
    EXPECT_NE(c.out.find("and 5 more failed job(s)"), std::string::npos) << c.out;
    EXPECT_NE(c.out.find("--report FILE"), std::string::npos) << c.out;
}

TEST_F(Cli, AStageOfAnUnloadedPluginNamesThePlugin) {
    const fs::path p = config("input: {paths: [in]}\noutput: {dir: out}\npipeline:\n  - resize: {max_side: 64}\n"
                              "  - save: {format: png}\n");
    const Cmd c = run_cli("validate " + q(p));
    EXPECT_EQ(c.code, 2);
    EXPECT_NE(c.out.find("stage \"resize\" is in plugin \"imgproc\""), std::string::npos) << c.out;
    EXPECT_NE(c.out.find("plugins: [imgproc]"), std::string::npos) << c.out;
}

TEST_F(Cli, AnOutputDirWithNoStageWritingThereIsAWarning) {
    const fs::path p = config("plugins: [imgproc]\ninput: {paths: [in]}\noutput: {dir: out}\n"
                              "pipeline:\n  - resize: {max_side: 64}\n");
    const Cmd c = run_cli("validate " + q(p));
    EXPECT_EQ(c.code, 0) << c.out;
    EXPECT_NE(c.out.find("no stage of the pipeline writes files"), std::string::npos) << c.out;
}

TEST_F(Cli, FilesOfOtherTypesAreCountedNotSilentlyLeftOut) {
    for (const char *f : {"in/raw1.NEF", "in/raw2.nef", "in/notes.txt"}) write_text(dir_ / f, "x");
    const fs::path p = config("plugins: [imgproc]\ninput: {paths: [in]}\noutput: {dir: out}\njournal: false\n"
                              "pipeline:\n  - save: {format: png}\n");
    const Cmd c = run_cli("run " + q(p));
    EXPECT_EQ(c.code, 0) << c.out;
    EXPECT_NE(c.out.find("skipped 3 file(s) of other types: 2 .nef, 1 .txt"), std::string::npos) << c.out;
}

// A report path that is a folder is a config error at validate (exit 2), not an internal
// error after every job ran.
TEST_F(Cli, AReportPathThatIsAFolderIsAConfigError) {
    fs::create_directories(dir_.path() / "reports");
    const std::string text = std::string(kGoodConfig) + "report: reports\n";
    const Cmd v = run_cli("validate " + q(config(text)));
    EXPECT_EQ(v.code, 2) << v.out;
    EXPECT_NE(v.out.find("report: "), std::string::npos) << v.out;
    EXPECT_NE(v.out.find("is a folder"), std::string::npos) << v.out;
    const Cmd r = run_cli("run " + q(config(text)));
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_FALSE(fs::exists(dir_.path() / "out")) << "nothing may run";
}

// output.dir naming a file or a device is a config error before anything runs.
TEST_F(Cli, AnOutputDirThatIsAFileOrADeviceIsAConfigError) {
    write_text(dir_.path() / "plain.txt", "x");
    for (const std::string dir : {"plain.txt", "/dev/null"}) {
        std::string text = kGoodConfig;
        text.replace(text.find("{dir: out}"), 10, "{dir: " + dir + "}");
        const Cmd c = run_cli("validate " + q(config(text)));
        EXPECT_EQ(c.code, 2) << dir << ": " << c.out;
        EXPECT_NE(c.out.find("output.dir: "), std::string::npos) << c.out;
        EXPECT_NE(c.out.find("is not a folder"), std::string::npos) << c.out;
    }
}

// Two loaded plugins defining one stage name: the short name is a config error naming
// both; plugin.stage picks one.
TEST_F(Cli, AStageNameTwoPluginsDefineMustBeQualified) {
    const std::string shadow = (fs::path(BP_TEST_PLUGIN_DIR) / "shadow.so").string();
    std::string text = kGoodConfig;
    text.replace(text.find("plugins: [imgproc]"), 18, "plugins: [imgproc, " + yaml_quote(shadow) + "]");
    const Cmd ambiguous = run_cli("validate " + q(config(text)));
    EXPECT_EQ(ambiguous.code, 2) << ambiguous.out;
    EXPECT_NE(ambiguous.out.find("imgproc.resize or shadow.resize"), std::string::npos) << ambiguous.out;
    std::string qualified = text;
    qualified.replace(qualified.find("  - resize:"), 11, "  - imgproc.resize:");
    const Cmd ok = run_cli("run " + q(config(qualified)) + " --report " + q(dir_.path() / "r.json"));
    EXPECT_EQ(ok.code, 0) << ok.out;
    EXPECT_FALSE(read_json(dir_.path() / "r.json")["jobs"][0]["metrics"].contains("shadow"));
    std::string other = text;
    other.replace(other.find("  - resize: {max_side: 16}"), 26, "  - shadow.resize: {}");
    const Cmd theirs = run_cli("run " + q(config(other)) + " --report " + q(dir_.path() / "s.json"));
    EXPECT_EQ(theirs.code, 0) << theirs.out;
    EXPECT_EQ(read_json(dir_.path() / "s.json")["jobs"][0]["metrics"]["shadow"], 1);
}
