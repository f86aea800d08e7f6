// Reads a YAML config, applies --set overrides and validates it into a RunSpec.
// Stage names and parameters are left as written: the plugin host checks them against the
// plugins' schemas once the plugins are loaded.
#pragma once

#include "config/spec.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace batchproc {

// Reads, merges --set overrides into, and validates a config. Throws ConfigError.
// Each override is "dotted.key=value" ("pool.workers=4", "input.paths=[a, b]",
// "pipeline[0].resize.max_side=128"); the value is YAML. Relative paths in the file resolve
// against the file's folder, relative paths given by an override against the working folder.
RunSpec load_config(const std::filesystem::path &file, const std::vector<std::string> &overrides = {});

// The same from text; `file` names it in messages and gives the base folder for relative paths.
RunSpec load_config_text(const std::string &yaml, const std::filesystem::path &file,
                         const std::vector<std::string> &overrides = {});

} // namespace batchproc
