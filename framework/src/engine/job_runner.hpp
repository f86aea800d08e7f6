// Runs one planned job from start to end in the calling thread: read, decode, stages,
// output. Used by every executor, so outputs are the same whatever the mode.
#pragma once

#include "config/spec.hpp"
#include "engine/job_record.hpp"
#include "inputs/job_plan.hpp"
#include "plugin_host/pipeline.hpp"

namespace batchproc {

class JobRunner {
public:
    JobRunner(const RunSpec &spec, const PipelinePlan &plan); // creates this runner's stage instances
    JobRunner(const JobRunner &) = delete;
    JobRunner &operator=(const JobRunner &) = delete;

    // Never throws for a problem of the job itself: that becomes a failed record.
    JobRecord run(const PlannedJob &job);

private:
    const RunSpec &spec_;
    const PipelinePlan &plan_;
    Pipeline pipeline_;
    int shrink_hint_ = 0;
};

// The smallest long side the pipeline's first stage needs, when it is a downscale the
// decoder may anticipate (shrink-on-load); 0 when the full image is needed.
int shrink_on_load_hint(const PipelinePlan &plan);

} // namespace batchproc
