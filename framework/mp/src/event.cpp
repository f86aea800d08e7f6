#include "batchproc/mp/event.hpp"

#include "shared_states.hpp"

#include <new>

namespace batchproc::mp {

using detail::Deadline;
using detail::EventState;
using detail::StateLock;

Event::Event()
    : ref_(detail::create_object(detail::Kind::event, sizeof(EventState))), state_(&detail::state_at<EventState>(ref_)) {
    detail::init_robust_mutex(state_->mutex, PTHREAD_MUTEX_NORMAL);
    ::new (&state_->word) detail::WaitWord{};
    ::new (&state_->flag) std::atomic<std::uint32_t>(0);
}

Event::Event(detail::AttachTag, detail::ObjectRef ref)
    : ref_(std::move(ref)), state_(&detail::state_at<EventState>(ref_)) {}

bool Event::is_set() const noexcept { return state_->flag.load(std::memory_order_acquire) != 0; }

void Event::set() {
    StateLock guard(state_->mutex);
    state_->flag.store(1, std::memory_order_release);
    detail::notify_all(state_->word);
}

void Event::clear() {
    StateLock guard(state_->mutex);
    state_->flag.store(0, std::memory_order_release);
}

bool Event::wait(std::optional<double> timeout) {
    if (is_set()) return true;
    const Deadline deadline = Deadline::after(timeout);
    StateLock guard(state_->mutex);
    while (state_->flag.load(std::memory_order_relaxed) == 0) {
        if (deadline.passed()) return false;
        detail::wait_on(state_->word, guard, deadline);
    }
    return true;
}

} // namespace batchproc::mp
