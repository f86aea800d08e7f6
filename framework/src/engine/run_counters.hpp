// Live counts of a run, read by the progress line while executors update them.
#pragma once

#include "engine/job_record.hpp"

#include <atomic>
#include <cstdint>

namespace batchproc {

struct RunCounters {
    std::atomic<uint64_t> total{0};
    std::atomic<uint64_t> done{0}; // finished in any status
    std::atomic<uint64_t> ok{0};
    std::atomic<uint64_t> failed{0};  // failed + timeout + crashed
    std::atomic<uint64_t> retried{0};
    std::atomic<uint64_t> in_flight{0};
    std::atomic<uint64_t> bytes_in{0};
    std::atomic<uint64_t> bytes_out{0};

    void count(const JobRecord &r) {
        bytes_in += r.bytes_in;
        bytes_out += r.bytes_out;
        if (r.status == JobStatus::ok) ++ok;
        else if (r.status != JobStatus::skipped) ++failed;
        ++done;
    }
};

} // namespace batchproc
