// metadata.hpp over the metadata module (codec/metadata_module.hpp), which holds exiv2: the
// module is loaded by the first call here, so that runs which copy no metadata never load
// exiv2.
#include "codec/metadata.hpp"

#include "codec/codec_module.hpp"
#include "codec/metadata_module.hpp"

#include <stdexcept>

namespace batchproc {

const MetadataModuleApi &metadata_module() {
    return *static_cast<const MetadataModuleApi *>(
        module_table("batchproc_metadata", MetadataModuleApi::kVersion, "the metadata module"));
}

// What the module read, handed back to it when the source is released.
struct SourceMetadata::Impl {
    const MetadataModuleApi *module = nullptr;
    void *metadata = nullptr;

    Impl(const MetadataModuleApi &m, void *read) : module(&m), metadata(read) {}
    ~Impl() { module->release(metadata); }
    Impl(const Impl &) = delete;
    Impl &operator=(const Impl &) = delete;
};

SourceMetadata::SourceMetadata() = default;
SourceMetadata::~SourceMetadata() = default;
SourceMetadata::SourceMetadata(SourceMetadata &&) noexcept = default;
SourceMetadata &SourceMetadata::operator=(SourceMetadata &&) noexcept = default;

bool SourceMetadata::empty() const { return !impl_ || impl_->module->empty(impl_->metadata); }

SourceMetadata SourceMetadata::read(const uint8_t *data, size_t size, std::string &warning) {
    const MetadataModuleApi &module = metadata_module();
    SourceMetadata m;
    void *metadata = module.read(data, size, warning);
    if (metadata == nullptr) {
        if (warning.empty()) warning = "its metadata cannot be read (out of memory); the output carries none";
        return m;
    }
    try {
        m.impl_ = std::make_unique<Impl>(module, metadata);
    } catch (...) {
        module.release(metadata);
        throw;
    }
    return m;
}

std::vector<uint8_t> embedded_icc_profile(const uint8_t *data, size_t size) {
    std::vector<uint8_t> icc;
    metadata_module().embedded_icc_profile(data, size, icc);
    return icc;
}

std::vector<uint8_t> apply_metadata(const void *encoded, size_t size, const MetadataPlan &plan) {
    const MetadataModuleApi &module = metadata_module();
    const void *source = plan.source != nullptr && plan.source->impl_ ? plan.source->impl_->metadata : nullptr;
    std::vector<uint8_t> out;
    std::string error;
    if (!module.apply(static_cast<const uint8_t *>(encoded), size, source, plan, out, error))
        throw std::runtime_error(error.empty() ? "cannot write metadata into the output: out of memory" : error);
    return out;
}

} // namespace batchproc
