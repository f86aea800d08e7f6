// Runs one planned job from start to end in the calling thread: read, decode, stages,
// output. Used by every executor, so outputs are the same whatever the mode.
#pragma once

#include "config/spec.hpp"
#include "engine/job_record.hpp"
#include "inputs/job_plan.hpp"
#include "io/atomic_file.hpp"
#include "plugin_host/pipeline.hpp"

#include <cstdint>
#include <vector>

namespace batchproc {

class JobRunner {
public:
    JobRunner(const RunSpec &spec, const PipelinePlan &plan); // creates this runner's stage instances
    JobRunner(const JobRunner &) = delete;
    JobRunner &operator=(const JobRunner &) = delete;

    // Never throws for a problem of the job itself: that becomes a failed record.
    JobRecord run(const PlannedJob &job);

private:
    // The first stage's shrink-on-load hint for this file (0: decode at full size).
    int decode_hint(const std::vector<uint8_t> &bytes);

    const RunSpec &spec_;
    const PipelinePlan &plan_;
    Pipeline pipeline_;
    long pid_; // a runner never changes process: asked once, not per job
    std::vector<int> output_slot_; // per stage: its index among the output stages, -1 for the others
    WriteOptions output_options_; // how outputs are written (output.overwrite, durable, dir): the same for every job
};

} // namespace batchproc
