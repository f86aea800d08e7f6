#include "batchproc/mp/values.hpp"

#include "shared_states.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

namespace batchproc::mp::detail {

namespace {

constexpr std::size_t kCacheLine = 64;

std::size_t align_up(std::size_t n, std::size_t alignment) { return (n + alignment - 1) / alignment * alignment; }

} // namespace

ObjectRef create_values(Kind kind, std::size_t element_size, std::size_t element_align, std::size_t count,
                        bool own_lock) {
    // header | own RLock | elements, each part on its own cache lines.
    const std::size_t lock_offset = own_lock ? align_up(sizeof(ValuesHeader), kCacheLine) : 0;
    const std::size_t after_header = own_lock ? lock_offset + LockCore::shared_size() : sizeof(ValuesHeader);
    const std::size_t data_offset = align_up(after_header, std::max(kCacheLine, element_align));
    if (element_size != 0 && count > (std::numeric_limits<std::size_t>::max() - data_offset) / element_size) {
        throw std::length_error("batchproc::mp::Array: " + std::to_string(count) + " elements do not fit in memory");
    }
    const std::size_t size = data_offset + element_size * count;
    ObjectRef ref = create_object(kind, size);
    auto &header = *static_cast<ValuesHeader *>(ref.address());
    header.element_size = element_size;
    header.element_align = element_align;
    header.count = count;
    header.data_offset = data_offset;
    header.lock_offset = lock_offset;
    if (own_lock) LockCore::place(ref.block, ref.offset + lock_offset, Kind::rlock);
    return ref;
}

RLock own_values_lock(const ObjectRef &ref) {
    const ValuesHeader &header = values_header(ref);
    return RLock(AttachTag{}, ObjectRef{ref.block, ref.offset + header.lock_offset});
}

void check_values(const ObjectRef &ref, std::size_t element_size, std::size_t element_align) {
    const ValuesHeader &header = values_header(ref);
    const char *what = kind_name(static_cast<Kind>(header.object.kind));
    if (header.element_size != element_size || header.element_align != element_align) {
        throw std::runtime_error(std::string("batchproc::mp: the ") + what + " in \"" + ref.block.name() +
                                 "\" holds elements of " + std::to_string(header.element_size) +
                                 " bytes (alignment " + std::to_string(header.element_align) +
                                 "), not of the type it is loaded as (" + std::to_string(element_size) +
                                 " bytes, alignment " + std::to_string(element_align) + ")");
    }
    const std::uint64_t size = header.object.size;
    if (header.data_offset > size || header.element_size * header.count > size - header.data_offset) {
        throw std::runtime_error(std::string("batchproc::mp: the ") + what + " in \"" + ref.block.name() +
                                 "\" is damaged (its elements do not fit)");
    }
}

void throw_no_lock(const char *what) {
    throw std::logic_error(std::string("batchproc::mp::") + what +
                           "::get_lock: it was made with lock=false and has no lock");
}

} // namespace batchproc::mp::detail
