// WebP through libwebp directly (decode, encode, and mux/demux for the ICC profile).
// Decoding gives the pixels cv::imdecode(IMREAD_UNCHANGED) gives (OpenCV 4.6 calls the same
// libwebp with the same defaults): BGR, or BGRA when the file has alpha.
#pragma once

#include "codec/codec_image.hpp"
#include "codec/encode_options.hpp"
#include "codec/image_decoder.hpp" // DecodeError, shrink_denominator

#include <opencv2/core.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace batchproc {

// Decodes a whole WebP file held in memory; its ICCP chunk goes to `icc`.
//
// `min_side_hint` > 0 allows a reduced decode (libwebp scales while decoding): d is the
// largest of 2, 4, 8 that divides both sides exactly and leaves the long side at least
// `min_side_hint` (shrink_denominator's rule), else 1; d goes to scale_denominator.
//
// An animated WebP gives its first frame, composed on its canvas, at full size, with a note
// in `warnings` (OpenCV 4.6 cannot read animated WebP at all). Throws DecodeError.
CodecImage decode_webp(const uint8_t *data, size_t size, int min_side_hint);

// `image`: 8-bit, 1 (gray, written as BGR), 3 (BGR) or 4 (BGRA) channels; 16-bit images
// must be converted by the caller. Lossy at options.quality (1..100) with the settings of
// cv::imencode(".webp", image, {IMWRITE_WEBP_QUALITY, quality}), so the same bytes;
// options.lossless: the bytes cv::imencode writes for quality > 100. `icc`, when not
// empty, goes into an ICCP chunk. Throws EncodeError.
std::vector<uint8_t> encode_webp(const cv::Mat &image, const EncodeOptions &options, const std::vector<uint8_t> &icc);

} // namespace batchproc
