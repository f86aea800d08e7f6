#include "engine/executor.hpp"

#include "engine/serial_executor.hpp"
#include "engine/thread_executor.hpp"
#include "pool/process_executor.hpp"

#include <sched.h>

#include <cstdlib>

namespace batchproc {

int available_cores() {
    int cores = 1;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) cores = CPU_COUNT(&set);
    // A Slurm task's allocation (--cpus-per-task), where Slurm does not also pin the task's CPUs.
    if (const char *slurm = std::getenv("SLURM_CPUS_PER_TASK")) {
        char *end = nullptr;
        const long n = std::strtol(slurm, &end, 10);
        if (end != slurm && *end == '\0' && n > 0 && n < cores) cores = static_cast<int>(n);
    }
    return cores;
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
