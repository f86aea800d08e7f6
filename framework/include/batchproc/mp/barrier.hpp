// Barrier shared between processes (Python's multiprocessing.Barrier): `parties` waiters
// meet, the last to arrive runs the action (if its handle has one), and all go on.
//
// wait() returns the arrival index, 0 for the first to arrive up to parties - 1 for the last.
// It throws BrokenBarrierError when the barrier is broken: abort(), reset() while parties
// wait, a wait that timed out (it breaks the barrier, as in Python), an action that threw
// (the thread that ran it gets the action's exception), or the process running the action
// died. A broken barrier stays broken until reset().
//
// The action is a local callable: it is copied by fork but does not travel through
// serialization, so in a spawned child the handle has no action (the last to arrive there
// runs none). A party that dies before arriving is not detected: give wait a timeout when
// that can happen.
#pragma once

#include "batchproc/mp/detail/shared_object.hpp"
#include "batchproc/mp/errors.hpp"

#include <functional>
#include <optional>
#include <utility>

namespace batchproc::mp {

// threading.BrokenBarrierError: a party waited on, or arrived at, a broken Barrier.
class BrokenBarrierError : public Error {
public:
    using Error::Error;
};

namespace detail {
struct BarrierState;
}

class Barrier {
public:
    // `timeout`: the default for wait(), in seconds. Throws ValueError when parties is 0.
    explicit Barrier(unsigned parties, std::function<void()> action = {},
                     std::optional<double> timeout = std::nullopt);
    // An empty handle, to be assigned or loaded (a task argument is default-constructed,
    // then loaded); any other use throws std::logic_error.
    Barrier() = default;
    Barrier(detail::AttachTag tag, detail::ObjectRef ref);

    unsigned wait(std::optional<double> timeout = std::nullopt);
    void reset(); // back to empty; parties waiting now get BrokenBarrierError
    void abort(); // breaks it; waiting and future parties get BrokenBarrierError until reset()

    unsigned parties() const;
    unsigned n_waiting() const; // parties waiting now
    bool broken() const;

    template <class Archive>
    void save(Archive &archive) const {
        detail::save_ref(archive, ref_);
    }
    template <class Archive>
    void load(Archive &archive) {
        *this = Barrier(detail::AttachTag{}, detail::load_ref(archive, {detail::Kind::barrier}));
    }

private:
    detail::ObjectRef ref_;
    detail::BarrierState *state_ = nullptr;
    std::function<void()> action_;
};

} // namespace batchproc::mp
