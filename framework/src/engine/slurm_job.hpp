// `batchproc slurm`: a sharded run as a Slurm job array, and a merge job that waits for it.
// The scripts are plain sbatch files with absolute paths; this module only writes their text
// and the sbatch command lines, the CLI submits them.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace batchproc {

struct SlurmRequest {
    std::filesystem::path batchproc;  // absolute path of the batchproc binary
    std::filesystem::path config;     // absolute
    std::vector<std::string> sets;    // --set overrides passed on to every task and the merge
    int tasks = 1;                    // array size = shards
    std::string partition, time, mem; // "" = Slurm's default
    int cpus_per_task = 0;            // 0 = Slurm's default
    std::vector<std::string> sbatch_extra; // after `--`: options for both sbatch calls
    std::filesystem::path folder;     // where the scripts go, and logs/ below it
};

struct SlurmScripts {
    std::filesystem::path array_script, merge_script, logs;
    std::string array_text, merge_text;
};

// The scripts' text; nothing is written. Throws std::invalid_argument for a task count
// outside 1..kMaxShards.
SlurmScripts slurm_scripts(const SlurmRequest &request);

// The folder for a config's Slurm scripts: `slurm/` beside the report (else in output.dir's
// .batchproc folder).
std::filesystem::path slurm_folder(const std::filesystem::path &report_or_output_dir, bool is_report);

// A word quoted for sh ('...' with ' as '\'').
std::string shell_word(const std::string &word);

} // namespace batchproc
