// The shared-memory result buffer of the process pool: a header with the run's counters
// behind a robust process-shared mutex, and a ring of result slots. The coordinator gives
// each job it sends a slot; the worker fills it; the coordinator copies it out and reuses it.
#pragma once

#include "engine/job_record.hpp"
#include "pool/shared_region.hpp"

#include <pthread.h>

#include <atomic>
#include <cstdint>

namespace batchproc {

struct PoolCounters {
    uint64_t done = 0; // finished in a final status
    uint64_t ok = 0;
    uint64_t failed = 0;
    uint64_t timeout = 0;
    uint64_t crashed = 0;
    uint64_t skipped = 0;
    uint64_t retried = 0;
    uint64_t in_flight = 0;
    uint64_t bytes_in = 0;
    uint64_t bytes_out = 0;
};

enum class SlotState : int32_t { free = 0, assigned, running, done, returned };

struct ResultSlot {
    std::atomic<int32_t> state;  // SlotState
    int32_t status;              // JobStatus
    int32_t attempts;            // attempts started, including this one
    int32_t stage_count;
    int64_t job_index;
    int64_t pid;
    int64_t start_ns;            // CLOCK_MONOTONIC when the worker started the job
    double ms;
    uint64_t bytes_in;
    uint64_t bytes_out;
    char error[1024];
    char metrics[2048];          // a JSON object
    char warnings[1024];         // '\n'-separated
    struct {
        char name[40];
        double ms;
    } stages[16];
};

class ResultBuffer {
public:
    // Creates the buffer with `slots` slots (coordinator).
    static ResultBuffer create(uint32_t slots);
    // Maps a buffer from its fd (spawned worker).
    static ResultBuffer attach(int fd);

    ResultBuffer() = default;
    ResultBuffer(ResultBuffer &&) = default;
    ResultBuffer &operator=(ResultBuffer &&) = default;

    int fd() const { return region_.fd(); }
    uint32_t slot_count() const;
    ResultSlot &slot(uint32_t i) const;

    // Stops workers from starting jobs they have been sent (SIGINT).
    void request_stop();
    bool stop_requested() const;

    // Applies `fn(PoolCounters&)` under the robust lock. The update is made through a redo
    // record, so when a holder dies mid-update the next locker completes it: the counters
    // never stay half-updated. Returns false if the lock is unrecoverable.
    template <typename Fn>
    bool update(Fn &&fn) {
        if (!lock()) return false;
        PoolCounters next = counters_snapshot_locked();
        fn(next);
        commit_locked(next);
        unlock();
        return true;
    }
    PoolCounters counters() const; // a consistent copy
    uint64_t lock_repairs() const;

    // Test hook: take the lock, start an update and die holding it (SIGKILL to self).
    [[noreturn]] void die_holding_lock();

    // Slot <-> JobRecord.
    static void store(ResultSlot &slot, const JobRecord &record);
    static JobRecord load(const ResultSlot &slot);

private:
    struct Header;
    Header &header() const;
    // The mutex lives in shared memory: locking does not change this object.
    bool lock() const;
    void unlock() const;
    PoolCounters counters_snapshot_locked() const;
    void commit_locked(const PoolCounters &next);

    SharedRegion region_;
};

} // namespace batchproc
