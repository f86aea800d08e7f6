// `batchproc merge`: the shards of a sharded run put back together. The whole plan is built
// again; each job's outcome is read from the journal of the shard its key hashes to, and
// judged as a rerun would judge it (its input, recipe and outputs unchanged since). The
// result is one report in the usual shape, with every planned job exactly once, and the
// shards and jobs that are missing.
#pragma once

#include "engine/run.hpp"
#include "journal/journal.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace batchproc {

// The rows of every shard's journal, each under its key, for a run split in `count`.
struct ShardRows {
    int count = 0;                           // 0: no shard journal was found
    std::vector<std::filesystem::path> journals; // by shard; empty path: that shard has none
    std::vector<int> missing_shards;         // shards without a journal
    std::unordered_map<std::string, JournalRow> rows;
    size_t misplaced = 0; // rows in a journal of a shard their key does not hash to (ignored)
};

// Finds the shard journals beside the run's journal (journal.shard-IIII-of-NNNN.sqlite) and
// reads them read-only. `count`: which sharding to read when journals of several shard
// counts are there (--shards); without it that is a ConfigError naming the counts found.
ShardRows read_shard_journals(const RunSpec &spec, std::optional<int> count);

struct MergeResult {
    nlohmann::ordered_json report; // the usual report, plus summary.shards and missing_jobs
    RunSummary summary;
    bool complete = false;         // every shard has a journal and every job is done
    std::vector<std::string> missing_jobs; // display names of jobs not done
    int exit_code = 0;             // 0 complete, all ok; 1 complete with failures; 4 incomplete
};

// `run` is prepared without a shard (the whole plan).
MergeResult merge_shards(const PreparedRun &run, std::optional<int> count);

// What merge prints: the counts, the missing shards and the first missing jobs.
std::string format_merge(const MergeResult &merge);

} // namespace batchproc
