// The shared-memory result buffer of the process pool: a header with the run's counters
// behind a robust process-shared mutex, and a ring of result slots. The coordinator gives
// each job it sends a slot; the worker fills it; the coordinator copies it out and reuses it.
#pragma once

#include "engine/job_record.hpp"
#include "pool/shared_region.hpp"

#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

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

// A result's fixed fields live in its slot; its texts (error, metrics, warnings, stage
// timings) travel as one length-prefixed record (encode_texts), inline in the slot when it
// fits and otherwise on the worker's answer pipe just before the answer: no text is ever cut
// or dropped, so every mode reports the same.
inline constexpr size_t kInlineTextBytes = 6016;

struct ResultSlot {
    std::atomic<int32_t> state;  // SlotState
    int32_t status;              // JobStatus
    int32_t attempts;            // attempts started, including this one
    uint32_t text_bytes;         // size of the texts record; inline when <= kInlineTextBytes
    int64_t job_index;
    int64_t pid;
    int64_t start_ns;            // CLOCK_MONOTONIC when the worker started the job
    double ms;
    uint64_t bytes_in;
    uint64_t bytes_out;
    char text[kInlineTextBytes];
};

// The texts of a record as one byte string, and back (false when `bytes` is malformed).
std::string encode_texts(const JobRecord &record);
bool decode_texts(std::string_view bytes, JobRecord &record);

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

    // Slot <-> JobRecord. store() returns the texts record when it does not fit the slot
    // (the caller sends it on the answer pipe) and "" when it is inline. load() takes that
    // record for such a slot (nullptr when it never arrived: the texts are then replaced by
    // an error saying so).
    static std::string store(ResultSlot &slot, const JobRecord &record);
    static JobRecord load(const ResultSlot &slot, const std::string *overflow = nullptr);

    // The buffer's first page, at offset 0 of the mapping.
    struct Header {
        uint32_t magic;
        uint32_t slot_count;
        pthread_mutex_t lock;
        std::atomic<int32_t> stop;
        PoolCounters counters;
        // Redo record: the counters' next value, valid while `redo_active` is 1.
        PoolCounters redo;
        volatile int32_t redo_active;
        uint64_t repairs;
    };

private:
    Header &header() const;
    // The mutex lives in shared memory: locking does not change this object.
    bool lock() const;
    void unlock() const;
    PoolCounters counters_snapshot_locked() const;
    void commit_locked(const PoolCounters &next);

    SharedRegion region_;
};

} // namespace batchproc
