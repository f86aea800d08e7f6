// Output files are written under a temporary name in their final folder and renamed into
// place when complete, so no half-written file ever carries the final name.
//
// The temporary file is ".<name>.bp-tmp-<pid>-<random>", created with O_EXCL|O_NOFOLLOW
// through a descriptor of its folder: a file or link planted under that name is never
// opened, let alone truncated. With `durable`, the file is fsynced before the rename and its
// folder after it, so that after a power loss the final name holds either the old file or
// the complete new one, never an empty one.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

namespace batchproc {

struct WriteOptions {
    bool overwrite = true; // false: an existing final file is an error (checked atomically with the rename)
    bool durable = true;   // fsync the file before the rename and the folder after it
    // When set, `final_path` lies inside this folder and every folder between them is opened
    // (and created) without following symbolic links: the path-safety rule for output.dir.
    std::filesystem::path root;
};

// Creates missing folders, writes `data` under a temporary name, then renames it to
// `final_path`. Throws std::runtime_error with a sentence naming the file; the temporary
// file never outlives a failure.
void write_file_atomically(const std::filesystem::path &final_path, const void *data, size_t size,
                           const WriteOptions &options);

// Removes the temporary files that process `pid` (dead, so it cannot) left for `final_path`.
void remove_temp_files_of(const std::filesystem::path &final_path, long pid);

// Removes from `folder` the temporary files of processes that are gone (a run killed with
// SIGKILL, a power loss); those of live processes (another run writing there) stay.
// Returns how many were removed.
size_t remove_stale_temp_files(const std::filesystem::path &folder);

// true for a name write_file_atomically gives its temporary files.
bool is_temp_file_name(const std::string &name);

// Unlinks every temporary file being written right now. Async-signal-safe: the emergency
// exit on a second SIGINT calls it from a signal handler.
void remove_temp_files_in_progress();

} // namespace batchproc
