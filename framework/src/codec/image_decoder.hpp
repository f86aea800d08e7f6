// Turns a whole image file held in memory into a cv::Mat for the pipeline: JPEG through
// libjpeg directly (exact damage detection, shrink-on-load, CMYK), PNG, WebP (with
// shrink-on-load) and TIFF through batchproc's own codecs (TIFF's in the tiff codec
// module), HEIF/HEIC/AVIF through the heif codec module, the rest through OpenCV's
// imgcodecs in the opencv module (modules are loaded on first use). Then EXIF orientation, and an embedded ICC profile converted to sRGB under
// input.colour: srgb. Errors are sentences a person can act on.
#pragma once

#include "codec/decode_error.hpp"
#include "config/spec.hpp"

#include <opencv2/core.hpp>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace batchproc {

struct DecodedImage {
    cv::Mat pixels;                     // 8U, 16U or 32F; 1, 3 (BGR) or 4 (BGRA) channels
    std::string format;                 // "jpeg", "png", ... (see probe_header)
    int64_t source_width = 0;           // full-resolution size, in the orientation of `pixels`
    int64_t source_height = 0;
    std::vector<std::string> warnings;  // damage tolerated under damaged: warn, and notes
    int scale_denominator = 1;          // pixels is the source reduced 1/d (shrink-on-load)
    bool converted_from_profile = false; // an embedded ICC profile was applied (input.colour: srgb)
    std::vector<uint8_t> icc;           // input.colour: keep: the embedded profile the pixels are still in
    int orientation_applied = 1;        // the EXIF orientation the pixels were turned upright from (1: none)
};

// Decodes a whole file held in memory.
//
// `min_side_hint` > 0 allows shrink-on-load (JPEG and WebP, and only with
// options.shrink_on_load): the image is decoded at 1/d scale, d in {1, 2, 4, 8}, choosing
// the largest d for which the long side of the reduced image, ceil(long_side / d), is still
// >= min_side_hint, and that divides both sides exactly (so that every reduced pixel
// stands for the same d x d block). 0 = full size.
//
// options.max_pixels = 0 means no limit. Throws DecodeError.
DecodedImage decode_image(const uint8_t *data, size_t size, const DecodeOptions &options, int min_side_hint = 0);

// The shrink-on-load denominator (1, 2, 4 or 8) decode_image uses for an image whose long
// side is `long_side`; exposed so the engine and the tests can reason about it.
int shrink_denominator(int64_t long_side, int min_side_hint);

// "268 Mpx" for 268435456; one decimal when the value is small enough to need it
// ("2.1 Mpx", "0.3 Mpx"), more only below 0.1 Mpx ("0.05 Mpx").
std::string format_megapixels(uint64_t pixels);

// Applies an EXIF orientation (1..8) to an image in place, as a viewer would show it.
void apply_exif_orientation(cv::Mat &image, int orientation);

} // namespace batchproc
