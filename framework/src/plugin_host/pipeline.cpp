#include "plugin_host/pipeline.hpp"

#include "config/suggest.hpp"

#include <algorithm>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>

namespace batchproc {

PipelinePlan plan_pipeline(const RunSpec &spec, PluginRegistry &registry) {
    for (const PluginRef &ref : spec.plugins) {
        try {
            registry.load(ref.name_or_path);
        } catch (const PluginError &e) {
            throw ConfigError(ref.mark, "plugins", e.what());
        }
    }
    PipelinePlan plan;
    if (spec.pipeline.empty()) throw ConfigError({spec.config_path.string()}, "pipeline", "the pipeline has no stages");
    for (size_t i = 0; i < spec.pipeline.size(); ++i) {
        const StageSpec &s = spec.pipeline[i];
        const std::string key = "pipeline[" + std::to_string(i) + "]." + s.name;
        StageRef ref;
        try {
            ref = registry.find_stage(s.name);
        } catch (const PluginError &e) {
            throw ConfigError(s.mark, key, e.what());
        }
        if (ref.stage == nullptr) {
            std::string loaded;
            for (const LoadedPlugin &p : registry.plugins()) loaded += (loaded.empty() ? "" : ", ") + p.id;
            // A stage of a plugin the config does not load (plugins: [imgproc] forgotten):
            // say which one has it.
            PluginRegistry everything(spec.plugin_path);
            everything.load_all();
            StageRef elsewhere;
            try {
                elsewhere = everything.find_stage(s.name);
            } catch (const PluginError &) {
                // in several plugins the config does not load: the message below names none
            }
            if (elsewhere.plugin != nullptr)
                throw ConfigError(s.mark, key,
                                  "stage \"" + s.name + "\" is in plugin \"" + elsewhere.plugin->id +
                                      "\", which the config does not load: add it to plugins (plugins: [" +
                                      (loaded.empty() ? "" : loaded + ", ") + elsewhere.plugin->id + "])");
            throw ConfigError(s.mark, key,
                              "unknown stage \"" + s.name + "\"" + did_you_mean(s.name, everything.stage_names()) +
                                  "; loaded plugins: " + (loaded.empty() ? "none" : loaded) +
                                  " (see `batchproc plugins`)");
        }
        PlannedStage planned{ref, validate_params(*ref.stage, s, key), s.mark, key};
        if (ref.stage->flags & BP_STAGE_WRITES_OUTPUT) {
            OutputSlot slot;
            slot.stage = i;
            slot.stage_key = key;
            if (ref.stage->extension_param != nullptr) {
                const std::string ext = planned.params.text(ref.stage->extension_param);
                if (!ext.empty() && ext != "auto") slot.ext = ext;
            }
            const bool has_name_param = ref.stage->struct_size >= offsetof(bp_stage_descriptor, name_param) +
                                                                     sizeof ref.stage->name_param &&
                                        ref.stage->name_param != nullptr;
            if (has_name_param) {
                slot.name = planned.params.text(ref.stage->name_param);
                slot.name_key = key + "." + ref.stage->name_param;
                slot.name_mark = s.mark;
            }
            plan.outputs.push_back(std::move(slot));
        }
        if (ref.stage->flags & BP_STAGE_NEEDS_IMAGE) plan.needs_image = true;
        try {
            StageInstance probe(planned);
        } catch (const std::exception &e) {
            throw ConfigError(s.mark, key, e.what());
        }
        plan.stages.push_back(std::move(planned));
    }
    return plan;
}

namespace {

// One mutex per stage that is not thread-safe, for the life of the process (descriptors are
// static in their plugin, which stays loaded).
std::mutex *turns_for(const bp_stage_descriptor *stage) {
    if ((stage->flags & BP_STAGE_NOT_THREAD_SAFE) == 0) return nullptr;
    static std::mutex guard;
    static std::map<const bp_stage_descriptor *, std::unique_ptr<std::mutex>> turns;
    std::lock_guard<std::mutex> lock(guard);
    std::unique_ptr<std::mutex> &m = turns[stage];
    if (!m) m = std::make_unique<std::mutex>();
    return m.get();
}

// Holds `m` for a scope when there is one.
class Turn {
public:
    explicit Turn(std::mutex *m) : m_(m) {
        if (m_ != nullptr) m_->lock();
    }
    ~Turn() {
        if (m_ != nullptr) m_->unlock();
    }
    Turn(const Turn &) = delete;
    Turn &operator=(const Turn &) = delete;

private:
    std::mutex *m_;
};

} // namespace

StageInstance::StageInstance(const PlannedStage &stage) : stage_(stage.ref.stage), turns_(turns_for(stage_)) {
    bp_error err{};
    const Turn turn(turns_);
    if (stage_->create(stage.params.c_params(), &state_, &err) != BP_OK)
        throw std::runtime_error(err.message[0] ? err.message : "the stage could not be created");
}

StageInstance::StageInstance(StageInstance &&other) noexcept
    : stage_(other.stage_), state_(other.state_), turns_(other.turns_) {
    other.state_ = nullptr;
}

StageInstance::~StageInstance() {
    if (state_ == nullptr) return;
    const Turn turn(turns_);
    stage_->destroy(state_);
}

std::string StageInstance::process(JobContext &job) {
    if ((stage_->flags & BP_STAGE_NEEDS_IMAGE) && !job.has_image())
        return std::string("stage ") + stage_->name + " needs an image, and this job has none";
    bp_error err{};
    bp_status status;
    {
        const Turn turn(turns_);
        status = stage_->process(state_, JobContext::host_api(), job.handle(), &err);
    }
    // A call the host refused (bad image values, out of memory) fails the job even when the
    // stage went on and returned BP_OK.
    const std::string host_error = job.take_host_error();
    if (!host_error.empty()) return "the host refused a call of stage " + std::string(stage_->name) + ": " + host_error;
    if (status == BP_OK) return "";
    return err.message[0] ? std::string(err.message) : std::string(stage_->name) + " failed without a message";
}

int StageInstance::decode_hint(int width, int height) const {
    if (stage_->struct_size < offsetof(bp_stage_descriptor, decode_hint) + sizeof stage_->decode_hint ||
        stage_->decode_hint == nullptr)
        return 0;
    return std::max(0, static_cast<int>(stage_->decode_hint(state_, width, height)));
}

Pipeline::Pipeline(const PipelinePlan &plan) {
    stages_.reserve(plan.stages.size());
    for (const PlannedStage &s : plan.stages) stages_.emplace_back(s);
}

} // namespace batchproc
