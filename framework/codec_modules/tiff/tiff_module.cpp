// Codec module "tiff": batchproc's TIFF codec (tiff_codec.cpp) behind the module table.
// The engine reads TIFF headers itself (image_header.cpp, without libtiff); the probe here
// is libtiff's view of the same, for callers of the module.
#include "codec/codec_module.hpp"
#include "codec/decode_error.hpp"
#include "tiff_codec.hpp"

#include <opencv2/core.hpp>

#include <new>

namespace batchproc {
namespace {

// No exception may cross the module boundary: the codec's own sentences (DecodeError,
// EncodeError) become the error as they are; anything else says where it came from.
template <typename Body> bool guarded(std::string &error, Body &&body) noexcept {
    try {
        try {
            return body();
        } catch (const std::bad_alloc &) {
            // The words the worker takes for an allocation failure (pool.max_memory).
            error = "out of memory in the tiff codec module (std::bad_alloc)";
        } catch (const DecodeError &e) {
            error = e.what();
        } catch (const EncodeError &e) {
            error = e.what();
        } catch (const cv::Exception &e) {
            error = "internal error in the tiff codec module (OpenCV: " + e.err + ")";
        } catch (const std::exception &e) {
            error = std::string("internal error in the tiff codec module: ") + e.what();
        } catch (...) {
            error = "internal error in the tiff codec module";
        }
    } catch (...) {
        error.clear(); // no memory left even for the sentence
    }
    return false;
}

bool is_tiff(const std::string &format) { return format == "tif" || format == "tiff"; }

bool probe(const uint8_t *data, size_t size, int64_t &width, int64_t &height, std::string &error) noexcept {
    return guarded(error, [&] {
        const TiffSize s = tiff_size(data, size);
        width = s.width;
        height = s.height;
        return true;
    });
}

bool decode(const uint8_t *data, size_t size, CodecImage &image, std::string &error) noexcept {
    return guarded(error, [&] {
        image = decode_tiff(data, size);
        return true;
    });
}

bool encode(const cv::Mat &image, const std::string &format, const EncodeOptions &options,
            const std::vector<uint8_t> &icc, std::vector<uint8_t> &out, std::string &error) noexcept {
    return guarded(error, [&] {
        if (!is_tiff(format)) {
            error = "the tiff codec module writes .tif and .tiff, not ." + format;
            return false;
        }
        out = encode_tiff(image, options, icc);
        return true;
    });
}

bool can_encode(const std::string &format) noexcept { return is_tiff(format); }

const CodecModuleApi kApi{CodecModuleApi::kVersion, probe, decode, encode, can_encode};

} // namespace
} // namespace batchproc

// Returned as const void *, the type module_table (codec/codec_module.hpp) calls every entry
// through: calling a function through a pointer of another type is undefined behaviour.
extern "C" __attribute__((visibility("default"))) const void *batchproc_codec_tiff() {
    return &batchproc::kApi;
}
