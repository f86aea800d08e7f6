// The batchproc command line: run (default), do, validate, plugins, bench, and the hidden worker role.
#include "bench/bench.hpp"
#include "codec/image_encoder.hpp"
#include "config/one_liner.hpp"
#include "config/spec.hpp"
#include "engine/allocator.hpp"
#include "engine/merge.hpp"
#include "engine/shards.hpp"
#include "engine/slurm_job.hpp"
#include "engine/report.hpp"
#include "engine/run.hpp"
#include "engine/run_status.hpp"
#include "inputs/image_formats.hpp"
#include "journal/journal.hpp"
#include "io/atomic_file.hpp"
#include "io/path_safety.hpp"
#include "plugin_host/param_set.hpp"
#include "plugin_host/plugin_registry.hpp"
#include "pool/worker_entry.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace batchproc;

namespace {

constexpr int kExitOk = 0;
constexpr int kExitUsage = 2;
constexpr int kExitInternal = 3;

struct Verbosity {
    bool quiet = false;
    int verbose = 0;
};

void setup_logging(const Verbosity &v) {
    if (v.quiet) spdlog::set_level(spdlog::level::err);
    else if (v.verbose > 0) spdlog::set_level(spdlog::level::debug);
    else spdlog::set_level(spdlog::level::info);
}

std::string absolute_from_cwd(const std::string &path) { return normal_absolute(path).string(); }

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

ShardSpec shard_of_args(const RunArgs &a) {
    if (a.shard.empty()) {
        if (a.shards > 0) throw ShardError("--shards N goes with --shard auto");
        return {};
    }
    return parse_shard(a.shard, a.shards > 0 ? std::optional<int>(a.shards) : std::nullopt, shard_environment());
}

std::vector<std::string> overrides_of(const RunArgs &a) {
    std::vector<std::string> o = a.sets;
    if (!a.mode.empty()) o.push_back("pool.mode=" + a.mode);
    if (!a.workers.empty()) o.push_back("pool.workers=" + a.workers);
    if (!a.start_method.empty()) o.push_back("pool.start_method=" + a.start_method);
    if (!a.report.empty()) o.push_back("report=" + absolute_from_cwd(a.report));
    // A JSON string is a YAML double-quoted scalar: any path (and "-") stays a string.
    if (!a.files_from.empty())
        o.push_back("input.list=" +
                    nlohmann::json(a.files_from == "-" ? std::string("-") : absolute_from_cwd(a.files_from)).dump());
    if (a.null_separated) o.push_back("input.list_nul=true");
    return o;
}

int cmd_run(const RunArgs &args, const Verbosity &v) {
    PreparedRun run = prepare_run(args.config, overrides_of(args), shard_of_args(args));
    if (args.dry_run) {
        for (const PlannedJob &job : run.jobs) {
            std::string outputs;
            for (const std::filesystem::path &output : job.outputs)
                outputs += (outputs.empty() ? "" : ", ") + display_path(output, display_base(run.spec));
            std::printf("%s -> %s\n", job.display.c_str(), outputs.empty() ? "(no output)" : outputs.c_str());
        }
        std::printf("%zu jobs; nothing was run (--dry-run)\n", run.jobs.size());
        return kExitOk;
    }
    RunOptions options;
    // The progress line is redrawn in place on stdout when it is a terminal.
    options.terminal = ::isatty(STDOUT_FILENO) != 0;
    options.progress = !v.quiet;
    options.force = args.force;
    options.command = args.command;
    RunResult result = execute_run(run, options);
    if (!v.quiet) std::printf("%s\n", format_summary(result.summary).c_str());
    if (run.spec.report && !v.quiet) std::printf("report: %s\n", run.spec.report->string().c_str());
    return result.exit_code;
}

int cmd_status(const RunArgs &args) {
    PreparedRun run = prepare_run(args.config, overrides_of(args), shard_of_args(args));
    const nlohmann::ordered_json status = run_status(run);
    if (args.json) std::printf("%s\n", status.dump(2).c_str());
    else std::fputs(format_status(status).c_str(), stdout);
    return kExitOk;
}

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

struct SlurmArgs {
    SlurmRequest request;
    bool submit = false;
};

// Runs `command` (sh), returns its standard output; throws ShardError-like usage errors
// (exit 2) when it cannot run or fails: the caller says what was and was not submitted.
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

int cmd_validate(const RunArgs &args) {
    PreparedRun run = prepare_run(args.config, overrides_of(args), shard_of_args(args));
    std::string stages;
    for (const PlannedStage &s : run.plan.stages) stages += (stages.empty() ? "" : " -> ") + std::string(s.ref.stage->name);
    std::printf("%s: OK: %zu jobs, pipeline %s, mode %s\n", args.config.c_str(), run.jobs.size(), stages.c_str(),
                to_string(run.spec.pool.mode));
    return kExitOk;
}

struct DoArgs {
    OneLiner line;
    bool no_recursive = false;
    bool no_resume = false;
    bool print_config = false;
    bool dry_run = false;
    bool force = false;
};

// `batchproc do`: the command line becomes a config text, which then runs as `run` runs a
// file. Every error of that config is told in terms of the option it came from.
int cmd_do(const DoArgs &args, const std::string &command, const Verbosity &v) {
    OneLiner line = args.line;
    line.recursive = !args.no_recursive;
    line.resume = !args.no_resume;
    // Path parameters (a watermark's logo) are relative to the current folder here, not to
    // the temporary config's: the plugins' schemas say which parameters are paths.
    PluginRegistry registry;
    std::vector<std::string> plugins{"imgproc"};
    plugins.insert(plugins.end(), line.plugins.begin(), line.plugins.end());
    for (const std::string &p : plugins) {
        try {
            registry.load(p);
        } catch (const std::exception &) {
            // The config's own check names a plugin that cannot load.
        }
    }
    line.is_path = [&registry](const std::string &stage, const std::string &param) {
        const StageRef ref = registry.find_stage(stage);
        if (ref.stage == nullptr) return false;
        for (size_t i = 0; i < ref.stage->param_count; ++i)
            if (param == ref.stage->params[i]->name) return ref.stage->params[i]->type == BP_PARAM_PATH;
        return false;
    };
    // A malformed -p is reported here, naming it; the config's own errors below.
    const std::string text = config_text(one_liner_config(line, fs::current_path()));
    try {
        const OneLinerConfigFile file(text);
        if (args.print_config) {
            // Only a config that `validate` accepts is printed; nothing runs.
            prepare_run(file.path(), {});
            std::fputs(text.c_str(), stdout);
            return kExitOk;
        }
        RunArgs run;
        run.config = file.path().string();
        run.dry_run = args.dry_run;
        run.force = args.force;
        run.command = command;
        return cmd_run(run, v);
    } catch (const ConfigError &e) {
        throw one_liner_error(e, line);
    }
}

nlohmann::ordered_json describe_param(const bp_param_schema &p) {
    nlohmann::ordered_json j;
    j["name"] = p.name;
    j["type"] = param_type_name(p.type);
    j["default"] = p.default_value ? nlohmann::ordered_json(p.default_value) : nlohmann::ordered_json(nullptr);
    if (p.has_range) {
        if (p.type == BP_PARAM_INT) {
            j["min"] = static_cast<int64_t>(p.min_value);
            j["max"] = static_cast<int64_t>(p.max_value);
        } else {
            j["min"] = p.min_value;
            j["max"] = p.max_value;
        }
    }
    if (p.type == BP_PARAM_CHOICE) {
        nlohmann::ordered_json choices = nlohmann::ordered_json::array();
        for (const char *const *c = p.choices; c && *c; ++c) choices.push_back(*c);
        j["choices"] = choices;
    }
    j["doc"] = p.doc ? p.doc : "";
    return j;
}

nlohmann::ordered_json describe_plugin(const LoadedPlugin &p) {
    nlohmann::ordered_json j;
    j["id"] = p.id;
    j["version"] = p.version;
    j["api"] = std::to_string(p.descriptor->api_major) + "." + std::to_string(p.descriptor->api_minor);
    j["file"] = p.file.string();
    j["doc"] = p.doc;
    nlohmann::ordered_json stages = nlohmann::ordered_json::array();
    for (size_t i = 0; i < p.descriptor->stage_count; ++i) {
        const bp_stage_descriptor &s = *p.descriptor->stages[i];
        nlohmann::ordered_json st;
        st["name"] = s.name;
        st["doc"] = s.doc ? s.doc : "";
        st["needs_image"] = (s.flags & BP_STAGE_NEEDS_IMAGE) != 0;
        st["writes_output"] = (s.flags & BP_STAGE_WRITES_OUTPUT) != 0;
        nlohmann::ordered_json params = nlohmann::ordered_json::array();
        for (size_t k = 0; k < s.param_count; ++k) params.push_back(describe_param(*s.params[k]));
        st["params"] = params;
        stages.push_back(st);
    }
    j["stages"] = stages;
    return j;
}

void print_plugin_text(const nlohmann::ordered_json &p) {
    std::printf("%s %s (API %s)  %s\n  %s\n", p["id"].get<std::string>().c_str(), p["version"].get<std::string>().c_str(),
                p["api"].get<std::string>().c_str(), p["file"].get<std::string>().c_str(),
                p["doc"].get<std::string>().c_str());
    for (const auto &s : p["stages"]) {
        std::printf("\n  %s: %s\n", s["name"].get<std::string>().c_str(), s["doc"].get<std::string>().c_str());
        for (const auto &q : s["params"]) {
            std::string constraint;
            if (q.contains("min"))
                constraint = "[" + nlohmann::json(q["min"]).dump() + ", " + nlohmann::json(q["max"]).dump() + "]";
            if (q.contains("choices")) {
                for (const auto &c : q["choices"]) constraint += (constraint.empty() ? "" : "|") + c.get<std::string>();
            }
            const std::string def = q["default"].is_null() ? "(unset)" : q["default"].get<std::string>();
            std::printf("      %-16s %-8s default %-10s %-24s %s\n", q["name"].get<std::string>().c_str(),
                        q["type"].get<std::string>().c_str(), def.c_str(), constraint.c_str(),
                        q["doc"].get<std::string>().c_str());
        }
    }
}

int cmd_plugins(const std::string &name, bool json) {
    PluginRegistry registry;
    std::vector<std::string> errors = registry.load_all();
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    bool found = name.empty();
    for (const LoadedPlugin &p : registry.plugins()) {
        if (!name.empty() && p.id != name) continue;
        found = true;
        list.push_back(describe_plugin(p));
    }
    if (!found) {
        // A stage name is accepted too: show the plugin that has it.
        StageRef ref = registry.find_stage(name);
        if (ref.plugin != nullptr) {
            list.push_back(describe_plugin(*ref.plugin));
            found = true;
        }
    }
    if (!found) {
        spdlog::error("no plugin or stage named \"{}\" in the plugin path", name);
        return kExitUsage;
    }
    // The file formats the host reads and writes (save's `format` and `auto`), with the list.
    nlohmann::ordered_json formats;
    formats["read"] = readable_extensions();
    formats["write"] = writable_formats();
    if (json) {
        nlohmann::ordered_json out;
        out["plugins"] = list;
        out["formats"] = formats;
        out["errors"] = errors;
        std::printf("%s\n", out.dump(2).c_str());
    } else {
        for (size_t i = 0; i < list.size(); ++i) {
            if (i > 0) std::printf("\n");
            print_plugin_text(list[i]);
        }
        if (name.empty()) {
            const auto joined = [](const nlohmann::ordered_json &names) {
                std::string text;
                for (const auto &n : names) text += (text.empty() ? "" : ", ") + n.get<std::string>();
                return text;
            };
            std::printf("\nfile formats (by extension)\n  read:  %s\n  write: %s\n",
                        joined(formats["read"]).c_str(), joined(formats["write"]).c_str());
        }
        for (const std::string &e : errors) spdlog::warn("{}", e);
    }
    return kExitOk;
}

} // namespace

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
