// The batchproc command line: what each subcommand gets, and the functions that run them
// (main.cpp only wires them to CLI11). Exit codes as the README's table.
#pragma once

#include "engine/shards.hpp"
#include "engine/slurm_job.hpp"
#include "config/one_liner.hpp"

#include <string>
#include <vector>

namespace batchproc::cli {

constexpr int kExitOk = 0;
constexpr int kExitUsage = 2;
constexpr int kExitInternal = 3;

struct Verbosity {
    bool quiet = false;
    int verbose = 0;
};

struct RunArgs {
    std::string config;
    std::string mode, start_method, report, workers;
    std::vector<std::string> sets;
    std::string files_from; // --files-from: a list of inputs, "-" for standard input
    bool null_separated = false;
    bool dry_run = false;
    bool force = false;
    bool json = false;
    std::string shard;   // --shard I/N | auto
    int shards = 0;      // --shards N (with --shard auto and JOB_COMPLETION_INDEX; merge: which sharding)
    std::string command; // the whole command line, for the journal
};

struct SlurmArgs {
    SlurmRequest request;
    bool submit = false;
};

struct DoArgs {
    OneLiner line;
    bool no_recursive = false;
    bool no_resume = false;
    bool print_config = false;
    bool dry_run = false;
    bool force = false;
};

void setup_logging(const Verbosity &v);
std::string absolute_from_cwd(const std::string &path);
ShardSpec shard_of_args(const RunArgs &a);                  // --shard / --shards; ShardError
std::vector<std::string> overrides_of(const RunArgs &a);    // the options that are --set overrides

int cmd_run(const RunArgs &args, const Verbosity &v);       // run_commands.cpp
int cmd_status(const RunArgs &args);
int cmd_validate(const RunArgs &args);
int cmd_do(const DoArgs &args, const std::string &command, const Verbosity &v);
int cmd_merge(const RunArgs &args);                         // cluster_commands.cpp
int cmd_slurm(SlurmArgs args, const RunArgs &run_args);
int cmd_plugins(const std::string &name, bool json);        // plugins_command.cpp

} // namespace batchproc::cli
