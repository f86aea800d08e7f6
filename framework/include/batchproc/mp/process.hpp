// Process: a function run in a child process (Python's multiprocessing.Process).
//
//     int square(int x) { return x * x; }
//     BATCHPROC_MP_TASK(square);                         // needed for spawn and forkserver
//
//     mp::Process p(square, 7);                          // the default start method (fork)
//     p.start();
//     p.join();                                          // p.exitcode() == 0
//
//     auto ctx = mp::get_context(mp::StartMethod::spawn);
//     mp::Process q = ctx.Process(square, 7);            // a fresh run of this program
//
// The function's result is discarded (as in Python); send results through a Queue or a
// Pipe. An exception escaping the function ends the child with exit code 1 after printing
// its type and message on stderr; `throw mp::SystemExit{n}` ends it with exit code n.
#pragma once

#include "batchproc/mp/detail/unique_fd.hpp"
#include "batchproc/mp/errors.hpp"
#include "batchproc/mp/start_method.hpp"
#include "batchproc/mp/task.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

namespace batchproc::mp {

// What Python's current_process() and parent_process() tell about a process.
struct ProcessInfo {
    int pid = 0;
    std::string name; // "MainProcess" for a program's own process, else the Process's name
    bool daemon = false;
};

ProcessInfo current_process();
// The process that started this one; nullopt in a program's own (main) process.
std::optional<ProcessInfo> parent_process();

// The optional one-line hook for the spawn and forkserver start methods:
//
//     int main(int argc, char **argv) {
//         if (batchproc::mp::run_if_child(argc, argv)) return 0; // never true: a child exits
//         ...
//
// Without it, a spawned child runs its task from a static initializer of this library,
// before main, once every task registered by the program's own files and by the static
// libraries that depend on batchproc::mp is known (they are initialized first). A program
// whose tasks are registered later (in a shared library, or by register_task in main) calls
// run_if_child first thing in main: then its children run their task there, after every
// static initializer, and never reach the rest of main. In a program's own process it
// returns false at once.
bool run_if_child(int argc, char **argv);

class Process;

// A start method to create processes with (Python's get_context(method)).
class Context {
public:
    explicit Context(StartMethod method) : method_(method) {}
    StartMethod start_method() const { return method_; }

    // ctx.Process(fn, args...) as in Python.
    template <class F, class... Args>
    ::batchproc::mp::Process Process(F &&fn, Args &&...args) const;

private:
    StartMethod method_;
};

// The default context: the method of set_start_method, else the default (fork). Fixes it.
Context get_context();
Context get_context(StartMethod method);

namespace detail {

// The function and arguments of a Process, type-erased.
class ProcessTarget {
public:
    virtual ~ProcessTarget() = default;
    // Calls the function (in a fork child).
    virtual void run() = 0;
    // The function, when it is a plain function pointer that may be registered.
    virtual ErasedFunction function() const { return nullptr; }
    // The arguments serialized for `entry` (the registry entry of function()).
    virtual std::string encode(const TaskEntry &entry) const = 0;
};

template <class F, class... A>
class CallableTarget final : public ProcessTarget {
public:
    template <class G, class... B>
    explicit CallableTarget(G &&fn, B &&...args) : fn_(std::forward<G>(fn)), args_(std::forward<B>(args)...) {}
    void run() override {
        std::apply(
            [this](auto &...a) {
                if constexpr (std::is_invocable_v<F &, A &&...>) std::invoke(fn_, std::move(a)...);
                else std::invoke(fn_, a...);
            },
            args_);
    }
    std::string encode(const TaskEntry &) const override { return {}; }

private:
    F fn_;
    std::tuple<A...> args_;
};

template <class R, class... P>
class FunctionTarget final : public ProcessTarget {
public:
    template <class... B>
    explicit FunctionTarget(R (*fn)(P...), B &&...args) : fn_(fn), args_(std::forward<B>(args)...) {}
    void run() override {
        std::apply([this](auto &...a) { static_cast<void>(fn_(pass_argument<P>(a)...)); }, args_);
    }
    ErasedFunction function() const override { return reinterpret_cast<ErasedFunction>(fn_); }
    std::string encode(const TaskEntry &entry) const override { return entry.encode(&args_); }

private:
    R (*fn_)(P...);
    std::tuple<std::decay_t<P>...> args_;
};

template <class R, class... P, class... Args>
std::unique_ptr<ProcessTarget> make_function_target(R (*fn)(P...), Args &&...args) {
    static_assert(sizeof...(P) == sizeof...(Args), "batchproc::mp::Process: the function takes a different "
                                                   "number of arguments than were given");
    static_assert((std::is_constructible_v<std::decay_t<P>, Args &&> && ...),
                  "batchproc::mp::Process: an argument cannot be converted to the function's parameter type");
    return std::make_unique<FunctionTarget<R, P...>>(fn, std::forward<Args>(args)...);
}

template <class F, class... Args>
std::unique_ptr<ProcessTarget> make_target(F &&fn, Args &&...args) {
    using D = std::decay_t<F>;
    if constexpr (std::is_pointer_v<D> && std::is_function_v<std::remove_pointer_t<D>>) {
        return make_function_target(static_cast<D>(fn), std::forward<Args>(args)...);
    } else {
        static_assert(std::is_invocable_v<D &, std::decay_t<Args> &&...> ||
                          std::is_invocable_v<D &, std::decay_t<Args> &...>,
                      "batchproc::mp::Process: the function cannot be called with these arguments");
        return std::make_unique<CallableTarget<D, std::decay_t<Args>...>>(std::forward<F>(fn),
                                                                          std::forward<Args>(args)...);
    }
}

} // namespace detail

class Process {
public:
    // fn(args...) in a child started with the default start method. Arguments are copied
    // (decayed) into the Process. Under spawn and forkserver `fn` must be a function
    // registered with BATCHPROC_MP_TASK, else TaskNotRegistered is thrown here.
    template <class F, class... Args,
              std::enable_if_t<!std::is_same_v<std::decay_t<F>, Process> && !std::is_same_v<std::decay_t<F>, Context>,
                               int> = 0>
    explicit Process(F &&fn, Args &&...args)
        : Process(get_context(), std::forward<F>(fn), std::forward<Args>(args)...) {}

    // The same with a chosen start method.
    template <class F, class... Args>
    Process(const Context &context, F &&fn, Args &&...args)
        : Process(context.start_method(), detail::make_target(std::forward<F>(fn), std::forward<Args>(args)...)) {}

    // A Process that was started and not joined is waited for (a daemon one is terminated
    // first), as Python does for its children at exit.
    ~Process();
    Process(Process &&other) noexcept;
    Process &operator=(Process &&other) noexcept;
    Process(const Process &) = delete;
    Process &operator=(const Process &) = delete;

    // Starts the child. Throws ProcessError when it cannot (started twice, fork refused,
    // the program cannot be executed again for spawn, the forkserver is gone).
    void start();
    // Waits for the child to end. Throws ProcessError if it was never started.
    void join();
    // Waits at most `timeout_seconds`; true when the child has ended.
    bool join(double timeout_seconds);
    bool is_alive();
    // The child's pid; 0 before start.
    int pid() const { return pid_; }
    // nullopt while running (or before start); the exit code once ended, or the negative
    // signal number when a signal killed it (-9 for SIGKILL), as in Python.
    std::optional<int> exitcode();
    // SIGTERM / SIGKILL to a running child (nothing once it has ended).
    void terminate();
    void kill();
    // A descriptor that becomes readable when the child ends (a pidfd, or the forkserver's
    // status socket); -1 before start. For poll()ing many processes at once.
    int sentinel() const { return sentinel_.get(); }

    // "Process-1", "Process-2" ... ("Process-1:1" for the first child of Process-1).
    const std::string &name() const { return name_; }
    void set_name(std::string name) { name_ = std::move(name); }
    // A daemon child is killed (SIGKILL) when its parent dies, and terminated when its
    // Process object is destroyed. Set before start().
    bool daemon() const { return daemon_; }
    void set_daemon(bool daemon);
    StartMethod start_method() const { return method_; }

private:
    Process(StartMethod method, std::unique_ptr<detail::ProcessTarget> target);
    void start_fork();
    void start_spawn();
    void start_forkserver();
    bool reap(bool block);
    bool poll_exit(double timeout_seconds); // negative: wait for ever
    void send_signal(int sig);
    void finish() noexcept; // the destructor's waiting

    StartMethod method_ = StartMethod::fork;
    std::unique_ptr<detail::ProcessTarget> target_;
    const detail::TaskEntry *task_ = nullptr;
    std::string identity_; // "1", "1:2": the name's number, passed on to the child
    std::string name_;
    bool daemon_ = false;
    int pid_ = 0;
    int creator_pid_ = 0;
    std::optional<int> exitcode_;
    detail::UniqueFd sentinel_;
};

template <class F, class... Args>
::batchproc::mp::Process Context::Process(F &&fn, Args &&...args) const {
    return ::batchproc::mp::Process(*this, std::forward<F>(fn), std::forward<Args>(args)...);
}

} // namespace batchproc::mp
