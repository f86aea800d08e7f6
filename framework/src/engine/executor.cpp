#include "engine/executor.hpp"

#include "engine/serial_executor.hpp"
#include "engine/thread_executor.hpp"
#include "pool/process_executor.hpp"

#include <sched.h>

namespace batchproc {

int available_cores() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        const int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
    return 1;
}

int resolve_workers(const PoolSpec &pool) {
    if (pool.mode == PoolMode::serial) return 1;
    return pool.workers > 0 ? pool.workers : available_cores();
}

std::unique_ptr<Executor> make_executor(const PoolSpec &pool) {
    switch (pool.mode) {
    case PoolMode::serial: return std::make_unique<SerialExecutor>();
    case PoolMode::threads: return std::make_unique<ThreadExecutor>(resolve_workers(pool));
    case PoolMode::processes: return std::make_unique<ProcessExecutor>(pool, resolve_workers(pool));
    }
    return std::make_unique<SerialExecutor>();
}

} // namespace batchproc
