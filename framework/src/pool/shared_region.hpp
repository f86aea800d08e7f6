// An anonymous shared-memory mapping backed by a memfd: nothing is ever named in /dev/shm,
// so nothing can be left behind when the coordinator dies. Workers inherit the mapping
// (fork, forkserver) or map the fd they were given (spawn).
#pragma once

#include <cstddef>

namespace batchproc {

class SharedRegion {
public:
    SharedRegion() = default;
    static SharedRegion create(size_t size, const char *name); // throws std::system_error
    static SharedRegion attach(int fd);                        // maps the whole of fd
    SharedRegion(SharedRegion &&other) noexcept;
    SharedRegion &operator=(SharedRegion &&other) noexcept;
    SharedRegion(const SharedRegion &) = delete;
    SharedRegion &operator=(const SharedRegion &) = delete;
    ~SharedRegion();

    void *data() const { return data_; }
    size_t size() const { return size_; }
    int fd() const { return fd_; }

private:
    void reset();
    void *data_ = nullptr;
    size_t size_ = 0;
    int fd_ = -1;
};

} // namespace batchproc
