// A run's use of the journal: open it, judge the plan against it (resume), note jobs as
// they start (serial and threads mode, where a crash ends the whole process) and record
// every outcome. Only the coordinating process ever touches it.
#pragma once

#include "engine/job_record.hpp"
#include "journal/journal.hpp"
#include "journal/resume.hpp"
#include "plugin_host/pipeline.hpp"

#include <memory>
#include <string>
#include <vector>

namespace batchproc {

class RunJournal {
public:
    // nullptr when the run keeps no journal (journal: false, or nowhere to put one). With
    // `force` the journal starts afresh. Throws JournalError. `spec` must outlive it.
    static std::unique_ptr<RunJournal> open(const RunSpec &spec, const PipelinePlan &plan, bool force,
                                            const std::string &command);

    const std::filesystem::path &path() const { return journal_.path(); }
    // One verdict per job (resume.hpp). With `force` every job runs.
    const std::vector<JobVerdict> &judge(const std::vector<PlannedJob> &jobs);
    // The record a skipped job shows in the report: `unchanged` with its earlier metrics, or
    // `crashed` for a job given up on.
    static JobRecord record_for_skipped(const JobVerdict &verdict);

    // Serial and threads mode, before the job runs: committed at once, so that a crash in
    // the job leaves a trace the next run finds (the job counts as a crashed attempt).
    void started(size_t job, const PlannedJob &planned);
    // Records the outcome of the plan's job `job` (skipped jobs are not recorded: the row of
    // the last real attempt stays).
    void finished(size_t job, const PlannedJob &planned, const JobRecord &record);
    // Commits everything and records the run's end.
    void end(int exit_code);

private:
    RunJournal(const RunSpec &spec, Journal journal, std::string stamp, bool force, std::string run_id);
    void warn_once(const std::exception &e);
    JournalRow &row_for(size_t job, const PlannedJob &planned); // row_ with the fields both kinds of row share
    void write_row(JournalRow &row);

    const RunSpec &spec_;
    Journal journal_;
    std::string stamp_;
    bool force_;
    std::string run_id_;
    std::unordered_map<std::string, JournalRow> rows_;
    std::vector<JobVerdict> verdicts_;
    JournalRow row_; // the row being written (reused)
    bool warned_ = false;
};

} // namespace batchproc
