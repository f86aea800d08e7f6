#include "codec/codec_module.hpp"

#include "io/install_root.hpp"

#include <dlfcn.h>

#include <map>
#include <mutex>

namespace fs = std::filesystem;

namespace batchproc {

fs::path codec_module_dir() { return (install_root() / BATCHPROC_CODEC_SUBDIR).lexically_normal(); }

namespace {

const void *load(const std::string &stem, uint32_t version, const std::string &what) {
    const fs::path file = codec_module_dir() / (stem + ".so");
    // RTLD_LOCAL: the module's libraries stay out of the global namespace of the process.
    void *handle = ::dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char *error = ::dlerror();
        std::string why = error ? error : "unknown error";
        // dlerror starts with the file's name, which the sentence gives already.
        if (why.rfind(file.string() + ": ", 0) == 0) why.erase(0, file.string().size() + 2);
        throw CodecModuleError("cannot load " + what + " " + file.string() + ": " + why +
                               " (is batchproc installed completely?)");
    }
    using Entry = const void *(*)();
    const auto entry = reinterpret_cast<Entry>(::dlsym(handle, stem.c_str()));
    const void *table = entry ? entry() : nullptr;
    const uint32_t found = table ? *static_cast<const uint32_t *>(table) : 0;
    if (!table || found != version)
        throw CodecModuleError(what + " " + file.string() + " is not one of this batchproc build (" +
                               (table ? "version " + std::to_string(found) + ", expected " + std::to_string(version)
                                      : "no " + stem + " entry") +
                               "); reinstall batchproc");
    return table; // the module stays loaded for the life of the process
}

} // namespace

const void *module_table(const std::string &stem, uint32_t version, const std::string &what) {
    static std::mutex mutex;
    static std::map<std::string, const void *> loaded;
    std::lock_guard<std::mutex> guard(mutex);
    const auto it = loaded.find(stem);
    if (it != loaded.end()) return it->second;
    const void *table = load(stem, version, what);
    loaded.emplace(stem, table);
    return table;
}

const CodecModuleApi &codec_module(const std::string &name) {
    return *static_cast<const CodecModuleApi *>(
        module_table("batchproc_codec_" + name, CodecModuleApi::kVersion, "the " + name + " codec module"));
}

} // namespace batchproc
