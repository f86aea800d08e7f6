#include "engine/slurm_job.hpp"

#include "engine/shards.hpp"

#include <stdexcept>

namespace batchproc {

namespace fs = std::filesystem;

std::string shell_word(const std::string &word) {
    std::string out = "'";
    for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

fs::path slurm_folder(const fs::path &report_or_output_dir, bool is_report) {
    return is_report ? report_or_output_dir.parent_path() / "slurm" : report_or_output_dir / ".batchproc" / "slurm";
}

SlurmScripts slurm_scripts(const SlurmRequest &r) {
    if (r.tasks < 1 || r.tasks > kMaxShards)
        throw std::invalid_argument("--tasks must be from 1 to " + std::to_string(kMaxShards));
    SlurmScripts s;
    s.logs = r.folder / "logs";
    s.array_script = r.folder / "array.sbatch";
    s.merge_script = r.folder / "merge.sbatch";
    const std::string name = "batchproc-" + r.config.stem().string();
    std::string sets;
    for (const std::string &set : r.sets) sets += " --set " + shell_word(set);

    const auto header = [&](const std::string &job_name, const std::string &log) {
        std::string h = "#!/bin/sh\n";
        h += "# Written by batchproc slurm for " + r.config.string() + "\n";
        h += "#SBATCH --job-name=" + job_name + "\n";
        h += "#SBATCH --output=" + (s.logs / log).string() + "\n";
        if (!r.partition.empty()) h += "#SBATCH --partition=" + r.partition + "\n";
        if (!r.time.empty()) h += "#SBATCH --time=" + r.time + "\n";
        return h;
    };
    s.array_text = header(name, "%x-%A_%a.out");
    s.array_text += "#SBATCH --array=0-" + std::to_string(r.tasks - 1) + "\n";
    if (r.cpus_per_task > 0) s.array_text += "#SBATCH --cpus-per-task=" + std::to_string(r.cpus_per_task) + "\n";
    if (!r.mem.empty()) s.array_text += "#SBATCH --mem=" + r.mem + "\n";
    s.array_text += "# One shard per array task (SLURM_ARRAY_TASK_ID); workers: auto uses the task's CPUs.\n";
    s.array_text += "exec " + shell_word(r.batchproc.string()) + " run " + shell_word(r.config.string()) +
                    " --shard auto" + sets + "\n";

    s.merge_text = header(name + "-merge", "%x-%j.out");
    s.merge_text += "# Runs after every task of the array (afterany): one report, and the proof that every job\n"
                    "# was done once; exit 4 names what is missing.\n";
    s.merge_text += "exec " + shell_word(r.batchproc.string()) + " merge " + shell_word(r.config.string()) + sets +
                    " --shards " + std::to_string(r.tasks) + "\n";
    return s;
}

} // namespace batchproc
