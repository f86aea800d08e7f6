// Where a shared object (a lock, an event, a Value, ...) lives: a block and an offset in
// it. Every object starts with an ObjectHeader, so that one attached by name and offset in
// another process is checked (magic, layout version, kind, bounds) before it is used.
// Internal to batchproc::mp; the public classes hold one of these.
#pragma once

#include "batchproc/mp/shared_memory.hpp"

#include <cereal/cereal.hpp>
#include <cereal/types/string.hpp>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>

namespace batchproc::mp::detail {

enum class Kind : std::uint32_t {
    lock = 1,
    rlock = 2,
    semaphore = 3,
    bounded_semaphore = 4,
    event = 5,
    condition = 6,
    barrier = 7,
    value = 8,
    array = 9,
};

const char *kind_name(Kind kind) noexcept;

struct ObjectHeader {
    std::uint32_t magic;
    std::uint32_t kind;    // Kind
    std::uint32_t version;  // layout version of the object that follows
    std::uint32_t reserved;
    std::uint64_t size;     // bytes from the header's start to the object's end
};

struct ObjectRef {
    SharedMemory block;
    std::uint64_t offset = 0;

    void *address() const noexcept { return block.data() + offset; }
    const ObjectHeader &header() const noexcept { return *static_cast<const ObjectHeader *>(address()); }
};

// A fresh block holding one object of `size` bytes (header included) at offset 0.
ObjectRef create_object(Kind kind, std::size_t size);
// Writes the header of an object of `size` bytes at `offset` in `block` (checked to fit).
ObjectRef place_object(const SharedMemory &block, std::size_t offset, Kind kind, std::size_t size);
// Attaches the object at `offset` in block `name`, checking that it is one of `accepted`,
// that it fits in the block and has the size its kind needs. Throws std::runtime_error
// saying what differs.
ObjectRef attach_object(const std::string &name, std::uint64_t offset, std::uint32_t kind,
                        std::initializer_list<Kind> accepted);

// An object travels as (shm name, offset, kind).
template <class Archive>
void save_ref(Archive &archive, const ObjectRef &ref) {
    archive(cereal::make_nvp("shm", ref.block.name()), cereal::make_nvp("offset", ref.offset),
            cereal::make_nvp("kind", ref.header().kind));
}

template <class Archive>
ObjectRef load_ref(Archive &archive, std::initializer_list<Kind> accepted) {
    std::string name;
    std::uint64_t offset = 0;
    std::uint32_t kind = 0;
    archive(cereal::make_nvp("shm", name), cereal::make_nvp("offset", offset), cereal::make_nvp("kind", kind));
    return attach_object(name, offset, kind, accepted);
}

// Selects the constructors that wrap an existing object (deserialization, Value's lock).
struct AttachTag {
    explicit AttachTag() = default;
};

} // namespace batchproc::mp::detail
