// Event shared between processes (Python's multiprocessing.Event): a flag that set() raises,
// clear() lowers and wait() waits for. Built on a robust mutex and a futex word, so a
// process that dies at any point never leaves it unusable.
#pragma once

#include "batchproc/mp/detail/shared_object.hpp"

#include <optional>
#include <utility>

namespace batchproc::mp {

namespace detail {
struct EventState;
}

class Event {
public:
    Event();
    Event(detail::AttachTag tag, detail::ObjectRef ref);

    bool is_set() const noexcept;
    void set();   // raises the flag and wakes every waiter
    void clear(); // lowers the flag
    // Waits until the flag is raised or `timeout` seconds pass; returns the flag (so false
    // means it timed out), as Python's wait().
    bool wait(std::optional<double> timeout = std::nullopt);

    template <class Archive>
    void save(Archive &archive) const {
        detail::save_ref(archive, ref_);
    }
    template <class Archive>
    void load(Archive &archive) {
        *this = Event(detail::AttachTag{}, detail::load_ref(archive, {detail::Kind::event}));
    }

private:
    detail::ObjectRef ref_;
    detail::EventState *state_ = nullptr;
};

} // namespace batchproc::mp
