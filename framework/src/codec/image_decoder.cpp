#include "codec/image_decoder.hpp"
#include "config/units.hpp"

#include "codec/colour.hpp"

#include "codec/codec_image.hpp"
#include "codec/codec_module.hpp"
#include "codec/image_header.hpp"
#include "codec/jpeg_decoder.hpp"
#include "codec/metadata.hpp"
#include "codec/png_codec.hpp"
#include "codec/webp_codec.hpp"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <optional>

namespace batchproc {

namespace {

std::string dims(int64_t w, int64_t h) { return std::to_string(w) + "x" + std::to_string(h); }


// input.colour for a decoded image with (or without) an embedded profile: keep it for the
// output, or convert an RGB one to sRGB and a gray one to sRGB's gray.
void apply_profile(DecodedImage &out, std::vector<uint8_t> icc, const DecodeOptions &options) {
    if (icc.empty() || options.colour == ColourPolicy::ignore) return;
    if (options.colour == ColourPolicy::keep) {
        out.icc = std::move(icc); // the output carries it
        return;
    }
    try {
        out.pixels = out.pixels.channels() == 1 ? gray_profile_to_srgb(out.pixels, icc) : rgb_profile_to_srgb(out.pixels, icc);
        out.converted_from_profile = true;
    } catch (const ColourError &e) {
        out.warnings.push_back(std::string(e.what()) + "; the pixels are taken as sRGB");
    }
}

// ---- PNG structure ------------------------------------------------------------------------

// zlib's CRC-32 (the PNG one), several times faster than a byte-wise table on large IDATs.
uint32_t crc32_of(const uint8_t *data, size_t size) {
    uLong c = crc32(0L, Z_NULL, 0);
    while (size > 0) {
        const uInt n = static_cast<uInt>(std::min<size_t>(size, 1u << 30));
        c = crc32(c, data, n);
        data += n;
        size -= n;
    }
    return static_cast<uint32_t>(c);
}

uint32_t be32(const uint8_t *p) { return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3]; }

bool is_letter(uint8_t c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

// Walks the chunks and checks every CRC (libpng ignores bad CRCs in ancillary chunks, and
// OpenCV gives no reason when it fails): the first problem as a sentence, or nullopt.
std::optional<std::string> png_structure_problem(const uint8_t *data, size_t size) {
    size_t pos = 8;
    std::string last = "";
    auto after = [&] { return last.empty() ? std::string("the signature") : "chunk " + last; };
    for (;;) {
        if (pos == size) return "truncated PNG: the file ends after " + after() + ", before the IEND chunk";
        if (size - pos < 8) return "truncated PNG: the file ends inside the chunk after " + after();
        const uint32_t len = be32(data + pos);
        const uint8_t *type = data + pos + 4;
        if (!is_letter(type[0]) || !is_letter(type[1]) || !is_letter(type[2]) || !is_letter(type[3]))
            return "damaged PNG: invalid chunk after " + after();
        const std::string name(reinterpret_cast<const char *>(type), 4);
        if (len > 0x7FFFFFFFu) return "damaged PNG: chunk " + name + " has an invalid length";
        if (size - pos - 8 < size_t(len) + 4) return "truncated PNG: the file ends inside chunk " + name;
        const uint32_t stored = be32(data + pos + 8 + len);
        if (crc32_of(type, size_t(len) + 4) != stored) return "damaged PNG: CRC error in chunk " + name;
        if (name == "IEND") return std::nullopt; // anything after IEND is ignored, as by libpng
        last = name;
        pos += size_t(len) + 12;
    }
}

// Whether the PNG has a chunk of this type before its image data.
bool png_has_chunk(const uint8_t *data, size_t size, const char *type) {
    for (size_t pos = 8; size - pos >= 8;) {
        if (std::memcmp(data + pos + 4, type, 4) == 0) return true;
        if (std::memcmp(data + pos + 4, "IDAT", 4) == 0) return false;
        const size_t len = be32(data + pos);
        if (len > size - pos - 8) return false;
        pos += len + 12;
        if (pos > size) return false;
    }
    return false;
}

// ---- Everything else: batchproc's own codecs, then the tiff, heif and opencv modules --------

const char *depth_name(int depth) {
    switch (depth) {
    case CV_8S: return "signed 8-bit";
    case CV_16S: return "signed 16-bit";
    case CV_32S: return "signed 32-bit";
    case CV_64F: return "64-bit float";
    case CV_16F: return "16-bit float";
    default: return "unusual";
    }
}

// A format without a codec of batchproc's own: through its codec module.
CodecImage decode_with_module(const uint8_t *data, size_t size, const ImageHeader &header) {
    const bool heif = header.format == "heif" || header.format == "avif";
    const CodecModuleApi &module = codec_module(heif ? "heif" : "opencv");
    CodecImage decoded;
    std::string error;
    if (module.decode(data, size, decoded, error)) return decoded;
    const std::string name = format_display_name(header.format);
    std::string message = "damaged or unsupported " + name + " file: " + error;
    if (header.format == "gif") message += " (this OpenCV cannot read GIF; convert it to PNG first)";
    if (header.format == "exr" && !std::getenv("OPENCV_IO_ENABLE_OPENEXR"))
        message += " (OpenCV reads OpenEXR only when OPENCV_IO_ENABLE_OPENEXR=1 is set)";
    // OpenCV's own defaults (overridable with OPENCV_IO_MAX_IMAGE_*).
    if (!heif && (header.width > (1 << 20) || header.height > (1 << 20) ||
                  header.width * header.height > (int64_t(1) << 30)))
        message += " (" + dims(header.width, header.height) + " is over OpenCV's size limit for decoding)";
    throw DecodeError(message);
}

DecodedImage decode_other(const uint8_t *data, size_t size, const ImageHeader &header, const DecodeOptions &options,
                          int min_side_hint) {
    DecodedImage out;
    out.format = header.format;
    const std::string name = format_display_name(header.format);
    if (size > static_cast<size_t>(INT_MAX)) throw DecodeError("file is too large to decode (over 2 GiB)");

    CodecImage decoded;
    if (header.format == "png") {
        const std::optional<std::string> problem = png_structure_problem(data, size);
        if (problem) {
            if (options.damaged == DamagedPolicy::error) throw DecodeError(*problem);
            out.warnings.push_back(*problem);
        }
        try {
            decoded = decode_png(data, size, problem.has_value(), !problem.has_value());
        } catch (const DecodeError &) {
            if (problem) throw DecodeError(*problem); // the structure walk names the chunk
            throw;
        }
        if (problem) decoded.warnings.clear(); // the same damage, already reported
        // decode_png drops an iCCP chunk whose profile name is not a PNG keyword, such as the
        // empty name exiv2 writes: read such a profile through exiv2.
        if (decoded.icc.empty() && options.colour != ColourPolicy::ignore && png_has_chunk(data, size, "iCCP"))
            decoded.icc = embedded_icc_profile(data, size);
    } else if (header.format == "webp") {
        decoded = decode_webp(data, size, options.shrink_on_load ? min_side_hint : 0);
    } else if (header.format == "tiff") {
        std::string error;
        if (!codec_module("tiff").decode(data, size, decoded, error)) {
            // Kinds batchproc's TIFF codec does not read (float or 32-bit samples): OpenCV's
            // may; if it cannot either, the first reason stands.
            std::string opencv_error;
            decoded = CodecImage();
            if (!codec_module("opencv").decode(data, size, decoded, opencv_error)) throw DecodeError(error);
        }
    } else {
        decoded = decode_with_module(data, size, header);
    }
    for (std::string &w : decoded.warnings) out.warnings.push_back(std::move(w));
    cv::Mat image = decoded.pixels;

    if (image.channels() == 2) { // gray + alpha -> BGRA
        cv::Mat bgra(image.size(), CV_MAKETYPE(image.depth(), 4));
        const int from_to[] = {0, 0, 0, 1, 0, 2, 1, 3};
        cv::mixChannels(&image, 1, &bgra, 1, from_to, 4);
        image = bgra;
    }
    if (image.channels() != 1 && image.channels() != 3 && image.channels() != 4)
        throw DecodeError("unsupported " + name + " file: " + std::to_string(image.channels()) +
                          " channels (1, 2, 3 or 4 are supported)");
    const int depth = image.depth();
    if (depth != CV_8U && depth != CV_16U && depth != CV_32F) {
        out.warnings.push_back(std::string("converted ") + depth_name(depth) + " pixels to 32-bit float");
        cv::Mat converted;
        image.convertTo(converted, CV_MAKETYPE(CV_32F, image.channels()));
        image = converted;
    }
    out.pixels = image;
    out.scale_denominator = decoded.scale_denominator;
    // Decoded at reduced scale (WebP shrink-on-load): the size it stands for is the file's.
    out.source_width = decoded.scale_denominator > 1 ? header.width : image.cols;
    out.source_height = decoded.scale_denominator > 1 ? header.height : image.rows;
    if (options.colour != ColourPolicy::ignore) apply_profile(out, std::move(decoded.icc), options);
    return out;
}

// ---- Unrecognised data ------------------------------------------------------------------------

bool starts_with(const uint8_t *d, size_t n, const char *s) {
    const size_t len = std::strlen(s);
    return n >= len && std::memcmp(d, s, len) == 0;
}

bool starts_with_nocase(const uint8_t *d, size_t n, const char *s) {
    const size_t len = std::strlen(s);
    if (n < len) return false;
    for (size_t i = 0; i < len; ++i)
        if (std::tolower(d[i]) != std::tolower(static_cast<unsigned char>(s[i]))) return false;
    return true;
}

// A cheap guess at what non-image data is, for the error message; "" when unsure.
std::string looks_like(const uint8_t *d, size_t n) {
    if (starts_with(d, n, "%PDF")) return "a PDF document";
    if (starts_with(d, n, "PK\x03\x04")) return "a ZIP archive";
    if (starts_with(d, n, "\x1f\x8b")) return "gzip-compressed data";
    if (starts_with(d, n, "\x7f" "ELF")) return "an executable";
    if (starts_with(d, n, "8BPS")) return "a Photoshop document, which is not supported";
    if (n >= 12 && std::memcmp(d + 4, "ftyp", 4) == 0) {
        const std::string brand(reinterpret_cast<const char *>(d + 8), 4);
        if (brand == "hevc" || brand == "hevx") return "a HEIF image sequence, which is not supported";
        return "an MP4/QuickTime video";
    }
    size_t start = 0;
    if (starts_with(d, n, "\xef\xbb\xbf")) start = 3; // UTF-8 byte order mark
    while (start < n && (d[start] == ' ' || d[start] == '\n' || d[start] == '\r' || d[start] == '\t')) ++start;
    const uint8_t *t = d + start;
    const size_t tn = n - start;
    if (starts_with_nocase(t, tn, "<svg") ||
        (starts_with_nocase(t, tn, "<?xml") &&
         std::string(reinterpret_cast<const char *>(t), std::min<size_t>(tn, 1024)).find("<svg") != std::string::npos))
        return "an SVG drawing, which is not supported";
    if (starts_with_nocase(t, tn, "<!doctype html") || starts_with_nocase(t, tn, "<html")) return "an HTML page";
    // Text: no control characters other than whitespace in the first 512 bytes.
    const size_t probe = std::min<size_t>(n, 512);
    for (size_t i = 0; i < probe; ++i) {
        const uint8_t c = d[i];
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f') return "";
        if (c == 0x7f) return "";
    }
    return "text";
}

} // namespace

int shrink_denominator(int64_t long_side, int min_side_hint) {
    if (min_side_hint <= 0 || long_side <= 0) return 1;
    int best = 1;
    for (int d : {2, 4, 8})
        if ((long_side + d - 1) / d >= min_side_hint) best = d; // libjpeg rounds sizes up
    return best;
}

// The most bytes a pixel of this file may take once decoded: from the header where that is
// cheap (PNG's bit depth and colour type), else the format's largest: 16 for the float
// formats (four 32-bit samples), 8 for those that may hold 16-bit samples (four of them),
// 4 for 8-bit ones (BGRA).
uint64_t decoded_bytes_per_pixel(const std::string &format, const uint8_t *data, size_t size) {
    if (format == "png" && size >= 26) {
        const int depth = data[24], colour = data[25];
        const int channels = colour == 0 ? 1 : colour == 2 ? 3 : colour == 3 ? 4 : colour == 4 ? 4 : 4;
        return uint64_t(channels) * (depth == 16 ? 2 : 1);
    }
    if (format == "pfm" || format == "hdr" || format == "exr") return 16;
    if (format == "tiff" || format == "pnm" || format == "jp2" || format == "heif" || format == "avif") return 8;
    return 4;
}

std::string format_megapixels(uint64_t pixels) {
    const double mpx = static_cast<double>(pixels) / 1e6;
    char buffer[64];
    if (mpx >= 10) {
        std::snprintf(buffer, sizeof buffer, "%.0f", mpx);
    } else {
        int decimals = 1;
        double scaled = mpx * 10;
        while (pixels > 0 && scaled < 1 && decimals < 6) { // enough decimals to show a digit
            ++decimals;
            scaled *= 10;
        }
        std::snprintf(buffer, sizeof buffer, "%.*f", decimals, mpx);
    }
    std::string text = buffer;
    if (text.find('.') != std::string::npos) {
        while (text.back() == '0') text.pop_back();
        if (text.back() == '.') text.pop_back();
    }
    return text + " Mpx";
}

void apply_exif_orientation(cv::Mat &image, int orientation) {
    cv::Mat out;
    switch (orientation) {
    case 2: cv::flip(image, out, 1); break;                           // mirror left-right
    case 3: cv::rotate(image, out, cv::ROTATE_180); break;
    case 4: cv::flip(image, out, 0); break;                           // mirror top-bottom
    case 5: cv::transpose(image, out); break;                         // about the main diagonal
    case 6: cv::rotate(image, out, cv::ROTATE_90_CLOCKWISE); break;
    case 7: cv::transpose(image, out); cv::flip(out, out, -1); break; // about the anti-diagonal
    case 8: cv::rotate(image, out, cv::ROTATE_90_COUNTERCLOCKWISE); break;
    default: return;
    }
    image = out;
}

DecodedImage decode_image(const uint8_t *data, size_t size, const DecodeOptions &options, int min_side_hint) {
    if (!data || size == 0) throw DecodeError("empty file");

    const std::string format = sniff_format(data, size);
    if (format.empty()) {
        const std::string guess = looks_like(data, size);
        throw DecodeError("not a recognised image format" + (guess.empty() ? std::string() : " (looks like " + guess + ")"));
    }
    const std::optional<ImageHeader> header = probe_header(data, size);
    const std::string name = format_display_name(format);
    if (!header) throw DecodeError("truncated or damaged " + name + " file: its header ends before the image size");

    // Judge the size before any decoder allocates memory for it.
    const int64_t w = header->width, h = header->height;
    if (w <= 0 || h <= 0)
        throw DecodeError("damaged " + name + " file: its header gives an image size of " + dims(w, h) +
                          ", which is not a valid image");
    const uint64_t pixels = uint64_t(h) > UINT64_MAX / uint64_t(w) ? UINT64_MAX : uint64_t(w) * uint64_t(h);
    if (options.max_pixels > 0 && pixels > options.max_pixels)
        throw DecodeError("image is " + dims(w, h) + ", over the limit of " + format_megapixels(options.max_pixels));
    if (w > INT_MAX || h > INT_MAX)
        throw DecodeError("image is " + dims(w, h) + ", too large to decode (each side must be under 2^31 pixels)");
    // Pixels alone do not say the memory: a 16-bit RGBA PNG takes 8 bytes a pixel.
    const uint64_t sample_bytes = decoded_bytes_per_pixel(format, data, size);
    const uint64_t decoded = pixels > UINT64_MAX / sample_bytes ? UINT64_MAX : pixels * sample_bytes;
    if (options.max_decoded > 0 && decoded > options.max_decoded)
        throw DecodeError("image is " + dims(w, h) + " and would take " + format_size(decoded) +
                          " decoded, over input.max_decoded (" + format_size(options.max_decoded) + ")");

    DecodedImage out;
    if (format == "jpeg") {
        std::vector<uint8_t> profile;
        out = decode_jpeg(data, size, *header, options, min_side_hint, profile);
        apply_profile(out, std::move(profile), options);
    } else {
        out = decode_other(data, size, *header, options, min_side_hint);
    }

    if (options.exif_orientation) {
        const int orientation = exif_orientation(data, size);
        apply_exif_orientation(out.pixels, orientation);
        if (orientation >= 2 && orientation <= 8) out.orientation_applied = orientation;
        if (orientation >= 5) std::swap(out.source_width, out.source_height);
    }
    return out;
}

} // namespace batchproc
