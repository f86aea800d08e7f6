#include "pool/shared_region.hpp"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <utility>

namespace batchproc {

SharedRegion SharedRegion::create(size_t size, const char *name) {
    SharedRegion r;
    r.fd_ = memfd_create(name, MFD_CLOEXEC);
    if (r.fd_ < 0) throw std::system_error(errno, std::generic_category(), "memfd_create");
    if (ftruncate(r.fd_, static_cast<off_t>(size)) != 0)
        throw std::system_error(errno, std::generic_category(), "ftruncate of the shared result buffer");
    void *p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, r.fd_, 0);
    if (p == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "mmap of the shared result buffer");
    r.data_ = p;
    r.size_ = size;
    return r;
}

SharedRegion SharedRegion::attach(int fd) {
    SharedRegion r;
    struct stat st {};
    if (fstat(fd, &st) != 0) throw std::system_error(errno, std::generic_category(), "fstat of the shared buffer");
    void *p = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "mmap of the shared buffer");
    r.fd_ = fd;
    r.data_ = p;
    r.size_ = static_cast<size_t>(st.st_size);
    return r;
}

SharedRegion::SharedRegion(SharedRegion &&other) noexcept { *this = std::move(other); }

SharedRegion &SharedRegion::operator=(SharedRegion &&other) noexcept {
    if (this != &other) {
        reset();
        std::swap(data_, other.data_);
        std::swap(size_, other.size_);
        std::swap(fd_, other.fd_);
    }
    return *this;
}

SharedRegion::~SharedRegion() { reset(); }

void SharedRegion::reset() {
    if (data_ != nullptr) munmap(data_, size_);
    if (fd_ >= 0) close(fd_);
    data_ = nullptr;
    size_ = 0;
    fd_ = -1;
}

} // namespace batchproc
