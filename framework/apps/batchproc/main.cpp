// The batchproc command line: run (default), do, status, validate, merge, slurm, plugins,
// bench, and the hidden worker role. The subcommands themselves are in *_command(s).cpp.
#include "commands.hpp"

#include "bench/bench.hpp"
#include "config/spec.hpp"
#include "engine/allocator.hpp"
#include "journal/journal.hpp"
#include "pool/worker_entry.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using namespace batchproc;
using namespace batchproc::cli;

int main(int argc, char **argv) {
    keep_large_buffers_in_heap();
    if (argc >= 2 && std::strcmp(argv[1], kWorkerRoleArg) == 0) return worker_main(argc, argv);

    auto logger = spdlog::stderr_color_mt("batchproc");
    logger->set_pattern("%^%l%$: %v");
    spdlog::set_default_logger(logger);

    // `batchproc CONFIG ...` means `batchproc run CONFIG ...`.
    std::vector<std::string> words(argv + 1, argv + argc);
    static const char *const kCommands[] = {"run",   "do",      "validate", "merge", "slurm",
                                            "plugins", "bench", "status", "help"};
    if (!words.empty() && words[0].rfind('-', 0) != 0) {
        bool is_command = false;
        for (const char *c : kCommands) is_command = is_command || words[0] == c;
        if (!is_command) words.insert(words.begin(), "run");
    }

    CLI::App app{"batchproc: run a YAML-described pipeline of plugin stages over many files"};
    app.set_version_flag("--version", std::string("batchproc ") + BATCHPROC_VERSION);
    app.require_subcommand(0, 1);
    Verbosity verbosity;
    RunArgs run_args;

    auto add_common = [&](CLI::App *cmd) {
        cmd->add_option("CONFIG", run_args.config, "YAML config file")->required()->check(CLI::ExistingFile);
        cmd->add_option("--set", run_args.sets, "override a config key: key.path=value (repeatable)");
        cmd->add_option("--files-from", run_args.files_from,
                        "take the inputs from this list, one path a line (- reads standard input), instead of the "
                        "config's input paths");
        cmd->add_flag("-0,--null", run_args.null_separated, "the --files-from list is NUL-separated (find -print0)");
        cmd->add_flag("-q,--quiet", verbosity.quiet, "errors only, no progress or summary");
        cmd->add_flag("-v,--verbose", verbosity.verbose, "debug logging");
        cmd->add_option("--shard", run_args.shard,
                        "do only shard I of N (I/N, from 0), or auto: from a Slurm array task or a Kubernetes "
                        "Indexed Job (JOB_COMPLETION_INDEX, with --shards N)");
        cmd->add_option("--shards", run_args.shards, "with --shard auto: how many shards (Kubernetes' completions)");
    };
    CLI::App *run = app.add_subcommand("run", "run the config's pipeline over its inputs (the default)");
    add_common(run);
    run->add_option("--mode", run_args.mode, "serial | threads | processes");
    run->add_option("--workers", run_args.workers, "number of workers, or auto");
    run->add_option("--start-method", run_args.start_method, "fork | spawn | forkserver");
    run->add_option("--report", run_args.report, "write the JSON report here");
    run->add_flag("--dry-run", run_args.dry_run, "list the jobs and their outputs, run nothing");
    run->add_flag("--force", run_args.force, "run every job, even those the journal shows unchanged; start the journal afresh");

    DoArgs do_args;
    OneLiner &line = do_args.line;
    CLI::App *one = app.add_subcommand("do", "run stages given on the command line, without a config file");
    one->add_option("INPUT", line.inputs, "files and folders to process");
    one->add_option("-p,--stage", line.stages,
                    "a stage and its parameters: -p 'resize max_side=1600' (one per -p, in order)")
        ->required()
        ->allow_extra_args(false);
    one->add_option("-o,--output", line.output_dir, "the folder outputs are written to");
    one->add_option("--name", line.name, "output name template, e.g. {rel_dir}/{stem}.{ext}");
    one->add_option("--metadata", line.metadata, "strip | keep_icc | keep");
    one->add_option("--include", line.include, "take only files matching this glob (repeatable)")
        ->allow_extra_args(false);
    one->add_option("--exclude", line.exclude, "skip files and folders matching this glob (repeatable)")
        ->allow_extra_args(false);
    one->add_flag("--no-recursive", do_args.no_recursive, "do not look into subfolders");
    one->add_option("--files-from", line.files_from,
                    "take the inputs from this list, one path a line (- reads standard input)");
    one->add_flag("-0,--null", line.null_separated, "the --files-from list is NUL-separated (find -print0)");
    one->add_option("--plugins", line.plugins, "plugins to load besides imgproc: names or .so paths")->delimiter(',');
    one->add_option("--mode", line.mode, "serial | threads | processes");
    one->add_option("-w,--workers", line.workers, "number of workers, or auto");
    one->add_option("--start-method", line.start_method, "fork | spawn | forkserver");
    one->add_option("--report", line.report, "write the JSON report here");
    one->add_option("--journal", line.journal, "the journal's path, or false for none");
    CLI::Option *no_resume = one->add_flag("--no-resume", do_args.no_resume, "run every job, whatever the journal says");
    one->add_flag("--verify-content", line.verify_content, "resume: compare inputs by content, not size and time")
        ->excludes(no_resume);
    one->add_flag("--force", do_args.force, "run every job and start the journal afresh");
    one->add_flag("--dry-run", do_args.dry_run, "list the jobs and their outputs, run nothing");
    one->add_flag("--print-config", do_args.print_config, "print the equivalent config file (checked as validate checks one) and exit");
    one->add_flag("-q,--quiet", verbosity.quiet, "errors only, no progress or summary");
    one->add_flag("-v,--verbose", verbosity.verbose, "debug logging");

    CLI::App *status = app.add_subcommand("status", "what a run would skip, run (and why) or has failed; runs nothing");
    add_common(status);
    status->add_flag("--json", run_args.json, "machine-readable output");

    CLI::App *validate = app.add_subcommand("validate", "check config, plugins and stage parameters; run nothing");
    add_common(validate);

    SlurmArgs slurm_args;
    CLI::App *slurm = app.add_subcommand("slurm", "write (and with --submit, submit) a Slurm job array running the "
                                                  "config in shards, and a merge job after it");
    slurm->add_option("CONFIG", run_args.config, "YAML config file")->required()->check(CLI::ExistingFile);
    slurm->add_option("SBATCH_OPTIONS", slurm_args.request.sbatch_extra,
                      "after --: more options for sbatch (both jobs), e.g. -- --account=lab --qos=low");
    slurm->add_option("--tasks", slurm_args.request.tasks, "array tasks = shards")->required();
    slurm->add_option("--partition", slurm_args.request.partition, "sbatch --partition");
    slurm->add_option("--time", slurm_args.request.time, "sbatch --time, per task (e.g. 2:00:00)");
    slurm->add_option("--cpus-per-task", slurm_args.request.cpus_per_task, "sbatch --cpus-per-task (workers: auto uses them)");
    slurm->add_option("--mem", slurm_args.request.mem, "sbatch --mem, per task (e.g. 8G)");
    slurm->add_option("--set", run_args.sets, "override a config key in every task: key.path=value (repeatable)");
    slurm->add_flag("--submit", slurm_args.submit, "submit both with sbatch and print the job ids");

    CLI::App *merge = app.add_subcommand("merge", "put the shards of a sharded run together: one report, and "
                                                  "proof that every job was done once");
    merge->add_option("CONFIG", run_args.config, "YAML config file")->required()->check(CLI::ExistingFile);
    merge->add_option("--set", run_args.sets, "override a config key: key.path=value (repeatable)");
    merge->add_option("--report", run_args.report, "write the merged report here (default: the config's report)");
    merge->add_option("--shards", run_args.shards, "which sharding, when journals of several shard counts are there");
    merge->add_flag("-q,--quiet", verbosity.quiet, "errors only");

    std::string plugin_name;
    bool plugins_json = false;
    CLI::App *plugins = app.add_subcommand("plugins", "list plugins, their stages and parameters");
    plugins->add_option("NAME", plugin_name, "a plugin id (or a stage name)");
    plugins->add_flag("--json", plugins_json, "machine-readable output");

    BenchOptions bench_opts;
    CLI::App *bench = app.add_subcommand("bench", "time the config in several modes and worker counts; check outputs");
    bench->add_option("CONFIG", bench_opts.config, "YAML config file")->required()->check(CLI::ExistingFile);
    bench->add_option("--modes", bench_opts.modes, "serial,threads,processes (default: all three)")->delimiter(',');
    bench->add_option("--workers", bench_opts.workers, "worker counts, e.g. 1,2,4 (the default)")->delimiter(',');
    bench->add_option("--start-methods", bench_opts.start_methods, "fork,spawn,forkserver (default: the config's)")
        ->delimiter(',');
    bench->add_option("--repeat", bench_opts.repeat, "timed runs per row, after one warm-up (default 3)");
    bench->add_option("--json", bench_opts.json, "write the rows as JSON here");
    bench->add_option("--csv", bench_opts.csv, "write the rows as CSV here");
    bench->add_option("--plot", bench_opts.plot, "write an SVG chart of speedup against workers here");
    bench->add_option("--set", bench_opts.sets, "override a config key: key.path=value (repeatable)");

    std::vector<const char *> cargv{argv[0]};
    for (const std::string &w : words) cargv.push_back(w.c_str());
    try {
        app.parse(static_cast<int>(cargv.size()), cargv.data());
    } catch (const CLI::Success &e) {
        return app.exit(e);
    } catch (const CLI::ParseError &e) {
        app.exit(e);
        return kExitUsage;
    }

    try {
        setup_logging(verbosity);
        for (int i = 0; i < argc; ++i) run_args.command += (i > 0 ? " " : "") + std::string(argv[i]);
        if (*run) return cmd_run(run_args, verbosity);
        if (*one) return cmd_do(do_args, run_args.command, verbosity);
        if (*status) return cmd_status(run_args);
        if (*validate) return cmd_validate(run_args);
        if (*merge) return cmd_merge(run_args);
        if (*slurm) return cmd_slurm(slurm_args, run_args);
        if (*plugins) return cmd_plugins(plugin_name, plugins_json);
        if (*bench) return run_bench(bench_opts);
        std::fputs(app.help().c_str(), stdout);
        return kExitUsage;
    } catch (const ConfigError &e) {
        spdlog::error("{}", e.what());
        return kExitUsage;
    } catch (const ShardError &e) {
        spdlog::error("{}", e.what());
        return kExitUsage;
    } catch (const JournalError &e) {
        // In use by another run, damaged or foreign: nothing ran, and the message says what to do.
        spdlog::error("{}", e.what());
        return kExitUsage;
    } catch (const std::exception &e) {
        spdlog::error("internal error: {}", e.what());
        return kExitInternal;
    }
}
