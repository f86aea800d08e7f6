// Condition shared between processes (Python's multiprocessing.Condition), over a Lock or
// an RLock (a new RLock by default).
//
// The waiting side is a futex word in shared memory next to a robust mutex, not a
// process-shared pthread condition variable: with glibc before 2.41 a waiter killed inside
// pthread_cond_wait can block the next pthread_cond_signal forever, which is exactly the
// failure this library promises to survive.
//
// notify(n) wakes at most n of the processes/threads waiting when it is called (one that
// starts waiting later is not woken by it). A waiter killed while waiting may cause one
// later extra wake-up (waits may wake early; wait_for re-checks its predicate, so prefer it).
#pragma once

#include "batchproc/mp/detail/shared_object.hpp"
#include "batchproc/mp/lock.hpp"

#include <cereal/cereal.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <utility>
#include <variant>

namespace batchproc::mp {

namespace detail {
struct ConditionState;
}

class Condition {
public:
    Condition();                       // over a new RLock
    explicit Condition(Lock lock);
    explicit Condition(RLock lock);

    // The underlying lock's acquire/release.
    bool acquire(bool block = true, std::optional<double> timeout = std::nullopt);
    void release();
    void lock() { acquire(); }
    bool try_lock() { return acquire(false); }
    void unlock() { release(); }

    // Releases the lock (every level of an RLock), waits for a notify or `timeout` seconds,
    // takes the lock back (as deep as before) and returns false if it timed out. The calling
    // thread must hold the lock (std::logic_error otherwise).
    bool wait(std::optional<double> timeout = std::nullopt);

    // Waits until `predicate()` is true or `timeout` seconds pass; returns the predicate's
    // last result, as Python's wait_for.
    template <class Predicate>
    bool wait_for(Predicate predicate, std::optional<double> timeout = std::nullopt) {
        bool result = static_cast<bool>(predicate());
        const auto end = timeout ? std::optional(std::chrono::steady_clock::now() +
                                                 std::chrono::duration<double>(*timeout))
                                 : std::nullopt;
        while (!result) {
            std::optional<double> left;
            if (end) {
                left = std::chrono::duration<double>(*end - std::chrono::steady_clock::now()).count();
                if (*left <= 0) break;
            }
            wait(left);
            result = static_cast<bool>(predicate());
        }
        return result;
    }

    // Wake at most n waiters / every waiter. The calling thread must hold the lock.
    void notify(unsigned n = 1);
    void notify_all();

    // A Condition travels with its lock.
    template <class Archive>
    void save(Archive &archive) const {
        detail::save_ref(archive, ref_);
        const bool recursive = std::holds_alternative<RLock>(lock_);
        archive(cereal::make_nvp("recursive", recursive));
        if (recursive) {
            archive(cereal::make_nvp("lock", std::get<RLock>(lock_)));
        } else {
            archive(cereal::make_nvp("lock", std::get<Lock>(lock_)));
        }
    }
    template <class Archive>
    void load(Archive &archive) {
        detail::ObjectRef ref = detail::load_ref(archive, {detail::Kind::condition});
        bool recursive = false;
        archive(cereal::make_nvp("recursive", recursive));
        detail::ObjectRef lock_ref =
            detail::load_ref(archive, {recursive ? detail::Kind::rlock : detail::Kind::lock});
        if (recursive) {
            *this = Condition(std::move(ref), RLock(detail::AttachTag{}, std::move(lock_ref)));
        } else {
            *this = Condition(std::move(ref), Lock(detail::AttachTag{}, std::move(lock_ref)));
        }
    }

private:
    Condition(detail::ObjectRef ref, std::variant<Lock, RLock> lock);
    detail::LockCore &core();

    detail::ObjectRef ref_;
    detail::ConditionState *state_ = nullptr;
    std::variant<Lock, RLock> lock_;
};

} // namespace batchproc::mp
