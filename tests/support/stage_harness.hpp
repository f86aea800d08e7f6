// Runs one stage of a plugin on one image, through the real host code (plugin loader,
// parameter validation, job context): push an image in, take the result out.
#pragma once

#include "config/spec.hpp"

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace batchproc::test {

struct StageResult {
    cv::Mat image;                       // the job's image after the stage (empty if none)
    nlohmann::ordered_json metrics;
    std::vector<uint8_t> output;         // what the stage wrote with write_output
    std::vector<std::string> warnings;
    std::string error;                   // "" when the stage succeeded
};

// params_yaml is a YAML mapping such as "{width: 100, interpolation: area}" (or "" for
// none). Throws ConfigError when the parameters do not validate (as `batchproc validate`).
// The input image is copied first, so the caller's matrix is never changed.
StageResult run_stage(const std::string &stage, const std::string &params_yaml, const cv::Mat &input,
                      const std::string &plugin = "imgproc", const std::string &input_path = "input.png");

// The same for a job that has no image (generated jobs).
StageResult run_generated(const std::string &stage, const std::string &params_yaml,
                          const std::string &plugin, int64_t index = 0);

// run_stage that also expects the stage to succeed (a failed expectation names it).
StageResult run_stage_ok(const std::string &stage, const std::string &params_yaml, const cv::Mat &input);

// Expects the parameters to be refused before any job runs, with `param` named in the
// error's key or message; returns the message for further checks ("" when accepted).
std::string expect_config_error(const std::string &stage, const std::string &params_yaml, const std::string &param);

} // namespace batchproc::test
