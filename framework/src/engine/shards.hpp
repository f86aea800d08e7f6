// Shards: one run's plan split over N independent runs ("task i of N" on a cluster). Every
// shard plans the whole config (so a collision or escape is a config error in every shard
// before anything runs), then keeps the jobs whose key hashes to it. Each shard has its own
// journal and report, named with a ".shard-IIII-of-NNNN" suffix.
#pragma once

#include "config/spec.hpp"
#include "inputs/job_plan.hpp"

#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace batchproc {

// A bad --shard / --shards or environment: a usage error (exit 2), with a sentence.
class ShardError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The most shards a run may be split into.
constexpr int kMaxShards = 9999;

// "--shard I/N" (I from 0), or "auto": Slurm's SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT and
// SLURM_ARRAY_TASK_MIN (an array 1-8 is shards 0..7 of 8), else Kubernetes' JOB_COMPLETION_INDEX
// with `shards` (--shards N). `env` looks a variable up (getenv in the CLI; tests pass a map).
// Throws ShardError.
ShardSpec parse_shard(const std::string &text, std::optional<int> shards,
                      const std::map<std::string, std::string> &env);
std::map<std::string, std::string> shard_environment(); // the variables above, from this process

// The shard a job key belongs to among `count`: XXH3-64 of the key's bytes, modulo count.
// Stable across machines and versions, so adding files moves only the new ones.
int shard_of(const std::string &key, int count);

// The jobs of one shard, in plan order (their plan index kept).
std::vector<PlannedJob> select_shard(std::vector<PlannedJob> jobs, const ShardSpec &shard);

// The shard files of `path` that exist beside it, by shard: "report.shard-*-of-*.json" for
// path "report.json". Files of several shard counts are all listed (map: count -> index -> file).
std::map<int, std::map<int, std::filesystem::path>> find_shard_files(const std::filesystem::path &path);

} // namespace batchproc
