// Where the installation (or the build tree) that holds batchproc's code is: the folder
// above bin/ and lib/, found from the binary this code was linked into (the batchproc
// executable, or libbatchproc_testing.so in a plugin author's tests). Bundled plugins and
// codec modules are found below it.
#pragma once

#include <filesystem>

namespace batchproc {

// "" when it cannot be told (then callers fall back to paths relative to the current folder).
std::filesystem::path install_root();

} // namespace batchproc
