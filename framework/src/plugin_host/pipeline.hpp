// A config's pipeline resolved against loaded plugins (PipelinePlan), and the live stage
// instances that run it (Pipeline): one per worker thread or process.
#pragma once

#include "config/spec.hpp"
#include "inputs/job_plan.hpp"
#include "plugin_host/job_context.hpp"
#include "plugin_host/param_set.hpp"
#include "plugin_host/plugin_registry.hpp"

#include <optional>
#include <string>
#include <mutex>
#include <vector>

namespace batchproc {

struct PlannedStage {
    StageRef ref;
    ParamSet params;
    SourceMark mark;
    std::string key; // "pipeline[1].resize"
};

struct PipelinePlan {
    std::vector<PlannedStage> stages;
    std::vector<OutputSlot> outputs;          // the stages with BP_STAGE_WRITES_OUTPUT, in order
    bool needs_image = false;                 // some stage needs an image

    bool writes_output() const { return !outputs.empty(); }
};

// Loads the config's plugins, resolves each stage by name (unknown names are errors with a
// suggestion), validates parameters, and creates each stage once so that its own checks
// run before any job does. Throws ConfigError.
PipelinePlan plan_pipeline(const RunSpec &spec, PluginRegistry &registry);

class StageInstance {
public:
    StageInstance(const PlannedStage &stage); // throws std::runtime_error with the stage's message
    StageInstance(StageInstance &&other) noexcept;
    StageInstance(const StageInstance &) = delete;
    StageInstance &operator=(const StageInstance &) = delete;
    StageInstance &operator=(StageInstance &&) = delete;
    ~StageInstance();

    const char *name() const { return stage_->name; }
    // Runs the stage on a job; returns "" on success, else the stage's error sentence.
    std::string process(JobContext &job);
    // The stage's shrink-on-load hint for an input stored as width x height (0: none).
    int decode_hint(int width, int height) const;

private:
    const bp_stage_descriptor *stage_;
    void *state_ = nullptr;
    std::mutex *turns_ = nullptr; // BP_STAGE_NOT_THREAD_SAFE: held around every call of the stage
};

class Pipeline {
public:
    explicit Pipeline(const PipelinePlan &plan);
    std::vector<StageInstance> &stages() { return stages_; }

private:
    std::vector<StageInstance> stages_;
};

} // namespace batchproc
