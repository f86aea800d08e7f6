#include "batchproc/mp/queue.hpp"

#include "framing.hpp"

#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <functional>
#include <new>
#include <string>

namespace batchproc::mp::detail {

namespace {

[[noreturn]] void throw_os_error(const std::string &what) {
    throw Error("batchproc::mp::Queue: " + what + ": " + std::strerror(errno));
}

timespec to_monotonic_timespec(double seconds) {
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(seconds);
    ts.tv_nsec = static_cast<long>((seconds - double(ts.tv_sec)) * 1e9);
    if (ts.tv_nsec >= 1'000'000'000) {
        ts.tv_sec += 1;
        ts.tv_nsec -= 1'000'000'000;
    }
    return ts;
}

void init_robust_mutex(pthread_mutex_t *m) {
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    const int r = pthread_mutex_init(m, &attr);
    pthread_mutexattr_destroy(&attr);
    if (r != 0) {
        errno = r;
        throw_os_error("pthread_mutex_init");
    }
}

// A held robust lock. When its previous holder died holding it, the lock is repaired
// (pthread_mutex_consistent) and owner_died() tells so.
class RobustLock {
public:
    // Not locked afterwards (locked() false) when `block` is false and it is taken, or when
    // `deadline` (monotonic seconds) passes.
    RobustLock(pthread_mutex_t *m, bool block, std::optional<double> deadline) : m_(m) {
        int r;
        if (!block) {
            r = pthread_mutex_trylock(m);
        } else if (deadline) {
            const timespec ts = to_monotonic_timespec(*deadline);
            r = pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &ts);
        } else {
            r = pthread_mutex_lock(m);
        }
        if (r == EOWNERDEAD) {
            pthread_mutex_consistent(m);
            owner_died_ = true;
            r = 0;
        }
        if (r == ENOTRECOVERABLE) throw Error("batchproc::mp::Queue: a lock of the queue cannot be recovered");
        locked_ = r == 0;
    }
    ~RobustLock() { unlock(); }
    RobustLock(const RobustLock &) = delete;
    RobustLock &operator=(const RobustLock &) = delete;

    bool locked() const { return locked_; }
    bool owner_died() const { return owner_died_; }
    void unlock() {
        if (locked_) pthread_mutex_unlock(m_);
        locked_ = false;
    }

private:
    pthread_mutex_t *m_;
    bool locked_ = false;
    bool owner_died_ = false;
};

// A reader about to sleep first spins for a short while, watching the queue's size (which a
// writer raises before it writes): a message that comes within that time (the answer in a
// ping-pong, the next item from a busy producer) is then taken without the sleep and the
// wake-up, which cost several microseconds each. Only with more than one CPU, where the
// writer runs meanwhile; the spin is bounded by the get's own deadline.
constexpr double kSpinSeconds = 50e-6;

void spin_until_put(const std::atomic<std::int64_t> &size, std::optional<double> deadline) {
    static const bool several_cpus = ::sysconf(_SC_NPROCESSORS_ONLN) > 1;
    if (!several_cpus || size.load(std::memory_order_acquire) > 0) return;
    double until = monotonic_seconds() + kSpinSeconds;
    if (deadline) until = std::min(until, *deadline);
    for (;;) {
        for (int i = 0; i < 16; ++i) {
            if (size.load(std::memory_order_acquire) > 0) return;
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        }
        // The writer may be waiting for this CPU.
        ::sched_yield();
        if (monotonic_seconds() >= until) return;
    }
}

enum Broken : std::int32_t { kNotBroken = 0, kReaderDied = 1, kWriterDied = 2, kReadFailed = 3 };

} // namespace

// The part every process maps. Robust locks keep one reader and one writer at a time on the
// socket; reader_pid / writer_pid are set while a message is half read / half written, so
// that whoever repairs a lock whose holder died knows whether the stream was cut.
struct QueueCore::Shared {
    pthread_mutex_t read_lock;
    pthread_mutex_t write_lock;
    sem_t slots; // free places of a bounded queue
    std::atomic<std::int64_t> size;
    std::atomic<std::int32_t> reader_pid;
    std::atomic<std::int32_t> writer_pid;
    std::atomic<std::int32_t> broken;
    std::atomic<std::int32_t> broken_by;
    std::int64_t maxsize;
};

QueueCore::QueueCore(std::int64_t maxsize) : maxsize_(std::max<std::int64_t>(0, maxsize)) {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) throw_os_error("socketpair");
    read_.reset(fds[0]);
    write_.reset(fds[1]);
    ::shutdown(read_.get(), SHUT_WR);
    ::shutdown(write_.get(), SHUT_RD);
    // More room than the default ~200 KiB before a put waits for a reader (capped by the
    // system's net.core.wmem_max; failure is harmless).
    const int buffer = 1 << 20;
    ::setsockopt(write_.get(), SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);

    memory_.reset(::memfd_create("batchproc-mp-queue", MFD_CLOEXEC));
    if (!memory_) throw_os_error("memfd_create");
    if (::ftruncate(memory_.get(), sizeof(Shared)) != 0) throw_os_error("ftruncate");
    map_shared();
    Shared *s = new (shared_) Shared;
    init_robust_mutex(&s->read_lock);
    init_robust_mutex(&s->write_lock);
    if (maxsize_ > 0 && sem_init(&s->slots, 1, static_cast<unsigned>(std::min<std::int64_t>(maxsize_, SEM_VALUE_MAX))) != 0)
        throw_os_error("sem_init");
    s->size = 0;
    s->reader_pid = 0;
    s->writer_pid = 0;
    s->broken = kNotBroken;
    s->broken_by = 0;
    s->maxsize = maxsize_;
}

QueueCore::QueueCore(UniqueFd read, UniqueFd write, UniqueFd memory)
    : read_(std::move(read)), write_(std::move(write)), memory_(std::move(memory)) {
    map_shared();
    maxsize_ = shared_->maxsize;
}

void QueueCore::map_shared() {
    void *p = ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED, memory_.get(), 0);
    if (p == MAP_FAILED) throw_os_error("mmap");
    shared_ = static_cast<Shared *>(p);
}

QueueCore::~QueueCore() { close(); }

void QueueCore::close() {
    read_.reset();
    write_.reset();
    memory_.reset();
    if (shared_ != nullptr) ::munmap(shared_, sizeof(Shared));
    shared_ = nullptr;
}

void QueueCore::check_open(const char *operation) const {
    if (closed()) throw ValueError(std::string("batchproc::mp::Queue: ") + operation + " on a closed queue");
    const std::int32_t broken = shared_->broken.load();
    if (broken == kNotBroken) return;
    const std::string who = "process " + std::to_string(shared_->broken_by.load());
    const char *what = broken == kReaderDied   ? " died while reading a message"
                       : broken == kWriterDied ? " died while writing a message"
                                               : " failed in the middle of reading a message";
    throw Error("batchproc::mp::Queue: the queue is broken: " + who + what +
                ", so the stream of messages is cut; make a new queue");
}

void QueueCore::put(std::string &framed, bool block, std::optional<double> timeout_seconds) {
    check_open("put");
    Shared *s = shared_;
    if (maxsize_ > 0) {
        int r;
        if (!block) {
            r = sem_trywait(&s->slots);
        } else if (timeout_seconds) {
            const timespec ts = to_monotonic_timespec(monotonic_seconds() + std::max(0.0, *timeout_seconds));
            do r = sem_clockwait(&s->slots, CLOCK_MONOTONIC, &ts);
            while (r != 0 && errno == EINTR);
        } else {
            do r = sem_wait(&s->slots);
            while (r != 0 && errno == EINTR);
        }
        if (r != 0) {
            if (errno == EAGAIN || errno == ETIMEDOUT) throw Full();
            throw_os_error("waiting for room");
        }
    }
    RobustLock lock(&s->write_lock, true, std::nullopt);
    if (lock.owner_died() && s->writer_pid.load() != 0) {
        s->broken_by = s->writer_pid.load();
        s->broken = kWriterDied;
    }
    if (s->broken.load() != kNotBroken) {
        if (maxsize_ > 0) sem_post(&s->slots);
        check_open("put");
    }
    s->size.fetch_add(1);
    s->writer_pid = static_cast<std::int32_t>(current_pid());
    try {
        send_frame(write_.get(), framed);
        s->writer_pid = 0;
    } catch (...) {
        s->writer_pid = 0;
        s->size.fetch_sub(1);
        if (maxsize_ > 0) sem_post(&s->slots);
        throw;
    }
}

bool QueueCore::get(std::string &payload, bool block, std::optional<double> timeout_seconds) {
    check_open("get");
    Shared *s = shared_;
    std::optional<double> deadline;
    if (block && timeout_seconds) deadline = monotonic_seconds() + std::max(0.0, *timeout_seconds);
    RobustLock lock(&s->read_lock, block, deadline);
    if (!lock.locked()) return false;
    if (lock.owner_died() && s->reader_pid.load() != 0) {
        s->broken_by = s->reader_pid.load();
        s->broken = kReaderDied;
    }
    check_open("get");
    if (block) spin_until_put(s->size, deadline);
    // A get that may wait for ever just reads (and blocks in read): no poll needed.
    std::optional<double> wait;
    if (!block) wait = 0.0;
    else if (deadline) wait = std::max(0.0, *deadline - monotonic_seconds());
    if (wait && !wait_readable(read_.get(), wait)) return false;

    // A writer that stops in the middle of a message either is still writing (it holds the
    // write lock) or died holding it (the lock says so).
    const std::function<void()> stalled = [s] {
        RobustLock probe(&s->write_lock, false, std::nullopt);
        if (probe.owner_died()) {
            const std::int32_t writer = s->writer_pid.load();
            if (writer != 0) {
                s->writer_pid = 0;
                s->broken_by = writer;
                s->broken = kWriterDied;
                throw Error("batchproc::mp::Queue: the queue is broken: process " + std::to_string(writer) +
                            " died while writing a message");
            }
        }
    };
    // Mid-message from the first byte read on: a reader killed before that (waiting in read)
    // has taken nothing, and its death does not break the queue.
    const std::function<void()> started = [s] { s->reader_pid = static_cast<std::int32_t>(current_pid()); };
    bool got = false;
    try {
        got = recv_frame(read_.get(), payload, &stalled, &started);
    } catch (...) {
        if (s->broken.load() == kNotBroken) {
            s->broken_by = s->reader_pid.load();
            s->broken = kReadFailed;
        }
        s->reader_pid = 0;
        throw;
    }
    s->reader_pid = 0;
    if (!got) throw EOFError("batchproc::mp::Queue: every writing end of the queue is closed");
    s->size.fetch_sub(1);
    lock.unlock();
    if (maxsize_ > 0) sem_post(&s->slots);
    return true;
}

std::int64_t QueueCore::qsize() const {
    check_open("qsize");
    return std::max<std::int64_t>(0, shared_->size.load());
}

bool QueueCore::empty() const {
    check_open("empty");
    return !wait_readable(read_.get(), 0.0);
}

bool QueueCore::full() const {
    check_open("full");
    if (maxsize_ <= 0) return false;
    int value = 0;
    sem_getvalue(&shared_->slots, &value);
    return value <= 0;
}

} // namespace batchproc::mp::detail
