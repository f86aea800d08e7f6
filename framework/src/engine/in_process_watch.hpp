// Serial and threads mode run jobs on this process's own threads, which cannot be stopped:
// a stage that hangs would keep the run (and a Ctrl-C) waiting for ever. InProcessWatch is
// a watchdog thread beside them that ends the run cleanly instead, when
//   - a job runs past pool.timeout (that job is recorded `timeout`),
//   - the stop grace period after SIGINT/SIGTERM ends with jobs still running, or
//   - a second signal comes,
// by handing what is known (the jobs finished so far, the ones running) to the run's end
// function, which writes the report and the journal, and then exiting the process with the
// code it returns. The executor's start and finish callbacks go through started() and
// finished(), under the watch's lock, so that nothing is recorded while the run ends.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace batchproc {

class InProcessWatch {
public:
    enum class Why { timeout, grace_over, second_signal };
    struct Ending {
        Why why;
        std::vector<bool> finished;               // per job: its record is final
        std::map<size_t, double> running_ms;      // started and not finished: how long so far
        size_t timed_out = static_cast<size_t>(-1); // Why::timeout: the job past pool.timeout
    };
    // Writes what `ending` says is known; returns the exit code. Runs on the watch's thread.
    using EndFn = std::function<int(const Ending &)>;

    // `timeout_s` 0: no timeout. `stop`: the signal counter (InterruptGuard).
    InProcessWatch(size_t jobs, double timeout_s, double grace_s, const std::atomic<int> &stop, EndFn end);
    ~InProcessWatch(); // close()
    InProcessWatch(const InProcessWatch &) = delete;
    InProcessWatch &operator=(const InProcessWatch &) = delete;

    // Job `k` starts; `note` (journal, may be empty) runs under the lock.
    void started(size_t k, const std::function<void()> &note);
    // Job `k`'s record is final; `publish` (log line, journal) runs under the lock.
    void finished(size_t k, const std::function<void()> &publish);
    // The executor has returned: the watch stops; nothing ends the run from here on.
    void close();

private:
    using Clock = std::chrono::steady_clock;
    void watch();
    [[noreturn]] void end_run(Why why, size_t timed_out);

    const double timeout_s_;
    const double grace_s_;
    const std::atomic<int> &stop_;
    const EndFn end_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool closed_ = false;
    std::vector<bool> finished_;
    std::map<size_t, Clock::time_point> running_;
    std::thread thread_;
};

} // namespace batchproc
