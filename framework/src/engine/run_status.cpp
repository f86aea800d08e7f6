#include "engine/run_status.hpp"

#include "engine/merge.hpp"
#include "engine/utf8_text.hpp"
#include "journal/journal.hpp"
#include "journal/recipe_stamp.hpp"
#include "journal/resume.hpp"

#include <map>

namespace batchproc {

nlohmann::ordered_json run_status(const PreparedRun &run) {
    const RunSpec &spec = run.spec;
    const std::optional<std::filesystem::path> path = journal_path_for(spec);
    std::unordered_map<std::string, JournalRow> rows;
    std::optional<ShardRows> shards;
    std::error_code ec;
    if (path && !spec.shard.sharded() && !std::filesystem::exists(*path, ec)) {
        // A run done in shards (--shard I/N): each job judged against its shard's journal.
        shards = read_shard_journals(spec, std::nullopt);
        if (shards->count > 0) rows = std::move(shards->rows);
        else shards.reset();
    }
    if (path && !shards) rows = read_journal_rows(*path);
    const std::vector<JobVerdict> verdicts =
        judge_jobs(spec, run.jobs, rows, recipe_stamp(spec, run.plan), !spec.resume.enabled);

    std::map<std::string, size_t> counts{{"unchanged", 0},      {"new", 0},           {"changed", 0},
                                         {"changed_input", 0},  {"changed_recipe", 0}, {"output_missing", 0},
                                         {"failed", 0},         {"given_up", 0},       {"forced", 0}};
    nlohmann::ordered_json jobs = nlohmann::ordered_json::array();
    for (size_t i = 0; i < run.jobs.size(); ++i) {
        const JobVerdict &v = verdicts[i];
        const PlannedJob &job = run.jobs[i];
        nlohmann::ordered_json j;
        j["input"] = job.display;
        j["output"] = job.outputs.empty() ? nlohmann::ordered_json(nullptr)
                                          : nlohmann::ordered_json(display_path(job.outputs.front(), display_base(spec)));
        if (job.outputs.size() > 1) {
            nlohmann::ordered_json outputs = nlohmann::ordered_json::array();
            for (const std::filesystem::path &output : job.outputs) outputs.push_back(display_path(output, display_base(spec)));
            j["outputs"] = std::move(outputs);
        }
        j["action"] = v.verdict == Verdict::unchanged ? "skip" : v.verdict == Verdict::given_up ? "give up" : "run";
        j["reason"] = v.verdict == Verdict::given_up ? "given up" : to_string(v.reason);
        j["detail"] = v.detail;
        j["last_status"] = v.row != nullptr ? nlohmann::ordered_json(v.row->status) : nlohmann::ordered_json(nullptr);
        j["error"] = v.row != nullptr && !v.row->error.empty() ? nlohmann::ordered_json(v.row->error)
                                                               : nlohmann::ordered_json(nullptr);
        jobs.push_back(std::move(j));
        switch (v.verdict == Verdict::given_up ? RunReason::none : v.reason) {
        case RunReason::none: ++counts[v.verdict == Verdict::given_up ? "given_up" : "unchanged"]; break;
        case RunReason::new_job: ++counts["new"]; break;
        case RunReason::changed_input: ++counts["changed_input"], ++counts["changed"]; break;
        case RunReason::changed_recipe: ++counts["changed_recipe"], ++counts["changed"]; break;
        case RunReason::output_missing: ++counts["output_missing"]; break;
        case RunReason::failed_before: ++counts["failed"]; break;
        case RunReason::forced: ++counts["forced"]; break;
        }
    }
    nlohmann::ordered_json out;
    out["journal"] = path ? nlohmann::ordered_json(path->string()) : nlohmann::ordered_json(nullptr);
    if (shards) {
        nlohmann::ordered_json info;
        info["count"] = shards->count;
        nlohmann::ordered_json missing = nlohmann::ordered_json::array();
        for (int s : shards->missing_shards) missing.push_back(s);
        info["missing"] = std::move(missing);
        out["shards"] = std::move(info);
    }
    nlohmann::ordered_json c;
    c["total"] = run.jobs.size();
    for (const char *k : {"unchanged", "new", "changed", "changed_input", "changed_recipe", "output_missing", "failed",
                          "given_up", "forced"})
        c[k] = counts[k];
    out["counts"] = c;
    out["jobs"] = std::move(jobs);
    make_json_text_valid(out);
    return out;
}

std::string format_status(const nlohmann::ordered_json &status) {
    const auto &c = status.at("counts");
    const auto n = [&](const char *k) { return std::to_string(c.at(k).get<size_t>()); };
    std::string out;
    out += status.at("journal").is_null() ? "no journal (journal: false, or no output.dir or report)\n"
                                          : "journal: " + status.at("journal").get<std::string>() + "\n";
    if (status.contains("shards")) {
        const auto &s = status.at("shards");
        out += "a run in " + std::to_string(s.at("count").get<int>()) + " shards (their journals beside it)";
        if (!s.at("missing").empty()) {
            std::string list;
            for (const auto &i : s.at("missing")) list += (list.empty() ? "" : ", ") + std::to_string(i.get<int>());
            out += "; shards without a journal yet: " + list;
        }
        out += "\n";
    }
    out += n("total") + " jobs: " + n("unchanged") + " unchanged (would be skipped), " + n("new") + " new, " +
           n("changed_input") + " changed input, " + n("changed_recipe") + " changed recipe, " + n("output_missing") +
           " output missing, " + n("failed") + " failed before, " + n("given_up") + " given up";
    if (c.at("forced").get<size_t>() > 0) out += ", " + n("forced") + " run anyway (resume: false)";
    out += "\n";
    // The jobs that would run, a few per reason; then every failure with its error.
    std::map<std::string, size_t> shown;
    for (const auto &j : status.at("jobs")) {
        if (j.at("action") == "skip") continue;
        const std::string reason = j.at("reason").get<std::string>();
        if (++shown[reason] > 5) continue;
        out += "  " + j.at("action").get<std::string>() + " (" + reason + "): " + j.at("input").get<std::string>();
        if (!j.at("detail").get<std::string>().empty()) out += ": " + j.at("detail").get<std::string>();
        out += "\n";
    }
    for (const auto &[reason, count] : shown)
        if (count > 5) out += "  ... and " + std::to_string(count - 5) + " more " + reason + "\n";
    return out;
}

} // namespace batchproc
