// SIGINT/SIGTERM handling for a run: the first signal asks the executors to stop handing
// out jobs (running ones finish); a second one stops at once: it removes the temporary
// files being written, runs the registered emergency action (killing workers) and exits
// with 130. Handlers only touch async-signal-safe state.
#pragma once

#include <atomic>
#include <sys/types.h>

namespace batchproc {

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
