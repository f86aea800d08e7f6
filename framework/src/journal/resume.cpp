#include "journal/resume.hpp"

#include <cstdio>

namespace fs = std::filesystem;

namespace batchproc {

std::optional<fs::path> journal_path_for(const RunSpec &spec) {
    if (!spec.journal.enabled) return std::nullopt;
    // One journal per shard: SQLite must not have writers on several NFS clients.
    if (!spec.journal.path.empty()) return shard_file(spec.journal.path, spec.shard);
    if (!spec.output.dir.empty()) return shard_file(spec.output.dir / ".batchproc" / "journal.sqlite", spec.shard);
    if (spec.report) return shard_file(spec.report->parent_path() / ".batchproc" / "journal.sqlite", spec.shard);
    return std::nullopt;
}

const char *to_string(RunReason reason) {
    switch (reason) {
    case RunReason::none: return "unchanged";
    case RunReason::new_job: return "new";
    case RunReason::changed_input: return "changed input";
    case RunReason::changed_recipe: return "changed recipe";
    case RunReason::output_missing: return "output missing";
    case RunReason::failed_before: return "failed before";
    case RunReason::forced: return "forced";
    }
    return "?";
}

std::string given_up_error(int deaths) {
    return "the run died while this job was running, " + std::to_string(deaths) +
           " times; it is not run again until its input or the recipe changes (--force runs it): run it alone in "
           "processes mode (--mode processes) to see what kills it";
}

namespace {

std::string change_of(const char *what, uint64_t was, uint64_t now) {
    return std::string(what) + " " + std::to_string(was) + " -> " + std::to_string(now);
}

// "" when `now` is the input the row was made from.
std::string input_change(const FileIdentity &was, const FileIdentity &now, bool by_content) {
    if (was.exists != now.exists) return now.exists ? "the input appeared" : "the input is gone";
    if (!now.exists) return "";
    if (was.size != now.size) return change_of("size", was.size, now.size);
    if (by_content) return was.content_hash == now.content_hash ? "" : "its content changed";
    if (was.mtime_ns != now.mtime_ns) return "modified since the last run";
    if (was.dev != now.dev || was.ino != now.ino) return "replaced by another file";
    return "";
}

JobVerdict judge(const RunSpec &spec, const PlannedJob &job, const JournalRow *row, const std::string &stamp,
                 bool force) {
    JobVerdict v;
    v.row = row;
    if (!job.input.empty()) {
        try {
            v.input = identify_file(job.input, spec.resume.verify_content);
        } catch (const std::exception &e) {
            v.reason = RunReason::changed_input; // the job itself will say what is wrong
            v.detail = e.what();
            return v;
        }
    }
    if (force) {
        v.reason = RunReason::forced;
        return v;
    }
    if (row == nullptr) return v; // new
    const std::string changed = input_change(row->input, v.input, spec.resume.verify_content);
    if (!changed.empty()) {
        v.reason = RunReason::changed_input;
        v.detail = changed;
        return v;
    }
    if (row->recipe != stamp) {
        v.reason = RunReason::changed_recipe;
        v.detail = "the pipeline, its parameters, a plugin version or the input options changed";
        return v;
    }
    // A job the whole run died in, again and again (serial and threads mode): poison.
    if (row->died_running > spec.pool.retries) {
        v.verdict = Verdict::given_up;
        v.reason = RunReason::failed_before;
        v.detail = given_up_error(row->died_running);
        return v;
    }
    if (row->status != "ok") {
        v.reason = RunReason::failed_before;
        v.detail = row->status == "running" ? "the run died while it was running" : row->status + ": " + row->error;
        return v;
    }
    // Every output must be where the journal saw it written, as it was written.
    if (job.outputs.size() != (row->output_path.empty() ? 0 : 1 + row->more_outputs.size())) {
        v.reason = RunReason::output_missing;
        v.detail = "it had " + std::to_string(row->output_path.empty() ? 0 : 1 + row->more_outputs.size()) +
                   " output(s), and now has " + std::to_string(job.outputs.size());
        return v;
    }
    for (size_t o = 0; o < job.outputs.size(); ++o) {
        const std::string &was = o == 0 ? row->output_path : row->more_outputs[o - 1].path;
        const FileIdentity &written = o == 0 ? row->output : row->more_outputs[o - 1].identity;
        const std::filesystem::path &output = job.outputs[o];
        if (was != output.native()) {
            v.reason = RunReason::output_missing;
            v.detail = "its output was " + was;
            return v;
        }
        FileIdentity out;
        try {
            out = identify_file(output, false);
        } catch (const std::exception &e) {
            v.reason = RunReason::output_missing;
            v.detail = e.what();
            return v;
        }
        const std::string which = job.outputs.size() > 1 ? "the output " + output.filename().string() : "the output";
        if (!out.exists) {
            v.reason = RunReason::output_missing;
            v.detail = which + " is gone";
            return v;
        }
        if (out.size != written.size || out.mtime_ns != written.mtime_ns) {
            v.reason = RunReason::output_missing;
            v.detail = which + " was modified since the last run";
            return v;
        }
    }
    v.verdict = Verdict::unchanged;
    v.reason = RunReason::none;
    return v;
}

} // namespace

std::vector<JobVerdict> judge_jobs(const RunSpec &spec, const std::vector<PlannedJob> &jobs,
                                   const std::unordered_map<std::string, JournalRow> &rows, const std::string &stamp,
                                   bool force) {
    std::vector<JobVerdict> verdicts;
    verdicts.reserve(jobs.size());
    for (const PlannedJob &job : jobs) {
        const auto it = rows.find(job.key);
        verdicts.push_back(judge(spec, job, it == rows.end() ? nullptr : &it->second, stamp, force));
    }
    return verdicts;
}

} // namespace batchproc
