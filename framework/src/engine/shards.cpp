#include "engine/shards.hpp"

#include <xxhash.h>

#include <cstdio>
#include <cstdlib>

namespace batchproc {

namespace fs = std::filesystem;

namespace {

// A whole decimal number in [lo, hi], else nullopt.
std::optional<long> whole_number(const std::string &text, long lo, long hi) {
    if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    const long n = std::stol(text);
    if (n < lo || n > hi) return std::nullopt;
    return n;
}

std::string lookup(const std::map<std::string, std::string> &env, const char *name) {
    const auto it = env.find(name);
    return it == env.end() ? std::string() : it->second;
}

ShardSpec checked(long index, long count) {
    ShardSpec s;
    s.index = static_cast<int>(index);
    s.count = static_cast<int>(count);
    return s;
}

} // namespace

ShardSpec parse_shard(const std::string &text, std::optional<int> shards,
                      const std::map<std::string, std::string> &env) {
    const std::string most = std::to_string(kMaxShards);
    if (text != "auto") {
        if (shards)
            throw ShardError("--shards goes with --shard auto (Kubernetes' JOB_COMPLETION_INDEX); with --shard " + text +
                             " the count is already given");
        const size_t slash = text.find('/');
        const std::optional<long> count =
            slash == std::string::npos ? std::nullopt : whole_number(text.substr(slash + 1), 1, kMaxShards);
        const std::optional<long> index =
            slash == std::string::npos ? std::nullopt : whole_number(text.substr(0, slash), 0, kMaxShards - 1);
        if (!count || !index)
            throw ShardError("--shard " + text + ": expected I/N, the shard I (from 0) of N (1 to " + most +
                             "), such as 0/4, or auto");
        if (*index >= *count)
            throw ShardError("--shard " + text + ": shards are numbered from 0 to " + std::to_string(*count - 1));
        return checked(*index, *count);
    }
    const std::string task = lookup(env, "SLURM_ARRAY_TASK_ID");
    if (!task.empty()) {
        const std::string count_text = lookup(env, "SLURM_ARRAY_TASK_COUNT");
        const std::string min_text = lookup(env, "SLURM_ARRAY_TASK_MIN");
        const std::optional<long> id = whole_number(task, 0, 999999999);
        const std::optional<long> count = whole_number(count_text, 1, kMaxShards);
        const std::optional<long> min = whole_number(min_text.empty() ? "0" : min_text, 0, 999999999);
        if (!id || !count || !min)
            throw ShardError("--shard auto: Slurm's SLURM_ARRAY_TASK_ID=" + task + ", SLURM_ARRAY_TASK_COUNT=" +
                             count_text + ", SLURM_ARRAY_TASK_MIN=" + min_text +
                             " do not give a shard (an array of 1 to " + most + " tasks is expected)");
        // Tasks are numbered from the array's first index: --array=1-8 is shards 0..7 of 8.
        const long index = *id - *min;
        if (index < 0 || index >= *count)
            throw ShardError("--shard auto: Slurm array task " + task + " is not among the " + count_text +
                             " tasks from " + min_text + "; batchproc expects a contiguous array (--array=0-" +
                             std::to_string(*count - 1) + ", without a step)");
        return checked(index, *count);
    }
    const std::string k8s = lookup(env, "JOB_COMPLETION_INDEX");
    if (!k8s.empty()) {
        if (!shards)
            throw ShardError("--shard auto: JOB_COMPLETION_INDEX=" + k8s +
                             " (a Kubernetes Indexed Job) gives the index but not the count: add --shards N "
                             "(the Job's completions)");
        const std::optional<long> index = whole_number(k8s, 0, kMaxShards - 1);
        if (!index || *index >= *shards)
            throw ShardError("--shard auto: JOB_COMPLETION_INDEX=" + k8s + " is not a shard of --shards " +
                             std::to_string(*shards));
        return checked(*index, *shards);
    }
    throw ShardError("--shard auto: no task index in the environment (SLURM_ARRAY_TASK_ID from a Slurm job "
                     "array, or JOB_COMPLETION_INDEX from a Kubernetes Indexed Job); give the shard as I/N, "
                     "such as --shard 0/4");
}

std::map<std::string, std::string> shard_environment() {
    std::map<std::string, std::string> env;
    for (const char *name : {"SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN", "JOB_COMPLETION_INDEX"})
        if (const char *v = std::getenv(name)) env[name] = v;
    return env;
}

int shard_of(const std::string &key, int count) {
    if (count <= 1) return 0;
    return static_cast<int>(XXH3_64bits(key.data(), key.size()) % static_cast<uint64_t>(count));
}

std::vector<PlannedJob> select_shard(std::vector<PlannedJob> jobs, const ShardSpec &shard) {
    if (!shard.sharded()) return jobs;
    std::vector<PlannedJob> mine;
    for (PlannedJob &job : jobs)
        if (shard_of(job.key, shard.count) == shard.index) mine.push_back(std::move(job));
    return mine;
}

std::map<int, std::map<int, fs::path>> find_shard_files(const fs::path &path) {
    std::map<int, std::map<int, fs::path>> found;
    std::error_code ec;
    const fs::path folder = path.parent_path().empty() ? fs::path(".") : path.parent_path();
    const std::string stem = path.stem().string(), ext = path.extension().string();
    for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        const std::string head = stem + ".shard-";
        if (name.size() != head.size() + 12 + ext.size() || name.compare(0, head.size(), head) != 0 ||
            name.compare(name.size() - ext.size(), ext.size(), ext) != 0)
            continue;
        const std::string middle = name.substr(head.size(), 12); // IIII-of-NNNN
        const std::optional<long> index = whole_number(middle.substr(0, 4), 0, kMaxShards - 1);
        const std::optional<long> count = whole_number(middle.substr(8, 4), 1, kMaxShards);
        if (middle.compare(4, 4, "-of-") != 0 || !index || !count || *index >= *count) continue;
        found[static_cast<int>(*count)][static_cast<int>(*index)] = it->path();
    }
    return found;
}

} // namespace batchproc
