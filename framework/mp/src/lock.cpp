#include "batchproc/mp/lock.hpp"

#include "shared_states.hpp"

#include <new>
#include <stdexcept>
#include <string>
#include <system_error>

namespace batchproc::mp::detail {

namespace {

const char *lock_name(const ObjectRef &ref) { return kind_name(static_cast<Kind>(ref.header().kind)); }

void init_lock(LockState &state, Kind kind) {
    init_robust_mutex(state.mutex, kind == Kind::rlock ? PTHREAD_MUTEX_RECURSIVE : PTHREAD_MUTEX_ERRORCHECK);
    ::new (&state.repairs) std::atomic<std::uint64_t>(0);
    ::new (&state.owner_tid) std::atomic<std::int32_t>(0);
    ::new (&state.depth) std::atomic<std::uint32_t>(0);
    ::new (&state.repaired) std::atomic<std::uint32_t>(0);
}

} // namespace

ObjectRef LockCore::place(const SharedMemory &block, std::size_t offset, Kind kind) {
    ObjectRef ref = place_object(block, offset, kind, sizeof(LockState));
    init_lock(state_at<LockState>(ref), kind);
    return ref;
}

std::size_t LockCore::shared_size() noexcept { return sizeof(LockState); }

LockCore::LockCore(Kind kind) : ref_(create_object(kind, sizeof(LockState))), state_(&state_at<LockState>(ref_)) {
    init_lock(*state_, kind);
}

LockCore::LockCore(AttachTag, ObjectRef ref) : ref_(std::move(ref)), state_(&state_at<LockState>(ref_)) {}

bool LockCore::acquire(bool block, std::optional<double> timeout) {
    const LockStatus status = lock_robust(state_->mutex, block, Deadline::after(block ? timeout : std::nullopt));
    switch (status) {
    case LockStatus::unavailable:
        return false;
    case LockStatus::already_held:
        if (block && !timeout) {
            throw std::logic_error(std::string("batchproc::mp::") + lock_name(ref_) +
                                   "::acquire: the calling thread already holds this lock and would wait for itself "
                                   "forever (use an RLock to acquire it again)");
        }
        return false;
    case LockStatus::repaired:
        // The dead holder's levels died with it.
        state_->depth.store(0, std::memory_order_relaxed);
        state_->repairs.fetch_add(1, std::memory_order_relaxed);
        break;
    case LockStatus::acquired:
        break;
    }
    if (state_->depth.load(std::memory_order_relaxed) == 0) {
        state_->repaired.store(status == LockStatus::repaired ? 1 : 0, std::memory_order_relaxed);
        state_->owner_tid.store(current_tid(), std::memory_order_relaxed);
    }
    state_->depth.fetch_add(1, std::memory_order_relaxed);
    return true;
}

void LockCore::release() {
    if (!is_owned()) {
        throw std::logic_error(std::string("batchproc::mp::") + lock_name(ref_) +
                               "::release: the calling thread does not hold this lock (a lock is released by the "
                               "thread that acquired it)");
    }
    if (state_->depth.fetch_sub(1, std::memory_order_relaxed) == 1) state_->owner_tid.store(0, std::memory_order_relaxed);
    const int rc = pthread_mutex_unlock(&state_->mutex);
    if (rc != 0) throw std::system_error(rc, std::generic_category(), "batchproc::mp: unlocking a shared lock");
}

bool LockCore::is_owned() const noexcept {
    return state_->depth.load(std::memory_order_relaxed) > 0 &&
           state_->owner_tid.load(std::memory_order_relaxed) == current_tid();
}

bool LockCore::repaired() const noexcept { return state_->repaired.load(std::memory_order_relaxed) != 0; }

std::uint64_t LockCore::repairs() const noexcept { return state_->repairs.load(std::memory_order_relaxed); }

unsigned LockCore::release_all() {
    const unsigned depth = state_->depth.load(std::memory_order_relaxed);
    for (unsigned i = 0; i < depth; ++i) release();
    return depth;
}

void LockCore::restore(unsigned depth) {
    for (unsigned i = 0; i < depth; ++i) acquire(true, std::nullopt);
}

} // namespace batchproc::mp::detail
