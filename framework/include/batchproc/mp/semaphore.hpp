// Semaphore and BoundedSemaphore shared between processes (Python's multiprocessing ones).
// The count lives in shared memory behind a robust mutex, and waiters sleep on a futex
// word: a process that dies inside acquire() or release() never wedges the semaphore.
// A unit that a process acquired and never released (because it died) stays taken, as in
// Python: the semaphore cannot know the dead process meant to give it back.
#pragma once

#include "batchproc/mp/detail/shared_object.hpp"

#include <optional>
#include <utility>

namespace batchproc::mp {

namespace detail {
struct SemaphoreState;
}

class Semaphore {
public:
    Semaphore() : Semaphore(1u) {}
    explicit Semaphore(unsigned value);
    Semaphore(detail::AttachTag tag, detail::ObjectRef ref);

    // Takes one unit: true when taken; false when block is false and none is free, or when
    // `timeout` seconds pass first.
    bool acquire(bool block = true, std::optional<double> timeout = std::nullopt);
    // Gives back `n` units and wakes waiters.
    void release(unsigned n = 1);
    unsigned get_value() const; // the units free now

    void lock() { acquire(); }
    bool try_lock() { return acquire(false); }
    void unlock() { release(); }

    template <class Archive>
    void save(Archive &archive) const {
        detail::save_ref(archive, ref_);
    }
    template <class Archive>
    void load(Archive &archive) {
        *this = Semaphore(detail::AttachTag{},
                          detail::load_ref(archive, {detail::Kind::semaphore, detail::Kind::bounded_semaphore}));
    }

protected:
    Semaphore(unsigned value, detail::Kind kind);

private:
    detail::ObjectRef ref_;
    detail::SemaphoreState *state_ = nullptr;
};

// A semaphore that may not be released past its initial value: release() then throws
// ValueError and changes nothing.
class BoundedSemaphore : public Semaphore {
public:
    BoundedSemaphore() : BoundedSemaphore(1u) {}
    explicit BoundedSemaphore(unsigned value) : Semaphore(value, detail::Kind::bounded_semaphore) {}
    BoundedSemaphore(detail::AttachTag tag, detail::ObjectRef ref) : Semaphore(tag, std::move(ref)) {}

    template <class Archive>
    void save(Archive &archive) const {
        Semaphore::save(archive);
    }
    template <class Archive>
    void load(Archive &archive) {
        *this = BoundedSemaphore(detail::AttachTag{}, detail::load_ref(archive, {detail::Kind::bounded_semaphore}));
    }
};

} // namespace batchproc::mp
