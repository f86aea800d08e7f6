// Helpers for integration tests that run the batchproc executable as a user would: temp
// folders, configs, starting/signalling/waiting for the process, reading its JSON report,
// and finding the processes a run left behind. PoolHarness (at the end) is the shared
// setup of the process-pool tests.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

// Under AddressSanitizer an allocation that fails in `new` is a sanitizer report and the
// end of the process, never std::bad_alloc; what pool.max_memory promises (the job fails
// with "out of memory", the worker lives on) cannot be observed there.
#if defined(__SANITIZE_ADDRESS__)
#define BP_SKIP_UNLESS_BAD_ALLOC_THROWS() \
    GTEST_SKIP() << "AddressSanitizer ends the process on a failed allocation instead of throwing std::bad_alloc"
#else
#define BP_SKIP_UNLESS_BAD_ALLOC_THROWS() static_cast<void>(0)
#endif

namespace batchproc::test {

// A fresh folder under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
public:
    explicit TempDir(const std::string &prefix = "bp-test");
    ~TempDir();
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;
    const std::filesystem::path &path() const { return path_; }
    std::filesystem::path operator/(const std::string &name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

void write_text(const std::filesystem::path &path, const std::string &text);
std::string read_text(const std::filesystem::path &path);
nlohmann::json read_json(const std::filesystem::path &path);

// A YAML-safe double-quoted string literal.
std::string yaml_quote(const std::string &text);

// The test plugin with the `fault` and `mark` stages.
std::string faults_plugin_path();

// A running batchproc process. stdout and stderr go to files in `log_dir`. Each process is
// started with BP_TEST_RUN_TAG=<unique tag> in its environment, which every worker (and
// forkserver) inherits: processes_with_tag() finds them even after they were orphaned.
class BatchprocProcess {
public:
    BatchprocProcess(const std::vector<std::string> &args, const std::filesystem::path &log_dir,
                     const std::map<std::string, std::string> &extra_env = {});
    ~BatchprocProcess(); // kills (SIGKILL) and reaps it if still running; see sanitizer_reports()
    BatchprocProcess(const BatchprocProcess &) = delete;
    BatchprocProcess &operator=(const BatchprocProcess &) = delete;

    pid_t pid() const { return pid_; }
    const std::string &tag() const { return tag_; }
    bool running();                    // not yet reaped and has not exited
    void signal(int sig);
    // Waits for the exit; on timeout kills it (SIGKILL), reaps it and returns false.
    bool wait(std::chrono::milliseconds timeout);
    bool exited() const;               // reaped after a normal exit
    int exit_code() const;             // -1 if it did not exit normally
    int term_signal() const;           // 0 if not killed by a signal
    double wall_s() const { return wall_s_; }
    std::string out() const;
    std::string err() const;
    // Under `scripts/test.sh --sanitize`: the sanitizer reports of this run and its workers
    // ("" when none). The destructor fails the current test when there are any.
    std::string sanitizer_reports() const;

private:
    pid_t pid_ = -1;
    std::string tag_;
    std::filesystem::path sanitizer_prefix_; // empty unless the suite runs under the sanitizers
    std::filesystem::path out_path_, err_path_;
    std::chrono::steady_clock::time_point start_;
    bool reaped_ = false;
    int status_ = 0;
    double wall_s_ = 0;
};

struct RunOutcome {
    int exit_code = -1;   // -1: killed by a signal or timed out
    bool finished = false; // false: it ran past the timeout and was killed
    double wall_s = 0;
    std::string out, err;
    std::string tag;
};

// Runs `batchproc run CONFIG args...` to the end (or kills it after `timeout`).
RunOutcome run_batchproc(const std::filesystem::path &config, const std::vector<std::string> &args,
                         const std::filesystem::path &log_dir, const std::map<std::string, std::string> &extra_env = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(120));

// Runs `batchproc args...` (any subcommand) to the end, from the current folder.
RunOutcome run_batchproc_command(const std::vector<std::string> &args, const std::filesystem::path &log_dir,
                                 const std::map<std::string, std::string> &extra_env = {},
                                 std::chrono::milliseconds timeout = std::chrono::seconds(120));

// Live (non-zombie) processes whose environment holds BP_TEST_RUN_TAG=<tag>.
std::vector<pid_t> processes_with_tag(const std::string &tag);
// Polls until no process with the tag is left or `timeout` passes; returns what is left.
std::vector<pid_t> wait_no_processes_with_tag(const std::string &tag, std::chrono::milliseconds timeout);
// Live direct children of `pid`.
std::vector<pid_t> children_of(pid_t pid);
// true while `pid` exists and is not a zombie.
bool process_alive(pid_t pid);

// Entries of /dev/shm whose name contains "batchproc".
std::vector<std::string> shm_batchproc_entries();

// Regular files under `dir` (recursively) whose name contains ".bp-tmp-".
std::vector<std::filesystem::path> temp_files_under(const std::filesystem::path &dir);

// Polls for a file to exist; false on timeout.
bool wait_for_file(const std::filesystem::path &path, std::chrono::milliseconds timeout);

// The pool section of a config.
struct PoolOptions {
    std::string mode = "processes";
    std::string start_method = "forkserver";
    int workers = 2;
    int threads_per_worker = 1;
    std::string timeout = "0";
    int retries = 1;
    std::string max_memory;      // "" = none
    int max_jobs_per_worker = 0;
};
std::string pool_yaml(const PoolOptions &pool);

// Counts of the report's jobs by status, and checks of the counters invariant.
std::map<std::string, int> status_counts(const nlohmann::json &report);
// "" when the summary agrees with the jobs and ok+failed+crashed+timeout+skipped+unchanged == total;
// otherwise what disagrees.
std::string check_invariants(const nlohmann::json &report);

// ---- process-pool tests ----

struct PoolRun {
    RunOutcome outcome;
    nlohmann::json report; // null when the run wrote none
    std::filesystem::path config;

    // What to print when an assertion on the run fails.
    std::string diag() const;
    const nlohmann::json &job(size_t index) const { return report.at("jobs").at(index); }
    const nlohmann::json &pool() const { return report.at("summary").at("pool"); }
};

class PoolHarness {
public:
    PoolHarness();
    virtual ~PoolHarness() = default;

    const std::filesystem::path &dir() const { return dir_.path(); }

    // A config over `count` generated jobs with the test plugin loaded; `pipeline` is the
    // list under `pipeline:` (lines starting with "  - "). Returns the config's path; its
    // report goes next to it (report_path()).
    std::filesystem::path generated_config(int count, const PoolOptions &pool, const std::string &pipeline);
    // A config over the sample images (BP_SOURCE_DIR/samples/images, recursively) writing
    // to `out_dir`, with imgproc and the test plugin loaded.
    std::filesystem::path images_config(const std::filesystem::path &out_dir, const PoolOptions &pool,
                                        const std::string &pipeline);
    static std::filesystem::path report_path(const std::filesystem::path &config);

    // Runs the config to its end; checks that no process of the run is left afterwards.
    PoolRun run(const std::filesystem::path &config, const std::map<std::string, std::string> &env = {},
                std::chrono::milliseconds timeout = std::chrono::seconds(120));
    // Reads the report of a run started by hand.
    static nlohmann::json report_of(const std::filesystem::path &config);

    // No /dev/shm entry named batchproc appeared since the harness was made.
    void expect_no_new_shm() const;

private:
    TempDir dir_;
    int configs_ = 0;
    std::vector<std::string> shm_before_;
};

inline const std::vector<std::string> &start_methods() {
    static const std::vector<std::string> methods{"fork", "spawn", "forkserver"};
    return methods;
}

} // namespace batchproc::test
