// Output files are written under a temporary name in their final folder and renamed into
// place when complete, so no half-written file ever carries the final name.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

namespace batchproc {

// The temporary name used for `final_path` by process `pid`: ".<name>.bp-tmp-<pid>" in the
// same folder. Deterministic, so that a coordinator can remove what a dead worker left.
std::filesystem::path temp_path_for(const std::filesystem::path &final_path, long pid);

// Creates missing folders, writes `data` to the temporary name, then renames it to
// `final_path`. With overwrite = false an existing final file is an error (checked
// atomically with the rename). Throws std::runtime_error with a sentence naming the file;
// the temporary file never outlives a failure.
void write_file_atomically(const std::filesystem::path &final_path, const void *data, size_t size, bool overwrite);

// Unlinks every temporary file being written right now. Async-signal-safe: the emergency
// exit on a second SIGINT calls it from a signal handler.
void remove_temp_files_in_progress();

} // namespace batchproc
