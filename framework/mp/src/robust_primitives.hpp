// The two things every synchronisation object here is built on: a robust process-shared
// pthread mutex (a dead holder's lock is taken over, never left wedged) and a futex word to
// sleep on (a dead sleeper leaves nothing behind; glibc's process-shared condition
// variables before 2.41 can block a signaller forever after a waiter was killed).
#pragma once

#include <pthread.h>
#include <sys/types.h>
#include <time.h>

#include <atomic>
#include <cstdint>
#include <optional>

namespace batchproc::mp::detail {

// A point in CLOCK_MONOTONIC time, or never.
class Deadline {
public:
    static Deadline never() noexcept { return Deadline(); }
    // nullopt: never; negative or NaN: now; more than ~30 years: never.
    static Deadline after(std::optional<double> seconds) noexcept;
    bool is_never() const noexcept { return never_; }
    const timespec *absolute() const noexcept { return never_ ? nullptr : &at_; }
    bool passed() const noexcept;
    // The earlier of this and `seconds` from now.
    Deadline capped(double seconds) const noexcept;

private:
    bool never_ = true;
    timespec at_{};
};

// The calling thread's kernel id (cached; forked children see their own).
pid_t current_tid() noexcept;

// Initialises a robust, process-shared mutex of `type` (PTHREAD_MUTEX_NORMAL,
// PTHREAD_MUTEX_ERRORCHECK or PTHREAD_MUTEX_RECURSIVE).
void init_robust_mutex(pthread_mutex_t &mutex, int type);

enum class LockStatus {
    acquired,
    repaired,     // acquired from a holder that died; the mutex is consistent again
    unavailable,  // not blocking and held, or the deadline passed
    already_held, // an error-checking mutex the calling thread holds
};

// Locks `mutex`: at once when !block, else until `deadline`. Throws std::system_error for
// anything else (an unrecoverable mutex, which this library never leaves behind).
LockStatus lock_robust(pthread_mutex_t &mutex, bool block, const Deadline &deadline);

// Holds the mutex guarding an object's state for a scope. A dead holder's mutex is taken
// over silently: the objects keep their state consistent at every step.
class StateLock {
public:
    explicit StateLock(pthread_mutex_t &mutex);
    ~StateLock();
    StateLock(const StateLock &) = delete;
    StateLock &operator=(const StateLock &) = delete;
    void unlock();
    void lock();
    pthread_mutex_t &mutex() noexcept { return mutex_; }

private:
    pthread_mutex_t &mutex_;
    bool held_ = false;
};

struct WaitWord {
    std::atomic<std::uint32_t> sequence;
};
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);
static_assert(sizeof(WaitWord) == sizeof(std::uint32_t));

// With `lock` held: releases it, sleeps until notify_all(word) or the deadline, and takes
// it again. May return early (a signal, a spurious wake-up): callers re-check their state.
void wait_on(WaitWord &word, StateLock &lock, const Deadline &deadline);
// Wakes every sleeper on `word`; called with the state lock held.
void notify_all(WaitWord &word) noexcept;

// Whether process `pid` still runs (a zombie counts as dead).
bool process_alive(pid_t pid) noexcept;

} // namespace batchproc::mp::detail
