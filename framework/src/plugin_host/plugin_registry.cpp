#include "plugin_host/plugin_registry.hpp"

#include "io/install_root.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <set>
#include <system_error>

namespace fs = std::filesystem;

namespace batchproc {

static std::vector<fs::path> split_path_list(const char *text) {
    std::vector<fs::path> out;
    if (text == nullptr) return out;
    std::string s(text);
    size_t start = 0;
    while (start <= s.size()) {
        size_t end = s.find(':', start);
        if (end == std::string::npos) end = s.size();
        if (end > start) out.emplace_back(s.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

fs::path PluginRegistry::bundled_dir() { return (install_root() / BATCHPROC_PLUGIN_SUBDIR).lexically_normal(); }

PluginRegistry::PluginRegistry(std::vector<fs::path> extra) : search_path_(std::move(extra)) {
    for (auto &p : split_path_list(std::getenv("BATCHPROC_PLUGIN_PATH"))) search_path_.push_back(p);
    search_path_.push_back(bundled_dir());
    plugins_.reserve(256);
}

void check_plugin_version(const bp_plugin_descriptor &d, const fs::path &file) {
    const std::string ours = std::to_string(BP_API_VERSION_MAJOR) + "." + std::to_string(BP_API_VERSION_MINOR);
    const std::string theirs = std::to_string(d.api_major) + "." + std::to_string(d.api_minor);
    if (d.api_major != BP_API_VERSION_MAJOR || d.api_minor > BP_API_VERSION_MINOR) {
        throw PluginError("plugin " + file.string() + " was built for plugin API " + theirs +
                          ", but this batchproc provides API " + ours +
                          (d.api_major != BP_API_VERSION_MAJOR ? " (the major versions must match)"
                                                               : " (the plugin needs a newer batchproc)") +
                          "; rebuild the plugin against this batchproc's SDK");
    }
    if (d.struct_size < sizeof(bp_plugin_descriptor) || d.id == nullptr || d.id[0] == '\0')
        throw PluginError("plugin " + file.string() + " has a malformed descriptor (size " +
                          std::to_string(d.struct_size) + ", id " + (d.id ? d.id : "missing") + ")");
    for (size_t i = 0; i < d.stage_count; ++i) {
        const bp_stage_descriptor *s = d.stages[i];
        // A stage descriptor of API 1.0/1.1 ends before name_param (1.2): still whole.
        if (s == nullptr || s->struct_size < offsetof(bp_stage_descriptor, name_param) || s->name == nullptr ||
            s->create == nullptr || s->process == nullptr || s->destroy == nullptr)
            throw PluginError("plugin " + file.string() + ": stage " + std::to_string(i) + " has a malformed descriptor");
    }
}

const LoadedPlugin &PluginRegistry::load_file(const fs::path &given) {
    std::error_code ec;
    fs::path file = fs::weakly_canonical(given, ec);
    if (ec) file = given;
    for (const LoadedPlugin &p : plugins_)
        if (p.file == file) return p;
    // error_code forms: a name the system refuses (too long, say) is a config error too.
    if (!fs::exists(file, ec)) {
        if (ec) throw PluginError("plugin file " + file.string() + " cannot be used: " + ec.message());
        throw PluginError("plugin file " + file.string() + " does not exist");
    }

    // RTLD_LOCAL keeps each plugin's symbols to itself; RTLD_NODELETE: plugins are never
    // unloaded, so pointers into their tables stay valid for the life of the process.
    void *handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (handle == nullptr) throw PluginError("cannot load plugin " + file.string() + ": " + dlerror());
    auto entry = reinterpret_cast<bp_plugin_entry_v1_fn>(dlsym(handle, BP_PLUGIN_ENTRY_V1_NAME));
    if (entry == nullptr)
        throw PluginError("plugin " + file.string() + " does not export " BP_PLUGIN_ENTRY_V1_NAME
                          " (is it a batchproc plugin, built with BATCHPROC_PLUGIN or batchproc_add_plugin?)");
    const bp_plugin_descriptor *d = entry();
    if (d == nullptr) throw PluginError("plugin " + file.string() + ": " BP_PLUGIN_ENTRY_V1_NAME " returned no descriptor");
    check_plugin_version(*d, file);
    for (const LoadedPlugin &p : plugins_)
        if (p.id == d->id)
            throw PluginError("plugin " + file.string() + " has id \"" + d->id + "\", already loaded from " +
                              p.file.string());
    if (plugins_.size() == plugins_.capacity()) throw PluginError("too many plugins");
    LoadedPlugin loaded;
    loaded.id = d->id;
    loaded.version = d->version ? d->version : "";
    loaded.doc = d->doc ? d->doc : "";
    loaded.file = file;
    loaded.descriptor = d;
    plugins_.push_back(std::move(loaded));
    return plugins_.back();
}

const LoadedPlugin &PluginRegistry::load(const std::string &name_or_path) {
    const bool is_path = name_or_path.find('/') != std::string::npos ||
                         (name_or_path.size() > 3 && name_or_path.compare(name_or_path.size() - 3, 3, ".so") == 0);
    if (is_path) return load_file(name_or_path);
    for (const LoadedPlugin &p : plugins_)
        if (p.id == name_or_path) return p;
    for (const fs::path &dir : search_path_) {
        const fs::path candidate = dir / (name_or_path + ".so");
        std::error_code ec;
        if (fs::exists(candidate, ec)) return load_file(candidate);
        if (ec && ec != std::errc::no_such_file_or_directory)
            throw PluginError("plugin \"" + name_or_path.substr(0, 80) + (name_or_path.size() > 80 ? "..." : "") +
                              "\" cannot be looked up in " + dir.string() + ": " + ec.message());
    }
    std::string where;
    for (const fs::path &dir : search_path_) where += (where.empty() ? "" : ", ") + dir.string();
    throw PluginError("plugin \"" + name_or_path + "\" not found in the plugin path (" + where +
                      "); give a path to its .so, or add its folder to BATCHPROC_PLUGIN_PATH");
}

std::vector<std::string> PluginRegistry::load_all() {
    std::vector<std::string> errors;
    std::set<fs::path> seen;
    for (const fs::path &dir : search_path_) {
        std::error_code ec;
        if (!fs::is_directory(dir, ec)) continue;
        std::vector<fs::path> files;
        for (const auto &entry : fs::directory_iterator(dir, ec))
            if (entry.path().extension() == ".so") files.push_back(entry.path());
        std::sort(files.begin(), files.end());
        for (const fs::path &f : files) {
            if (!seen.insert(f.stem()).second) continue; // an earlier folder's plugin of that name wins
            try {
                load_file(f);
            } catch (const PluginError &e) {
                errors.emplace_back(e.what());
            }
        }
    }
    return errors;
}

StageRef PluginRegistry::find_stage(const std::string &name) const {
    // "resize", or "imgproc.resize": the stage of that plugin.
    const size_t dot = name.find('.');
    const std::string plugin = dot == std::string::npos ? std::string() : name.substr(0, dot);
    const std::string stage = dot == std::string::npos ? name : name.substr(dot + 1);
    std::vector<StageRef> found;
    for (const LoadedPlugin &p : plugins_) {
        if (!plugin.empty() && p.id != plugin) continue;
        for (size_t i = 0; i < p.descriptor->stage_count; ++i)
            if (stage == p.descriptor->stages[i]->name) found.push_back({&p, p.descriptor->stages[i]});
    }
    if (found.size() > 1) {
        std::string both;
        for (const StageRef &r : found) both += (both.empty() ? "" : " or ") + r.plugin->id + "." + stage;
        throw PluginError("stage \"" + name + "\" is defined by more than one loaded plugin: write " + both);
    }
    return found.empty() ? StageRef{} : found.front();
}

std::vector<std::string> PluginRegistry::stage_names() const {
    std::vector<std::string> names;
    for (const LoadedPlugin &p : plugins_)
        for (size_t i = 0; i < p.descriptor->stage_count; ++i) names.emplace_back(p.descriptor->stages[i]->name);
    return names;
}

} // namespace batchproc
