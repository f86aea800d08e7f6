// A pool worker: reads chunks, runs their tasks, sends the outcomes back in batches.
//
// Results are not sent task by task: they gather in one buffer that is sent when there is
// nothing more to read (the pool keeps a few chunks queued ahead), when the oldest unsent
// result is 2 ms old, or before each task once tasks are slow enough (50 us) that a write
// per task costs little. So trivial tasks cost a few hundred nanoseconds, and a slow task
// never holds back the results of earlier ones by more than that.
#include "pool_wire.hpp"

#include "child_role.hpp"

#include <cxxabi.h>
#include <errno.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <new>
#include <typeinfo>

namespace batchproc::mp::detail {

namespace {

std::size_t g_memory_cap = 0; // this worker's RLIMIT_AS, for the bad_alloc message

std::string demangle(const char *name) {
    int status = 0;
    std::unique_ptr<char, void (*)(void *)> d(abi::__cxa_demangle(name, nullptr, nullptr, &status), std::free);
    return status == 0 && d ? std::string(d.get()) : std::string(name);
}

template <class T>
T read_raw(const char *p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

template <class T>
void write_raw(char *p, T v) {
    std::memcpy(p, &v, sizeof v);
}

constexpr std::int64_t kFlushAgeNs = 2'000'000;   // oldest unsent result
constexpr std::int64_t kSlowTaskNs = 50'000;      // tasks this slow: send after each
constexpr std::size_t kFlushBytes = 1 << 20;      // or when this much is gathered

class WorkerLoop final : public ChunkHooks {
public:
    explicit WorkerLoop(const WorkerSetup &setup) : setup_(setup) {}

    [[noreturn]] void run() {
        for (;;) {
            for (;;) {
                const std::size_t avail = in_.size();
                if (avail < 8) break;
                const auto len = read_raw<std::uint64_t>(in_.data());
                if (avail - 8 < len) break;
                handle(std::string_view(in_.data() + 8, len));
                in_.consume(8 + len);
            }
            flush();
            fill();
        }
    }

    std::string &out() override { return out_; }

    bool before_task(std::uint32_t index) override {
        bool send = false;
        if (index > 0 && ++ticks_ >= stride_) {
            // The clock is read every `stride_` tasks only: for trivial tasks it costs more
            // than the task.
            const std::int64_t now = monotonic_ns();
            tick(now);
            if (oldest_ == 0 && index > frame_first_) oldest_ = now;
            send = index > frame_first_ && should_flush(now);
        }
        setup_.slot->task.store(task_base_ + index + 1, std::memory_order_release);
        return send;
    }

    void send_before(std::uint32_t index) override {
        close_frame(index);
        flush();
        open_frame(index);
    }

private:
    void handle(std::string_view message) {
        if (message.empty() || static_cast<std::uint8_t>(message[0]) == kStopMessage) {
            flush();
            exit_child(0);
        }
        const char *p = message.data() + 1;
        chunk_id_ = read_raw<std::uint64_t>(p);
        task_base_ = read_raw<std::uint64_t>(p + 8);
        const auto count = read_raw<std::uint32_t>(p + 16);
        const auto index = read_raw<std::uint32_t>(p + 20);
        const auto name_size = read_raw<std::uint32_t>(p + 24);
        const std::string_view name(message.data() + kChunkHeader, name_size);
        const std::string_view arguments = message.substr(kChunkHeader + name_size);
        tick_start_ = monotonic_ns();
        ticks_ = 0;
        open_frame(0);
        if (name.empty()) {
            PoolFunction *fn = setup_.table(index);
            fn->run(arguments, count, *this);
        } else {
            const TaskEntry *entry = lookup(name);
            entry->run_chunk(entry->function, arguments, count, *this);
        }
        const std::int64_t now = monotonic_ns();
        if (count > 0) ++ticks_;
        tick(now);
        if (oldest_ == 0 && count > frame_first_) oldest_ = now;
        close_frame(count);
        setup_.slot->task.store(0, std::memory_order_release);
        if (should_flush(now)) flush();
    }

    bool should_flush(std::int64_t now) const {
        return oldest_ != 0 && (average_ns_ > kSlowTaskNs || now - oldest_ > kFlushAgeNs || out_.size() > kFlushBytes);
    }

    // Accounts the tasks done since the last reading of the clock.
    void tick(std::int64_t now) {
        if (ticks_ > 0) {
            const std::int64_t per = (now - tick_start_) / ticks_;
            average_ns_ = average_ns_ == 0 ? per : (average_ns_ * 7 + per) / 8;
            stride_ = average_ns_ > kSlowTaskNs / 4 ? 1 : 32;
        }
        ticks_ = 0;
        tick_start_ = now;
    }

    const TaskEntry *lookup(std::string_view name) {
        const auto it = entries_.find(std::string(name));
        if (it != entries_.end()) return it->second;
        const TaskEntry *entry = find_task(name);
        if (entry == nullptr) {
            std::fprintf(stderr,
                         "batchproc::mp: pool worker (pid %d): task '%.*s' is not registered in this process; "
                         "register it with BATCHPROC_MP_TASK at namespace scope (or call run_if_child in main "
                         "after registering it)\n",
                         static_cast<int>(::getpid()), static_cast<int>(name.size()), name.data());
            exit_child(70);
        }
        entries_.emplace(std::string(name), entry);
        return entry;
    }

    void open_frame(std::uint32_t first) {
        frame_start_ = out_.size();
        frame_first_ = first;
        out_.append(8 + kReplyHeader, '\0');
    }

    void close_frame(std::uint32_t end) {
        if (end == frame_first_) {
            out_.resize(frame_start_);
            return;
        }
        char *h = out_.data() + frame_start_;
        write_raw<std::uint64_t>(h, out_.size() - frame_start_ - 8);
        write_raw<std::uint64_t>(h + 8, chunk_id_);
        write_raw<std::uint32_t>(h + 16, frame_first_);
        write_raw<std::uint32_t>(h + 20, end - frame_first_);
    }

    void flush() {
        oldest_ = 0;
        const char *p = out_.data();
        std::size_t left = out_.size();
        while (left > 0) {
            const ssize_t n = ::send(setup_.fd, p, left, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR) continue;
                exit_child(0); // the pool is gone
            }
            p += n;
            left -= static_cast<std::size_t>(n);
        }
        out_.clear();
    }

    void fill() {
        std::size_t want = 256 * 1024;
        if (in_.size() >= 8) want = std::max<std::size_t>(want, read_raw<std::uint64_t>(in_.data()) + 8 - in_.size());
        char *at = in_.tail(want);
        ssize_t n;
        do n = ::read(setup_.fd, at, in_.room());
        while (n < 0 && errno == EINTR);
        if (n <= 0) exit_child(0); // the pool closed our channel
        in_.commit(static_cast<std::size_t>(n));
    }

    const WorkerSetup &setup_;
    ByteBuffer in_;
    std::string out_;
    std::size_t frame_start_ = 0;
    std::uint32_t frame_first_ = 0;
    std::uint64_t chunk_id_ = 0;
    std::uint64_t task_base_ = 0;
    std::int64_t oldest_ = 0;
    std::int64_t tick_start_ = 0;
    std::uint32_t ticks_ = 0;
    std::uint32_t stride_ = 1;
    std::int64_t average_ns_ = 0;
    std::map<std::string, const TaskEntry *> entries_;
};

} // namespace

std::int64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void describe_current_exception(std::string &type, std::string &message) {
    try {
        throw;
    } catch (const std::bad_alloc &e) {
        type = demangle(typeid(e).name());
        message = g_memory_cap > 0
                      ? "the task ran out of memory: this worker is capped at " +
                            std::to_string(g_memory_cap / (1024 * 1024)) +
                            " MiB of address space (PoolOptions::max_memory, RLIMIT_AS); raise the cap or make "
                            "the task use less"
                      : std::string("the task ran out of memory (") + e.what() + ")";
    } catch (const std::exception &e) {
        type = demangle(typeid(e).name());
        message = e.what();
    } catch (...) {
        const std::type_info *t = abi::__cxa_current_exception_type();
        type = t != nullptr ? demangle(t->name()) : "unknown";
        message = "an exception not derived from std::exception";
    }
}

void append_failure(std::string &out, const std::string &type, const std::string &message) {
    StringSink sink(out);
    std::ostream os(&sink);
    cereal::BinaryOutputArchive archive(os);
    archive(kTaskRaised, type, message);
}

void run_pool_worker(const WorkerSetup &setup) {
    if (setup.max_memory > 0) {
        const rlimit limit{setup.max_memory, setup.max_memory};
        if (::setrlimit(RLIMIT_AS, &limit) != 0)
            std::fprintf(stderr, "batchproc::mp: pool worker (pid %d): cannot cap memory: %s\n",
                         static_cast<int>(::getpid()), std::strerror(errno));
        g_memory_cap = setup.max_memory;
    }
    if (setup.initializer) {
        const int code = run_guarded(current_process().name, setup.initializer);
        if (code != 0) {
            std::fprintf(stderr, "batchproc::mp: pool worker (pid %d): its initializer failed; the worker exits\n",
                         static_cast<int>(::getpid()));
            exit_child(code);
        }
    }
    WorkerLoop loop(setup);
    loop.run();
}

void batchproc_mp_pool_worker(Connection<std::string> channel, PoolWorkerConfig config) {
    WorkerSetup setup;
    setup.fd = channel.fileno();
    setup.slot = reinterpret_cast<WorkerSlot *>(config.slots.data()) + config.slot;
    setup.max_memory = config.max_memory;
    if (!config.init_task.empty()) {
        setup.initializer = [&config] {
            const TaskEntry *entry = find_task(config.init_task);
            if (entry == nullptr)
                throw TaskNotRegistered("the pool's initializer '" + config.init_task +
                                        "' is not registered in the worker");
            entry->invoke(entry->function, config.init_arguments);
        };
    }
    run_pool_worker(setup);
}

} // namespace batchproc::mp::detail

namespace batchproc::mp::detail {
BATCHPROC_MP_TASK(batchproc_mp_pool_worker);
}
