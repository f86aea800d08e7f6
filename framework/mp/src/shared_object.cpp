#include "batchproc/mp/detail/shared_object.hpp"

#include "batchproc/mp/values.hpp"
#include "shared_states.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace batchproc::mp::detail {

const char *kind_name(Kind kind) noexcept {
    switch (kind) {
    case Kind::lock: return "Lock";
    case Kind::rlock: return "RLock";
    case Kind::semaphore: return "Semaphore";
    case Kind::bounded_semaphore: return "BoundedSemaphore";
    case Kind::event: return "Event";
    case Kind::condition: return "Condition";
    case Kind::barrier: return "Barrier";
    case Kind::value: return "Value";
    case Kind::array: return "Array";
    }
    return "unknown object";
}

std::size_t fixed_size(Kind kind) noexcept {
    switch (kind) {
    case Kind::lock:
    case Kind::rlock: return sizeof(LockState);
    case Kind::semaphore:
    case Kind::bounded_semaphore: return sizeof(SemaphoreState);
    case Kind::event: return sizeof(EventState);
    case Kind::condition: return sizeof(ConditionState);
    case Kind::barrier: return sizeof(BarrierState);
    case Kind::value:
    case Kind::array: return sizeof(ValuesHeader);
    }
    return sizeof(ObjectHeader);
}

ObjectRef place_object(const SharedMemory &block, std::size_t offset, Kind kind, std::size_t size) {
    if (!block || offset % alignof(std::max_align_t) != 0 || size < sizeof(ObjectHeader) || offset > block.size() ||
        size > block.size() - offset) {
        throw std::logic_error(std::string("batchproc::mp: a ") + kind_name(kind) + " of " + std::to_string(size) +
                               " bytes does not fit at offset " + std::to_string(offset) + " of block \"" +
                               block.name() + "\"");
    }
    ObjectRef ref{block, offset};
    auto &header = *static_cast<ObjectHeader *>(ref.address());
    header.magic = kObjectMagic;
    header.kind = static_cast<std::uint32_t>(kind);
    header.version = kLayoutVersion;
    header.reserved = 0;
    header.size = size;
    return ref;
}

ObjectRef create_object(Kind kind, std::size_t size) {
    return place_object(SharedMemory::create(size), 0, kind, size);
}

ObjectRef attach_object(const std::string &name, std::uint64_t offset, std::uint32_t kind,
                        std::initializer_list<Kind> accepted) {
    const Kind expected = *accepted.begin();
    const std::string where = "block \"" + name + "\" at offset " + std::to_string(offset);
    if (std::find(accepted.begin(), accepted.end(), static_cast<Kind>(kind)) == accepted.end()) {
        throw std::runtime_error(std::string("batchproc::mp: cannot load a ") + kind_name(expected) + " from a " +
                                 kind_name(static_cast<Kind>(kind)) + " (" + where + ")");
    }
    ObjectRef ref{SharedMemory::attach(name), offset};
    const std::size_t block_size = ref.block.size();
    if (offset % alignof(std::max_align_t) != 0 || offset > block_size ||
        block_size - offset < sizeof(ObjectHeader)) {
        throw std::runtime_error("batchproc::mp: no object fits at " + where);
    }
    const ObjectHeader &header = ref.header();
    if (header.magic != kObjectMagic || header.kind != kind) {
        throw std::runtime_error(std::string("batchproc::mp: no ") + kind_name(static_cast<Kind>(kind)) + " at " + where);
    }
    if (header.version != kLayoutVersion) {
        throw std::runtime_error("batchproc::mp: the object at " + where + " has layout version " +
                                 std::to_string(header.version) + ", this program reads version " +
                                 std::to_string(kLayoutVersion) + " (both sides must use the same batchproc)");
    }
    if (header.size < fixed_size(static_cast<Kind>(kind)) || header.size > block_size - offset) {
        throw std::runtime_error("batchproc::mp: the object at " + where + " is damaged (its size does not fit)");
    }
    return ref;
}

} // namespace batchproc::mp::detail
