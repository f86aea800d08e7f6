// What of an input's metadata an output carries (output.metadata, output.strip_gps, and the
// ICC profile under input.colour: keep), through exiv2. The host applies it to the encoded
// output a stage hands over, whatever the stage and the format, before writing it.
//
// exiv2 lives in the metadata module (lib/batchproc/codecs/batchproc_metadata.so, see
// codec/metadata_module.hpp), loaded by the first call of a function below: each throws
// CodecModuleError naming that file when it cannot be loaded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace batchproc {

struct MetadataPlan;

// The input's EXIF, XMP and IPTC, read once per job. Opaque: exiv2 stays in the module.
class SourceMetadata {
public:
    SourceMetadata();
    ~SourceMetadata();
    SourceMetadata(SourceMetadata &&) noexcept;
    SourceMetadata &operator=(SourceMetadata &&) noexcept;

    // Reads the metadata of a whole image file in memory; a format exiv2 cannot read, or
    // damaged metadata, gives empty metadata and a note in `warning`.
    static SourceMetadata read(const uint8_t *data, size_t size, std::string &warning);
    bool empty() const;

private:
    friend std::vector<uint8_t> apply_metadata(const void *, size_t, const MetadataPlan &);
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

struct MetadataPlan {
    const SourceMetadata *source = nullptr; // EXIF, XMP and IPTC to copy (null: none)
    std::vector<uint8_t> icc;               // the profile to embed (empty: none)
    bool reset_orientation = false;         // the pixels were turned upright: Orientation = 1
    bool strip_gps = false;                 // drop Exif.GPSInfo.* and the XMP GPS properties
    int width = 0, height = 0;              // the output's size, for the dimension tags
};

// The ICC profile embedded in a whole image file in memory, as exiv2 finds it (PNG iCCP is
// tested; JPEG is read by the JPEG decoder itself), empty when there is none or the file's
// metadata cannot be read.
std::vector<uint8_t> embedded_icc_profile(const uint8_t *data, size_t size);

// The encoded output with the plan's metadata in it (the EXIF thumbnail is always dropped:
// it would show the original). Throws std::runtime_error naming what failed; a format that
// cannot carry metadata (BMP) is one.
std::vector<uint8_t> apply_metadata(const void *encoded, size_t size, const MetadataPlan &plan);

} // namespace batchproc
