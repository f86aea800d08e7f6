#include "engine/job_record.hpp"

namespace batchproc {

const char *to_string(JobStatus status) {
    switch (status) {
    case JobStatus::pending: return "pending";
    case JobStatus::ok: return "ok";
    case JobStatus::failed: return "failed";
    case JobStatus::timeout: return "timeout";
    case JobStatus::crashed: return "crashed";
    case JobStatus::skipped: return "skipped";
    case JobStatus::unchanged: return "unchanged";
    case JobStatus::interrupted: return "interrupted";
    }
    return "?";
}

} // namespace batchproc
