// merge and slurm: a run split in shards, put together and submitted to Slurm.
#include "commands.hpp"

#include "engine/merge.hpp"
#include "engine/run.hpp"
#include "io/atomic_file.hpp"
#include "io/path_safety.hpp"

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>

namespace batchproc::cli {

namespace fs = std::filesystem;

int cmd_merge(const RunArgs &args) {
    // The whole plan (no --shard), each job's outcome from its shard's journal.
    RunArgs whole = args;
    whole.report.clear(); // --report names the merged report, not the runs'
    PreparedRun run = prepare_run(args.config, overrides_of(whole));
    const MergeResult merged = merge_shards(run, args.shards > 0 ? std::optional<int>(args.shards) : std::nullopt);
    std::fputs(format_merge(merged).c_str(), stdout);
    const std::optional<fs::path> report = !args.report.empty() ? std::optional<fs::path>(absolute_from_cwd(args.report))
                                                                : run.spec.report;
    if (report) {
        const std::string text = merged.report.dump(2) + "\n";
        WriteOptions how;
        how.overwrite = true;
        how.durable = run.spec.output.durable;
        write_file_atomically(*report, text.data(), text.size(), how);
        std::printf("report: %s\n", report->string().c_str());
    }
    return merged.exit_code;
}


// Runs `command` (sh) and returns its standard output, trailing newlines removed; `ok` is
// false when it could not run or exited non-zero (the caller says what was submitted).
std::string run_capture(const std::string &command, bool &ok) {
    std::string out;
    ok = false;
    std::FILE *p = ::popen(command.c_str(), "r");
    if (p == nullptr) return out;
    char buf[4096];
    size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int status = ::pclose(p);
    ok = status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
}

int cmd_slurm(SlurmArgs args, const RunArgs &run_args) {
    // The config is checked as validate checks it: a job array of a bad config would fail N times.
    PreparedRun run = prepare_run(run_args.config, run_args.sets);
    SlurmRequest &r = args.request;
    r.batchproc = fs::read_symlink("/proc/self/exe");
    r.config = normal_absolute(run_args.config);
    r.sets = run_args.sets;
    if (run.spec.report) r.folder = slurm_folder(*run.spec.report, true);
    else if (!run.spec.output.dir.empty()) r.folder = slurm_folder(run.spec.output.dir, false);
    else throw ConfigError({run.spec.config_path.string()}, "report",
                           "batchproc slurm keeps its scripts and logs beside the report: set report (or output.dir)");
    const SlurmScripts scripts = slurm_scripts(r);
    fs::create_directories(scripts.logs);
    WriteOptions how;
    how.durable = false;
    write_file_atomically(scripts.array_script, scripts.array_text.data(), scripts.array_text.size(), how);
    write_file_atomically(scripts.merge_script, scripts.merge_text.data(), scripts.merge_text.size(), how);
    std::printf("%s:\n%s\n%s:\n%s\n", scripts.array_script.c_str(), scripts.array_text.c_str(),
                scripts.merge_script.c_str(), scripts.merge_text.c_str());
    std::string extra;
    for (const std::string &o : r.sbatch_extra) extra += " " + shell_word(o);
    const std::string array_cmd = "sbatch --parsable" + extra + " " + shell_word(scripts.array_script.string());
    const auto merge_cmd = [&](const std::string &id) {
        return "sbatch --parsable --dependency=afterany:" + id + extra + " " + shell_word(scripts.merge_script.string());
    };
    if (!args.submit) {
        std::printf("to submit them (or run batchproc slurm again with --submit):\n  ID=$(%s)\n  %s\n",
                    array_cmd.c_str(), merge_cmd("${ID%%;*}").c_str());
        return kExitOk;
    }
    bool ok = false;
    const std::string array_out = run_capture(array_cmd, ok);
    const std::string array_id = array_out.substr(0, array_out.find(';'));
    if (!ok || array_id.empty() || array_id.find_first_not_of("0123456789") != std::string::npos)
        throw ShardError("sbatch did not accept the job array (" + array_cmd + "): nothing was submitted");
    const std::string merge_out = run_capture(merge_cmd(array_id), ok);
    const std::string merge_id = merge_out.substr(0, merge_out.find(';'));
    if (!ok || merge_id.empty())
        throw ShardError("the job array was submitted as job " + array_id + ", but sbatch did not accept the merge job (" +
                         merge_cmd(array_id) + "); submit it by hand, or scancel " + array_id);
    std::printf("submitted: job array %s (%d tasks), merge job %s (after the array)\n", array_id.c_str(), r.tasks,
                merge_id.c_str());
    std::printf("watch: squeue -j %s,%s    progress: batchproc status %s\n", array_id.c_str(), merge_id.c_str(),
                shell_word(r.config.string()).c_str());
    std::printf("logs: %s (the merge's verdict in %s-merge-%s.out)\n", scripts.logs.c_str(),
                (scripts.logs / ("batchproc-" + r.config.stem().string())).c_str(), merge_id.c_str());
    return kExitOk;
}

} // namespace batchproc::cli
