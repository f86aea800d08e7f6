// The run report (JSON, as the contract) and the summary printed at the end.
#pragma once

#include "config/spec.hpp"
#include "engine/job_record.hpp"
#include "inputs/job_plan.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace batchproc {

struct RunSummary {
    size_t total = 0;
    size_t ok = 0, failed = 0, timeout = 0, crashed = 0, skipped = 0;
    size_t interrupted = 0; // running when the run was stopped
    size_t unchanged = 0; // done by an earlier run (resume)
    size_t warned = 0; // ok jobs with warnings
    double wall_s = 0;
    std::string mode;
    int workers = 1;
    std::string start_method; // "" unless processes mode
    std::string slowest_stage; // by total time over all jobs
    double slowest_stage_ms = 0;
    nlohmann::ordered_json details; // executor figures (processes mode: workers started, lock repairs...)
    std::string error;              // the internal error that ended the run early; "" when none
};

// Time per stage over all jobs (for the slowest stage): the run folds each record's stage
// timings in as the job finishes, and drops them from the record.
using StageTotals = std::map<std::string, double>;

// `stage_totals`: the run's totals; null to add up the records' own stage timings.
RunSummary summarize(const std::vector<JobRecord> &records, double wall_s, const PoolSpec &pool, int workers,
                     const StageTotals *stage_totals = nullptr);

nlohmann::ordered_json build_report(const RunSpec &spec, const std::vector<PlannedJob> &jobs,
                                    const std::vector<JobRecord> &records, const RunSummary &summary);

// Human-readable summary: counts by status, wall time, files/s, the slowest stage.
std::string format_summary(const RunSummary &summary);

} // namespace batchproc
