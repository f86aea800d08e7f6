// What says "this is still the same file" to the run journal: the stat() identity of a
// file (size, mtime, device, inode) and, when asked for, an XXH3-128 hash of its bytes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace batchproc {

struct FileIdentity {
    bool exists = false;
    uint64_t size = 0;
    int64_t mtime_ns = 0;       // st_mtim in nanoseconds since the epoch
    uint64_t dev = 0, ino = 0;
    std::string content_hash;   // "" unless asked for: XXH3-128 of the bytes, 32 lowercase hex digits

    bool operator==(const FileIdentity &other) const;
    bool operator!=(const FileIdentity &other) const { return !(*this == other); }
};

// stat() (following symlinks) of `path`; exists = false when it does not exist (ENOENT,
// ENOTDIR). With `with_content_hash` the file is opened once and both the identity and the
// hash come from that open file, so they describe the same bytes. Throws std::runtime_error
// naming the file on any other error (EACCES, ELOOP, a folder to hash...).
FileIdentity identify_file(const std::filesystem::path &path, bool with_content_hash);

// XXH3-128 of a file's bytes, read in fixed-size blocks (never the whole file in memory),
// as 32 lowercase hex digits (XXH128 canonical, big-endian order). Throws like identify_file.
std::string hash_file_content(const std::filesystem::path &path);

// XXH3-128 of a byte string, 32 lowercase hex digits (used for the recipe stamp).
std::string hash_bytes(std::string_view bytes);

} // namespace batchproc
