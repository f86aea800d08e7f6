// The journal and resume, as a user meets them: a rerun skips what is unchanged and redoes
// exactly what changed, survives SIGKILL at any moment, gives up on a file that keeps
// killing a serial run, and refuses a second run on the same journal or a damaged one.
#include "journal/journal.hpp"
#include "support/image_bytes.hpp"
#include "support/run_helpers.hpp"

#include <gtest/gtest.h>
#include <opencv2/core.hpp>

#include <signal.h>

#include <fstream>
#include <random>
#include <set>
#include <thread>

namespace fs = std::filesystem;
using namespace batchproc::test;
using namespace std::chrono_literals;

namespace {

// The jobs a run really ran, from the mark stage's log: "<index> <name>" lines.
std::multiset<std::string> names_run(const fs::path &log) {
    std::multiset<std::string> names;
    std::ifstream in(log);
    std::string index, name;
    while (in >> index >> name) names.insert(name);
    return names;
}

class Resume : public ::testing::Test {
protected:
    TempDir dir{"bp-resume"};
    fs::path log = dir / "ran.log";

    void make_inputs(int count, int side = 24) {
        for (int i = 0; i < count; ++i) {
            char name[32];
            std::snprintf(name, sizeof name, "img%04d.png", i);
            write_bytes(dir / "in" / name,
                        encode_image(".png", cv::Mat(side, side + i % 7, CV_8UC3, cv::Scalar(i % 256, 90, 200))));
        }
    }

    fs::path config(const std::string &mode = "processes", int max_side = 16, const std::string &extra = "",
                    const std::string &before_save = "") {
        const fs::path c = dir / "config.yaml";
        write_text(c, "plugins: [imgproc, " + yaml_quote(faults_plugin_path()) + "]\n"
                      "input: {paths: [in]}\n"
                      "output: {dir: out}\n"
                      "pool: {mode: " + mode + ", workers: 2, oversubscribe: true, retries: 1}\n"
                      "report: report.json\n" + extra +
                      "pipeline:\n"
                      "  - resize: {max_side: " + std::to_string(max_side) + "}\n" + before_save +
                      "  - mark: {log: " + yaml_quote(log.string()) + "}\n"
                      "  - save: {format: png}\n");
        return c;
    }

    RunOutcome run(const fs::path &c, const std::vector<std::string> &args = {}) {
        fs::remove(log);
        return run_batchproc(c, args, dir / "logs");
    }

    nlohmann::json report() { return read_json(dir / "report.json"); }
};

} // namespace

TEST_F(Resume, ARerunWithNothingChangedRunsNothingAndReportsUnchanged) {
    make_inputs(6);
    const fs::path c = config();
    const RunOutcome first = run(c);
    ASSERT_EQ(first.exit_code, 0) << first.err;
    EXPECT_EQ(names_run(log).size(), 6u);
    EXPECT_TRUE(fs::exists(dir / "out/.batchproc/journal.sqlite"));

    const RunOutcome second = run(c);
    ASSERT_EQ(second.exit_code, 0) << second.err;
    EXPECT_TRUE(names_run(log).empty()) << "no job may run again";
    const nlohmann::json r = report();
    EXPECT_EQ(r.at("summary").at("unchanged"), 6);
    EXPECT_EQ(r.at("summary").at("ok"), 0);
    for (const auto &j : r.at("jobs")) {
        EXPECT_EQ(j.at("status"), "unchanged");
        EXPECT_TRUE(j.at("output").is_string()) << j.dump();
        EXPECT_TRUE(j.at("metrics").contains("width")) << "the earlier metrics are kept: " << j.dump();
    }
    EXPECT_NE(second.out.find("6 unchanged"), std::string::npos) << second.out;
}

TEST_F(Resume, EachChangeRerunsExactlyWhatItAffects) {
    make_inputs(5);
    const fs::path c = config();
    ASSERT_EQ(run(c).exit_code, 0);

    // A touched input (new mtime, same bytes) reruns that job only.
    fs::last_write_time(dir / "in/img0001.png", fs::file_time_type::clock::now() + 5s);
    ASSERT_EQ(run(c).exit_code, 0);
    EXPECT_EQ(names_run(log), (std::multiset<std::string>{"img0001.png"}));

    // A deleted output, and a modified one, rerun their jobs.
    fs::remove(dir / "out/img0002.png");
    write_text(dir / "out/img0003.png", "edited by hand");
    ASSERT_EQ(run(c).exit_code, 0);
    EXPECT_EQ(names_run(log), (std::multiset<std::string>{"img0002.png", "img0003.png"}));
    EXPECT_GT(read_text(dir / "out/img0003.png").size(), 20u) << "the modified output was redone";

    // A changed parameter reruns every job; so does --set that changes the recipe.
    ASSERT_EQ(run(config("processes", 12)).exit_code, 0);
    EXPECT_EQ(names_run(log).size(), 5u);
    ASSERT_EQ(run(config("processes", 12)).exit_code, 0);
    EXPECT_TRUE(names_run(log).empty());
    ASSERT_EQ(run(c, {"--set", "pipeline[0].resize.max_side=10"}).exit_code, 0);
    EXPECT_EQ(names_run(log).size(), 5u);
    // Writing out a parameter's default value is the same recipe.
    ASSERT_EQ(run(c, {"--set", "pipeline[0].resize.max_side=10"}).exit_code, 0);
    EXPECT_TRUE(names_run(log).empty());
    ASSERT_EQ(run(c, {"--set", "pipeline[0].resize.max_side=10", "--set", "pipeline[0].resize.interpolation=area"})
                  .exit_code,
              0);
    EXPECT_TRUE(names_run(log).empty()) << "area is resize's default interpolation";

    // A new file runs alone.
    write_bytes(dir / "in/zzz.png", encode_image(".png", cv::Mat(9, 9, CV_8UC3, cv::Scalar(1, 2, 3))));
    ASSERT_EQ(run(c, {"--set", "pipeline[0].resize.max_side=10"}).exit_code, 0);
    EXPECT_EQ(names_run(log), (std::multiset<std::string>{"zzz.png"}));

    // --force and resume: false run everything.
    ASSERT_EQ(run(c, {"--set", "pipeline[0].resize.max_side=10", "--force"}).exit_code, 0);
    EXPECT_EQ(names_run(log).size(), 6u);
    ASSERT_EQ(run(c, {"--set", "pipeline[0].resize.max_side=10", "--set", "resume=false"}).exit_code, 0);
    EXPECT_EQ(names_run(log).size(), 6u);
}

TEST_F(Resume, FailedJobsRunAgainAndOkOnesDoNot) {
    make_inputs(4);
    write_text(dir / "in/broken.png", "not a png");
    const fs::path c = config();
    EXPECT_EQ(run(c).exit_code, 1);
    const RunOutcome again = run(c);
    EXPECT_EQ(again.exit_code, 1) << again.err;
    EXPECT_TRUE(names_run(log).empty()) << "the broken file fails before the mark stage; nothing else reruns";
    const nlohmann::json r = report();
    EXPECT_EQ(r.at("summary").at("failed"), 1);
    EXPECT_EQ(r.at("summary").at("unchanged"), 4);
    // Mended, it runs and the run is clean.
    write_bytes(dir / "in/broken.png", encode_image(".png", cv::Mat(8, 8, CV_8UC3, cv::Scalar(5, 5, 5))));
    EXPECT_EQ(run(c).exit_code, 0);
    EXPECT_EQ(names_run(log), (std::multiset<std::string>{"broken.png"}));
}

TEST_F(Resume, StatusSaysWhatWouldRunAndWhy) {
    make_inputs(4);
    const fs::path c = config();
    ASSERT_EQ(run(c).exit_code, 0);
    fs::remove(dir / "out/img0000.png");
    fs::last_write_time(dir / "in/img0001.png", fs::file_time_type::clock::now() + 5s);
    write_bytes(dir / "in/new.png", encode_image(".png", cv::Mat(8, 8, CV_8UC3, cv::Scalar(5, 5, 5))));
    BatchprocProcess p({"status", c.string(), "--json"}, dir / "logs");
    ASSERT_TRUE(p.wait(60s));
    ASSERT_EQ(p.exit_code(), 0) << p.err();
    const nlohmann::json s = nlohmann::json::parse(p.out());
    EXPECT_EQ(s.at("counts").at("total"), 5);
    EXPECT_EQ(s.at("counts").at("unchanged"), 2);
    EXPECT_EQ(s.at("counts").at("new"), 1);
    EXPECT_EQ(s.at("counts").at("changed_input"), 1);
    EXPECT_EQ(s.at("counts").at("output_missing"), 1);
    EXPECT_TRUE(fs::exists(dir / "in/img0001.png"));
    EXPECT_FALSE(fs::exists(dir / "out/img0000.png")) << "status runs nothing";
    BatchprocProcess text({"status", c.string()}, dir / "logs");
    ASSERT_TRUE(text.wait(60s));
    EXPECT_NE(text.out().find("output missing"), std::string::npos) << text.out();
    EXPECT_NE(text.out().find("img0001.png"), std::string::npos) << text.out();
}

TEST_F(Resume, ASecondRunOnTheSameJournalIsRefusedAtOnce) {
    make_inputs(3);
    const fs::path c = config("processes", 16, "", "  - fault: {action: sleep, ms: 3000, on_index: \"*\"}\n");
    BatchprocProcess first({"run", c.string()}, dir / "logs");
    ASSERT_TRUE(wait_for_file(dir / "out/.batchproc/journal.sqlite", 30s));
    std::this_thread::sleep_for(300ms);
    const RunOutcome second = run_batchproc(c, {}, dir / "logs");
    EXPECT_EQ(second.exit_code, 2) << second.err;
    EXPECT_LT(second.wall_s, 10.0);
    EXPECT_NE(second.err.find("journal.sqlite"), std::string::npos) << second.err;
    EXPECT_NE(second.err.find(std::to_string(first.pid())), std::string::npos) << second.err;
    ASSERT_TRUE(first.wait(120s));
    EXPECT_EQ(first.exit_code(), 0) << first.err();
}

TEST_F(Resume, ADamagedJournalIsAClearErrorAndForceStartsAfresh) {
    make_inputs(3);
    const fs::path c = config();
    ASSERT_EQ(run(c).exit_code, 0);
    const fs::path journal = dir / "out/.batchproc/journal.sqlite";
    for (const char *suffix : {"", "-wal"}) { // the database's and its WAL's headers overwritten
        std::fstream f(journal.string() + suffix, std::ios::in | std::ios::out | std::ios::binary);
        f.write(std::string(64, 'x').data(), 64);
    }
    const RunOutcome broken = run(c);
    EXPECT_EQ(broken.exit_code, 2) << broken.err;
    EXPECT_NE(broken.err.find(journal.string()), std::string::npos) << broken.err;
    EXPECT_NE(broken.err.find("--force"), std::string::npos) << broken.err;
    const RunOutcome forced = run(c, {"--force"});
    EXPECT_EQ(forced.exit_code, 0) << forced.err;
    EXPECT_EQ(names_run(log).size(), 3u);
    EXPECT_EQ(run(c).exit_code, 0);
    EXPECT_TRUE(names_run(log).empty());
}

// A plugin segfault in serial mode kills the whole process. The next run runs the job again
// (one crashed attempt); after pool.retries + 1 deaths it is given up: `crashed`, not run,
// and the rest of the batch finishes.
TEST_F(Resume, AJobThatKeepsKillingASerialRunIsGivenUpAfterRetries) {
    make_inputs(4);
    const fs::path c = config("serial", 16, "", "  - fault: {action: segfault, on_name: img0002}\n");
    for (int death = 1; death <= 2; ++death) {
        const RunOutcome r = run(c);
        ASSERT_TRUE(r.finished);
        EXPECT_NE(r.exit_code, 0) << "run " << death << " must die: " << r.err;
        EXPECT_EQ(names_run(log).count("img0002.png"), 0u);
    }
    const RunOutcome third = run(c);
    EXPECT_EQ(third.exit_code, 1) << third.err;
    const nlohmann::json r = report();
    bool found = false;
    for (const auto &j : r.at("jobs")) {
        if (j.at("input").get<std::string>().find("img0002") == std::string::npos) {
            EXPECT_TRUE(j.at("status") == "ok" || j.at("status") == "unchanged") << j.dump();
            continue;
        }
        found = true;
        EXPECT_EQ(j.at("status"), "crashed") << j.dump();
        EXPECT_NE(j.at("error").get<std::string>().find("2 times"), std::string::npos) << j.dump();
    }
    EXPECT_TRUE(found);
    EXPECT_NE(third.err.find("processes"), std::string::npos) << "how to isolate it: " << third.err;
    EXPECT_TRUE(fs::exists(dir / "out/img0003.png"));
}

// SIGKILL of the coordinator at random moments: each rerun redoes only what had no
// committed `ok` row, and the final outputs equal an uninterrupted run's byte for byte.
TEST_F(Resume, SigkillAtRandomMomentsThenRerunsEndIdenticalToACleanRun) {
    const int jobs = 2000;
    make_inputs(jobs, 8);
    const fs::path c = config("processes", 6);
    // The clean run, to compare with.
    ASSERT_EQ(run_batchproc(c, {"--set", "output.dir=" + (dir / "clean").string(), "--set", "journal=false"}, dir / "logs").exit_code, 0);
    std::mt19937 rng(12345);
    std::uniform_int_distribution<int> moment_ms(50, 1500);
    const fs::path journal = dir / "out/.batchproc/journal.sqlite";
    for (int round = 0; round < 20; ++round) {
        fs::remove(log);
        std::string tag;
        {
            BatchprocProcess p({"run", c.string()}, dir / "logs");
            tag = p.tag();
            std::this_thread::sleep_for(std::chrono::milliseconds(moment_ms(rng)));
            p.signal(SIGKILL);
            p.wait(30s);
        }
        // Its workers follow it within moments; none may still write when the rerun starts.
        ASSERT_TRUE(wait_no_processes_with_tag(tag, 10s).empty());
        // What the journal had committed as ok when the coordinator died.
        std::set<std::string> committed_ok;
        if (fs::exists(journal))
            for (const auto &[key, row] : batchproc::read_journal_rows(journal))
                if (row.status == "ok") committed_ok.insert(key);
        const RunOutcome rerun = run(c);
        ASSERT_EQ(rerun.exit_code, 0) << "round " << round << ": " << rerun.err;
        for (const std::string &name : names_run(log))
            EXPECT_EQ(committed_ok.count(name), 0u) << "round " << round << ": " << name << " had a committed ok row";
    }
    for (int i = 0; i < jobs; ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "img%04d.png", i);
        ASSERT_EQ(read_text(dir / "out" / name), read_text(dir / "clean" / name)) << name;
    }
    const std::vector<fs::path> left = temp_files_under(dir / "out");
    EXPECT_TRUE(left.empty()) << left.size() << " temporary file(s) left, the first: " << left.front();
}
