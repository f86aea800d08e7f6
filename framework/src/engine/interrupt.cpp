#include "engine/interrupt.hpp"

#include "config/spec.hpp"
#include "engine/crash_context.hpp"
#include "io/atomic_file.hpp"

#include <spdlog/spdlog.h>

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <array>

namespace batchproc {

namespace {

std::atomic<int> g_stop{0};
std::atomic<int> g_last_signal{0};
constexpr size_t kMaxChildren = kMaxWorkers + 8; // the workers, a fork server and a margin
std::array<std::atomic<pid_t>, kMaxChildren> g_children{};
struct sigaction g_old_int {}, g_old_term {};

void put(const char *s) {
    size_t n = 0;
    while (s[n] != '\0') ++n;
    if (::write(STDERR_FILENO, s, n) < 0) return;
}

void on_signal(int sig) {
    g_last_signal.store(sig);
    if (g_stop.fetch_add(1) >= 2) {
        // The third signal: stop at once, without a report. Workers get SIGTERM first, which
        // makes them remove the output they are writing; whatever is left a moment later is
        // killed.
        put("batchproc: third signal: exiting at once (no report)\n");
        remove_temp_files_in_progress();
        for (auto &child : g_children) {
            const pid_t pid = child.load();
            if (pid > 0) ::kill(pid, SIGTERM);
        }
        const timespec pause{0, 200'000'000};
        nanosleep(&pause, nullptr);
        for (auto &child : g_children) {
            const pid_t pid = child.load();
            if (pid > 0) ::kill(pid, SIGKILL);
        }
        _exit(130);
    }
}

} // namespace

InterruptGuard::InterruptGuard() {
    g_stop.store(0);
    struct sigaction sa {};
    sa.sa_handler = &on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, &g_old_int);
    sigaction(SIGTERM, &sa, &g_old_term);
}

InterruptGuard::~InterruptGuard() {
    sigaction(SIGINT, &g_old_int, nullptr);
    sigaction(SIGTERM, &g_old_term, nullptr);
}

std::string signal_label(int sig) {
    if (sig == SIGINT) return "SIGINT";
    if (sig == SIGTERM) return "SIGTERM";
    if (sig == 0) return "stop requested";
    return "signal " + std::to_string(sig);
}

void announce_stop(size_t running) {
    spdlog::warn("{}: stopping: no new job starts; {} running job(s) may finish within {:g} s (a second signal stops "
                 "them at once; the report is written either way)",
                 signal_label(InterruptGuard::last_signal()), running, kStopGraceSeconds);
}

const std::atomic<int> &InterruptGuard::stop_requested() { return g_stop; }
int InterruptGuard::last_signal() { return g_last_signal.load(); }
void InterruptGuard::request_stop() { g_stop.fetch_add(1); }

void register_child_pid(pid_t pid) {
    for (auto &slot : g_children) {
        pid_t empty = 0;
        if (slot.compare_exchange_strong(empty, pid)) return;
    }
}

void unregister_child_pid(pid_t pid) {
    for (auto &slot : g_children) {
        pid_t expected = pid;
        if (slot.compare_exchange_strong(expected, 0)) return;
    }
}

void reset_signal_handlers_in_child() {
    remove_crash_reporter_in_child();
    struct sigaction sa {};
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, nullptr);
    // Ctrl-C reaches the whole foreground process group; the coordinator decides what
    // workers do, so they ignore SIGINT.
    sa.sa_handler = SIG_IGN;
    sigaction(SIGINT, &sa, nullptr);
    for (auto &slot : g_children) slot.store(0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
}

} // namespace batchproc
