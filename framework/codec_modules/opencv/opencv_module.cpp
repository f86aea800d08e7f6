// Codec module "opencv": cv::imdecode / cv::imencode for the formats batchproc has no codec
// of its own for.
#include "codec/codec_module.hpp"

#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgcodecs.hpp>

#include <climits>
#include <iostream>
#include <sstream>

namespace batchproc {
namespace {

// While a codec runs: OpenCV's log (where OpenJPEG's messages go) silenced, and std::cerr
// captured, where imdecode prints the exception a decoder threw before it returns an empty
// image. Nothing reaches the terminal (`-q` means quiet); the text becomes the job's error.
class QuietCodec {
public:
    QuietCodec() : level_(cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT)) {
        old_ = std::cerr.rdbuf(captured_.rdbuf());
    }
    ~QuietCodec() {
        std::cerr.rdbuf(old_);
        cv::utils::logging::setLogLevel(level_);
    }
    QuietCodec(const QuietCodec &) = delete;
    QuietCodec &operator=(const QuietCodec &) = delete;

    // The gist of what was printed: "Unexpected end of input stream" out of "imdecode_(''):
    // can't read data: OpenCV(4.6.0) .../bitstrm.cpp:102: error: (-2:Unspecified error)
    // Unexpected end of input stream in function 'readBlock'"; "" when nothing was.
    std::string gist() const {
        std::string text = captured_.str();
        if (const size_t code = text.find("error: ("); code != std::string::npos)
            if (const size_t close = text.find(") ", code); close != std::string::npos) text = text.substr(close + 2);
        if (const size_t in_function = text.find(" in function"); in_function != std::string::npos)
            text.resize(in_function);
        for (char &c : text)
            if (c == '\n' || c == '\r') c = ' ';
        while (!text.empty() && text.back() == ' ') text.pop_back();
        return text;
    }

private:
    cv::utils::logging::LogLevel level_;
    std::ostringstream captured_;
    std::streambuf *old_;
};

bool decode(const uint8_t *data, size_t size, CodecImage &image, std::string &error) {
    image = CodecImage();
    cv::Mat &pixels = image.pixels;
    if (size > static_cast<size_t>(INT_MAX)) {
        error = "file is too large to decode (over 2 GiB)";
        return false;
    }
    QuietCodec quiet;
    try {
        const cv::Mat buffer(1, static_cast<int>(size), CV_8U, const_cast<uint8_t *>(data)); // read only
        pixels = cv::imdecode(buffer, cv::IMREAD_UNCHANGED); // keeps alpha and 16-bit
    } catch (const cv::Exception &e) {
        pixels.release();
        error = e.err;
        return false;
    }
    if (pixels.empty()) {
        const std::string why = quiet.gist();
        error = why.empty() ? "the decoder could not read it" : "the decoder could not read it: " + why;
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
    QuietCodec quiet;
    try {
        if (!cv::imencode("." + format, image, out, params) || out.empty()) {
            const std::string why = quiet.gist();
            error = why.empty() ? "the encoder gave no data" : "the encoder gave no data: " + why;
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

// Returned as const void *, the type module_table (codec/codec_module.hpp) calls every entry
// through: calling a function through a pointer of another type is undefined behaviour.
extern "C" __attribute__((visibility("default"))) const void *batchproc_codec_opencv() {
    return &batchproc::kApi;
}
