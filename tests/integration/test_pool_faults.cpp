// Fault injection into the process pool: workers that crash (SIGSEGV, abort, _exit), hang
// past pool.timeout, run out of pool.max_memory, are recycled, die holding the counter lock
// or are killed from outside, workers that cannot even start. Every scenario runs under each start method (fork, spawn,
// forkserver) and checks the report against the contract: the faulty job's status, error
// and attempts, every other job ok, the exit code, the counters invariant and the pool's
// shared counters; and that no process of the run outlives it.
#include "support/run_helpers.hpp"

#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <tuple>

namespace fs = std::filesystem;
using namespace batchproc::test;
using namespace std::chrono_literals;

namespace {

std::string method_name(const ::testing::TestParamInfo<std::string> &param_info) { return param_info.param; }

// Every job but `except` is ok after one attempt, with the `mark` stage's metrics.
void expect_others_ok(const PoolRun &r, const std::set<size_t> &except) {
    const auto &jobs = r.report.at("jobs");
    for (size_t i = 0; i < jobs.size(); ++i) {
        if (except.count(i)) continue;
        const auto &j = jobs[i];
        EXPECT_EQ(j.at("status"), "ok") << "job " << i << ": " << j.dump() << r.diag();
        EXPECT_EQ(j.at("attempts"), 1) << "job " << i << ": " << j.dump();
        EXPECT_TRUE(j.at("error").is_null()) << "job " << i << ": " << j.dump();
        if (j.at("metrics").contains("index")) {
            EXPECT_EQ(j.at("metrics").at("index"), static_cast<int64_t>(i)) << j.dump();
        }
    }
}

void expect_consistent(const PoolRun &r) {
    EXPECT_EQ(check_invariants(r.report), "") << r.diag();
    const auto &pool = r.pool();
    EXPECT_EQ(pool.at("counters_consistent"), true) << pool.dump();
    const auto &c = pool.at("counters");
    const auto &s = r.report.at("summary");
    EXPECT_EQ(c.at("ok"), s.at("ok")) << pool.dump();
    EXPECT_EQ(c.at("failed"), s.at("failed")) << pool.dump();
    EXPECT_EQ(c.at("crashed"), s.at("crashed")) << pool.dump();
    EXPECT_EQ(c.at("timeout"), s.at("timeout")) << pool.dump();
    EXPECT_EQ(c.at("in_flight"), 0) << pool.dump();
    EXPECT_EQ(c.at("done").get<int64_t>(), s.at("total").get<int64_t>() - s.at("skipped").get<int64_t>())
        << pool.dump();
}

class PoolFaults : public PoolHarness, public ::testing::TestWithParam<std::string> {
protected:
    void TearDown() override { expect_no_new_shm(); }
    PoolOptions options() const {
        PoolOptions o;
        o.start_method = GetParam();
        return o;
    }
};

// ---- a worker that dies on one job, every attempt -------------------------------------

class PoolCrash : public PoolHarness, public ::testing::TestWithParam<std::tuple<std::string, std::string>> {
protected:
    void TearDown() override { expect_no_new_shm(); }
};

TEST_P(PoolCrash, PoisonJobIsRetriedThenCrashedAndTheOthersRun) {
    const auto &[method, action] = GetParam();
    PoolOptions pool;
    pool.start_method = method;
    pool.retries = 2;
    const std::string pipeline = "  - fault: {action: " + action + ", on_index: \"3\", code: 7}\n  - mark: {}\n";
    const PoolRun r = run(generated_config(7, pool, pipeline));
    ASSERT_TRUE(r.outcome.finished) << r.diag();
    ASSERT_FALSE(r.report.is_null()) << r.diag();
    EXPECT_EQ(r.outcome.exit_code, 1) << r.diag();

    const auto &bad = r.job(3);
    EXPECT_EQ(bad.at("status"), "crashed") << bad.dump() << r.diag();
    EXPECT_EQ(bad.at("attempts"), pool.retries + 1) << bad.dump();
    const std::string expected = action == "segfault" ? "killed by signal 11 (SIGSEGV)"
                                 : action == "abort"  ? "killed by signal 6 (SIGABRT)"
                                                      : "exited with code 7";
    ASSERT_TRUE(bad.at("error").is_string()) << bad.dump();
    EXPECT_NE(bad.at("error").get<std::string>().find(expected), std::string::npos) << bad.dump();
    expect_others_ok(r, {3});

    const auto &s = r.report.at("summary");
    EXPECT_EQ(s.at("ok"), 6);
    EXPECT_EQ(s.at("crashed"), 1);
    expect_consistent(r);
    const auto &p = r.pool();
    EXPECT_EQ(p.at("retried"), pool.retries) << p.dump();
    EXPECT_EQ(p.at("counters").at("crashed"), 1) << p.dump();
    EXPECT_GE(p.at("worker_deaths").get<int>(), pool.retries + 1) << p.dump();
    EXPECT_GE(p.at("workers_started").get<int>(), 2 + pool.retries) << p.dump();
}

INSTANTIATE_TEST_SUITE_P(StartMethods, PoolCrash,
                         ::testing::Combine(::testing::Values("fork", "spawn", "forkserver"),
                                            ::testing::Values("segfault", "abort", "exit")),
                         [](const auto &param_info) { return std::get<0>(param_info.param) + "_" + std::get<1>(param_info.param); });

// ---- one file that crashes its worker every time, with real images and outputs ---------

TEST_P(PoolFaults, PoisonFileByNameNeverLoopsAndLeavesNoOutput) {
    PoolOptions pool = options();
    pool.retries = 1;
    const fs::path out = dir() / "out";
    const std::string pipeline = "  - fault: {action: segfault, on_name: ladybird}\n"
                                 "  - resize: {max_side: 48, interpolation: area}\n"
                                 "  - save: {format: png}\n";
    const PoolRun r = run(images_config(out, pool, pipeline));
    ASSERT_TRUE(r.outcome.finished) << r.diag();
    ASSERT_FALSE(r.report.is_null()) << r.diag();
    EXPECT_EQ(r.outcome.exit_code, 1) << r.diag();
    int poisoned = 0;
    for (const auto &j : r.report.at("jobs")) {
        const std::string input = j.at("input");
        if (input.find("ladybird") != std::string::npos) {
            ++poisoned;
            EXPECT_EQ(j.at("status"), "crashed") << j.dump();
            EXPECT_EQ(j.at("attempts"), 2) << j.dump();
            EXPECT_NE(j.at("error").get<std::string>().find("SIGSEGV"), std::string::npos) << j.dump();
            EXPECT_TRUE(j.at("output").is_null()) << j.dump();
        } else {
            EXPECT_EQ(j.at("status"), "ok") << j.dump() << r.diag();
            EXPECT_EQ(j.at("attempts"), 1) << j.dump();
            ASSERT_TRUE(j.at("output").is_string()) << j.dump();
        }
    }
    EXPECT_EQ(poisoned, 1);
    EXPECT_GE(r.report.at("summary").at("ok").get<int>(), 5);
    EXPECT_FALSE(fs::exists(out / "ladybird.png"));
    EXPECT_TRUE(fs::exists(out / "dune.png"));
    EXPECT_TRUE(temp_files_under(out).empty()) << temp_files_under(out).front();
    expect_consistent(r);
}

// A stage starts a program that outlives it (`sleep 15 &`) and then crashes: the program must
// not hold the worker's pipes, or the coordinator would learn of the death only when it ends.
TEST_P(PoolFaults, AProgramAStageLeftRunningDoesNotHideTheWorkersDeath) {
    PoolOptions pool = options();
    pool.retries = 0;
    const fs::path out = dir() / "out";
    const std::string pipeline = "  - fault: {action: orphan_then_abort, on_name: ladybird}\n"
                                 "  - save: {format: png}\n";
    const auto start = std::chrono::steady_clock::now();
    const PoolRun r = run(images_config(out, pool, pipeline));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ASSERT_TRUE(r.outcome.finished) << r.diag();
    EXPECT_LT(seconds, 12.0) << "the death was noticed only when the orphan ended" << r.diag();
    for (const auto &j : r.report.at("jobs")) {
        if (j.at("input").get<std::string>().find("ladybird") != std::string::npos) {
            EXPECT_EQ(j.at("status"), "crashed") << j.dump();
        }
    }
    if (std::system("pkill -f '^sleep 15$'") < 0) ADD_FAILURE() << "pkill could not run";
}

// A stage forks (no exec: close-on-exec does not apply) a child that holds the worker's
// pipes for 3 s, then crashes: the coordinator learns of the death from the process (its
// pidfd), not when the pipes close.
TEST_P(PoolFaults, AForkedChildHoldingThePipesDoesNotHideTheWorkersDeath) {
    PoolOptions pool = options();
    pool.retries = 0;
    const std::string pipeline = "  - fault: {action: fork_then_abort, on_index: \"1\"}\n  - mark: {}\n";
    const PoolRun r = run(generated_config(4, pool, pipeline));
    ASSERT_TRUE(r.outcome.finished) << r.diag();
    EXPECT_LT(r.outcome.wall_s, 2.5) << "the death was noticed only when the forked child ended" << r.diag();
    EXPECT_EQ(r.job(1).at("status"), "crashed") << r.job(1).dump();
    EXPECT_NE(r.job(1).at("error").get<std::string>().find("SIGABRT"), std::string::npos) << r.job(1).dump();
    expect_others_ok(r, {1});
    expect_consistent(r);
}

// ---- a crash on the first attempt only --------------------------------------------------

TEST_P(PoolFaults, JobCrashingOnlyOnItsFirstAttemptSucceedsOnRetry) {
    PoolOptions pool = options();
    pool.retries = 1;
    const std::string pipeline = "  - fault: {action: abort, on_index: \"2\", once_file: " +
                                 yaml_quote((dir() / "crashed-once-{index}").string()) + "}\n  - mark: {}\n";
    const PoolRun r = run(generated_config(5, pool, pipeline));
    ASSERT_TRUE(r.outcome.finished) << r.diag();
    ASSERT_FALSE(r.report.is_null()) << r.diag();
    EXPECT_EQ(r.outcome.exit_code, 0) << r.diag();
    EXPECT_TRUE(fs::exists(dir() / "crashed-once-2"));
    const auto &j = r.job(2);
    EXPECT_EQ(j.at("status"), "ok") << j.dump();
    EXPECT_EQ(j.at("attempts"), 2) << j.dump();
    EXPECT_TRUE(j.at("error").is_null()) << j.dump();
    EXPECT_EQ(j.at("metrics").at("index"), 2) << j.dump();
    expect_others_ok(r, {2});
    expect_consistent(r);
    EXPECT_EQ(r.pool().at("retried"), 1) << r.pool().dump();
    EXPECT_GE(r.pool().at("worker_deaths").get<int>(), 1) << r.pool().dump();
}

// ---- hangs ------------------------------------------------------------------------------

TEST_P(PoolFaults, HangingJobTimesOutOnEveryAttempt) {
    PoolOptions pool = options();
    pool.timeout = "1s";
    pool.retries = 1;
    // Job 0 hangs with job 1 queued behind it on the same worker: job 1 must still run.
    const std::string pipeline = "  - fault: {action: hang, on_index: \"0\"}\n  - mark: {}\n";
    const PoolRun r = run(generated_config(6, pool, pipeline), {}, 60s);
    ASSERT_TRUE(r.outcome.finished) << r.diag();
    ASSERT_FALSE(r.report.is_null()) << r.diag();
    EXPECT_EQ(r.outcome.exit_code, 1) << r.diag();
    const auto &j = r.job(0);
    EXPECT_EQ(j.at("status"), "timeout") << j.dump();
    EXPECT_EQ(j.at("attempts"), 2) << j.dump();
    ASSERT_TRUE(j.at("error").is_string()) << j.dump();
    EXPECT_NE(j.at("error").get<std::string>().find("timed out"), std::string::npos) << j.dump();
    expect_others_ok(r, {0});
    expect_consistent(r);
    EXPECT_EQ(r.pool().at("counters").at("timeout"), 1) << r.pool().dump();
    EXPECT_EQ(r.pool().at("retried"), 1) << r.pool().dump();
    // Bounded: two attempts of ~1 s plus at most ~1 s each to kill; never anywhere near the
    // hang's "forever" (the bound is generous on purpose).
    EXPECT_LT(r.outcome.wall_s, 40.0) << r.diag();
}

TEST_P(PoolFaults, HangIgnoringSigtermIsKilledAndTimesOutWithoutRetry) {
    PoolOptions pool = options();
    pool.timeout = "1s";
    pool.retries = 0;
    // SIGTERM is ignored: the pool must follow it with SIGKILL.
    const std::string pipeline = "  - fault: {action: hang, on_index: \"1\", ignore_sigterm: true}\n  - mark: {}\n";
    const PoolRun r = run(generated_config(3, pool, pipeline), {}, 60s);
    ASSERT_TRUE(r.outcome.finished) << r.diag();
    ASSERT_FALSE(r.report.is_null()) << r.diag();
    EXPECT_EQ(r.outcome.exit_code, 1) << r.diag();
    const auto &j = r.job(1);
    EXPECT_EQ(j.at("status"), "timeout") << j.dump();
    EXPECT_EQ(j.at("attempts"), 1) << j.dump();
    expect_others_ok(r, {1});
    expect_consistent(r);
    EXPECT_EQ(r.pool().at("retried"), 0) << r.pool().dump();
    EXPECT_LT(r.outcome.wall_s, 40.0) << r.diag();
}

TEST_P(PoolFaults, JobHangingOnlyOnItsFirstAttemptSucceedsOnRetry) {
    PoolOptions pool = options();
    pool.timeout = "1s";
    pool.retries = 1;
    const std::string pipeline = "  - fault: {action: hang, on_index: \"0\", once_file: " +
                                 yaml_quote((dir() / "hung-once-{index}").string()) + "}\n  - mark: {}\n";
    const PoolRun r = run(generated_config(3, pool, pipeline), {}, 60s);
    ASSERT_TRUE(r.outcome.finished) << r.diag();
    ASSERT_FALSE(r.report.is_null()) << r.diag();
    EXPECT_EQ(r.outcome.exit_code, 0) << r.diag();
    const auto &j = r.job(0);
    EXPECT_EQ(j.at("status"), "ok") << j.dump();
    EXPECT_EQ(j.at("attempts"), 2) << j.dump();
    expect_others_ok(r, {0});
    expect_consistent(r);
    EXPECT_EQ(r.pool().at("retried"), 1) << r.pool().dump();
}

// ---- memory cap -------------------------------------------------------------------------

TEST_P(PoolFaults, AllocationPastMaxMemoryFailsWithOutOfMemory) {
    BP_SKIP_UNLESS_BAD_ALLOC_THROWS();
    PoolOptions pool = options();
    pool.max_memory = "256MiB";
    pool.retries = 1;
    const std::string pipeline = "  - fault: {action: allocate, on_index: \"1\", limit_mb: 2048}\n  - mark: {}\n";
    const PoolRun r = run(generated_config(4, pool, pipeline));
    ASSERT_TRUE(r.outcome.finished) << r.diag();
    ASSERT_FALSE(r.report.is_null()) << r.diag();
    EXPECT_EQ(r.outcome.exit_code, 1) << r.diag();
    const auto &j = r.job(1);
    EXPECT_EQ(j.at("status"), "failed") << j.dump() << r.diag();
    ASSERT_TRUE(j.at("error").is_string()) << j.dump();
    EXPECT_EQ(j.at("error").get<std::string>().rfind("out of memory", 0), 0u) << j.dump();
    EXPECT_EQ(j.at("attempts"), 1) << j.dump(); // an ordinary failure: not retried
    expect_others_ok(r, {1});
    expect_consistent(r);
    EXPECT_EQ(r.pool().at("counters").at("failed"), 1) << r.pool().dump();
}

// ---- recycling --------------------------------------------------------------------------

TEST_P(PoolFaults, WorkersAreRecycledAfterMaxJobsPerWorker) {
    PoolOptions pool = options();
    pool.max_jobs_per_worker = 2;
    const PoolRun r = run(generated_config(10, pool, "  - mark: {}\n"));
    ASSERT_TRUE(r.outcome.finished) << r.diag();
    ASSERT_FALSE(r.report.is_null()) << r.diag();
    EXPECT_EQ(r.outcome.exit_code, 0) << r.diag();
    expect_others_ok(r, {});
    expect_consistent(r);
    EXPECT_GE(r.pool().at("workers_started").get<int>(), 5) << r.pool().dump();
    EXPECT_EQ(r.pool().at("worker_deaths"), 0) << r.pool().dump();
    std::map<int64_t, int> per_worker;
    for (const auto &j : r.report.at("jobs")) per_worker[j.at("worker_pid").get<int64_t>()] += 1;
    for (const auto &[pid, n] : per_worker) EXPECT_LE(n, 2) << "worker " << pid << " ran " << n << " jobs";
}

// ---- a worker dying while it holds the counter lock ---------------------------------------

TEST_P(PoolFaults, WorkerDyingHoldingTheCounterLockIsRepaired) {
    // Job 1's worker dies of SIGKILL in the middle of a counter update (first attempt only):
    // the next locker repairs the lock and undoes the half-update; the job is retried.
    const std::string fault = "  - fault: {action: die_holding_counter_lock, on_index: \"1\", once_file: " +
                              yaml_quote((dir() / "died-{index}").string()) + "}\n  - mark: {}\n";
    const PoolRun r = run(generated_config(6, options(), fault));
    ASSERT_TRUE(r.outcome.finished) << r.diag();
    ASSERT_FALSE(r.report.is_null()) << r.diag();
    EXPECT_EQ(r.outcome.exit_code, 0) << r.diag();
    expect_others_ok(r, {1});
    EXPECT_EQ(r.report.at("jobs").at(1).at("status"), "ok") << r.report.at("jobs").at(1).dump();
    EXPECT_EQ(r.report.at("jobs").at(1).at("attempts"), 2) << r.report.at("jobs").at(1).dump();
    expect_consistent(r);
    const auto &p = r.pool();
    EXPECT_GE(p.at("lock_repairs").get<int>(), 1) << p.dump();
    EXPECT_GE(p.at("worker_deaths").get<int>(), 1) << p.dump();
    EXPECT_EQ(p.at("counters").at("done"), 6) << p.dump();
    EXPECT_EQ(p.at("counters").at("ok"), 6) << p.dump();
}

// ---- a worker killed from outside mid-job -------------------------------------------------

class PoolKilledWorker : public PoolHarness, public ::testing::TestWithParam<std::tuple<std::string, int>> {
protected:
    void TearDown() override { expect_no_new_shm(); }
};

TEST_P(PoolKilledWorker, JobOfAWorkerKilledFromOutsideIsRetriedOrCrashed) {
    const auto &[method, retries] = GetParam();
    PoolOptions pool;
    pool.start_method = method;
    pool.retries = retries;
    const fs::path pids = dir() / "pids";
    fs::create_directories(pids);
    const fs::path marker = dir() / "sleeping-2";
    // Job 2 sleeps (for long) on its first attempt only; the test kills its worker meanwhile.
    const std::string pipeline = "  - fault: {action: sleep, ms: 60000, on_index: \"2\", once_file: " +
                                 yaml_quote((dir() / "sleeping-{index}").string()) +
                                 ", pid_dir: " + yaml_quote(pids.string()) + "}\n  - mark: {}\n";
    const fs::path config = generated_config(5, pool, pipeline);
    BatchprocProcess p({"run", config.string()}, dir() / "logs");
    ASSERT_TRUE(wait_for_file(marker, 60s)) << "job 2 never started\n" << p.err();
    const pid_t worker = static_cast<pid_t>(std::stol(read_text(pids / "2.pid")));
    ASSERT_NE(worker, p.pid());
    const std::vector<pid_t> family = processes_with_tag(p.tag());
    ASSERT_NE(std::find(family.begin(), family.end(), worker), family.end())
        << "pid " << worker << " is not a process of the run";
    ASSERT_EQ(::kill(worker, SIGKILL), 0);
    ASSERT_TRUE(p.wait(60s)) << "the run did not finish\n" << p.err();
    EXPECT_TRUE(wait_no_processes_with_tag(p.tag(), 3s).empty());

    PoolRun r;
    r.config = config;
    r.outcome.exit_code = p.exit_code();
    r.outcome.err = p.err();
    r.report = report_of(config);
    ASSERT_FALSE(r.report.is_null()) << r.diag();
    const auto &j = r.job(2);
    if (retries > 0) {
        EXPECT_EQ(p.exit_code(), 0) << r.diag();
        EXPECT_EQ(j.at("status"), "ok") << j.dump();
        EXPECT_EQ(j.at("attempts"), 2) << j.dump();
        EXPECT_EQ(r.pool().at("retried"), 1) << r.pool().dump();
    } else {
        EXPECT_EQ(p.exit_code(), 1) << r.diag();
        EXPECT_EQ(j.at("status"), "crashed") << j.dump();
        EXPECT_EQ(j.at("attempts"), 1) << j.dump();
        ASSERT_TRUE(j.at("error").is_string()) << j.dump();
        EXPECT_NE(j.at("error").get<std::string>().find("killed by signal 9 (SIGKILL)"), std::string::npos) << j.dump();
    }
    if (retries > 0) {
        EXPECT_NE(j.at("worker_pid"), worker) << "the retry ran in the killed worker? " << j.dump();
    } else {
        EXPECT_EQ(j.at("worker_pid"), worker) << j.dump();
    }
    expect_others_ok(r, {2});
    expect_consistent(r);
    EXPECT_GE(r.pool().at("worker_deaths").get<int>(), 1) << r.pool().dump();
}

// ---- workers that cannot start at all --------------------------------------------------

TEST(PoolInfrastructure, SpawnedWorkersThatCannotStartEndTheRunWithExitCode3) {
    PoolHarness h;
    PoolOptions pool;
    pool.start_method = "spawn";
    const PoolRun r = h.run(h.generated_config(4, pool, "  - mark: {}\n"), {{"BATCHPROC_WORKER_EXE", "/bin/false"}}, 60s);
    ASSERT_TRUE(r.outcome.finished) << "the pool kept starting workers that die at once" << r.diag();
    EXPECT_EQ(r.outcome.exit_code, 3) << r.diag();
    EXPECT_NE(r.outcome.err.find("workers keep dying"), std::string::npos) << r.diag();
    h.expect_no_new_shm();
}

// A worker whose stages cannot be created dies before running any job. After a few of
// those the run ends as an infrastructure error (exit code 3) within a bounded time, even
// while another worker is stuck in a job that never ends (pool.timeout 0), and the worker's
// failure never runs the coordinator's code (under fork/forkserver an exception escaping
// the worker would unwind through the coordinator's copied frames).
class PoolStartupFailure : public PoolHarness, public ::testing::TestWithParam<std::string> {
protected:
    void TearDown() override { expect_no_new_shm(); }
};

size_t count_of(const std::string &text, const std::string &what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

TEST_P(PoolStartupFailure, WorkersThatCannotCreateTheirStagesEndTheRunWithExitCode3) {
    PoolOptions pool;
    pool.start_method = GetParam();
    pool.timeout = "0";
    const std::string marker = (dir() / "no-more-workers").string();
    // Worker A hangs in job 0 for ever; worker B crashes in job 2 after creating the marker;
    // every worker started after that fails to create the second stage.
    const std::string pipeline = "  - fault: {action: hang, on_index: \"0\"}\n"
                                 "  - fault: {action: segfault, on_index: \"2\", once_file: " +
                                 yaml_quote(marker) + ", fail_create_if_exists: " + yaml_quote(marker) +
                                 "}\n  - mark: {}\n";
    const PoolRun r = run(generated_config(4, pool, pipeline), {}, 60s);
    ASSERT_TRUE(r.outcome.finished) << "the run did not end" << r.diag();
    EXPECT_EQ(r.outcome.exit_code, 3) << r.diag();
    EXPECT_NE(r.outcome.err.find("workers keep dying"), std::string::npos) << r.diag();
    EXPECT_NE(r.outcome.err.find("cannot be created while"), std::string::npos) << r.diag();
    EXPECT_EQ(count_of(r.outcome.err, "internal error"), 1u) << "only the coordinator reports the internal error"
                                                              << r.diag();
}

TEST_P(PoolStartupFailure, WorkersStuckBeforeTheirFirstJobAreReplacedThenEndTheRun) {
    PoolOptions pool;
    pool.start_method = GetParam();
    pool.workers = 1;
    pool.timeout = "1s";
    const std::string marker = (dir() / "stuck-from-now-on").string();
    // Job 1 crashes once, after creating the marker; every worker started after that hangs
    // while creating its stages, holding the jobs it was sent. Each is replaced when
    // pool.timeout passes without a job started; after three, the run ends (exit 3)
    // instead of waiting for ever.
    const std::string pipeline = "  - fault: {action: segfault, on_index: \"1\", once_file: " + yaml_quote(marker) +
                                 ", hang_create_if_exists: " + yaml_quote(marker) + "}\n  - mark: {}\n";
    const PoolRun r = run(generated_config(4, pool, pipeline), {}, 60s);
    ASSERT_TRUE(r.outcome.finished) << "the run did not end" << r.diag();
    EXPECT_EQ(r.outcome.exit_code, 3) << r.diag();
    EXPECT_NE(r.outcome.err.find("none started one within pool.timeout (1 s)"), std::string::npos) << r.diag();
    EXPECT_LT(r.outcome.wall_s, 30.0) << r.diag();
    // What was done before the internal error is kept: the report is written, job 0 is ok,
    // the jobs that never ran are skipped, and the summary names the error.
    ASSERT_FALSE(r.report.is_null()) << "no report after an internal error" << r.diag();
    EXPECT_EQ(r.job(0).at("status"), "ok") << r.report.dump(1);
    EXPECT_EQ(r.job(3).at("status"), "skipped") << r.report.dump(1);
    EXPECT_NE(r.job(3).at("error").get<std::string>().find("internal error"), std::string::npos) << r.report.dump(1);
    EXPECT_NE(r.report.at("summary").at("error").get<std::string>().find("pool.timeout"), std::string::npos)
        << r.report.dump(1);
    EXPECT_EQ(check_invariants(r.report), "") << r.report.dump(1);
}

// The forkserver killed from outside: its workers die with it and no new one can be
// started. The run ends (exit 3) but keeps what was done: a report with the finished jobs
// ok and the rest skipped, the error in its summary.
TEST(PoolForkServerKilled, TheRunEndsWithItsReportAndTheFinishedJobsKept) {
    PoolHarness h;
    PoolOptions pool;
    pool.start_method = "forkserver";
    const fs::path config = h.generated_config(40, pool, "  - fault: {action: sleep, ms: 150, on_index: \"*\"}\n  - mark: {}\n");
    BatchprocProcess p({"run", config.string()}, h.dir() / "logs");
    // Wait until some jobs are done, then kill the coordinator's only child: the forkserver.
    std::vector<pid_t> children;
    for (int i = 0; i < 400 && children.empty(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        children = children_of(p.pid());
    }
    ASSERT_EQ(children.size(), 1u) << "the forkserver";
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    ::kill(children[0], SIGKILL);
    ASSERT_TRUE(p.wait(std::chrono::seconds(60)));
    EXPECT_EQ(p.exit_code(), 3) << p.err();
    const nlohmann::json report = PoolHarness::report_of(config);
    ASSERT_FALSE(report.is_null()) << "no report after the forkserver died" << p.err();
    const auto counts = status_counts(report);
    EXPECT_GE(counts.count("ok") ? counts.at("ok") : 0, 2) << report.dump(1);
    EXPECT_GE(counts.count("skipped") ? counts.at("skipped") : 0, 1) << report.dump(1);
    EXPECT_NE(report.at("summary").at("error").get<std::string>().find("forkserver"), std::string::npos)
        << report.at("summary").dump();
    EXPECT_EQ(check_invariants(report), "");
    EXPECT_TRUE(wait_no_processes_with_tag(p.tag(), std::chrono::seconds(5)).empty());
}

TEST_P(PoolStartupFailure, StageTooBigForMaxMemoryEndsTheRunWithExitCode3) {
    BP_SKIP_UNLESS_BAD_ALLOC_THROWS();
    PoolOptions pool;
    pool.start_method = GetParam();
    pool.max_memory = "64MiB";
    // The stage takes 128 MiB when it is created: fine in the coordinator, too much for a
    // worker capped at 64 MiB above its start-up size.
    const PoolRun r = run(generated_config(3, pool, "  - fault: {create_mb: 128}\n  - mark: {}\n"), {}, 60s);
    ASSERT_TRUE(r.outcome.finished) << "the run did not end" << r.diag();
    EXPECT_EQ(r.outcome.exit_code, 3) << r.diag();
    EXPECT_NE(r.outcome.err.find("workers keep dying"), std::string::npos) << r.diag();
    EXPECT_NE(r.outcome.err.find("pool.max_memory"), std::string::npos) << r.diag();
    EXPECT_EQ(count_of(r.outcome.err, "internal error"), 1u) << r.diag();
}

INSTANTIATE_TEST_SUITE_P(StartMethods, PoolStartupFailure, ::testing::Values("fork", "spawn", "forkserver"),
                         method_name);

INSTANTIATE_TEST_SUITE_P(StartMethods, PoolKilledWorker,
                         ::testing::Combine(::testing::Values("fork", "spawn", "forkserver"), ::testing::Values(0, 1)),
                         [](const auto &param_info) {
                             return std::get<0>(param_info.param) + "_retries" + std::to_string(std::get<1>(param_info.param));
                         });

INSTANTIATE_TEST_SUITE_P(StartMethods, PoolFaults, ::testing::Values("fork", "spawn", "forkserver"), method_name);

} // namespace
