#include "batchproc/mp/serialization.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

namespace batchproc::mp::detail {

namespace {
thread_local std::vector<int> *t_export = nullptr;
thread_local std::vector<int> *t_import = nullptr;
} // namespace

FdExport::FdExport(std::vector<int> &fds) : previous_(t_export) { t_export = &fds; }
FdExport::~FdExport() { t_export = previous_; }

FdImport::FdImport(std::vector<int> &fds) : previous_(t_import) { t_import = &fds; }
FdImport::~FdImport() { t_import = previous_; }

std::uint32_t export_fd(int fd, const char *what) {
    if (t_export == nullptr)
        throw ValueError(std::string("batchproc::mp: ") + what +
                         " can only be shared with a child process by inheritance: pass it as an argument "
                         "of the Process (or capture it, with fork), not through a Queue or a Connection");
    if (fd < 0) throw ValueError(std::string("batchproc::mp: cannot pass ") + what + ": it is closed");
    const auto at = std::find(t_export->begin(), t_export->end(), fd);
    if (at != t_export->end()) return static_cast<std::uint32_t>(at - t_export->begin());
    t_export->push_back(fd);
    return static_cast<std::uint32_t>(t_export->size() - 1);
}

int import_fd(std::uint32_t index) {
    if (t_import == nullptr || index >= t_import->size() || (*t_import)[index] < 0)
        throw ValueError("batchproc::mp: a Queue or Connection argument refers to a descriptor this child "
                         "was not given (it can only be passed to a Process at its start)");
    const int fd = fcntl((*t_import)[index], F_DUPFD_CLOEXEC, 0);
    if (fd < 0)
        throw ValueError(std::string("batchproc::mp: cannot duplicate an inherited descriptor: ") +
                         std::strerror(errno));
    return fd;
}

void release_imported_fds() {
    if (t_import == nullptr) return;
    for (int &fd : *t_import) {
        if (fd >= 0) ::close(fd);
        fd = -1;
    }
}

} // namespace batchproc::mp::detail
