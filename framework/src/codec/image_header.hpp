// Cheap, bounds-checked inspection of an image file's first bytes: which format it is and
// how large the image is, without decoding any pixels. Used to refuse oversized images
// before a decoder allocates anything, and to read EXIF orientation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace batchproc {

struct ImageHeader {
    std::string format; // "jpeg", "png", "webp", "tiff", "bmp", "gif", "pnm", "pfm", "hdr", "exr", "jp2", "ras",
                        // "heif", "avif"
    int64_t width = 0;  // as stored in the file (before any EXIF orientation)
    int64_t height = 0;
};

// The format named by the file's signature (magic bytes), or "" when none matches.
// Succeeds on headers too short to hold the image size.
std::string sniff_format(const uint8_t *data, size_t size);

// The format and stored size of the image, or nullopt when the data is not a recognised
// format or ends (or is malformed) before the size. Never reads outside [data, data+size).
// The size is returned as written: it may be zero or absurd; judging it is the caller's job.
std::optional<ImageHeader> probe_header(const uint8_t *data, size_t size);

// The EXIF orientation (1..8) stored in a JPEG (APP1 "Exif"), PNG (eXIf chunk) or WebP
// (EXIF chunk) file; 1 when there is none, it is malformed or out of range.
int exif_orientation(const uint8_t *data, size_t size);

// The orientation tag (0x0112) of IFD0 of a TIFF-structured block ("II*\0" or "MM\0*"), as
// found inside EXIF data; 1 when absent, malformed or out of range.
int tiff_block_orientation(const uint8_t *data, size_t size);

// A printable name for a format id from sniff_format ("jpeg" -> "JPEG", "webp" -> "WebP").
std::string format_display_name(const std::string &format);

} // namespace batchproc
