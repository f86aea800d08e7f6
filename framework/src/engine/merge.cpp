#include "engine/merge.hpp"

#include "engine/run_journal.hpp"
#include "engine/shards.hpp"
#include "engine/utf8_text.hpp"
#include "journal/recipe_stamp.hpp"
#include "journal/resume.hpp"

namespace batchproc {

namespace fs = std::filesystem;

namespace {

constexpr int kExitIncomplete = 4;

JobStatus status_of(const std::string &text) {
    if (text == "failed") return JobStatus::failed;
    if (text == "timeout") return JobStatus::timeout;
    if (text == "crashed") return JobStatus::crashed;
    return JobStatus::skipped; // interrupted, skipped, running: not done
}

} // namespace

ShardRows read_shard_journals(const RunSpec &spec, std::optional<int> count) {
    RunSpec whole = spec;
    whole.shard = ShardSpec{};
    const std::optional<fs::path> base = journal_path_for(whole);
    if (!base)
        throw ConfigError({spec.config_path.string()}, "journal",
                          "shards are put together from their journals, and this config keeps none (journal: false, "
                          "or neither output.dir nor report)");
    const auto found = find_shard_files(*base);
    ShardRows out;
    if (found.empty()) return out;
    if (count) {
        out.count = *count;
    } else if (found.size() == 1) {
        out.count = found.begin()->first;
    } else {
        std::string counts;
        for (const auto &[n, files] : found) counts += (counts.empty() ? "" : ", ") + std::to_string(n);
        throw ConfigError({spec.config_path.string()}, "journal",
                          "journals of runs split in different numbers of shards (" + counts + ") are beside " +
                              base->string() + ": say which with --shards N (and remove the others)");
    }
    const auto it = found.find(out.count);
    const std::map<int, fs::path> none;
    const std::map<int, fs::path> &files = it == found.end() ? none : it->second;
    out.journals.resize(static_cast<size_t>(out.count));
    for (int i = 0; i < out.count; ++i) {
        const auto f = files.find(i);
        if (f == files.end()) {
            out.missing_shards.push_back(i);
            continue;
        }
        out.journals[static_cast<size_t>(i)] = f->second;
        for (auto &[key, row] : read_journal_rows(f->second)) {
            if (shard_of(key, out.count) != i) {
                ++out.misplaced;
                continue;
            }
            out.rows.emplace(key, std::move(row));
        }
    }
    return out;
}

MergeResult merge_shards(const PreparedRun &run, std::optional<int> count) {
    const RunSpec &spec = run.spec;
    const ShardRows shards = read_shard_journals(spec, count);
    MergeResult m;
    const std::vector<JobVerdict> verdicts =
        judge_jobs(spec, run.jobs, shards.rows, recipe_stamp(spec, run.plan), false);
    std::vector<JobRecord> records(run.jobs.size());
    for (size_t i = 0; i < run.jobs.size(); ++i) {
        const JobVerdict &v = verdicts[i];
        JobRecord &r = records[i];
        if (v.verdict == Verdict::unchanged) {
            // Done by its shard's run: ok, with that run's metrics.
            r = RunJournal::record_for_skipped(v);
            r.status = JobStatus::ok;
            continue;
        }
        if (v.verdict == Verdict::given_up) {
            r.status = JobStatus::crashed;
            r.error = v.detail;
            continue;
        }
        if (v.reason == RunReason::failed_before && v.row != nullptr && v.row->status != "running") {
            r.status = status_of(v.row->status);
            r.error = v.row->error;
            r.attempts = v.row->attempts;
            r.metrics_json = v.row->metrics_json;
            r.ms = v.row->ms;
            r.worker_pid = v.row->worker_pid;
            if (r.status != JobStatus::skipped) continue;
        }
        // Not done (never run, or its input, recipe or outputs changed since): missing.
        r.status = JobStatus::skipped;
        const int shard = shards.count > 0 ? shard_of(run.jobs[i].key, shards.count) : 0;
        r.error = "not done by shard " + std::to_string(shard) + ": " + to_string(v.reason) +
                  (v.detail.empty() ? "" : " (" + v.detail + ")");
        m.missing_jobs.push_back(run.jobs[i].display);
    }
    m.summary = summarize(records, 0.0, spec.pool, spec.pool.workers);
    m.summary.mode = "merge";
    m.report = build_report(spec, run.jobs, records, m.summary);
    nlohmann::ordered_json info;
    info["count"] = shards.count;
    nlohmann::ordered_json missing = nlohmann::ordered_json::array();
    for (int s : shards.missing_shards) missing.push_back(s);
    info["missing"] = std::move(missing);
    nlohmann::ordered_json journals = nlohmann::ordered_json::array();
    for (const fs::path &p : shards.journals) journals.push_back(p.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(p.string()));
    info["journals"] = std::move(journals);
    if (shards.misplaced > 0) info["misplaced_rows"] = shards.misplaced;
    m.report["summary"]["shards"] = std::move(info);
    m.report["summary"]["missing_jobs"] = m.missing_jobs.size();
    nlohmann::ordered_json missing_jobs = nlohmann::ordered_json::array();
    for (const std::string &d : m.missing_jobs) missing_jobs.push_back(d);
    m.report["missing_jobs"] = std::move(missing_jobs);
    make_json_text_valid(m.report);
    m.complete = shards.count > 0 && shards.missing_shards.empty() && m.missing_jobs.empty();
    const bool failures = m.summary.failed + m.summary.timeout + m.summary.crashed > 0;
    m.exit_code = !m.complete ? kExitIncomplete : failures ? 1 : 0;
    return m;
}

std::string format_merge(const MergeResult &m) {
    const nlohmann::ordered_json &shards = m.report["summary"]["shards"];
    std::string out;
    const int count = shards["count"].get<int>();
    if (count == 0) return "no shard journals found: run the shards first (batchproc run CONFIG --shard I/N)\n";
    out += std::to_string(count) + " shards; " + std::to_string(m.summary.total) + " jobs planned: " +
           std::to_string(m.summary.ok + m.summary.unchanged) + " done, " + std::to_string(m.summary.failed) +
           " failed, " + std::to_string(m.summary.timeout) + " timeout, " + std::to_string(m.summary.crashed) +
           " crashed, " + std::to_string(m.missing_jobs.size()) + " missing\n";
    if (!shards["missing"].empty()) {
        std::string list;
        for (const auto &s : shards["missing"]) list += (list.empty() ? "" : ", ") + std::to_string(s.get<int>());
        out += "missing shards (no journal): " + list + "\n";
    }
    for (size_t i = 0; i < m.missing_jobs.size() && i < 20; ++i) out += "  missing: " + m.missing_jobs[i] + "\n";
    if (m.missing_jobs.size() > 20) out += "  and " + std::to_string(m.missing_jobs.size() - 20) + " more\n";
    out += m.complete ? (m.exit_code == 0 ? "complete: every job done exactly once\n" : "complete, with failures\n")
                      : "incomplete: rerun the missing shards (their finished jobs are skipped)\n";
    return out;
}

} // namespace batchproc
