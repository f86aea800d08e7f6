// Live counts of an in-process run (serial, threads), read by the progress line while the
// executors update them. The process pool keeps its own in shared memory.
#pragma once

#include "engine/job_record.hpp"

#include <atomic>
#include <cstdint>

namespace batchproc {

struct RunCounters {
    std::atomic<uint64_t> done{0};   // finished in any status
    std::atomic<uint64_t> failed{0}; // failed + timeout + crashed

    void count(const JobRecord &r) {
        if (r.status == JobStatus::failed || r.status == JobStatus::timeout || r.status == JobStatus::crashed) ++failed;
        ++done;
    }
};

} // namespace batchproc
