// The task registry: functions that a spawn or forkserver child can run by name.
//
//     int square(int x) { return x * x; }
//     BATCHPROC_MP_TASK(square);
//
// BATCHPROC_MP_TASK goes at namespace scope, after the function's definition (and after
// anything the function uses from its own file). It registers the function under its
// spelled name ("square", or "ns::square" if written so) before main runs, and checks at
// compile time that every parameter type and the result type can be serialized. A fork
// child needs no registration: it is a copy of the parent and can run any callable.
#pragma once

#include "batchproc/mp/serialization.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace batchproc::mp {

namespace detail {

using ErasedFunction = void (*)();

// A pool runs a registered function on a chunk of tasks at once (detail/pool_chunk.hpp).
class ChunkHooks;
template <class R, class... P>
void run_function_chunk(ErasedFunction function, std::string_view arguments, std::uint32_t count,
                        ChunkHooks &hooks);

// One registered function. `invoke` reads the arguments (written by `encode`), calls the
// function and returns the serialized result (empty for void).
struct TaskEntry {
    std::string name;
    ErasedFunction function = nullptr;
    std::string (*invoke)(ErasedFunction function, std::string_view arguments) = nullptr;
    // `arguments` points to a std::tuple<std::decay_t<P>...> for the function's parameters P.
    std::string (*encode)(const void *arguments) = nullptr;
    // Runs `count` tasks whose argument tuples follow each other in `arguments` (a Pool's chunk).
    void (*run_chunk)(ErasedFunction function, std::string_view arguments, std::uint32_t count,
                      ChunkHooks &hooks) = nullptr;
};

void register_task_entry(TaskEntry entry);
// nullptr when not registered; throws TaskNotRegistered when two functions share a name.
const TaskEntry *find_task(std::string_view name);
const TaskEntry *find_task(ErasedFunction function);

// A stored argument is passed as an lvalue to a reference parameter, moved otherwise.
template <class P, class T>
decltype(auto) pass_argument(T &value) {
    if constexpr (std::is_lvalue_reference_v<P>) return (value);
    else return std::move(value);
}

template <class R, class... P>
std::string invoke_task(ErasedFunction function, std::string_view arguments) {
    auto fn = reinterpret_cast<R (*)(P...)>(function);
    std::tuple<std::decay_t<P>...> args;
    loads_into(arguments, args);
    release_imported_fds();
    return std::apply(
        [fn](auto &...values) -> std::string {
            if constexpr (std::is_void_v<R>) {
                fn(pass_argument<P>(values)...);
                return {};
            } else {
                return dumps(fn(pass_argument<P>(values)...));
            }
        },
        args);
}

template <class... P>
std::string encode_arguments(const void *arguments) {
    return dumps(*static_cast<const std::tuple<std::decay_t<P>...> *>(arguments));
}

template <class R, class... P>
TaskEntry make_task_entry(std::string name, R (*fn)(P...)) {
    (require_serializable<std::decay_t<P>>(), ...);
    if constexpr (!std::is_void_v<R>) require_serializable<std::decay_t<R>>();
    return TaskEntry{std::move(name), reinterpret_cast<ErasedFunction>(fn), &invoke_task<R, P...>,
                     &encode_arguments<P...>, &run_function_chunk<R, P...>};
}

struct TaskRegistrar {
    template <class R, class... P>
    TaskRegistrar(const char *name, R (*fn)(P...)) {
        register_task_entry(make_task_entry(name, fn));
    }
};

} // namespace detail

// Registers `fn` under `name` at run time (BATCHPROC_MP_TASK does it before main). Every
// run of the program must register it the same way, spawned children included: a child
// started for a task registered this way runs main up to this call, which then runs the
// task and ends the child (with run_if_child in main, call register_task before it).
// Prefer the macro.
template <class R, class... P>
void register_task(std::string name, R (*fn)(P...)) {
    detail::register_task_entry(detail::make_task_entry(std::move(name), fn));
}

// True when `fn` has been registered (under any name).
template <class R, class... P>
bool is_registered(R (*fn)(P...)) {
    return detail::find_task(reinterpret_cast<detail::ErasedFunction>(fn)) != nullptr;
}

} // namespace batchproc::mp

#include "batchproc/mp/detail/pool_chunk.hpp" // run_function_chunk's definition

#define BATCHPROC_MP_DETAIL_CAT2(a, b) a##b
#define BATCHPROC_MP_DETAIL_CAT(a, b) BATCHPROC_MP_DETAIL_CAT2(a, b)

// Registers a free function (not overloaded) by its spelled name. Namespace scope only.
#define BATCHPROC_MP_TASK(fn)                                                                          \
    [[maybe_unused]] static const ::batchproc::mp::detail::TaskRegistrar BATCHPROC_MP_DETAIL_CAT(      \
        batchproc_mp_task_registrar_, __COUNTER__) { #fn, &fn }
