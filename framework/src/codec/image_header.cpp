#include "codec/image_header.hpp"

#include "codec/codec_module.hpp"

#include <algorithm>
#include <cstring>

namespace batchproc {

namespace {

// Every read goes through has() first: the input may be truncated or hostile.
struct Bytes {
    const uint8_t *p;
    size_t n;

    bool has(size_t off, size_t len) const { return off <= n && len <= n - off; }
    bool starts_with(size_t off, const char *s, size_t len) const {
        return has(off, len) && std::memcmp(p + off, s, len) == 0;
    }
    uint16_t be16(size_t o) const { return static_cast<uint16_t>((p[o] << 8) | p[o + 1]); }
    uint16_t le16(size_t o) const { return static_cast<uint16_t>(p[o] | (p[o + 1] << 8)); }
    uint32_t be32(size_t o) const {
        return (uint32_t(p[o]) << 24) | (uint32_t(p[o + 1]) << 16) | (uint32_t(p[o + 2]) << 8) | p[o + 3];
    }
    uint32_t le32(size_t o) const {
        return uint32_t(p[o]) | (uint32_t(p[o + 1]) << 8) | (uint32_t(p[o + 2]) << 16) | (uint32_t(p[o + 3]) << 24);
    }
    uint32_t le24(size_t o) const { return uint32_t(p[o]) | (uint32_t(p[o + 1]) << 8) | (uint32_t(p[o + 2]) << 16); }
    uint64_t be64(size_t o) const { return (uint64_t(be32(o)) << 32) | be32(o + 4); }
    uint64_t le64(size_t o) const { return uint64_t(le32(o)) | (uint64_t(le32(o + 4)) << 32); }
};

// ---- JPEG ----------------------------------------------------------------------------

bool is_jpeg_sof(uint8_t m) {
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC), which share the range.
    return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

// Calls fn(marker, payload_offset, payload_length) for each marker segment before the
// first scan, until fn returns false. Stray bytes between segments are skipped, as
// libjpeg does (with a warning), so the probe agrees with the decoder.
template <class Fn>
void walk_jpeg_segments(const Bytes &b, Fn fn) {
    size_t pos = 2; // after SOI
    while (pos < b.n) {
        if (b.p[pos] != 0xFF) {
            ++pos;
            continue;
        }
        while (pos < b.n && b.p[pos] == 0xFF) ++pos; // fill bytes
        if (pos >= b.n) return;
        const uint8_t m = b.p[pos++];
        if (m == 0x00) continue;                                 // stuffed byte, not a marker
        if (m == 0x01 || (m >= 0xD0 && m <= 0xD8)) continue;     // TEM, RSTn, SOI: no length
        if (m == 0xD9 || m == 0xDA) return;                      // EOI or SOS: header is over
        if (!b.has(pos, 2)) return;
        const size_t len = b.be16(pos);
        if (len < 2) return;
        if (!fn(m, pos + 2, len - 2)) return;
        pos += len;
    }
}

std::optional<ImageHeader> probe_jpeg(const Bytes &b) {
    std::optional<ImageHeader> out;
    walk_jpeg_segments(b, [&](uint8_t m, size_t off, size_t len) {
        if (!is_jpeg_sof(m)) return true;
        if (len >= 5 && b.has(off, 5)) out = ImageHeader{"jpeg", b.be16(off + 3), b.be16(off + 1)};
        return false;
    });
    return out;
}

// ---- TIFF (also the container of EXIF data) -------------------------------------------

// The value of `tag` in IFD0 of a TIFF block (classic or BigTIFF), when it is an integer
// of type BYTE, SHORT, LONG or LONG8 with count >= 1.
std::optional<uint64_t> tiff_ifd0_value(const Bytes &b, uint16_t tag) {
    if (!b.has(0, 8)) return std::nullopt;
    bool little;
    if (b.p[0] == 'I' && b.p[1] == 'I') little = true;
    else if (b.p[0] == 'M' && b.p[1] == 'M') little = false;
    else return std::nullopt;
    auto u16 = [&](size_t o) { return little ? b.le16(o) : b.be16(o); };
    auto u32 = [&](size_t o) { return little ? b.le32(o) : b.be32(o); };
    auto u64 = [&](size_t o) { return little ? b.le64(o) : b.be64(o); };

    const uint16_t magic = u16(2);
    bool big;
    uint64_t ifd;
    if (magic == 42) {
        big = false;
        ifd = u32(4);
    } else if (magic == 43) {
        if (!b.has(0, 16) || u16(4) != 8) return std::nullopt;
        big = true;
        ifd = u64(8);
    } else {
        return std::nullopt;
    }
    if (ifd >= b.n) return std::nullopt;
    const size_t count_size = big ? 8 : 2, entry_size = big ? 20 : 12;
    const size_t start = static_cast<size_t>(ifd);
    if (!b.has(start, count_size)) return std::nullopt;
    const uint64_t count = big ? u64(start) : u16(start);
    const size_t first = start + count_size;
    const uint64_t available = (b.n - first) / entry_size; // entries actually present
    const uint64_t entries = std::min(count, available);
    for (uint64_t i = 0; i < entries; ++i) {
        const size_t e = first + static_cast<size_t>(i) * entry_size;
        if (u16(e) != tag) continue;
        const uint16_t type = u16(e + 2);
        const uint64_t n = big ? u64(e + 4) : u32(e + 4);
        const size_t v = e + (big ? 12 : 8); // values that fit are stored inline, left-aligned
        if (n < 1) return std::nullopt;
        switch (type) {
        case 1: return b.p[v];        // BYTE
        case 3: return u16(v);        // SHORT
        case 4: return u32(v);        // LONG
        case 16:                      // LONG8 (BigTIFF only: 8 bytes fit inline)
            if (!big) return std::nullopt;
            return u64(v);
        default: return std::nullopt;
        }
    }
    return std::nullopt;
}

std::optional<ImageHeader> probe_tiff(const Bytes &b) {
    const auto w = tiff_ifd0_value(b, 256), h = tiff_ifd0_value(b, 257);
    if (!w || !h) return std::nullopt;
    // Values up to 2^64 are clamped: anything that large is rejected later as absurd.
    auto clamp = [](uint64_t v) { return static_cast<int64_t>(std::min<uint64_t>(v, INT64_MAX)); };
    return ImageHeader{"tiff", clamp(*w), clamp(*h)};
}

// ---- PNG, WebP, BMP, GIF, Sun raster -------------------------------------------------

const char kPngSignature[] = "\x89PNG\r\n\x1a\n";
const char kJp2Signature[] = "\x00\x00\x00\x0cjP  \r\n\x87\n";

std::optional<ImageHeader> probe_png(const Bytes &b) {
    // IHDR must be the first chunk: 8 signature + 4 length + 4 type + 4 width + 4 height.
    if (!b.has(0, 24) || !b.starts_with(12, "IHDR", 4)) return std::nullopt;
    return ImageHeader{"png", b.be32(16), b.be32(20)};
}

std::optional<ImageHeader> probe_webp(const Bytes &b) {
    if (b.starts_with(12, "VP8 ", 4)) {
        // Lossy: 3-byte frame tag, start code 9d 01 2a, then 14-bit width and height.
        if (!b.has(0, 30) || b.p[23] != 0x9d || b.p[24] != 0x01 || b.p[25] != 0x2a) return std::nullopt;
        return ImageHeader{"webp", b.le16(26) & 0x3fff, b.le16(28) & 0x3fff};
    }
    if (b.starts_with(12, "VP8L", 4)) {
        // Lossless: signature 0x2f, then width-1 and height-1 in 14 bits each.
        if (!b.has(0, 25) || b.p[20] != 0x2f) return std::nullopt;
        const uint32_t bits = b.le32(21);
        return ImageHeader{"webp", (bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1};
    }
    if (b.starts_with(12, "VP8X", 4)) {
        // Extended: 4 bytes of flags, then canvas width-1 and height-1 in 24 bits each.
        if (!b.has(0, 30)) return std::nullopt;
        return ImageHeader{"webp", int64_t(b.le24(24)) + 1, int64_t(b.le24(27)) + 1};
    }
    return std::nullopt;
}

bool plausible_bmp_dib_size(uint32_t s) {
    return s == 12 || s == 16 || s == 40 || s == 52 || s == 56 || s == 64 || s == 108 || s == 124;
}

std::optional<ImageHeader> probe_bmp(const Bytes &b) {
    if (!b.has(0, 18)) return std::nullopt;
    const uint32_t dib = b.le32(14);
    if (dib == 12) { // OS/2 1.x BITMAPCOREHEADER: 16-bit unsigned sides
        if (!b.has(0, 22)) return std::nullopt;
        return ImageHeader{"bmp", b.le16(18), b.le16(20)};
    }
    if (!plausible_bmp_dib_size(dib) || !b.has(0, 26)) return std::nullopt;
    const int64_t w = static_cast<int32_t>(b.le32(18));
    const int64_t h = static_cast<int32_t>(b.le32(22));
    return ImageHeader{"bmp", w, h < 0 ? -h : h}; // negative height = rows stored top-down
}

std::optional<ImageHeader> probe_gif(const Bytes &b) {
    if (!b.has(0, 10)) return std::nullopt;
    return ImageHeader{"gif", b.le16(6), b.le16(8)};
}

std::optional<ImageHeader> probe_ras(const Bytes &b) {
    if (!b.has(0, 12)) return std::nullopt;
    return ImageHeader{"ras", b.be32(4), b.be32(8)};
}

// ---- Text headers: PNM, PAM, PFM, Radiance HDR -----------------------------------------

bool is_space(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

// Skips whitespace and '#' comments, then reads an unsigned decimal that must be followed
// by more data (a number running into the end of the buffer may itself be cut short).
bool read_header_number(const Bytes &b, size_t &pos, int64_t &out) {
    for (;;) {
        if (pos >= b.n) return false;
        if (b.p[pos] == '#') {
            while (pos < b.n && b.p[pos] != '\n' && b.p[pos] != '\r') ++pos;
        } else if (is_space(b.p[pos])) {
            ++pos;
        } else {
            break;
        }
    }
    if (!is_digit(b.p[pos])) return false;
    int64_t v = 0;
    int digits = 0;
    while (pos < b.n && is_digit(b.p[pos])) {
        if (++digits > 15) return false; // absurd, and keeps v from overflowing
        v = v * 10 + (b.p[pos] - '0');
        ++pos;
    }
    if (pos >= b.n) return false;
    out = v;
    return true;
}

std::optional<ImageHeader> probe_pnm(const Bytes &b) {
    size_t pos = 2;
    int64_t w = 0, h = 0;
    if (b.p[1] != '7') {
        if (!read_header_number(b, pos, w) || !read_header_number(b, pos, h)) return std::nullopt;
        return ImageHeader{"pnm", w, h};
    }
    // PAM: "KEYWORD value" lines up to ENDHDR, in any order.
    bool have_w = false, have_h = false;
    const size_t limit = std::min<size_t>(b.n, 4096);
    while (pos < limit && !(have_w && have_h)) {
        while (pos < limit && is_space(b.p[pos])) ++pos;
        const size_t word = pos;
        while (pos < limit && !is_space(b.p[pos])) ++pos;
        const size_t len = pos - word;
        auto is = [&](const char *k) { return len == std::strlen(k) && std::memcmp(b.p + word, k, len) == 0; };
        if (is("WIDTH")) {
            if (!read_header_number(b, pos, w)) return std::nullopt;
            have_w = true;
        } else if (is("HEIGHT")) {
            if (!read_header_number(b, pos, h)) return std::nullopt;
            have_h = true;
        } else if (is("ENDHDR")) {
            break;
        } else {
            while (pos < limit && b.p[pos] != '\n') ++pos; // other keyword or comment
        }
    }
    if (!have_w || !have_h) return std::nullopt;
    return ImageHeader{"pnm", w, h};
}

std::optional<ImageHeader> probe_pfm(const Bytes &b) {
    size_t pos = 2;
    int64_t w = 0, h = 0;
    if (!read_header_number(b, pos, w) || !read_header_number(b, pos, h)) return std::nullopt;
    return ImageHeader{"pfm", w, h};
}

std::optional<ImageHeader> probe_hdr(const Bytes &b) {
    // Header lines up to an empty line, then a resolution line such as "-Y 480 +X 640".
    const size_t limit = std::min<size_t>(b.n, 65536);
    size_t pos = 0;
    for (;;) {
        const uint8_t *nl = static_cast<const uint8_t *>(std::memchr(b.p + pos, '\n', limit - pos));
        if (!nl) return std::nullopt;
        const size_t line_end = static_cast<size_t>(nl - b.p);
        const bool empty = line_end == pos;
        pos = line_end + 1;
        if (empty) break;
        if (pos >= limit) return std::nullopt;
    }
    int64_t x = -1, y = -1;
    for (int axis = 0; axis < 2; ++axis) {
        while (pos < b.n && b.p[pos] == ' ') ++pos;
        if (!b.has(pos, 2) || (b.p[pos] != '-' && b.p[pos] != '+')) return std::nullopt;
        const uint8_t name = b.p[pos + 1];
        pos += 2;
        int64_t v = 0;
        if (!read_header_number(b, pos, v)) return std::nullopt;
        if (name == 'X') x = v;
        else if (name == 'Y') y = v;
        else return std::nullopt;
    }
    if (x < 0 || y < 0) return std::nullopt;
    return ImageHeader{"hdr", x, y};
}

// ---- OpenEXR and JPEG 2000 -------------------------------------------------------------

std::optional<ImageHeader> probe_exr(const Bytes &b) {
    // Attributes follow magic and version: name\0 type\0 int32 size, value. The image size
    // is the "dataWindow" box2i (xMin, yMin, xMax, yMax, inclusive).
    size_t pos = 8;
    for (int guard = 0; guard < 1024; ++guard) {
        auto read_string = [&](size_t &p, size_t &len) {
            const size_t max = std::min<size_t>(b.n - std::min(p, b.n), 256);
            const void *z = max ? std::memchr(b.p + p, 0, max) : nullptr;
            if (!z) return false;
            len = static_cast<size_t>(static_cast<const uint8_t *>(z) - (b.p + p));
            p += len + 1;
            return true;
        };
        const size_t name = pos;
        size_t name_len = 0, type_len = 0;
        if (!read_string(pos, name_len) || name_len == 0) return std::nullopt; // end of header
        const size_t type = pos;
        if (!read_string(pos, type_len) || !b.has(pos, 4)) return std::nullopt;
        const uint32_t size = b.le32(pos);
        pos += 4;
        if (!b.has(pos, size)) return std::nullopt;
        if (name_len == 10 && std::memcmp(b.p + name, "dataWindow", 10) == 0 && type_len == 5 &&
            std::memcmp(b.p + type, "box2i", 5) == 0 && size == 16) {
            const int64_t x0 = static_cast<int32_t>(b.le32(pos)), y0 = static_cast<int32_t>(b.le32(pos + 4));
            const int64_t x1 = static_cast<int32_t>(b.le32(pos + 8)), y1 = static_cast<int32_t>(b.le32(pos + 12));
            return ImageHeader{"exr", x1 - x0 + 1, y1 - y0 + 1};
        }
        pos += size;
    }
    return std::nullopt;
}

std::optional<ImageHeader> probe_jp2(const Bytes &b) {
    if (b.starts_with(0, "\xff\x4f\xff\x51", 4)) {
        // Raw codestream: SIZ segment gives the reference grid and the image offset on it.
        if (!b.has(0, 24)) return std::nullopt;
        return ImageHeader{"jp2", int64_t(b.be32(8)) - b.be32(16), int64_t(b.be32(12)) - b.be32(20)};
    }
    // JP2 boxes: length (1 = 64-bit length follows, 0 = to the end), type, contents.
    auto find_box = [&](size_t begin, size_t end, const char *type, size_t &content, size_t &content_end) {
        size_t pos = begin;
        while (pos < end && end - pos >= 8) {
            uint64_t len = b.be32(pos);
            size_t header = 8;
            if (len == 1) {
                if (end - pos < 16) return false;
                len = b.be64(pos + 8);
                header = 16;
            } else if (len == 0) {
                len = end - pos;
            }
            if (len < header) return false;
            const size_t box_end = len > end - pos ? end : pos + static_cast<size_t>(len);
            if (std::memcmp(b.p + pos + 4, type, 4) == 0) {
                content = pos + header;
                content_end = box_end;
                return true;
            }
            pos = box_end;
        }
        return false;
    };
    size_t jp2h = 0, jp2h_end = 0, ihdr = 0, ihdr_end = 0;
    if (!find_box(0, b.n, "jp2h", jp2h, jp2h_end) || !find_box(jp2h, jp2h_end, "ihdr", ihdr, ihdr_end))
        return std::nullopt;
    if (ihdr_end - ihdr < 8) return std::nullopt;
    return ImageHeader{"jp2", b.be32(ihdr + 4), b.be32(ihdr)}; // ihdr stores height first
}

// ---- EXIF inside PNG and WebP -------------------------------------------------------------

int orientation_of_exif_payload(const Bytes &b, size_t off, size_t len) {
    if (!b.has(off, len)) len = off <= b.n ? b.n - off : 0;
    // Some writers keep JPEG's "Exif\0\0" prefix in PNG/WebP EXIF chunks.
    if (len >= 6 && std::memcmp(b.p + off, "Exif\0\0", 6) == 0) {
        off += 6;
        len -= 6;
    }
    return tiff_block_orientation(b.p + off, len);
}

} // namespace

std::string sniff_format(const uint8_t *data, size_t size) {
    if (!data) return "";
    const Bytes b{data, size};
    if (b.starts_with(0, "\xff\xd8\xff", 3)) return "jpeg";
    if (b.starts_with(0, kPngSignature, 8)) return "png";
    if (b.starts_with(0, "RIFF", 4) && b.starts_with(8, "WEBP", 4)) return "webp";
    if (b.starts_with(0, "II*\0", 4) || b.starts_with(0, "MM\0*", 4) || b.starts_with(0, "II+\0", 4) ||
        b.starts_with(0, "MM\0+", 4))
        return "tiff";
    // "BM" alone is too weak (text may start with it): check the DIB header size when present.
    if (b.starts_with(0, "BM", 2) && (size < 18 || plausible_bmp_dib_size(b.le32(14)))) return "bmp";
    if (b.starts_with(0, "GIF87a", 6) || b.starts_with(0, "GIF89a", 6)) return "gif";
    if (b.has(0, 3) && data[0] == 'P' && is_space(data[2])) {
        if (data[1] >= '1' && data[1] <= '7') return "pnm";
        if (data[1] == 'F' || data[1] == 'f') return "pfm";
    }
    if (b.starts_with(0, "#?RADIANCE", 10) || b.starts_with(0, "#?RGBE", 6)) return "hdr";
    if (b.starts_with(0, "\x76\x2f\x31\x01", 4)) return "exr";
    if (b.starts_with(0, kJp2Signature, 12) || b.starts_with(0, "\xff\x4f\xff\x51", 4)) return "jp2";
    if (b.starts_with(0, "\x59\xa6\x6a\x95", 4)) return "ras";
    if (b.starts_with(4, "ftyp", 4) && b.has(8, 4)) { // ISO base media: HEIF, AVIF, or a video
        const std::string brand(reinterpret_cast<const char *>(data + 8), 4);
        if (brand == "avif" || brand == "avis") return "avif";
        if (brand == "heic" || brand == "heix" || brand == "heim" || brand == "heis" || brand == "mif1" ||
            brand == "msf1")
            return "heif";
    }
    return "";
}

// The size as the codec module reads it (its box structure is the module library's business).
static std::optional<ImageHeader> probe_with_module(const char *module, const uint8_t *data, size_t size) {
    int64_t width = 0, height = 0;
    std::string error;
    if (!codec_module(module).probe(data, size, width, height, error)) return std::nullopt;
    ImageHeader header;
    header.format = sniff_format(data, size);
    header.width = width;
    header.height = height;
    return header;
}

std::optional<ImageHeader> probe_header(const uint8_t *data, size_t size) {
    const std::string format = sniff_format(data, size);
    const Bytes b{data, size};
    if (format == "jpeg") return probe_jpeg(b);
    if (format == "png") return probe_png(b);
    if (format == "webp") return probe_webp(b);
    if (format == "tiff") return probe_tiff(b);
    if (format == "bmp") return probe_bmp(b);
    if (format == "gif") return probe_gif(b);
    if (format == "pnm") return probe_pnm(b);
    if (format == "pfm") return probe_pfm(b);
    if (format == "hdr") return probe_hdr(b);
    if (format == "exr") return probe_exr(b);
    if (format == "jp2") return probe_jp2(b);
    if (format == "ras") return probe_ras(b);
    if (format == "heif" || format == "avif") return probe_with_module("heif", data, size);
    return std::nullopt;
}

int tiff_block_orientation(const uint8_t *data, size_t size) {
    if (!data) return 1;
    const auto v = tiff_ifd0_value(Bytes{data, size}, 0x0112);
    return v && *v >= 1 && *v <= 8 ? static_cast<int>(*v) : 1;
}

int exif_orientation(const uint8_t *data, size_t size) {
    const std::string format = sniff_format(data, size);
    const Bytes b{data, size};
    int result = 1;
    if (format == "jpeg") {
        walk_jpeg_segments(b, [&](uint8_t m, size_t off, size_t len) {
            if (m != 0xE1 || len < 6 || !b.starts_with(off, "Exif\0", 5)) return true;
            result = orientation_of_exif_payload(b, off + 6, len - 6);
            return false; // the first EXIF segment is the one that counts
        });
    } else if (format == "png") {
        size_t pos = 8;
        while (b.has(pos, 12)) {
            const uint32_t len = b.be32(pos);
            if (b.starts_with(pos + 4, "eXIf", 4)) return orientation_of_exif_payload(b, pos + 8, len);
            if (b.starts_with(pos + 4, "IEND", 4) || len > b.n) break;
            pos += size_t(len) + 12;
        }
    } else if (format == "webp") {
        size_t pos = 12;
        while (b.has(pos, 8)) {
            const uint32_t len = b.le32(pos + 4);
            if (b.starts_with(pos, "EXIF", 4)) return orientation_of_exif_payload(b, pos + 8, len);
            if (len > b.n) break;
            pos += 8 + size_t(len) + (len & 1); // chunks are padded to an even size
        }
    }
    return result;
}

std::string format_display_name(const std::string &format) {
    if (format == "jpeg") return "JPEG";
    if (format == "webp") return "WebP";
    if (format == "jp2") return "JPEG 2000";
    if (format == "hdr") return "Radiance HDR";
    if (format == "exr") return "OpenEXR";
    if (format == "ras") return "Sun raster";
    if (format == "heif") return "HEIF";
    if (format == "avif") return "AVIF";
    std::string upper = format;
    for (char &c : upper) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    return upper;
}

} // namespace batchproc
