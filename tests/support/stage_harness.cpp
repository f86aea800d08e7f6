#include "support/stage_harness.hpp"

#include "plugin_host/pipeline.hpp"

#include <gtest/gtest.h>

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

StageResult run_stage_ok(const std::string &stage, const std::string &params_yaml, const cv::Mat &input) {
    StageResult r = run_stage(stage, params_yaml, input);
    EXPECT_EQ(r.error, "") << stage << " " << params_yaml;
    return r;
}

std::string expect_config_error(const std::string &stage, const std::string &params_yaml, const std::string &param) {
    try {
        run_stage(stage, params_yaml, cv::Mat(8, 8, CV_8UC3, cv::Scalar::all(0)));
    } catch (const ConfigError &e) {
        EXPECT_NE((e.key() + " " + e.message()).find(param), std::string::npos)
            << "error does not name " << param << ": " << e.what();
        return e.message();
    }
    ADD_FAILURE() << stage << " " << params_yaml << " was accepted";
    return "";
}

} // namespace batchproc::test
