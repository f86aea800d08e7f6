#include "support/stage_harness.hpp"

#include "plugin_host/pipeline.hpp"

namespace batchproc::test {

namespace {

PluginRegistry &registry() {
    static PluginRegistry r({BP_PLUGIN_DIR, BP_TEST_PLUGIN_DIR});
    return r;
}

StageResult run(const std::string &stage, const std::string &params_yaml, const cv::Mat *input,
                const std::string &plugin, const std::string &input_path, int64_t index) {
    RunSpec spec;
    spec.config_path = "test.yaml";
    spec.plugins.push_back({plugin, {"test.yaml", 1, 1}});
    StageSpec s;
    s.name = stage;
    s.mark = {"test.yaml", 1, 1};
    if (!params_yaml.empty()) {
        YAML::Node node = YAML::Load(params_yaml);
        for (auto it = node.begin(); it != node.end(); ++it)
            s.params.push_back({it->first.as<std::string>(), it->second, {"test.yaml", 1, 1}});
    }
    spec.pipeline.push_back(s);
    PipelinePlan plan = plan_pipeline(spec, registry());
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

StageResult run_stage(const std::string &stage, const std::string &params_yaml, const cv::Mat &input,
                      const std::string &plugin, const std::string &input_path) {
    return run(stage, params_yaml, &input, plugin, input_path, 0);
}

StageResult run_generated(const std::string &stage, const std::string &params_yaml, const std::string &plugin,
                          int64_t index) {
    return run(stage, params_yaml, nullptr, plugin, "", index);
}

} // namespace batchproc::test
