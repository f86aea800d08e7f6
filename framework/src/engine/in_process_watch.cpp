#include "engine/in_process_watch.hpp"

#include "engine/interrupt.hpp"
#include "io/atomic_file.hpp"

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <cstdio>

namespace batchproc {

InProcessWatch::InProcessWatch(size_t jobs, double timeout_s, double grace_s, const std::atomic<int> &stop, EndFn end)
    : timeout_s_(timeout_s), grace_s_(grace_s), stop_(stop), end_(std::move(end)), finished_(jobs, false) {
    thread_ = std::thread([this] { watch(); });
}

InProcessWatch::~InProcessWatch() { close(); }

void InProcessWatch::started(size_t k, const std::function<void()> &note) {
    std::lock_guard<std::mutex> lock(mutex_);
    running_[k] = Clock::now();
    if (note) note();
}

void InProcessWatch::finished(size_t k, const std::function<void()> &publish) {
    std::lock_guard<std::mutex> lock(mutex_);
    running_.erase(k);
    finished_[k] = true;
    if (publish) publish();
}

void InProcessWatch::close() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        closed_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void InProcessWatch::watch() {
    std::unique_lock<std::mutex> lock(mutex_);
    Clock::time_point stop_began{};
    bool stopping = false;
    while (!closed_) {
        wake_.wait_for(lock, std::chrono::milliseconds(50));
        if (closed_) break;
        const Clock::time_point now = Clock::now();
        const int signals = stop_.load();
        if (signals > 0 && !stopping) {
            stopping = true;
            stop_began = now;
            if (!running_.empty()) announce_stop(running_.size());
        }
        if (stopping && !running_.empty()) {
            if (signals > 1) end_run(Why::second_signal, static_cast<size_t>(-1));
            if (std::chrono::duration<double>(now - stop_began).count() >= grace_s_)
                end_run(Why::grace_over, static_cast<size_t>(-1));
        }
        if (timeout_s_ > 0)
            for (const auto &[k, since] : running_)
                if (std::chrono::duration<double>(now - since).count() > timeout_s_) end_run(Why::timeout, k);
    }
}

void InProcessWatch::end_run(Why why, size_t timed_out) {
    // Called with the lock held: no job is recorded from now on (the job threads block in
    // started() / finished() until the process exits).
    Ending ending{why, finished_, {}, timed_out};
    const Clock::time_point now = Clock::now();
    for (const auto &[k, since] : running_)
        ending.running_ms[k] = std::chrono::duration<double, std::milli>(now - since).count();
    int code = 3;
    try {
        code = end_(ending);
    } catch (const std::exception &e) {
        spdlog::error("internal error while ending the run: {}", e.what());
    }
    // The jobs still running may be writing outputs: their temporary files go; no final
    // name is ever given to a partial file.
    remove_temp_files_in_progress();
    spdlog::default_logger()->flush();
    std::fflush(stdout);
    std::fflush(stderr);
    ::_exit(code);
}

} // namespace batchproc
