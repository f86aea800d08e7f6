// The one interface behind serial, threads and processes execution.
#pragma once

#include "config/spec.hpp"
#include "engine/job_record.hpp"
#include "engine/progress.hpp"
#include "engine/run_counters.hpp"
#include "inputs/job_plan.hpp"
#include "plugin_host/pipeline.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <vector>

namespace batchproc {

struct ExecutionContext {
    const RunSpec &spec;
    const PipelinePlan &plan;
    const std::vector<PlannedJob> &jobs;
    std::vector<JobRecord> &records;          // one per job, same order; executors fill them
    RunCounters &counters;                    // serial and threads update it (progress)
    const std::atomic<int> &stop_requested;   // >0: hand out no more jobs (SIGINT/SIGTERM)
    std::function<void(const PlannedJob &, const JobRecord &)> on_finished; // may be empty
    // Serial and threads mode: called just before a job runs, one call at a time (a crash in
    // the job ends the whole process). May be empty.
    std::function<void(const PlannedJob &)> on_started = {};
};

class Executor {
public:
    virtual ~Executor() = default;
    // Runs every job, or stops handing them out once stop_requested is set; jobs never
    // started stay `pending` (the caller records them as skipped).
    virtual void execute(ExecutionContext &ctx) = 0;
    // Called before the coordinator starts any thread of its own (progress): where a
    // forkserver or forked workers must be started.
    virtual void prepare(ExecutionContext &) {}
    // Counts for the progress line, from wherever the executor keeps them live (the process
    // pool: its shared counters). Called from the progress thread.
    virtual ProgressCounts progress(const ExecutionContext &ctx) const {
        return {ctx.counters.done.load(), ctx.jobs.size(), ctx.counters.failed.load()};
    }
    // Executor-specific figures for the report's summary (null when none).
    virtual nlohmann::ordered_json details() const { return nullptr; }
    // Worker count actually used (after `auto`).
    virtual int workers() const = 0;
};

std::unique_ptr<Executor> make_executor(const PoolSpec &pool);

// The cores this process may use: its CPU affinity, capped by SLURM_CPUS_PER_TASK when set.
int available_cores();
// pool.workers resolved: `auto` (0) -> available cores.
int resolve_workers(const PoolSpec &pool);

} // namespace batchproc
