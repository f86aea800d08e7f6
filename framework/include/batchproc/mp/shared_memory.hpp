// SharedMemory: a named POSIX shared-memory block, as Python's
// multiprocessing.shared_memory.SharedMemory.
//
// Lifetime. The process that creates a block owns its name ("/bpmp-<pid>-<n>-<random>",
// visible as /dev/shm/bpmp-...). Handles are cheap to copy (they share one mapping); when
// the last handle in the creating process goes away the name is unlinked and the mapping
// removed. Handles in other processes (attached by name, or inherited through fork) only
// unmap: the memory stays valid for them until they let go, but once the name is unlinked
// no new process can attach it. So the creator keeps a handle until every process that
// needs the block has attached (a Process keeps its arguments until it is joined).
//
// If the creating process dies without running destructors (SIGKILL, _exit, abort), the
// name stays in /dev/shm until reboot or until someone unlinks it: Python's resource
// tracker exists for this case; here `rm /dev/shm/bpmp-<creator pid>-*` removes what a
// dead process left.
#pragma once

#include <cereal/cereal.hpp>
#include <cereal/types/string.hpp>

#include <cstddef>
#include <memory>
#include <string>

namespace batchproc::mp {

namespace detail {
struct SharedMapping;
}

class SharedMemory {
public:
    // An empty handle (no block). Use create() or attach().
    SharedMemory() noexcept = default;

    // A new block of `size` bytes (> 0), zero-filled, under a fresh unique name; this
    // process owns the name. Throws ValueError for size 0, std::system_error on OS failure.
    static SharedMemory create(std::size_t size);

    // Maps the block called `name` (as name() returns it). Throws std::system_error
    // (ENOENT when the creator has already unlinked it). In a process that already maps
    // the block, returns a handle on that same mapping.
    static SharedMemory attach(const std::string &name);

    explicit operator bool() const noexcept { return mapping_ != nullptr; }
    const std::string &name() const;        // "" for an empty handle
    std::size_t size() const noexcept;      // bytes, as created
    std::byte *data() const noexcept;       // Python's buf; nullptr for an empty handle
    bool is_creator() const noexcept;       // this process created it (and owns the name)

    // Releases this handle (Python's close()); the block goes when its last handle does.
    void close() noexcept { mapping_.reset(); }
    // Removes the name now (Python's unlink()): existing mappings stay valid, new attaches
    // fail. Any process may call it; calling it again does nothing.
    void unlink();

    // cereal: a block travels as its name and is attached on load.
    template <class Archive>
    void save(Archive &archive) const {
        archive(cereal::make_nvp("shm", name()));
    }
    template <class Archive>
    void load(Archive &archive) {
        std::string block_name;
        archive(cereal::make_nvp("shm", block_name));
        *this = block_name.empty() ? SharedMemory() : attach(block_name);
    }

private:
    explicit SharedMemory(std::shared_ptr<detail::SharedMapping> mapping) noexcept : mapping_(std::move(mapping)) {}
    std::shared_ptr<detail::SharedMapping> mapping_;
};

} // namespace batchproc::mp
