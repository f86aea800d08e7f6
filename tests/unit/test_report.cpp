#include "engine/report.hpp"

#include <gtest/gtest.h>

using namespace batchproc;

namespace {
JobRecord record(JobStatus s, std::vector<StageTiming> stages = {}) {
    JobRecord r;
    r.status = s;
    r.attempts = 1;
    r.worker_pid = 77;
    r.ms = 2.5;
    r.stage_ms = std::move(stages);
    return r;
}
} // namespace

TEST(Report, SummaryCountsEveryStatusAndFindsTheSlowestStage) {
    std::vector<JobRecord> records{record(JobStatus::ok, {{"resize", 3}, {"save", 5}}),
                                   record(JobStatus::ok, {{"resize", 4}, {"save", 1}}),
                                   record(JobStatus::failed), record(JobStatus::crashed), record(JobStatus::timeout),
                                   record(JobStatus::skipped)};
    records[1].warnings = {"damaged"};
    PoolSpec pool;
    pool.mode = PoolMode::processes;
    pool.start_method = StartMethod::spawn;
    const RunSummary s = summarize(records, 2.0, pool, 2);
    EXPECT_EQ(s.total, 6u);
    EXPECT_EQ(s.ok, 2u);
    EXPECT_EQ(s.failed, 1u);
    EXPECT_EQ(s.crashed, 1u);
    EXPECT_EQ(s.timeout, 1u);
    EXPECT_EQ(s.skipped, 1u);
    EXPECT_EQ(s.warned, 1u);
    EXPECT_EQ(s.slowest_stage, "resize"); // 7 ms against save's 6
    EXPECT_DOUBLE_EQ(s.slowest_stage_ms, 7.0);
    EXPECT_EQ(s.start_method, "spawn");
    const std::string text = format_summary(s);
    EXPECT_NE(text.find("6 jobs: 2 ok, 1 failed, 1 timeout, 1 crashed, 1 skipped"), std::string::npos) << text;
    EXPECT_NE(text.find("2.5 files/s"), std::string::npos) << text; // 5 run in 2 s
    EXPECT_NE(text.find("slowest stage: resize"), std::string::npos) << text;
}

TEST(Report, JobsCarryTheContractFields) {
    RunSpec spec;
    spec.base_dir = "/base";
    spec.display_base = "/base";
    std::vector<PlannedJob> jobs(2);
    jobs[0].input = "/base/in/a.jpg";
    jobs[0].display = "in/a.jpg";
    jobs[0].outputs = {"/base/out/a.jpg"};
    jobs[1].input = "/base/in/b.jpg";
    jobs[1].display = "in/b.jpg";
    jobs[1].outputs = {"/base/out/b.jpg"};
    std::vector<JobRecord> records{record(JobStatus::ok), record(JobStatus::failed)};
    records[0].metrics_json = R"({"width":3,"height":2})";
    records[1].error = "truncated JPEG: premature end of data";
    PoolSpec pool;
    pool.mode = PoolMode::serial;
    const auto report = build_report(spec, jobs, records, summarize(records, 1.0, pool, 1));
    EXPECT_EQ(report["summary"]["total"], 2);
    EXPECT_TRUE(report["summary"]["start_method"].is_null()); // not processes mode
    const auto &ok = report["jobs"][0];
    EXPECT_EQ(ok["input"], "in/a.jpg");
    EXPECT_EQ(ok["output"], "out/a.jpg");
    EXPECT_EQ(ok["status"], "ok");
    EXPECT_TRUE(ok["error"].is_null());
    EXPECT_EQ(ok["attempts"], 1);
    EXPECT_EQ(ok["worker_pid"], 77);
    EXPECT_EQ(ok["metrics"]["width"], 3);
    const auto &bad = report["jobs"][1];
    EXPECT_EQ(bad["status"], "failed");
    EXPECT_TRUE(bad["output"].is_null()); // nothing was written
    EXPECT_EQ(bad["error"], "truncated JPEG: premature end of data");
}
