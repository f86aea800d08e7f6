#include "codec/webp_codec.hpp"

#include <opencv2/core.hpp>

#include <webp/decode.h>
#include <webp/demux.h>
#include <webp/encode.h>
#include <webp/mux.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace batchproc {

namespace {

constexpr int kMaxSide = 16383; // WebP's own limit (14-bit sizes)

struct DemuxDelete {
    void operator()(WebPDemuxer *d) const { WebPDemuxDelete(d); }
};
struct AnimDecoderDelete {
    void operator()(WebPAnimDecoder *d) const { WebPAnimDecoderDelete(d); }
};
struct MuxDelete {
    void operator()(WebPMux *m) const { WebPMuxDelete(m); }
};

struct ChunkIterator {
    WebPChunkIterator it{};
    ChunkIterator() = default;
    ~ChunkIterator() { WebPDemuxReleaseChunkIterator(&it); }
    ChunkIterator(const ChunkIterator &) = delete;
    ChunkIterator &operator=(const ChunkIterator &) = delete;
};

// The decode buffer's bookkeeping (the pixels themselves are ours: external memory).
struct DecoderConfig {
    WebPDecoderConfig config;
    DecoderConfig() { WebPInitDecoderConfig(&config); }
    ~DecoderConfig() { WebPFreeDecBuffer(&config.output); }
    DecoderConfig(const DecoderConfig &) = delete;
    DecoderConfig &operator=(const DecoderConfig &) = delete;
};

struct Picture {
    WebPPicture pic;
    Picture() { WebPPictureInit(&pic); }
    ~Picture() { WebPPictureFree(&pic); }
    Picture(const Picture &) = delete;
    Picture &operator=(const Picture &) = delete;
};

struct MemoryWriter {
    WebPMemoryWriter writer;
    MemoryWriter() { WebPMemoryWriterInit(&writer); }
    ~MemoryWriter() { WebPMemoryWriterClear(&writer); }
    MemoryWriter(const MemoryWriter &) = delete;
    MemoryWriter &operator=(const MemoryWriter &) = delete;
};

struct AssembledData {
    WebPData data;
    AssembledData() { WebPDataInit(&data); }
    ~AssembledData() { WebPDataClear(&data); }
    AssembledData(const AssembledData &) = delete;
    AssembledData &operator=(const AssembledData &) = delete;
};

std::string dims(int w, int h) { return std::to_string(w) + "x" + std::to_string(h); }

std::string describe(VP8StatusCode status) {
    switch (status) {
    case VP8_STATUS_NOT_ENOUGH_DATA: return "truncated WebP file: the data ends before the image is complete";
    case VP8_STATUS_BITSTREAM_ERROR: return "damaged WebP file: the compressed image data is corrupt";
    case VP8_STATUS_UNSUPPORTED_FEATURE: return "unsupported WebP file: it uses a feature this libwebp cannot decode";
    case VP8_STATUS_INVALID_PARAM: return "damaged WebP file: its header is invalid";
    case VP8_STATUS_OUT_OF_MEMORY: return "not enough memory to decode this WebP file";
    default: return "damaged WebP file: libwebp could not decode it (status " + std::to_string(int(status)) + ")";
    }
}

// The ICCP chunk, when the file has one. A file whose container the demuxer refuses keeps
// no profile here; decoding the pixels says what is wrong with it.
std::vector<uint8_t> icc_profile(const WebPData &webp) {
    std::unique_ptr<WebPDemuxer, DemuxDelete> demux(WebPDemux(&webp));
    if (!demux || !(WebPDemuxGetI(demux.get(), WEBP_FF_FORMAT_FLAGS) & ICCP_FLAG)) return {};
    ChunkIterator chunk;
    if (!WebPDemuxGetChunk(demux.get(), "ICCP", 1, &chunk.it)) return {};
    return std::vector<uint8_t>(chunk.it.chunk.bytes, chunk.it.chunk.bytes + chunk.it.chunk.size);
}

// The first frame of an animation, composed on the canvas (what a viewer shows first).
cv::Mat first_frame(const WebPData &webp, bool has_alpha, int &frame_count) {
    WebPAnimDecoderOptions options;
    if (!WebPAnimDecoderOptionsInit(&options)) throw DecodeError("the WebP decoder could not be started");
    options.color_mode = MODE_BGRA;
    options.use_threads = 0;
    std::unique_ptr<WebPAnimDecoder, AnimDecoderDelete> decoder(WebPAnimDecoderNew(&webp, &options));
    if (!decoder) throw DecodeError("damaged or truncated animated WebP file: its frames could not be read");
    WebPAnimInfo info;
    if (!WebPAnimDecoderGetInfo(decoder.get(), &info) || info.frame_count == 0)
        throw DecodeError("damaged animated WebP file: it has no frames");
    frame_count = int(info.frame_count);
    uint8_t *canvas = nullptr;
    int timestamp = 0;
    if (!WebPAnimDecoderGetNext(decoder.get(), &canvas, &timestamp) || canvas == nullptr)
        throw DecodeError("damaged animated WebP file: its first frame could not be decoded");
    // The canvas belongs to the decoder: copy it out.
    const cv::Mat view(int(info.canvas_height), int(info.canvas_width), CV_8UC4, canvas);
    cv::Mat pixels;
    if (has_alpha) {
        view.copyTo(pixels);
    } else {
        static const int drop_alpha[] = {0, 0, 1, 1, 2, 2};
        pixels.create(view.size(), CV_8UC3);
        cv::mixChannels(&view, 1, &pixels, 1, drop_alpha, 3);
    }
    return pixels;
}

} // namespace

CodecImage decode_webp(const uint8_t *data, size_t size, int min_side_hint) {
    if (data == nullptr || size == 0) throw DecodeError("empty WebP file");
    WebPBitstreamFeatures features;
    const VP8StatusCode header = WebPGetFeatures(data, size, &features);
    if (header == VP8_STATUS_NOT_ENOUGH_DATA) throw DecodeError("truncated WebP file: it ends inside its header");
    if (header != VP8_STATUS_OK) throw DecodeError(describe(header));
    const int w = features.width, h = features.height;
    if (w <= 0 || h <= 0 || w > kMaxSide || h > kMaxSide)
        throw DecodeError("damaged WebP file: its header gives an image size of " + dims(w, h));

    CodecImage out;
    const WebPData webp{data, size};
    out.icc = icc_profile(webp);

    if (features.has_animation) {
        int frames = 0;
        out.pixels = first_frame(webp, features.has_alpha != 0, frames);
        if (frames > 1)
            out.warnings.push_back("animated WebP: only the first of its " + std::to_string(frames) +
                                   " frames was decoded");
        return out;
    }

    int d = min_side_hint > 0 ? shrink_denominator(std::max(w, h), min_side_hint) : 1;
    // Only reductions that map exactly onto the full image (see decode_image).
    while (d > 1 && (w % d != 0 || h % d != 0)) d /= 2;

    const bool alpha = features.has_alpha != 0;
    try {
        out.pixels.create(h / d, w / d, alpha ? CV_8UC4 : CV_8UC3);
    } catch (const cv::Exception &) {
        throw DecodeError("not enough memory to decode this " + dims(w, h) + " WebP file");
    }
    DecoderConfig decoder;
    WebPDecoderConfig &config = decoder.config;
    if (d > 1) {
        config.options.use_scaling = 1;
        config.options.scaled_width = w / d;
        config.options.scaled_height = h / d;
    }
    config.output.colorspace = alpha ? MODE_BGRA : MODE_BGR;
    config.output.is_external_memory = 1;
    config.output.u.RGBA.rgba = out.pixels.data;
    config.output.u.RGBA.stride = int(out.pixels.step[0]);
    config.output.u.RGBA.size = out.pixels.step[0] * size_t(out.pixels.rows);
    const VP8StatusCode status = WebPDecode(data, size, &config);
    if (status != VP8_STATUS_OK) throw DecodeError(describe(status));
    out.scale_denominator = d;
    return out;
}

std::vector<uint8_t> encode_webp(const cv::Mat &image, const EncodeOptions &options, const std::vector<uint8_t> &icc) {
    if (image.empty()) throw EncodeError("cannot write an empty image as WebP");
    if (image.depth() != CV_8U)
        throw EncodeError("WebP holds 8-bit samples only; convert this image to 8-bit before writing it as WebP");
    const int channels = image.channels();
    if (channels != 1 && channels != 3 && channels != 4)
        throw EncodeError("WebP can be written from 1, 3 or 4 channels, not " + std::to_string(channels));
    if (image.cols > kMaxSide || image.rows > kMaxSide)
        throw EncodeError("WebP images are at most 16383 pixels on a side; this one is " +
                          dims(image.cols, image.rows) + " (resize it, or choose another format)");
    if (!options.lossless && (options.quality < 1 || options.quality > 100))
        throw EncodeError("WebP quality must be from 1 to 100, not " + std::to_string(options.quality));

    cv::Mat bgr;
    if (channels == 1) cv::merge(std::vector<cv::Mat>{image, image, image}, bgr); // as cv::imencode does
    const cv::Mat &source = channels == 1 ? bgr : image;

    // What libwebp's WebPEncodeBGR(A) / WebPEncodeLosslessBGR(A) do, which cv::imencode
    // calls: the default preset at the quality (70 for lossless, where it means effort).
    WebPConfig config;
    if (!WebPConfigPreset(&config, WEBP_PRESET_DEFAULT, options.lossless ? 70.f : float(options.quality)))
        throw EncodeError("the WebP encoder could not be started (libwebp version mismatch)");
    config.lossless = options.lossless ? 1 : 0;
    Picture picture;
    WebPPicture &pic = picture.pic;
    MemoryWriter memory;
    pic.use_argb = options.lossless ? 1 : 0;
    pic.width = source.cols;
    pic.height = source.rows;
    pic.writer = WebPMemoryWrite;
    pic.custom_ptr = &memory.writer;
    const int stride = int(source.step[0]);
    const int imported = source.channels() == 4 ? WebPPictureImportBGRA(&pic, source.data, stride)
                                                : WebPPictureImportBGR(&pic, source.data, stride);
    if (!imported)
        throw EncodeError("not enough memory to encode this " + dims(source.cols, source.rows) + " image as WebP");
    if (!WebPEncode(&config, &pic)) {
        if (pic.error_code == VP8_ENC_ERROR_OUT_OF_MEMORY || pic.error_code == VP8_ENC_ERROR_BITSTREAM_OUT_OF_MEMORY)
            throw EncodeError("not enough memory to encode this " + dims(source.cols, source.rows) + " image as WebP");
        throw EncodeError("the WebP encoder failed (libwebp error " + std::to_string(int(pic.error_code)) + ")");
    }
    const uint8_t *bytes = memory.writer.mem;
    if (icc.empty()) return std::vector<uint8_t>(bytes, bytes + memory.writer.size);

    // The profile needs the extended (VP8X) container: let the muxer rebuild the file.
    std::unique_ptr<WebPMux, MuxDelete> mux(WebPMuxNew());
    if (!mux) throw EncodeError("not enough memory to add the ICC profile to the WebP file");
    const WebPData bitstream{bytes, memory.writer.size};
    const WebPData profile{icc.data(), icc.size()};
    AssembledData assembled;
    WebPMuxError err = WebPMuxSetImage(mux.get(), &bitstream, 0);
    if (err == WEBP_MUX_OK) err = WebPMuxSetChunk(mux.get(), "ICCP", &profile, 0);
    if (err == WEBP_MUX_OK) err = WebPMuxAssemble(mux.get(), &assembled.data);
    if (err != WEBP_MUX_OK)
        throw EncodeError("could not add the ICC profile to the WebP file (libwebpmux error " +
                          std::to_string(int(err)) + ")");
    return std::vector<uint8_t>(assembled.data.bytes, assembled.data.bytes + assembled.data.size);
}

} // namespace batchproc
