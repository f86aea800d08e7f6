// Unit tests for a plugin's stages: run one stage on one image through batchproc's own host
// code (the plugin loader, parameter validation, the job a stage sees during a run), as
// batchproc's own tests do, and look at what came out. Link batchproc::testing
// (find_package(batchproc)); any test framework will do.
//
//   using batchproc::testing::run_stage;
//   const auto r = run_stage("vignette", "{strength: 0.8}", image, "/path/to/my_effects.so");
//   EXPECT_EQ(r.error, "");                    // "" when the stage succeeded
//   EXPECT_LT(r.image.at<cv::Vec3b>(0, 0)[0], image.at<cv::Vec3b>(0, 0)[0]);
//
// The stage runs in the calling process and thread, as in serial mode: a crash in it ends
// the test program.
#pragma once

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#define BATCHPROC_TESTING_API __attribute__((visibility("default")))

namespace batchproc::testing {

struct StageResult {
    cv::Mat image;                   // the job's image after the stage (empty if none)
    nlohmann::ordered_json metrics;  // what the stage recorded with job.metric()
    std::vector<uint8_t> output;     // the file the stage wrote (write_output / write_image)
    std::vector<std::string> warnings;
    std::string error;               // "" when the stage succeeded, else the job's error
};

// Parameters the host refused before any job ran (`batchproc validate` would exit 2).
class BATCHPROC_TESTING_API ParamError : public std::runtime_error {
public:
    ParamError(std::string key, std::string message)
        : std::runtime_error(key.empty() ? message : key + ": " + message), key_(std::move(key)),
          message_(std::move(message)) {}
    const std::string &key() const noexcept { return key_; }         // "pipeline[0].resize.width"
    const std::string &message() const noexcept { return message_; } // the sentence
private:
    std::string key_, message_;
};

// Folders searched for a plugin given by name, before BATCHPROC_PLUGIN_PATH and the
// bundled plugins of the batchproc this library belongs to. A plugin given as a path to a
// .so file is loaded from there.
BATCHPROC_TESTING_API void set_plugin_search_path(const std::vector<std::string> &folders);

// Runs `stage` of `plugin` (a name, such as the bundled "imgproc", or a .so path) with the
// parameters of `params_yaml`, a YAML mapping such as "{width: 100, interpolation: area}"
// ("" for none), on a copy of `input` (the caller's matrix is never changed), as the job of
// a file called `input_path`. Throws ParamError when the parameters do not validate, and
// std::runtime_error when the plugin or the stage cannot be found or loaded.
BATCHPROC_TESTING_API StageResult run_stage(const std::string &stage, const std::string &params_yaml,
                                            const cv::Mat &input, const std::string &plugin = "imgproc",
                                            const std::string &input_path = "input.png");

// The same for a job that has no image (input.generate), number `index`.
BATCHPROC_TESTING_API StageResult run_generated(const std::string &stage, const std::string &params_yaml,
                                                const std::string &plugin, int64_t index = 0);

} // namespace batchproc::testing
