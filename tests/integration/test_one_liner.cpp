// `batchproc do`: a job on the command line, run as its config would run (same checks,
// pool, journal and report), and `--print-config` giving that config.
#include "support/run_helpers.hpp"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>

namespace fs = std::filesystem;
using namespace batchproc::test;

namespace {

const fs::path kSamples = fs::path(BP_SOURCE_DIR) / "samples/images";

// Runs the current folder's way: relative paths on the command line mean what they say.
class InFolder {
public:
    explicit InFolder(const fs::path &dir) : before_(fs::current_path()) { fs::current_path(dir); }
    ~InFolder() { fs::current_path(before_); }
    InFolder(const InFolder &) = delete;
    InFolder &operator=(const InFolder &) = delete;

private:
    fs::path before_;
};

class OneLinerDo : public ::testing::Test {
protected:
    void SetUp() override {
        fs::create_directories(dir_ / "in/sub");
        fs::copy_file(kSamples / "ladybird.jpg", dir_ / "in/a.jpg");
        fs::copy_file(kSamples / "dune.jpg", dir_ / "in/sub/b.jpg");
        fs::copy_file(kSamples / "pré vert.jpg", dir_ / "pré vert.jpg");
    }

    // batchproc with these arguments, run to its end from the test's folder.
    RunOutcome batchproc(const std::vector<std::string> &args, const std::map<std::string, std::string> &env = {}) {
        InFolder here(dir_.path());
        return run_batchproc_command(args, dir_ / "logs", env);
    }

    static std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string> &more) {
        args.insert(args.end(), more.begin(), more.end());
        return args;
    }

    // Every output file under out/ (the journal's folder left out), with its bytes.
    std::map<std::string, std::string> outputs(const std::string &folder = "out") const {
        std::map<std::string, std::string> files;
        const fs::path root = dir_ / folder;
        if (!fs::exists(root)) return files;
        for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
            if (it->is_directory() && it->path().filename() == ".batchproc") it.disable_recursion_pending();
            else if (it->is_regular_file()) files[fs::relative(it->path(), root).string()] = read_text(it->path());
        }
        return files;
    }

    TempDir dir_{"bp-do"};
};

// The job of the README's example, on the test's folder.
const std::vector<std::string> kThumbnails{"do", "in/", "pré vert.jpg", "-o", "out/",
                                           "-p", "resize max_side=64",
                                           "-p", "save format=webp quality=80",
                                           "--report", "report.json", "-w", "2", "-q"};

std::string diag(const RunOutcome &o) { return "exit " + std::to_string(o.exit_code) + "\n" + o.out + o.err; }

// Reports of two runs of one job agree on every job's input, output, status and metrics.
void expect_same_jobs(const nlohmann::json &a, const nlohmann::json &b) {
    ASSERT_EQ(a["jobs"].size(), b["jobs"].size());
    for (size_t i = 0; i < a["jobs"].size(); ++i)
        for (const char *key : {"input", "output", "status", "error", "metrics"})
            EXPECT_EQ(a["jobs"][i][key], b["jobs"][i][key]) << "job " << i << " " << key;
}

} // namespace

TEST_F(OneLinerDo, ResizesAndSavesEveryInputUnderTheOutputFolder) {
    const RunOutcome o = batchproc(kThumbnails);
    ASSERT_EQ(o.exit_code, 0) << diag(o);
    // A folder's files keep their place below it; a file named directly lands at the top.
    const std::map<std::string, cv::Size> expected{{"out/a.webp", {720, 450}},
                                                   {"out/sub/b.webp", {640, 400}},
                                                   {"out/pré vert.webp", {600, 480}}};
    for (const auto &[name, source] : expected) {
        const cv::Mat img = cv::imread((dir_ / name).string(), cv::IMREAD_UNCHANGED);
        ASSERT_FALSE(img.empty()) << name;
        EXPECT_EQ(std::max(img.cols, img.rows), 64) << name;
        const double long_side = std::max(source.width, source.height);
        EXPECT_NEAR(img.cols, source.width * 64 / long_side, 1.0) << name;
        EXPECT_NEAR(img.rows, source.height * 64 / long_side, 1.0) << name;
    }
    EXPECT_EQ(outputs().size(), 3u);
    const nlohmann::json report = read_json(dir_ / "report.json");
    EXPECT_EQ(report["summary"]["ok"], 3) << report.dump(2);
    EXPECT_EQ(report["summary"]["workers"], 2);
    EXPECT_EQ(check_invariants(report), "");
}

TEST_F(OneLinerDo, PrintConfigGivesAConfigThatRunsTheSameJob) {
    const RunOutcome printed = batchproc(with(kThumbnails, {"--print-config"}));
    ASSERT_EQ(printed.exit_code, 0) << diag(printed);
    EXPECT_FALSE(fs::exists(dir_ / "out")) << "--print-config runs nothing";
    EXPECT_FALSE(fs::exists(dir_ / "report.json"));
    const std::string &yaml = printed.out;
    EXPECT_NE(yaml.find("plugins: [imgproc]"), std::string::npos) << yaml;
    EXPECT_NE(yaml.find("  - resize: {max_side: 64}\n  - save: {format: webp, quality: 80}\n"), std::string::npos)
        << yaml;
    EXPECT_NE(yaml.find("  workers: 2"), std::string::npos) << yaml;
    // In the config's usual order.
    size_t last = 0;
    for (const char *key : {"\nplugins:", "\ninput:", "\noutput:", "\npool:", "\nreport:", "\npipeline:"}) {
        const size_t at = yaml.find(key);
        ASSERT_NE(at, std::string::npos) << key << "\n" << yaml;
        EXPECT_GT(at, last) << key << "\n" << yaml;
        last = at;
    }

    // Saved in another folder and run from there, it is the same job.
    fs::create_directories(dir_ / "configs");
    write_text(dir_ / "configs/job.yaml", yaml);
    const RunOutcome from_config = batchproc({"run", "configs/job.yaml", "-q"});
    ASSERT_EQ(from_config.exit_code, 0) << diag(from_config);
    const nlohmann::json config_report = read_json(dir_ / "report.json");
    const std::map<std::string, std::string> config_outputs = outputs();
    ASSERT_EQ(config_outputs.size(), 3u);

    // One journal: `do` finds the config's run done, job for job.
    const RunOutcome again = batchproc(kThumbnails);
    ASSERT_EQ(again.exit_code, 0) << diag(again);
    EXPECT_EQ(read_json(dir_ / "report.json")["summary"]["unchanged"], 3);

    // From scratch, `do` gives the same files and report.
    fs::remove_all(dir_ / "out");
    fs::remove(dir_ / "report.json");
    const RunOutcome done = batchproc(kThumbnails);
    ASSERT_EQ(done.exit_code, 0) << diag(done);
    EXPECT_EQ(outputs(), config_outputs);
    const nlohmann::json do_report = read_json(dir_ / "report.json");
    expect_same_jobs(do_report, config_report);
    for (const char *key : {"total", "ok", "failed", "mode", "workers", "start_method"})
        EXPECT_EQ(do_report["summary"][key], config_report["summary"][key]) << key;
}

TEST_F(OneLinerDo, MistakesExitTwoNamingWhatIsWrongAndRunNothing) {
    struct Case {
        std::vector<std::string> args;
        std::vector<std::string> says;
    };
    const std::vector<Case> cases{
        {{"-p", "resiz max_side=64", "-p", "save"}, {"-p 'resiz max_side=64'", "did you mean \"resize\""}},
        {{"-p", "resize max_sid=64", "-p", "save"}, {"-p 'resize max_sid=64'", "did you mean \"max_side\""}},
        {{"-p", "resize max_side=big", "-p", "save"}, {"pipeline[0].resize.max_side", "must be an integer, got \"big\""}},
        {{"-p", "save quality=101"}, {"-p 'save quality=101'", "quality"}},
        {{"-p", "resize max_side 64", "-p", "save"}, {"-p 'resize max_side 64'", "\"max_side\" is not a parameter"}},
        {{"-p", "watermark text='Hello", "-p", "save"}, {"-p 'watermark text='\\''Hello'", "is not closed"}},
        {{"-p", "max_side=64"}, {"not a stage name"}},
        {{"-p", "sum_of_squares n=10"}, {"plugin \"sumsq\"", "--plugins"}},
        {{"-w", "lots", "-p", "save"}, {"-w/--workers", "pool.workers"}},
        {{"--name", "{stm}.{ext}", "-p", "save"}, {"--name", "unknown placeholder {stm}"}},
        {{"--no-such-option", "-p", "save"}, {"no-such-option"}},
    };
    for (const Case &c : cases) {
        const RunOutcome o = batchproc(with(with({"do", "in", "-o", "out"}, c.args), {}));
        const std::string shown = o.out + o.err;
        EXPECT_EQ(o.exit_code, 2) << c.args[1] << "\n" << shown;
        for (const std::string &s : c.says) EXPECT_NE(shown.find(s), std::string::npos) << s << "\n" << shown;
        EXPECT_FALSE(fs::exists(dir_ / "out")) << c.args[1];
    }
    // What is missing is named as the option to give.
    RunOutcome o = batchproc({"do", "in", "-p", "save"});
    EXPECT_EQ(o.exit_code, 2) << diag(o);
    EXPECT_NE(o.err.find("-o DIR"), std::string::npos) << o.err;
    o = batchproc({"do", "-o", "out", "-p", "save"});
    EXPECT_EQ(o.exit_code, 2) << diag(o);
    EXPECT_NE(o.err.find("--files-from"), std::string::npos) << o.err;
    o = batchproc({"do", "missing/", "-o", "out", "-p", "save"});
    EXPECT_EQ(o.exit_code, 2) << diag(o);
    EXPECT_NE(o.err.find("input 'missing/'"), std::string::npos) << o.err;
    EXPECT_NE(o.err.find("does not exist"), std::string::npos) << o.err;
    o = batchproc({"do", "in", "-o", "out"});
    EXPECT_EQ(o.exit_code, 2) << diag(o);
    // --print-config prints only a config that `validate` accepts.
    o = batchproc({"do", "in", "-o", "out", "-p", "resize max_sid=3", "--print-config"});
    EXPECT_EQ(o.exit_code, 2) << diag(o);
    EXPECT_EQ(o.out, "");
    o = batchproc({"do", "in", "-p", "save", "--print-config"});
    EXPECT_EQ(o.exit_code, 2) << diag(o);
    EXPECT_NE(o.err.find("-o DIR"), std::string::npos) << o.err;
}

TEST_F(OneLinerDo, QuotedValuesWithSpacesAndNonAsciiTextArriveAsTyped) {
    const std::vector<std::string> args{"do",     "pré vert.jpg", "-o", "sortie", "--name", "{stem} – été.{ext}",
                                        "-p",     "watermark text='Hello  World, 2026' opacity=1 scale=0.5",
                                        "-p",     "save format=png", "--mode", "serial", "-q"};
    const RunOutcome printed = batchproc(with(args, {"--print-config"}));
    ASSERT_EQ(printed.exit_code, 0) << diag(printed);
    EXPECT_NE(printed.out.find("text: \"Hello  World, 2026\""), std::string::npos) << printed.out;
    EXPECT_NE(printed.out.find("pré vert.jpg"), std::string::npos) << printed.out;
    EXPECT_NE(printed.out.find("{stem} – été.{ext}"), std::string::npos) << printed.out;

    const RunOutcome o = batchproc(args);
    ASSERT_EQ(o.exit_code, 0) << diag(o);
    const fs::path out = dir_ / "sortie" / "pré vert – été.png";
    ASSERT_TRUE(fs::exists(out)) << diag(o);
    // The text was drawn: the output differs from the same image saved without it.
    const RunOutcome plain = batchproc({"do", "pré vert.jpg", "-o", "plain", "-p", "save format=png", "-q"});
    ASSERT_EQ(plain.exit_code, 0) << diag(plain);
    EXPECT_NE(read_text(out), read_text(dir_ / "plain" / "pré vert.png"));

    // Non-ASCII parameter text and quotes inside quotes reach the config unchanged.
    const RunOutcome symbol = batchproc({"do", "in", "-o", "x", "-p", "watermark text='© 2026 l''Été'", "-p", "save",
                                         "--print-config"});
    EXPECT_NE(symbol.out.find("© 2026 l'Été"), std::string::npos) << diag(symbol);
}

TEST_F(OneLinerDo, ReportAndJournalBehaveAsInAConfigRun) {
    const std::vector<std::string> job{"do", "in", "-o", "out", "-p", "resize max_side=32", "-p", "save format=png",
                                       "--report", "r.json", "-q"};
    RunOutcome o = batchproc(job);
    ASSERT_EQ(o.exit_code, 0) << diag(o);
    nlohmann::json r = read_json(dir_ / "r.json");
    EXPECT_EQ(status_counts(r), (std::map<std::string, int>{{"ok", 2}}));
    EXPECT_TRUE(fs::exists(dir_ / "out/.batchproc/journal.sqlite"));
    EXPECT_EQ(r["jobs"][0]["metrics"]["width"], 32);

    // Unchanged inputs are skipped; a changed one runs again.
    o = batchproc(job);
    ASSERT_EQ(o.exit_code, 0) << diag(o);
    EXPECT_EQ(status_counts(read_json(dir_ / "r.json")), (std::map<std::string, int>{{"unchanged", 2}}));
    fs::copy_file(kSamples / "marigold.jpg", dir_ / "in/a.jpg", fs::copy_options::overwrite_existing);
    o = batchproc(job);
    ASSERT_EQ(o.exit_code, 0) << diag(o);
    EXPECT_EQ(status_counts(read_json(dir_ / "r.json")), (std::map<std::string, int>{{"ok", 1}, {"unchanged", 1}}));

    // Another recipe is another job; --no-resume and --force run everything.
    o = batchproc(with(job, {"--no-resume"}));
    EXPECT_EQ(status_counts(read_json(dir_ / "r.json")), (std::map<std::string, int>{{"ok", 2}})) << diag(o);
    o = batchproc(with(job, {"--force"}));
    EXPECT_EQ(status_counts(read_json(dir_ / "r.json")), (std::map<std::string, int>{{"ok", 2}})) << diag(o);
    std::vector<std::string> other = job;
    other[5] = "resize max_side=16";
    o = batchproc(other);
    EXPECT_EQ(status_counts(read_json(dir_ / "r.json")), (std::map<std::string, int>{{"ok", 2}})) << diag(o);

    // --journal false: no journal at all.
    o = batchproc({"do", "in", "-o", "nojournal", "-p", "save format=png", "--journal", "false", "-q"});
    ASSERT_EQ(o.exit_code, 0) << diag(o);
    EXPECT_TRUE(fs::exists(dir_ / "nojournal/a.png"));
    EXPECT_FALSE(fs::exists(dir_ / "nojournal/.batchproc"));
}

TEST_F(OneLinerDo, AFailedJobExitsOneAsARunDoes) {
    write_text(dir_ / "in/broken.jpg", "not a jpeg at all");
    const RunOutcome o = batchproc({"do", "in", "-o", "out", "-p", "save format=png", "--report", "r.json", "-q"});
    EXPECT_EQ(o.exit_code, 1) << diag(o);
    EXPECT_EQ(status_counts(read_json(dir_ / "r.json")), (std::map<std::string, int>{{"ok", 2}, {"failed", 1}}));
}

TEST_F(OneLinerDo, SpawnedWorkersLoadTheSameConfigAndNoTemporaryFileIsLeft) {
    fs::create_directories(dir_ / "tmp");
    const RunOutcome o = batchproc({"do", "in", "-o", "out", "-p", "resize max_side=20", "-p", "save format=png",
                                    "--start-method", "spawn", "-w", "2", "--report", "r.json", "-q"},
                                   {{"TMPDIR", (dir_ / "tmp").string()}});
    ASSERT_EQ(o.exit_code, 0) << diag(o);
    const nlohmann::json r = read_json(dir_ / "r.json");
    EXPECT_EQ(r["summary"]["start_method"], "spawn");
    EXPECT_EQ(status_counts(r), (std::map<std::string, int>{{"ok", 2}}));
    EXPECT_TRUE(fs::is_empty(dir_ / "tmp")) << "the temporary config is removed";
}

TEST_F(OneLinerDo, APipelineThatWritesNothingNeedsNoOutputFolder) {
    const RunOutcome o = batchproc({"do", "in", "--plugins", "sumsq", "-p", "sum_of_squares n=1000", "--report",
                                    "r.json", "-q"});
    ASSERT_EQ(o.exit_code, 0) << diag(o);
    const nlohmann::json r = read_json(dir_ / "r.json");
    ASSERT_EQ(r["jobs"].size(), 2u);
    EXPECT_EQ(r["jobs"][0]["metrics"]["sum"], "332833500");
}

TEST_F(OneLinerDo, DryRunListsTheJobsAndWritesNothing) {
    const RunOutcome o = batchproc({"do", "in", "-o", "out", "-p", "save format=webp", "--dry-run"});
    ASSERT_EQ(o.exit_code, 0) << diag(o);
    EXPECT_NE(o.out.find("in/sub/b.jpg -> out/sub/b.webp"), std::string::npos) << o.out;
    EXPECT_NE(o.out.find("2 jobs; nothing was run"), std::string::npos) << o.out;
    EXPECT_FALSE(fs::exists(dir_ / "out"));
}

TEST_F(OneLinerDo, IncludeExcludeAndFilesFromChooseTheInputs) {
    fs::copy_file(kSamples / "water-drop-alpha.png", dir_ / "in/c.png");
    RunOutcome o = batchproc({"do", "in", "-o", "out", "-p", "save format=png", "--include", "*.JPG", "--no-recursive",
                              "--dry-run"});
    ASSERT_EQ(o.exit_code, 0) << diag(o);
    EXPECT_NE(o.out.find("1 jobs"), std::string::npos) << o.out; // in/a.jpg only
    EXPECT_NE(o.out.find("in/a.jpg"), std::string::npos) << o.out;

    write_text(dir_ / "list.txt", "in/c.png\npré vert.jpg\n");
    o = batchproc({"do", "--files-from", "list.txt", "-o", "out", "-p", "save format=jpg", "-q"});
    ASSERT_EQ(o.exit_code, 0) << diag(o);
    EXPECT_TRUE(fs::exists(dir_ / "out/in/c.jpg"));
    EXPECT_TRUE(fs::exists(dir_ / "out/pré vert.jpg"));
}

// A path parameter (a watermark's logo) is relative to the current folder on a command line,
// and --print-config writes it absolute.
TEST_F(OneLinerDo, APathParameterIsRelativeToTheCurrentFolder) {
    fs::create_directories(dir_ / "art");
    ASSERT_TRUE(cv::imwrite((dir_ / "art/logo.png").string(), cv::Mat(20, 40, CV_8UC4, cv::Scalar(0, 0, 255, 255))));
    const std::vector<std::string> args{"do", "in/", "-o", "out/", "-p", "watermark image=art/logo.png width=20%",
                                        "-p", "save format=png", "-q"};
    const RunOutcome o = batchproc(args);
    ASSERT_EQ(o.exit_code, 0) << diag(o);
    EXPECT_EQ(outputs().size(), 2u);
    std::vector<std::string> print = args;
    print.push_back("--print-config");
    const RunOutcome printed = batchproc(print);
    ASSERT_EQ(printed.exit_code, 0) << diag(printed);
    EXPECT_NE(printed.out.find((dir_ / "art/logo.png").string()), std::string::npos) << printed.out;
}
