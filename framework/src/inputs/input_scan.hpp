// Turns input.paths / include / exclude / recursive (or input.list: input_list.hpp) into
// the list of input files.
#pragma once

#include "config/spec.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace batchproc {

struct InputFile {
    std::filesystem::path path; // absolute, lexically normal; through the symlinks it was reached by
    std::filesystem::path root; // the input path it was found under (the file itself when named directly)
    std::string rel_dir;        // its folder relative to root, '/'-separated; "" at the root or when named directly
    uint64_t dev = 0, ino = 0;  // the real file's identity (what path_safety compares outputs with)
    size_t root_index = 0;      // which of input.paths it was found under
};

// Rules:
// - A file named directly in input.paths is always taken, whatever its extension and
//   include/exclude: the user asked for it by name.
// - Folders are walked (all levels when spec.recursive, else the top level only). Their files
//   are taken when they match an include pattern (or, when include is empty, have an extension
//   in readable_extensions()) and match no exclude pattern. Patterns follow glob_match_entry:
//   with a '/', against the path relative to the root, else against the name.
// - Exclude patterns also prune folders (a folder whose name, or relative path for patterns
//   with '/', matches is not walked), as in .gitignore. Include patterns apply to files only.
// - Entries whose name starts with '.' inside a walked folder are skipped (hidden files,
//   .git, .thumbnails ...). A hidden path named directly in input.paths is used.
// - Symlinks are followed. A real folder is walked once, under the first path the walk (depth
//   first, names in byte order) reaches it by, so loops end. Broken symlinks, sockets, fifos
//   and devices inside folders are skipped. A subfolder that cannot be read is skipped with a
//   warning; an input path that cannot be read is a ConfigError.
// - Order: input paths in the order given; within one, byte-wise order of the path relative
//   to it. A real file (same device and inode, so hard links too) reached more than once is
//   kept at its first position only.
// - A path that does not exist (or is a broken symlink) is a ConfigError with spec.mark and
//   key "input.paths[i]".
std::vector<InputFile> scan_inputs(const InputSpec &spec);

} // namespace batchproc
