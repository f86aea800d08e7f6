#include "batchproc/mp/condition.hpp"

#include "shared_states.hpp"

#include <algorithm>
#include <limits>
#include <new>
#include <stdexcept>

namespace batchproc::mp {

using detail::ConditionState;
using detail::Deadline;
using detail::StateLock;

namespace {

detail::ObjectRef new_condition() {
    detail::ObjectRef ref = detail::create_object(detail::Kind::condition, sizeof(ConditionState));
    auto &state = detail::state_at<ConditionState>(ref);
    detail::init_robust_mutex(state.mutex, PTHREAD_MUTEX_NORMAL);
    ::new (&state.word) detail::WaitWord{};
    state.waiting = 0;
    state.tokens = 0;
    state.epoch = 0;
    return ref;
}

} // namespace

Condition::Condition() : Condition(new_condition(), RLock()) {}

Condition::Condition(Lock lock) : Condition(new_condition(), std::move(lock)) {}

Condition::Condition(RLock lock) : Condition(new_condition(), std::move(lock)) {}

Condition::Condition(detail::ObjectRef ref, std::variant<Lock, RLock> lock)
    : ref_(std::move(ref)), state_(&detail::state_at<ConditionState>(ref_)), lock_(std::move(lock)) {}

detail::LockCore &Condition::core() {
    return std::visit([](auto &lock) -> detail::LockCore & { return lock.core_; }, lock_);
}

bool Condition::acquire(bool block, std::optional<double> timeout) { return core().acquire(block, timeout); }

void Condition::release() { core().release(); }

bool Condition::wait(std::optional<double> timeout) {
    detail::LockCore &lock = core();
    if (!lock.is_owned()) {
        throw std::logic_error("batchproc::mp::Condition::wait: the calling thread must hold the condition's lock");
    }
    const Deadline deadline = Deadline::after(timeout);
    bool woken = false;
    unsigned depth = 0;
    {
        StateLock guard(state_->mutex);
        ++state_->waiting;
        const std::uint64_t my_epoch = state_->epoch;
        // Registered before the lock is let go: a notify made as soon as it is free sees us.
        depth = lock.release_all();
        for (;;) {
            if (state_->epoch != my_epoch && state_->tokens > 0) {
                --state_->tokens;
                woken = true;
                break;
            }
            if (deadline.passed()) {
                --state_->waiting;
                break;
            }
            detail::wait_on(state_->word, guard, deadline);
        }
    }
    lock.restore(depth);
    return woken;
}

void Condition::notify(unsigned n) {
    if (!core().is_owned()) {
        throw std::logic_error("batchproc::mp::Condition::notify: the calling thread must hold the condition's lock");
    }
    StateLock guard(state_->mutex);
    const std::uint64_t woken = std::min<std::uint64_t>(n, state_->waiting);
    if (woken == 0) return;
    state_->waiting -= woken;
    state_->tokens += woken;
    ++state_->epoch;
    detail::notify_all(state_->word);
}

void Condition::notify_all() { notify(std::numeric_limits<unsigned>::max()); }

} // namespace batchproc::mp
