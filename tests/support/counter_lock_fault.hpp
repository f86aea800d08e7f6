// Fault injection into the process pool's robust counter lock, for tests only (the shipped
// binary has no such hook): in a process that maps a result buffer (a worker of any start
// method, or a child forked from its creator), take the lock, start an update through the
// redo record, leave the counters half-updated (done + 1000) and die of SIGKILL holding the
// lock. The next locker must repair it (pool/result_buffer.hpp).
#pragma once

#include "pool/result_buffer.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

namespace batchproc::test {

// The result buffer's first page in this process: the mapping of the memfd the pool names
// "batchproc-results" (pool/shared_region.cpp), found in /proc/self/maps; null if none.
inline ResultBuffer::Header *mapped_result_buffer() {
    std::ifstream maps("/proc/self/maps");
    std::string line;
    while (std::getline(maps, line))
        if (line.find("memfd:batchproc-results") != std::string::npos)
            return reinterpret_cast<ResultBuffer::Header *>(std::strtoull(line.c_str(), nullptr, 16));
    return nullptr;
}

[[noreturn]] inline void die_holding_counter_lock() {
    if (ResultBuffer::Header *h = mapped_result_buffer()) {
        pthread_mutex_lock(&h->lock);
        h->redo = h->counters;
        h->redo_active = 1;
        h->counters.done += 1000;
    }
    ::kill(::getpid(), SIGKILL);
    for (;;) ::pause();
}

} // namespace batchproc::test
