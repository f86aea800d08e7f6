#include "tiff_codec.hpp"

#include <opencv2/imgproc.hpp>

#include <tiffio.h>

#include <algorithm>
#include <climits>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <vector>

namespace batchproc {

namespace {

// ---- libtiff plumbing ----------------------------------------------------------------------

// libtiff's messages for one file, kept for the error text instead of going to stderr.
struct Messages {
    std::string first_error;
};

int on_tiff_error(TIFF *, void *user, const char *, const char *fmt, va_list ap) {
    auto *messages = static_cast<Messages *>(user);
    if (messages->first_error.empty()) {
        char text[512];
        std::vsnprintf(text, sizeof text, fmt, ap);
        messages->first_error = text;
    }
    return 1; // handled: the process-wide handlers (which print) are not called
}

int on_tiff_warning(TIFF *, void *, const char *, const char *, va_list) { return 1; }

struct OptionsFree {
    void operator()(TIFFOpenOptions *o) const { TIFFOpenOptionsFree(o); }
};
struct TiffClose {
    void operator()(TIFF *t) const { TIFFClose(t); }
};
using Tiff = std::unique_ptr<TIFF, TiffClose>;

// A file in memory: the bytes read (`data`) or the bytes written (`out`).
struct MemoryFile {
    const uint8_t *data = nullptr;
    uint64_t size = 0;
    std::vector<uint8_t> *out = nullptr;
    uint64_t pos = 0;

    uint64_t length() const { return out ? out->size() : size; }
    const uint8_t *bytes() const { return out ? out->data() : data; }
};

MemoryFile &file_of(thandle_t handle) { return *static_cast<MemoryFile *>(handle); }

tmsize_t read_proc(thandle_t handle, void *buffer, tmsize_t n) {
    MemoryFile &f = file_of(handle);
    const uint64_t length = f.length();
    if (n <= 0 || f.pos >= length) return 0;
    const uint64_t count = std::min<uint64_t>(uint64_t(n), length - f.pos);
    std::memcpy(buffer, f.bytes() + f.pos, size_t(count));
    f.pos += count;
    return tmsize_t(count);
}

tmsize_t write_proc(thandle_t handle, void *buffer, tmsize_t n) {
    MemoryFile &f = file_of(handle);
    if (f.out == nullptr) return -1; // opened for reading
    if (n <= 0) return 0;
    try {
        // libtiff puts directories at even offsets, seeking a byte past the end: the gap
        // is filled with zeros.
        if (f.pos + uint64_t(n) > f.out->size()) f.out->resize(size_t(f.pos + uint64_t(n)));
    } catch (const std::exception &) {
        return -1; // out of memory: libtiff reports the failed write
    }
    std::memcpy(f.out->data() + f.pos, buffer, size_t(n));
    f.pos += uint64_t(n);
    return n;
}

toff_t seek_proc(thandle_t handle, toff_t offset, int whence) {
    MemoryFile &f = file_of(handle);
    // Unsigned arithmetic: a negative offset arrives as its two's complement.
    switch (whence) {
    case SEEK_SET: f.pos = offset; break;
    case SEEK_CUR: f.pos += offset; break;
    case SEEK_END: f.pos = f.length() + offset; break;
    default: return toff_t(-1);
    }
    return f.pos;
}

int close_proc(thandle_t) { return 0; }
toff_t size_proc(thandle_t handle) { return file_of(handle).length(); }

int map_proc(thandle_t handle, void **base, toff_t *size) {
    MemoryFile &f = file_of(handle);
    if (f.out != nullptr) return 0;        // a growing buffer cannot be mapped
    *base = const_cast<uint8_t *>(f.data); // libtiff only reads a mapping opened with "r"
    *size = f.size;
    return 1;
}

void unmap_proc(thandle_t, void *, toff_t) {}

Tiff open_memory(MemoryFile &file, const char *mode, Messages &messages) {
    std::unique_ptr<TIFFOpenOptions, OptionsFree> options(TIFFOpenOptionsAlloc());
    if (!options) return nullptr;
    TIFFOpenOptionsSetErrorHandlerExtR(options.get(), on_tiff_error, &messages);
    TIFFOpenOptionsSetWarningHandlerExtR(options.get(), on_tiff_warning, nullptr);
    return Tiff(TIFFClientOpenExt("memory", mode, &file, read_proc, write_proc, seek_proc, close_proc, size_proc,
                                  map_proc, unmap_proc, options.get()));
}

std::string dims(uint64_t w, uint64_t h) { return std::to_string(w) + "x" + std::to_string(h); }

std::string with_reason(std::string sentence, const Messages &messages) {
    if (!messages.first_error.empty()) sentence += " (libtiff: " + messages.first_error + ")";
    return sentence;
}

// True when the header is cut short or points past the end of the file: a truncated file,
// rather than a damaged one (libtiff writes the directory after the pixels).
bool first_directory_is_missing(const uint8_t *data, size_t size) {
    if (size < 8) return true;
    const bool little = data[0] == 'I';
    auto read = [&](size_t at, int n) {
        uint64_t v = 0;
        for (int i = 0; i < n; ++i) v |= uint64_t(data[at + size_t(little ? i : n - 1 - i)]) << (8 * i);
        return v;
    };
    const bool big_tiff = read(2, 2) == 43;
    if (big_tiff && size < 16) return true;
    const uint64_t offset = big_tiff ? read(8, 8) : read(4, 4);
    return offset >= size;
}

// ---- The first page's layout -------------------------------------------------------------

struct Layout {
    uint32_t width = 0, height = 0;
    uint16_t bits = 1, samples = 1, photometric = 0, planar = PLANARCONFIG_CONTIG;
    uint16_t sample_format = SAMPLEFORMAT_UINT, orientation = ORIENTATION_TOPLEFT, compression = COMPRESSION_NONE;
    bool tiled = false;
};

Layout read_layout(TIFF *tif, const Messages &messages) {
    Layout l;
    if (!TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &l.width) || !TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &l.height))
        throw DecodeError(with_reason("damaged TIFF file: its first page has no image size", messages));
    if (!TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &l.photometric))
        throw DecodeError("damaged TIFF file: its first page does not say how to read its colours (no "
                          "PhotometricInterpretation tag)");
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &l.bits);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &l.samples);
    TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &l.planar);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &l.sample_format);
    TIFFGetFieldDefaulted(tif, TIFFTAG_ORIENTATION, &l.orientation);
    TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &l.compression);
    l.tiled = TIFFIsTiled(tif) != 0;
    return l;
}

void check_supported(const Layout &l) {
    if (l.width == 0 || l.height == 0)
        throw DecodeError("damaged TIFF file: its header gives an image size of " + dims(l.width, l.height));
    if (l.width > uint32_t(INT_MAX) || l.height > uint32_t(INT_MAX))
        throw DecodeError("TIFF image is " + dims(l.width, l.height) +
                          ", too large to decode (each side must be under 2^31 pixels)");
    if (l.samples == 0) throw DecodeError("damaged TIFF file: 0 samples per pixel");
    if (l.samples > 4)
        throw DecodeError("unsupported TIFF file: " + std::to_string(l.samples) +
                          " samples per pixel (1 to 4 are supported)");
    if (l.sample_format == SAMPLEFORMAT_IEEEFP)
        throw DecodeError("unsupported TIFF file: " + std::to_string(l.bits) +
                          "-bit floating-point samples (8- and 16-bit integer TIFFs are supported)");
    if (l.sample_format == SAMPLEFORMAT_INT)
        throw DecodeError("unsupported TIFF file: signed " + std::to_string(l.bits) +
                          "-bit samples (8- and 16-bit unsigned TIFFs are supported)");
    if (l.sample_format != SAMPLEFORMAT_UINT && l.sample_format != SAMPLEFORMAT_VOID)
        throw DecodeError("unsupported TIFF file: complex-valued samples");
    if (l.bits != 1 && l.bits != 2 && l.bits != 4 && l.bits != 8 && l.bits != 16)
        throw DecodeError("unsupported TIFF file: " + std::to_string(l.bits) +
                          "-bit samples (1, 2, 4, 8 and 16 are supported)");
}

// At most how far each compression can shrink pixel data: a file cannot hold an image
// larger than its data times this, so a header claiming more is refused before the
// pixels are allocated. Generous bounds; none is reached by real files.
uint64_t max_expansion(uint16_t compression) {
    switch (compression) {
    case COMPRESSION_NONE: return 1;
    case COMPRESSION_PACKBITS: return 64; // 2 bytes repeat one byte 128 times
    case COMPRESSION_ADOBE_DEFLATE:
    case COMPRESSION_DEFLATE: return 1032; // deflate's limit
    case COMPRESSION_LZW: return 4096;     // 12-bit codes, strings under 4096 bytes
    default: return uint64_t(1) << 16;     // CCITT, JPEG, ZSTD, LZMA, WebP...
    }
}

void check_data_can_hold(TIFF *tif, const Layout &l, uint64_t file_size) {
    const uint64_t bits_per_row = uint64_t(l.width) * l.samples * l.bits;
    const uint64_t needed = uint64_t(l.height) * ((bits_per_row + 7) / 8) / max_expansion(l.compression);
    uint64_t claimed = 0, present = 0;
    const uint32_t blocks = l.tiled ? TIFFNumberOfTiles(tif) : TIFFNumberOfStrips(tif);
    for (uint32_t i = 0; i < blocks && claimed < needed; ++i) {
        const uint64_t offset = TIFFGetStrileOffset(tif, i), count = TIFFGetStrileByteCount(tif, i);
        claimed += count;
        if (offset < file_size) present += std::min(count, file_size - offset);
    }
    if (present >= needed) return;
    if (claimed >= needed)
        throw DecodeError("truncated TIFF file: the data of its " + dims(l.width, l.height) +
                          " image runs past the end of the file");
    throw DecodeError("damaged TIFF file: its header gives a " + dims(l.width, l.height) + " image, more than its " +
                      std::to_string(claimed) + " bytes of image data can hold");
}

// A block (strip or tile) libtiff could not read: cut off, or damaged.
[[noreturn]] void throw_read_failure(TIFF *tif, const Layout &l, uint32_t block, uint64_t file_size,
                                     const Messages &messages) {
    const char *kind = l.tiled ? "tile" : "strip";
    const uint64_t offset = TIFFGetStrileOffset(tif, block), count = TIFFGetStrileByteCount(tif, block);
    if (offset > file_size || count > file_size - offset)
        throw DecodeError("truncated TIFF file: " + std::string(kind) + " " + std::to_string(block) +
                          " lies past the end of the file");
    throw DecodeError(with_reason(
        "damaged TIFF file: " + std::string(kind) + " " + std::to_string(block) + " could not be decoded", messages));
}

// ---- Direct reading: 8/16-bit gray and RGB(A), as stored -------------------------------------

// OpenCV turns the image upright by its Orientation tag (all eight values, 8 and 16 bits);
// the pixels are read as stored, then turned the same way.
void orient(cv::Mat &pixels, uint16_t orientation) {
    switch (orientation) {
    case ORIENTATION_TOPRIGHT: cv::flip(pixels, pixels, 1); break;
    case ORIENTATION_BOTRIGHT: cv::flip(pixels, pixels, -1); break;
    case ORIENTATION_BOTLEFT: cv::flip(pixels, pixels, 0); break;
    case ORIENTATION_LEFTTOP: cv::transpose(pixels, pixels); break;
    case ORIENTATION_RIGHTTOP: cv::rotate(pixels, pixels, cv::ROTATE_90_CLOCKWISE); break;
    case ORIENTATION_RIGHTBOT: // about the anti-diagonal
        cv::transpose(pixels, pixels);
        cv::flip(pixels, pixels, -1);
        break;
    case ORIENTATION_LEFTBOT: cv::rotate(pixels, pixels, cv::ROTATE_90_COUNTERCLOCKWISE); break;
    default: break; // top-left, or a value outside the standard: as stored
    }
}

cv::Mat read_direct(TIFF *tif, const Layout &l, int channels, uint64_t file_size, const Messages &messages) {
    const size_t bytes = l.bits / 8;
    const bool separate = l.planar == PLANARCONFIG_SEPARATE && l.samples > 1;
    const uint32_t block_samples = separate ? 1 : l.samples;
    uint32_t bw = l.width, bh = l.height;
    if (l.tiled) {
        TIFFGetField(tif, TIFFTAG_TILEWIDTH, &bw);
        TIFFGetField(tif, TIFFTAG_TILELENGTH, &bh);
    } else {
        uint32_t rows_per_strip = l.height;
        TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &rows_per_strip);
        bh = std::min(std::max<uint32_t>(rows_per_strip, 1), l.height);
    }
    if (bw == 0 || bh == 0) throw DecodeError("damaged TIFF file: its tiles have a size of " + dims(bw, bh));
    const uint64_t block_row = uint64_t(bw) * block_samples * bytes;
    const uint64_t block_size = block_row * bh;
    const uint64_t libtiff_size = uint64_t(l.tiled ? TIFFTileSize64(tif) : TIFFStripSize64(tif));
    if (block_size > (uint64_t(1) << 31) || libtiff_size > (uint64_t(1) << 31) || libtiff_size == 0)
        throw DecodeError("unsupported TIFF file: its " + std::string(l.tiled ? "tiles" : "strips") +
                          " are over 2 GiB each");

    cv::Mat pixels;
    std::vector<uint8_t> block;
    try {
        pixels.create(int(l.height), int(l.width), CV_MAKETYPE(bytes == 2 ? CV_16U : CV_8U, channels));
        block.resize(size_t(std::max(block_size, libtiff_size)));
    } catch (const std::exception &) {
        throw DecodeError("not enough memory to decode this " + dims(l.width, l.height) + " TIFF");
    }
    const size_t pixel_out = size_t(channels) * bytes;
    const uint32_t planes = separate ? l.samples : 1;
    for (uint32_t plane = 0; plane < planes; ++plane) {
        if (separate && plane >= uint32_t(channels)) break; // an extra sample a gray image drops
        for (uint32_t y0 = 0; y0 < l.height; y0 += bh) {
            for (uint32_t x0 = 0; x0 < l.width; x0 += bw) {
                const uint32_t index = l.tiled ? TIFFComputeTile(tif, x0, y0, 0, uint16_t(plane))
                                               : TIFFComputeStrip(tif, y0, uint16_t(plane));
                const tmsize_t got = l.tiled ? TIFFReadEncodedTile(tif, index, block.data(), tmsize_t(block.size()))
                                             : TIFFReadEncodedStrip(tif, index, block.data(), tmsize_t(block.size()));
                if (got < 0) throw_read_failure(tif, l, index, file_size, messages);
                const uint32_t rows = std::min(bh, l.height - y0), cols = std::min(bw, l.width - x0);
                for (uint32_t r = 0; r < rows; ++r) {
                    const uint8_t *src = block.data() + r * block_row;
                    uint8_t *dst = pixels.ptr<uint8_t>(int(y0 + r)) + size_t(x0) * pixel_out;
                    if (!separate && block_samples == uint32_t(channels)) {
                        std::memcpy(dst, src, size_t(cols) * pixel_out);
                    } else if (!separate) { // gray + extra sample: keep the gray
                        for (uint32_t x = 0; x < cols; ++x)
                            std::memcpy(dst + x * pixel_out, src + x * block_samples * bytes, bytes);
                    } else {
                        for (uint32_t x = 0; x < cols; ++x)
                            std::memcpy(dst + x * pixel_out + plane * bytes, src + x * bytes, bytes);
                    }
                }
            }
        }
    }
    if (channels == 3) cv::cvtColor(pixels, pixels, cv::COLOR_RGB2BGR);
    if (channels == 4) cv::cvtColor(pixels, pixels, cv::COLOR_RGBA2BGRA);
    return pixels;
}

// ---- Everything else: libtiff's RGBA interface, as OpenCV uses for all 8-bit images ---------

cv::Mat read_rgba(TIFF *tif, const Layout &l, int channels, uint64_t file_size, Messages &messages) {
    char why[1024] = "";
    if (!TIFFRGBAImageOK(tif, why))
        throw DecodeError(std::string("unsupported TIFF file: libtiff cannot convert it to RGB (") + why + ")");
    cv::Mat rgba;
    try {
        rgba.create(int(l.height), int(l.width), CV_8UC4);
    } catch (const cv::Exception &) {
        throw DecodeError("not enough memory to decode this " + dims(l.width, l.height) + " TIFF");
    }
    // Each uint32 holds R, G, B, A from its low byte up: in memory, RGBA. Asking for the
    // file's own orientation gives the pixels as stored (decode_tiff turns them upright).
    const bool standard = l.orientation >= ORIENTATION_TOPLEFT && l.orientation <= ORIENTATION_LEFTBOT;
    if (!TIFFReadRGBAImageOriented(tif, l.width, l.height, reinterpret_cast<uint32_t *>(rgba.data),
                                   standard ? l.orientation : ORIENTATION_TOPLEFT, 1)) {
        for (uint32_t i = 0, n = l.tiled ? TIFFNumberOfTiles(tif) : TIFFNumberOfStrips(tif); i < n; ++i) {
            const uint64_t offset = TIFFGetStrileOffset(tif, i), count = TIFFGetStrileByteCount(tif, i);
            if (offset > file_size || count > file_size - offset) throw_read_failure(tif, l, i, file_size, messages);
        }
        // TIFFRGBAImageOK accepts some kinds its readers then refuse (16-bit CMYK...).
        if (messages.first_error.rfind("Sorry", 0) == 0)
            throw DecodeError("unsupported TIFF file: libtiff cannot convert this kind of image to RGB (libtiff: " +
                              messages.first_error + ")");
        throw DecodeError(with_reason("damaged TIFF file: its pixels could not be decoded", messages));
    }
    cv::Mat out;
    const int code = channels == 1   ? cv::COLOR_RGBA2GRAY // gray images: R = G = B, kept exactly
                     : channels == 3 ? cv::COLOR_RGBA2BGR
                                     : cv::COLOR_RGBA2BGRA;
    cv::cvtColor(rgba, out, code);
    return out;
}

// ---- Encoding ----------------------------------------------------------------------------

void check_encodable(const cv::Mat &image) {
    if (image.empty()) throw EncodeError("cannot write an empty image as TIFF");
    if (image.depth() != CV_8U && image.depth() != CV_16U)
        throw EncodeError("TIFF is written with 8-bit or 16-bit samples; convert this image's pixels first");
    const int channels = image.channels();
    if (channels != 1 && channels != 3 && channels != 4)
        throw EncodeError("TIFF can be written from 1, 3 or 4 channels, not " + std::to_string(channels));
}

} // namespace

namespace {

// `file` (a whole TIFF in memory) opened at its first page; `messages` must outlive the
// handle (libtiff may report while closing).
Tiff open_for_reading(MemoryFile &file, Messages &messages) {
    if (file.data == nullptr || file.size == 0) throw DecodeError("empty TIFF file");
    Tiff tif = open_memory(file, "r", messages);
    if (!tif) {
        if (first_directory_is_missing(file.data, size_t(file.size)))
            throw DecodeError("truncated TIFF file: it ends before the directory of its first page");
        throw DecodeError(with_reason("damaged TIFF file: its header or first page could not be read", messages));
    }
    return tif;
}

} // namespace

TiffSize tiff_size(const uint8_t *data, size_t size) {
    Messages messages;
    MemoryFile file;
    file.data = data;
    file.size = size;
    const Tiff tif = open_for_reading(file, messages);
    const Layout l = read_layout(tif.get(), messages);
    const bool turned = l.orientation >= ORIENTATION_LEFTTOP && l.orientation <= ORIENTATION_LEFTBOT;
    return turned ? TiffSize{l.height, l.width} : TiffSize{l.width, l.height};
}

CodecImage decode_tiff(const uint8_t *data, size_t size) {
    Messages messages; // outlives the handle: libtiff may report while closing
    MemoryFile file;
    file.data = data;
    file.size = size;
    const Tiff tif = open_for_reading(file, messages);
    TIFF *t = tif.get();
    const Layout l = read_layout(t, messages);
    check_supported(l);

    const bool gray = l.photometric == PHOTOMETRIC_MINISBLACK || l.photometric == PHOTOMETRIC_MINISWHITE;
    const int colour = gray ? 1 : 3;
    // OpenCV inverts MinIsWhite only through the RGBA interface, that is for 8 bits.
    const bool direct = (l.bits == 8 || l.bits == 16) &&
                        (l.photometric == PHOTOMETRIC_MINISBLACK || l.photometric == PHOTOMETRIC_RGB ||
                         (l.photometric == PHOTOMETRIC_MINISWHITE && l.bits == 16)) &&
                        (l.samples == colour || l.samples == colour + 1) && l.compression != COMPRESSION_OJPEG;
    // The channels OpenCV gives: gray for gray images (alpha dropped), BGR for palette images,
    // otherwise one per sample.
    int channels = gray ? 1 : l.photometric == PHOTOMETRIC_PALETTE ? 3 : int(l.samples);
    if (channels == 2) throw DecodeError("unsupported TIFF file: 2 samples per pixel in a colour (not gray) image");

    check_data_can_hold(t, l, size);
    CodecImage out;
    out.pixels = direct ? read_direct(t, l, channels, size, messages) : read_rgba(t, l, channels, size, messages);
    orient(out.pixels, l.orientation);

    uint32_t icc_size = 0;
    const void *icc = nullptr;
    if (TIFFGetField(t, TIFFTAG_ICCPROFILE, &icc_size, &icc) && icc != nullptr && icc_size > 0)
        out.icc.assign(static_cast<const uint8_t *>(icc), static_cast<const uint8_t *>(icc) + icc_size);
    const tdir_t pages = TIFFNumberOfDirectories(t);
    if (pages > 1)
        out.warnings.push_back("TIFF: only the first of its " + std::to_string(pages) + " pages was decoded");
    return out;
}

std::vector<uint8_t> encode_tiff(const cv::Mat &image, const EncodeOptions &, const std::vector<uint8_t> &icc) {
    check_encodable(image);
    const int channels = image.channels();
    const uint16_t bits = image.depth() == CV_16U ? 16 : 8;
    // Classic TIFF stops at 4 GiB; LZW may grow noise a little, so switch early to BigTIFF.
    const uint64_t raw = uint64_t(image.total()) * image.elemSize();
    const char *mode = raw > (uint64_t(7) << 29) ? "w8" : "w";

    std::vector<uint8_t> bytes;
    Messages messages;
    MemoryFile file;
    file.out = &bytes;
    {
        Tiff tif = open_memory(file, mode, messages);
        if (!tif) throw EncodeError(with_reason("the TIFF encoder could not be started", messages));
        TIFF *t = tif.get();
        bool ok = TIFFSetField(t, TIFFTAG_IMAGEWIDTH, uint32_t(image.cols)) &&
                  TIFFSetField(t, TIFFTAG_IMAGELENGTH, uint32_t(image.rows)) &&
                  TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, bits) &&
                  TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, uint16_t(channels)) &&
                  TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_UINT) &&
                  TIFFSetField(t, TIFFTAG_PHOTOMETRIC, channels == 1 ? PHOTOMETRIC_MINISBLACK : PHOTOMETRIC_RGB) &&
                  TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG) &&
                  TIFFSetField(t, TIFFTAG_ORIENTATION, ORIENTATION_TOPLEFT) &&
                  TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_LZW) &&
                  TIFFSetField(t, TIFFTAG_PREDICTOR, PREDICTOR_HORIZONTAL);
        if (ok && channels == 4) {
            const uint16_t extra[1] = {EXTRASAMPLE_UNASSALPHA}; // straight alpha, as batchproc holds it
            ok = TIFFSetField(t, TIFFTAG_EXTRASAMPLES, uint16_t(1), extra);
        }
        if (ok && !icc.empty()) ok = TIFFSetField(t, TIFFTAG_ICCPROFILE, uint32_t(icc.size()), icc.data());
        // About 8 KiB strips (libtiff's default): small buffers, and readers can start early.
        if (ok) ok = TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, TIFFDefaultStripSize(t, 0));
        // One row at a time in TIFF's channel order, through a scratch row: the predictor
        // differences the row it is given in place.
        cv::Mat row(1, image.cols, image.type());
        for (int y = 0; ok && y < image.rows; ++y) {
            if (channels == 3)
                cv::cvtColor(image.row(y), row, cv::COLOR_BGR2RGB);
            else if (channels == 4)
                cv::cvtColor(image.row(y), row, cv::COLOR_BGRA2RGBA);
            else
                image.row(y).copyTo(row);
            ok = TIFFWriteScanline(t, row.data, uint32_t(y), 0) >= 0;
        }
        if (ok) ok = TIFFFlush(t) != 0; // writes the directory; TIFFClose would hide a failure
        if (!ok) throw EncodeError(with_reason("the TIFF encoder failed", messages));
    }
    return bytes;
}

} // namespace batchproc
