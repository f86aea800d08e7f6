// A run split in shards (--shard I/N), put back together by `batchproc merge`: the same
// outputs as one run, every job exactly once, and a missing shard named (exit 4) until it
// is rerun.
#include "support/image_bytes.hpp"
#include "support/run_helpers.hpp"

#include <gtest/gtest.h>
#include <opencv2/core.hpp>

#include <map>

namespace fs = std::filesystem;
using namespace batchproc::test;

namespace {

class Shards : public ::testing::Test {
protected:
    TempDir dir{"bp-shards"};

    void SetUp() override {
        for (int i = 0; i < 24; ++i)
            write_bytes(dir / ("in/d" + std::to_string(i % 3) + "/p" + std::to_string(i) + ".png"),
                        encode_image(".png", random_pixels(40 + i, 30, CV_8UC3, uint64_t(i))));
    }
    fs::path config(const std::string &out, const std::string &extra = "") {
        const fs::path c = dir / (out + ".yaml");
        write_text(c, "plugins: [imgproc]\ninput: {paths: [in], recursive: true}\noutput: {dir: " + out +
                          "}\nreport: " + out + "/report.json\npool: {workers: 2}\npipeline:\n"
                          "  - resize: {max_side: 20}\n" + extra + "  - save: {format: jpg}\n");
        return c;
    }
    RunOutcome batchproc(const std::vector<std::string> &args, const std::map<std::string, std::string> &env = {}) {
        return run_batchproc_command(args, dir / "logs", env);
    }
    // Every output file under `folder` (journal and reports left out), with its bytes.
    std::map<std::string, std::string> outputs(const std::string &folder) const {
        std::map<std::string, std::string> files;
        for (auto it = fs::recursive_directory_iterator(dir / folder); it != fs::recursive_directory_iterator(); ++it) {
            if (it->is_directory() && it->path().filename() == ".batchproc") it.disable_recursion_pending();
            else if (it->is_regular_file() && it->path().extension() == ".jpg")
                files[fs::relative(it->path(), dir / folder).string()] = read_text(it->path());
        }
        return files;
    }
};

} // namespace

TEST_F(Shards, FourShardsAndMergeGiveOneRunsOutputsWithEveryJobOnce) {
    const fs::path whole = config("whole");
    ASSERT_EQ(batchproc({"run", whole.string(), "-q"}).exit_code, 0);
    const fs::path split = config("split");
    size_t jobs = 0;
    for (int i = 0; i < 4; ++i) {
        const RunOutcome r = batchproc({"run", split.string(), "--shard", std::to_string(i) + "/4", "-q"});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        const nlohmann::json shard_report =
            read_json(dir / ("split/report.shard-000" + std::to_string(i) + "-of-0004.json"));
        jobs += shard_report["jobs"].size();
        EXPECT_TRUE(fs::exists(dir / ("split/.batchproc/journal.shard-000" + std::to_string(i) + "-of-0004.sqlite")));
    }
    EXPECT_EQ(jobs, 24u) << "the shards share out the 24 jobs";
    EXPECT_FALSE(fs::exists(dir / "split/report.json")) << "no shard writes another's files";
    EXPECT_EQ(outputs("split"), outputs("whole"));

    const RunOutcome m = batchproc({"merge", split.string()});
    EXPECT_EQ(m.exit_code, 0) << m.out << m.err;
    EXPECT_NE(m.out.find("every job done exactly once"), std::string::npos) << m.out;
    const nlohmann::json report = read_json(dir / "split/report.json");
    ASSERT_EQ(report["jobs"].size(), 24u);
    std::set<std::string> inputs;
    for (const auto &j : report["jobs"]) {
        EXPECT_EQ(j["status"], "ok") << j.dump();
        EXPECT_TRUE(inputs.insert(j["input"].get<std::string>()).second) << "twice: " << j.dump();
        EXPECT_EQ(j["metrics"]["width"], 20) << j.dump();
    }
    EXPECT_EQ(report["summary"]["ok"], 24);
    EXPECT_EQ(report["summary"]["shards"]["count"], 4);
    EXPECT_TRUE(report["missing_jobs"].empty());
}

TEST_F(Shards, AMissingShardMakesMergeIncompleteNamingItUntilItIsRun) {
    const fs::path c = config("out");
    for (int i : {0, 1, 3}) ASSERT_EQ(batchproc({"run", c.string(), "--shard", std::to_string(i) + "/4", "-q"}).exit_code, 0);
    RunOutcome m = batchproc({"merge", c.string(), "--report", (dir / "merged.json").string()});
    EXPECT_EQ(m.exit_code, 4) << m.out << m.err;
    EXPECT_NE(m.out.find("missing shards (no journal): 2"), std::string::npos) << m.out;
    nlohmann::json report = read_json(dir / "merged.json");
    EXPECT_FALSE(report["missing_jobs"].empty());
    EXPECT_EQ(report["summary"]["shards"]["missing"], nlohmann::json::array({2}));
    // status on a sharded run: each job judged against its shard's journal.
    const RunOutcome s = batchproc({"status", c.string()});
    EXPECT_NE(s.out.find("a run in 4 shards"), std::string::npos) << s.out;
    EXPECT_NE(s.out.find("shards without a journal yet: 2"), std::string::npos) << s.out;

    // The missing shard, as a Slurm array task (--array=1-4: task 3 is shard 2), then merge.
    const RunOutcome r = batchproc({"run", c.string(), "--shard", "auto", "-q"},
                                   {{"SLURM_ARRAY_TASK_ID", "3"}, {"SLURM_ARRAY_TASK_COUNT", "4"}, {"SLURM_ARRAY_TASK_MIN", "1"}});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(fs::exists(dir / "out/report.shard-0002-of-0004.json"));
    m = batchproc({"merge", c.string()});
    EXPECT_EQ(m.exit_code, 0) << m.out << m.err;
    // Rerunning a finished shard redoes nothing.
    const RunOutcome again = batchproc({"run", c.string(), "--shard", "0/4", "-q"});
    EXPECT_EQ(again.exit_code, 0);
    const nlohmann::json shard0 = read_json(dir / "out/report.shard-0000-of-0004.json"); // kept: the loop reads into it
    for (const auto &j : shard0["jobs"]) EXPECT_EQ(j["status"], "unchanged");
}

TEST_F(Shards, FailuresMakeMergeExitOneAndUsageErrorsExitTwo) {
    const fs::path c = config("out", "  - crop: {x: 35, width: 10}\n"); // every image is 20 px wide after the resize: all fail
    for (int i = 0; i < 2; ++i) batchproc({"run", c.string(), "--shard", std::to_string(i) + "/2", "-q"});
    const RunOutcome m = batchproc({"merge", c.string()});
    EXPECT_EQ(m.exit_code, 1) << m.out << m.err;
    EXPECT_NE(m.out.find("complete, with failures"), std::string::npos) << m.out;
    EXPECT_EQ(batchproc({"run", c.string(), "--shard", "2/2"}).exit_code, 2);
    const RunOutcome none = batchproc({"run", c.string(), "--shard", "auto"});
    EXPECT_EQ(none.exit_code, 2);
    EXPECT_NE(none.err.find("no task index"), std::string::npos) << none.err;
}

TEST_F(Shards, WorkersAutoFollowsSlurmCpusPerTask) {
    const fs::path c = dir / "auto.yaml";
    write_text(c, "plugins: [imgproc]\ninput: {paths: [in], recursive: true}\noutput: {dir: out}\nreport: out/r.json\n"
                  "pool: {workers: auto, oversubscribe: true}\npipeline: [{save: {format: jpg}}]\n");
    ASSERT_EQ(batchproc({"run", c.string(), "-q"}, {{"SLURM_CPUS_PER_TASK", "1"}}).exit_code, 0);
    EXPECT_EQ(read_json(dir / "out/r.json")["summary"]["workers"], 1);
}
