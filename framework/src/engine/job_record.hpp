// What the engine knows about one job once it has run (or not).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace batchproc {

// unchanged: done by an earlier run and skipped by resume (the journal shows its input,
// recipe and output unchanged). Appended last: the values cross the result buffer.
// interrupted: running when the run was stopped (a signal); skipped: never started.
enum class JobStatus : int32_t { pending = 0, ok, failed, timeout, crashed, skipped, unchanged, interrupted };

const char *to_string(JobStatus status);

struct StageTiming {
    std::string stage;
    double ms = 0;
};

struct JobRecord {
    JobStatus status = JobStatus::pending;
    std::string error;          // a sentence; "" when ok
    int attempts = 0;
    long worker_pid = 0;
    double ms = 0;              // wall time of the last attempt
    std::string metrics_json = "{}"; // a JSON object
    std::vector<std::string> warnings;
    uint64_t bytes_in = 0;
    uint64_t bytes_out = 0;
    std::vector<StageTiming> stage_ms; // per stage, in pipeline order
};

} // namespace batchproc
