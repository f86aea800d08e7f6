#include "batchproc/mp/barrier.hpp"

#include "batchproc/mp/errors.hpp"
#include "shared_states.hpp"

#include <unistd.h>

#include <new>
#include <stdexcept>

namespace batchproc::mp {

using detail::BarrierState;
using detail::Deadline;
using detail::StateLock;

namespace {

// How often a waiter checks that the process running the action is still alive.
constexpr double kActionPollSeconds = 0.1;

// Ends the current cycle as broken; its waiters and later arrivals get BrokenBarrierError.
void break_cycle(BarrierState &state) {
    state.outcomes &= ~(std::uint64_t{1} << (state.cycle % 64));
    ++state.cycle;
    state.count = 0;
    state.broken = 1;
    detail::notify_all(state.word);
}

bool cycle_tripped(const BarrierState &state, std::uint64_t cycle) {
    // A waiter asleep for 64 cycles can no longer tell; it was released, so it passed.
    if (state.cycle - cycle > 64) return true;
    return (state.outcomes >> (cycle % 64)) & 1U;
}

// The process running the action died (or was reaped as a zombie): nobody will end the cycle.
bool action_runner_died(BarrierState &state) {
    return state.action_pid != 0 && state.action_pid != getpid() && !detail::process_alive(state.action_pid);
}

BarrierState &checked(BarrierState *state) {
    if (state == nullptr) {
        throw std::logic_error("batchproc::mp::Barrier: this handle is empty (default-constructed and never "
                               "assigned or loaded)");
    }
    return *state;
}

[[noreturn]] void throw_broken(const char *why) {
    throw BrokenBarrierError(std::string("batchproc::mp::Barrier::wait: ") + why);
}

} // namespace

Barrier::Barrier(unsigned parties, std::function<void()> action, std::optional<double> timeout)
    : ref_(detail::create_object(detail::Kind::barrier, sizeof(BarrierState))),
      state_(&detail::state_at<BarrierState>(ref_)), action_(std::move(action)) {
    if (parties == 0) throw ValueError("batchproc::mp::Barrier: parties must be at least 1");
    detail::init_robust_mutex(state_->mutex, PTHREAD_MUTEX_NORMAL);
    ::new (&state_->word) detail::WaitWord{};
    state_->parties = parties;
    state_->count = 0;
    state_->cycle = 0;
    state_->outcomes = 0;
    state_->broken = 0;
    state_->action_pid = 0;
    state_->default_timeout = timeout ? *timeout : -1.0;
}

Barrier::Barrier(detail::AttachTag, detail::ObjectRef ref)
    : ref_(std::move(ref)), state_(&detail::state_at<BarrierState>(ref_)) {}

unsigned Barrier::wait(std::optional<double> timeout) {
    checked(state_);
    if (!timeout && state_->default_timeout >= 0) timeout = state_->default_timeout;
    const Deadline deadline = Deadline::after(timeout);
    StateLock guard(state_->mutex);
    // The previous cycle's action still runs: this arrival belongs to the next cycle.
    while (state_->action_pid != 0) {
        if (action_runner_died(*state_)) {
            state_->action_pid = 0;
            break_cycle(*state_);
            throw_broken("the process running the barrier's action died");
        }
        if (deadline.passed()) {
            break_cycle(*state_);
            throw_broken("timed out");
        }
        detail::wait_on(state_->word, guard, deadline.capped(kActionPollSeconds));
    }
    if (state_->broken != 0) throw_broken("the barrier is broken (reset() it to use it again)");

    const unsigned index = state_->count++;
    const std::uint64_t cycle = state_->cycle;
    if (state_->count == state_->parties) {
        if (action_) {
            state_->action_pid = getpid();
            detail::notify_all(state_->word); // waiters start watching that this process lives
            guard.unlock();
            try {
                action_();
            } catch (...) {
                guard.lock();
                state_->action_pid = 0;
                if (state_->cycle == cycle) break_cycle(*state_);
                throw;
            }
            guard.lock();
            state_->action_pid = 0;
            if (state_->cycle != cycle) {
                detail::notify_all(state_->word);
                throw_broken("the barrier was reset or aborted while its action ran");
            }
        }
        state_->outcomes |= std::uint64_t{1} << (cycle % 64);
        ++state_->cycle;
        state_->count = 0;
        detail::notify_all(state_->word);
        return index;
    }
    while (state_->cycle == cycle) {
        if (action_runner_died(*state_)) {
            state_->action_pid = 0;
            break_cycle(*state_);
            break;
        }
        if (deadline.passed()) {
            break_cycle(*state_);
            throw_broken("timed out (the barrier is now broken for every party)");
        }
        detail::wait_on(state_->word, guard,
                        state_->action_pid != 0 ? deadline.capped(kActionPollSeconds) : deadline);
    }
    if (!cycle_tripped(*state_, cycle)) throw_broken("the barrier was broken while this party waited");
    return index;
}

void Barrier::reset() {
    StateLock guard(checked(state_).mutex);
    if (state_->count > 0) {
        state_->outcomes &= ~(std::uint64_t{1} << (state_->cycle % 64));
        ++state_->cycle;
        state_->count = 0;
    }
    state_->broken = 0;
    detail::notify_all(state_->word);
}

void Barrier::abort() {
    StateLock guard(checked(state_).mutex);
    if (state_->broken == 0) break_cycle(*state_);
}

unsigned Barrier::parties() const { return checked(state_).parties; }

unsigned Barrier::n_waiting() const {
    StateLock guard(checked(state_).mutex);
    return state_->broken != 0 || state_->action_pid != 0 ? 0 : state_->count;
}

bool Barrier::broken() const {
    StateLock guard(checked(state_).mutex);
    return state_->broken != 0;
}

} // namespace batchproc::mp
