// Test fixtures with metadata: an encoded image rewritten by exiv2 (EXIF, XMP, IPTC, ICC set
// by the caller), made independently of batchproc's own metadata code.
#pragma once

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations" // exiv2 0.27 hands out std::auto_ptr
#include <exiv2/exiv2.hpp>
#pragma GCC diagnostic pop

#include <cstdint>
#include <functional>
#include <vector>

namespace batchproc::test {

// `encoded` after `edit` changed its metadata and exiv2 wrote it back.
std::vector<uint8_t> edit_metadata(const std::vector<uint8_t> &encoded, const std::function<void(Exiv2::Image &)> &edit);

} // namespace batchproc::test
