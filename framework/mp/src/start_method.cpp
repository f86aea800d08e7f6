#include "batchproc/mp/start_method.hpp"

#include "batchproc/mp/errors.hpp"

#include <mutex>
#include <string>

namespace batchproc::mp {

namespace {

// fork, as Python before 3.14: the only method that runs any callable (lambdas with
// captures), and this library starts no thread of its own. docs/library.md explains.
constexpr StartMethod kDefaultStartMethod = StartMethod::fork;

std::mutex g_mutex;
bool g_fixed = false;
StartMethod g_method = kDefaultStartMethod;

} // namespace

const char *to_string(StartMethod method) {
    switch (method) {
    case StartMethod::fork: return "fork";
    case StartMethod::spawn: return "spawn";
    case StartMethod::forkserver: return "forkserver";
    }
    return "?";
}

std::optional<StartMethod> parse_start_method(std::string_view name) {
    for (StartMethod m : {StartMethod::fork, StartMethod::spawn, StartMethod::forkserver})
        if (name == to_string(m)) return m;
    return std::nullopt;
}

std::vector<StartMethod> get_all_start_methods() {
    std::vector<StartMethod> all{kDefaultStartMethod};
    for (StartMethod m : {StartMethod::fork, StartMethod::spawn, StartMethod::forkserver})
        if (m != kDefaultStartMethod) all.push_back(m);
    return all;
}

StartMethod get_start_method() {
    std::lock_guard<std::mutex> lock(g_mutex);
    g_fixed = true;
    return g_method;
}

void set_start_method(StartMethod method, bool force) {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (g_fixed && !force && method != g_method)
        throw ProcessError(std::string("batchproc::mp::set_start_method: the start method has already been set (to ") +
                           to_string(g_method) +
                           "); call it once, before any Process is created, or pass force=true");
    g_method = method;
    g_fixed = true;
}

} // namespace batchproc::mp
