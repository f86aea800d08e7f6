// Fuzz target: the header probe (codec/image_header.hpp): sniff_format, probe_header and
// the EXIF orientation readers, on a whole file as input.
//
// None of them may throw (HEIF and AVIF sizes come from the heif codec module, whose only
// documented failure is CodecModuleError when it cannot be loaded); beyond memory errors,
// the checks are the header's own promises: probe_header agrees with sniff_format, and an
// orientation is always 1..8.
#include "codec/codec_module.hpp"
#include "codec/image_header.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <optional>
#include <string>

namespace {

void check(bool ok, const char *what) {
    if (ok) return;
    std::fprintf(stderr, "fuzz_header: %s\n", what);
    std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    using namespace batchproc;
    const std::string format = sniff_format(data, size);
    try {
        const std::optional<ImageHeader> header = probe_header(data, size);
        check(!header || header->format == format, "probe_header's format differs from sniff_format's");
        check(!header || !format.empty(), "probe_header found a size in data of no known format");
    } catch (const CodecModuleError &) {
    }
    const int orientation = exif_orientation(data, size);
    check(orientation >= 1 && orientation <= 8, "exif_orientation out of 1..8");
    const int tiff = tiff_block_orientation(data, size);
    check(tiff >= 1 && tiff <= 8, "tiff_block_orientation out of 1..8");
    if (!format.empty()) check(!format_display_name(format).empty(), "empty display name");
    return 0;
}
