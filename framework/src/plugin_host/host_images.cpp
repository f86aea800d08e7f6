#include "plugin_host/host_images.hpp"

#include "codec/image_decoder.hpp"
#include "plugin_host/job_context.hpp"

#include <batchproc/plugin.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace batchproc {

namespace {

std::vector<uint8_t> read_file(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(std::string("cannot open it: ") + std::strerror(errno));
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) throw std::runtime_error(std::string("cannot read it: ") + std::strerror(errno));
    return bytes;
}

} // namespace

bp_status host_read_image(bp_job *job, const char *path, bp_image *out, void **handle, bp_error *err) noexcept {
    const std::string name = path != nullptr ? path : "";
    try {
        if (path == nullptr || *path == '\0' || out == nullptr || handle == nullptr)
            throw std::runtime_error("read_image needs a path, an image and a handle to fill");
        const std::vector<uint8_t> bytes = read_file(name);
        DecodedImage decoded = decode_image(bytes.data(), bytes.size(), DecodeOptions{});
        if (job != nullptr) {
            // bp_job is the JobContext itself (JobContext::handle()).
            JobContext &ctx = *reinterpret_cast<JobContext *>(job);
            for (std::string &w : decoded.warnings) ctx.warnings().push_back(name + ": " + w);
        }
        auto held = std::make_unique<cv::Mat>(std::move(decoded.pixels));
        out->data = held->data;
        out->width = held->cols;
        out->height = held->rows;
        out->channels = held->channels();
        out->depth = Job::bp_depth_of(held->depth());
        out->stride = held->step[0];
        *handle = held.release();
        return BP_OK;
    } catch (const std::exception &e) {
        detail::copy_message(err, ("cannot read the image " + name + ": " + e.what()).c_str());
    } catch (...) {
        detail::copy_message(err, ("cannot read the image " + name).c_str());
    }
    return BP_ERROR;
}

void host_release_image(void *handle) noexcept { delete static_cast<cv::Mat *>(handle); }

} // namespace batchproc
