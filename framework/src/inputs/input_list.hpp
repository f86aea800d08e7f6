// input.list and --files-from: the inputs named in a list, one per line (or ending with NUL
// bytes, as `find -print0` writes them), the xargs / GNU parallel way of handing a program
// a million paths that no command line can hold.
#pragma once

#include "config/spec.hpp"
#include "inputs/input_scan.hpp"

#include <cstdio>
#include <string>
#include <vector>

namespace batchproc {

// The entries of a list in its raw bytes: split on NUL when `nul` or when the data holds a
// NUL byte (a newline-separated list never does), else on newlines (a '\r' before one is
// dropped). Empty entries are skipped.
std::vector<std::string> split_list(const std::string &data, bool nul);

// The input files spec.list names (read from standard input for "-"), in list order.
// - Relative entries are taken from spec.list_base; each is made absolute and lexically
//   normal. An entry inside list_base keeps its folder relative to it as {rel_dir}
//   ("photos/2024" for photos/2024/a.jpg); one outside keeps its absolute folder, without
//   the leading '/', so that outputs never collide by name alone.
// - Every listed file is taken, whatever its extension (include/exclude apply to folders
//   walked under paths): the list named it. A listed path that does not exist or is a
//   folder fails its own job, when it is read, not the run.
// - A real file listed more than once (same device and inode) is kept at its first entry.
// A list file that cannot be read is a ConfigError naming it.
std::vector<InputFile> read_input_list(const InputSpec &spec);

} // namespace batchproc
