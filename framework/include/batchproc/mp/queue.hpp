// Queue<T> and SimpleQueue<T>: multi-producer, multi-consumer FIFO queues between
// processes (Python's multiprocessing.Queue and SimpleQueue).
//
//     mp::Queue<int> q;                                 // or Queue<int>(8): bounded
//     mp::Process p([&] { q.put(42); });
//     p.start();
//     int v = q.get();                                  // 42
//     std::optional<int> w = q.get(0.5);                // nullopt after half a second
//
// Items are cereal archives written to a Unix socket with a length prefix. A robust
// process-shared lock around each write and each read keeps messages whole with any number
// of producers and consumers; a process killed while holding one does not block the others.
//
// Differences from Python, on purpose:
//  - There is no feeder thread: put() writes to the socket itself. It returns once the item
//    is in the socket buffer (about 200 KiB, raised to 1 MiB when allowed); with a full
//    buffer and no reader it blocks until a consumer reads, even on an unbounded queue.
//  - A Queue is shared by inheritance: copy it into a fork child, or pass it as an argument
//    of a spawn/forkserver Process (its descriptors go with the child). It cannot be sent
//    through another Queue or a Pipe (a runtime ValueError, as Python's RuntimeError).
#pragma once

#include "batchproc/mp/connection.hpp"
#include "batchproc/mp/detail/unique_fd.hpp"
#include "batchproc/mp/errors.hpp"
#include "batchproc/mp/serialization.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>

namespace batchproc::mp {

namespace detail {

// The untyped queue: a socket pair plus a shared block (locks, bounding semaphore, size).
class QueueCore {
public:
    explicit QueueCore(std::int64_t maxsize);                  // a new queue
    QueueCore(UniqueFd read, UniqueFd write, UniqueFd memory); // attaches to one (a spawned child)
    ~QueueCore();
    QueueCore(const QueueCore &) = delete;
    QueueCore &operator=(const QueueCore &) = delete;

    // `framed` holds kFrameHeader reserved bytes then the payload. Throws Full.
    void put(std::string &framed, bool block, std::optional<double> timeout_seconds);
    // False when nothing came (non-blocking, or past the timeout).
    bool get(std::string &payload, bool block, std::optional<double> timeout_seconds);
    std::int64_t qsize() const;
    bool empty() const;
    bool full() const;
    std::int64_t maxsize() const { return maxsize_; }
    void close();
    bool closed() const { return !read_; }

    int read_fd() const { return read_.get(); }
    int write_fd() const { return write_.get(); }
    int memory_fd() const { return memory_.get(); }

private:
    struct Shared;
    void check_open(const char *operation) const;
    void map_shared();

    UniqueFd read_, write_, memory_;
    Shared *shared_ = nullptr;
    std::int64_t maxsize_ = 0;
};

template <class Archive>
void save_queue_core(Archive &ar, const std::shared_ptr<QueueCore> &core, const char *what) {
    if (!core || core->closed()) throw ValueError(std::string("batchproc::mp: cannot pass ") + what + ": it is closed");
    ar(export_fd(core->read_fd(), what), export_fd(core->write_fd(), what), export_fd(core->memory_fd(), what));
}

template <class Archive>
std::shared_ptr<QueueCore> load_queue_core(Archive &ar) {
    std::uint32_t r = 0, w = 0, m = 0;
    ar(r, w, m);
    return std::make_shared<QueueCore>(UniqueFd(import_fd(r)), UniqueFd(import_fd(w)), UniqueFd(import_fd(m)));
}

} // namespace detail

template <class T>
class Queue {
public:
    // maxsize <= 0: unbounded.
    explicit Queue(std::int64_t maxsize = 0) : core_(std::make_shared<detail::QueueCore>(maxsize)) {}

    // Puts `item`. On a bounded queue that is full, waits for room (for at most `timeout`
    // seconds if given) when `block`, and throws Full when there is none.
    void put(const T &item, bool block = true, std::optional<double> timeout_seconds = std::nullopt) {
        std::string framed(detail::kFrameHeader, '\0');
        dump_to(framed, item);
        core().put(framed, block, timeout_seconds);
    }
    void put_nowait(const T &item) { put(item, false); }

    // Removes and returns the next item, waiting as long as it takes.
    T get() { return get(true, std::nullopt); }
    // Python's get(block, timeout): throws Empty when nothing came.
    T get(bool block, std::optional<double> timeout_seconds = std::nullopt) {
        std::string payload;
        if (!core().get(payload, block, timeout_seconds)) throw Empty();
        return loads<T>(payload);
    }
    // Waits at most `timeout_seconds`; nullopt when nothing came.
    std::optional<T> get(double timeout_seconds) {
        std::string payload;
        if (!core().get(payload, true, timeout_seconds)) return std::nullopt;
        return loads<T>(payload);
    }
    template <class I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>, int> = 0>
    std::optional<T> get(I timeout_seconds) {
        return get(static_cast<double>(timeout_seconds));
    }
    T get_nowait() { return get(false); }

    // Approximate, as in Python: other processes may put or get at the same moment.
    std::int64_t qsize() const { return core().qsize(); }
    bool empty() const { return core().empty(); }
    bool full() const { return core().full(); }
    std::int64_t maxsize() const { return core().maxsize(); }

    // This process will put and get no more: closes its descriptors (for every copy of this
    // Queue in the process). Other processes keep using the queue.
    void close() { core_->close(); }
    bool closed() const { return core_->closed(); }

    template <class Archive>
    void save(Archive &ar) const {
        detail::save_queue_core(ar, core_, "a Queue");
    }
    template <class Archive>
    void load(Archive &ar) {
        core_ = detail::load_queue_core<Archive>(ar);
    }

private:
    detail::QueueCore &core() const {
        if (core_->closed()) throw ValueError("batchproc::mp::Queue: the queue is closed");
        return *core_;
    }

    std::shared_ptr<detail::QueueCore> core_;
};

// The simplest queue: unbounded, blocking put and get only (Python's SimpleQueue).
template <class T>
class SimpleQueue {
public:
    SimpleQueue() : core_(std::make_shared<detail::QueueCore>(0)) {}

    void put(const T &item) {
        std::string framed(detail::kFrameHeader, '\0');
        dump_to(framed, item);
        core().put(framed, true, std::nullopt);
    }
    T get() {
        std::string payload;
        core().get(payload, true, std::nullopt);
        return loads<T>(payload);
    }
    bool empty() const { return core().empty(); }
    void close() { core_->close(); }
    bool closed() const { return core_->closed(); }

    template <class Archive>
    void save(Archive &ar) const {
        detail::save_queue_core(ar, core_, "a SimpleQueue");
    }
    template <class Archive>
    void load(Archive &ar) {
        core_ = detail::load_queue_core<Archive>(ar);
    }

private:
    detail::QueueCore &core() const {
        if (core_->closed()) throw ValueError("batchproc::mp::SimpleQueue: the queue is closed");
        return *core_;
    }

    std::shared_ptr<detail::QueueCore> core_;
};

} // namespace batchproc::mp
