// How a child process is started (Python's start methods).
//
//  fork        the child is a copy of the parent made by fork(): any callable runs in it,
//              lambdas with captures included, and nothing is serialized. Unsafe when the
//              parent has other threads at the moment of the fork (a lock held by another
//              thread stays held in the child forever).
//  spawn       the child is a fresh run of the same program (/proc/self/exe) that runs a
//              registered task (BATCHPROC_MP_TASK) with serialized arguments, before main.
//  forkserver  a clean, single-threaded server process (itself started like spawn, on first
//              use) forks a child per request; the child runs a registered task. Fast like
//              fork, safe like spawn.
//
// The default is fork, as in Python before 3.14 (see docs/library.md for why).
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace batchproc::mp {

enum class StartMethod { fork, spawn, forkserver };

// "fork", "spawn", "forkserver".
const char *to_string(StartMethod method);
// The inverse of to_string; nullopt for any other text.
std::optional<StartMethod> parse_start_method(std::string_view name);

// Every method this platform supports (all three on Linux), the default first.
std::vector<StartMethod> get_all_start_methods();

// The method of the default context. Like Python, asking fixes it: a later
// set_start_method without `force` throws ProcessError.
StartMethod get_start_method();

// Sets the method of the default context, once. Changing it afterwards (after an earlier
// call, or once get_start_method or the first Process fixed the default) throws
// ProcessError unless `force` is true.
void set_start_method(StartMethod method, bool force = false);

} // namespace batchproc::mp
