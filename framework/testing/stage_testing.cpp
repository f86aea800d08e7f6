// batchproc::testing (include/batchproc/testing.hpp): one stage, one job, through the host.
#include "batchproc/testing.hpp"

#include "config/spec.hpp"
#include "plugin_host/pipeline.hpp"
#include "plugin_host/plugin_registry.hpp"

#include <yaml-cpp/yaml.h>

#include <memory>
#include <mutex>

namespace batchproc::testing {

namespace {

std::mutex g_mutex;
std::vector<std::filesystem::path> g_search_path;
std::unique_ptr<PluginRegistry> g_registry; // made on first use, with g_search_path

PluginRegistry &registry() {
    if (!g_registry) g_registry = std::make_unique<PluginRegistry>(g_search_path);
    return *g_registry;
}

StageResult run(const std::string &stage, const std::string &params_yaml, const cv::Mat *input,
                const std::string &plugin, const std::string &input_path, int64_t index) {
    const SourceMark mark{"test", 1, 1};
    RunSpec spec;
    spec.config_path = "test.yaml";
    spec.plugins.push_back({plugin, mark});
    StageSpec s;
    s.name = stage;
    s.mark = mark;
    PipelinePlan plan;
    try {
        if (!params_yaml.empty()) {
            const YAML::Node node = YAML::Load(params_yaml);
            if (!node.IsMap() && !node.IsNull())
                throw ParamError("", "the parameters must be a YAML mapping such as {width: 100}, got " + params_yaml);
            for (auto it = node.begin(); it != node.end(); ++it)
                s.params.push_back({it->first.as<std::string>(), it->second, mark});
        }
        spec.pipeline.push_back(s);
        std::lock_guard<std::mutex> lock(g_mutex);
        plan = plan_pipeline(spec, registry());
    } catch (const ConfigError &e) {
        throw ParamError(e.key(), e.message());
    } catch (const YAML::Exception &e) {
        throw ParamError("", "the parameters are not valid YAML: " + e.msg);
    }
    Pipeline pipeline(plan);

    StageResult result;
    JobContext job(index, input_path);
    if (input != nullptr) job.set_image(input->clone());
    job.set_output_writer([&](const void *data, size_t size) {
        const auto *p = static_cast<const uint8_t *>(data);
        result.output.assign(p, p + size);
    });
    result.error = pipeline.stages().front().process(job);
    if (job.has_image()) result.image = job.image().clone();
    result.metrics = job.metrics();
    result.warnings = job.warnings();
    return result;
}

} // namespace

void set_plugin_search_path(const std::vector<std::string> &folders) {
    std::lock_guard<std::mutex> lock(g_mutex);
    g_search_path.assign(folders.begin(), folders.end());
    g_registry.reset();
}

StageResult run_stage(const std::string &stage, const std::string &params_yaml, const cv::Mat &input,
                      const std::string &plugin, const std::string &input_path) {
    return run(stage, params_yaml, &input, plugin, input_path, 0);
}

StageResult run_generated(const std::string &stage, const std::string &params_yaml, const std::string &plugin,
                          int64_t index) {
    return run(stage, params_yaml, nullptr, plugin, "", index);
}

} // namespace batchproc::testing
