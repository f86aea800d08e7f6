// The output stage: has the host encode the image in the chosen format and write it.
#include "stages.hpp"

#include <cctype>
#include <filesystem>
#include <string>

namespace imgproc {

using batchproc::ParamError;

namespace {

std::string input_extension(const std::string &path) {
    std::string ext = std::filesystem::path(path).extension().string();
    if (!ext.empty()) ext.erase(0, 1);
    for (char &c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
    return ext;
}

bool is_jpeg(const std::string &ext) { return ext == "jpg" || ext == "jpeg" || ext == "jpe"; }

} // namespace

void Save::validate() {
    const std::string f = format.value();
    if (progressive && !is_jpeg(f) && f != "auto")
        throw ParamError("save: progressive applies to jpg only, but format is " + f);
    if (optimize && !is_jpeg(f) && f != "auto")
        throw ParamError("save: optimize applies to jpg only, but format is " + f);
    if (lossless && f != "webp" && f != "avif" && f != "auto")
        throw ParamError("save: lossless applies to webp and avif only, but format is " + f);
    background_ = parse_colour(background, "background");
}

void Save::process(Job &job) {
    const cv::Mat image = job.image();
    check_image(image, name);

    // auto writes the input's own format: {ext} is the input's extension, so the encoder must match it.
    std::string ext = format.value();
    if (ext == "auto") {
        ext = input_extension(job.input_path());
        if (ext.empty())
            throw std::runtime_error("save: format auto keeps the input's format, but \"" + job.input_path() +
                                     "\" has no extension; set format to jpg, png, webp, tiff, avif or bmp");
    }
    if (!job.can_write_format(ext))
        throw std::runtime_error("save: batchproc cannot write ." + ext +
                                 " files (format auto keeps the input's format); set format to jpg, png, webp, "
                                 "tiff, avif or bmp");

    bp_encode_options options{};
    options.quality = int(quality);
    options.progressive = progressive ? 1 : 0;
    options.optimize = optimize ? 1 : 0;
    options.subsampling = std::stoi(subsampling.value());
    options.lossless = lossless ? 1 : 0;
    options.png_compression = int(png_compression);
    options.background[0] = background_.b;
    options.background[1] = background_.g;
    options.background[2] = background_.r;
    uint64_t bytes = 0;
    try {
        bytes = job.write_image(image, ext, options);
    } catch (const std::exception &e) {
        throw std::runtime_error(std::string("save: ") + e.what());
    }
    job.metric("width", image.cols);
    job.metric("height", image.rows);
    job.metric("bytes", int64_t(bytes));
}

} // namespace imgproc
