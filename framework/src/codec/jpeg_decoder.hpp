// JPEG decoding through libjpeg directly: exact damage detection (a corrupt-data warning
// is damage, not noise), shrink-on-load by 1/2, 1/4 or 1/8, a limit on progressive scans,
// CMYK (Adobe-inverted or plain, through its profile when it has one).
#pragma once

#include "codec/image_decoder.hpp"
#include "codec/image_header.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace batchproc {

// Decodes a whole JPEG in memory whose header is `header`, at reduced scale when
// `min_side_hint` and options.shrink_on_load allow it (see decode_image). A CMYK image
// comes out as sRGB BGR; for any other, the embedded ICC profile (empty when none) is left
// in `profile` for the caller to apply under input.colour. Throws DecodeError.
DecodedImage decode_jpeg(const uint8_t *data, size_t size, const ImageHeader &header, const DecodeOptions &options,
                         int min_side_hint, std::vector<uint8_t> &profile);

} // namespace batchproc
