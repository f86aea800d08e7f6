// The host side of one job as a stage sees it through bp_host_api: the current image,
// metrics, warnings and the encoded output.
#pragma once

#include <batchproc/plugin.h>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace batchproc {

class JobContext {
public:
    // Writes the encoded output of the current output stage (current_output()); throws
    // std::runtime_error with a sentence on failure.
    using OutputWriter = std::function<void(const void *data, size_t size)>;

    // What one output stage wrote.
    struct Output {
        bool written = false;
        int width = 0, height = 0; // of the image encoded (0 when the stage wrote bytes itself)
        uint64_t bytes = 0;
    };

    JobContext(int64_t index, std::string input_path);
    JobContext(const JobContext &) = delete;
    JobContext &operator=(const JobContext &) = delete;

    bp_job *handle() { return reinterpret_cast<bp_job *>(this); }
    static const bp_host_api *host_api();

    void set_image(cv::Mat image); // the host's own pixels (decoded input)
    // The full size the decoded image stands for when it was decoded at reduced scale.
    void set_source_size(int width, int height) {
        source_width_ = width;
        source_height_ = height;
    }
    bool has_image() const { return !image_.empty(); }
    const cv::Mat &image() const { return image_; }

    void set_output_writer(OutputWriter writer) { writer_ = std::move(writer); }
    // How many output stages the pipeline has (1 unless set), and which of them runs now:
    // a stage writes the output of its own slot; -1 is a stage that writes none.
    void set_output_count(size_t count) { outputs_.assign(count, Output{}); }
    void set_current_output(int slot) { current_output_ = slot; }
    int current_output() const { return current_output_; }
    const std::vector<Output> &outputs() const { return outputs_; }
    // The size of the image being written (write_image's), else the current image's.
    int writing_width() const { return writing_width_ > 0 ? writing_width_ : image_.cols; }
    int writing_height() const { return writing_height_ > 0 ? writing_height_ : image_.rows; }
    // The ICC profile the output is to carry (input.colour: keep): write_image has the
    // codec embed it, and then profile_embedded() is true.
    void set_output_profile(std::vector<uint8_t> icc) { output_icc_ = std::move(icc); }
    bool profile_embedded() const { return profile_embedded_; }
    bool output_written() const; // every output stage wrote its file
    uint64_t bytes_out() const { return bytes_out_; }

    int64_t index() const { return index_; }
    const std::string &input_path() const { return input_path_; }

    nlohmann::ordered_json &metrics() { return metrics_; }
    // What went wrong inside a host callback (bad values from the stage, memory): the host
    // never throws across the C ABI, and the job fails with this when the stage returns.
    void set_host_error(std::string text) {
        if (host_error_.empty()) host_error_ = std::move(text);
    }
    std::string take_host_error() { return std::exchange(host_error_, std::string()); }
    std::vector<std::string> &warnings() { return warnings_; }

private:
    static JobContext &of(bp_job *job) { return *reinterpret_cast<JobContext *>(job); }
    static int api_get_image(bp_job *job, bp_image *out);
    static void api_set_image(bp_job *job, const bp_image *pixels, void (*release)(void *), void *opaque);
    static void api_set_metric_int(bp_job *job, const char *key, int64_t value);
    static void api_set_metric_float(bp_job *job, const char *key, double value);
    static void api_set_metric_string(bp_job *job, const char *key, const char *value);
    static bp_status api_write_output(bp_job *job, const void *data, size_t size, bp_error *err);
    static const char *api_input_path(bp_job *job);
    static int64_t api_job_index(bp_job *job);
    static void api_warn(bp_job *job, const char *message);
    static int api_get_source_size(bp_job *job, int32_t *width, int32_t *height);
    static bp_status api_write_image(bp_job *job, const bp_image *image, const char *format,
                                     const bp_encode_options *options, uint64_t *encoded_size, bp_error *err);
    static int api_can_write_format(const char *format);
    void write(const void *data, size_t size); // to the output writer, once
    void replace_image(const bp_image *pixels, void (*release)(void *), void *opaque); // set_image's work

    int64_t index_;
    std::string input_path_;
    cv::Mat image_;
    int source_width_ = 0; // 0: the current image's own size
    int source_height_ = 0;
    std::shared_ptr<void> holder_;                // keeps plugin-owned pixels alive
    std::vector<std::shared_ptr<void>> retained_; // earlier buffers a newer image points into
    OutputWriter writer_;
    std::vector<uint8_t> output_icc_;
    bool profile_embedded_ = false;
    std::vector<Output> outputs_ = std::vector<Output>(1);
    int current_output_ = 0;
    int writing_width_ = 0, writing_height_ = 0;
    uint64_t bytes_out_ = 0;
    nlohmann::ordered_json metrics_ = nlohmann::ordered_json::object();
    std::vector<std::string> warnings_;
    std::string host_error_;
};

} // namespace batchproc
