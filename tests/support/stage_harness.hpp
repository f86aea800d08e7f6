// One stage on one image, through the real host code: batchproc::testing (the installed
// harness plugin authors use, include/batchproc/testing.hpp), with the bundled and the test
// plugins' folders searched, and gtest expectations on top.
#pragma once

#include <batchproc/testing.hpp>

#include <opencv2/core.hpp>

#include <cstdint>
#include <string>

namespace batchproc::test {

using batchproc::testing::ParamError;
using batchproc::testing::StageResult;

// batchproc::testing::run_stage / run_generated with this build's plugin folders.
StageResult run_stage(const std::string &stage, const std::string &params_yaml, const cv::Mat &input,
                      const std::string &plugin = "imgproc", const std::string &input_path = "input.png");
StageResult run_generated(const std::string &stage, const std::string &params_yaml,
                          const std::string &plugin, int64_t index = 0);

// run_stage that also expects the stage to succeed (a failed expectation names it).
StageResult run_stage_ok(const std::string &stage, const std::string &params_yaml, const cv::Mat &input);

// Expects the parameters to be refused before any job runs, with `param` named in the
// error's key or message; returns the message for further checks ("" when accepted).
std::string expect_config_error(const std::string &stage, const std::string &params_yaml, const std::string &param);

} // namespace batchproc::test
