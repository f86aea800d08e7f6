#include "io/install_root.hpp"

#include <dlfcn.h>

namespace fs = std::filesystem;

namespace batchproc {

fs::path install_root() {
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    fs::path binary = ec ? fs::path() : exe;
    // The shared object this function is in, when it is not the executable: dladdr names it
    // as it was loaded (an absolute path for a library; for the executable, its argv[0]).
    Dl_info info{};
    if (::dladdr(reinterpret_cast<void *>(&install_root), &info) != 0 && info.dli_fname != nullptr) {
        const fs::path here = fs::absolute(info.dli_fname, ec);
        if (!ec && (binary.empty() || !fs::equivalent(here, binary, ec))) binary = fs::weakly_canonical(here, ec);
    }
    return binary.empty() ? fs::path() : binary.parent_path().parent_path().lexically_normal();
}

} // namespace batchproc
