#include "robust_primitives.hpp"

#include <linux/futex.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <string>
#include <system_error>

namespace batchproc::mp::detail {

namespace {

thread_local pid_t cached_tid = 0;

void forget_tid_in_child() { cached_tid = 0; }

timespec now_monotonic() noexcept {
    timespec t{};
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t;
}

bool before(const timespec &a, const timespec &b) noexcept {
    return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

timespec plus(timespec t, double seconds) noexcept {
    const double whole = std::floor(seconds);
    t.tv_sec += static_cast<time_t>(whole);
    t.tv_nsec += static_cast<long>((seconds - whole) * 1e9);
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec += 1;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

} // namespace

Deadline Deadline::after(std::optional<double> seconds) noexcept {
    if (!seconds) return never();
    double s = *seconds;
    if (std::isnan(s) || s < 0) s = 0;
    if (s > 1e9) return never();
    Deadline d;
    d.never_ = false;
    d.at_ = plus(now_monotonic(), s);
    return d;
}

bool Deadline::passed() const noexcept { return !never_ && !before(now_monotonic(), at_); }

Deadline Deadline::capped(double seconds) const noexcept {
    Deadline cap = after(seconds);
    if (never_ || before(cap.at_, at_)) return cap;
    return *this;
}

pid_t current_tid() noexcept {
    static std::once_flag registered;
    std::call_once(registered, [] { pthread_atfork(nullptr, nullptr, forget_tid_in_child); });
    if (cached_tid == 0) cached_tid = static_cast<pid_t>(syscall(SYS_gettid));
    return cached_tid;
}

void init_robust_mutex(pthread_mutex_t &mutex, int type) {
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    int rc = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    if (rc == 0) rc = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    if (rc == 0) rc = pthread_mutexattr_settype(&attr, type);
    if (rc == 0) rc = pthread_mutex_init(&mutex, &attr);
    pthread_mutexattr_destroy(&attr);
    if (rc != 0) throw std::system_error(rc, std::generic_category(), "batchproc::mp: initialising a robust shared mutex");
}

LockStatus lock_robust(pthread_mutex_t &mutex, bool block, const Deadline &deadline) {
    int rc;
    if (!block) {
        rc = pthread_mutex_trylock(&mutex);
    } else if (deadline.is_never()) {
        rc = pthread_mutex_lock(&mutex);
    } else {
        rc = pthread_mutex_clocklock(&mutex, CLOCK_MONOTONIC, deadline.absolute());
    }
    switch (rc) {
    case 0:
        return LockStatus::acquired;
    case EOWNERDEAD:
        // The holder died holding it: we hold it now, and mark it usable again.
        pthread_mutex_consistent(&mutex);
        return LockStatus::repaired;
    case EBUSY:
    case ETIMEDOUT:
        return LockStatus::unavailable;
    case EDEADLK:
        return LockStatus::already_held;
    default:
        throw std::system_error(rc, std::generic_category(), "batchproc::mp: locking a shared mutex");
    }
}

StateLock::StateLock(pthread_mutex_t &mutex) : mutex_(mutex) { lock(); }

StateLock::~StateLock() {
    if (held_) pthread_mutex_unlock(&mutex_);
}

void StateLock::lock() {
    lock_robust(mutex_, true, Deadline::never());
    held_ = true;
}

void StateLock::unlock() {
    held_ = false;
    pthread_mutex_unlock(&mutex_);
}

void wait_on(WaitWord &word, StateLock &lock, const Deadline &deadline) {
    // Read under the lock: a notify after we let go changes the word, so the kernel
    // refuses to put us to sleep on the old value and no wake-up is lost.
    const std::uint32_t seen = word.sequence.load(std::memory_order_relaxed);
    lock.unlock();
    // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC time. Not FUTEX_PRIVATE: the
    // word is shared between processes.
    syscall(SYS_futex, reinterpret_cast<std::uint32_t *>(&word.sequence), FUTEX_WAIT_BITSET, seen,
            deadline.absolute(), nullptr, FUTEX_BITSET_MATCH_ANY);
    lock.lock();
}

void notify_all(WaitWord &word) noexcept {
    word.sequence.fetch_add(1, std::memory_order_relaxed);
    syscall(SYS_futex, reinterpret_cast<std::uint32_t *>(&word.sequence), FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
}

bool process_alive(pid_t pid) noexcept {
    if (pid <= 0) return false;
    if (kill(pid, 0) != 0 && errno == ESRCH) return false;
    // A zombie is dead, only not yet reaped: its state in /proc/<pid>/stat is 'Z'.
    const std::string path = "/proc/" + std::to_string(pid) + "/stat";
    std::FILE *f = std::fopen(path.c_str(), "r");
    if (f == nullptr) return true; // no /proc: trust kill()
    char buffer[512] = {};
    const size_t n = std::fread(buffer, 1, sizeof buffer - 1, f);
    std::fclose(f);
    const std::string stat(buffer, n);
    const size_t paren = stat.rfind(')');
    if (paren == std::string::npos || paren + 2 >= stat.size()) return true;
    const char state = stat[paren + 2];
    return state != 'Z' && state != 'X';
}

} // namespace batchproc::mp::detail
