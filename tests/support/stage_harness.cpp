#include "support/stage_harness.hpp"

#include <gtest/gtest.h>

namespace batchproc::test {

namespace {

void use_this_builds_plugins() {
    static const bool done = [] {
        batchproc::testing::set_plugin_search_path({BP_PLUGIN_DIR, BP_TEST_PLUGIN_DIR});
        return true;
    }();
    (void)done;
}

} // namespace

StageResult run_stage(const std::string &stage, const std::string &params_yaml, const cv::Mat &input,
                      const std::string &plugin, const std::string &input_path) {
    use_this_builds_plugins();
    return batchproc::testing::run_stage(stage, params_yaml, input, plugin, input_path);
}

StageResult run_generated(const std::string &stage, const std::string &params_yaml, const std::string &plugin,
                          int64_t index) {
    use_this_builds_plugins();
    return batchproc::testing::run_generated(stage, params_yaml, plugin, index);
}

StageResult run_stage_ok(const std::string &stage, const std::string &params_yaml, const cv::Mat &input) {
    StageResult r = run_stage(stage, params_yaml, input);
    EXPECT_EQ(r.error, "") << stage << " " << params_yaml;
    return r;
}

std::string expect_config_error(const std::string &stage, const std::string &params_yaml, const std::string &param) {
    try {
        run_stage(stage, params_yaml, cv::Mat(8, 8, CV_8UC3, cv::Scalar::all(0)));
    } catch (const ParamError &e) {
        EXPECT_NE((e.key() + " " + e.message()).find(param), std::string::npos)
            << "error does not name " << param << ": " << e.what();
        return e.message();
    }
    ADD_FAILURE() << stage << " " << params_yaml << " was accepted";
    return "";
}

} // namespace batchproc::test
