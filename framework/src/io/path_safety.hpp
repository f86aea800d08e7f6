// Path safety: the one place that decides how paths are compared and where an output may go.
// Config, input scan, job plan and the output writer all use it.
//
// The rules:
// - Paths are compared in one lexical form (normal_absolute), and files by identity
//   (device, inode), so that a symbolic link or a second name never makes two different
//   paths look like two different files.
// - output.dir itself may be a symbolic link (it is resolved once), but folders inside it
//   must be real folders: a link there could send an output anywhere. The plan refuses such a
//   link before anything runs, and the writer opens every folder below output.dir with
//   O_NOFOLLOW, so a link planted during the run is refused too.
// - An output never lands on an input: an existing file at an output path that is (by device
//   and inode) one of the inputs is a config error before anything runs.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace batchproc {

// Absolute (against `base`, default the current folder) and lexically normal, without a
// trailing separator: "photos/" and "./photos" are one folder. No file system access.
std::filesystem::path normal_absolute(const std::filesystem::path &p, const std::filesystem::path &base = {});

// true when `p` is `dir` or lies inside it; both in normal_absolute form.
bool is_within(const std::filesystem::path &p, const std::filesystem::path &dir);

// The identity of a file: its device and inode (hard links and symbolic links to one file
// share it).
struct FileId {
    uint64_t dev = 0;
    uint64_t ino = 0;
    bool operator==(const FileId &o) const { return dev == o.dev && ino == o.ino; }
    bool operator<(const FileId &o) const { return dev != o.dev ? dev < o.dev : ino < o.ino; }
};
struct FileIdHash {
    size_t operator()(const FileId &id) const { return std::hash<uint64_t>()(id.ino * 1000003u ^ id.dev); }
};

// The identity of what `p` names, following symbolic links; nullopt when it does not exist.
std::optional<FileId> file_id(const std::filesystem::path &p);

// `p` with the symbolic links of its existing part resolved (the rest kept as written).
std::filesystem::path resolve_links(const std::filesystem::path &p);

// The first symbolic link among the folders from `root` (exclusive) down to `folder`
// (inclusive), both normal_absolute with `folder` inside `root`; nullopt when every existing
// one is a real folder. Missing folders end the search (they will be created as real ones).
std::optional<std::filesystem::path> first_link_below(const std::filesystem::path &root,
                                                      const std::filesystem::path &folder);

} // namespace batchproc
