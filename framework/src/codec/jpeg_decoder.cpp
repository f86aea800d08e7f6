#include "codec/jpeg_decoder.hpp"

#include "codec/colour.hpp"

#include <algorithm>
#include <csetjmp>
#include <cstdio> // jpeglib.h uses FILE and size_t without including what defines them
#include <cstdlib>
#include <cstring>

#include <jpeglib.h>
#include <jerror.h>

namespace batchproc {

namespace {

// ---- libjpeg ---------------------------------------------------------------------------
//
// Choices: JDCT_ISLOW (the exact integer IDCT) and fancy upsampling on (libjpeg's default)
// are what cv::imread uses too, so a JPEG decodes to the same pixels here as with OpenCV,
// and the same on every machine (the float IDCT may differ with the CPU's SIMD).

// libjpeg-turbo's own advice for untrusted input: a progressive JPEG with thousands of
// tiny scans takes minutes to decode; real files have about 10.
constexpr int kMaxProgressiveScans = 500;

struct JpegErrorManager {
    jpeg_error_mgr pub; // first member: libjpeg hands back a pointer to it
    std::jmp_buf jump;
    char error_text[JMSG_LENGTH_MAX];  // the fatal error
    char damage_text[JMSG_LENGTH_MAX]; // the first corrupt-data warning
    char note_text[JMSG_LENGTH_MAX];   // the first harmless warning
    int damage_warnings;
    int note_warnings;
    bool premature_end;
    bool too_many_scans;
};

// Everything libjpeg touches lives here, in the caller's frame, never as a local of the
// function that calls setjmp (whose locals are indeterminate after longjmp). Trivially
// destructible, so a longjmp can never skip a destructor.
struct JpegJob {
    const uint8_t *data;
    size_t size;
    int scale_denom;
    cv::Mat *pixels; // filled by allocate_output

    jpeg_decompress_struct cinfo;
    JpegErrorManager err;
    jpeg_progress_mgr progress;

    bool alloc_failed;
    bool cmyk;  // pixels holds C, M, Y, K (converted afterwards)
    bool adobe; // an Adobe APP14 marker was present: CMYK is stored inverted
    bool want_icc;          // keep the APP2 markers and read the ICC profile from them
    JOCTET *icc;            // the embedded ICC profile (malloc'd by libjpeg), or null
    unsigned int icc_size;
};

JpegErrorManager *error_manager(j_common_ptr cinfo) { return reinterpret_cast<JpegErrorManager *>(cinfo->err); }

void on_jpeg_error(j_common_ptr cinfo) {
    JpegErrorManager *err = error_manager(cinfo);
    (*cinfo->err->format_message)(cinfo, err->error_text);
    std::longjmp(err->jump, 1);
}

bool is_harmless_warning(int code) {
    // Everything else libjpeg warns about is damage in the data it is decoding.
    return code == JWRN_ADOBE_XFORM || code == JWRN_JFIF_MAJOR;
}

void on_jpeg_message(j_common_ptr cinfo, int msg_level) {
    if (msg_level >= 0) return; // trace messages
    JpegErrorManager *err = error_manager(cinfo);
    ++err->pub.num_warnings;
    const int code = err->pub.msg_code;
    if (code == JWRN_JPEG_EOF) err->premature_end = true;
    if (is_harmless_warning(code)) {
        if (err->note_warnings++ == 0) (*cinfo->err->format_message)(cinfo, err->note_text);
    } else {
        if (err->damage_warnings++ == 0) (*cinfo->err->format_message)(cinfo, err->damage_text);
    }
}

void on_jpeg_output(j_common_ptr) {} // libjpeg never prints to stderr

void on_jpeg_progress(j_common_ptr cinfo) {
    if (!cinfo->is_decompressor) return;
    if (reinterpret_cast<j_decompress_ptr>(cinfo)->input_scan_number > kMaxProgressiveScans) {
        JpegErrorManager *err = error_manager(cinfo);
        err->too_many_scans = true;
        std::longjmp(err->jump, 1);
    }
}

uint8_t *allocate_output(JpegJob &job, int rows, int cols, int channels) noexcept {
    try {
        job.pixels->create(rows, cols, CV_8UC(channels));
        return job.pixels->data;
    } catch (...) {
        return nullptr;
    }
}

// All libjpeg calls that may longjmp out; only trivially destructible locals.
void jpeg_decode_steps(JpegJob &job) {
    j_decompress_ptr cinfo = &job.cinfo;
    jpeg_create_decompress(cinfo);
    cinfo->progress = &job.progress;
    jpeg_mem_src(cinfo, job.data, static_cast<unsigned long>(job.size));
    if (job.want_icc) jpeg_save_markers(cinfo, JPEG_APP0 + 2, 0xFFFF); // ICC profiles, possibly in several segments
    jpeg_read_header(cinfo, TRUE);
    if (job.want_icc && !jpeg_read_icc_profile(cinfo, &job.icc, &job.icc_size)) job.icc = nullptr;

    int channels = 3;
    switch (cinfo->jpeg_color_space) {
    case JCS_GRAYSCALE:
        cinfo->out_color_space = JCS_GRAYSCALE;
        channels = 1;
        break;
    case JCS_CMYK:
    case JCS_YCCK: // libjpeg turns YCCK into CMYK; we turn CMYK into BGR
        cinfo->out_color_space = JCS_CMYK;
        channels = 4;
        job.cmyk = true;
        job.adobe = cinfo->saw_Adobe_marker;
        break;
    default:
        cinfo->out_color_space = JCS_EXT_BGR;
        break;
    }
    cinfo->scale_num = 1;
    cinfo->scale_denom = static_cast<unsigned int>(job.scale_denom);
    cinfo->dct_method = JDCT_ISLOW;
    cinfo->do_fancy_upsampling = TRUE;

    jpeg_start_decompress(cinfo);
    const int rows = static_cast<int>(cinfo->output_height), cols = static_cast<int>(cinfo->output_width);
    uint8_t *base = allocate_output(job, rows, cols, channels);
    if (!base || cinfo->output_components != channels) {
        job.alloc_failed = !base;
        if (!base) return; // the caller destroys cinfo
        ERREXIT(cinfo, JERR_CONVERSION_NOTIMPL);
    }
    const size_t stride = job.pixels->step[0];
    JSAMPROW batch[16];
    while (cinfo->output_scanline < cinfo->output_height) {
        const JDIMENSION first = cinfo->output_scanline;
        const JDIMENSION count = std::min<JDIMENSION>(16, cinfo->output_height - first);
        for (JDIMENSION i = 0; i < count; ++i) batch[i] = base + (first + i) * stride;
        jpeg_read_scanlines(cinfo, batch, count);
    }
    jpeg_finish_decompress(cinfo);
}

// Returns false after a fatal libjpeg error (text in job.err) or a failed allocation.
bool run_libjpeg(JpegJob &job) {
    job.cinfo.err = jpeg_std_error(&job.err.pub);
    job.err.pub.error_exit = on_jpeg_error;
    job.err.pub.emit_message = on_jpeg_message;
    job.err.pub.output_message = on_jpeg_output;
    job.progress.progress_monitor = on_jpeg_progress;
    if (setjmp(job.err.jump)) {
        jpeg_destroy_decompress(&job.cinfo);
        return false;
    }
    jpeg_decode_steps(job);
    jpeg_destroy_decompress(&job.cinfo);
    return !job.alloc_failed;
}

uint8_t mul255(unsigned a, unsigned b) { return static_cast<uint8_t>((a * b + 127) / 255); }

// Naive (no ICC) CMYK -> BGR. Adobe applications write CMYK inverted (0 = full ink) and
// mark the file with an APP14 "Adobe" segment; without it, values are plain ink amounts.
cv::Mat cmyk_to_bgr(const cv::Mat &cmyk, bool inverted) {
    cv::Mat bgr(cmyk.rows, cmyk.cols, CV_8UC3);
    for (int y = 0; y < cmyk.rows; ++y) {
        const uint8_t *s = cmyk.ptr<uint8_t>(y);
        uint8_t *d = bgr.ptr<uint8_t>(y);
        for (int x = 0; x < cmyk.cols; ++x, s += 4, d += 3) {
            // "Remaining light" per channel: (1 - ink) * (1 - black).
            const unsigned c = inverted ? s[0] : 255u - s[0], m = inverted ? s[1] : 255u - s[1];
            const unsigned yy = inverted ? s[2] : 255u - s[2], k = inverted ? s[3] : 255u - s[3];
            d[0] = mul255(yy, k);
            d[1] = mul255(m, k);
            d[2] = mul255(c, k);
        }
    }
    return bgr;
}


std::string strip_prefix(std::string text, const char *prefix) {
    const size_t n = std::strlen(prefix);
    if (text.compare(0, n, prefix) == 0) text.erase(0, n);
    return text;
}

} // namespace

DecodedImage decode_jpeg(const uint8_t *data, size_t size, const ImageHeader &header, const DecodeOptions &options,
                         int min_side_hint, std::vector<uint8_t> &profile) {
    DecodedImage out;
    out.format = "jpeg";
    int denom = options.shrink_on_load && min_side_hint > 0
                    ? shrink_denominator(std::max(header.width, header.height), min_side_hint)
                    : 1;
    // Only reductions that map exactly onto the full image: when a side is not a multiple
    // of d, libjpeg's last row or column of blocks stands for fewer pixels than the others,
    // and the resize that follows would be off by a fraction of a pixel.
    while (denom > 1 && (header.width % denom != 0 || header.height % denom != 0)) denom /= 2;
    cv::Mat raw;
    JpegJob job{};
    job.data = data;
    job.size = size;
    job.scale_denom = denom;
    job.pixels = &raw;
    job.want_icc = options.colour != ColourPolicy::ignore;
    const bool decoded = run_libjpeg(job);
    std::vector<uint8_t> icc;
    if (job.icc != nullptr) {
        icc.assign(job.icc, job.icc + job.icc_size);
        std::free(job.icc);
    }
    if (!decoded) {
        if (job.alloc_failed) throw DecodeError("not enough memory to decode this " + std::to_string(header.width) + "x" +
                                                      std::to_string(header.height) + " JPEG");
        if (job.err.too_many_scans)
            throw DecodeError("damaged JPEG: more than " + std::to_string(kMaxProgressiveScans) +
                              " progressive scans (refused as a likely decompression bomb)");
        if (job.err.premature_end) throw DecodeError("truncated JPEG: premature end of data");
        throw DecodeError("damaged JPEG: " + strip_prefix(job.err.error_text, "Corrupt JPEG data: "));
    }

    std::string damage;
    if (job.err.premature_end) damage = "truncated JPEG: premature end of data";
    else if (job.err.damage_warnings > 0) damage = "damaged JPEG: " + strip_prefix(job.err.damage_text, "Corrupt JPEG data: ");
    if (!damage.empty()) {
        if (options.damaged == DamagedPolicy::error) throw DecodeError(damage);
        out.warnings.push_back(damage);
    }
    if (job.err.note_warnings > 0) out.warnings.push_back(std::string("JPEG: ") + job.err.note_text);

    if (job.cmyk) {
        // The pipeline works in RGB: CMYK goes to sRGB through its profile whatever
        // input.colour says (keep cannot keep CMYK pixels), else by the plain formula.
        out.pixels = cmyk_to_bgr(raw, job.adobe);
        if (!icc.empty() && options.colour != ColourPolicy::ignore) {
            try {
                out.pixels = cmyk_profile_to_srgb(raw, job.adobe, icc);
                out.converted_from_profile = true;
                if (options.colour == ColourPolicy::keep)
                    out.warnings.push_back("a CMYK image is converted to sRGB through its profile even under "
                                           "colour: keep (stages work on RGB); the output carries no profile");
            } catch (const ColourError &e) {
                out.warnings.push_back(std::string(e.what()) + "; the CMYK pixels are converted without it");
            }
        }
    } else {
        out.pixels = raw;
        profile = std::move(icc); // the caller applies input.colour
    }
    out.scale_denominator = denom;
    out.source_width = header.width;
    out.source_height = header.height;
    return out;
}


} // namespace batchproc
