#include "codec/png_codec.hpp"

#include <opencv2/core.hpp>

#include <png.h>
#include <spng.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

namespace batchproc {

namespace {

// The largest chunk libpng may read, and the largest profile an iCCP chunk may inflate to:
// metadata past this is a decompression bomb, not a photograph's.
constexpr size_t kChunkCacheLimit = size_t(64) << 20;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
constexpr bool kBigEndianHost = true;
#else
constexpr bool kBigEndianHost = false;
#endif

uint32_t be32(const uint8_t *p) {
    return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}

constexpr uint32_t kIccpType = (uint32_t('i') << 24) | (uint32_t('C') << 16) | (uint32_t('C') << 8) | uint32_t('P');

bool is_letter(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

// A chunk type as its four letters; empty when it is not letters (a damaged chunk header).
std::string chunk_name(uint32_t type) {
    const char name[4] = {char(type >> 24), char(type >> 16), char(type >> 8), char(type)};
    for (char c : name)
        if (!is_letter(c)) return "";
    return std::string(name, 4);
}

// ---- libpng, C style ---------------------------------------------------------------------
//
// libpng reports an error by calling png_error, which longjmps to the setjmp in run_guarded.
// Everything between the two (the steps below, libpng's callbacks) is C-style: no object
// with a destructor, no exception; what they find goes into a PngJob, which outlives them.

struct PngJob {
    // The file.
    const uint8_t *data;
    size_t size;
    size_t pos;
    bool ignore_crc;
    // From the header (read_header).
    png_uint_32 width, height;
    int bit_depth, colour_type, interlace, num_trans;
    const uint8_t *iccp; // the first iCCP chunk before PLTE, still compressed (libpng owns it)
    size_t iccp_size;
    // Where the rows go (read_pixels).
    uint8_t *pixels;
    size_t step, row_bytes;
    int channels;
    // What went wrong.
    bool hit_end;      // libpng asked for bytes past the end of the file
    bool in_image;     // while reading rows
    bool iccp_bad_crc; // tolerant: the iCCP chunk failed its CRC (libpng still keeps it)
    uint32_t error_chunk;
    char message[160];
};

void read_from_memory(png_structp png, png_bytep out, size_t length) {
    PngJob *job = static_cast<PngJob *>(png_get_io_ptr(png));
    if (length > job->size - job->pos) {
        job->hit_end = true;
        png_error(png, "unexpected end of file");
    }
    std::memcpy(out, job->data + job->pos, length);
    job->pos += length;
}

[[noreturn]] void on_error(png_structp png, png_const_charp message) {
    PngJob *job = static_cast<PngJob *>(png_get_error_ptr(png));
    std::snprintf(job->message, sizeof job->message, "%s", message);
    job->error_chunk = png_get_io_chunk_type(png);
    png_longjmp(png, 1);
}

// Warnings are libpng's own business (benign damage it gets past), except one: tolerating
// damage, a bad CRC in an ancillary chunk only warns, and the iCCP chunk (kept as an unknown
// chunk) is handed over all the same. It is dropped instead, as any damaged metadata.
void on_warning(png_structp png, png_const_charp message) {
    if (std::strstr(message, "CRC error") != nullptr && png_get_io_chunk_type(png) == kIccpType)
        static_cast<PngJob *>(png_get_error_ptr(png))->iccp_bad_crc = true;
}

using PngStep = void (*)(png_structp, png_infop, PngJob &);

// Runs `step`; false when libpng failed (job.message says why).
bool run_guarded(png_structp png, png_infop info, PngJob &job, PngStep step) {
    if (setjmp(png_jmpbuf(png)) != 0) return false;
    step(png, info, job);
    return true;
}

// Everything up to the image data. libpng interprets only what the pixels need (IHDR, PLTE,
// tRNS); the iCCP chunk is kept raw, every other chunk skipped (its CRC still checked).
void read_header(png_structp png, png_infop info, PngJob &job) {
    // Image size is bounded by the caller (cannot_hold, decode_image's pixel limit), not by
    // libpng's default of a million pixels a side.
    png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    png_set_chunk_malloc_max(png, kChunkCacheLimit);
    // Strict: a bad checksum anywhere is damage. Otherwise (the caller has checked the CRCs,
    // or damage is tolerated) CRCs in the critical chunks (the pixels) are not computed, an
    // ancillary chunk whose CRC is bad is dropped, and zlib's Adler-32 of the inflated data is
    // skipped: the chunk CRCs cover every compressed byte.
    if (job.ignore_crc) {
        png_set_crc_action(png, PNG_CRC_QUIET_USE, PNG_CRC_WARN_DISCARD);
        png_set_option(png, PNG_IGNORE_ADLER32, PNG_OPTION_ON);
    } else
        png_set_crc_action(png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, nullptr, -1);
    static const png_byte iccp[] = "iCCP";
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_ALWAYS, iccp, 1);
    png_read_info(png, info);

    png_get_IHDR(png, info, &job.width, &job.height, &job.bit_depth, &job.colour_type, &job.interlace, nullptr,
                 nullptr);
    job.num_trans = 0;
    png_get_tRNS(png, info, nullptr, &job.num_trans, nullptr);
    png_unknown_chunkp chunks = nullptr;
    const int n = png_get_unknown_chunks(png, info, &chunks);
    for (int i = 0; i < n; ++i) {
        if (std::memcmp(chunks[i].name, "iCCP", 4) != 0) continue;
        // One after PLTE is out of place, a second one a duplicate: both ignored.
        if ((chunks[i].location & PNG_HAVE_PLTE) == 0) {
            job.iccp = chunks[i].data;
            job.iccp_size = chunks[i].size;
        }
        break;
    }
}

// The transformations OpenCV's PngDecoder::readData asks libpng for (so that the pixels are
// cv::imdecode's), then the rows straight into job.pixels, then the chunks up to IEND.
void read_pixels(png_structp png, png_infop info, PngJob &job) {
    const int colour = job.colour_type;
    if (job.bit_depth == 16 && !kBigEndianHost) png_set_swap(png);
    if (job.channels < 4)
        png_set_strip_alpha(png);
    else
        png_set_tRNS_to_alpha(png);
    if (colour == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if ((colour & PNG_COLOR_MASK_COLOR) == 0 && job.bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if ((colour & PNG_COLOR_MASK_COLOR) != 0)
        png_set_bgr(png);
    else if (job.channels > 1)
        png_set_gray_to_rgb(png);
    const int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != job.row_bytes) png_error(png, "internal error: libpng's rows are not the expected size");

    job.in_image = true;
    // Interlaced: each pass writes its own pixels of the rows it touches.
    for (int pass = 0; pass < passes; ++pass)
        for (png_uint_32 y = 0; y < job.height; ++y) png_read_row(png, job.pixels + y * job.step, nullptr);
    job.in_image = false;
    // The chunks after the image data: their checksums count too, IEND's included.
    png_read_end(png, info);
}

// libpng's read and info structs, for one decode.
class PngReader {
public:
    explicit PngReader(PngJob &job) {
        png_ = png_create_read_struct(PNG_LIBPNG_VER_STRING, &job, on_error, on_warning);
        if (png_ != nullptr) info_ = png_create_info_struct(png_);
        if (info_ != nullptr) png_set_read_fn(png_, &job, read_from_memory);
    }
    ~PngReader() { png_destroy_read_struct(&png_, info_ != nullptr ? &info_ : nullptr, nullptr); }
    PngReader(const PngReader &) = delete;
    PngReader &operator=(const PngReader &) = delete;

    bool ok() const { return info_ != nullptr; }
    png_structp png() const { return png_; }
    png_infop info() const { return info_; }

private:
    png_structp png_ = nullptr;
    png_infop info_ = nullptr;
};

// ---- The iCCP profile --------------------------------------------------------------------

// A PNG keyword (here the profile's name): 1-79 printable Latin-1 characters, no leading,
// trailing or double space. A profile under another name is dropped, as libspng did (decode_image
// then reads it through exiv2).
bool is_png_keyword(const uint8_t *s, size_t n) {
    if (n == 0 || n > 79 || s[0] == ' ' || s[n - 1] == ' ') return false;
    for (size_t i = 0; i < n; ++i) {
        if (!((s[i] >= 32 && s[i] <= 126) || s[i] >= 161)) return false;
        if (s[i] == ' ' && i + 1 < n && s[i + 1] == ' ') return false;
    }
    return true;
}

struct ZStream {
    z_stream z{};
    bool open = false;
    ~ZStream() {
        if (open) inflateEnd(&z);
    }
};

enum class Profile { kept, dropped, too_large };

// The iCCP chunk's body (name, NUL, method 0, zlib stream) inflated into `icc`.
Profile inflate_iccp(const uint8_t *body, size_t size, std::vector<uint8_t> &icc) {
    const auto *nul = static_cast<const uint8_t *>(std::memchr(body, 0, std::min<size_t>(size, 80)));
    if (nul == nullptr || !is_png_keyword(body, size_t(nul - body))) return Profile::dropped;
    const size_t header = size_t(nul - body) + 2;
    if (size < header || nul[1] != 0) return Profile::dropped;

    ZStream zs;
    if (inflateInit(&zs.z) != Z_OK) return Profile::dropped;
    zs.open = true;
    zs.z.next_in = const_cast<Bytef *>(body + header);
    zs.z.avail_in = static_cast<uInt>(size - header); // the chunk is at most kChunkCacheLimit
    std::vector<uint8_t> out(std::min(kChunkCacheLimit + 1, std::max<size_t>(4 * size, 4096)));
    size_t produced = 0;
    for (;;) {
        if (produced == out.size()) {
            if (out.size() > kChunkCacheLimit) return Profile::too_large;
            out.resize(std::min(kChunkCacheLimit + 1, 2 * out.size()));
        }
        const size_t room = out.size() - produced;
        zs.z.next_out = out.data() + produced;
        zs.z.avail_out = static_cast<uInt>(room);
        const int ret = inflate(&zs.z, Z_NO_FLUSH);
        produced += room - zs.z.avail_out;
        if (ret == Z_STREAM_END) break;
        if (ret != Z_OK) return Profile::dropped; // corrupt or cut short, as libspng's discard
    }
    if (produced > kChunkCacheLimit) return Profile::too_large;
    out.resize(produced);
    icc = std::move(out);
    return Profile::kept;
}

// ---- Naming the damage -------------------------------------------------------------------

enum class Damage {
    none,
    truncated,      // the file, or its image data, ends before the image does
    bad_crc,        // in `chunk`
    corrupt_pixels, // the compressed image data (zlib stream, filters) is broken
    too_large,      // a chunk (`chunk`) past kChunkCacheLimit
    no_memory,
    other, // `detail` says what
};

struct Attempt {
    CodecImage image;
    Damage damage = Damage::none;
    std::string detail; // libpng's message
    std::string chunk;  // the chunk it was in, when its type is letters
    bool in_image = false; // the damage came while decoding rows (pixels may be salvaged)
    bool interlaced = false;
    uint32_t rows_done = 0; // rows complete before the damage (interlaced: 0 or all)
    uint64_t progress = 0;  // rows read over all passes: what a salvage attempt has to beat
    uint32_t height = 0;
};

// libpng's message, without the "IDAT: " it puts before messages about a chunk.
std::string plain_message(const char *message, uint32_t chunk_type) {
    std::string m = message;
    const std::string name = chunk_name(chunk_type);
    if (!name.empty() && m.compare(0, 6, name + ": ") == 0) m.erase(0, 6);
    // "Invalid IHDR data" reads as a clause: lower the first letter of a plain word.
    if (m.size() > 1 && m[0] >= 'A' && m[0] <= 'Z' && m[1] >= 'a' && m[1] <= 'z') m[0] = char(m[0] - 'A' + 'a');
    return m;
}

void note_failure(Attempt &a, const PngJob &job) {
    a.detail = plain_message(job.message, job.error_chunk);
    a.chunk = chunk_name(job.error_chunk);
    a.in_image = job.in_image;
    if (job.hit_end || a.detail == "not enough image data") // the file, or the IDAT chunks, end early
        a.damage = Damage::truncated;
    else if (a.detail == "CRC error")
        a.damage = Damage::bad_crc;
    else if (a.detail == "chunk data is too large")
        a.damage = Damage::too_large;
    else if (a.detail.find("memory") != std::string::npos) // "out of memory", "insufficient memory ..."
        a.damage = Damage::no_memory;
    else
        a.damage = job.in_image ? Damage::corrupt_pixels : Damage::other;
}

std::string describe(const Attempt &a) {
    switch (a.damage) {
    case Damage::none: return "";
    case Damage::truncated:
        if (a.height > 0 && a.rows_done == a.height)
            return "truncated PNG file: it ends after the image data, before its IEND chunk";
        return "truncated PNG file: the data ends before the image is complete";
    case Damage::bad_crc:
        return "damaged PNG file: CRC error in " + (a.chunk.empty() ? std::string("a chunk") : "chunk " + a.chunk);
    case Damage::corrupt_pixels: return "damaged PNG file: the compressed image data is corrupt (" + a.detail + ")";
    case Damage::too_large:
        if (a.chunk == "IDAT") return "damaged PNG file: an IDAT chunk is longer than all of the image's data could be";
        return "damaged PNG file: its metadata chunks take more than " + std::to_string(kChunkCacheLimit >> 20) +
               " MiB (refused as a likely decompression bomb)";
    case Damage::no_memory: return "not enough memory to decode this PNG file";
    case Damage::other: break;
    }
    return "damaged PNG file: " + a.detail + (a.chunk.empty() ? "" : " (in chunk " + a.chunk + ")");
}

// ---- Decoding ----------------------------------------------------------------------------

// The cv::Mat type OpenCV's reader gives: gray stays one channel (a tRNS colour key ignored),
// gray+alpha becomes BGRA, and any tRNS chunk makes RGB or a palette BGRA (even one that
// leaves every entry opaque).
int output_type(const PngJob &job) {
    const int depth = job.bit_depth == 16 ? CV_16U : CV_8U;
    switch (job.colour_type) {
    case PNG_COLOR_TYPE_GRAY: return CV_MAKETYPE(depth, 1);
    case PNG_COLOR_TYPE_RGB:
    case PNG_COLOR_TYPE_PALETTE: return CV_MAKETYPE(depth, job.num_trans > 0 ? 4 : 3);
    default: return CV_MAKETYPE(depth, 4); // gray + alpha, RGBA
    }
}

// Deflate compresses at most 1032:1, so a file smaller than its scanlines / 1032 cannot
// hold them: refuse it before allocating what its header claims (a header bomb, or a file
// cut short to a fraction).
bool cannot_hold(size_t file_size, const PngJob &job) {
    static const int samples[7] = {1, 0, 3, 1, 2, 0, 4}; // by colour type
    const uint64_t bits = uint64_t(job.width) * samples[job.colour_type % 7] * uint64_t(job.bit_depth);
    const uint64_t scanlines = uint64_t(job.height) * (1 + (bits + 7) / 8);
    return scanlines / 1032 > file_size;
}

Attempt attempt_decode(const uint8_t *data, size_t size, bool ignore_crc) {
    Attempt a;
    PngJob job{};
    job.data = data;
    job.size = size;
    job.ignore_crc = ignore_crc;
    PngReader reader(job);
    if (!reader.ok()) {
        a.damage = Damage::no_memory;
        return a;
    }
    if (!run_guarded(reader.png(), reader.info(), job, read_header)) {
        note_failure(a, job);
        return a;
    }
    if (cannot_hold(size, job)) {
        a.damage = Damage::truncated;
        return a;
    }
    if (job.iccp != nullptr && !job.iccp_bad_crc &&
        inflate_iccp(job.iccp, job.iccp_size, a.image.icc) == Profile::too_large) {
        a.damage = Damage::too_large;
        a.chunk = "iCCP";
        return a;
    }

    cv::Mat &pixels = a.image.pixels;
    a.interlaced = job.interlace != PNG_INTERLACE_NONE;
    a.height = job.height;
    try {
        // Interlaced passes write scattered pixels: start from black so that a partial
        // decode shows nothing undefined.
        if (a.interlaced)
            pixels = cv::Mat::zeros(int(job.height), int(job.width), output_type(job));
        else
            pixels.create(int(job.height), int(job.width), output_type(job));
    } catch (const cv::Exception &) {
        a.damage = Damage::no_memory;
        return a;
    }
    job.pixels = pixels.data;
    job.step = pixels.step[0];
    job.row_bytes = size_t(pixels.cols) * pixels.elemSize();
    job.channels = pixels.channels();

    if (run_guarded(reader.png(), reader.info(), job, read_pixels)) {
        a.rows_done = a.height;
        return a;
    }
    note_failure(a, job);
    // Where libpng was: its row (and pass) count advances once a row is in `pixels`.
    const uint32_t row = png_get_current_row_number(reader.png());
    const uint32_t pass = png_get_current_pass_number(reader.png());
    if (a.interlaced) {
        a.rows_done = pass >= 7 ? a.height : 0;
        a.progress = uint64_t(std::min(pass, 7u)) * a.height + row;
    } else {
        a.rows_done = std::min(row, a.height);
        a.progress = a.rows_done;
    }
    return a;
}

// A file cut short inside its image data, made whole enough for libpng to decode all the
// rows it holds: libpng reads image data 8 KiB at a time, and a read past the end gives none
// of it. The last chunk is shortened to what is there (its CRC is wrong, so this is decoded
// ignoring checksums) and an IEND is added. Empty when the cut is elsewhere.
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

// The pixels, black below the last row decoded.
CodecImage finish(Attempt &a) {
    cv::Mat &pixels = a.image.pixels;
    if (a.rows_done < a.height && !a.interlaced) pixels.rowRange(int(a.rows_done), pixels.rows).setTo(0);
    return std::move(a.image);
}

// ---- Encoding (libspng) ------------------------------------------------------------------

struct SpngFree {
    void operator()(spng_ctx *ctx) const { spng_ctx_free(ctx); }
};
using SpngContext = std::unique_ptr<spng_ctx, SpngFree>;

struct MallocFree {
    void operator()(void *p) const { std::free(p); }
};

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

CodecImage decode_png(const uint8_t *data, size_t size, bool tolerate_damage, bool crcs_checked) {
    if (data == nullptr || size == 0) throw DecodeError("empty PNG file");
    static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (std::memcmp(data, signature, std::min<size_t>(size, 8)) != 0)
        throw DecodeError("damaged PNG file: it does not start with the PNG signature");
    // Checksums the caller has checked are not computed again (a CRC over every IDAT byte).
    Attempt first = attempt_decode(data, size, crcs_checked);
    if (first.damage == Damage::none) return finish(first);
    const std::string damage = describe(first);
    if (!tolerate_damage) throw DecodeError(damage);

    std::vector<std::string> warnings;
    Attempt used = std::move(first);
    if (used.damage == Damage::bad_crc) {
        used = attempt_decode(data, size, true);
        warnings.push_back(damage + "; decoded ignoring checksums");
        if (used.damage != Damage::none) warnings.push_back(describe(used));
    } else {
        warnings.push_back(damage);
    }
    if (used.damage == Damage::truncated && used.rows_done < used.height) {
        const std::vector<uint8_t> mended = mend_truncated(data, size);
        if (!mended.empty()) {
            Attempt salvaged = attempt_decode(mended.data(), mended.size(), true);
            if (salvaged.progress > used.progress) used = std::move(salvaged);
        }
    }
    if (used.damage != Damage::none) {
        const bool complete = used.rows_done == used.height && used.height > 0; // damage after the pixels
        if (!complete && (!used.in_image || used.progress == 0)) throw DecodeError(warnings.back());
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
    cv::Mat rgb; // continuous, in PNG's channel order (red and blue swapped)
    if (channels >= 3) {
        static const int swap_red_blue[] = {0, 2, 1, 1, 2, 0, 3, 3};
        rgb.create(image.size(), image.type());
        cv::mixChannels(&image, 1, &rgb, 1, swap_red_blue, size_t(channels));
    } else {
        rgb = image.isContinuous() ? image : image.clone();
    }

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
