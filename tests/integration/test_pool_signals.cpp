// Signals to the coordinator of the process pool: SIGINT/SIGTERM stop handing out jobs and
// let the running ones finish (exit 130, the rest skipped, no temporary file left); a
// second SIGINT stops the running jobs at once (their workers killed, the jobs
// `interrupted` in the report); workers ended from outside during a stop are reported as
// such; a SIGKILLed coordinator takes its workers (and the forkserver) with it within 2 s.
// Under each start method.
#include "support/run_helpers.hpp"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <tuple>

namespace fs = std::filesystem;
using namespace batchproc::test;
using namespace std::chrono_literals;

namespace {

// Jobs over the sample images that each sleep `ms` first (writing <pids>/<index>.pid as
// they start), then make a small PNG.
std::string sleeping_pipeline(const fs::path &pids, int ms) {
    return "  - fault: {action: sleep, on_index: \"*\", ms: " + std::to_string(ms) + ", pid_dir: " +
           yaml_quote(pids.string()) + "}\n  - resize: {max_side: 32, interpolation: area}\n  - save: {format: png}\n";
}

bool started(const fs::path &pids, size_t index) { return fs::exists(pids / (std::to_string(index) + ".pid")); }

// Waits until `n` jobs have started (pid files); false on timeout.
bool wait_started(const fs::path &pids, size_t n, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        size_t count = 0;
        std::error_code ec;
        for (fs::directory_iterator it(pids, ec), end; !ec && it != end; it.increment(ec))
            count += it->path().extension() == ".pid";
        if (count >= n) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(5ms);
    }
}

class PoolFirstSignal : public PoolHarness, public ::testing::TestWithParam<std::tuple<std::string, int>> {
protected:
    void TearDown() override { expect_no_new_shm(); }
};

class PoolSignals : public PoolHarness, public ::testing::TestWithParam<std::string> {
protected:
    void TearDown() override { expect_no_new_shm(); }
    // A run under this test's start method whose jobs sleep 30 s (writing <pids>/<index>.pid).
    fs::path sleeping_config(const fs::path &pids, const fs::path &out) {
        PoolOptions pool;
        pool.start_method = GetParam();
        fs::create_directories(pids);
        return images_config(out, pool, sleeping_pipeline(pids, 30000));
    }
};

TEST_P(PoolFirstSignal, LetsRunningJobsFinishAndSkipsTheRest) {
    const auto &[method, sig] = GetParam();
    PoolOptions pool;
    pool.start_method = method;
    const fs::path pids = dir() / "pids";
    const fs::path out = dir() / "out";
    fs::create_directories(pids);
    const fs::path config = images_config(out, pool, sleeping_pipeline(pids, 1500));
    BatchprocProcess p({"run", config.string()}, dir() / "logs");
    ASSERT_TRUE(wait_started(pids, 2, 60s)) << p.err();
    p.signal(sig);
    ASSERT_TRUE(p.wait(60s)) << p.err();
    EXPECT_EQ(p.exit_code(), 130) << p.err();
    EXPECT_TRUE(wait_no_processes_with_tag(p.tag(), 3s).empty());

    const nlohmann::json report = report_of(config);
    ASSERT_FALSE(report.is_null()) << p.err();
    EXPECT_EQ(check_invariants(report), "") << p.err();
    const auto &jobs = report.at("jobs");
    size_t ok = 0, skipped = 0;
    for (size_t i = 0; i < jobs.size(); ++i) {
        const auto &j = jobs[i];
        if (started(pids, i)) {
            // Running when the signal came: it was allowed to finish.
            EXPECT_EQ(j.at("status"), "ok") << j.dump() << p.err();
            ASSERT_TRUE(j.at("output").is_string()) << j.dump();
            ++ok;
        } else {
            EXPECT_EQ(j.at("status"), "skipped") << j.dump() << p.err();
            EXPECT_TRUE(j.at("output").is_null()) << j.dump();
            ASSERT_TRUE(j.at("error").is_string()) << j.dump();
            EXPECT_NE(j.at("error").get<std::string>().find("interrupted"), std::string::npos) << j.dump();
            ++skipped;
        }
    }
    EXPECT_GE(ok, 2u);
    EXPECT_GE(skipped, 1u);
    EXPECT_EQ(report.at("summary").at("skipped"), skipped);
    EXPECT_EQ(report.at("summary").at("pool").at("counters_consistent"), true) << report.at("summary").dump();
    // Outputs of the finished jobs only, and no temporary file.
    size_t files = 0;
    for (fs::recursive_directory_iterator it(out), end; it != end; ++it) {
        if (it->path().filename() == ".batchproc") { // the run journal
            it.disable_recursion_pending();
            continue;
        }
        if (it->is_regular_file()) ++files;
    }
    EXPECT_EQ(files, ok);
    const auto temps = temp_files_under(out);
    EXPECT_TRUE(temps.empty()) << temps.front();
}

TEST_P(PoolSignals, SecondSigintExitsAtOnceKillingTheWorkers) {
    const fs::path pids = dir() / "pids";
    const fs::path out = dir() / "out";
    const fs::path config = sleeping_config(pids, out);
    BatchprocProcess p({"run", config.string()}, dir() / "logs");
    ASSERT_TRUE(wait_started(pids, 2, 60s)) << p.err();
    p.signal(SIGINT);
    std::this_thread::sleep_for(300ms);
    ASSERT_TRUE(p.running()) << "the first SIGINT must let the running jobs finish\n" << p.err();
    p.signal(SIGINT);
    // The running jobs would sleep 30 s: exiting well before that is "at once".
    ASSERT_TRUE(p.wait(20s)) << "a second SIGINT did not end the run\n" << p.err();
    EXPECT_EQ(p.exit_code(), 130) << p.err();
    EXPECT_NE(p.err().find("SIGINT: second signal: stopping the 2 running job(s) now"), std::string::npos) << p.err();
    const auto left = wait_no_processes_with_tag(p.tag(), 2s);
    EXPECT_TRUE(left.empty()) << left.size() << " worker(s) survived the emergency exit";
    const auto temps = temp_files_under(out);
    EXPECT_TRUE(temps.empty()) << temps.front();
    // The report says what happened: the two running jobs interrupted, the rest skipped.
    const nlohmann::json report = report_of(config);
    ASSERT_FALSE(report.is_null()) << p.err();
    EXPECT_EQ(check_invariants(report), "") << report.dump();
    EXPECT_EQ(report.at("summary").at("interrupted"), 2) << report.at("summary").dump();
    for (const auto &j : report.at("jobs"))
        if (j.at("status") == "interrupted")
            EXPECT_EQ(j.at("error"), "interrupted: still running at the second signal; its worker was stopped");
        else
            EXPECT_EQ(j.at("status"), "skipped") << j.dump();
}

TEST_P(PoolSignals, WorkersEndedFromOutsideDuringAStopAreReportedAsSuch) {
    // A signal to the whole process group (systemd, a shell's kill -TERM -PGID) ends the
    // workers too: the report says so, not that the grace period ran out.
    const fs::path pids = dir() / "pids";
    const fs::path out = dir() / "out";
    const fs::path config = sleeping_config(pids, out);
    BatchprocProcess p({"run", config.string()}, dir() / "logs");
    ASSERT_TRUE(wait_started(pids, 2, 60s)) << p.err();
    p.signal(SIGTERM);
    std::this_thread::sleep_for(300ms);
    std::set<size_t> running;
    for (const auto &entry : fs::directory_iterator(pids)) {
        running.insert(std::stoul(entry.path().stem().string()));
        ::kill(static_cast<pid_t>(std::stol(read_text(entry.path()))), SIGTERM);
    }
    ASSERT_EQ(running.size(), 2u);
    ASSERT_TRUE(p.wait(8s)) << "the run waited for the grace period although its workers were gone\n" << p.err();
    EXPECT_EQ(p.exit_code(), 130) << p.err();
    const nlohmann::json report = report_of(config);
    ASSERT_FALSE(report.is_null()) << p.err();
    EXPECT_EQ(check_invariants(report), "") << report.dump();
    for (size_t i : running) {
        const auto &j = report.at("jobs").at(i);
        EXPECT_EQ(j.at("status"), "interrupted") << j.dump();
        const std::string error = j.at("error");
        EXPECT_NE(error.find("the run was stopping when its worker ended (killed by signal 15"), std::string::npos)
            << error;
        EXPECT_EQ(error.find("grace period"), std::string::npos) << error;
    }
}

TEST_P(PoolSignals, SigkilledCoordinatorTakesItsWorkersWithIt) {
    const std::string method = GetParam();
    PoolOptions pool;
    pool.start_method = method;
    const fs::path pids = dir() / "pids";
    fs::create_directories(pids);
    const fs::path config = generated_config(
        6, pool, "  - fault: {action: sleep, on_index: \"*\", ms: 30000, pid_dir: " + yaml_quote(pids.string()) + "}\n");
    BatchprocProcess p({"run", config.string()}, dir() / "logs");
    ASSERT_TRUE(wait_started(pids, 2, 60s)) << p.err();
    const std::vector<pid_t> family = processes_with_tag(p.tag());
    // The coordinator, two workers, and for forkserver the helper.
    EXPECT_GE(family.size(), method == "forkserver" ? 4u : 3u);
    p.signal(SIGKILL);
    ASSERT_TRUE(p.wait(10s));
    EXPECT_EQ(p.term_signal(), SIGKILL);
    const auto left = wait_no_processes_with_tag(p.tag(), 2s);
    EXPECT_TRUE(left.empty()) << left.size() << " process(es) outlived the coordinator by 2 s (first: "
                              << (left.empty() ? 0 : left.front()) << ")";
}

INSTANTIATE_TEST_SUITE_P(StartMethods, PoolSignals, ::testing::Values("fork", "spawn", "forkserver"),
                         [](const auto &param_info) { return param_info.param; });

INSTANTIATE_TEST_SUITE_P(StartMethods, PoolFirstSignal,
                         ::testing::Values(std::make_tuple(std::string("fork"), SIGINT),
                                           std::make_tuple(std::string("spawn"), SIGINT),
                                           std::make_tuple(std::string("forkserver"), SIGINT),
                                           std::make_tuple(std::string("forkserver"), SIGTERM)),
                         [](const auto &param_info) {
                             return std::get<0>(param_info.param) + (std::get<1>(param_info.param) == SIGINT ? "_SIGINT" : "_SIGTERM");
                         });

} // namespace
