// Test-only plugin for the process pool's fault-injection tests. Never installed.
//
// Stage `fault` (works on generated jobs too: flags = 0) does one action on the jobs its
// conditions select:
//   action     none | segfault | abort | exit | hang | allocate | sleep | throw |
//              fork_then_abort (a child forked without exec holds the worker's fds for 3 s) |
//              die_holding_counter_lock (processes mode only: the worker dies of SIGKILL
//              holding the pool's counter lock, mid-update; tests/support/counter_lock_fault.hpp)
//   on_index   "-1" never (default), "*" every job, or a list of job indexes "1,4"
//   on_name    fires when the input file's name contains this text ("" = no name test)
//              (the fault fires when on_index OR on_name selects the job)
//   code       exit code for `exit`
//   ms         milliseconds for `sleep`
//   limit_mb   `allocate` gives up (an ordinary failure) past this much, so that a run
//              without pool.max_memory cannot eat the machine
//   once_file  if set, the fault fires only when this file does not exist yet, and the
//              stage creates it first: the job faults on its first attempt only.
//              "{index}" in it is replaced by the job's index.
//   ignore_sigterm  for `hang`: ignore SIGTERM first, so that only SIGKILL stops it
//   create_mb  allocates (and touches) this many MiB when the stage is created, and keeps
//              them: a stage that loads a big model; under a small pool.max_memory its
//              creation fails in the worker although it succeeded in the coordinator
//   fail_create_if_exists  the stage's creation fails while this file exists: workers
//              started after it appeared die before running any job
//   hang_create_if_exists  the stage's creation hangs for ever while this file exists:
//              workers started after it appeared are stuck before running any job
//   pid_dir    if set, the stage writes the pid of its process to <pid_dir>/<index>.pid
//              (atomically, before the action), so tests can find and signal the worker
//              running a given job.
//
// Stage `mark`: harmless; records deterministic metrics (index, input name, and for image
// jobs the image's size and pixel sum) so that outputs of different modes can be compared;
// `pad_bytes` adds a metric that big (results larger than a result slot); `log` appends a
// line per job run to a file (which jobs a resumed run really ran).
#include <batchproc/plugin.hpp>

#include "support/counter_lock_fault.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

inline void compiler_barrier() { asm volatile("" ::: "memory"); }

bool index_selected(const std::string &list, int64_t index) {
    if (list == "*" || list == "all") return true;
    size_t start = 0;
    while (start <= list.size()) {
        size_t end = list.find(',', start);
        if (end == std::string::npos) end = list.size();
        const std::string item = list.substr(start, end - start);
        if (!item.empty()) {
            char *rest = nullptr;
            const long long v = std::strtoll(item.c_str(), &rest, 10);
            if (rest != item.c_str() && v >= 0 && v == index) return true;
        }
        start = end + 1;
    }
    return false;
}

void check_index_list(const std::string &list) {
    if (list == "*" || list == "all") return;
    size_t start = 0;
    while (start <= list.size()) {
        size_t end = list.find(',', start);
        if (end == std::string::npos) end = list.size();
        std::string item = list.substr(start, end - start);
        while (!item.empty() && item.front() == ' ') item.erase(item.begin());
        while (!item.empty() && item.back() == ' ') item.pop_back();
        char *rest = nullptr;
        std::strtoll(item.c_str(), &rest, 10);
        if (item.empty() || rest == item.c_str() || *rest != '\0')
            throw batchproc::ParamError("on_index must be -1, \"*\" or a comma-separated list of job indexes, got \"" +
                                        list + "\"");
        start = end + 1;
    }
}

std::string replace_index(std::string text, int64_t index) {
    const std::string key = "{index}";
    for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at))
        text.replace(at, key.size(), std::to_string(index));
    return text;
}

std::string base_name(const std::string &path) {
    const size_t slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Writes `text` to `path` under a temporary name first, so a reader never sees half of it.
void write_small_file(const std::string &path, const std::string &text) {
    const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw std::runtime_error("fault: cannot create " + tmp);
    const ssize_t n = ::write(fd, text.data(), text.size());
    ::close(fd);
    if (n != static_cast<ssize_t>(text.size()) || ::rename(tmp.c_str(), path.c_str()) != 0) {
        ::unlink(tmp.c_str());
        throw std::runtime_error("fault: cannot write " + path);
    }
}

[[noreturn]] void do_segfault() {
#if defined(__SANITIZE_ADDRESS__)
    // AddressSanitizer catches SIGSEGV to print a report and then exits with status 1; the
    // tests inject a crash and expect the process to die of the signal, as it does in the
    // plain build.
    ::signal(SIGSEGV, SIG_DFL);
#endif
    // An address the compiler cannot see is null, written through a volatile pointer: a
    // real SIGSEGV, not a trap instruction the optimiser put in its place.
    volatile uintptr_t address = 16;
    compiler_barrier();
    *reinterpret_cast<volatile int *>(address) = 42;
    compiler_barrier();
    ::raise(SIGSEGV); // not reached
    ::_exit(99);
}

[[noreturn]] void do_hang() {
    for (;;) {
        ::pause();
        compiler_barrier();
    }
}

// Allocates and touches memory without bound (16 MiB at a time) until operator new throws
// std::bad_alloc (RLIMIT_AS) or limit_mb is reached.
void do_allocate(int64_t limit_mb) {
    constexpr size_t kChunk = size_t(16) << 20;
    std::vector<std::unique_ptr<char[]>> chunks;
    chunks.reserve(1024);
    volatile char sink = 0;
    size_t total = 0;
    for (;;) {
        if (total / (size_t(1) << 20) >= static_cast<size_t>(limit_mb))
            throw std::runtime_error("fault allocate: reached limit_mb (" + std::to_string(limit_mb) +
                                     " MiB) without an allocation failure");
        std::unique_ptr<char[]> chunk(new char[kChunk]); // throws std::bad_alloc at the cap
        for (size_t i = 0; i < kChunk; i += 4096) chunk[i] = static_cast<char>(i >> 12);
        compiler_barrier();
        sink = static_cast<char>(sink + chunk[kChunk - 4096]);
        chunks.push_back(std::move(chunk));
        total += kChunk;
    }
}

class Fault : public batchproc::Stage {
public:
    static constexpr const char *name = "fault";
    static constexpr const char *doc = "Injects a fault (crash, hang, allocation, failure) on chosen jobs (test stage).";
    static constexpr uint32_t flags = 0;

    batchproc::ChoiceParam action{this,
                                  "action",
                                  "none",
                                  {"none", "segfault", "abort", "exit", "hang", "allocate", "sleep", "throw", "orphan_then_abort",
                                   "fork_then_abort", "die_holding_counter_lock"},
                                  "what to do on a selected job"};
    batchproc::StringParam on_index{this, "on_index", "-1", "job indexes: -1 never, * every job, or \"1,4\""};
    batchproc::StringParam on_name{this, "on_name", "", "also select jobs whose input file name contains this"};
    batchproc::IntParam code{this, "code", 3, "exit code for action exit", {0, 255}};
    batchproc::IntParam ms{this, "ms", 100, "milliseconds for action sleep", {0, 600000}};
    batchproc::IntParam limit_mb{this, "limit_mb", 4096, "action allocate gives up past this many MiB", {1, 1 << 20}};
    batchproc::StringParam once_file{this, "once_file", "",
                                     "fault only while this file does not exist; it is created first"};
    batchproc::BoolParam ignore_sigterm{this, "ignore_sigterm", false, "action hang ignores SIGTERM (only SIGKILL ends it)"};
    batchproc::IntParam create_mb{this, "create_mb", 0, "MiB allocated and kept when the stage is created", {0, 1 << 16}};
    batchproc::StringParam fail_create_if_exists{this, "fail_create_if_exists", "",
                                                 "creating the stage fails while this file exists"};
    batchproc::StringParam hang_create_if_exists{this, "hang_create_if_exists", "",
                                                 "creating the stage hangs while this file exists"};
    batchproc::StringParam pid_dir{this, "pid_dir", "", "write <pid_dir>/<index>.pid before the action"};

    void validate() override {
        if (on_index.value() != "-1") check_index_list(on_index.value());
        if (!fail_create_if_exists.value().empty() && ::access(fail_create_if_exists.value().c_str(), F_OK) == 0)
            throw std::runtime_error("fault: cannot be created while " + fail_create_if_exists.value() + " exists");
        if (!hang_create_if_exists.value().empty() && ::access(hang_create_if_exists.value().c_str(), F_OK) == 0)
            for (;;) ::pause();
        if (create_mb.value() > 0) {
            const size_t bytes = static_cast<size_t>(create_mb.value()) << 20;
            model_.reset(new char[bytes]); // std::bad_alloc under RLIMIT_AS: the creation fails
            for (size_t i = 0; i < bytes; i += 4096) model_[i] = 1;
            compiler_barrier();
        }
    }

    void process(batchproc::Job &job) override {
        const int64_t index = job.index();
        if (!pid_dir.value().empty())
            write_small_file(pid_dir.value() + "/" + std::to_string(index) + ".pid", std::to_string(::getpid()) + "\n");
        bool selected = index_selected(on_index.value(), index);
        if (!on_name.value().empty() && base_name(job.input_path()).find(on_name.value()) != std::string::npos)
            selected = true;
        if (!selected || action == "none") return;
        if (!once_file.value().empty()) {
            const std::string marker = replace_index(once_file.value(), index);
            const int fd = ::open(marker.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
            if (fd < 0) return; // already there: this is a later attempt
            ::close(fd);
        }
        const std::string &a = action.value();
        if (a == "segfault") do_segfault();
        if (a == "abort") std::abort();
        if (a == "exit") ::_exit(static_cast<int>(code.value()));
        if (a == "hang") {
            if (ignore_sigterm) ::signal(SIGTERM, SIG_IGN);
            do_hang();
        }
        if (a == "allocate") do_allocate(limit_mb.value());
        if (a == "sleep") std::this_thread::sleep_for(std::chrono::milliseconds(ms.value()));
        if (a == "die_holding_counter_lock") batchproc::test::die_holding_counter_lock();
        if (a == "throw") throw std::runtime_error("injected failure (fault action throw) on job " + std::to_string(index));
        if (a == "fork_then_abort") {
            // A child forked without exec keeps every descriptor of the worker (close-on-exec
            // does not apply): it holds the answer pipe open for its 3 s, then ends.
            const pid_t child = ::fork();
            if (child == 0) {
                ::sleep(3);
                ::_exit(0);
            }
            std::abort();
        }
        if (a == "orphan_then_abort") {
            // A program started by the stage outlives it, holding whatever descriptors it inherited.
            if (std::system("env -u BP_TEST_RUN_TAG sleep 15 &") != 0) std::abort();
            std::abort();
        }
    }

private:
    std::unique_ptr<char[]> model_;
};

class Mark : public batchproc::Stage {
public:
    static constexpr const char *name = "mark";
    static constexpr const char *doc = "Records deterministic metrics of the job (test stage).";
    static constexpr uint32_t flags = 0;

    batchproc::StringParam tag{this, "tag", "mark", "recorded as the metric `tag`"};
    batchproc::IntParam pad_bytes{this, "pad_bytes", 0, "also record a metric `pad` of this many bytes", {0, 1 << 24}};
    batchproc::StringParam log{this, "log", "", "append \"<index> <input name>\" to this file for every job run"};

    void process(batchproc::Job &job) override {
        const int64_t index = job.index();
        if (!log.value().empty()) {
            // One write() with O_APPEND: lines from several workers never interleave.
            const std::string line = std::to_string(index) + " " + base_name(job.input_path()) + "\n";
            const int fd = ::open(log.value().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
            const bool written = fd >= 0 && ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
            if (fd >= 0) ::close(fd);
            if (!written) throw std::runtime_error("mark: cannot append to " + log.value());
        }
        job.metric("tag", tag.value());
        if (pad_bytes.value() > 0) job.metric("pad", std::string(static_cast<size_t>(pad_bytes.value()), 'p'));
        job.metric("index", index);
        job.metric("name", base_name(job.input_path()));
        // A value that depends on the job only, never on the process that ran it.
        uint64_t h = 1469598103934665603ull;
        for (char c : tag.value() + "#" + std::to_string(index)) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
        job.metric("value", static_cast<int64_t>(h >> 1));
        if (job.has_image()) {
            const cv::Mat image = job.image();
            job.metric("mark_width", image.cols);
            job.metric("mark_height", image.rows);
            job.metric("mark_channels", image.channels());
            const cv::Scalar sum = cv::sum(image);
            job.metric("pixel_sum", sum[0] + sum[1] + sum[2] + sum[3]);
        }
    }
};

} // namespace

BATCHPROC_PLUGIN("faults", "0.1.0", "Fault injection for the process pool's tests (test only).", Fault, Mark)
