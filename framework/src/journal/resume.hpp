// Resume: which jobs of a plan the journal shows done and unchanged, and why each other one
// must run. `batchproc run` skips the first kind and `batchproc status` lists both.
#pragma once

#include "config/spec.hpp"
#include "inputs/job_plan.hpp"
#include "journal/file_identity.hpp"
#include "journal/journal.hpp"

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace batchproc {

// Where a run's journal lives: journal: PATH when given; else
// <output.dir>/.batchproc/journal.sqlite; else <report's folder>/.batchproc/journal.sqlite;
// a shard's (--shard) with its suffix (journal.shard-0003-of-0016.sqlite);
// nullopt when journal: false or the config has neither an output.dir nor a report.
std::optional<std::filesystem::path> journal_path_for(const RunSpec &spec);

enum class Verdict {
    unchanged, // done by an earlier run: skipped, reported `unchanged` with its earlier metrics
    run,       // runs (see RunReason)
    given_up,  // the whole run died while this job ran, more than pool.retries times: `crashed`, not run
};

enum class RunReason { none, new_job, changed_input, changed_recipe, output_missing, failed_before, forced };
const char *to_string(RunReason reason); // "new", "changed input", "changed recipe", ...

struct JobVerdict {
    Verdict verdict = Verdict::run;
    RunReason reason = RunReason::new_job;
    std::string detail;        // for people: what changed ("size 1200 -> 1300"), or the earlier error
    FileIdentity input;        // the input now (exists = false for generated jobs)
    const JournalRow *row = nullptr; // the journal's row for the job, if any
};

// Judges every job against the journal's rows. `force` (--force, or resume: false) runs
// every job (reason `forced`). A job is unchanged when its row is `ok`, its recipe stamp is
// `stamp`, its input has the same identity (size, mtime, device, inode; or with
// resume.verify: content the same size and bytes), and its output is where the row says
// with the recorded size and mtime. Nothing is decoded.
std::vector<JobVerdict> judge_jobs(const RunSpec &spec, const std::vector<PlannedJob> &jobs,
                                   const std::unordered_map<std::string, JournalRow> &rows, const std::string &stamp,
                                   bool force);

// The sentence a job given up on carries as its error.
std::string given_up_error(int deaths);

} // namespace batchproc
