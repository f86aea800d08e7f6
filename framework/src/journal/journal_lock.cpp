#include "journal/journal_lock.hpp"

#include "journal/journal.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <utility>

namespace fs = std::filesystem;

namespace batchproc {

namespace {

// The pid written by the owner. It writes it right after taking the lock, so an empty file
// means we looked in between: look again briefly (a few ms at most, never a wait on the lock).
std::string read_owner_pid(int fd) {
    for (int attempt = 0; attempt < 20; ++attempt) {
        char buf[32] = {};
        const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
        std::string text = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
        while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
        if (!text.empty()) return text;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return "unknown";
}

} // namespace

fs::path JournalLock::lock_path_for(const fs::path &journal_path) {
    fs::path lock = journal_path;
    lock += ".lock";
    return lock;
}

JournalLock JournalLock::acquire(const fs::path &journal_path) {
    const fs::path lock_path = lock_path_for(journal_path);
    const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
    if (fd < 0)
        throw JournalError(JournalError::Reason::io, "cannot open the lock file " + lock_path.string() + " of journal " +
                                                         journal_path.string() + ": " + std::strerror(errno));
    JournalLock lock(fd);
    int rc;
    do rc = ::flock(fd, LOCK_EX | LOCK_NB);
    while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        const int err = errno;
        if (err != EWOULDBLOCK)
            throw JournalError(JournalError::Reason::io,
                               "cannot lock " + lock_path.string() + " for journal " + journal_path.string() + ": " +
                                   std::strerror(err));
        throw JournalError(JournalError::Reason::in_use,
                           "journal " + journal_path.string() + " is in use by another batchproc run (pid " +
                               read_owner_pid(fd) +
                               "); wait for it to finish, or give this run its own journal (journal: PATH)");
    }
    const std::string pid = std::to_string(::getpid()) + "\n";
    // The pid is for people and error messages only: the lock itself is the flock.
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size()))
        throw JournalError(JournalError::Reason::io,
                           "cannot write " + lock_path.string() + " for journal " + journal_path.string() + ": " +
                               std::strerror(errno));
    return lock;
}

JournalLock::JournalLock(JournalLock &&other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

JournalLock &JournalLock::operator=(JournalLock &&other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
}

JournalLock::~JournalLock() {
    if (fd_ >= 0) ::close(fd_);
}

} // namespace batchproc
