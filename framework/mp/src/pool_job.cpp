// JobCore: the results of one Pool or executor call, and the exceptions failures become.
#include "batchproc/mp/detail/pool_core.hpp"
#include "batchproc/mp/pool.hpp"

#include <chrono>
#include <cstring>
#include <string>

namespace batchproc::mp::detail {

double now_seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::exception_ptr make_exception(const TaskFailure &failure) {
    switch (failure.kind) {
    case TaskFailure::Kind::raised: return std::make_exception_ptr(TaskError(failure.type, failure.message));
    case TaskFailure::Kind::crashed:
        return std::make_exception_ptr(WorkerCrashed(failure.message, failure.pid, failure.exit_code));
    case TaskFailure::Kind::timed_out: return std::make_exception_ptr(TaskTimeout(failure.message));
    case TaskFailure::Kind::cancelled: return std::make_exception_ptr(CancelledError(failure.message));
    }
    return std::make_exception_ptr(Error(failure.message));
}

JobCore::JobCore(std::size_t total) : total_(total), state_(total, 0) { order_.reserve(total); }
JobCore::~JobCore() = default;

bool JobCore::finish_one(std::size_t index) {
    if (state_[index] != 0) return false;
    state_[index] = 1;
    order_.push_back(index);
    return ++completed_ == total_ && !callbacks_.empty();
}

bool JobCore::receive(std::size_t first, std::uint32_t count, std::string_view outcomes) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (const std::size_t raw = raw_result_size()) {
        // Arithmetic results: status byte and value bytes, read in place.
        const char *p = outcomes.data();
        const char *end = p + outcomes.size();
        bool due = false;
        for (std::uint32_t k = 0; k < count && p < end; ++k) {
            const std::size_t index = first + k;
            const auto status = static_cast<std::uint8_t>(*p++);
            if (status == kTaskOk) {
                store_raw(index, p);
                p += raw;
            } else {
                ChunkSource source(p, static_cast<std::size_t>(end - p));
                std::istream is(&source);
                cereal::BinaryInputArchive archive(is);
                TaskFailure f;
                archive(f.type, f.message);
                p += source.consumed();
                if (state_[index] == 0) failures_.emplace(index, std::move(f));
            }
            due = finish_one(index) || due;
        }
        if (partial_waiters_ > 0 || (waiters_ > 0 && completed_ == total_)) cv_.notify_all();
        return due;
    }
    ChunkSource source(outcomes.data(), outcomes.size());
    std::istream is(&source);
    cereal::BinaryInputArchive archive(is);
    bool due = false;
    for (std::uint32_t k = 0; k < count; ++k) {
        const std::size_t index = first + k;
        std::uint8_t status = 0;
        archive(status);
        if (status == kTaskOk) {
            store(index, archive);
        } else {
            TaskFailure f;
            archive(f.type, f.message);
            if (state_[index] == 0) failures_.emplace(index, std::move(f));
        }
        due = finish_one(index) || due;
    }
    if (partial_waiters_ > 0 || (waiters_ > 0 && completed_ == total_)) cv_.notify_all();
    return due;
}

bool JobCore::fail(std::size_t index, TaskFailure failure) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (state_[index] != 0) return false;
    failures_.emplace(index, std::move(failure));
    const bool due = finish_one(index);
    if (partial_waiters_ > 0 || (waiters_ > 0 && completed_ == total_)) cv_.notify_all();
    return due;
}

void JobCore::run_callbacks() {
    std::vector<std::function<void()>> callbacks;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        callbacks.swap(callbacks_);
    }
    for (auto &callback : callbacks) {
        try {
            callback();
        } catch (...) {
            // As concurrent.futures: a callback's exception is not the task's; it is dropped.
        }
    }
}

void JobCore::add_callback(std::function<void()> callback) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (completed_ < total_) {
            callbacks_.push_back(std::move(callback));
            return;
        }
    }
    callback();
}

bool JobCore::wait_until(std::unique_lock<std::mutex> &lock, std::optional<double> deadline,
                         const std::function<bool()> &ready, bool partial) {
    if (ready()) return true;
    // A wait for the whole job is woken once, at the end; others at each delivery.
    int &waiters = partial ? partial_waiters_ : waiters_;
    ++waiters;
    bool ok = true;
    while (!ready()) {
        if (!deadline) {
            cv_.wait(lock);
            continue;
        }
        const double left = *deadline - now_seconds();
        if (left <= 0) {
            ok = false;
            break;
        }
        cv_.wait_for(lock, std::chrono::duration<double>(left));
    }
    --waiters;
    return ok;
}

bool JobCore::wait_all(std::optional<double> deadline) {
    std::unique_lock<std::mutex> lock(mutex_);
    return wait_until(lock, deadline, [this] { return completed_ == total_; }, false);
}

bool JobCore::wait_for(std::size_t index, std::optional<double> deadline) {
    std::unique_lock<std::mutex> lock(mutex_);
    return wait_until(lock, deadline, [this, index] { return state_[index] != 0; }, true);
}

std::optional<std::size_t> JobCore::wait_completion(std::size_t cursor, std::optional<double> deadline) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!wait_until(lock, deadline, [this, cursor] { return order_.size() > cursor; }, true)) return std::nullopt;
    return order_[cursor];
}

bool JobCore::done() {
    std::lock_guard<std::mutex> lock(mutex_);
    return completed_ == total_;
}

bool JobCore::is_done(std::size_t index) {
    std::lock_guard<std::mutex> lock(mutex_);
    return state_[index] != 0;
}

const TaskFailure *JobCore::failure(std::size_t index) {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = failures_.find(index);
    return it == failures_.end() ? nullptr : &it->second;
}

const TaskFailure *JobCore::first_failure() {
    std::lock_guard<std::mutex> lock(mutex_);
    return failures_.empty() ? nullptr : &failures_.begin()->second;
}

} // namespace batchproc::mp::detail
