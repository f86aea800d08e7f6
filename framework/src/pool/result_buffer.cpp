#include "pool/result_buffer.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>
#include <stdexcept>
#include <system_error>

namespace batchproc {

namespace {
constexpr uint32_t kMagic = 0x62707231; // "bpr1"

constexpr size_t header_bytes() { return 4096; }

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
    // The slots' lifetimes start without a write: a fresh memfd reads as zeros, which is a
    // free slot, and a page of it takes memory only when a job's result first lands there.
    for (uint32_t i = 0; i < slots; ++i) new (&b.slot(i)) ResultSlot;
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

namespace {

void put_u32(std::string &out, uint32_t v) { out.append(reinterpret_cast<const char *>(&v), sizeof v); }
void put_text(std::string &out, const std::string &text) {
    put_u32(out, static_cast<uint32_t>(text.size()));
    out += text;
}

// Reads fields in order from a texts record; any overrun makes ok() false.
class TextReader {
public:
    explicit TextReader(std::string_view bytes) : bytes_(bytes) {}
    template <typename T>
    T number() {
        T v{};
        if (bytes_.size() - at_ < sizeof v) return fail(), v;
        std::memcpy(&v, bytes_.data() + at_, sizeof v);
        at_ += sizeof v;
        return v;
    }
    uint32_t u32() { return number<uint32_t>(); }
    double f64() { return number<double>(); }
    std::string text() {
        const uint32_t n = u32();
        if (!ok_ || bytes_.size() - at_ < n) {
            fail();
            return {};
        }
        std::string t(bytes_.substr(at_, n));
        at_ += n;
        return t;
    }
    bool ok() const { return ok_ && at_ == bytes_.size(); }

private:
    void fail() {
        ok_ = false;
        at_ = bytes_.size();
    }
    std::string_view bytes_;
    size_t at_ = 0;
    bool ok_ = true;
};

} // namespace

std::string encode_texts(const JobRecord &r) {
    std::string out;
    put_text(out, r.error);
    put_text(out, r.metrics_json);
    put_u32(out, static_cast<uint32_t>(r.warnings.size()));
    for (const std::string &w : r.warnings) put_text(out, w);
    put_u32(out, static_cast<uint32_t>(r.stage_ms.size()));
    for (const StageTiming &t : r.stage_ms) {
        put_text(out, t.stage);
        out.append(reinterpret_cast<const char *>(&t.ms), sizeof t.ms);
    }
    return out;
}

bool decode_texts(std::string_view bytes, JobRecord &r) {
    TextReader in(bytes);
    r.error = in.text();
    r.metrics_json = in.text();
    r.warnings.resize(std::min<uint32_t>(in.u32(), static_cast<uint32_t>(bytes.size())));
    for (std::string &w : r.warnings) w = in.text();
    r.stage_ms.resize(std::min<uint32_t>(in.u32(), static_cast<uint32_t>(bytes.size())));
    for (StageTiming &t : r.stage_ms) {
        t.stage = in.text();
        t.ms = in.f64();
    }
    return in.ok();
}

std::string ResultBuffer::store(ResultSlot &s, const JobRecord &r) {
    s.status = static_cast<int32_t>(r.status);
    s.pid = r.worker_pid;
    s.ms = r.ms;
    s.bytes_in = r.bytes_in;
    s.bytes_out = r.bytes_out;
    std::string texts = encode_texts(r);
    s.text_bytes = static_cast<uint32_t>(texts.size());
    if (texts.size() > sizeof s.text) return texts;
    std::memcpy(s.text, texts.data(), texts.size());
    return {};
}

JobRecord ResultBuffer::load(const ResultSlot &s, const std::string *overflow) {
    JobRecord r;
    r.status = static_cast<JobStatus>(s.status);
    r.worker_pid = static_cast<long>(s.pid);
    r.attempts = s.attempts;
    r.ms = s.ms;
    r.bytes_in = s.bytes_in;
    r.bytes_out = s.bytes_out;
    const bool inline_texts = s.text_bytes <= sizeof s.text;
    std::string_view texts;
    if (inline_texts) texts = std::string_view(s.text, s.text_bytes);
    else if (overflow != nullptr && overflow->size() == s.text_bytes) texts = *overflow;
    if ((inline_texts || overflow != nullptr) && decode_texts(texts, r)) return r;
    // Only when a worker died between finishing a job and sending its texts (or wrote a
    // broken record): without its details the job cannot count as done (a rerun redoes it).
    r = JobRecord{};
    r.status = static_cast<JobStatus>(s.status) == JobStatus::ok ? JobStatus::failed : static_cast<JobStatus>(s.status);
    r.worker_pid = static_cast<long>(s.pid);
    r.attempts = s.attempts;
    r.ms = s.ms;
    r.error = "the worker ended before it could report this job's details (" + std::to_string(s.text_bytes) +
              " bytes of error, metrics and warnings)";
    return r;
}

} // namespace batchproc
