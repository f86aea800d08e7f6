#include "engine/report.hpp"

#include <cstdio>
#include <map>

namespace batchproc {

RunSummary summarize(const std::vector<JobRecord> &records, double wall_s, const PoolSpec &pool, int workers) {
    RunSummary s;
    s.total = records.size();
    s.wall_s = wall_s;
    s.mode = to_string(pool.mode);
    s.workers = workers;
    if (pool.mode == PoolMode::processes) s.start_method = to_string(pool.start_method);
    std::map<std::string, double> stage_total;
    for (const JobRecord &r : records) {
        switch (r.status) {
        case JobStatus::ok:
            ++s.ok;
            if (!r.warnings.empty()) ++s.warned;
            break;
        case JobStatus::failed: ++s.failed; break;
        case JobStatus::timeout: ++s.timeout; break;
        case JobStatus::crashed: ++s.crashed; break;
        default: ++s.skipped; break;
        }
        for (const StageTiming &t : r.stage_ms) stage_total[t.stage] += t.ms;
    }
    for (const auto &[stage, ms] : stage_total)
        if (ms > s.slowest_stage_ms) {
            s.slowest_stage = stage;
            s.slowest_stage_ms = ms;
        }
    return s;
}

nlohmann::ordered_json build_report(const RunSpec &spec, const std::vector<PlannedJob> &jobs,
                                    const std::vector<JobRecord> &records, const RunSummary &s) {
    nlohmann::ordered_json summary;
    summary["total"] = s.total;
    summary["ok"] = s.ok;
    summary["failed"] = s.failed;
    summary["timeout"] = s.timeout;
    summary["crashed"] = s.crashed;
    summary["skipped"] = s.skipped;
    summary["wall_s"] = s.wall_s;
    summary["mode"] = s.mode;
    summary["workers"] = s.workers;
    summary["start_method"] = s.start_method.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(s.start_method);
    summary["files_per_s"] = s.wall_s > 0 ? double(s.total - s.skipped) / s.wall_s : 0.0;
    if (!s.slowest_stage.empty())
        summary["slowest_stage"] = {{"name", s.slowest_stage}, {"ms_total", s.slowest_stage_ms}};
    if (!s.details.is_null()) summary["pool"] = s.details;

    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (size_t i = 0; i < jobs.size(); ++i) {
        const PlannedJob &job = jobs[i];
        const JobRecord &r = records[i];
        nlohmann::ordered_json j;
        j["input"] = job.display;
        j["output"] = job.output.empty() || r.status != JobStatus::ok
                          ? nlohmann::ordered_json(nullptr)
                          : nlohmann::ordered_json(display_path(job.output, display_base(spec)));
        j["status"] = to_string(r.status);
        j["error"] = r.error.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.error);
        j["attempts"] = r.attempts;
        j["worker_pid"] = r.worker_pid == 0 ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.worker_pid);
        j["ms"] = r.ms;
        nlohmann::ordered_json metrics = nlohmann::ordered_json::parse(r.metrics_json, nullptr, false);
        j["metrics"] = metrics.is_discarded() ? nlohmann::ordered_json::object() : metrics;
        if (!r.warnings.empty()) j["warnings"] = r.warnings;
        list.push_back(std::move(j));
    }
    nlohmann::ordered_json report;
    report["summary"] = std::move(summary);
    report["jobs"] = std::move(list);
    return report;
}

std::string format_summary(const RunSummary &s) {
    char line[512];
    std::string out;
    std::snprintf(line, sizeof line, "%zu jobs: %zu ok, %zu failed, %zu timeout, %zu crashed, %zu skipped", s.total,
                  s.ok, s.failed, s.timeout, s.crashed, s.skipped);
    out += line;
    if (s.warned > 0) out += " (" + std::to_string(s.warned) + " ok with warnings)";
    const double rate = s.wall_s > 0 ? double(s.total - s.skipped) / s.wall_s : 0.0;
    std::snprintf(line, sizeof line, "\nwall time %.3f s, %.1f files/s, mode %s, %d worker%s%s%s", s.wall_s, rate,
                  s.mode.c_str(), s.workers, s.workers == 1 ? "" : "s", s.start_method.empty() ? "" : ", start method ",
                  s.start_method.c_str());
    out += line;
    if (!s.slowest_stage.empty()) {
        std::snprintf(line, sizeof line, "\nslowest stage: %s (%.1f ms in all)", s.slowest_stage.c_str(),
                      s.slowest_stage_ms);
        out += line;
    }
    return out;
}

} // namespace batchproc
