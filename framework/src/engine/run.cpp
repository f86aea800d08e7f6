#include "engine/run.hpp"
#include "engine/shards.hpp"

#include "config/config_loader.hpp"
#include "engine/crash_context.hpp"
#include "engine/executor.hpp"
#include "engine/in_process_watch.hpp"
#include "engine/interrupt.hpp"
#include "engine/progress.hpp"
#include "engine/run_journal.hpp"
#include "inputs/input_scan.hpp"
#include "io/atomic_file.hpp"
#include "io/path_safety.hpp"

#include <opencv2/core.hpp>
#include <spdlog/spdlog.h>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <set>

namespace batchproc {

PreparedRun prepare_run(const std::filesystem::path &config, const std::vector<std::string> &overrides,
                        const ShardSpec &shard) {
    PreparedRun run;
    run.spec = load_config(config, overrides);
    run.spec.overrides = overrides;
    run.spec.shard = shard;
    run.spec.display_base = std::filesystem::current_path();
    run.registry = std::make_unique<PluginRegistry>(run.spec.plugin_path);
    run.plan = plan_pipeline(run.spec, *run.registry);
    std::error_code ec;
    if (!run.spec.output.dir.empty() && std::filesystem::exists(run.spec.output.dir, ec) &&
        !std::filesystem::is_directory(run.spec.output.dir, ec)) {
        const SourceMark mark = run.spec.output.mark.file.empty() ? SourceMark{run.spec.config_path.string(), 0, 0}
                                                                   : run.spec.output.mark;
        throw ConfigError(mark, "output.dir",
                          run.spec.output.dir.string() + " exists and is not a folder (a file or a device): outputs " +
                              "are written into a folder; choose another output.dir");
    }
    if (run.spec.report && std::filesystem::is_directory(*run.spec.report, ec))
        throw ConfigError({run.spec.config_path.string()}, "report",
                          run.spec.report->string() + " is a folder; report names the JSON file to write, such as " +
                              (*run.spec.report / "report.json").string());
    if (!run.spec.output.dir.empty() && !run.plan.writes_output())
        spdlog::warn("output.dir is {}, but no stage of the pipeline writes files (add a save stage, such as "
                     "save: {{format: jpg}}): nothing will be written there",
                     run.spec.output.dir.string());
    std::vector<InputFile> files;
    if (!run.spec.input.generate_count) files = scan_inputs(run.spec.input);
    if (run.plan.writes_output() && !run.spec.output.dir.empty()) {
        // An output folder inside an input folder must not feed the last run's outputs
        // back in as inputs.
        const std::filesystem::path out = normal_absolute(run.spec.output.dir);
        const size_t before = files.size();
        files.erase(std::remove_if(files.begin(), files.end(), [&](const InputFile &f) { return is_within(f.path, out); }),
                    files.end());
        if (files.size() != before)
            spdlog::info("{} file(s) under output.dir {} are not taken as inputs", before - files.size(), out.string());
    }
    run.jobs = plan_jobs(run.spec, files, run.plan.outputs);
    run.plan_size = run.jobs.size();
    if (shard.sharded()) {
        // Every shard plans (and checks) the whole config the same way; then keeps its jobs.
        run.jobs = select_shard(std::move(run.jobs), shard);
        if (run.spec.report) run.spec.report = shard_file(*run.spec.report, shard);
        spdlog::info("shard {} of {}: {} of the plan's {} jobs", shard.index, shard.count, run.jobs.size(),
                     run.plan_size);
    }
    if (run.jobs.empty())
        spdlog::info("nothing to do: {}", !run.spec.input.list.empty() ? "the input list names no file"
                                          : run.spec.input.generate_count ? "input.generate.count is 0"
                                                                           : "the input paths hold no file to read");
    return run;
}

ThreadBudget plan_thread_budget(const PoolSpec &pool, int cores) {
    ThreadBudget b;
    b.threads_per_worker = std::max(1, pool.threads_per_worker);
    if (pool.mode == PoolMode::serial) {
        b.workers = 1;
    } else if (pool.workers > 0) {
        b.workers = pool.workers;
    } else {
        // auto, -N (all cores but N) or P% of them; at least one worker.
        int share = cores;
        if (pool.workers < 0) share = cores + pool.workers;
        else if (pool.workers_percent > 0) share = cores * pool.workers_percent / 100;
        b.workers = std::clamp(share / b.threads_per_worker, 1, kMaxWorkers);
    }
    const long wanted = long(b.workers) * b.threads_per_worker;
    if (wanted > cores && !pool.oversubscribe)
        b.warning = std::to_string(b.workers) + " worker(s) x " + std::to_string(b.threads_per_worker) +
                    " thread(s) = " + std::to_string(wanted) + " threads on " + std::to_string(cores) +
                    " available core(s): the machine is oversubscribed (set pool.oversubscribe: true to silence "
                    "this, or lower pool.workers / pool.threads_per_worker)";
    return b;
}

RunResult execute_run(PreparedRun &run, const RunOptions &options) {
    RunResult result;
    RunSpec &spec = run.spec;
    // pool.nice: the whole run steps back for other work on the machine; workers (forked or
    // spawned) inherit it.
    errno = 0;
    const int niceness = ::getpriority(PRIO_PROCESS, 0);
    if (spec.pool.nice > 0 && errno == 0 && niceness < spec.pool.nice &&
        ::setpriority(PRIO_PROCESS, 0, spec.pool.nice) != 0)
        spdlog::warn("pool.nice: could not lower the run's priority: {}", std::strerror(errno));
    const ThreadBudget budget = plan_thread_budget(spec.pool, available_cores());
    if (!budget.warning.empty()) spdlog::warn("{}", budget.warning);
    spec.pool.workers = budget.workers;
    spec.pool.threads_per_worker = budget.threads_per_worker;
    // In-process modes: OpenCV's own threads inside each job follow the budget.
    if (spec.pool.mode != PoolMode::processes) cv::setNumThreads(budget.threads_per_worker);

    result.records.assign(run.jobs.size(), JobRecord{});

    // Resume: the jobs the journal shows done and unchanged are not run again; the executor
    // gets the others, in plan order.
    std::unique_ptr<RunJournal> journal;
    if (options.use_journal) journal = RunJournal::open(spec, run.plan, options.force, options.command);
    // When some jobs do not run, the executor gets a copy of the others (`subset`, and
    // `origin`: the position in run.jobs of each); when all run, run.jobs itself, and the
    // executor fills result.records directly (no second copy of a million jobs or records).
    std::vector<size_t> origin;
    std::vector<PlannedJob> subset;
    std::vector<JobRecord> subset_records;
    bool all_run = true;
    if (journal) {
        const std::vector<JobVerdict> &verdicts = journal->judge(run.jobs);
        size_t running = 0;
        for (const JobVerdict &v : verdicts) running += v.verdict == Verdict::run;
        all_run = running == run.jobs.size();
        if (!all_run) {
            origin.reserve(running);
            subset.reserve(running);
        }
        size_t given_up = 0;
        for (size_t i = 0; i < run.jobs.size(); ++i) {
            if (verdicts[i].verdict == Verdict::run) {
                if (!all_run) {
                    origin.push_back(i);
                    subset.push_back(run.jobs[i]);
                }
                const JournalRow *row = verdicts[i].row;
                if (row != nullptr && row->status == "running" && verdicts[i].reason == RunReason::failed_before)
                    spdlog::warn("{}: an earlier run died while this job was running ({} of {} deaths allowed); it "
                                 "runs again: if it crashes the process, run it alone with --mode processes",
                                 run.jobs[i].display, row->died_running, spec.pool.retries);
                continue;
            }
            result.records[i] = RunJournal::record_for_skipped(verdicts[i]);
            if (verdicts[i].verdict == Verdict::given_up) {
                ++given_up;
                spdlog::error("{}: not run: {}", run.jobs[i].display, verdicts[i].detail);
            }
        }
        const size_t skipped = run.jobs.size() - running - given_up;
        if (skipped > 0)
            spdlog::info("{} of {} jobs unchanged since an earlier run (journal {}): not run again; --force runs them",
                         skipped, run.jobs.size(), journal->path().string());
    }
    const std::vector<PlannedJob> &to_run = all_run ? run.jobs : subset;
    if (!all_run) subset_records.resize(subset.size());
    std::vector<JobRecord> &run_records = all_run ? result.records : subset_records;
    // Temporary files a killed earlier run left beside the outputs go now (never a final name).
    {
        std::set<std::filesystem::path> folders;
        for (const PlannedJob &job : to_run)
            for (const std::filesystem::path &output : job.outputs) folders.insert(output.parent_path());
        size_t removed = 0;
        for (const std::filesystem::path &folder : folders) removed += remove_stale_temp_files(folder);
        if (removed > 0) spdlog::info("removed {} temporary file(s) left by an earlier run that was killed", removed);
    }
    const auto position_of = [&](size_t k) { return all_run ? k : origin[k]; };
    const auto position = [&](const PlannedJob &job) { return position_of(static_cast<size_t>(&job - to_run.data())); };

    RunCounters counters;
    std::unique_ptr<Executor> executor = make_executor(spec.pool);
    InterruptGuard interrupts;
    const bool in_process = spec.pool.mode != PoolMode::processes;
    if (in_process) install_crash_reporter();

    ExecutionContext ctx{spec, run.plan, to_run, run_records, counters, InterruptGuard::stop_requested(), {}};
    // Failed jobs are errors (they show under -q too), one line each for the first
    // kFailureLines; the rest are counted and pointed at the report.
    constexpr size_t kFailureLines = 20;
    size_t failures_shown = 0, failures_hidden = 0;
    StageTotals stage_totals;
    const auto publish = [&](const PlannedJob &job, const JobRecord &record) {
        // Stage timings go into the run's totals, not into a million records kept to the end.
        std::vector<StageTiming> &timings = run_records[static_cast<size_t>(&job - to_run.data())].stage_ms;
        for (const StageTiming &t : timings) stage_totals[t.stage] += t.ms;
        std::vector<StageTiming>().swap(timings);
        const bool failure = record.status == JobStatus::failed || record.status == JobStatus::timeout ||
                             record.status == JobStatus::crashed;
        if (failure && failures_shown < kFailureLines) {
            spdlog::error("{}: {}: {}", job.display, to_string(record.status), record.error);
            ++failures_shown;
        } else if (failure) {
            ++failures_hidden;
        } else if (record.status != JobStatus::ok) {
            spdlog::warn("{}: {}: {}", job.display, to_string(record.status), record.error);
        }
        for (const std::string &w : record.warnings) spdlog::warn("{}: {}", job.display, w);
        if (journal) journal->finished(position(job), job, record);
    };
    const auto start = std::chrono::steady_clock::now();
    const auto seconds_since_start = [&] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };

    // The end of a run, however it ends: the jobs' records in plan order, the summary, the
    // report, the exit code, the journal's end.
    // `records`: every job's record, in plan order (result.records, or the watchdog's own copy
    // while job threads may still write into result.records).
    const auto conclude = [&](std::vector<JobRecord> &records, double wall_s, const std::string &internal_error) {
        result.interrupted = InterruptGuard::stop_requested().load() > 0;
        for (JobRecord &r : records)
            if (r.status == JobStatus::pending) {
                r.status = JobStatus::skipped;
                r.error = !internal_error.empty() ? "not run: the run stopped on an internal error"
                          : result.interrupted    ? "not run: the run was interrupted"
                                                  : "not run: the run stopped early";
            }
        if (failures_hidden > 0)
            spdlog::error("and {} more failed job(s): {}", failures_hidden,
                          spec.report ? "see the report " + spec.report->string()
                                      : std::string("add report: PATH to the config, or --report FILE, to keep every "
                                                    "job's error"));
        else if (failures_shown > 0 && !spec.report)
            spdlog::warn("no report is written: add report: PATH to the config, or --report FILE, to keep each job's "
                         "error and metrics in a JSON file");
        result.summary = summarize(records, wall_s, spec.pool, executor->workers(), &stage_totals);
        result.summary.details = executor->details();
        result.summary.error = internal_error;
        if (options.write_report && spec.report) {
            const std::string text = build_report(spec, run.jobs, records, result.summary).dump(2) + "\n";
            try {
                WriteOptions how;
                how.durable = spec.output.durable;
                write_file_atomically(*spec.report, text.data(), text.size(), how);
                result.report_written = true;
            } catch (const std::exception &e) {
                spdlog::error("cannot write the report: {}", e.what());
                result.exit_code = 3;
                return;
            }
        }
        const auto &s = result.summary;
        if (!internal_error.empty()) result.exit_code = 3;
        else if (result.interrupted) result.exit_code = 130;
        else if (s.failed + s.timeout + s.crashed + s.skipped + s.interrupted > 0) result.exit_code = 1;
        else result.exit_code = 0;
        if (journal) journal->end(result.exit_code);
    };

    // Serial and threads mode: a watchdog ends the run cleanly when a job hangs past
    // pool.timeout or a stop's running jobs do not finish (a thread cannot be stopped).
    std::unique_ptr<InProcessWatch> watch;
    if (in_process) {
        watch = std::make_unique<InProcessWatch>(
            to_run.size(), spec.pool.timeout_s, kStopGraceSeconds, InterruptGuard::stop_requested(),
            [&](const InProcessWatch::Ending &ending) {
                const char *mode = to_string(spec.pool.mode);
                if (ending.why == InProcessWatch::Why::timeout)
                    spdlog::error("{}: timeout: still running after pool.timeout ({:g} s); in {} mode a job cannot be "
                                  "stopped, so the run ends here (the running jobs are recorded as interrupted, the "
                                  "rest as skipped); pool.mode: processes stops a job past its timeout and goes on",
                                  to_run[ending.timed_out].display, spec.pool.timeout_s, mode);
                else
                    spdlog::error("{}: {} job(s) still running are recorded as interrupted and the run ends here ({} "
                                 "mode cannot stop a running job; pool.mode: processes can)",
                                 ending.why == InProcessWatch::Why::second_signal
                                     ? "second signal"
                                     : "the stop grace period (" + fmt::format("{:g}", kStopGraceSeconds) + " s) ended",
                                 ending.running_ms.size(), mode);
                // Every job's record in plan order: the journal's verdicts as they are, finished
                // jobs copied (their records are final), the others made here.
                std::vector<JobRecord> known(run.jobs.size());
                for (size_t i = 0; i < run.jobs.size(); ++i)
                    if (!all_run) known[i] = result.records[i]; // jobs the journal kept from running
                for (size_t k = 0; k < to_run.size(); ++k) {
                    if (ending.finished[k]) {
                        known[position_of(k)] = run_records[k];
                        continue;
                    }
                    const auto running = ending.running_ms.find(k);
                    if (running == ending.running_ms.end()) continue; // pending: skipped
                    JobRecord &r = known[position_of(k)];
                    r.attempts = 1;
                    r.ms = running->second;
                    r.worker_pid = static_cast<long>(::getpid());
                    if (k == ending.timed_out) {
                        r.status = JobStatus::timeout;
                        r.error = "timed out: the job ran past pool.timeout (" + fmt::format("{:g}", spec.pool.timeout_s) +
                                  " s); in " + mode + " mode it cannot be stopped, so the run ended here";
                    } else {
                        r.status = JobStatus::interrupted;
                        r.error = ending.why == InProcessWatch::Why::timeout
                                      ? "interrupted: still running when another job timed out and the run ended"
                                  : ending.why == InProcessWatch::Why::second_signal
                                      ? "interrupted: still running at the second signal"
                                      : "interrupted: still running when the stop grace period (" +
                                            fmt::format("{:g}", kStopGraceSeconds) + " s) ended";
                    }
                    if (journal) journal->finished(position_of(k), to_run[k], r);
                }
                conclude(known, seconds_since_start(), "");
                if (options.abandoned) options.abandoned(result);
                return result.exit_code;
            });
        ctx.on_started = [&](const PlannedJob &job) {
            const size_t k = static_cast<size_t>(&job - to_run.data());
            watch->started(k, [&] {
                if (journal) journal->started(position(job), job);
            });
        };
        ctx.on_finished = [&](const PlannedJob &job, const JobRecord &record) {
            watch->finished(static_cast<size_t>(&job - to_run.data()), [&] { publish(job, record); });
        };
    } else {
        ctx.on_finished = publish;
    }

    // An internal error (fork failing, the forkserver killed, workers that never start) ends
    // the run, but what was done is kept: the report is written with the rest `skipped`.
    std::string internal_error;
    try {
        executor->prepare(ctx);
        ProgressReporter progress([&] { return executor->progress(ctx); }, options.progress, options.terminal);
        executor->execute(ctx);
    } catch (const std::exception &e) {
        internal_error = e.what();
        spdlog::error("internal error: {}", internal_error);
    }
    if (watch) watch->close();
    const double wall_s = seconds_since_start();
    if (!all_run)
        for (size_t k = 0; k < subset_records.size(); ++k) result.records[origin[k]] = std::move(subset_records[k]);
    conclude(result.records, wall_s, internal_error);
    return result;
}

} // namespace batchproc
