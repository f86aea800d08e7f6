#include "codec/jpeg_encoder.hpp"

#include "codec/alpha_blend.hpp"

#include <cstdio> // jpeglib.h needs FILE
#include <jpeglib.h>

#include <csetjmp>
#include <optional>
#include <cstdlib>
#include <string>

namespace batchproc {

namespace {

// libjpeg reports errors through a callback that must not return: it jumps back to
// encode_jpeg, which turns the message into an EncodeError.
struct ErrorManager {
    jpeg_error_mgr pub;
    std::jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
};

void on_error(j_common_ptr cinfo) {
    auto *err = reinterpret_cast<ErrorManager *>(cinfo->err);
    (*cinfo->err->format_message)(cinfo, err->message);
    std::longjmp(err->jump, 1);
}

void on_message(j_common_ptr, int) {} // warnings: libjpeg would print them to stderr

} // namespace

std::vector<uint8_t> encode_jpeg(const cv::Mat &image, const EncodeOptions &options, const std::vector<uint8_t> &icc) {
    if (image.depth() != CV_8U || (image.channels() != 1 && image.channels() != 3 && image.channels() != 4))
        throw EncodeError("jpg holds 8-bit gray or colour images; this one has " + std::to_string(image.channels()) +
                          " channels of depth " + std::to_string(image.depth()));
    if (options.subsampling != 420 && options.subsampling != 422 && options.subsampling != 444)
        throw EncodeError("jpg chroma subsampling must be 420, 422 or 444, not " + std::to_string(options.subsampling));

    // BGRA is blended over options.background one row at a time, into `row`.
    const bool blend = image.channels() == 4;
    std::optional<AlphaBlender> blender;
    std::vector<uint8_t> blended;
    if (blend) {
        blender.emplace(options.background);
        blended.resize(size_t(image.cols) * 3);
    }

    // Everything the longjmp may skip over lives outside the setjmp scope or is plain data.
    jpeg_compress_struct cinfo{};
    ErrorManager err{};
    unsigned char *buffer = nullptr;
    unsigned long size = 0;
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = on_error;
    err.pub.emit_message = on_message;
    if (setjmp(err.jump)) {
        jpeg_destroy_compress(&cinfo);
        std::free(buffer);
        throw EncodeError(std::string("the jpg encoder failed: ") + err.message);
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &buffer, &size);
    cinfo.image_width = static_cast<JDIMENSION>(image.cols);
    cinfo.image_height = static_cast<JDIMENSION>(image.rows);
    const bool colour = image.channels() != 1;
    cinfo.input_components = colour ? 3 : 1;
    cinfo.in_color_space = colour ? JCS_EXT_BGR : JCS_GRAYSCALE;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, options.quality, TRUE);
    cinfo.optimize_coding = options.optimize ? TRUE : FALSE;
    if (options.progressive) jpeg_simple_progression(&cinfo);
    if (colour) {
        // jpeg_set_defaults chose 2x2 (4:2:0) for luma; chroma stays 1x1.
        cinfo.comp_info[0].h_samp_factor = options.subsampling == 444 ? 1 : 2;
        cinfo.comp_info[0].v_samp_factor = options.subsampling == 420 ? 2 : 1;
    }
    jpeg_start_compress(&cinfo, TRUE);
    if (!icc.empty()) jpeg_write_icc_profile(&cinfo, icc.data(), static_cast<unsigned int>(icc.size()));
    while (cinfo.next_scanline < cinfo.image_height) {
        const uint8_t *source = image.ptr<uint8_t>(static_cast<int>(cinfo.next_scanline));
        if (blend) {
            blender->blend_row(source, blended.data(), image.cols);
            source = blended.data();
        }
        JSAMPROW row = const_cast<JSAMPROW>(source);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    std::vector<uint8_t> out(buffer, buffer + size);
    jpeg_destroy_compress(&cinfo);
    std::free(buffer);
    return out;
}

} // namespace batchproc
