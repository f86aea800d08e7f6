// Lock and RLock: locks shared between processes (Python's multiprocessing.Lock and RLock),
// robust against the death of their holder.
//
// Each is a pthread mutex in shared memory (PTHREAD_PROCESS_SHARED, PTHREAD_MUTEX_ROBUST;
// Lock is error-checking, RLock recursive). When the process or thread holding it dies, the
// next acquire gets the lock (the kernel marks it EOWNERDEAD; the acquirer makes it
// consistent again) and can see it:
//   repaired()  true while the current holding began by taking over from a dead holder
//               (asked by the holder; reset by the next acquisition);
//   repairs()   how many times that has happened to this lock, in all processes, ever.
// What the dead holder was protecting may be half-updated: check repaired() after
// acquiring when that matters. A lock is never left unusable.
//
// Differences from Python: a lock is released by the thread that holds it (a robust mutex
// has an owner; Python's multiprocessing.Lock lets any process release it; a forked child
// does not inherit its parent's holding), and acquiring a
// Lock the calling thread already holds fails at once instead of deadlocking: acquire()
// without a timeout throws std::logic_error, with block=false or a timeout it returns false.
//
// Handles are cheap to copy and all copies are the same lock; they work in children made
// by fork (inherited mapping) and, through cereal (save/load), in children made by exec.
#pragma once

#include "batchproc/mp/detail/shared_object.hpp"

#include <cstdint>
#include <optional>
#include <utility>

namespace batchproc::mp {

class Condition;

namespace detail {

struct LockState;

// The implementation shared by Lock and RLock.
class LockCore {
public:
    explicit LockCore(Kind kind);
    LockCore(AttachTag, ObjectRef ref);

    bool acquire(bool block, std::optional<double> timeout);
    void release();
    bool is_owned() const noexcept;
    bool repaired() const noexcept;
    std::uint64_t repairs() const noexcept;
    // For Condition::wait: releases every level the calling thread holds and returns how
    // many; restore() takes them back (blocking, no timeout).
    unsigned release_all();
    void restore(unsigned depth);

    const ObjectRef &ref() const noexcept { return ref_; }

    // A lock of `kind` (Kind::lock or Kind::rlock) placed at `offset` in `block` (Value's).
    static ObjectRef place(const SharedMemory &block, std::size_t offset, Kind kind);
    static std::size_t shared_size() noexcept;

private:
    ObjectRef ref_;
    LockState *state_ = nullptr;
};

} // namespace detail

class Lock {
public:
    Lock() : core_(detail::Kind::lock) {}
    Lock(detail::AttachTag tag, detail::ObjectRef ref) : core_(tag, std::move(ref)) {}

    // Python's acquire(block=True, timeout=None): true when the lock was taken. A timeout
    // (seconds) only applies when blocking; negative counts as 0.
    bool acquire(bool block = true, std::optional<double> timeout = std::nullopt) {
        return core_.acquire(block, timeout);
    }
    // Throws std::logic_error when the calling thread does not hold the lock.
    void release() { core_.release(); }

    // BasicLockable / Lockable, for std::lock_guard, std::unique_lock, std::scoped_lock.
    void lock() { acquire(); }
    bool try_lock() { return acquire(false); }
    void unlock() { release(); }

    bool is_owned() const noexcept { return core_.is_owned(); } // held by the calling thread
    bool repaired() const noexcept { return core_.repaired(); }
    std::uint64_t repairs() const noexcept { return core_.repairs(); }

    template <class Archive>
    void save(Archive &archive) const {
        detail::save_ref(archive, core_.ref());
    }
    template <class Archive>
    void load(Archive &archive) {
        *this = Lock(detail::AttachTag{}, detail::load_ref(archive, {detail::Kind::lock}));
    }

private:
    friend class Condition;
    detail::LockCore core_;
};

class RLock {
public:
    RLock() : core_(detail::Kind::rlock) {}
    RLock(detail::AttachTag tag, detail::ObjectRef ref) : core_(tag, std::move(ref)) {}

    // As Lock::acquire; the holder may acquire again, and releases as many times.
    bool acquire(bool block = true, std::optional<double> timeout = std::nullopt) {
        return core_.acquire(block, timeout);
    }
    void release() { core_.release(); }

    void lock() { acquire(); }
    bool try_lock() { return acquire(false); }
    void unlock() { release(); }

    bool is_owned() const noexcept { return core_.is_owned(); }
    bool repaired() const noexcept { return core_.repaired(); }
    std::uint64_t repairs() const noexcept { return core_.repairs(); }

    template <class Archive>
    void save(Archive &archive) const {
        detail::save_ref(archive, core_.ref());
    }
    template <class Archive>
    void load(Archive &archive) {
        *this = RLock(detail::AttachTag{}, detail::load_ref(archive, {detail::Kind::rlock}));
    }

private:
    friend class Condition;
    detail::LockCore core_;
};

} // namespace batchproc::mp
