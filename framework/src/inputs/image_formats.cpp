#include "inputs/image_formats.hpp"

#include <algorithm>

namespace batchproc {

const std::vector<std::string> &readable_extensions() {
    // Fixed rather than probed from the codecs so that the set of inputs a config selects
    // does not depend on how the local libraries were built; a file that then cannot be
    // decoded fails its own job with a message instead of vanishing from the plan.
    static const std::vector<std::string> extensions = {
        "jpg", "jpeg", "jpe", "jp2", "png", "webp", "tif", "tiff", "bmp", "dib", "pbm", "pgm",
        "ppm", "pxm", "pnm", "sr", "ras", "hdr", "pic", "exr", "heic", "heif", "hif", "avif",
    };
    return extensions;
}

bool is_readable_extension(std::string_view ext) {
    if (!ext.empty() && ext.front() == '.') ext.remove_prefix(1);
    std::string lower(ext);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; });
    const auto &all = readable_extensions();
    return std::find(all.begin(), all.end(), lower) != all.end();
}

} // namespace batchproc
