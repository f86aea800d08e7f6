#include "codec/image_encoder.hpp"

#include "codec/alpha_blend.hpp"
#include "codec/codec_module.hpp"
#include "codec/jpeg_encoder.hpp"
#include "codec/png_codec.hpp"
#include "codec/webp_codec.hpp"

#include <opencv2/core.hpp>

namespace batchproc {

namespace {

enum class Writer { jpeg, png, webp, tiff, heif, opencv };

Writer writer_for(const std::string &format) {
    if (format == "jpg" || format == "jpeg" || format == "jpe") return Writer::jpeg;
    if (format == "png") return Writer::png;
    if (format == "webp") return Writer::webp;
    if (format == "tif" || format == "tiff") return Writer::tiff;
    if (format == "avif" || format == "heic" || format == "heif") return Writer::heif;
    return Writer::opencv;
}

// What a format holds, so that the image is made to fit it first.
struct Holds {
    bool alpha = false; // a 4th channel
    bool deep = false;  // 16-bit samples
};

Holds holds(Writer writer, const std::string &format) {
    switch (writer) {
    case Writer::png:
    case Writer::tiff: return {true, true};
    case Writer::webp:
    case Writer::heif: return {true, false};
    case Writer::jpeg: return {false, false};
    case Writer::opencv: break;
    }
    if (format == "bmp" || format == "dib") return {false, false};
    return {false, true}; // pgm, ppm, jp2, exr...: no alpha; depth is left to the encoder
}

cv::Mat to_8bit(const cv::Mat &image) {
    if (image.depth() != CV_16U) return image;
    cv::Mat out;
    image.convertTo(out, CV_8U, 1.0 / 257.0);
    return out;
}

} // namespace

bool can_encode(const std::string &format) {
    switch (writer_for(format)) {
    case Writer::jpeg:
    case Writer::png:
    case Writer::webp:
    case Writer::tiff: return true; // libtiff writes every TIFF; the module is loaded to write one
    case Writer::heif: return codec_module("heif").can_encode(format);
    case Writer::opencv: return codec_module("opencv").can_encode(format);
    }
    return false;
}

std::vector<std::string> writable_formats() {
    std::vector<std::string> formats;
    for (const char *f : {"jpg", "png", "webp", "tiff", "avif", "heic", "bmp", "pbm", "pgm", "ppm", "pnm", "pfm",
                          "sr", "ras", "jp2", "hdr", "exr"}) {
        try {
            if (can_encode(f)) formats.emplace_back(f);
        } catch (const CodecModuleError &) {
        }
    }
    return formats;
}

EncodedImage encode_image(const cv::Mat &input, const std::string &format, const EncodeOptions &options,
                          const std::vector<uint8_t> &icc) {
    const Writer writer = writer_for(format);
    const Holds fit = holds(writer, format);
    cv::Mat image = input;
    // The JPEG encoder blends 8-bit BGRA row by row as it encodes (no 3-channel copy).
    const bool blends_rows = writer == Writer::jpeg && image.depth() == CV_8U;
    if (image.channels() == 4 && !fit.alpha && !blends_rows) image = flatten_alpha(image, options.background);
    if (image.depth() == CV_16U && !fit.deep) image = to_8bit(image);

    EncodedImage out;
    out.width = image.cols;
    out.height = image.rows;
    switch (writer) {
    case Writer::jpeg: out.bytes = encode_jpeg(image, options, icc); break;
    case Writer::png: out.bytes = encode_png(image, options, icc); break;
    case Writer::webp: {
        cv::Mat colour = image;
        if (colour.channels() == 1) cv::merge(std::vector<cv::Mat>{image, image, image}, colour);
        out.bytes = encode_webp(colour, options, icc);
        break;
    }
    case Writer::tiff:
    case Writer::heif:
    case Writer::opencv: {
        const CodecModuleApi &module =
            codec_module(writer == Writer::tiff ? "tiff" : writer == Writer::heif ? "heif" : "opencv");
        std::string error;
        // The TIFF codec's sentences name TIFF already.
        if (!module.encode(image, format, options, icc, out.bytes, error))
            throw EncodeError(writer == Writer::tiff ? error : "could not encode the image as ." + format + ": " + error);
        break;
    }
    }
    if (out.bytes.empty()) throw EncodeError("could not encode the image as ." + format + ": the encoder gave no data");
    return out;
}

} // namespace batchproc
