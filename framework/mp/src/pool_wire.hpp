// What the pool's thread and its workers share: the messages between them and each worker's
// slot in shared memory. Private to the library.
//
// Pool -> worker, one frame each (8-byte length, then):
//   chunk: u8 1, u64 chunk id, u64 first task id, u32 count, u32 function index,
//          u32 name length, name (a registered task; empty under fork), argument tuples
//   stop:  u8 2 (finish what came before, then exit 0)
// Worker -> pool: u64 chunk id, u32 first task in the chunk, u32 count, then `count` outcomes
//   (see detail/pool_chunk.hpp). A chunk's outcomes may come in several frames, in order.
#pragma once

#include "batchproc/mp/detail/pool_core.hpp"
#include "batchproc/mp/pool.hpp"
#include "batchproc/mp/connection.hpp"
#include "batchproc/mp/shared_memory.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

namespace batchproc::mp::detail {

inline constexpr std::uint8_t kChunkMessage = 1;
inline constexpr std::uint8_t kStopMessage = 2;
inline constexpr std::size_t kChunkHeader = 1 + 8 + 8 + 4 + 4 + 4;
inline constexpr std::size_t kReplyHeader = 8 + 4 + 4;

// Written by the worker before each task: the pool reads it to tell which task was running
// when the worker died, and (watching it change) how long it has run.
struct alignas(64) WorkerSlot {
    std::atomic<std::uint64_t> task; // the running task's id + 1; 0 between chunks
};

// What a worker needs. Under fork `table` finds a callable in the pool's function table (a
// copy of the parent's, as it was at the fork); under spawn and forkserver tasks are found by
// name in the registry.
struct WorkerSetup {
    int fd = -1;
    WorkerSlot *slot = nullptr;
    std::size_t max_memory = 0;
    std::function<PoolFunction *(std::uint32_t)> table;
    std::function<void()> initializer;
};

[[noreturn]] void run_pool_worker(const WorkerSetup &setup);

// A spawn or forkserver worker's arguments.
struct PoolWorkerConfig {
    SharedMemory slots;
    std::uint32_t slot = 0;
    std::uint64_t max_memory = 0;
    std::string init_task; // registered initializer, or empty
    std::string init_arguments;

    template <class Archive>
    void serialize(Archive &ar) {
        ar(slots, slot, max_memory, init_task, init_arguments);
    }
};

std::int64_t monotonic_ns();

} // namespace batchproc::mp::detail

namespace batchproc::mp::detail {
// The task a spawn or forkserver worker runs (registered as "batchproc_mp_pool_worker").
void batchproc_mp_pool_worker(Connection<std::string> channel, PoolWorkerConfig config);
} // namespace batchproc::mp::detail

#include <cstdlib>
#include <cstring>
#include <memory>

namespace batchproc::mp::detail {

// Bytes read from a socket and not yet parsed. Unlike a std::string it does not zero the
// room it reserves for the next read, and it moves the unparsed tail down only when the
// space before it is worth reclaiming.
class ByteBuffer {
public:
    const char *data() const { return buffer_.get() + begin_; }
    std::size_t size() const { return end_ - begin_; }
    void consume(std::size_t n) {
        begin_ += n;
        if (begin_ == end_) begin_ = end_ = 0;
    }
    // Room for at least `n` more bytes after the data.
    char *tail(std::size_t n) {
        if (capacity_ - end_ >= n) return buffer_.get() + end_;
        const std::size_t live = end_ - begin_;
        if (begin_ > 0 && capacity_ - live >= n && begin_ >= live) {
            std::memmove(buffer_.get(), buffer_.get() + begin_, live);
        } else {
            const std::size_t capacity = std::max(capacity_ * 2, live + n);
            std::unique_ptr<char[]> bigger(new char[capacity]);
            if (live > 0) std::memcpy(bigger.get(), buffer_.get() + begin_, live);
            buffer_ = std::move(bigger);
            capacity_ = capacity;
        }
        begin_ = 0;
        end_ = live;
        return buffer_.get() + end_;
    }
    std::size_t room() const { return capacity_ - end_; }
    void commit(std::size_t n) { end_ += n; }

private:
    std::unique_ptr<char[]> buffer_;
    std::size_t capacity_ = 0, begin_ = 0, end_ = 0;
};

} // namespace batchproc::mp::detail
