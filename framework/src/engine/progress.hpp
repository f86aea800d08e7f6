// The progress line: when stdout is a terminal, a line redrawn on it a few times a second (done/total,
// failures, rate, ETA) from the run counters; otherwise a plain log line every few
// seconds. It runs in its own thread of the coordinator and never touches the workers.
#pragma once

#include <atomic>
#include <cstdint>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace batchproc {

// What the progress line shows, read a few times a second.
struct ProgressCounts {
    uint64_t done = 0;
    uint64_t total = 0;
    uint64_t failed = 0;
};

class ProgressReporter {
public:
    using Source = std::function<ProgressCounts()>;
    // enabled = false: prints nothing. terminal: redraw one line on stderr.
    ProgressReporter(Source source, bool enabled, bool terminal);
    ~ProgressReporter(); // stops the thread and clears the line
    ProgressReporter(const ProgressReporter &) = delete;
    ProgressReporter &operator=(const ProgressReporter &) = delete;

    // The text of the line for given counts; public for tests.
    static std::string format_line(uint64_t done, uint64_t total, uint64_t failed, double elapsed_s);

private:
    void loop();

    Source source_;
    bool terminal_;
    std::atomic<bool> stop_{false};
    std::mutex mutex_;
    std::condition_variable wake_;
    std::thread thread_;
};

} // namespace batchproc
