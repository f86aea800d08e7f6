#include "batchproc/mp/shared_memory.hpp"

#include "batchproc/mp/errors.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <system_error>
#include <unordered_map>

namespace batchproc::mp {

namespace detail {

struct SharedMapping {
    std::string name;
    std::byte *data = nullptr;
    std::size_t size = 0;
    pid_t creator = 0; // the pid that created the name; 0 when attached
    std::atomic<bool> unlinked{false};

    SharedMapping() = default;
    SharedMapping(const SharedMapping &) = delete;
    SharedMapping &operator=(const SharedMapping &) = delete;
    ~SharedMapping();
};

} // namespace detail

namespace {

using detail::SharedMapping;

// This process's mappings by name, so that attaching a block the process already maps (a
// Value and its lock; an object sent back to its creator) shares that mapping. Entries are
// weak: the registry never keeps a block alive. Its mutex is held across fork() so that a
// child never inherits it locked.
struct Registry {
    std::mutex mutex;
    std::unordered_map<std::string, std::weak_ptr<SharedMapping>> mappings;
};

Registry &registry() {
    static Registry *r = [] {
        auto *created = new Registry; // never destroyed: mappings may outlive static destruction
        pthread_atfork([] { registry().mutex.lock(); }, [] { registry().mutex.unlock(); },
                       [] { registry().mutex.unlock(); });
        return created;
    }();
    return *r;
}

std::system_error os_error(int error, const std::string &what) {
    return std::system_error(error, std::generic_category(), "batchproc::mp::SharedMemory: " + what);
}

std::string new_name() {
    static std::atomic<std::uint64_t> counter{0};
    std::uint32_t random = 0;
    if (getrandom(&random, sizeof random, 0) != static_cast<ssize_t>(sizeof random)) {
        random = static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(&random));
    }
    char name[64];
    std::snprintf(name, sizeof name, "/bpmp-%d-%llu-%08x", static_cast<int>(getpid()),
                  static_cast<unsigned long long>(counter.fetch_add(1)), random);
    return name;
}

void *map_fd(int fd, std::size_t size) {
    void *p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    return p == MAP_FAILED ? nullptr : p;
}

} // namespace

detail::SharedMapping::~SharedMapping() {
    if (data != nullptr) munmap(data, size);
    if (creator != 0 && creator == getpid() && !unlinked.exchange(true)) shm_unlink(name.c_str());
    Registry &r = registry();
    std::lock_guard guard(r.mutex);
    auto it = r.mappings.find(name);
    if (it != r.mappings.end() && it->second.expired()) r.mappings.erase(it);
}

SharedMemory SharedMemory::create(std::size_t size) {
    if (size == 0) throw ValueError("batchproc::mp::SharedMemory::create: size must be positive");
    auto mapping = std::make_shared<SharedMapping>();
    int fd = -1;
    for (int attempt = 0; attempt < 16 && fd < 0; ++attempt) {
        mapping->name = new_name();
        fd = shm_open(mapping->name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
        if (fd < 0 && errno != EEXIST) throw os_error(errno, "shm_open(\"" + mapping->name + "\") to create a block");
    }
    if (fd < 0) throw os_error(EEXIST, "no free name for a new block");
    // Reserve the pages now: a full /dev/shm is an error here rather than a SIGBUS later.
    int rc = ftruncate(fd, static_cast<off_t>(size)) == 0 ? 0 : errno;
    if (rc == 0) rc = posix_fallocate(fd, 0, static_cast<off_t>(size));
    void *data = rc == 0 ? map_fd(fd, size) : nullptr;
    if (rc == 0 && data == nullptr) rc = errno;
    ::close(fd);
    if (rc != 0) {
        shm_unlink(mapping->name.c_str());
        throw os_error(rc, "making a block of " + std::to_string(size) + " bytes in /dev/shm" +
                               (rc == ENOSPC ? " (it is full: free space there or make it larger)" : ""));
    }
    mapping->data = static_cast<std::byte *>(data);
    mapping->size = size;
    mapping->creator = getpid();
    Registry &r = registry();
    std::lock_guard guard(r.mutex);
    r.mappings[mapping->name] = mapping;
    return SharedMemory(std::move(mapping));
}

SharedMemory SharedMemory::attach(const std::string &name) {
    if (name.size() < 2 || name[0] != '/' || name.find('/', 1) != std::string::npos) {
        throw ValueError("batchproc::mp::SharedMemory::attach: \"" + name +
                         "\" is not a block name (names look like /bpmp-...)");
    }
    Registry &r = registry();
    std::shared_ptr<SharedMapping> existing; // let go outside the registry's lock (~SharedMapping takes it)
    {
        std::lock_guard guard(r.mutex);
        auto it = r.mappings.find(name);
        if (it != r.mappings.end()) existing = it->second.lock();
    }
    if (existing && !existing->unlinked) return SharedMemory(std::move(existing));
    existing.reset();
    const int fd = shm_open(name.c_str(), O_RDWR, 0);
    if (fd < 0) {
        const int error = errno;
        throw os_error(error, "attaching \"" + name + "\"" +
                                  (error == ENOENT ? " (it was already removed: its creator must keep a handle "
                                                     "until every process has attached it)"
                                                   : ""));
    }
    struct stat st {};
    int rc = fstat(fd, &st) == 0 ? 0 : errno;
    if (rc == 0 && st.st_size <= 0) rc = EINVAL;
    void *data = rc == 0 ? map_fd(fd, static_cast<std::size_t>(st.st_size)) : nullptr;
    if (rc == 0 && data == nullptr) rc = errno;
    ::close(fd);
    if (rc != 0) throw os_error(rc, "mapping \"" + name + "\"");
    auto mapping = std::make_shared<SharedMapping>();
    mapping->name = name;
    mapping->data = static_cast<std::byte *>(data);
    mapping->size = static_cast<std::size_t>(st.st_size);
    {
        std::lock_guard guard(r.mutex);
        // Another thread may have attached it meanwhile: keep one mapping per name.
        auto &slot = r.mappings[name];
        auto raced = slot.lock();
        if (!raced || raced->unlinked) {
            slot = mapping;
            return SharedMemory(std::move(mapping));
        }
        existing = std::move(raced);
    }
    return SharedMemory(std::move(existing)); // ours unmaps as `mapping` goes
}

const std::string &SharedMemory::name() const {
    static const std::string empty;
    return mapping_ ? mapping_->name : empty;
}

std::size_t SharedMemory::size() const noexcept { return mapping_ ? mapping_->size : 0; }

std::byte *SharedMemory::data() const noexcept { return mapping_ ? mapping_->data : nullptr; }

bool SharedMemory::is_creator() const noexcept { return mapping_ && mapping_->creator == getpid(); }

void SharedMemory::unlink() {
    if (!mapping_ || mapping_->unlinked.exchange(true)) return;
    if (shm_unlink(mapping_->name.c_str()) != 0 && errno != ENOENT) {
        throw os_error(errno, "unlinking \"" + mapping_->name + "\"");
    }
}

} // namespace batchproc::mp
