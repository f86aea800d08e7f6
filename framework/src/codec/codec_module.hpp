// Codecs whose libraries are heavy to load (libheif with its HEVC and AV1 codecs, OpenCV's
// imgcodecs with its 140-library tree) live in small shared modules that the engine loads
// on first use, so that a run which never meets such a format never pays for them.
//
// A module is "<codec dir>/batchproc_codec_<name>.so" exporting one C symbol,
// `batchproc_codec_<name>`, a function `const void *()` (the type the loader calls it
// through) returning a pointer to its CodecModuleApi. Both sides are built together (same
// compiler, same libstdc++), so the table may use C++ types; no exception crosses it: every
// function reports failure by returning false and filling `error` with a sentence. The
// metadata module (codec/metadata_module.hpp) is loaded the same way, from the same folder.
#pragma once

#include "codec/codec_image.hpp"
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
    static constexpr uint32_t kVersion = 2;
    uint32_t version; // kVersion of the module's build
    // The size of the image a file holds, without decoding it (width and height as the
    // decoded pixels will be, after any transformation the format itself carries).
    bool (*probe)(const uint8_t *data, size_t size, int64_t &width, int64_t &height, std::string &error);
    // Decodes a whole file: pixels (8U or 16U; 1, 3 (BGR) or 4 (BGRA) channels), the
    // embedded ICC profile, if any (empty otherwise), and notes for the report (pages
    // skipped...).
    bool (*decode)(const uint8_t *data, size_t size, CodecImage &image, std::string &error);
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

// The folder the modules are installed in: <install root>/lib/batchproc/codecs (as the
// bundled plugins are; io/install_root.hpp).
std::filesystem::path codec_module_dir();

// The module `name` ("heif", "opencv", "tiff"), loaded on the first call (thread-safe;
// never unloaded). Throws CodecModuleError naming the file when it is missing or not a
// module of this build.
const CodecModuleApi &codec_module(const std::string &name);

// What codec_module and metadata_module share: the table the entry function `stem` of
// "<codec dir>/<stem>.so" returns, loaded on the first call for that stem (thread-safe;
// never unloaded); every table starts with its uint32_t version, which must be `version`.
// `what` names the module in errors ("the tiff codec module"). Throws CodecModuleError.
const void *module_table(const std::string &stem, uint32_t version, const std::string &what);

} // namespace batchproc
