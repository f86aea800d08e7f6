#include "pool/result_buffer.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>
#include <stdexcept>
#include <system_error>

namespace batchproc {

struct ResultBuffer::Header {
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

namespace {
constexpr uint32_t kMagic = 0x62707231; // "bpr1"

constexpr size_t header_bytes() { return 4096; }

template <size_t N>
void copy_text(char (&dst)[N], const std::string &src) {
    const size_t n = std::min(src.size(), N - 1);
    std::memcpy(dst, src.data(), n);
    dst[n] = '\0';
}
} // namespace

ResultBuffer ResultBuffer::create(uint32_t slots) {
    static_assert(sizeof(Header) <= 4096, "the header must fit its page");
    ResultBuffer b;
    b.region_ = SharedRegion::create(header_bytes() + size_t(slots) * sizeof(ResultSlot), "batchproc-results");
    Header *h = new (b.region_.data()) Header{};
    h->magic = kMagic;
    h->slot_count = slots;
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    const int rc = pthread_mutex_init(&h->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    if (rc != 0) throw std::system_error(rc, std::generic_category(), "pthread_mutex_init (robust, process-shared)");
    for (uint32_t i = 0; i < slots; ++i) new (&b.slot(i)) ResultSlot{};
    return b;
}

ResultBuffer ResultBuffer::attach(int fd) {
    ResultBuffer b;
    b.region_ = SharedRegion::attach(fd);
    if (b.region_.size() < header_bytes() || b.header().magic != kMagic)
        throw std::runtime_error("the shared result buffer passed to this worker is not valid");
    return b;
}

ResultBuffer::Header &ResultBuffer::header() const { return *static_cast<Header *>(region_.data()); }
uint32_t ResultBuffer::slot_count() const { return header().slot_count; }

ResultSlot &ResultBuffer::slot(uint32_t i) const {
    auto *base = static_cast<char *>(region_.data()) + header_bytes();
    return reinterpret_cast<ResultSlot *>(base)[i];
}

void ResultBuffer::request_stop() { header().stop.store(1); }
bool ResultBuffer::stop_requested() const { return header().stop.load() != 0; }

bool ResultBuffer::lock() const {
    Header &h = header();
    const int rc = pthread_mutex_lock(&h.lock);
    if (rc == 0) return true;
    if (rc == EOWNERDEAD) {
        // The previous holder died inside its critical section. Finish its update from the
        // redo record if it had published one; otherwise the counters were not touched.
        if (h.redo_active) {
            h.counters = h.redo;
            h.redo_active = 0;
        }
        ++h.repairs;
        pthread_mutex_consistent(&h.lock);
        return true;
    }
    return false;
}

void ResultBuffer::unlock() const { pthread_mutex_unlock(&header().lock); }

PoolCounters ResultBuffer::counters_snapshot_locked() const { return header().counters; }

void ResultBuffer::commit_locked(const PoolCounters &next) {
    Header &h = header();
    h.redo = next;
    std::atomic_thread_fence(std::memory_order_seq_cst);
    h.redo_active = 1;
    std::atomic_thread_fence(std::memory_order_seq_cst);
    h.counters = next;
    std::atomic_thread_fence(std::memory_order_seq_cst);
    h.redo_active = 0;
}

PoolCounters ResultBuffer::counters() const {
    PoolCounters c;
    if (lock()) {
        c = header().counters;
        unlock();
    }
    return c;
}

uint64_t ResultBuffer::lock_repairs() const { return header().repairs; }

void ResultBuffer::die_holding_lock() {
    lock();
    Header &h = header();
    PoolCounters next = h.counters;
    h.redo = next;
    h.redo_active = 1;
    // Half of an update: the counters now disagree with the redo record.
    h.counters.done += 1000;
    ::kill(::getpid(), SIGKILL);
    for (;;) pause();
}

void ResultBuffer::store(ResultSlot &s, const JobRecord &r) {
    s.status = static_cast<int32_t>(r.status);
    s.pid = r.worker_pid;
    s.ms = r.ms;
    s.bytes_in = r.bytes_in;
    s.bytes_out = r.bytes_out;
    copy_text(s.error, r.error);
    if (r.metrics_json.size() < sizeof s.metrics) copy_text(s.metrics, r.metrics_json);
    else copy_text(s.metrics, std::string("{\"truncated\":true}"));
    std::string warnings;
    for (const std::string &w : r.warnings) warnings += (warnings.empty() ? "" : "\n") + w;
    copy_text(s.warnings, warnings);
    s.stage_count = 0;
    for (const StageTiming &t : r.stage_ms) {
        if (s.stage_count >= 16) break;
        copy_text(s.stages[s.stage_count].name, t.stage);
        s.stages[s.stage_count].ms = t.ms;
        ++s.stage_count;
    }
}

JobRecord ResultBuffer::load(const ResultSlot &s) {
    JobRecord r;
    r.status = static_cast<JobStatus>(s.status);
    r.worker_pid = static_cast<long>(s.pid);
    r.attempts = s.attempts;
    r.ms = s.ms;
    r.bytes_in = s.bytes_in;
    r.bytes_out = s.bytes_out;
    r.error = s.error;
    r.metrics_json = s.metrics[0] ? s.metrics : "{}";
    const std::string warnings = s.warnings;
    size_t start = 0;
    while (start < warnings.size()) {
        size_t end = warnings.find('\n', start);
        if (end == std::string::npos) end = warnings.size();
        r.warnings.push_back(warnings.substr(start, end - start));
        start = end + 1;
    }
    for (int i = 0; i < s.stage_count && i < 16; ++i) r.stage_ms.push_back({s.stages[i].name, s.stages[i].ms});
    return r;
}

} // namespace batchproc
