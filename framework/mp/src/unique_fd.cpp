#include "batchproc/mp/detail/unique_fd.hpp"

#include <unistd.h>

namespace batchproc::mp::detail {

void UniqueFd::reset(int fd) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
}

} // namespace batchproc::mp::detail
