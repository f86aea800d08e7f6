// A whole run: config -> validated spec -> pipeline plan -> job plan -> executor -> report.
#pragma once

#include "config/spec.hpp"
#include "engine/job_record.hpp"
#include "engine/report.hpp"
#include "inputs/job_plan.hpp"
#include "plugin_host/pipeline.hpp"

#include <filesystem>
#include <memory>
#include <optional>
#include <functional>
#include <string>
#include <vector>

namespace batchproc {

struct PreparedRun {
    RunSpec spec;
    std::unique_ptr<PluginRegistry> registry;
    PipelinePlan plan;
    std::vector<PlannedJob> jobs;
    size_t plan_size = 0; // jobs in the whole plan (more than jobs.size() for a shard)
};

// Everything that can be checked before a job runs: config, plugins, stage parameters,
// inputs, output names. Throws ConfigError (exit code 2).
// With a shard (--shard I/N), the whole plan is built and checked, then only the shard's
// jobs are kept (plan_size tells how many there were) and the report goes to the shard's
// own file (report.shard-IIII-of-NNNN.json).
PreparedRun prepare_run(const std::filesystem::path &config, const std::vector<std::string> &overrides,
                        const ShardSpec &shard = {});

struct RunOptions {
    bool progress = false;       // show progress at all
    bool terminal = false;       // stderr is a terminal: redraw one line
    bool write_report = true;
    bool use_journal = true;     // record outcomes in the journal and skip unchanged jobs
    bool force = false;          // --force: run every job, start the journal afresh
    std::string command;         // how the run was started, for the journal's runs table
    // Serial and threads mode: the run ends on the watchdog's thread instead of returning (a
    // job past pool.timeout, a stop whose running jobs did not finish; see
    // engine/in_process_watch.hpp). Called with the result, report written, just before the
    // process exits with result.exit_code: print what the caller prints at the end.
    std::function<void(const struct RunResult &)> abandoned;
};

struct RunResult {
    int exit_code = 0;
    bool interrupted = false;
    bool report_written = false; // the report is at spec.report
    RunSummary summary;
    std::vector<JobRecord> records;
};

// Runs the prepared jobs with the executor the spec's pool names, skipping what the journal
// shows unchanged, writes the report (when configured) and returns the exit code per the
// contract: 0 all ok or unchanged, 1 some failed, 3 internal error, 130 interrupted. Throws
// JournalError when the journal cannot be used (in use by another run, damaged): nothing ran.
RunResult execute_run(PreparedRun &run, const RunOptions &options);

// workers x threads_per_worker against the cores: the worker count to use, and a warning
// ("" when none) when the user asked for more than the machine has.
struct ThreadBudget {
    int workers = 1;
    int threads_per_worker = 1;
    std::string warning;
};
ThreadBudget plan_thread_budget(const PoolSpec &pool, int cores);

} // namespace batchproc
