// `batchproc status`: the plan judged against the journal. Nothing runs and the journal is
// only read (a run may be going on at the same time).
#pragma once

#include "engine/run.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace batchproc {

// {"journal": PATH | null,
//  "counts": {"total", "unchanged", "new", "changed", "changed_input", "changed_recipe",
//             "output_missing", "failed", "given_up"},
//  "jobs": [{"input", "output", "action": "skip" | "run" | "give up",
//            "reason": "unchanged" | "new" | "changed input" | ..., "detail", "last_status", "error"}]}
// ("changed" counts changed_input + changed_recipe; "failed" the jobs whose last attempt did
// not succeed, which run again.)
nlohmann::ordered_json run_status(const PreparedRun &run);

// The same for people: the counts, then the jobs that would run with their reasons (the
// first few of each reason), then the failed jobs with their errors.
std::string format_status(const nlohmann::ordered_json &status);

} // namespace batchproc
