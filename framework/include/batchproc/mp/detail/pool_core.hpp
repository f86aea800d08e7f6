// The engine shared by Pool and ProcessPoolExecutor: jobs (what callers wait on), chunks
// (what travels to a worker) and PoolCore (the workers and the thread that feeds them).
// Internal to batchproc::mp; see pool.hpp for the rules it implements.
#pragma once

#include "batchproc/mp/detail/pool_chunk.hpp"
#include "batchproc/mp/errors.hpp"
#include "batchproc/mp/serialization.hpp"
#include "batchproc/mp/start_method.hpp"
#include "batchproc/mp/task.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

namespace batchproc::mp {

struct PoolOptions;

namespace detail {

// Why a task has no result.
struct TaskFailure {
    enum class Kind { raised, crashed, timed_out, cancelled };
    Kind kind = Kind::raised;
    std::string type;    // raised: the exception's type name
    std::string message; // raised: what(); otherwise a sentence for a person
    int pid = 0;         // crashed, timed_out: the worker
    int exit_code = 0;   // crashed: the worker's exit code, or minus the signal
};

// The exception a caller sees for `failure` (TaskError, WorkerCrashed, TaskTimeout,
// CancelledError).
std::exception_ptr make_exception(const TaskFailure &failure);

// The results of one call (a map, an apply, a submit): `total` tasks, filled in by the pool's
// thread, waited on by the caller.
class JobCore {
public:
    explicit JobCore(std::size_t total);
    virtual ~JobCore();
    JobCore(const JobCore &) = delete;
    JobCore &operator=(const JobCore &) = delete;

    std::size_t total() const { return total_; }

    // The pool's side. receive() reads `count` outcomes (status byte, then the result or the
    // exception's type and message) for tasks first, first+1, ...; true when the job has just
    // finished and has callbacks to run (run_callbacks, outside the pool's locks).
    bool receive(std::size_t first, std::uint32_t count, std::string_view outcomes);
    bool fail(std::size_t index, TaskFailure failure);
    void run_callbacks();
    void mark_dispatched() { dispatched_.store(true, std::memory_order_relaxed); }

    // The caller's side. Deadlines are monotonic seconds (nullopt: for ever).
    bool wait_all(std::optional<double> deadline);
    bool wait_for(std::size_t index, std::optional<double> deadline);
    // The next task to finish in completion order (position `cursor` in that order);
    // nullopt at the deadline.
    std::optional<std::size_t> wait_completion(std::size_t cursor, std::optional<double> deadline);
    bool done();
    bool is_done(std::size_t index);
    bool dispatched() const { return dispatched_.load(std::memory_order_relaxed); }
    // The failure of task `index`, or null when it succeeded (or is not done).
    const TaskFailure *failure(std::size_t index);
    // The lowest-numbered failure, null when none.
    const TaskFailure *first_failure();
    // Runs `callback` (in the pool's thread) when the job is done, or now if it is.
    void add_callback(std::function<void()> callback);

protected:
    // Reads task `index`'s result from the archive into the typed storage.
    virtual void store(std::size_t index, cereal::BinaryInputArchive &archive) = 0;
    // For a result whose bytes are its serialization: its size (else 0), and the store.
    virtual std::size_t raw_result_size() const { return 0; }
    virtual void store_raw(std::size_t, const char *) {}
    std::mutex mutex_;

private:
    bool finish_one(std::size_t index); // under mutex_; true when callbacks are due
    bool wait_until(std::unique_lock<std::mutex> &lock, std::optional<double> deadline,
                    const std::function<bool()> &ready, bool partial);

    std::size_t total_;
    std::size_t completed_ = 0;
    std::vector<std::uint8_t> state_; // 0 pending, 1 done
    std::vector<std::size_t> order_;  // completion order
    std::map<std::size_t, TaskFailure> failures_;
    std::vector<std::function<void()>> callbacks_;
    std::condition_variable cv_;
    int waiters_ = 0;         // waiting for the whole job
    int partial_waiters_ = 0; // waiting for one task
    std::atomic<bool> dispatched_{false};
};

struct Unit {
    template <class A>
    void serialize(A &) {}
};

template <class R>
using StoredResult = std::conditional_t<std::is_void_v<R>, Unit, R>;

template <class V>
class TypedJob final : public JobCore {
public:
    explicit TypedJob(std::size_t total) : JobCore(total), values_(total) {}
    // The value of a finished, successful task.
    V value(std::size_t index) {
        std::lock_guard<std::mutex> lock(mutex_);
        return values_[index];
    }
    V take(std::size_t index) {
        std::lock_guard<std::mutex> lock(mutex_);
        return std::move(values_[index]);
    }
    std::vector<V> values() {
        std::lock_guard<std::mutex> lock(mutex_);
        return values_;
    }

private:
    void store(std::size_t index, cereal::BinaryInputArchive &archive) override {
        if constexpr (!std::is_same_v<V, Unit>) archive(values_[index]);
    }
    std::size_t raw_result_size() const override {
        if constexpr (std::is_arithmetic_v<V>) return sizeof(V);
        else return 0;
    }
    void store_raw(std::size_t index, const char *p) override {
        if constexpr (std::is_arithmetic_v<V>) std::memcpy(&values_[index], p, sizeof(V));
    }
    std::vector<V> values_;
};

// A callable a fork worker can run: an entry of the pool's function table.
class PoolFunction {
public:
    virtual ~PoolFunction() = default;
    virtual void run(std::string_view arguments, std::uint32_t count, ChunkHooks &hooks) = 0;
};

template <class Fn, class Tuple>
class CallableFunction final : public PoolFunction {
public:
    explicit CallableFunction(Fn fn) : fn_(std::move(fn)) {}
    void run(std::string_view arguments, std::uint32_t count, ChunkHooks &hooks) override {
        run_chunk<Tuple>(arguments, count, hooks,
                         [this](Tuple &args) -> decltype(auto) { return call_callable(fn_, args); });
    }

private:
    Fn fn_;
};

template <class R, class... P>
class PointerFunction final : public PoolFunction {
public:
    explicit PointerFunction(R (*fn)(P...)) : fn_(fn) {}
    void run(std::string_view arguments, std::uint32_t count, ChunkHooks &hooks) override {
        run_function_chunk<R, P...>(reinterpret_cast<ErasedFunction>(fn_), arguments, count, hooks);
    }

private:
    R (*fn_)(P...);
};

template <class R, class... P>
std::unique_ptr<PoolFunction> make_pointer_function(R (*fn)(P...)) {
    return std::make_unique<PointerFunction<R, P...>>(fn);
}

// What a chunk's worker runs: an index in the fork table, or a registered task.
struct FunctionRef {
    std::uint32_t index = 0;
    const TaskEntry *entry = nullptr;
};

// A chunk of tasks of one job: tasks first .. first+count-1, their argument tuples back to
// back in `arguments` (offsets[i] is where task i starts; empty for one task).
struct ChunkSpec {
    std::shared_ptr<JobCore> job;
    std::size_t first = 0;
    std::uint32_t count = 0;
    std::string arguments;
    std::vector<std::uint32_t> offsets;
    FunctionRef function;
    int attempts = 0; // times it was sent to a worker that died before answering
};

class PoolCore;

// Starts the pool's workers, feeds them chunks, gathers results, replaces dead workers.
std::shared_ptr<PoolCore> make_pool_core(std::size_t processes, const PoolOptions &options);
StartMethod pool_start_method(const PoolCore &core);
std::size_t pool_processes(const PoolCore &core);
// fork: the table index of `fn` (an equal non-empty key reuses the entry).
FunctionRef pool_add_function(PoolCore &core, std::string key, std::unique_ptr<PoolFunction> fn);
void pool_submit(PoolCore &core, std::vector<ChunkSpec> chunks);
bool pool_cancel(PoolCore &core, const JobCore *job, std::size_t index);
void pool_cancel_pending(PoolCore &core);
void pool_close(PoolCore &core);
void pool_terminate(PoolCore &core);
void pool_join(PoolCore &core);
std::vector<int> pool_worker_pids(PoolCore &core);

double now_seconds();

// The argument tuple and result type of calling Fn with arguments A...: a plain function
// gets its own (decayed) parameter types, anything else the decayed argument types.
template <class Fn, class... A>
struct CallTraits {
    static constexpr bool is_function_pointer = false;
    using Tuple = std::tuple<A...>;
    using Result = decltype(call_callable(std::declval<Fn &>(), std::declval<Tuple &>()));
};

template <class R, class... P, class... A>
struct CallTraits<R (*)(P...), A...> {
    static_assert(sizeof...(P) == sizeof...(A), "batchproc::mp::Pool: the function takes a different number of "
                                                "arguments than each task gives it");
    static constexpr bool is_function_pointer = true;
    using Tuple = std::tuple<std::decay_t<P>...>;
    using Result = R;
};

template <class Tuple>
struct RequireSerializableTuple;
template <class... T>
struct RequireSerializableTuple<std::tuple<T...>> {
    static constexpr bool check() {
        (require_serializable<T>(), ...);
        return true;
    }
};

// The table entry (fork) or registry entry (spawn, forkserver) for `fn`.
template <class Fn, class Tuple>
FunctionRef function_ref(PoolCore &core, Fn fn) {
    if (pool_start_method(core) == StartMethod::fork) {
        std::string key;
        if constexpr (std::is_trivially_copyable_v<Fn>) {
            key = typeid(Fn).name();
            key.append(reinterpret_cast<const char *>(&fn), sizeof fn);
        }
        if constexpr (std::is_pointer_v<Fn> && std::is_function_v<std::remove_pointer_t<Fn>>)
            return pool_add_function(core, std::move(key), make_pointer_function(fn));
        else
            return pool_add_function(core, std::move(key), std::make_unique<CallableFunction<Fn, Tuple>>(std::move(fn)));
    }
    const std::string method = to_string(pool_start_method(core));
    if constexpr (std::is_pointer_v<Fn> && std::is_function_v<std::remove_pointer_t<Fn>>) {
        const TaskEntry *entry = find_task(reinterpret_cast<ErasedFunction>(fn));
        if (entry == nullptr)
            throw TaskNotRegistered("batchproc::mp::Pool: the function is not registered, and a " + method +
                                    " pool runs registered functions only: add BATCHPROC_MP_TASK(name) after its "
                                    "definition, or use a fork pool");
        return FunctionRef{0, entry};
    } else {
        throw TaskNotRegistered("batchproc::mp::Pool: a " + method +
                                " pool runs registered free functions only, and this is a lambda or function "
                                "object: use a fork pool, or make it a free function registered with "
                                "BATCHPROC_MP_TASK(name)");
    }
}

// Serializes the tasks (make(element) gives each one's argument tuple), cuts them into
// chunks of `chunksize` and hands them to emit(std::vector<ChunkSpec>) a few thousand tasks
// at a time, so that the workers start on the first chunks while the rest are serialized.
template <class Tuple, class Range, class Make, class Emit>
void make_chunks(const std::shared_ptr<JobCore> &job, FunctionRef function, const Range &items, std::size_t count,
                 std::size_t chunksize, Make &&make, Emit &&emit) {
    const std::size_t batch = std::max<std::size_t>(1, 8192 / chunksize) * chunksize;
    std::string all;
    std::vector<std::uint32_t> offsets;
    offsets.reserve(std::min(count, batch) + 1);
    auto it = std::begin(items);
    for (std::size_t start = 0; start < count; start += batch) {
        const std::size_t n_batch = std::min(batch, count - start);
        all.clear();
        offsets.clear();
        if constexpr (is_raw_v<Tuple>) {
            all.reserve(n_batch * raw_size<Tuple>());
            for (std::size_t k = 0; k < n_batch; ++k, ++it) {
                offsets.push_back(static_cast<std::uint32_t>(all.size()));
                append_raw_value(all, Tuple(make(*it)));
            }
        } else {
            ChunkSink sink(all);
            std::ostream os(&sink);
            cereal::BinaryOutputArchive archive(os);
            for (std::size_t k = 0; k < n_batch; ++k, ++it) {
                offsets.push_back(static_cast<std::uint32_t>(sink.written()));
                Tuple args = make(*it);
                archive(args);
            }
        }
        if (all.size() > UINT32_MAX)
            throw ValueError("batchproc::mp::Pool: the arguments of a few thousand tasks exceed 4 GiB; split the call");
        offsets.push_back(static_cast<std::uint32_t>(all.size()));
        std::vector<ChunkSpec> chunks;
        chunks.reserve((n_batch + chunksize - 1) / chunksize);
        for (std::size_t first = 0; first < n_batch; first += chunksize) {
            const std::size_t n = std::min(chunksize, n_batch - first);
            ChunkSpec c;
            c.job = job;
            c.first = start + first;
            c.count = static_cast<std::uint32_t>(n);
            c.function = function;
            const std::uint32_t begin = offsets[first], end = offsets[first + n];
            c.arguments.assign(all, begin, end - begin);
            if (n > 1) {
                c.offsets.reserve(n);
                for (std::size_t i = 0; i < n; ++i) c.offsets.push_back(offsets[first + i] - begin);
            }
            chunks.push_back(std::move(c));
        }
        emit(std::move(chunks));
    }
}

} // namespace detail
} // namespace batchproc::mp
