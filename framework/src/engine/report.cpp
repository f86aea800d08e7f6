#include "engine/report.hpp"

#include "engine/utf8_text.hpp"

#include <cstdio>
#include <map>

namespace batchproc {

RunSummary summarize(const std::vector<JobRecord> &records, double wall_s, const PoolSpec &pool, int workers,
                     const StageTotals *stage_totals) {
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
        case JobStatus::unchanged: ++s.unchanged; break;
        case JobStatus::interrupted: ++s.interrupted; break;
        default: ++s.skipped; break;
        }
        if (stage_totals == nullptr)
            for (const StageTiming &t : r.stage_ms) stage_total[t.stage] += t.ms;
    }
    for (const auto &[stage, ms] : stage_totals != nullptr ? *stage_totals : stage_total)
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
    summary["interrupted"] = s.interrupted;
    summary["unchanged"] = s.unchanged;
    summary["wall_s"] = s.wall_s;
    summary["mode"] = s.mode;
    summary["workers"] = s.workers;
    summary["start_method"] = s.start_method.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(s.start_method);
    summary["files_per_s"] = s.wall_s > 0 ? double(s.total - s.skipped - s.unchanged - s.interrupted) / s.wall_s : 0.0;
    if (!s.slowest_stage.empty())
        summary["slowest_stage"] = {{"name", s.slowest_stage}, {"ms_total", s.slowest_stage_ms}};
    if (!s.details.is_null()) summary["pool"] = s.details;
    if (!s.error.empty()) summary["error"] = s.error;

    // A path that is not UTF-8 shows with its odd bytes as \xNN, and its exact bytes go
    // beside it in base64 ("input_bytes"), for a tool that must find the file.
    const auto put_path = [](nlohmann::ordered_json &j, const char *key, const std::string &path) {
        if (is_valid_utf8(path)) {
            j[key] = path;
        } else {
            j[key] = escape_invalid_utf8(path);
            j[std::string(key) + "_bytes"] = base64(path);
        }
    };
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (size_t i = 0; i < jobs.size(); ++i) {
        const PlannedJob &job = jobs[i];
        const JobRecord &r = records[i];
        nlohmann::ordered_json j;
        put_path(j, "input", job.display);
        const bool done = r.status == JobStatus::ok || r.status == JobStatus::unchanged;
        if (job.outputs.empty() || !done) j["output"] = nullptr;
        else put_path(j, "output", display_path(job.outputs.front(), display_base(spec)));
        nlohmann::ordered_json metrics = nlohmann::ordered_json::parse(r.metrics_json, nullptr, false);
        if (job.outputs.size() > 1 && done) {
            // Every output, in pipeline order ("output" is the first), with the size and
            // bytes the job runner noted in the metrics.
            const nlohmann::ordered_json *noted = nullptr;
            if (metrics.is_object() && metrics.contains("outputs") && metrics["outputs"].size() == job.outputs.size())
                noted = &metrics["outputs"];
            nlohmann::ordered_json outputs = nlohmann::ordered_json::array();
            for (size_t o = 0; o < job.outputs.size(); ++o) {
                nlohmann::ordered_json entry;
                put_path(entry, "path", display_path(job.outputs[o], display_base(spec)));
                if (noted != nullptr && (*noted)[o].is_object())
                    for (const auto &[k, v] : (*noted)[o].items()) entry[k] = v;
                outputs.push_back(std::move(entry));
            }
            j["outputs"] = std::move(outputs);
        }
        j["status"] = to_string(r.status);
        j["error"] = r.error.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.error);
        j["attempts"] = r.attempts;
        j["worker_pid"] = r.worker_pid == 0 ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.worker_pid);
        j["ms"] = r.ms;
        j["metrics"] = metrics.is_discarded() ? nlohmann::ordered_json::object() : metrics;
        if (!r.warnings.empty()) j["warnings"] = r.warnings;
        list.push_back(std::move(j));
    }
    nlohmann::ordered_json report;
    report["summary"] = std::move(summary);
    report["jobs"] = std::move(list);
    // Whatever a plugin or the system put in a text (a warning naming a file, a pool
    // detail), the report can always be written.
    make_json_text_valid(report);
    return report;
}

std::string format_summary(const RunSummary &s) {
    char line[512];
    std::string out;
    std::snprintf(line, sizeof line, "%zu jobs: %zu ok, %zu failed, %zu timeout, %zu crashed, %zu skipped", s.total,
                  s.ok, s.failed, s.timeout, s.crashed, s.skipped);
    out += line;
    if (s.interrupted > 0) out += ", " + std::to_string(s.interrupted) + " interrupted";
    if (s.unchanged > 0) out += ", " + std::to_string(s.unchanged) + " unchanged (done by an earlier run)";
    if (s.warned > 0) out += " (" + std::to_string(s.warned) + " ok with warnings)";
    const double rate = s.wall_s > 0 ? double(s.total - s.skipped - s.unchanged - s.interrupted) / s.wall_s : 0.0;
    std::snprintf(line, sizeof line, "\nwall time %.3f s, %.1f files/s, mode %s, %d worker%s%s%s", s.wall_s, rate,
                  s.mode.c_str(), s.workers, s.workers == 1 ? "" : "s", s.start_method.empty() ? "" : ", start method ",
                  s.start_method.c_str());
    out += line;
    if (!s.slowest_stage.empty()) {
        std::snprintf(line, sizeof line, "\nslowest stage: %s (%.1f ms in all)", s.slowest_stage.c_str(),
                      s.slowest_stage_ms);
        out += line;
    }
    if (!s.error.empty()) out += "\nthe run stopped early on an internal error: " + s.error;
    return out;
}

} // namespace batchproc
