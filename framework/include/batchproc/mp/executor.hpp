// ProcessPoolExecutor, Future and as_completed (Python's concurrent.futures), built on Pool:
// the same workers, the same crash, timeout and fork rules (see pool.hpp).
//
//     mp::ProcessPoolExecutor ex(4);
//     std::vector<mp::Future<int>> fs;
//     for (int i = 0; i < 10; ++i) fs.push_back(ex.submit(square, i));
//     for (auto &f : mp::as_completed(fs)) std::printf("%d\n", f.result());
//     for (int r : ex.map(square, xs)) ...
#pragma once

#include "batchproc/mp/pool.hpp"

#include <chrono>
#include <condition_variable>
#include <iterator>
#include <string>
#include <type_traits>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

namespace batchproc::mp {

// The result of ProcessPoolExecutor::submit (concurrent.futures.Future).
template <class R>
class Future {
public:
    Future() = default;
    Future(std::shared_ptr<detail::JobCore> job, std::function<R()> take, std::weak_ptr<detail::PoolCore> pool)
        : job_(std::move(job)), take_(std::move(take)), pool_(std::move(pool)) {}

    bool valid() const { return job_ != nullptr; }
    // Waits for the result (at most `timeout_seconds`: then TimeoutError); rethrows the task's
    // failure (TaskError, WorkerCrashed, TaskTimeout, CancelledError).
    R result(std::optional<double> timeout_seconds = std::nullopt) const {
        wait_or_throw(timeout_seconds);
        if (const detail::TaskFailure *f = job_->failure(0)) std::rethrow_exception(detail::make_exception(*f));
        if constexpr (std::is_void_v<R>) take_();
        else return take_();
    }
    // The task's failure, or null when it succeeded (CancelledError is thrown, as in Python).
    std::exception_ptr exception(std::optional<double> timeout_seconds = std::nullopt) const {
        wait_or_throw(timeout_seconds);
        const detail::TaskFailure *f = job_->failure(0);
        if (f == nullptr) return nullptr;
        if (f->kind == detail::TaskFailure::Kind::cancelled) std::rethrow_exception(detail::make_exception(*f));
        return detail::make_exception(*f);
    }
    bool done() const { return job_->done(); }
    bool cancelled() const {
        const detail::TaskFailure *f = job_->done() ? job_->failure(0) : nullptr;
        return f != nullptr && f->kind == detail::TaskFailure::Kind::cancelled;
    }
    // Sent to a worker and not done. (A worker may hold one task queued behind the running
    // one: such a task counts as running and can no longer be cancelled.)
    bool running() const { return job_->dispatched() && !job_->done(); }
    // Cancels the task if it has not been sent to a worker yet; true when it is cancelled.
    bool cancel() {
        if (cancelled()) return true;
        if (job_->done() || job_->dispatched()) return false;
        auto pool = pool_.lock();
        return pool && detail::pool_cancel(*pool, job_.get(), 0);
    }
    // fn(future) once the future is done, in the pool's thread (or at once, here, if it is).
    template <class F>
    void add_done_callback(F fn) const {
        Future copy = *this;
        job_->add_callback([copy, fn]() mutable { fn(copy); });
    }

    // The library's side (as_completed).
    const std::shared_ptr<detail::JobCore> &job() const { return job_; }

private:
    void wait_or_throw(std::optional<double> timeout_seconds) const {
        const std::optional<double> deadline =
            timeout_seconds ? std::optional<double>(detail::now_seconds() + *timeout_seconds) : std::nullopt;
        if (!job_->wait_all(deadline))
            throw TimeoutError("batchproc::mp::Future: the result was not ready within " +
                               std::to_string(*timeout_seconds) + " s");
    }

    std::shared_ptr<detail::JobCore> job_;
    std::function<R()> take_;
    std::weak_ptr<detail::PoolCore> pool_;
};

// The futures of `futures` in the order they finish (concurrent.futures.as_completed).
// Iterating throws TimeoutError once `timeout_seconds` (from the call) have passed with
// futures still pending.
template <class R>
class AsCompleted {
public:
    AsCompleted(std::vector<Future<R>> futures, std::optional<double> timeout_seconds)
        : futures_(std::move(futures)), state_(std::make_shared<State>()) {
        if (timeout_seconds) deadline_ = detail::now_seconds() + *timeout_seconds;
        for (std::size_t i = 0; i < futures_.size(); ++i) {
            std::weak_ptr<State> weak = state_;
            futures_[i].job()->add_callback([weak, i] {
                if (auto s = weak.lock()) {
                    std::lock_guard<std::mutex> lock(s->mutex);
                    s->done.push_back(i);
                    s->cv.notify_all();
                }
            });
        }
    }

    bool has_next() const { return taken_ < futures_.size(); }
    Future<R> next() {
        if (!has_next()) throw ValueError("batchproc::mp::as_completed: no future is left (StopIteration)");
        std::unique_lock<std::mutex> lock(state_->mutex);
        while (state_->done.size() <= taken_) {
            if (!deadline_) {
                state_->cv.wait(lock);
                continue;
            }
            const double left = *deadline_ - detail::now_seconds();
            if (left <= 0)
                throw TimeoutError("batchproc::mp::as_completed: " + std::to_string(futures_.size() - taken_) +
                                   " of " + std::to_string(futures_.size()) + " futures unfinished at the timeout");
            state_->cv.wait_for(lock, std::chrono::duration<double>(left));
        }
        return futures_[state_->done[taken_++]];
    }

    class iterator {
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = Future<R>;
        using difference_type = std::ptrdiff_t;
        using pointer = const Future<R> *;
        using reference = const Future<R> &;
        iterator() = default;
        explicit iterator(AsCompleted *owner) : owner_(owner) { advance(); }
        const Future<R> &operator*() const { return current_; }
        const Future<R> *operator->() const { return &current_; }
        iterator &operator++() {
            advance();
            return *this;
        }
        bool operator==(const iterator &o) const { return owner_ == o.owner_; }
        bool operator!=(const iterator &o) const { return owner_ != o.owner_; }

    private:
        void advance() {
            if (owner_ == nullptr) return;
            if (!owner_->has_next()) {
                owner_ = nullptr;
                return;
            }
            current_ = owner_->next();
        }
        AsCompleted *owner_ = nullptr;
        Future<R> current_;
    };
    iterator begin() { return iterator(this); }
    iterator end() { return iterator(); }

private:
    struct State {
        std::mutex mutex;
        std::condition_variable cv;
        std::vector<std::size_t> done;
    };
    std::vector<Future<R>> futures_;
    std::shared_ptr<State> state_;
    std::optional<double> deadline_;
    std::size_t taken_ = 0;
};

template <class R>
AsCompleted<R> as_completed(const std::vector<Future<R>> &futures,
                            std::optional<double> timeout_seconds = std::nullopt) {
    return AsCompleted<R>(futures, timeout_seconds);
}

class ProcessPoolExecutor {
public:
    // max_workers 0: as many as the machine has processors.
    explicit ProcessPoolExecutor(std::size_t max_workers = 0, PoolOptions options = {})
        : pool_(max_workers, std::move(options)) {}
    // shutdown(wait=true), as leaving Python's `with` block.
    ~ProcessPoolExecutor() {
        try {
            shutdown(true);
        } catch (...) {
        }
    }
    ProcessPoolExecutor(const ProcessPoolExecutor &) = delete;
    ProcessPoolExecutor &operator=(const ProcessPoolExecutor &) = delete;

    // fn(args...) in a worker.
    template <class F, class... Args>
    auto submit(F &&fn, Args &&...args) {
        using Traits = detail::CallTraits<std::decay_t<F>, std::decay_t<Args>...>;
        using R = std::decay_t<typename Traits::Result>;
        auto job = pool_.submit_one<Traits>(std::forward<F>(fn), typename Traits::Tuple(std::forward<Args>(args)...));
        std::function<R()> take;
        if constexpr (std::is_void_v<R>) take = [] {};
        else take = [job] { return job->value(0); };
        return Future<R>(job, std::move(take), weak_core());
    }

    // fn(x) for every x, results in order as they come; TimeoutError from the iteration once
    // `timeout_seconds` (from the call) have passed.
    template <class F, class Range>
    auto map(F &&fn, const Range &iterable, std::optional<double> timeout_seconds = std::nullopt,
             std::size_t chunksize = 1) {
        const std::optional<double> deadline =
            timeout_seconds ? std::optional<double>(detail::now_seconds() + *timeout_seconds) : std::nullopt;
        return pool_.imap_impl(std::forward<F>(fn), iterable, chunksize, true, deadline);
    }

    // No more submissions. cancel_futures: tasks not yet sent to a worker are cancelled.
    // wait: returns once every remaining task is done and the workers have exited.
    void shutdown(bool wait = true, bool cancel_futures = false) {
        if (shut_) {
            if (wait) pool_.join();
            return;
        }
        shut_ = true;
        if (cancel_futures) detail::pool_cancel_pending(pool_.core());
        pool_.close();
        if (wait) pool_.join();
    }

    std::vector<int> worker_pids() { return pool_.worker_pids(); }

private:
    std::weak_ptr<detail::PoolCore> weak_core() { return pool_.shared_core(); }

    Pool pool_;
    bool shut_ = false;
};

} // namespace batchproc::mp
