// Codecs whose libraries are heavy to load (libheif with its HEVC and AV1 codecs, OpenCV's
// imgcodecs with its 140-library tree) live in small shared modules that the engine loads
// on first use, so that a run which never meets such a format never pays for them.
//
// A module is "<codec dir>/batchproc_codec_<name>.so" exporting one C symbol,
// `batchproc_codec_<name>`, a function returning a pointer to its CodecModuleApi. Both
// sides are built together (same compiler, same libstdc++), so the table may use C++
// types; no exception crosses it: every function reports failure by returning false and
// filling `error` with a sentence.
#pragma once

#include "codec/encode_options.hpp"

#include <opencv2/core.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace batchproc {

struct CodecModuleApi {
    static constexpr uint32_t kVersion = 1;
    uint32_t version; // kVersion of the module's build
    // The size of the image a file holds, without decoding it (width and height as the
    // decoded pixels will be, after any transformation the format itself carries).
    bool (*probe)(const uint8_t *data, size_t size, int64_t &width, int64_t &height, std::string &error);
    // Decodes a whole file: pixels (8U or 16U; 1, 3 (BGR) or 4 (BGRA) channels) and the
    // embedded ICC profile, if any (empty otherwise).
    bool (*decode)(const uint8_t *data, size_t size, cv::Mat &pixels, std::vector<uint8_t> &icc, std::string &error);
    // Encodes `image` (8U or 16U; 1, 3 or 4 channels) as `format` (an extension: "avif",
    // "bmp", ...), embedding `icc` when it is not empty and the format can hold it.
    bool (*encode)(const cv::Mat &image, const std::string &format, const EncodeOptions &options,
                   const std::vector<uint8_t> &icc, std::vector<uint8_t> &out, std::string &error);
    // Whether the module writes `format`.
    bool (*can_encode)(const std::string &format);
};

class CodecModuleError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The folder the modules are installed in: <prefix>/lib/batchproc/codecs, found from the
// running executable (as the bundled plugins are).
std::filesystem::path codec_module_dir();

// The module `name` ("heif", "opencv"), loaded on the first call (thread-safe; never
// unloaded). Throws CodecModuleError naming the file when it is missing or not a module of
// this build.
const CodecModuleApi &codec_module(const std::string &name);

} // namespace batchproc
