#include "codec/png_codec.hpp"

#include <opencv2/imgproc.hpp>

#include <spng.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

namespace batchproc {

namespace {

// Ancillary chunks (text, profiles, EXIF) are kept in memory after inflating; a file
// whose metadata inflates past this is a decompression bomb, not a photograph.
constexpr size_t kChunkCacheLimit = size_t(64) << 20;

struct SpngFree {
    void operator()(spng_ctx *ctx) const { spng_ctx_free(ctx); }
};
using SpngContext = std::unique_ptr<spng_ctx, SpngFree>;

struct MallocFree {
    void operator()(void *p) const { std::free(p); }
};

// ---- Naming the damage -------------------------------------------------------------------

uint32_t crc32_of(const uint8_t *data, size_t size) {
    static const std::array<uint32_t, 256> table = [] {
        std::array<uint32_t, 256> t{};
        for (uint32_t n = 0; n < 256; ++n) {
            uint32_t c = n;
            for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[n] = c;
        }
        return t;
    }();
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < size; ++i) c = table[(c ^ data[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

uint32_t be32(const uint8_t *p) {
    return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}

// libspng says only that "a" checksum failed; the chunk's name tells a person more (a bad
// IDAT is damaged pixels, a bad tEXt only damaged metadata). Run on the error path only.
std::string chunk_with_bad_crc(const uint8_t *data, size_t size) {
    size_t pos = 8;
    while (size - pos >= 12) {
        const uint32_t len = be32(data + pos);
        if (len > size - pos - 12) break;
        if (crc32_of(data + pos + 4, size_t(len) + 4) != be32(data + pos + 8 + len))
            return std::string(reinterpret_cast<const char *>(data + pos + 4), 4);
        pos += size_t(len) + 12;
    }
    return "";
}

std::string describe(int error, const uint8_t *data, size_t size) {
    switch (error) {
    case SPNG_ESIGNATURE: return "damaged PNG file: it does not start with the PNG signature";
    case SPNG_IO_EOF:
    case SPNG_EOF:
    case SPNG_EIDAT_TOO_SHORT: return "truncated PNG file: the data ends before the image is complete";
    case SPNG_ECHUNK_CRC: {
        const std::string chunk = chunk_with_bad_crc(data, size);
        return "damaged PNG file: CRC error in " + (chunk.empty() ? std::string("a chunk") : "chunk " + chunk);
    }
    case SPNG_EZLIB:
    case SPNG_EIDAT_STREAM:
    case SPNG_EFILTER:
        return std::string("damaged PNG file: the compressed image data is corrupt (") + spng_strerror(error) + ")";
    case SPNG_EMEM: return "not enough memory to decode this PNG file";
    case SPNG_ECHUNK_LIMITS:
        return "damaged PNG file: its metadata chunks take more than " + std::to_string(kChunkCacheLimit >> 20) +
               " MiB (refused as a likely decompression bomb)";
    default: return std::string("damaged PNG file: ") + spng_strerror(error);
    }
}

// ---- Decoding ----------------------------------------------------------------------------

struct Attempt {
    CodecImage image;
    int error = 0;         // 0: decoded completely
    bool in_image = false; // the error came while decoding rows (pixels may be salvaged)
    bool interlaced = false;
    bool swap_red = false;     // the pixels are still RGB(A)
    uint32_t rows_done = 0;    // rows complete before the error (interlaced: 0 or all)
    uint32_t rows_written = 0; // calls that wrote pixels (interlaced: a row per pass)
    uint32_t height = 0;
};

bool is_truncation(int error) { return error == SPNG_IO_EOF || error == SPNG_EOF || error == SPNG_EIDAT_TOO_SHORT; }

std::string describe(const Attempt &a, const uint8_t *data, size_t size) {
    if (is_truncation(a.error) && a.height > 0 && a.rows_done == a.height)
        return "truncated PNG file: it ends after the image data, before its IEND chunk";
    return describe(a.error, data, size);
}

// How libspng is to convert the file so that the result is what OpenCV's libpng reader gives.
struct OutputPlan {
    int fmt;
    int flags;
    int type;      // cv::Mat type
    bool swap_red; // RGB(A) -> BGR(A)
};

OutputPlan plan_output(spng_ctx *ctx, const spng_ihdr &ihdr) {
    const bool deep = ihdr.bit_depth == 16;
    const int depth = deep ? CV_16U : CV_8U;
    spng_trns trns{};
    const bool has_trns = spng_get_trns(ctx, &trns) == 0;
    switch (ihdr.color_type) {
    case SPNG_COLOR_TYPE_GRAYSCALE:
        // OpenCV ignores tRNS on gray images (one channel, no alpha).
        if (deep) return {SPNG_FMT_PNG, 0, CV_16UC1, false};
        return {SPNG_FMT_G8, 0, CV_8UC1, false}; // 1/2/4-bit scaled to 0..255, as libpng's expand
    case SPNG_COLOR_TYPE_GRAYSCALE_ALPHA:
        // Gray copied into R, G and B: no channel swap needed.
        return {deep ? SPNG_FMT_RGBA16 : SPNG_FMT_RGBA8, 0, CV_MAKETYPE(depth, 4), false};
    case SPNG_COLOR_TYPE_INDEXED:
        // Any tRNS chunk makes OpenCV return four channels, even one that leaves every entry opaque.
        if (has_trns && trns.n_type3_entries > 0) return {SPNG_FMT_RGBA8, SPNG_DECODE_TRNS, CV_8UC4, true};
        return {SPNG_FMT_RGB8, 0, CV_8UC3, true};
    case SPNG_COLOR_TYPE_TRUECOLOR:
        // A tRNS colour key becomes an alpha channel (0 for that colour, opaque elsewhere).
        if (has_trns) return {deep ? SPNG_FMT_RGBA16 : SPNG_FMT_RGBA8, SPNG_DECODE_TRNS, CV_MAKETYPE(depth, 4), true};
        return {SPNG_FMT_PNG, 0, CV_MAKETYPE(depth, 3), true};
    default: // truecolor + alpha
        return {SPNG_FMT_PNG, 0, CV_MAKETYPE(depth, 4), true};
    }
}

// libspng stops at the IEND chunk's name without reading its CRC: a file cut inside those
// last four bytes (or with them damaged) would pass for whole.
int check_iend(const uint8_t *data, size_t size, bool ignore_crc) {
    size_t pos = 8;
    while (size - pos >= 8) {
        const uint32_t len = be32(data + pos);
        if (std::memcmp(data + pos + 4, "IEND", 4) == 0) {
            if (size - pos < 12) return SPNG_EOF;
            static const uint8_t crc[4] = {0xAE, 0x42, 0x60, 0x82}; // IEND is always empty
            return ignore_crc || std::memcmp(data + pos + 8, crc, 4) == 0 ? 0 : SPNG_ECHUNK_CRC;
        }
        if (len > size - pos - 8) break;
        pos += size_t(len) + 12;
        if (pos > size) break;
    }
    return SPNG_EOF;
}

// Deflate compresses at most 1032:1, so a file smaller than its scanlines / 1032 cannot
// hold them: refuse it before allocating what its header claims (a header bomb, or a file
// cut short to a fraction).
bool cannot_hold(size_t file_size, const spng_ihdr &ihdr) {
    static const int samples[7] = {1, 0, 3, 1, 2, 0, 4}; // by colour type
    const uint64_t bits = uint64_t(ihdr.width) * samples[ihdr.color_type % 7] * ihdr.bit_depth;
    const uint64_t scanlines = uint64_t(ihdr.height) * (1 + (bits + 7) / 8);
    return scanlines / 1032 > file_size;
}

Attempt attempt_decode(const uint8_t *data, size_t size, bool ignore_crc) {
    Attempt a;
    SpngContext ctx(spng_ctx_new(0));
    if (!ctx) {
        a.error = SPNG_EMEM;
        return a;
    }
    spng_ctx *c = ctx.get();
    // Strict: a bad checksum anywhere is damage. Tolerant: ignore it in the pixels, drop the
    // metadata chunk it is in.
    spng_set_crc_action(c, ignore_crc ? SPNG_CRC_USE : SPNG_CRC_ERROR, ignore_crc ? SPNG_CRC_DISCARD : SPNG_CRC_ERROR);
    spng_set_chunk_limits(c, 0xFFFFFFFFu, kChunkCacheLimit);
    if ((a.error = spng_set_png_buffer(c, data, size)) != 0) return a;

    spng_ihdr ihdr{};
    if ((a.error = spng_get_ihdr(c, &ihdr)) != 0) return a;
    // Everything up to the image data now, so that damage there is reported as such.
    if ((a.error = spng_decode_chunks(c)) != 0) return a;
    if (cannot_hold(size, ihdr)) {
        a.error = SPNG_EOF;
        return a;
    }
    const OutputPlan plan = plan_output(c, ihdr);

    spng_iccp iccp{};
    if (spng_get_iccp(c, &iccp) == 0 && iccp.profile != nullptr)
        a.image.icc.assign(reinterpret_cast<const uint8_t *>(iccp.profile),
                           reinterpret_cast<const uint8_t *>(iccp.profile) + iccp.profile_len);

    size_t total = 0;
    if ((a.error = spng_decoded_image_size(c, plan.fmt, &total)) != 0) return a;
    cv::Mat &pixels = a.image.pixels;
    a.interlaced = ihdr.interlace_method != SPNG_INTERLACE_NONE;
    a.swap_red = plan.swap_red;
    a.height = ihdr.height;
    try {
        // Interlaced passes write scattered pixels: start from black so that a partial
        // decode shows nothing undefined.
        if (a.interlaced)
            pixels = cv::Mat::zeros(int(ihdr.height), int(ihdr.width), plan.type);
        else
            pixels.create(int(ihdr.height), int(ihdr.width), plan.type);
    } catch (const cv::Exception &) {
        a.error = SPNG_EMEM;
        return a;
    }
    const size_t row_bytes = pixels.cols * pixels.elemSize();
    if (total != row_bytes * size_t(pixels.rows) || !pixels.isContinuous()) {
        a.error = SPNG_EINTERNAL;
        return a;
    }

    if ((a.error = spng_decode_image(c, nullptr, 0, plan.fmt, plan.flags | SPNG_DECODE_PROGRESSIVE)) != 0) return a;
    a.in_image = true;
    for (;;) {
        spng_row_info info{};
        int err = spng_get_row_info(c, &info);
        if (err == 0) err = spng_decode_row(c, pixels.ptr(int(info.row_num)), row_bytes);
        if (err == SPNG_EOI) break;
        if (err != 0) {
            a.error = err;
            return a;
        }
        ++a.rows_written;
        if (!a.interlaced) a.rows_done = info.row_num + 1;
    }
    a.rows_done = ihdr.height;
    a.in_image = false;
    // The chunks after the image data: their checksums count too.
    a.error = spng_decode_chunks(c);
    if (a.error == 0) a.error = check_iend(data, size, ignore_crc);
    return a;
}

// A file cut short inside its image data, made whole enough for libspng to decode the
// rows it holds: libspng reads a chunk in one piece, and a cut IDAT chunk would give
// nothing. The last chunk is shortened to what is there (its CRC is wrong, so this is
// decoded ignoring checksums) and an IEND is added. Empty when the cut is elsewhere.
std::vector<uint8_t> mend_truncated(const uint8_t *data, size_t size) {
    size_t pos = 8;
    while (size - pos >= 12) {
        const uint32_t len = be32(data + pos);
        if (len > size - pos - 12) break;
        pos += size_t(len) + 12;
    }
    if (size - pos < 8 || std::memcmp(data + pos + 4, "IDAT", 4) != 0) return {};
    const uint32_t available = uint32_t(std::min<size_t>(be32(data + pos), size - pos - 8));
    std::vector<uint8_t> mended(data, data + pos + 8 + available);
    for (int i = 0; i < 4; ++i) mended[pos + size_t(i)] = uint8_t(available >> (24 - 8 * i));
    static const uint8_t tail[] = {0, 0, 0, 0, // the IDAT's (wrong) CRC
                                   0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
    mended.insert(mended.end(), std::begin(tail), std::end(tail));
    return mended;
}

// The pixels in OpenCV's order, black below the last row decoded.
CodecImage finish(Attempt &a) {
    cv::Mat &pixels = a.image.pixels;
    if (a.rows_done < a.height && !a.interlaced) pixels.rowRange(int(a.rows_done), pixels.rows).setTo(0);
    if (a.swap_red) cv::cvtColor(pixels, pixels, pixels.channels() == 3 ? cv::COLOR_RGB2BGR : cv::COLOR_RGBA2BGRA);
    return std::move(a.image);
}

// ---- Encoding ----------------------------------------------------------------------------

void check_encodable(const cv::Mat &image, const EncodeOptions &options) {
    if (image.empty()) throw EncodeError("cannot write an empty image as PNG");
    if (image.depth() != CV_8U && image.depth() != CV_16U)
        throw EncodeError("PNG holds 8-bit or 16-bit samples; convert this image's pixels first");
    const int channels = image.channels();
    if (channels != 1 && channels != 3 && channels != 4)
        throw EncodeError("PNG can be written from 1, 3 or 4 channels, not " + std::to_string(channels));
    if (options.png_compression < 0 || options.png_compression > 9)
        throw EncodeError("PNG compression must be a zlib level from 0 to 9, not " +
                          std::to_string(options.png_compression));
}

} // namespace

CodecImage decode_png(const uint8_t *data, size_t size, bool tolerate_damage) {
    if (data == nullptr || size == 0) throw DecodeError("empty PNG file");
    static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (std::memcmp(data, signature, std::min<size_t>(size, 8)) != 0)
        throw DecodeError(describe(SPNG_ESIGNATURE, data, size));
    Attempt first = attempt_decode(data, size, false);
    if (first.error == 0) return finish(first);
    const std::string damage = describe(first, data, size);
    if (!tolerate_damage) throw DecodeError(damage);

    std::vector<std::string> warnings;
    Attempt used = std::move(first);
    if (used.error == SPNG_ECHUNK_CRC) {
        used = attempt_decode(data, size, true);
        warnings.push_back(damage + "; decoded ignoring checksums");
        if (used.error != 0) warnings.push_back(describe(used, data, size));
    } else {
        warnings.push_back(damage);
    }
    if (is_truncation(used.error) && used.rows_done < used.height) {
        const std::vector<uint8_t> mended = mend_truncated(data, size);
        if (!mended.empty()) {
            Attempt salvaged = attempt_decode(mended.data(), mended.size(), true);
            if (salvaged.rows_written > used.rows_written) used = std::move(salvaged);
        }
    }
    if (used.error != 0) {
        const bool complete = used.rows_done == used.height && used.height > 0; // damage after the pixels
        if (!complete && (!used.in_image || used.rows_written == 0)) throw DecodeError(warnings.back());
        if (!complete)
            warnings.back() += used.interlaced
                                   ? "; the interlaced image is incomplete (missing pixels are black)"
                                   : "; only the first " + std::to_string(used.rows_done) + " of " +
                                         std::to_string(used.height) + " rows could be decoded (the rest are black)";
    }
    CodecImage image = finish(used);
    image.warnings = std::move(warnings);
    return image;
}

std::vector<uint8_t> encode_png(const cv::Mat &image, const EncodeOptions &options, const std::vector<uint8_t> &icc) {
    check_encodable(image, options);
    const int channels = image.channels();
    cv::Mat rgb; // continuous, in PNG's channel order
    if (channels == 3)
        cv::cvtColor(image, rgb, cv::COLOR_BGR2RGB);
    else if (channels == 4)
        cv::cvtColor(image, rgb, cv::COLOR_BGRA2RGBA);
    else
        rgb = image.isContinuous() ? image : image.clone();

    SpngContext ctx(spng_ctx_new(SPNG_CTX_ENCODER));
    if (!ctx) throw EncodeError("not enough memory to start the PNG encoder");
    spng_ctx *c = ctx.get();
    spng_ihdr ihdr{};
    ihdr.width = static_cast<uint32_t>(rgb.cols);
    ihdr.height = static_cast<uint32_t>(rgb.rows);
    ihdr.bit_depth = rgb.depth() == CV_16U ? 16 : 8;
    ihdr.color_type = channels == 1   ? SPNG_COLOR_TYPE_GRAYSCALE
                      : channels == 3 ? SPNG_COLOR_TYPE_TRUECOLOR
                                      : SPNG_COLOR_TYPE_TRUECOLOR_ALPHA;
    int err = spng_set_option(c, SPNG_ENCODE_TO_BUFFER, 1);
    if (!err) err = spng_set_option(c, SPNG_IMG_COMPRESSION_LEVEL, options.png_compression);
    if (!err) err = spng_set_ihdr(c, &ihdr);
    spng_iccp iccp{};
    if (!err && !icc.empty()) {
        std::strcpy(iccp.profile_name, "ICC Profile");
        iccp.profile_len = icc.size();
        // libspng keeps this pointer (no copy) until the PNG is written, and never frees it.
        iccp.profile = reinterpret_cast<char *>(const_cast<uint8_t *>(icc.data()));
        err = spng_set_iccp(c, &iccp);
    }
    // SPNG_FMT_PNG: 16-bit samples are host-endian here, big-endian in the file.
    if (!err) err = spng_encode_image(c, rgb.data, rgb.total() * rgb.elemSize(), SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE);
    if (err) throw EncodeError(std::string("the PNG encoder failed: ") + spng_strerror(err));
    size_t length = 0;
    std::unique_ptr<void, MallocFree> buffer(spng_get_png_buffer(c, &length, &err));
    if (!buffer || err) throw EncodeError(std::string("the PNG encoder failed: ") + spng_strerror(err));
    const auto *bytes = static_cast<const uint8_t *>(buffer.get());
    return std::vector<uint8_t>(bytes, bytes + length);
}

} // namespace batchproc
