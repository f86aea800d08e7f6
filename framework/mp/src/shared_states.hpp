// The layouts, in shared memory, of the synchronisation objects. Each starts with an
// ObjectHeader; kLayoutVersion changes whenever one of them does, so that processes built
// from different versions refuse each other's objects instead of misreading them.
#pragma once

#include "batchproc/mp/detail/shared_object.hpp"
#include "robust_primitives.hpp"

#include <pthread.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace batchproc::mp::detail {

inline constexpr std::uint32_t kObjectMagic = 0x504d5042; // "BPMP"
inline constexpr std::uint32_t kLayoutVersion = 1;

struct LockState {
    ObjectHeader header;
    pthread_mutex_t mutex;
    std::atomic<std::uint64_t> repairs;   // takeovers from dead holders, ever
    std::atomic<std::int32_t> owner_tid;  // the holder's thread id; 0 when free
    std::atomic<std::uint32_t> depth;     // levels held (RLock), written by the holder
    std::atomic<std::uint32_t> repaired;  // the current holding began with a takeover
};

struct SemaphoreState {
    ObjectHeader header;
    pthread_mutex_t mutex;
    WaitWord word;
    std::int64_t value;
    std::int64_t limit; // the bound of a BoundedSemaphore; -1 for none
};

struct EventState {
    ObjectHeader header;
    pthread_mutex_t mutex;
    WaitWord word;
    std::atomic<std::uint32_t> flag;
};

// Waiters take a ticket of the current epoch; notify(n) turns up to n waiting tickets into
// wake tokens and opens a new epoch. Only a waiter from an earlier epoch takes a token, so
// notify never wakes one that started waiting after it.
struct ConditionState {
    ObjectHeader header;
    pthread_mutex_t mutex;
    WaitWord word;
    std::uint64_t waiting; // waiters not yet given a token
    std::uint64_t tokens;  // wake-ups given and not yet taken
    std::uint64_t epoch;   // notifies that gave tokens
};

struct BarrierState {
    ObjectHeader header;
    pthread_mutex_t mutex;
    WaitWord word;
    std::uint32_t parties;
    std::uint32_t count;      // arrived in the current cycle
    std::uint64_t cycle;      // cycles ended (by tripping or breaking)
    std::uint64_t outcomes;   // bit (cycle % 64): that cycle tripped (1) or broke (0)
    std::uint32_t broken;
    std::int32_t action_pid;  // process running the action now; 0 when none
    double default_timeout;   // seconds; negative for none
};

std::size_t fixed_size(Kind kind) noexcept; // the size of a fixed-layout kind; 0 for Value/Array

template <class State>
State &state_at(const ObjectRef &ref) noexcept {
    return *static_cast<State *>(ref.address());
}

} // namespace batchproc::mp::detail
