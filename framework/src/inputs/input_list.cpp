#include "inputs/input_list.hpp"

#include "io/path_safety.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <utility>

namespace fs = std::filesystem;

namespace batchproc {

namespace {

std::string read_all(std::FILE *f) {
    std::string data;
    char buffer[1 << 16];
    size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) data.append(buffer, n);
    return data;
}

std::string read_list_bytes(const InputSpec &spec) {
    if (spec.list == "-") return read_all(stdin);
    std::FILE *f = std::fopen(spec.list.c_str(), "rb");
    if (f == nullptr)
        throw ConfigError(spec.mark, "input.list", "cannot read the list " + spec.list.string() + ": " + std::strerror(errno));
    std::string data = read_all(f);
    const bool failed = std::ferror(f) != 0;
    std::fclose(f);
    if (failed) throw ConfigError(spec.mark, "input.list", "cannot read the list " + spec.list.string());
    return data;
}

} // namespace

std::vector<std::string> split_list(const std::string &data, bool nul) {
    const char separator = nul || data.find('\0') != std::string::npos ? '\0' : '\n';
    std::vector<std::string> entries;
    size_t start = 0;
    while (start < data.size()) {
        size_t end = data.find(separator, start);
        if (end == std::string::npos) end = data.size();
        size_t stop = end;
        if (separator == '\n' && stop > start && data[stop - 1] == '\r') --stop;
        if (stop > start) entries.emplace_back(data, start, stop - start);
        start = end + 1;
    }
    return entries;
}

std::vector<InputFile> read_input_list(const InputSpec &spec) {
    const std::vector<std::string> entries = split_list(read_list_bytes(spec), spec.list_nul);
    const fs::path base = normal_absolute(spec.list_base);
    std::vector<InputFile> files;
    files.reserve(entries.size());
    std::set<std::pair<uint64_t, uint64_t>> seen_files;
    std::set<std::string> seen_missing;
    for (const std::string &entry : entries) {
        InputFile f;
        f.path = normal_absolute(fs::path(entry), base);
        f.root = base;
        if (is_within(f.path, base)) {
            const fs::path rel = f.path.lexically_relative(base).parent_path();
            f.rel_dir = rel == "." ? std::string() : rel.generic_string();
        } else {
            f.rel_dir = f.path.parent_path().relative_path().generic_string();
        }
        struct stat st{};
        if (::stat(f.path.c_str(), &st) == 0) {
            f.dev = static_cast<uint64_t>(st.st_dev);
            f.ino = static_cast<uint64_t>(st.st_ino);
            if (!seen_files.insert({f.dev, f.ino}).second) continue;
        } else if (!seen_missing.insert(f.path.string()).second) {
            continue; // its job says what is wrong with it, once
        }
        files.push_back(std::move(f));
    }
    return files;
}

} // namespace batchproc
