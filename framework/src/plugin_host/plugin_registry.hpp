// Finds, loads and checks plugins; looks stages up by name. Plugins are never unloaded.
#pragma once

#include "config/spec.hpp"

#include <batchproc/plugin.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace batchproc {

// A plugin that cannot be used (missing file, no entry symbol, wrong ABI version).
class PluginError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct LoadedPlugin {
    std::string id;
    std::string version;
    std::string doc;
    std::filesystem::path file;
    const bp_plugin_descriptor *descriptor = nullptr;
};

struct StageRef {
    const LoadedPlugin *plugin = nullptr;
    const bp_stage_descriptor *stage = nullptr;
};

class PluginRegistry {
public:
    // Folders searched for bundled names, in order: `extra` (the config's plugin_path),
    // $BATCHPROC_PLUGIN_PATH (colon-separated), then the bundled folder beside the binary.
    explicit PluginRegistry(std::vector<std::filesystem::path> extra = {});

    const std::vector<std::filesystem::path> &search_path() const { return search_path_; }

    // Loads a plugin by bundled name or by path (a path contains '/' or ends in .so).
    // Loading the same file twice returns the first load. Throws PluginError.
    const LoadedPlugin &load(const std::string &name_or_path);

    // Loads every plugin in the search path (for `batchproc plugins`); returns the errors
    // of those that could not be loaded, one sentence each.
    std::vector<std::string> load_all();

    const std::vector<LoadedPlugin> &plugins() const { return plugins_; }
    // "resize", or "imgproc.resize" for the stage of that plugin; {nullptr, nullptr} if
    // unknown. Throws PluginError, naming both, when two loaded plugins define a short name.
    StageRef find_stage(const std::string &name) const;
    std::vector<std::string> stage_names() const;

    // The folder of bundled plugins: <install root>/lib/batchproc/plugins (io/install_root.hpp).
    static std::filesystem::path bundled_dir();

private:
    const LoadedPlugin &load_file(const std::filesystem::path &file);

    std::vector<std::filesystem::path> search_path_;
    std::vector<LoadedPlugin> plugins_; // stable: reserve()d, never erased
};

// Reads a descriptor's fields with checks; used by the loader and by tests.
// Throws PluginError naming `file` when the plugin's ABI version is not accepted.
void check_plugin_version(const bp_plugin_descriptor &d, const std::filesystem::path &file);

} // namespace batchproc
