// Fuzz target: the image decoder (codec/image_decoder.hpp), every format: JPEG, PNG and WebP
// in the engine, TIFF, HEIF/AVIF and the rest (BMP, PNM, GIF...) through the codec modules in
// <build>/lib/batchproc/codecs. The input is a whole image file, as read from disk.
//
// The decode options are chosen from a hash of the input, so that each input always decodes
// the same way (a reproducer reproduces) while the corpus covers them all: input.colour
// (srgb, keep, ignore), shrink-on-load (a hint of 0 or 16 pixels) and EXIF orientation on or
// off. An input that fails under input.damaged: error is decoded again under warn, the
// tolerant paths. The size limits are small (4 Mpx, 64 MiB) so that legitimately large
// images are refused before they reach libFuzzer's memory limit.
//
// Documented failures: DecodeError, and CodecModuleError (a module that cannot be loaded).
// Anything else escaping (cv::Exception, std::bad_alloc...), a crash, a sanitizer report, a
// hang or a huge allocation is a finding. A decoded image must be what DecodedImage promises.
#include "codec/codec_module.hpp"
#include "codec/image_decoder.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace {

void check(bool ok, const char *what) {
    if (ok) return;
    std::fprintf(stderr, "fuzz_decode: %s\n", what);
    std::abort();
}

uint32_t fnv1a(const uint8_t *data, size_t size) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 16777619u;
    return h;
}

// Decodes and checks the result; throws what decode_image throws.
void decode(const uint8_t *data, size_t size, const batchproc::DecodeOptions &options, int hint) {
    const batchproc::DecodedImage image = batchproc::decode_image(data, size, options, hint);
    const cv::Mat &p = image.pixels;
    check(!p.empty() && p.cols > 0 && p.rows > 0, "decoded an empty image");
    check(p.channels() == 1 || p.channels() == 3 || p.channels() == 4, "decoded image has 2 or over 4 channels");
    check(p.depth() == CV_8U || p.depth() == CV_16U || p.depth() == CV_32F, "decoded image is not 8U, 16U or 32F");
    check(uint64_t(p.total()) <= options.max_pixels, "decoded image is over max_pixels");
    check(image.source_width > 0 && image.source_height > 0, "decoded image has no source size");
    check(image.scale_denominator == 1 || image.scale_denominator == 2 || image.scale_denominator == 4 ||
              image.scale_denominator == 8,
          "scale_denominator not 1, 2, 4 or 8");
    check(image.orientation_applied >= 1 && image.orientation_applied <= 8, "orientation_applied out of 1..8");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    using namespace batchproc;
    const uint32_t h = fnv1a(data, size);
    DecodeOptions options;
    options.max_pixels = 4u << 20;
    options.max_decoded = 64u << 20;
    options.colour = h % 3 == 0 ? ColourPolicy::srgb : h % 3 == 1 ? ColourPolicy::keep : ColourPolicy::ignore;
    options.exif_orientation = (h >> 4) % 4 != 0;
    options.shrink_on_load = true;
    const int hint = (h >> 8) % 2 == 0 ? 0 : 16;
    options.damaged = DamagedPolicy::error;
    try {
        decode(data, size, options, hint);
        return 0;
    } catch (const DecodeError &) {
    } catch (const CodecModuleError &) {
        return 0;
    }
    options.damaged = DamagedPolicy::warn;
    try {
        decode(data, size, options, hint);
    } catch (const DecodeError &) {
    } catch (const CodecModuleError &) {
    }
    return 0;
}
