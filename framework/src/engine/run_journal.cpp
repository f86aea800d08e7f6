#include "engine/run_journal.hpp"

#include "journal/recipe_stamp.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

namespace batchproc {

RunJournal::RunJournal(const RunSpec &spec, Journal journal, std::string stamp, bool force, std::string run_id)
    : spec_(spec), journal_(std::move(journal)), stamp_(std::move(stamp)), force_(force), run_id_(std::move(run_id)) {}

std::unique_ptr<RunJournal> RunJournal::open(const RunSpec &spec, const PipelinePlan &plan, bool force,
                                             const std::string &command) {
    const std::optional<std::filesystem::path> path = journal_path_for(spec);
    if (!path) return nullptr;
    const std::string run_id = std::to_string(unix_now_ns()) + "-" + std::to_string(::getpid());
    Journal journal = Journal::open(*path, run_id, force, command);
    return std::unique_ptr<RunJournal>(
        new RunJournal(spec, std::move(journal), recipe_stamp(spec, plan), force || !spec.resume.enabled, run_id));
}

const std::vector<JobVerdict> &RunJournal::judge(const std::vector<PlannedJob> &jobs) {
    rows_ = journal_.load(); // the verdicts point into rows_, which stays put from here on
    verdicts_ = judge_jobs(spec_, jobs, rows_, stamp_, force_);
    return verdicts_;
}

JobRecord RunJournal::record_for_skipped(const JobVerdict &verdict) {
    JobRecord r;
    if (verdict.verdict == Verdict::given_up) {
        r.status = JobStatus::crashed;
        r.error = verdict.detail;
        r.attempts = verdict.row != nullptr ? verdict.row->died_running : 0;
        return r;
    }
    r.status = JobStatus::unchanged;
    if (verdict.row != nullptr) {
        r.metrics_json = verdict.row->metrics_json;
        r.ms = verdict.row->ms;
        r.attempts = verdict.row->attempts;
        r.worker_pid = static_cast<long>(verdict.row->worker_pid);
    }
    return r;
}

void RunJournal::warn_once(const std::exception &e) {
    if (warned_) return;
    warned_ = true;
    spdlog::error("the journal {} cannot be written: {}; the outputs are not affected, but a rerun may redo "
                  "jobs this run finished",
                  journal_.path().string(), e.what());
}

JournalRow &RunJournal::row_for(size_t job, const PlannedJob &planned) {
    // One row, refilled for every job: its strings keep their buffers from job to job.
    const JobVerdict &verdict = verdicts_.at(job);
    JournalRow &row = row_;
    row.key = planned.key;
    row.input = verdict.input;
    row.recipe = stamp_;
    row.output_path = planned.outputs.empty() ? std::string() : planned.outputs.front().native();
    row.output = FileIdentity{};
    row.more_outputs.resize(planned.outputs.empty() ? 0 : planned.outputs.size() - 1);
    for (size_t o = 1; o < planned.outputs.size(); ++o) {
        row.more_outputs[o - 1].path = planned.outputs[o].native();
        row.more_outputs[o - 1].identity = FileIdentity{};
    }
    row.error.clear();
    row.died_running = verdict.row == nullptr ? 0 : verdict.row->died_running;
    row.metrics_json = "{}";
    row.ms = 0;
    row.worker_pid = 0;
    row.run_id = run_id_;
    row.started_unix_ns = row.ended_unix_ns = 0;
    return row;
}

void RunJournal::started(size_t job, const PlannedJob &planned) {
    // A whole row, not just a mark: should this job kill the process, the next run must
    // still know the input and recipe the deaths belong to.
    JournalRow &row = row_for(job, planned);
    row.status = "running";
    row.attempts = verdicts_.at(job).row == nullptr ? 0 : verdicts_.at(job).row->attempts;
    row.started_unix_ns = unix_now_ns();
    try {
        journal_.record(row);
        journal_.flush();
    } catch (const std::exception &e) {
        warn_once(e);
    }
}

void RunJournal::finished(size_t job, const PlannedJob &planned, const JobRecord &record) {
    if (record.status == JobStatus::skipped || record.status == JobStatus::unchanged || record.status == JobStatus::pending)
        return;
    JournalRow &row = row_for(job, planned);
    row.status = to_string(record.status);
    row.error = record.error;
    row.attempts = record.attempts;
    if (record.status == JobStatus::ok) row.died_running = 0; // deaths of the whole run count until it succeeds
    row.metrics_json = record.metrics_json;
    row.ms = record.ms;
    row.worker_pid = record.worker_pid;
    row.ended_unix_ns = unix_now_ns();
    row.started_unix_ns = row.ended_unix_ns - static_cast<int64_t>(record.ms * 1e6);
    write_row(row);
}

void RunJournal::write_row(JournalRow &row) {
    try {
        // The output's size and mtime, which a rerun checks it against.
        if (row.status == "ok" && !row.output_path.empty()) row.output = identify_file(row.output_path, false);
        if (row.status == "ok")
            for (JournalOutput &o : row.more_outputs) o.identity = identify_file(o.path, false);
        journal_.record(row);
    } catch (const std::exception &e) {
        warn_once(e);
    }
}

void RunJournal::end(int exit_code) {
    try {
        journal_.end_run(exit_code);
    } catch (const std::exception &e) {
        warn_once(e);
    }
}

} // namespace batchproc
