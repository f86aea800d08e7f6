// run, status, validate and do: one config (or one command line) run, judged or checked.
#include "commands.hpp"

#include "config/spec.hpp"
#include "engine/report.hpp"
#include "engine/run.hpp"
#include "engine/run_status.hpp"
#include "io/path_safety.hpp"
#include "plugin_host/plugin_registry.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace batchproc::cli {

namespace fs = std::filesystem;

void setup_logging(const Verbosity &v) {
    if (v.quiet) spdlog::set_level(spdlog::level::err);
    else if (v.verbose > 0) spdlog::set_level(spdlog::level::debug);
    else spdlog::set_level(spdlog::level::info);
}

std::string absolute_from_cwd(const std::string &path) { return normal_absolute(path).string(); }

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
    const auto print_end = [&](const RunResult &result) {
        if (!v.quiet) std::printf("%s\n", format_summary(result.summary).c_str());
        if (result.report_written && !v.quiet) std::printf("report: %s\n", run.spec.report->string().c_str());
    };
    options.abandoned = print_end;
    const RunResult result = execute_run(run, options);
    print_end(result);
    return result.exit_code;
}

int cmd_status(const RunArgs &args) {
    PreparedRun run = prepare_run(args.config, overrides_of(args), shard_of_args(args));
    const nlohmann::ordered_json status = run_status(run);
    if (args.json) std::printf("%s\n", status.dump(2).c_str());
    else std::fputs(format_status(status).c_str(), stdout);
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
        StageRef ref;
        try {
            ref = registry.find_stage(stage);
        } catch (const PluginError &) {
            return false; // ambiguous: the config's own check says so
        }
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

} // namespace batchproc::cli
