// Codec module "opencv": cv::imdecode / cv::imencode for the formats batchproc has no codec
// of its own for.
#include "codec/codec_module.hpp"

#include <opencv2/imgcodecs.hpp>

#include <climits>

namespace batchproc {
namespace {

bool decode(const uint8_t *data, size_t size, CodecImage &image, std::string &error) {
    image = CodecImage();
    cv::Mat &pixels = image.pixels;
    if (size > static_cast<size_t>(INT_MAX)) {
        error = "file is too large to decode (over 2 GiB)";
        return false;
    }
    try {
        const cv::Mat buffer(1, static_cast<int>(size), CV_8U, const_cast<uint8_t *>(data)); // read only
        pixels = cv::imdecode(buffer, cv::IMREAD_UNCHANGED); // keeps alpha and 16-bit
    } catch (const cv::Exception &e) {
        pixels.release();
        error = e.err;
        return false;
    }
    if (pixels.empty()) {
        error = "the decoder could not read it";
        return false;
    }
    return true;
}

bool probe(const uint8_t *, size_t, int64_t &, int64_t &, std::string &error) {
    error = "this module has no header probe (the engine reads these formats' headers itself)";
    return false;
}

bool encode(const cv::Mat &image, const std::string &format, const EncodeOptions &options,
            const std::vector<uint8_t> &, std::vector<uint8_t> &out, std::string &error) {
    std::vector<int> params;
    if (format == "jpg" || format == "jpeg" || format == "jpe")
        params = {cv::IMWRITE_JPEG_QUALITY, options.quality, cv::IMWRITE_JPEG_PROGRESSIVE, options.progressive ? 1 : 0};
    try {
        if (!cv::imencode("." + format, image, out, params) || out.empty()) {
            error = "the encoder gave no data";
            return false;
        }
    } catch (const cv::Exception &e) {
        error = e.err;
        return false;
    }
    return true;
}

bool can_encode(const std::string &format) { return cv::haveImageWriter("." + format); }

const CodecModuleApi kApi{CodecModuleApi::kVersion, probe, decode, encode, can_encode};

} // namespace
} // namespace batchproc

extern "C" __attribute__((visibility("default"))) const batchproc::CodecModuleApi *batchproc_codec_opencv() {
    return &batchproc::kApi;
}
