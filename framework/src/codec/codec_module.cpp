#include "codec/codec_module.hpp"

#include <dlfcn.h>

#include <map>
#include <mutex>

namespace fs = std::filesystem;

namespace batchproc {

fs::path codec_module_dir() {
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (ec) return fs::path(BATCHPROC_CODEC_SUBDIR);
    return (exe.parent_path().parent_path() / BATCHPROC_CODEC_SUBDIR).lexically_normal();
}

namespace {

const CodecModuleApi &load(const std::string &name) {
    const fs::path file = codec_module_dir() / ("batchproc_codec_" + name + ".so");
    // RTLD_LOCAL: the module's libraries stay out of the global namespace of the process.
    void *handle = ::dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char *why = ::dlerror();
        throw CodecModuleError("cannot load the " + name + " codec module " + file.string() + ": " +
                               (why ? why : "unknown error") + " (is batchproc installed completely?)");
    }
    const std::string symbol = "batchproc_codec_" + name;
    using Entry = const CodecModuleApi *(*)();
    const auto entry = reinterpret_cast<Entry>(::dlsym(handle, symbol.c_str()));
    const CodecModuleApi *api = entry ? entry() : nullptr;
    if (!api || api->version != CodecModuleApi::kVersion)
        throw CodecModuleError("the codec module " + file.string() + " is not one of this batchproc build (" +
                               (api ? "version " + std::to_string(api->version) : "no " + symbol + " entry") +
                               "); reinstall batchproc");
    return *api; // the module stays loaded for the life of the process
}

} // namespace

const CodecModuleApi &codec_module(const std::string &name) {
    static std::mutex mutex;
    static std::map<std::string, const CodecModuleApi *> loaded;
    std::lock_guard<std::mutex> guard(mutex);
    const auto it = loaded.find(name);
    if (it != loaded.end()) return *it->second;
    const CodecModuleApi &api = load(name);
    loaded.emplace(name, &api);
    return api;
}

} // namespace batchproc
