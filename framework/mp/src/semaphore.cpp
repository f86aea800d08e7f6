#include "batchproc/mp/semaphore.hpp"

#include "batchproc/mp/errors.hpp"
#include "shared_states.hpp"

#include <limits>
#include <string>
#include <new>

namespace batchproc::mp {

using detail::Deadline;
using detail::SemaphoreState;
using detail::StateLock;

Semaphore::Semaphore(unsigned value) : Semaphore(value, detail::Kind::semaphore) {}

Semaphore::Semaphore(unsigned value, detail::Kind kind)
    : ref_(detail::create_object(kind, sizeof(SemaphoreState))), state_(&detail::state_at<SemaphoreState>(ref_)) {
    detail::init_robust_mutex(state_->mutex, PTHREAD_MUTEX_NORMAL);
    ::new (&state_->word) detail::WaitWord{};
    state_->value = value;
    state_->limit = kind == detail::Kind::bounded_semaphore ? static_cast<std::int64_t>(value) : -1;
}

Semaphore::Semaphore(detail::AttachTag, detail::ObjectRef ref)
    : ref_(std::move(ref)), state_(&detail::state_at<SemaphoreState>(ref_)) {}

bool Semaphore::acquire(bool block, std::optional<double> timeout) {
    const Deadline deadline = Deadline::after(block ? timeout : std::nullopt);
    StateLock guard(state_->mutex);
    while (state_->value <= 0) {
        if (!block || deadline.passed()) return false;
        detail::wait_on(state_->word, guard, deadline);
    }
    --state_->value;
    return true;
}

void Semaphore::release(unsigned n) {
    if (n == 0) return;
    StateLock guard(state_->mutex);
    if (state_->limit >= 0 && state_->value + static_cast<std::int64_t>(n) > state_->limit) {
        throw ValueError("batchproc::mp::BoundedSemaphore::release: released more times than acquired (the "
                         "count would exceed its initial value of " + std::to_string(state_->limit) + ")");
    }
    if (state_->value > std::numeric_limits<std::int64_t>::max() - static_cast<std::int64_t>(n)) {
        throw ValueError("batchproc::mp::Semaphore::release: the count would overflow");
    }
    state_->value += n;
    detail::notify_all(state_->word);
}

unsigned Semaphore::get_value() const {
    StateLock guard(state_->mutex);
    return static_cast<unsigned>(state_->value);
}

} // namespace batchproc::mp
