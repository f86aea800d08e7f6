// run_bench: the rows (serial reference, threads, processes x start methods, x workers),
// one warm-up and N timed runs each into scratch output folders, fingerprints of every run
// compared with the serial reference, then the table and the result files.
#include "bench/bench.hpp"
#include "config/text.hpp"

#include "config/spec.hpp"
#include "engine/executor.hpp"
#include "engine/run.hpp"
#include "io/atomic_file.hpp"

#include <spdlog/spdlog.h>

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <set>
#include <string>
#include <system_error>
#include <vector>

namespace fs = std::filesystem;

namespace batchproc {

namespace {

constexpr int kExitOk = 0;
constexpr int kExitDiffers = 1;
constexpr int kExitUsage = 2;
constexpr int kExitInternal = 3;
constexpr int kExitInterrupted = 130;

// A fresh folder under $TMPDIR (or /tmp) holding every run's outputs; removed with its
// contents when the bench ends, however it ends (short of a second Ctrl-C).
class ScratchRoot {
public:
    ScratchRoot() {
        const char *tmp = std::getenv("TMPDIR");
        std::string templ = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/batchproc-bench-XXXXXX";
        if (::mkdtemp(templ.data()) == nullptr)
            throw std::system_error(errno, std::generic_category(), "cannot create a scratch folder " + templ);
        path_ = templ;
    }
    ~ScratchRoot() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    ScratchRoot(const ScratchRoot &) = delete;
    ScratchRoot &operator=(const ScratchRoot &) = delete;
    const fs::path &path() const { return path_; }

private:
    fs::path path_;
};

// Between runs (execute_run handles signals during a run itself), SIGINT/SIGTERM only set
// a flag, so the bench stops at the next run boundary and still removes its scratch folder.
volatile std::sig_atomic_t g_bench_interrupted = 0;
extern "C" void on_bench_signal(int) { g_bench_interrupted = 1; }

class BenchSignals {
public:
    BenchSignals() {
        g_bench_interrupted = 0;
        struct sigaction sa {};
        sa.sa_handler = &on_bench_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART;
        sigaction(SIGINT, &sa, &old_int_);
        sigaction(SIGTERM, &sa, &old_term_);
    }
    ~BenchSignals() {
        sigaction(SIGINT, &old_int_, nullptr);
        sigaction(SIGTERM, &old_term_, nullptr);
    }
    BenchSignals(const BenchSignals &) = delete;
    BenchSignals &operator=(const BenchSignals &) = delete;
    static bool interrupted() { return g_bench_interrupted != 0; }

private:
    struct sigaction old_int_ {
    }, old_term_{};
};

// The log at warn (or quieter) during the runs: per-run info lines would drown the table.
class QuietLog {
public:
    QuietLog() : previous_(spdlog::default_logger()->level()) {
        if (previous_ < spdlog::level::warn) spdlog::set_level(spdlog::level::warn);
    }
    ~QuietLog() { spdlog::set_level(previous_); }
    QuietLog(const QuietLog &) = delete;
    QuietLog &operator=(const QuietLog &) = delete;

private:
    spdlog::level::level_enum previous_;
};

// Trimmed, without empties and duplicates, in the given order.
std::vector<std::string> clean_list(const std::vector<std::string> &items) {
    std::vector<std::string> out;
    for (const std::string &raw : items) {
        const std::string item = trim(raw);
        if (!item.empty() && std::find(out.begin(), out.end(), item) == out.end()) out.push_back(item);
    }
    return out;
}

bool check_names(const std::vector<std::string> &items, const std::vector<std::string> &allowed, const char *option) {
    for (const std::string &item : items)
        if (std::find(allowed.begin(), allowed.end(), item) == allowed.end()) {
            std::string list;
            for (const std::string &a : allowed) list += (list.empty() ? "" : ", ") + a;
            spdlog::error("{}: unknown value \"{}\": use one or more of {}", option, item, list);
            return false;
        }
    return true;
}

// A YAML double-quoted string, so that any folder name survives the --set parser.
std::string yaml_string(const std::string &text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

std::vector<std::string> row_overrides(const BenchOptions &o, const BenchRow &row, const fs::path &out_dir,
                                       bool oversubscribed) {
    std::vector<std::string> v = o.sets;
    v.push_back("pool.mode=" + row.mode);
    v.push_back("pool.workers=" + std::to_string(row.workers));
    if (!row.start_method.empty()) v.push_back("pool.start_method=" + row.start_method);
    // The bench already says which rows oversubscribe the machine; one note, not one per run.
    if (oversubscribed) v.push_back("pool.oversubscribe=true");
    v.push_back("output.dir=" + yaml_string(out_dir.string()));
    return v;
}

bool write_result(const std::string &path, const std::string &text, const char *what) {
    try {
        write_file_atomically(fs::absolute(path), text.data(), text.size(), WriteOptions{});
        std::printf("%s: %s\n", what, path.c_str());
        return true;
    } catch (const std::exception &e) {
        spdlog::error("cannot write the bench {}: {}", what, e.what());
        return false;
    }
}

} // namespace

int run_bench(const BenchOptions &options) {
    // ---- options ----
    std::vector<std::string> modes = clean_list(options.modes);
    if (modes.empty()) modes = {"serial", "threads", "processes"};
    if (!check_names(modes, {"serial", "threads", "processes"}, "--modes")) return kExitUsage;
    std::vector<int> workers;
    for (int w : options.workers) {
        if (w < 1) {
            spdlog::error("--workers: {} is not a worker count: use numbers of 1 or more, e.g. --workers 1,2,4", w);
            return kExitUsage;
        }
        if (std::find(workers.begin(), workers.end(), w) == workers.end()) workers.push_back(w);
    }
    if (workers.empty()) workers = {1, 2, 4};
    std::vector<std::string> methods = clean_list(options.start_methods);
    if (!check_names(methods, {"fork", "spawn", "forkserver"}, "--start-methods")) return kExitUsage;
    if (options.repeat < 1) {
        spdlog::error("--repeat: {} timed runs per row makes no bench: use 1 or more", options.repeat);
        return kExitUsage;
    }
    auto wants = [&](const char *mode) { return std::find(modes.begin(), modes.end(), mode) != modes.end(); };

    ScratchRoot scratch;
    BenchSignals signals;

    // ---- the config, checked once before anything runs ----
    size_t job_count = 0;
    int threads_per_worker = 1;
    {
        std::vector<std::string> probe_overrides = options.sets;
        probe_overrides.push_back("output.dir=" + yaml_string((scratch.path() / "check").string()));
        PreparedRun probe = prepare_run(options.config, probe_overrides); // ConfigError: exit 2 in main
        job_count = probe.jobs.size();
        threads_per_worker = std::max(1, probe.spec.pool.threads_per_worker);
        if (methods.empty()) methods = {to_string(probe.spec.pool.start_method)};
    }
    const int cores = available_cores();

    // ---- the rows, in table order ----
    std::vector<BenchRow> rows;
    {
        BenchRow serial;
        serial.mode = "serial";
        serial.requested = wants("serial");
        rows.push_back(serial);
    }
    for (const std::string &mode : modes) {
        if (mode == "threads") {
            for (int w : workers) {
                BenchRow r;
                r.mode = mode;
                r.workers = w;
                rows.push_back(r);
            }
        } else if (mode == "processes") {
            for (const std::string &m : methods)
                for (int w : workers) {
                    BenchRow r;
                    r.mode = mode;
                    r.workers = w;
                    r.start_method = m;
                    rows.push_back(r);
                }
        }
    }
    for (BenchRow &r : rows) r.jobs = job_count;
    // Run order: serial (the reference) first, then processes, then threads: threads mode
    // leaves oneTBB threads in this process, and workers must not be forked (fork, or the
    // forkserver's helper) from a process that has threads.
    std::vector<size_t> order;
    for (size_t i = 0; i < rows.size(); ++i)
        if (rows[i].mode == "serial") order.push_back(i);
    for (size_t i = 0; i < rows.size(); ++i)
        if (rows[i].mode == "processes") order.push_back(i);
    for (size_t i = 0; i < rows.size(); ++i)
        if (rows[i].mode == "threads") order.push_back(i);

    // ---- what is about to happen ----
    std::printf("bench %s: %zu job%s, %zu row%s, 1 warm-up + %d timed run%s per row, %d core%s available\n",
                options.config.c_str(), job_count, job_count == 1 ? "" : "s", rows.size(), rows.size() == 1 ? "" : "s",
                options.repeat, options.repeat == 1 ? "" : "s", cores, cores == 1 ? "" : "s");
    if (!wants("serial"))
        std::printf(
            "note: serial is not in --modes: it runs anyway, first, as the reference for speedup and outputs\n");
    {
        std::string over;
        for (int w : workers)
            if (long(w) * threads_per_worker > cores && (wants("threads") || wants("processes")))
                over += (over.empty() ? "" : ", ") + std::to_string(w);
        if (!over.empty()) {
            const std::string per =
                threads_per_worker == 1 ? std::string() : " x " + std::to_string(threads_per_worker) + " threads";
            std::printf("note: %s worker%s%s oversubscribe the %d available core%s: workers take turns on the cores, "
                        "expect no speedup beyond %d there\n",
                        over.c_str(), over == "1" ? "" : "s", per.c_str(), cores, cores == 1 ? "" : "s", cores);
        }
    }
    if (!options.start_methods.empty() && !wants("processes"))
        std::printf("note: --start-methods is ignored: processes is not in --modes\n");
    std::fflush(stdout);

    // ---- the runs ----
    std::vector<JobFingerprint> reference;
    bool have_reference = false;
    int run_number = 0;
    const bool on_terminal = ::isatty(STDERR_FILENO) != 0;
    size_t step = 0;
    for (size_t index : order) {
        BenchRow &row = rows[index];
        ++step;
        // On a terminal the row's line shows while it runs; otherwise one line when it is done.
        const std::string progress =
            "bench [" + std::to_string(step) + "/" + std::to_string(rows.size()) + "] " + row_label(row);
        if (on_terminal) {
            std::fprintf(stderr, "%s ...", progress.c_str());
            std::fflush(stderr);
        }
        const bool oversubscribed = row.mode != "serial" && long(row.workers) * threads_per_worker > cores;
        for (int attempt = 0; attempt <= options.repeat; ++attempt) { // attempt 0: the warm-up
            if (BenchSignals::interrupted()) {
                std::fprintf(stderr, "%s%s: interrupted\n", on_terminal ? "\r\033[K" : "", progress.c_str());
                spdlog::error("bench interrupted: no table");
                return kExitInterrupted;
            }
            const fs::path out_dir = scratch.path() / ("run-" + std::to_string(++run_number));
            PreparedRun run = prepare_run(options.config, row_overrides(options, row, out_dir, oversubscribed));
            RunOptions run_options;
            run_options.progress = false;
            run_options.terminal = false;
            run_options.write_report = false;
            run_options.use_journal = false; // every row runs every job
            RunResult result;
            {
                QuietLog quiet;
                result = execute_run(run, run_options);
            }
            if (result.exit_code == kExitInterrupted || result.interrupted) {
                std::fprintf(stderr, "%s%s: interrupted\n", on_terminal ? "\r\033[K" : "", progress.c_str());
                spdlog::error("bench interrupted: no table");
                std::error_code ec;
                fs::remove_all(out_dir, ec);
                return kExitInterrupted;
            }
            const std::vector<JobFingerprint> prints = fingerprint_jobs(run.jobs, result.records, out_dir);
            {
                std::error_code ec;
                fs::remove_all(out_dir, ec);
            }
            row.failed = std::max(row.failed, result.summary.total - result.summary.ok);
            if (attempt > 0) row.wall_s.push_back(result.summary.wall_s);
            if (!have_reference) {
                reference = prints;
                have_reference = true;
            } else if (row.outputs_match) {
                const std::string diff = first_difference(reference, prints);
                if (!diff.empty()) {
                    row.outputs_match = false;
                    row.mismatch =
                        diff + (attempt == 0 ? " (warm-up run)" : " (timed run " + std::to_string(attempt) + ")");
                }
            }
        }
        const WallStats w = wall_stats(row.wall_s);
        std::fprintf(stderr, "%s%s: %.3g s median%s%s\n", on_terminal ? "\r\033[K" : "", progress.c_str(), w.median,
                     row.failed > 0 ? ", some jobs failed" : "",
                     row.outputs_match ? "" : ", OUTPUTS DIFFER FROM SERIAL");
    }
    finish_rows(rows);

    // ---- the table and the result files ----
    std::printf("\n%s", format_table(rows).c_str());
    const std::string mismatches = format_mismatches(rows);
    size_t rows_with_failures = 0;
    for (const BenchRow &r : rows) rows_with_failures += r.failed > 0;
    if (rows_with_failures > 0)
        std::printf("note: %zu row%s had failed jobs (column failed; the warnings above name them)\n",
                    rows_with_failures, rows_with_failures == 1 ? "" : "s");
    if (!mismatches.empty()) std::printf("\n%s", mismatches.c_str());
    std::fflush(stdout);

    bool written = true;
    if (!options.json.empty()) written = write_result(options.json, rows_json(rows).dump(2) + "\n", "json") && written;
    if (!options.csv.empty()) written = write_result(options.csv, rows_csv(rows), "csv") && written;
    if (!options.plot.empty()) {
        const std::string title = "batchproc bench: " + fs::path(options.config).filename().string() + " (" +
                                  std::to_string(job_count) + " jobs, " + std::to_string(cores) + " cores)";
        written = write_result(options.plot, speedup_svg(rows, title), "plot") && written;
    }

    if (!mismatches.empty()) {
        size_t n = 0;
        for (const BenchRow &r : rows) n += !r.outputs_match;
        spdlog::error("{} row{} produced outputs or metrics that differ from the serial run", n, n == 1 ? "" : "s");
        return kExitDiffers;
    }
    if (!written) return kExitInternal;
    if (rows_with_failures > 0) return kExitDiffers;
    return kExitOk;
}

} // namespace batchproc
