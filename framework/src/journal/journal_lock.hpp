// The run lock of a journal: flock(LOCK_EX | LOCK_NB) on the side file "<journal>.lock",
// which holds the owner's pid. The kernel drops the lock when the owner's last descriptor
// closes, so a run killed with SIGKILL never leaves a stale lock behind; the side file
// itself stays (removing it would race with a run that just opened it).
#pragma once

#include <filesystem>

namespace batchproc {

class JournalLock {
public:
    // Takes the lock at once or throws JournalError (reason in_use) naming the owner's pid.
    static JournalLock acquire(const std::filesystem::path &journal_path);
    JournalLock(JournalLock &&other) noexcept;
    JournalLock &operator=(JournalLock &&other) noexcept;
    JournalLock(const JournalLock &) = delete;
    JournalLock &operator=(const JournalLock &) = delete;
    ~JournalLock();

    static std::filesystem::path lock_path_for(const std::filesystem::path &journal_path);

private:
    explicit JournalLock(int fd) : fd_(fd) {}
    int fd_ = -1;
};

} // namespace batchproc
