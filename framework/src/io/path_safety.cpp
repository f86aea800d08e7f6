#include "io/path_safety.hpp"

#include <sys/stat.h>

namespace fs = std::filesystem;

namespace batchproc {

fs::path normal_absolute(const fs::path &p, const fs::path &base) {
    fs::path out = p.is_absolute() ? p : (base.empty() ? fs::current_path() : base) / p;
    out = out.lexically_normal();
    if (!out.has_filename() && out != out.root_path()) out = out.parent_path();
    return out;
}

bool is_within(const fs::path &p, const fs::path &dir) {
    const fs::path rel = p.lexically_relative(dir);
    return !rel.empty() && *rel.begin() != "..";
}

std::optional<FileId> file_id(const fs::path &p) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) return std::nullopt;
    return FileId{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
}

fs::path resolve_links(const fs::path &p) {
    std::error_code ec;
    fs::path real = fs::weakly_canonical(p, ec);
    return ec ? p : normal_absolute(real);
}

std::optional<fs::path> first_link_below(const fs::path &root, const fs::path &folder) {
    fs::path at = root;
    for (const fs::path &part : folder.lexically_relative(root)) {
        if (part == ".") continue;
        at /= part;
        struct stat st {};
        if (::lstat(at.c_str(), &st) != 0) return std::nullopt;
        if (S_ISLNK(st.st_mode)) return at;
    }
    return std::nullopt;
}

} // namespace batchproc
