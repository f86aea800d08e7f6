#include "batchproc/mp/task.hpp"

#include "child_role.hpp"

#include <map>
#include <mutex>
#include <set>
#include <string>

namespace batchproc::mp::detail {

namespace {

struct Registry {
    std::mutex mutex;
    std::map<std::string, TaskEntry, std::less<>> by_name;
    std::map<ErasedFunction, std::string> by_function;
    std::set<std::string, std::less<>> clashes; // names given to two different functions
};

// Built on first use, so that registrations from any static initializer find it ready.
Registry &registry() {
    static Registry r;
    return r;
}

} // namespace

void register_task_entry(TaskEntry entry) {
    Registry &r = registry();
    const std::string name = entry.name;
    {
        std::lock_guard<std::mutex> lock(r.mutex);
        const auto it = r.by_name.find(name);
        if (it != r.by_name.end()) {
            if (it->second.function != entry.function) r.clashes.insert(name);
            return;
        }
        r.by_function.emplace(entry.function, name);
        r.by_name.emplace(name, std::move(entry));
    }
    task_registered(name);
}

const TaskEntry *find_task(std::string_view name) {
    Registry &r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    if (r.clashes.count(name) != 0)
        throw TaskNotRegistered("batchproc::mp: two different functions are registered as task '" + std::string(name) +
                                "'; give one of them another name (BATCHPROC_MP_TASK uses the spelled name)");
    const auto it = r.by_name.find(name);
    return it == r.by_name.end() ? nullptr : &it->second;
}

const TaskEntry *find_task(ErasedFunction function) {
    std::string name;
    {
        Registry &r = registry();
        std::lock_guard<std::mutex> lock(r.mutex);
        const auto it = r.by_function.find(function);
        if (it == r.by_function.end()) return nullptr;
        name = it->second;
    }
    return find_task(name);
}

} // namespace batchproc::mp::detail
