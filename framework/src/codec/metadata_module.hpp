// The exiv2 side of metadata.hpp, in a module loaded on first use: exiv2 and its libexpat
// cost every process about 1.2 ms to load, and only runs that copy metadata
// (output.metadata: keep, or an ICC profile an encoder cannot embed itself) need it.
//
// The module is "<codec dir>/batchproc_metadata.so" (codec_module_dir(), beside the codec
// modules), exporting one C symbol, `batchproc_metadata`, a function `const void *()`
// returning a pointer to its MetadataModuleApi. As with CodecModuleApi, both sides are
// built together, so the table may use C++ types; no exception crosses it.
#pragma once

#include "codec/metadata.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace batchproc {

struct MetadataModuleApi {
    static constexpr uint32_t kVersion = 1;
    uint32_t version; // kVersion of the module's build
    // The EXIF, XMP and IPTC of a whole image file: a handle to them (give it back to
    // `release`), or null when they cannot be read, with why in `warning`.
    void *(*read)(const uint8_t *data, size_t size, std::string &warning);
    // Whether what `read` found holds nothing.
    bool (*empty)(const void *metadata);
    void (*release)(void *metadata);
    // The ICC profile embedded in a whole image file; empty when there is none or the
    // file's metadata cannot be read.
    void (*embedded_icc_profile)(const uint8_t *data, size_t size, std::vector<uint8_t> &icc);
    // The encoded output with `plan` applied; `source` is the handle `read` gave for
    // plan.source (null: copy none). False with a sentence in `error` on failure.
    bool (*apply)(const uint8_t *encoded, size_t size, const void *source, const MetadataPlan &plan,
                  std::vector<uint8_t> &out, std::string &error);
};

// The metadata module, loaded on the first call (thread-safe; never unloaded). Throws
// CodecModuleError naming the file when it is missing or not a module of this build.
const MetadataModuleApi &metadata_module();

} // namespace batchproc
