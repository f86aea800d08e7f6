#include "engine/progress.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>

namespace batchproc {

namespace {
std::string format_duration(double s) {
    if (s < 0) s = 0;
    const long total = static_cast<long>(s + 0.5);
    char buf[32];
    if (total >= 3600)
        std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", total / 3600, (total / 60) % 60, total % 60);
    else
        std::snprintf(buf, sizeof buf, "%ld:%02ld", total / 60, total % 60);
    return buf;
}
} // namespace

std::string ProgressReporter::format_line(uint64_t done, uint64_t total, uint64_t failed, double elapsed_s) {
    const double rate = elapsed_s > 0 ? double(done) / elapsed_s : 0.0;
    std::string eta = "--:--";
    if (rate > 0 && total >= done) eta = format_duration(double(total - done) / rate);
    char buf[256];
    std::snprintf(buf, sizeof buf, "%llu/%llu done, %llu failed, %.1f files/s, ETA %s",
                  static_cast<unsigned long long>(done), static_cast<unsigned long long>(total),
                  static_cast<unsigned long long>(failed), rate, eta.c_str());
    return buf;
}

ProgressReporter::ProgressReporter(Source source, bool enabled, bool terminal)
    : source_(std::move(source)), terminal_(terminal) {
    if (enabled) thread_ = std::thread([this] { loop(); });
}

ProgressReporter::~ProgressReporter() {
    if (!thread_.joinable()) return;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
    if (terminal_) {
        std::fprintf(stdout, "\r\033[K");
        std::fflush(stdout);
    }
}

void ProgressReporter::loop() {
    const auto start = std::chrono::steady_clock::now();
    const auto period = terminal_ ? std::chrono::milliseconds(200) : std::chrono::milliseconds(5000);
    std::unique_lock<std::mutex> lock(mutex_);
    while (!wake_.wait_for(lock, period, [this] { return stop_.load(); })) {
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const ProgressCounts c = source_();
        const std::string line = format_line(c.done, c.total, c.failed, elapsed);
        if (terminal_) {
            std::fprintf(stdout, "\r\033[K%s", line.c_str());
            std::fflush(stdout);
        } else {
            spdlog::info("progress: {}", line);
        }
    }
}

} // namespace batchproc
