// SIGINT/SIGTERM handling for a run, the same in every mode: the first signal asks the
// executors to hand out no more jobs and lets the running ones finish for up to
// kStopGraceSeconds; when that ends, or at a second signal, the running jobs are stopped
// (processes mode) or abandoned (serial, threads), recorded as `interrupted`, and the report
// is written before the run exits with 130. A third signal is the emergency exit: the
// handler removes the temporary files being written, kills the registered children and
// exits with 130 at once. Handlers only touch async-signal-safe state.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <string>

namespace batchproc {

// How long running jobs may go on after the first signal.
inline constexpr double kStopGraceSeconds = 10;

// "SIGINT", "SIGTERM", or "signal N".
std::string signal_label(int sig);

// The line printed when a stop begins: what happens to running jobs and how to hurry it.
void announce_stop(size_t running);

class InterruptGuard {
public:
    InterruptGuard();  // installs the handlers and clears the stop counter
    ~InterruptGuard(); // restores the previous handlers
    InterruptGuard(const InterruptGuard &) = delete;
    InterruptGuard &operator=(const InterruptGuard &) = delete;

    // Number of SIGINT/SIGTERM received during the guard; executors poll it.
    static const std::atomic<int> &stop_requested();
    static int last_signal();
    // Asks for a stop as a signal would (tests, and the coordinator's own shutdown).
    static void request_stop();
};

// Process-group-free list of child pids the emergency exit kills with SIGKILL.
void register_child_pid(pid_t pid);
void unregister_child_pid(pid_t pid);

// Restore default dispositions in a freshly forked child (workers).
void reset_signal_handlers_in_child();

} // namespace batchproc
