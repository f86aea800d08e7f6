// Codec module "heif": HEIF/HEIC and AVIF through libheif (libde265 and dav1d to decode,
// x265 and libaom to encode).
#include "codec/codec_module.hpp"

#include <libheif/heif.h>

#include <opencv2/core.hpp>

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <new>

namespace batchproc {
namespace {

// ---- libheif objects -------------------------------------------------------------------

struct HeifFree {
    void operator()(heif_context *p) const { heif_context_free(p); }
    void operator()(const heif_image_handle *p) const { heif_image_handle_release(p); }
    void operator()(const heif_image *p) const { heif_image_release(p); }
    void operator()(heif_encoder *p) const { heif_encoder_release(p); }
    void operator()(heif_encoding_options *p) const { heif_encoding_options_free(p); }
    void operator()(heif_color_profile_nclx *p) const { heif_nclx_color_profile_free(p); }
};
template <typename T> using HeifPtr = std::unique_ptr<T, HeifFree>;

// Empty once libheif has started, else why it did not. heif_init registers its codec
// plugins; it runs once, and has no heif_deinit: the module is never unloaded.
const std::string &start_error() {
    static const std::string why = [] {
        const heif_error e = heif_init(nullptr);
        return e.code == heif_error_Ok ? std::string() : std::string(e.message ? e.message : "unknown error");
    }();
    return why;
}

bool start(std::string &error) {
    if (start_error().empty()) return true;
    error = "libheif could not start: " + start_error();
    return false;
}

// libheif's message, copied at once (it lives in the context it came from), without the
// newline some messages end with.
std::string text(const heif_error &e) {
    std::string message = e.message ? e.message : "";
    message.erase(message.find_last_not_of(" \n") + 1);
    return message.empty() ? "no reason given" : message;
}

// No exception may cross the module boundary: out of memory, or an OpenCV assertion,
// becomes the error sentence.
template <typename Body> bool guarded(std::string &error, Body &&body) noexcept {
    const char *why = "unknown error";
    try {
        return body();
    } catch (const std::bad_alloc &) {
        why = "not enough memory";
    } catch (const cv::Exception &e) {
        try {
            error = "internal error in the heif codec module (OpenCV: " + e.err + ")";
            return false;
        } catch (...) {
        }
    } catch (const std::exception &e) {
        try {
            error = std::string("internal error in the heif codec module: ") + e.what();
            return false;
        } catch (...) {
        }
    } catch (...) {
    }
    try {
        error = why;
    } catch (...) {
        error.clear();
    }
    return false;
}

// Interleaved RGB(A) in the host's byte order, so that deep samples read as uint16_t.
heif_chroma interleaved_chroma(bool alpha, bool deep) {
    if (!deep) return alpha ? heif_chroma_interleaved_RGBA : heif_chroma_interleaved_RGB;
    if (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__)
        return alpha ? heif_chroma_interleaved_RRGGBBAA_BE : heif_chroma_interleaved_RRGGBB_BE;
    return alpha ? heif_chroma_interleaved_RRGGBBAA_LE : heif_chroma_interleaved_RRGGBB_LE;
}

// ---- reading ---------------------------------------------------------------------------

// A bound on what the module will allocate, whatever a file claims. The engine applies its
// own, lower limit (from probe) before it decodes.
constexpr int64_t kMaxPixels = int64_t(1) << 31;
// libheif's own limit is 32768 pixels a side, which refuses panoramas that AV1 (65536) and
// grids of tiles hold; the pixel count above is the guard that matters.
constexpr int kMaxSide = 1 << 20;

bool check_size(int64_t width, int64_t height, std::string &error) {
    if (width <= 0 || height <= 0) {
        error = "damaged HEIF file: its primary image has no size";
        return false;
    }
    if (width * height > kMaxPixels) {
        error = "the HEIF image is " + std::to_string(width) + "x" + std::to_string(height) +
                " pixels, more than this decoder handles (2^31 pixels)";
        return false;
    }
    return true;
}

std::string read_error(const heif_error &e) {
    switch (e.code) {
    case heif_error_Unsupported_filetype:
    case heif_error_Unsupported_feature:
        return "the HEIF file uses something libheif " + std::string(heif_get_version()) + " cannot decode: " + text(e);
    case heif_error_Memory_allocation_error:
        return "the HEIF file asks for more memory than libheif allows: " + text(e);
    default: return "damaged HEIF file: " + text(e);
    }
}

struct HeifFile {
    HeifPtr<heif_context> context;
    HeifPtr<heif_image_handle> primary;
};

// Parses the boxes of `data` (which must outlive `file`) and finds the primary image; no
// pixels are decoded.
bool open_primary(const uint8_t *data, size_t size, HeifFile &file, std::string &error) {
    if (!start(error)) return false;
    if (!data || size == 0) {
        error = "the file is empty";
        return false;
    }
    // The box itself, not heif_check_filetype, which also refuses major brands it does not
    // know, though libheif may read such a file through its compatible brands.
    if (size < 8 || std::memcmp(data + 4, "ftyp", 4) != 0) {
        error = "not a HEIF, HEIC or AVIF file (it does not start with an 'ftyp' box)";
        return false;
    }
    file.context.reset(heif_context_alloc());
    if (!file.context) throw std::bad_alloc();
    heif_context_set_maximum_image_size_limit(file.context.get(), kMaxSide);
    heif_error e = heif_context_read_from_memory_without_copy(file.context.get(), data, size, nullptr);
    if (e.code != heif_error_Ok) {
        error = read_error(e);
        return false;
    }
    heif_image_handle *handle = nullptr;
    e = heif_context_get_primary_image_handle(file.context.get(), &handle);
    file.primary.reset(handle);
    if (e.code != heif_error_Ok || !handle) {
        error = "HEIF file has no primary image (" + text(e) + ")";
        return false;
    }
    return true;
}

// Samples of 9 to 15 bits spread over 0..65535 by repeating their top bits below them,
// which takes the ends of the range to 0 and 65535 exactly.
void widen_to_16_bits(cv::Mat &pixels, int bits) {
    if (bits <= 8 || bits >= 16) return;
    const int up = 16 - bits, down = 2 * bits - 16;
    const uint16_t top = static_cast<uint16_t>((1 << bits) - 1);
    const size_t count = static_cast<size_t>(pixels.cols) * pixels.channels();
    for (int y = 0; y < pixels.rows; ++y) {
        uint16_t *row = pixels.ptr<uint16_t>(y);
        for (size_t i = 0; i < count; ++i) {
            const unsigned v = std::min(row[i], top);
            row[i] = static_cast<uint16_t>(v << up | v >> down);
        }
    }
}

// libheif returns premultiplied samples as they are stored; batchproc's BGRA is straight.
template <typename T> void unpremultiply(cv::Mat &pixels) {
    const double full = std::numeric_limits<T>::max();
    for (int y = 0; y < pixels.rows; ++y) {
        T *p = pixels.ptr<T>(y);
        for (int x = 0; x < pixels.cols; ++x, p += 4) {
            if (p[3] == 0) continue;
            for (int c = 0; c < 3; ++c) p[c] = cv::saturate_cast<T>(p[c] * full / p[3]);
        }
    }
}

bool to_mat(heif_image *image, bool alpha, bool deep, cv::Mat &pixels, std::string &error) {
    const int width = heif_image_get_width(image, heif_channel_interleaved);
    const int height = heif_image_get_height(image, heif_channel_interleaved);
    int stride = 0;
    const uint8_t *plane = heif_image_get_plane_readonly(image, heif_channel_interleaved, &stride);
    if (!check_size(width, height, error)) return false;
    const int channels = alpha ? 4 : 3;
    const int type = CV_MAKETYPE(deep ? CV_16U : CV_8U, channels);
    if (!plane || stride < 0 || static_cast<size_t>(stride) < static_cast<size_t>(width) * CV_ELEM_SIZE(type)) {
        error = "libheif decoded the image into an unexpected layout";
        return false;
    }
    const cv::Mat rgb(height, width, type, const_cast<uint8_t *>(plane), static_cast<size_t>(stride)); // read only
    pixels.create(height, width, type);
    static const int rgb_to_bgr[] = {0, 2, 1, 1, 2, 0, 3, 3};
    cv::mixChannels(&rgb, 1, &pixels, 1, rgb_to_bgr, static_cast<size_t>(channels));
    if (deep) widen_to_16_bits(pixels, heif_image_get_bits_per_pixel_range(image, heif_channel_interleaved));
    if (alpha && heif_image_is_premultiplied_alpha(image)) {
        if (deep)
            unpremultiply<uint16_t>(pixels);
        else
            unpremultiply<uint8_t>(pixels);
    }
    return true;
}

// Only 'prof' and 'rICC' boxes hold ICC profiles; nclx (code points for primaries and
// transfer) is not one, and the profile is then left empty.
void read_icc(const heif_image_handle *handle, std::vector<uint8_t> &icc) {
    const heif_color_profile_type type = heif_image_handle_get_color_profile_type(handle);
    if (type != heif_color_profile_type_prof && type != heif_color_profile_type_rICC) return;
    icc.resize(heif_image_handle_get_raw_color_profile_size(handle));
    if (icc.empty() || heif_image_handle_get_raw_color_profile(handle, icc.data()).code != heif_error_Ok) icc.clear();
}

bool probe(const uint8_t *data, size_t size, int64_t &width, int64_t &height, std::string &error) noexcept {
    return guarded(error, [&] {
        HeifFile file;
        if (!open_primary(data, size, file, error)) return false;
        // The handle's size is the displayed one: libheif has applied irot, imir and clap to
        // the coded size (ispe), as heif_decode_image applies them to the pixels.
        width = heif_image_handle_get_width(file.primary.get());
        height = heif_image_handle_get_height(file.primary.get());
        if (width > 0 && height > 0) return true;
        error = "damaged HEIF file: its primary image has no size";
        return false;
    });
}

bool decode(const uint8_t *data, size_t size, CodecImage &out, std::string &error) noexcept {
    return guarded(error, [&] {
        out = CodecImage();
        cv::Mat &pixels = out.pixels;
        std::vector<uint8_t> &icc = out.icc;
        HeifFile file;
        if (!open_primary(data, size, file, error)) return false;
        const heif_image_handle *handle = file.primary.get();
        if (!check_size(heif_image_handle_get_width(handle), heif_image_handle_get_height(handle), error)) return false;
        const bool alpha = heif_image_handle_has_alpha_channel(handle) != 0;
        const bool deep = heif_image_handle_get_luma_bits_per_pixel(handle) > 8;
        heif_image *decoded = nullptr;
        // Default options: rotation, mirroring and cropping applied; damage in the coded data
        // tolerated where the decoder can go on.
        const heif_error e = heif_decode_image(handle, &decoded, heif_colorspace_RGB, interleaved_chroma(alpha, deep), nullptr);
        const HeifPtr<heif_image> image(decoded);
        if (e.code != heif_error_Ok || !image) {
            error = read_error(e);
            return false;
        }
        if (!to_mat(image.get(), alpha, deep, pixels, error)) {
            pixels.release();
            return false;
        }
        read_icc(handle, icc);
        return true;
    });
}

// ---- writing ---------------------------------------------------------------------------

// Speed over size: batchproc writes thumbnails in bulk. Against libheif's defaults, on a
// 1600x1200 photo-like image: libaom speed 8 is 2.5x as fast as 6 for an 8% larger file
// (9 is faster again but 50% larger); x265 preset "fast" is 2.3x as fast as "slow" for
// the same size.
constexpr int kAomSpeed = 8;
constexpr const char *kX265Preset = "fast";

// Bits per sample written for 16-bit input. HEIC keeps 10 (x265's Main 10). AVIF is written
// with 8: libheif 1.15 cannot drive libaom 3.6 at 10 bits (libheif issue #788), and
// Debian's libaom, built with assertions, aborts the whole process when asked to.
constexpr int kDeepBits = 10;

bool compression_for(const std::string &format, heif_compression_format &compression) {
    if (format == "avif") {
        compression = heif_compression_AV1;
        return true;
    }
    if (format == "heic" || format == "heif") {
        compression = heif_compression_HEVC;
        return true;
    }
    return false;
}

const char *codec_name(heif_compression_format compression) {
    return compression == heif_compression_AV1 ? "AV1" : "HEVC";
}

// Parameters differ between encoder plugins (libaom has "speed", x265 "preset").
bool has_parameter(heif_encoder *encoder, const char *name) {
    for (const heif_encoder_parameter *const *p = heif_encoder_list_parameters(encoder); p && *p; ++p)
        if (std::strcmp(heif_encoder_parameter_get_name(*p), name) == 0) return true;
    return false;
}

// `full_chroma`: the encoder took chroma 4:4:4 (lossless only; subsampling would lose colour
// whatever the rest does).
bool configure(heif_encoder *encoder, heif_compression_format compression, const EncodeOptions &options,
               bool &full_chroma, std::string &error) {
    heif_error e{};
    full_chroma = false;
    if (options.lossless) {
        e = heif_encoder_set_lossless(encoder, 1);
        if (e.code == heif_error_Ok && has_parameter(encoder, "chroma")) {
            e = heif_encoder_set_parameter_string(encoder, "chroma", "444");
            full_chroma = e.code == heif_error_Ok;
        }
    } else {
        e = heif_encoder_set_lossy_quality(encoder, std::clamp(options.quality, 0, 100));
    }
    if (e.code != heif_error_Ok) {
        error = std::string("the ") + codec_name(compression) + " encoder (" + heif_encoder_get_name(encoder) +
                ") refused its settings: " + text(e);
        return false;
    }
    // Best effort: another encoder plugin may read these differently, which is no reason to
    // fail.
    if (has_parameter(encoder, "speed")) heif_encoder_set_parameter_integer(encoder, "speed", kAomSpeed);
    if (has_parameter(encoder, "preset")) heif_encoder_set_parameter_string(encoder, "preset", kX265Preset);
    // libaom starts 4 threads of its own by default: keep to the worker's thread budget
    // (the engine sets OpenCV's thread count to it), or 2 workers on 2 cores run 8 threads.
    if (has_parameter(encoder, "threads"))
        heif_encoder_set_parameter_integer(encoder, "threads", std::max(1, cv::getNumThreads()));
    return true;
}

// The image as libheif's interleaved RGB(A), `bits` per sample (gray repeated into R, G, B).
bool to_heif_image(const cv::Mat &image, int bits, HeifPtr<heif_image> &out, std::string &error) {
    const bool alpha = image.channels() == 4;
    heif_image *created = nullptr;
    heif_error e = heif_image_create(image.cols, image.rows, heif_colorspace_RGB, interleaved_chroma(alpha, bits > 8), &created);
    out.reset(created);
    if (e.code == heif_error_Ok) e = heif_image_add_plane(created, heif_channel_interleaved, image.cols, image.rows, bits);
    int stride = 0;
    uint8_t *plane = e.code == heif_error_Ok ? heif_image_get_plane(created, heif_channel_interleaved, &stride) : nullptr;
    if (!plane) {
        error = "libheif could not hold a " + std::to_string(image.cols) + "x" + std::to_string(image.rows) +
                " image: " + (e.code == heif_error_Ok ? "no plane" : text(e));
        return false;
    }
    cv::Mat samples; // never a header of `image`: 16U to 16U would convert the caller's pixels in place
    if (image.depth() == CV_16U) // to the nearest level (checked exact for every 16-bit value)
        image.convertTo(samples, bits > 8 ? CV_16U : CV_8U, ((1 << bits) - 1) / 65535.0);
    else
        samples = image;
    cv::Mat rgb(image.rows, image.cols, CV_MAKETYPE(samples.depth(), alpha ? 4 : 3), plane, static_cast<size_t>(stride));
    static const int gray_to_rgb[] = {0, 0, 0, 1, 0, 2};
    static const int bgr_to_rgb[] = {0, 2, 1, 1, 2, 0, 3, 3};
    if (samples.channels() == 1)
        cv::mixChannels(&samples, 1, &rgb, 1, gray_to_rgb, 3);
    else
        cv::mixChannels(&samples, 1, &rgb, 1, bgr_to_rgb, static_cast<size_t>(samples.channels()));
    return true;
}

// Lossless needs R, G and B coded as they are (matrix coefficients 0, full range): through
// YCbCr, 8-bit RGB comes back off by one. libheif 1.15 takes the matrix from the image's
// nclx; heif_encoding_options::output_nclx_profile does not reach the conversion.
bool mark_identity_matrix(heif_image *image, std::string &error) {
    const HeifPtr<heif_color_profile_nclx> nclx(heif_nclx_color_profile_alloc());
    if (!nclx) throw std::bad_alloc();
    nclx->color_primaries = heif_color_primaries_ITU_R_BT_709_5; // sRGB's
    nclx->transfer_characteristics = heif_transfer_characteristic_IEC_61966_2_1;
    nclx->matrix_coefficients = heif_matrix_coefficients_RGB_GBR;
    nclx->full_range_flag = 1;
    const heif_error e = heif_image_set_nclx_color_profile(image, nclx.get());
    if (e.code == heif_error_Ok) return true;
    error = "libheif refused the lossless colour settings: " + text(e);
    return false;
}

heif_error append_bytes(heif_context *, const void *data, size_t size, void *userdata) noexcept {
    auto &out = *static_cast<std::vector<uint8_t> *>(userdata);
    try {
        const auto *bytes = static_cast<const uint8_t *>(data);
        out.insert(out.end(), bytes, bytes + size);
    } catch (const std::exception &) {
        return {heif_error_Encoding_error, heif_suberror_Unspecified, "not enough memory for the encoded file"};
    }
    return {heif_error_Ok, heif_suberror_Unspecified, "Success"};
}

bool encode(const cv::Mat &image, const std::string &format, const EncodeOptions &options,
            const std::vector<uint8_t> &icc, std::vector<uint8_t> &out, std::string &error) noexcept {
    return guarded(error, [&] {
        out.clear();
        heif_compression_format compression = heif_compression_undefined;
        if (!compression_for(format, compression)) {
            error = "the heif codec module writes .avif, .heic and .heif, not ." + format;
            return false;
        }
        const int channels = image.channels();
        if (image.empty() || (image.depth() != CV_8U && image.depth() != CV_16U) ||
            (channels != 1 && channels != 3 && channels != 4)) {
            error = "the heif codec module writes 8- or 16-bit images of 1, 3 or 4 channels, not this one";
            return false;
        }
        if (!start(error)) return false;

        const HeifPtr<heif_context> context(heif_context_alloc());
        if (!context) throw std::bad_alloc();
        heif_encoder *found = nullptr;
        heif_error e = heif_context_get_encoder_for_format(context.get(), compression, &found);
        const HeifPtr<heif_encoder> encoder(found);
        if (e.code != heif_error_Ok || !encoder) {
            error = compression == heif_compression_AV1
                        ? "this libheif has no AV1 encoder (libaom, rav1e or SVT-AV1), so it cannot write AVIF; "
                          "install one, or save as another format"
                        : "this libheif has no HEVC encoder (x265), so it cannot write HEIC; save as .avif instead";
            return false;
        }
        bool full_chroma = false;
        if (!configure(encoder.get(), compression, options, full_chroma, error)) return false;

        const int bits = image.depth() == CV_16U && compression == heif_compression_HEVC ? kDeepBits : 8;
        HeifPtr<heif_image> picture;
        if (!to_heif_image(image, bits, picture, error)) return false;
        // Never with subsampled chroma: libaom aborts the process on that combination.
        if (options.lossless && full_chroma && !mark_identity_matrix(picture.get(), error)) return false;
        if (!icc.empty()) {
            e = heif_image_set_raw_color_profile(picture.get(), "prof", icc.data(), icc.size());
            if (e.code != heif_error_Ok) {
                error = "libheif refused the ICC profile: " + text(e);
                return false;
            }
        }
        const HeifPtr<heif_encoding_options> settings(heif_encoding_options_alloc());
        if (!settings) throw std::bad_alloc();
        // libheif also reads the matrix from the coded stream, but a reader that takes it only
        // from an nclx box would see lossless RGB planes as YCbCr. HEIF allows one colr box
        // of each kind.
        if (options.lossless && !icc.empty()) settings->save_two_colr_boxes_when_ICC_and_nclx_available = 1;

        e = heif_context_encode_image(context.get(), picture.get(), encoder.get(), settings.get(), nullptr);
        if (e.code != heif_error_Ok) {
            error = std::string("the ") + codec_name(compression) + " encoder failed on the " + std::to_string(image.cols) +
                    "x" + std::to_string(image.rows) + " image: " + text(e);
            return false;
        }
        heif_writer writer{1, append_bytes};
        e = heif_context_write(context.get(), &writer, &out);
        if (e.code != heif_error_Ok) {
            out.clear();
            error = "could not assemble the HEIF file: " + text(e);
            return false;
        }
        return true;
    });
}

bool can_encode(const std::string &format) noexcept {
    heif_compression_format compression = heif_compression_undefined;
    if (!compression_for(format, compression)) return false;
    try {
        return start_error().empty() && heif_have_encoder_for_format(compression) != 0;
    } catch (...) {
        return false;
    }
}

const CodecModuleApi kApi{CodecModuleApi::kVersion, probe, decode, encode, can_encode};

} // namespace
} // namespace batchproc

// Returned as const void *, the type module_table (codec/codec_module.hpp) calls every entry
// through: calling a function through a pointer of another type is undefined behaviour.
extern "C" __attribute__((visibility("default"))) const void *batchproc_codec_heif() {
    return &batchproc::kApi;
}
