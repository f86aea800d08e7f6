// Serial and threads mode keep the promises processes mode keeps, as far as one process can:
// a job that hangs past pool.timeout ends the run with a report (that job `timeout`), a stop
// whose running job does not finish ends after the grace period or at a second signal with a
// report (the running job `interrupted`, exit 130), a crash prints one line naming the
// signal, the stage and the file; pool.max_memory and max_jobs_per_worker, which need worker
// processes, are config errors there.
#include "support/run_helpers.hpp"

#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

namespace fs = std::filesystem;
using namespace batchproc::test;
using namespace std::chrono_literals;

namespace {

class InProcessStops : public PoolHarness, public ::testing::TestWithParam<std::string> {
protected:
    PoolOptions pool() const {
        PoolOptions p;
        p.mode = GetParam();
        p.workers = GetParam() == "serial" ? 1 : 2;
        return p;
    }
    // Job `hung` hangs (writing <pids>/<index>.pid as each job starts); the others make a
    // small PNG.
    std::string hanging_pipeline(const fs::path &pids, int hung) const {
        return "  - fault: {action: sleep, ms: 5, on_index: \"*\", pid_dir: " + yaml_quote(pids.string()) +
               "}\n  - fault: {action: hang, on_index: \"" + std::to_string(hung) +
               "\"}\n  - resize: {max_side: 32}\n  - save: {format: png}\n";
    }
};

bool wait_for_file(const fs::path &path, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!fs::exists(path)) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

TEST_P(InProcessStops, AJobPastTheTimeoutEndsTheRunWithAReport) {
    PoolOptions p = pool();
    p.timeout = "1s";
    const fs::path pids = dir() / "pids";
    fs::create_directories(pids);
    const fs::path config = images_config(dir() / "out", p, hanging_pipeline(pids, 2));
    BatchprocProcess run({"run", config.string()}, dir() / "logs");
    ASSERT_TRUE(run.wait(60s)) << "a hung job kept the run going\n" << run.err();
    EXPECT_EQ(run.exit_code(), 1) << run.err();
    EXPECT_NE(run.err().find("timeout: still running after pool.timeout (1 s)"), std::string::npos) << run.err();
    EXPECT_NE(run.err().find("pool.mode: processes"), std::string::npos) << run.err();
    const nlohmann::json report = report_of(config);
    ASSERT_FALSE(report.is_null()) << run.err();
    EXPECT_EQ(check_invariants(report), "") << report.dump();
    const auto &jobs = report.at("jobs");
    EXPECT_EQ(jobs.at(2).at("status"), "timeout") << jobs.at(2).dump();
    EXPECT_NE(jobs.at(2).at("error").get<std::string>().find("pool.timeout (1 s)"), std::string::npos);
    for (size_t i = 0; i < jobs.size(); ++i) {
        if (i == 2) continue;
        const std::string status = jobs[i].at("status");
        // Serial mode never reaches the jobs after the hung one; threads mode runs them on the other thread.
        if (GetParam() == "serial")
            EXPECT_EQ(status, i < 2 ? "ok" : "skipped") << jobs[i].dump();
        else
            EXPECT_TRUE(status == "ok" || status == "interrupted" || status == "skipped") << jobs[i].dump();
    }
    EXPECT_EQ(report.at("summary").at("timeout"), 1);
    EXPECT_TRUE(temp_files_under(dir() / "out").empty());
}

TEST_P(InProcessStops, TheGracePeriodEndsAStopWithTheRunningJobInterrupted) {
    const fs::path pids = dir() / "pids";
    fs::create_directories(pids);
    const fs::path config = images_config(dir() / "out", pool(), hanging_pipeline(pids, 1));
    BatchprocProcess run({"run", config.string()}, dir() / "logs");
    ASSERT_TRUE(wait_for_file(pids / "1.pid", 60s)) << run.err();
    std::this_thread::sleep_for(200ms); // into the hang
    run.signal(SIGINT);
    std::this_thread::sleep_for(2s);
    EXPECT_TRUE(run.running()) << "the running job has 10 s to finish\n" << run.err();
    ASSERT_TRUE(run.wait(30s)) << "the stop did not end after its grace period\n" << run.err();
    EXPECT_EQ(run.exit_code(), 130) << run.err();
    EXPECT_GE(run.wall_s(), 10.0);
    EXPECT_NE(run.err().find("SIGINT: stopping"), std::string::npos) << run.err();
    EXPECT_NE(run.err().find("the stop grace period (10 s) ended"), std::string::npos) << run.err();
    const nlohmann::json report = report_of(config);
    ASSERT_FALSE(report.is_null()) << run.err();
    EXPECT_EQ(check_invariants(report), "") << report.dump();
    EXPECT_EQ(report.at("jobs").at(1).at("status"), "interrupted") << report.at("jobs").at(1).dump();
    EXPECT_GE(report.at("summary").at("interrupted"), 1);
    // Serial mode never started the jobs after the hung one (threads mode may have finished them).
    if (GetParam() == "serial") {
        EXPECT_EQ(report.at("summary").at("skipped"), report.at("jobs").size() - 2);
    }
}

TEST_P(InProcessStops, ASecondSignalEndsAtOnceWithAReport) {
    const fs::path pids = dir() / "pids";
    fs::create_directories(pids);
    const fs::path config = images_config(dir() / "out", pool(), hanging_pipeline(pids, 1));
    BatchprocProcess run({"run", "-q", config.string()}, dir() / "logs");
    ASSERT_TRUE(wait_for_file(pids / "1.pid", 60s)) << run.err();
    std::this_thread::sleep_for(200ms);
    run.signal(SIGINT);
    std::this_thread::sleep_for(300ms);
    ASSERT_TRUE(run.running()) << run.err();
    run.signal(SIGINT);
    ASSERT_TRUE(run.wait(5s)) << "a second SIGINT did not end the run\n" << run.err();
    EXPECT_EQ(run.exit_code(), 130) << run.err();
    // One line, even under -q.
    EXPECT_NE(run.err().find("second signal"), std::string::npos) << run.err();
    const nlohmann::json report = report_of(config);
    ASSERT_FALSE(report.is_null()) << run.err();
    EXPECT_EQ(check_invariants(report), "") << report.dump();
    EXPECT_EQ(report.at("jobs").at(1).at("status"), "interrupted") << report.at("jobs").at(1).dump();
    EXPECT_EQ(report.at("jobs").at(1).at("error"), "interrupted: still running at the second signal");
}

TEST_P(InProcessStops, ACrashSaysWhichStageFileAndSignal) {
    const fs::path config =
        images_config(dir() / "out", pool(), "  - fault: {action: abort, on_index: \"1\"}\n  - save: {format: png}\n");
    BatchprocProcess run({"run", "-q", config.string()}, dir() / "logs");
    ASSERT_TRUE(run.wait(60s)) << run.err();
    EXPECT_EQ(run.term_signal(), SIGABRT) << "exit " << run.exit_code() << "\n" << run.err();
    const std::string err = run.err();
    EXPECT_NE(err.find("batchproc: the run crashed with SIGABRT"), std::string::npos) << err;
    EXPECT_NE(err.find("in stage fault on "), std::string::npos) << err;
    EXPECT_NE(err.find("samples/images/"), std::string::npos) << err;
    EXPECT_NE(err.find("pool.mode: processes"), std::string::npos) << err;
}

TEST_P(InProcessStops, PerProcessSettingsAreConfigErrors) {
    for (const std::string &setting : {std::string("max_memory: 1GiB"), std::string("max_jobs_per_worker: 5")}) {
        const fs::path config = dir() / "per-process.yaml";
        write_text(config, "plugins: [imgproc]\ninput: {paths: [" + yaml_quote(std::string(BP_SOURCE_DIR) + "/samples/images") +
                               "]}\npool:\n  mode: " + GetParam() + "\n  " + setting + "\npipeline: [{grayscale: {}}]\n");
        const RunOutcome r = run_batchproc_command({"validate", config.string()}, dir() / "logs");
        EXPECT_EQ(r.exit_code, 2) << setting << "\n" << r.err;
        EXPECT_NE(r.err.find("per-process.yaml:5:"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("applies to worker processes, and pool.mode is " + GetParam()), std::string::npos) << r.err;
    }
}

INSTANTIATE_TEST_SUITE_P(Modes, InProcessStops, ::testing::Values("serial", "threads"),
                         [](const auto &param_info) { return param_info.param; });

} // namespace
