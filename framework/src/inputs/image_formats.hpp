// The file formats the decoder can read, by extension.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace batchproc {

// The extensions batchproc reads (its own codecs, the heif module, and OpenCV 4.6's
// imgcodecs for the rest), lower case, without the dot. This is the default include set
// when input.include is empty.
const std::vector<std::string> &readable_extensions();

// True when `ext` (with or without a leading dot, any case) is one of readable_extensions().
bool is_readable_extension(std::string_view ext);

} // namespace batchproc
