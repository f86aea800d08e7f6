// Pool: a pool of worker processes (Python's multiprocessing.Pool).
//
//     int square(int x) { return x * x; }
//     BATCHPROC_MP_TASK(square);                          // needed for spawn and forkserver
//
//     mp::Pool pool(4);                                   // fork workers
//     std::vector<int> squares = pool.map(square, std::vector<int>{0, 1, 2, 3});
//     int s = pool.apply(square, 5);                      // 25
//     auto r = pool.map_async([](int x) { return x + 1; }, xs);   // any callable under fork
//     for (int v : pool.imap_unordered(square, xs, 16)) ...
//
// Arguments and results cross the process boundary serialized with cereal under every start
// method (as Python pickles them): they must be serializable, a compile-time check. The
// function itself is not serialized:
//  - fork: any callable (lambdas with captures too). Workers are forked lazily, at the first
//    call that needs them, and each knows the callables the pool was given before it was
//    forked. A call with a callable a worker does not know replaces the idle workers by fresh
//    forks (so a captured variable is seen as it was at that call). Calls with the same
//    function pointer, or an equal trivially copyable callable (a lambda without captures,
//    or capturing only pointers, references and numbers), reuse the workers; a callable that
//    is not trivially copyable (capturing a std::string, say) costs a new set of workers per
//    call.
//  - spawn, forkserver: registered free functions only (BATCHPROC_MP_TASK); another callable
//    throws TaskNotRegistered at the call.
//
// Failures reach the caller where the result would have: get(), map(), the imap iterator.
//  - a task that throws: TaskError, with the exception's type name and message;
//  - a task that kills its worker (segfault, abort, _exit, SystemExit): WorkerCrashed naming
//    the signal or exit code. Only that task fails; the pool starts a new worker and goes on
//    (Python's pool breaks instead). With chunks of several tasks, the tasks of the chunk that
//    had finished but whose results were not yet sent run again on another worker;
//  - a task running longer than PoolOptions::timeout: its worker is killed, the task fails
//    with TaskTimeout (a TimeoutError), the pool goes on as after a crash;
//  - a task that cannot allocate under PoolOptions::max_memory (RLIMIT_AS in the worker):
//    TaskError of type std::bad_alloc saying so.
#pragma once

#include "batchproc/mp/detail/pool_core.hpp"
#include "batchproc/mp/errors.hpp"
#include "batchproc/mp/start_method.hpp"
#include "batchproc/mp/task.hpp"

#include <cstddef>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace batchproc::mp {

// An exception thrown by a task in a worker (Python's RemoteError): its type and message.
class TaskError : public Error {
public:
    TaskError(std::string type, std::string message)
        : Error(type + ": " + message), type_(std::move(type)), message_(std::move(message)) {}
    // The demangled type of the exception ("std::runtime_error", "my::ParseError").
    const std::string &type_name() const noexcept { return type_; }
    // Its what().
    const std::string &message() const noexcept { return message_; }

private:
    std::string type_, message_;
};

// A task whose worker died while running it (a signal, or an exit).
class WorkerCrashed : public Error {
public:
    WorkerCrashed(const std::string &what, int pid, int exit_code)
        : Error(what), pid_(pid), exit_code_(exit_code) {}
    int pid() const noexcept { return pid_; }
    // The worker's exit code, or minus the signal that killed it (-11 for SIGSEGV).
    int exitcode() const noexcept { return exit_code_; }
    // The signal that killed it, 0 when it exited.
    int signal() const noexcept { return exit_code_ < 0 ? -exit_code_ : 0; }

private:
    int pid_, exit_code_;
};

// multiprocessing.TimeoutError: a wait (get(timeout), result(timeout), as_completed) ran out.
class TimeoutError : public Error {
public:
    using Error::Error;
};

// A task that ran past PoolOptions::timeout; its worker was killed.
class TaskTimeout : public TimeoutError {
public:
    using TimeoutError::TimeoutError;
};

// concurrent.futures.CancelledError: the task was cancelled (or its pool terminated) before it ran.
class CancelledError : public Error {
public:
    using Error::Error;
};

// What each worker runs once when it starts (Python's initializer and initargs):
//     PoolOptions{.initializer = mp::Initializer(setup, "config.yaml")}
// Under fork any callable; under spawn and forkserver a registered function.
class Initializer {
public:
    Initializer() = default;
    template <class F, class... Args>
    explicit Initializer(F fn, Args... args) {
        using Fn = std::decay_t<F>;
        if constexpr (std::is_pointer_v<Fn> && std::is_function_v<std::remove_pointer_t<Fn>>) {
            function_ = reinterpret_cast<detail::ErasedFunction>(fn);
            encode_ = [fn, args...](const detail::TaskEntry &entry) {
                typename detail::CallTraits<Fn, Args...>::Tuple tuple(args...);
                return entry.encode(&tuple);
            };
        }
        run_ = [fn, args...]() mutable { std::invoke(fn, args...); };
    }
    explicit operator bool() const { return static_cast<bool>(run_); }

    // The library's side.
    void run() const { run_(); }
    detail::ErasedFunction function() const { return function_; }
    std::string encode(const detail::TaskEntry &entry) const { return encode_ ? encode_(entry) : std::string(); }

private:
    std::function<void()> run_;
    detail::ErasedFunction function_ = nullptr;
    std::function<std::string(const detail::TaskEntry &)> encode_;
};

struct PoolOptions {
    PoolOptions() = default;
    // Pool pool(4, mp::StartMethod::spawn): the other options at their defaults.
    PoolOptions(StartMethod method) : start_method(method) {} // NOLINT: implicit on purpose

    // nullopt: the default context's (get_start_method()).
    std::optional<StartMethod> start_method;
    // A worker is replaced after this many tasks (0: never). Counted per task, not per chunk.
    std::size_t maxtasksperchild = 0;
    Initializer initializer;
    // A task running longer (seconds) is killed with its worker and fails with TaskTimeout.
    std::optional<double> timeout;
    // Address-space cap of each worker in bytes (RLIMIT_AS; 0: none).
    std::size_t max_memory = 0;
};

// The result of map_async / apply_async (Python's AsyncResult).
template <class T>
class AsyncResult {
public:
    AsyncResult(std::shared_ptr<detail::JobCore> job, std::function<T()> take)
        : job_(std::move(job)), take_(std::move(take)) {}

    // Waits for the result; rethrows the first failure (TaskError, WorkerCrashed, ...).
    T get() {
        job_->wait_all(std::nullopt);
        return deliver();
    }
    // The same, throwing TimeoutError when it is not ready within `timeout_seconds`.
    T get(double timeout_seconds) {
        if (!job_->wait_all(detail::now_seconds() + timeout_seconds))
            throw TimeoutError("batchproc::mp::AsyncResult::get: the result was not ready within " +
                               std::to_string(timeout_seconds) + " s");
        return deliver();
    }
    void wait() { job_->wait_all(std::nullopt); }
    // True when ready.
    bool wait(double timeout_seconds) { return job_->wait_all(detail::now_seconds() + timeout_seconds); }
    bool ready() const { return job_->done(); }
    // Whether every task succeeded; ValueError when not ready (as Python).
    bool successful() const {
        if (!job_->done()) throw ValueError("batchproc::mp::AsyncResult::successful: the result is not ready");
        return job_->first_failure() == nullptr;
    }

private:
    T deliver() {
        if (const detail::TaskFailure *f = job_->first_failure()) std::rethrow_exception(detail::make_exception(*f));
        if constexpr (std::is_void_v<T>) take_();
        else return take_();
    }

    std::shared_ptr<detail::JobCore> job_;
    std::function<T()> take_;
};

// The iterable of imap / imap_unordered / ProcessPoolExecutor::map: results in order (or in
// completion order), as they come. A failed task throws when its turn comes.
template <class R>
class IMapIterator {
public:
    IMapIterator(std::shared_ptr<detail::TypedJob<R>> job, bool ordered, std::optional<double> deadline = std::nullopt)
        : job_(std::move(job)), ordered_(ordered), deadline_(deadline) {}

    bool has_next() const { return position_ < job_->total(); }
    // The next result (StopIteration is has_next() == false: then ValueError).
    R next() { return next_until(deadline_); }
    // TimeoutError when nothing comes within `timeout_seconds`.
    R next(double timeout_seconds) {
        double until = detail::now_seconds() + timeout_seconds;
        if (deadline_ && *deadline_ < until) until = *deadline_;
        return next_until(until);
    }

    class iterator {
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = R;
        using difference_type = std::ptrdiff_t;
        using pointer = const R *;
        using reference = const R &;
        iterator() = default;
        explicit iterator(IMapIterator *owner) : owner_(owner) { advance(); }
        const R &operator*() const { return *current_; }
        const R *operator->() const { return &*current_; }
        iterator &operator++() {
            advance();
            return *this;
        }
        bool operator==(const iterator &other) const { return owner_ == other.owner_; }
        bool operator!=(const iterator &other) const { return owner_ != other.owner_; }

    private:
        void advance() {
            if (owner_ == nullptr) return;
            if (!owner_->has_next()) {
                owner_ = nullptr;
                current_.reset();
                return;
            }
            current_.emplace(owner_->next());
        }
        IMapIterator *owner_ = nullptr;
        std::optional<R> current_;
    };
    iterator begin() { return iterator(this); }
    iterator end() { return iterator(); }

private:
    R next_until(std::optional<double> deadline) {
        if (!has_next()) throw ValueError("batchproc::mp::IMapIterator::next: no result is left (StopIteration)");
        std::size_t index = position_;
        if (ordered_) {
            if (!job_->wait_for(index, deadline)) throw_timeout();
        } else {
            const auto got = job_->wait_completion(position_, deadline);
            if (!got) throw_timeout();
            index = *got;
        }
        ++position_;
        if (const detail::TaskFailure *f = job_->failure(index)) std::rethrow_exception(detail::make_exception(*f));
        return job_->take(index);
    }
    [[noreturn]] static void throw_timeout() {
        throw TimeoutError("batchproc::mp: the next result did not come in time");
    }

    std::shared_ptr<detail::TypedJob<R>> job_;
    bool ordered_;
    std::optional<double> deadline_;
    std::size_t position_ = 0;
};

namespace detail {

template <class Range>
std::size_t range_size(const Range &items) {
    return static_cast<std::size_t>(std::distance(std::begin(items), std::end(items)));
}

} // namespace detail

class Pool {
public:
    // `processes` workers (0: as many as the machine has processors). No worker starts
    // before the first call (see the fork rule above).
    explicit Pool(std::size_t processes = 0, PoolOptions options = {})
        : core_(detail::make_pool_core(processes, options)) {}
    // Terminates, as Python's `with Pool() as p:` does on leaving the block: call close()
    // and join() first to let queued work finish.
    ~Pool() {
        if (core_) detail::pool_terminate(*core_);
    }
    Pool(Pool &&) noexcept = default;
    Pool &operator=(Pool &&other) noexcept {
        if (this != &other) {
            if (core_) detail::pool_terminate(*core_);
            core_ = std::move(other.core_);
        }
        return *this;
    }
    Pool(const Pool &) = delete;
    Pool &operator=(const Pool &) = delete;

    // fn(x) for every x, in order. chunksize 0: Python's default (about 4 chunks per worker).
    template <class F, class Range>
    auto map(F &&fn, const Range &iterable, std::size_t chunksize = 0) {
        return map_async(std::forward<F>(fn), iterable, chunksize).get();
    }
    template <class F, class Range>
    auto map_async(F &&fn, const Range &iterable, std::size_t chunksize = 0) {
        using Elem = std::decay_t<decltype(*std::begin(iterable))>;
        using Traits = detail::CallTraits<std::decay_t<F>, Elem>;
        using R = std::decay_t<typename Traits::Result>;
        static_assert(!std::is_void_v<R>, "batchproc::mp::Pool::map: the function returns nothing; use apply_async");
        auto job = submit_range<Traits>(std::forward<F>(fn), iterable, chunksize, false,
                                        [](const auto &item) { return typename Traits::Tuple(item); });
        return AsyncResult<std::vector<R>>(job, [job] { return job->values(); });
    }

    // fn(args...) for every tuple (or pair) of arguments, in order.
    template <class F, class Range>
    auto starmap(F &&fn, const Range &iterable, std::size_t chunksize = 0) {
        return starmap_async(std::forward<F>(fn), iterable, chunksize).get();
    }
    template <class F, class Range>
    auto starmap_async(F &&fn, const Range &iterable, std::size_t chunksize = 0) {
        using Elem = std::decay_t<decltype(*std::begin(iterable))>;
        using Traits = typename StarTraits<std::decay_t<F>, Elem>::type;
        using R = std::decay_t<typename Traits::Result>;
        static_assert(!std::is_void_v<R>, "batchproc::mp::Pool::starmap: the function returns nothing");
        auto job = submit_range<Traits>(std::forward<F>(fn), iterable, chunksize, false, [](const auto &item) {
            return std::apply([](const auto &...a) { return typename Traits::Tuple(a...); }, item);
        });
        return AsyncResult<std::vector<R>>(job, [job] { return job->values(); });
    }

    // fn(args...) in a worker; waits for the result.
    template <class F, class... Args>
    auto apply(F &&fn, Args &&...args) {
        return apply_async(std::forward<F>(fn), std::forward<Args>(args)...).get();
    }
    template <class F, class... Args>
    auto apply_async(F &&fn, Args &&...args) {
        using Traits = detail::CallTraits<std::decay_t<F>, std::decay_t<Args>...>;
        using R = std::decay_t<typename Traits::Result>;
        auto job = submit_one<Traits>(std::forward<F>(fn), typename Traits::Tuple(std::forward<Args>(args)...));
        if constexpr (std::is_void_v<R>) return AsyncResult<void>(job, [] {});
        else return AsyncResult<R>(job, [job] { return job->value(0); });
    }

    // fn(x) for every x; the results as they come, in order (imap) or as they finish
    // (imap_unordered). The whole iterable is read and queued at the call.
    template <class F, class Range>
    auto imap(F &&fn, const Range &iterable, std::size_t chunksize = 1) {
        return imap_impl(std::forward<F>(fn), iterable, chunksize, true, std::nullopt);
    }
    template <class F, class Range>
    auto imap_unordered(F &&fn, const Range &iterable, std::size_t chunksize = 1) {
        return imap_impl(std::forward<F>(fn), iterable, chunksize, false, std::nullopt);
    }

    // No more work will be submitted; the workers exit once the queued work is done.
    void close() { detail::pool_close(core()); }
    // Stops the workers now (SIGKILL); unfinished tasks fail with CancelledError.
    void terminate() { detail::pool_terminate(core()); }
    // Waits for the workers to exit; call close() or terminate() first (else ValueError).
    void join() { detail::pool_join(core()); }

    std::size_t processes() const { return detail::pool_processes(*core_); }
    StartMethod start_method() const { return detail::pool_start_method(*core_); }
    // The pids of the live workers (for tests and monitoring).
    std::vector<int> worker_pids() { return detail::pool_worker_pids(core()); }

    // The library's side: what ProcessPoolExecutor builds on.
    template <class F, class Range>
    auto imap_impl(F &&fn, const Range &iterable, std::size_t chunksize, bool ordered,
                   std::optional<double> deadline) {
        using Elem = std::decay_t<decltype(*std::begin(iterable))>;
        using Traits = detail::CallTraits<std::decay_t<F>, Elem>;
        using R = std::decay_t<typename Traits::Result>;
        static_assert(!std::is_void_v<R>, "batchproc::mp::Pool::imap: the function returns nothing");
        auto job = submit_range<Traits>(std::forward<F>(fn), iterable, chunksize == 0 ? 1 : chunksize, true,
                                        [](const auto &item) { return typename Traits::Tuple(item); });
        return IMapIterator<R>(job, ordered, deadline);
    }
    template <class Traits, class F>
    auto submit_one(F &&fn, typename Traits::Tuple args) {
        using Tuple = typename Traits::Tuple;
        using R = std::decay_t<typename Traits::Result>;
        static_assert(detail::RequireSerializableTuple<Tuple>::check());
        if constexpr (!std::is_void_v<R>) detail::require_serializable<R>();
        auto job = std::make_shared<detail::TypedJob<detail::StoredResult<R>>>(1);
        const detail::FunctionRef ref = detail::function_ref<std::decay_t<F>, Tuple>(core(), std::forward<F>(fn));
        std::vector<Tuple> one;
        one.push_back(std::move(args));
        detail::make_chunks<Tuple>(job, ref, one, 1, 1, [](const Tuple &t) { return t; },
                                   [this](std::vector<detail::ChunkSpec> c) { detail::pool_submit(core(), std::move(c)); });
        return job;
    }
    std::shared_ptr<detail::PoolCore> shared_core() const { return core_; }
    detail::PoolCore &core() {
        if (!core_) throw ValueError("batchproc::mp::Pool: this pool was moved from");
        return *core_;
    }

private:
    template <class Fn, class Elem>
    struct StarTraits {
        template <class... A>
        static detail::CallTraits<Fn, std::decay_t<A>...> pick(const std::tuple<A...> *);
        template <class A, class B>
        static detail::CallTraits<Fn, std::decay_t<A>, std::decay_t<B>> pick(const std::pair<A, B> *);
        using type = decltype(pick(static_cast<const Elem *>(nullptr)));
    };

    template <class Traits, class F, class Range, class Make>
    auto submit_range(F &&fn, const Range &iterable, std::size_t chunksize, bool streaming, Make &&make) {
        (void)streaming;
        using Tuple = typename Traits::Tuple;
        using R = std::decay_t<typename Traits::Result>;
        static_assert(detail::RequireSerializableTuple<Tuple>::check());
        detail::require_serializable<R>();
        const std::size_t count = detail::range_size(iterable);
        if (chunksize == 0) {
            // Python's default: about four chunks per worker.
            const std::size_t per = 4 * detail::pool_processes(core());
            chunksize = count == 0 ? 1 : (count + per - 1) / per;
        }
        auto job = std::make_shared<detail::TypedJob<R>>(count);
        if (count == 0) return job;
        const detail::FunctionRef ref = detail::function_ref<std::decay_t<F>, Tuple>(core(), std::forward<F>(fn));
        detail::make_chunks<Tuple>(job, ref, iterable, count, chunksize, make,
                                   [this](std::vector<detail::ChunkSpec> c) { detail::pool_submit(core(), std::move(c)); });
        return job;
    }

    std::shared_ptr<detail::PoolCore> core_;
};

} // namespace batchproc::mp
