// A stage that declares BP_STAGE_NOT_THREAD_SAFE never runs two calls at once in threads
// mode (each thread still has its own instance); a stage without the flag does.
#include "support/run_helpers.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>

namespace fs = std::filesystem;
using namespace batchproc::test;

namespace {

// The most calls of `stage` seen running at once over a threads-mode run of 12 jobs.
int64_t most_at_once(const TempDir &dir, const std::string &stage) {
    const fs::path config = dir / (stage + ".yaml");
    const fs::path report = dir / (stage + "-report.json");
    write_text(config, "plugins: [" + yaml_quote(std::string(BP_TEST_PLUGIN_DIR) + "/concurrency.so") +
                           "]\ninput: {generate: {count: 12}}\njournal: false\nreport: " + yaml_quote(report.string()) +
                           "\npool: {mode: threads, workers: 4, oversubscribe: true}\npipeline:\n  - " + stage +
                           ": {ms: 40}\n");
    const RunOutcome run = run_batchproc(config, {"-q"}, dir.path());
    EXPECT_TRUE(run.finished) << run.err;
    EXPECT_EQ(run.exit_code, 0) << run.err;
    int64_t most = 0;
    const nlohmann::json r = read_json(report);
    for (const auto &job : r.at("jobs"))
        most = std::max<int64_t>(most, job.at("metrics").at("most_at_once").get<int64_t>());
    EXPECT_EQ(r.at("jobs").size(), 12u) << r.dump().substr(0, 2000);
    return most;
}

TEST(StageThreadSafety, ANotThreadSafeStageTakesTurnsInThreadsMode) {
    TempDir dir("bp-thread-safety");
    EXPECT_EQ(most_at_once(dir, "exclusive"), 1);
    // The same stage without the flag overlaps: the probe can see concurrency.
    EXPECT_GE(most_at_once(dir, "shared"), 2);
}

} // namespace
