#include "plugin_host/job_context.hpp"

#include "codec/image_encoder.hpp"
#include "plugin_host/host_images.hpp"

#include <batchproc/plugin.hpp>

#include <cstdio>
#include <exception>

namespace batchproc {

namespace {

// The host's side of the C ABI never throws: a failure (bad values from a stage, memory)
// is kept as the job's host error, which fails the job when the stage returns.
template <typename F>
void guarded(JobContext &ctx, F &&f) noexcept {
    try {
        f();
    } catch (const std::exception &e) {
        ctx.set_host_error(e.what());
    } catch (...) {
        ctx.set_host_error("unknown exception");
    }
}

// A bp_image a stage hands over: sizes, channels and depth batchproc can hold.
void check_view(const bp_image *image, const char *what) {
    if (image == nullptr || image->data == nullptr) throw std::runtime_error(std::string(what) + ": no pixels");
    if (image->width <= 0 || image->height <= 0 || image->channels < 1 || image->channels > 4)
        throw std::runtime_error(std::string(what) + ": a " + std::to_string(image->width) + "x" +
                                 std::to_string(image->height) + " image of " + std::to_string(image->channels) +
                                 " channels (1 to 4 expected)");
    if (image->depth != BP_DEPTH_U8 && image->depth != BP_DEPTH_U16 && image->depth != BP_DEPTH_F32)
        throw std::runtime_error(std::string(what) + ": unknown sample depth " + std::to_string(image->depth));
    const size_t sample = image->depth == BP_DEPTH_U8 ? 1 : image->depth == BP_DEPTH_U16 ? 2 : 4;
    if (image->stride < size_t(image->width) * size_t(image->channels) * sample || image->stride % sample != 0)
        throw std::runtime_error(std::string(what) + ": a row stride of " + std::to_string(image->stride) +
                                 " bytes is too short or not a whole number of samples");
}

} // namespace

JobContext::JobContext(int64_t index, std::string input_path) : index_(index), input_path_(std::move(input_path)) {}

const bp_host_api *JobContext::host_api() {
    static const bp_host_api api = [] {
        bp_host_api a{};
        a.struct_size = sizeof(bp_host_api);
        a.get_image = &api_get_image;
        a.set_image = &api_set_image;
        a.set_metric_int = &api_set_metric_int;
        a.set_metric_float = &api_set_metric_float;
        a.set_metric_string = &api_set_metric_string;
        a.write_output = &api_write_output;
        a.input_path = &api_input_path;
        a.job_index = &api_job_index;
        a.warn = &api_warn;
        a.get_source_size = &api_get_source_size;
        a.write_image = &api_write_image;
        a.can_write_format = &api_can_write_format;
        a.read_image = &host_read_image; // API 1.2
        a.release_image = &host_release_image;
        return a;
    }();
    return &api;
}

void JobContext::set_image(cv::Mat image) {
    source_width_ = source_height_ = 0;
    holder_.reset();
    retained_.clear();
    image_ = std::move(image);
}

int JobContext::api_get_image(bp_job *job, bp_image *out) {
    JobContext &ctx = of(job);
    int found = 0;
    guarded(ctx, [&] {
        if (ctx.image_.empty() || out == nullptr) return;
        const cv::Mat &m = ctx.image_;
        out->data = m.data;
        out->width = m.cols;
        out->height = m.rows;
        out->channels = m.channels();
        out->depth = Job::bp_depth_of(m.depth());
        out->stride = m.step[0];
        found = 1;
    });
    return found;
}

void JobContext::api_set_image(bp_job *job, const bp_image *pixels, void (*release)(void *), void *opaque) {
    JobContext &ctx = of(job);
    guarded(ctx, [&] { ctx.replace_image(pixels, release, opaque); });
}

void JobContext::replace_image(const bp_image *pixels, void (*release)(void *), void *opaque) {
    // The host takes the pixels whatever happens: release them even when they are refused.
    std::shared_ptr<void> holder;
    if (release != nullptr) holder = std::shared_ptr<void>(opaque, release);
    check_view(pixels, "set_image");
    cv::Mat view(pixels->height, pixels->width, CV_MAKETYPE(Job::cv_depth(pixels->depth), pixels->channels),
                 pixels->data, pixels->stride);
    // A stage may hand back a view into the current pixels (a crop, say): keep those alive.
    const auto *p = static_cast<const uchar *>(pixels->data);
    const bool points_into_current = !image_.empty() && p >= image_.datastart && p < image_.dataend;
    if (points_into_current) {
        if (holder_) retained_.push_back(holder_);
        retained_.emplace_back(std::make_shared<cv::Mat>(image_));
    } else {
        retained_.clear();
    }
    image_ = view;
    holder_ = std::move(holder);
    source_width_ = source_height_ = 0;
}

void JobContext::api_set_metric_int(bp_job *job, const char *key, int64_t value) {
    guarded(of(job), [&] { of(job).metrics_[key ? key : "(null)"] = value; });
}
void JobContext::api_set_metric_float(bp_job *job, const char *key, double value) {
    guarded(of(job), [&] { of(job).metrics_[key ? key : "(null)"] = value; });
}
void JobContext::api_set_metric_string(bp_job *job, const char *key, const char *value) {
    guarded(of(job), [&] { of(job).metrics_[key ? key : "(null)"] = value ? value : ""; });
}

bool JobContext::output_written() const {
    for (const Output &o : outputs_)
        if (!o.written) return false;
    return true;
}

void JobContext::write(const void *data, size_t size) {
    if (!writer_) throw std::runtime_error("this job has no output file (the config has no output section)");
    if (current_output_ < 0 || static_cast<size_t>(current_output_) >= outputs_.size())
        throw std::runtime_error("only an output stage (one that declares BP_STAGE_WRITES_OUTPUT, such as save) can "
                                 "write a file");
    Output &out = outputs_[static_cast<size_t>(current_output_)];
    if (out.written) throw std::runtime_error("this stage already wrote its output file for this job");
    writer_(data, size);
    out.written = true;
    out.bytes = size;
    out.width = writing_width_;
    out.height = writing_height_;
    bytes_out_ += size;
}

bp_status JobContext::api_write_output(bp_job *job, const void *data, size_t size, bp_error *err) {
    try {
        of(job).write(data, size);
        return BP_OK;
    } catch (const std::exception &e) {
        detail::copy_message(err, e.what());
    }
    return BP_ERROR;
}

bp_status JobContext::api_write_image(bp_job *job, const bp_image *image, const char *format,
                                      const bp_encode_options *options, uint64_t *encoded_size, bp_error *err) {
    try {
        if (options == nullptr || format == nullptr) throw std::runtime_error("write_image needs a format and options");
        check_view(image, "write_image");
        const cv::Mat pixels(image->height, image->width, CV_MAKETYPE(Job::cv_depth(image->depth), image->channels),
                             image->data, image->stride);
        EncodeOptions o;
        o.quality = options->quality;
        o.progressive = options->progressive != 0;
        o.optimize = options->optimize != 0;
        o.subsampling = options->subsampling;
        o.lossless = options->lossless != 0;
        o.png_compression = options->png_compression;
        for (int i = 0; i < 3; ++i) o.background[i] = options->background[i];
        JobContext &ctx = of(job);
        const EncodedImage encoded = encode_image(pixels, format, o, ctx.output_icc_);
        ctx.profile_embedded_ = !ctx.output_icc_.empty();
        ctx.writing_width_ = pixels.cols;
        ctx.writing_height_ = pixels.rows;
        struct Reset {
            JobContext &c;
            ~Reset() { c.writing_width_ = c.writing_height_ = 0; }
        } reset{ctx};
        ctx.write(encoded.bytes.data(), encoded.bytes.size());
        if (encoded_size != nullptr) *encoded_size = encoded.bytes.size();
        return BP_OK;
    } catch (const std::exception &e) {
        detail::copy_message(err, e.what());
    }
    return BP_ERROR;
}

int JobContext::api_can_write_format(const char *format) {
    try {
        return format != nullptr && can_encode(format) ? 1 : 0;
    } catch (const std::exception &) {
        return 0; // a codec module that cannot load writes nothing
    }
}

int JobContext::api_get_source_size(bp_job *job, int32_t *width, int32_t *height) {
    JobContext &ctx = of(job);
    if (ctx.image_.empty()) return 0;
    *width = ctx.source_width_ > 0 ? ctx.source_width_ : ctx.image_.cols;
    *height = ctx.source_height_ > 0 ? ctx.source_height_ : ctx.image_.rows;
    return 1;
}

const char *JobContext::api_input_path(bp_job *job) { return of(job).input_path_.c_str(); }
int64_t JobContext::api_job_index(bp_job *job) { return of(job).index_; }
void JobContext::api_warn(bp_job *job, const char *message) {
    guarded(of(job), [&] { of(job).warnings_.emplace_back(message ? message : ""); });
}

} // namespace batchproc
