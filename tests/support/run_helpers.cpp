#include "support/run_helpers.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char **environ;

namespace fs = std::filesystem;

namespace batchproc::test {

namespace {

std::string unique_suffix() {
    static std::atomic<unsigned> counter{0};
    std::random_device rd;
    return std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1)) + "-" + std::to_string(rd() % 1000000);
}

// Fields of /proc/<pid>/stat after the command name: state, ppid. false if unreadable.
bool read_stat(pid_t pid, char &state, pid_t &ppid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(in, line)) return false;
    const size_t close = line.rfind(')');
    if (close == std::string::npos || close + 2 >= line.size()) return false;
    std::istringstream rest(line.substr(close + 2));
    long parent = 0;
    if (!(rest >> state >> parent)) return false;
    ppid = static_cast<pid_t>(parent);
    return true;
}

std::vector<pid_t> all_pids() {
    std::vector<pid_t> pids;
    DIR *d = ::opendir("/proc");
    if (d == nullptr) return pids;
    while (dirent *e = ::readdir(d)) {
        char *end = nullptr;
        const long v = std::strtol(e->d_name, &end, 10);
        if (end != e->d_name && *end == '\0' && v > 0) pids.push_back(static_cast<pid_t>(v));
    }
    ::closedir(d);
    return pids;
}

// Set by `scripts/test.sh --sanitize`: the suite runs under the sanitizers.
bool sanitizer_run() {
    const char *dir = std::getenv("BP_SANITIZER_REPORTS");
    return dir != nullptr && *dir != '\0';
}

// `options` (a sanitizer's colon-separated settings) with its reports sent to files
// starting with `prefix` (the runtime adds ".<pid>"). A later setting overrides an earlier one.
std::string with_log_path(const char *options, const fs::path &prefix) {
    std::string text = options != nullptr ? options : "";
    if (!text.empty()) text += ":";
    return text + "log_path=" + prefix.string();
}

bool environ_has(pid_t pid, const std::string &entry) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/environ", std::ios::binary);
    if (!in) return false;
    std::string item;
    while (std::getline(in, item, '\0'))
        if (item == entry) return true;
    return false;
}

} // namespace

TempDir::TempDir(const std::string &prefix) {
    const char *base = std::getenv("TMPDIR");
    fs::path root = base != nullptr && *base ? fs::path(base) : fs::path("/tmp");
    std::string templ = (root / (prefix + "-XXXXXX")).string();
    if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed: " + std::string(std::strerror(errno)));
    path_ = templ;
}

TempDir::~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
}

void write_text(const fs::path &path, const std::string &text) {
    fs::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string read_text(const fs::path &path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

nlohmann::json read_json(const fs::path &path) {
    const std::string text = read_text(path);
    if (text.empty()) throw std::runtime_error("no report at " + path.string());
    return nlohmann::json::parse(text);
}

std::string yaml_quote(const std::string &text) { return nlohmann::json(text).dump(); }

std::string faults_plugin_path() { return std::string(BP_TEST_PLUGIN_DIR) + "/faults.so"; }

BatchprocProcess::BatchprocProcess(const std::vector<std::string> &args, const fs::path &log_dir,
                                   const std::map<std::string, std::string> &extra_env) {
    tag_ = "bp-" + unique_suffix();
    fs::create_directories(log_dir);
    out_path_ = log_dir / ("stdout-" + tag_ + ".txt");
    err_path_ = log_dir / ("stderr-" + tag_ + ".txt");

    std::vector<std::string> argv_store{BP_BATCHPROC_EXE};
    argv_store.insert(argv_store.end(), args.begin(), args.end());
    std::vector<char *> argv;
    for (std::string &a : argv_store) argv.push_back(a.data());
    argv.push_back(nullptr);

    std::map<std::string, std::string> extra = extra_env;
    extra["BP_TEST_RUN_TAG"] = tag_;
    if (sanitizer_run()) {
        // This run's reports (the coordinator's and every worker's) go to files of its own,
        // so that the test that caused them fails (see the destructor).
        sanitizer_prefix_ = log_dir / ("sanitizer-" + tag_);
        extra["ASAN_OPTIONS"] = with_log_path(std::getenv("ASAN_OPTIONS"), sanitizer_prefix_);
        extra["UBSAN_OPTIONS"] = with_log_path(std::getenv("UBSAN_OPTIONS"), sanitizer_prefix_);
    }
    std::vector<std::string> env_store;
    for (char **e = environ; *e != nullptr; ++e) {
        const std::string entry = *e;
        const std::string key = entry.substr(0, entry.find('='));
        if (extra.count(key) == 0) env_store.push_back(entry);
    }
    for (const auto &[k, v] : extra) env_store.push_back(k + "=" + v);
    std::vector<char *> envp;
    for (std::string &s : env_store) envp.push_back(s.data());
    envp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    // Default signal dispositions and an empty mask in the child, whatever the test runner set.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    start_ = std::chrono::steady_clock::now();
    const int rc = posix_spawn(&pid_, argv[0], &actions, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) throw std::runtime_error("cannot start " + argv_store[0] + ": " + std::strerror(rc));
}

BatchprocProcess::~BatchprocProcess() {
    if (!reaped_ && pid_ > 0) {
        ::kill(pid_, SIGKILL);
        while (::waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
        }
    }
    if (!sanitizer_prefix_.empty()) {
        // Workers may outlive the coordinator by a moment; their reports count too.
        wait_no_processes_with_tag(tag_, std::chrono::seconds(5));
        const std::string reports = sanitizer_reports();
        if (!reports.empty()) ADD_FAILURE() << "sanitizer report(s) from batchproc run " << tag_ << ":\n" << reports;
    }
}

std::string BatchprocProcess::sanitizer_reports() const {
    std::string text;
    if (sanitizer_prefix_.empty()) return text;
    const std::string stem = sanitizer_prefix_.filename().string() + ".";
    std::error_code ec;
    for (fs::directory_iterator it(sanitizer_prefix_.parent_path(), ec), end; !ec && it != end; it.increment(ec))
        if (it->path().filename().string().rfind(stem, 0) == 0)
            text += "==== " + it->path().string() + "\n" + read_text(it->path());
    return text;
}

bool BatchprocProcess::running() {
    if (reaped_) return false;
    const pid_t r = ::waitpid(pid_, &status_, WNOHANG);
    if (r == pid_) {
        reaped_ = true;
        wall_s_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
        return false;
    }
    return true;
}

void BatchprocProcess::signal(int sig) {
    if (!reaped_) ::kill(pid_, sig);
}

bool BatchprocProcess::wait(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (running()) {
        if (std::chrono::steady_clock::now() >= deadline) {
            ::kill(pid_, SIGKILL);
            while (::waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
            }
            reaped_ = true;
            wall_s_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

bool BatchprocProcess::exited() const { return reaped_ && WIFEXITED(status_); }
int BatchprocProcess::exit_code() const { return exited() ? WEXITSTATUS(status_) : -1; }
int BatchprocProcess::term_signal() const { return reaped_ && WIFSIGNALED(status_) ? WTERMSIG(status_) : 0; }
std::string BatchprocProcess::out() const { return read_text(out_path_); }
std::string BatchprocProcess::err() const { return read_text(err_path_); }

RunOutcome run_batchproc(const fs::path &config, const std::vector<std::string> &args, const fs::path &log_dir,
                         const std::map<std::string, std::string> &extra_env, std::chrono::milliseconds timeout) {
    std::vector<std::string> all{"run", config.string()};
    all.insert(all.end(), args.begin(), args.end());
    return run_batchproc_command(all, log_dir, extra_env, timeout);
}

RunOutcome run_batchproc_command(const std::vector<std::string> &args, const fs::path &log_dir,
                                 const std::map<std::string, std::string> &extra_env, std::chrono::milliseconds timeout) {
    BatchprocProcess p(args, log_dir, extra_env);
    RunOutcome o;
    o.finished = p.wait(timeout);
    o.exit_code = p.exit_code();
    o.wall_s = p.wall_s();
    o.out = p.out();
    o.err = p.err();
    o.tag = p.tag();
    return o;
}

std::vector<pid_t> processes_with_tag(const std::string &tag) {
    const std::string entry = "BP_TEST_RUN_TAG=" + tag;
    std::vector<pid_t> found;
    for (pid_t pid : all_pids()) {
        if (pid == ::getpid()) continue;
        char state = 0;
        pid_t ppid = 0;
        if (!read_stat(pid, state, ppid) || state == 'Z' || state == 'X') continue;
        if (environ_has(pid, entry) && process_alive(pid)) found.push_back(pid);
    }
    return found;
}

std::vector<pid_t> wait_no_processes_with_tag(const std::string &tag, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        std::vector<pid_t> left = processes_with_tag(tag);
        if (left.empty() || std::chrono::steady_clock::now() >= deadline) return left;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

std::vector<pid_t> children_of(pid_t parent) {
    std::vector<pid_t> found;
    for (pid_t pid : all_pids()) {
        char state = 0;
        pid_t ppid = 0;
        if (read_stat(pid, state, ppid) && ppid == parent && state != 'Z' && state != 'X') found.push_back(pid);
    }
    return found;
}

bool process_alive(pid_t pid) {
    char state = 0;
    pid_t ppid = 0;
    return read_stat(pid, state, ppid) && state != 'Z' && state != 'X';
}

std::vector<std::string> shm_batchproc_entries() {
    std::vector<std::string> found;
    std::error_code ec;
    for (fs::directory_iterator it("/dev/shm", ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.find("batchproc") != std::string::npos) found.push_back(name);
    }
    return found;
}

std::vector<fs::path> temp_files_under(const fs::path &dir) {
    std::vector<fs::path> found;
    std::error_code ec;
    if (!fs::exists(dir, ec)) return found;
    for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        if (it->path().filename().string().find(".bp-tmp-") != std::string::npos) found.push_back(it->path());
    return found;
}

bool wait_for_file(const fs::path &path, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::error_code ec;
    while (!fs::exists(path, ec)) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

std::string pool_yaml(const PoolOptions &pool) {
    std::string y = "pool:\n";
    y += "  mode: " + pool.mode + "\n";
    y += "  workers: " + std::to_string(pool.workers) + "\n";
    y += "  start_method: " + pool.start_method + "\n";
    y += "  threads_per_worker: " + std::to_string(pool.threads_per_worker) + "\n";
    y += "  timeout: " + yaml_quote(pool.timeout) + "\n";
    y += "  retries: " + std::to_string(pool.retries) + "\n";
    if (!pool.max_memory.empty()) y += "  max_memory: " + yaml_quote(pool.max_memory) + "\n";
    y += "  max_jobs_per_worker: " + std::to_string(pool.max_jobs_per_worker) + "\n";
    y += "  oversubscribe: true\n";
    return y;
}

std::map<std::string, int> status_counts(const nlohmann::json &report) {
    std::map<std::string, int> counts;
    for (const auto &j : report.at("jobs")) counts[j.at("status").get<std::string>()] += 1;
    return counts;
}

std::string check_invariants(const nlohmann::json &report) {
    const nlohmann::json &s = report.at("summary");
    std::map<std::string, int> counts = status_counts(report);
    std::string problems;
    int64_t sum = 0;
    for (const char *status : {"ok", "failed", "crashed", "timeout", "skipped", "unchanged", "interrupted"}) {
        const int64_t in_summary = s.at(status).get<int64_t>();
        sum += in_summary;
        if (in_summary != counts[status])
            problems += std::string("summary.") + status + " = " + std::to_string(in_summary) + " but " +
                        std::to_string(counts[status]) + " jobs have that status; ";
    }
    const int64_t total = s.at("total").get<int64_t>();
    if (sum != total)
        problems += "ok + failed + crashed + timeout + skipped + unchanged + interrupted = " + std::to_string(sum) + " != total " +
                    std::to_string(total) + "; ";
    if (static_cast<int64_t>(report.at("jobs").size()) != total)
        problems += "the report lists " + std::to_string(report.at("jobs").size()) + " jobs, total is " +
                    std::to_string(total) + "; ";
    for (const auto &[status, n] : counts)
        if (status != "ok" && status != "failed" && status != "crashed" && status != "timeout" && status != "skipped" &&
            status != "unchanged" && status != "interrupted")
            problems += "unknown status " + status + " (" + std::to_string(n) + " jobs); ";
    return problems;
}

// ---- process-pool tests ----

std::string PoolRun::diag() const {
    std::string text = "\nconfig: " + config.string() + "\nexit code: " + std::to_string(outcome.exit_code) +
                       (outcome.finished ? "" : " (killed after the test's timeout)") + "\n--- stderr ---\n" +
                       outcome.err;
    if (text.size() > 20000) text = text.substr(0, 10000) + "\n[...]\n" + text.substr(text.size() - 10000);
    return text;
}

PoolHarness::PoolHarness() : dir_("bp-pool"), shm_before_(shm_batchproc_entries()) {}

fs::path PoolHarness::report_path(const fs::path &config) {
    fs::path p = config;
    p.replace_extension(".report.json");
    return p;
}

fs::path PoolHarness::generated_config(int count, const PoolOptions &pool, const std::string &pipeline) {
    const fs::path config = dir() / ("config-" + std::to_string(++configs_) + ".yaml");
    std::string y;
    y += "plugins: [" + yaml_quote(faults_plugin_path()) + "]\n";
    y += "input:\n  generate: {count: " + std::to_string(count) + "}\n";
    y += pool_yaml(pool);
    y += "report: " + yaml_quote(report_path(config).string()) + "\n";
    y += "pipeline:\n" + pipeline;
    write_text(config, y);
    return config;
}

fs::path PoolHarness::images_config(const fs::path &out_dir, const PoolOptions &pool, const std::string &pipeline) {
    const fs::path config = dir() / ("config-" + std::to_string(++configs_) + ".yaml");
    std::string y;
    y += "plugins: [imgproc, " + yaml_quote(faults_plugin_path()) + "]\n";
    y += "input:\n  paths: [" + yaml_quote(std::string(BP_SOURCE_DIR) + "/samples/images") + "]\n  recursive: true\n";
    y += "output:\n  dir: " + yaml_quote(out_dir.string()) + "\n  name: \"{rel_dir}/{stem}.{ext}\"\n  overwrite: true\n";
    y += pool_yaml(pool);
    y += "report: " + yaml_quote(report_path(config).string()) + "\n";
    y += "pipeline:\n" + pipeline;
    write_text(config, y);
    return config;
}

nlohmann::json PoolHarness::report_of(const fs::path &config) {
    std::error_code ec;
    if (!fs::exists(report_path(config), ec)) return nullptr;
    return read_json(report_path(config));
}

PoolRun PoolHarness::run(const fs::path &config, const std::map<std::string, std::string> &env,
                         std::chrono::milliseconds timeout) {
    PoolRun r;
    r.config = config;
    r.outcome = run_batchproc(config, {}, dir() / "logs", env, timeout);
    r.report = report_of(config);
    const std::vector<pid_t> left = wait_no_processes_with_tag(r.outcome.tag, std::chrono::seconds(3));
    EXPECT_TRUE(left.empty()) << left.size() << " process(es) of the run still alive after it ended" << r.diag();
    return r;
}

void PoolHarness::expect_no_new_shm() const {
    std::vector<std::string> added;
    for (const std::string &name : shm_batchproc_entries())
        if (std::find(shm_before_.begin(), shm_before_.end(), name) == shm_before_.end()) added.push_back(name);
    EXPECT_TRUE(added.empty()) << "new /dev/shm entries: " << (added.empty() ? "" : added.front());
}

} // namespace batchproc::test
