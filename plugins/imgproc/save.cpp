// The output stage: encodes the image and hands the bytes to the host.
#include "stages.hpp"

#include <opencv2/imgcodecs.hpp>

#include <cctype>
#include <filesystem>
#include <string>
#include <vector>

namespace imgproc {

using batchproc::ParamError;

namespace {

// What an encoder can hold, so that the image is made to fit it first.
struct Codec {
    bool alpha = false;  // keeps a 4th channel
    bool deep = false;   // keeps 16-bit samples
};

Codec codec_for(const std::string &ext) {
    if (ext == "png" || ext == "tif" || ext == "tiff") return {true, true};
    if (ext == "webp") return {true, false};
    if (ext == "jpg" || ext == "jpeg" || ext == "jpe" || ext == "bmp" || ext == "dib") return {false, false};
    // Other formats OpenCV writes (pgm, ppm, jp2, ...): no alpha; depth is left to the encoder.
    return {false, true};
}

std::string input_extension(const std::string &path) {
    std::string ext = std::filesystem::path(path).extension().string();
    if (!ext.empty()) ext.erase(0, 1);
    for (char &c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
    return ext;
}

} // namespace

void Save::validate() {
    if (progressive && format != "jpg" && format != "auto")
        throw ParamError("save: progressive applies to jpg only, but format is " + format.value());
    background_ = parse_colour(background, "background");
}

void Save::process(Job &job) {
    const cv::Mat in = job.image();
    check_image(in, name);

    // auto writes the input's own format: {ext} is the input's extension, so the encoder must match it.
    std::string ext = format.value();
    if (ext == "auto") {
        ext = input_extension(job.input_path());
        if (ext.empty())
            throw std::runtime_error("save: format auto keeps the input's format, but \"" + job.input_path() +
                                     "\" has no extension; set format to jpg, png, webp, tiff or bmp");
    }
    if (!cv::haveImageWriter("." + ext))
        throw std::runtime_error("save: OpenCV cannot write ." + ext +
                                 " files (format auto keeps the input's format); set format to jpg, png, webp, "
                                 "tiff or bmp");

    const Codec codec = codec_for(ext);
    cv::Mat image = in;
    if (image.channels() == 4 && !codec.alpha) image = flatten_alpha(image, background_);
    if (image.depth() == CV_16U && !codec.deep) image = to_8bit(image);

    std::vector<int> options;
    if (ext == "jpg" || ext == "jpeg" || ext == "jpe") {
        options = {cv::IMWRITE_JPEG_QUALITY, int(quality), cv::IMWRITE_JPEG_PROGRESSIVE, progressive ? 1 : 0};
    } else if (ext == "webp") {
        options = {cv::IMWRITE_WEBP_QUALITY, int(quality)};
    } else if (ext == "png") {
        options = {cv::IMWRITE_PNG_COMPRESSION, int(png_compression)};
    }

    std::vector<uint8_t> bytes;
    bool ok = false;
    try {
        ok = cv::imencode("." + ext, image, bytes, options);
    } catch (const cv::Exception &e) {
        throw std::runtime_error("save: could not encode the " + describe(image) + " image as ." + ext + ": " +
                                 e.err);
    }
    if (!ok || bytes.empty())
        throw std::runtime_error("save: could not encode the " + describe(image) + " image as ." + ext);

    job.write_output(bytes);
    job.metric("width", image.cols);
    job.metric("height", image.rows);
    job.metric("bytes", int64_t(bytes.size()));
}

} // namespace imgproc
