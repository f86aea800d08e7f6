// Test-only plugin: how many calls of a stage run at the same time in one process.
//
// Stages `exclusive` (declares BP_STAGE_NOT_THREAD_SAFE) and `shared` (does not): each call
// counts itself in while it sleeps `ms`, and records the most calls it saw inside at once
// (over the whole process so far) as the metric `most_at_once`.
#include <batchproc/plugin.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

namespace {

template <int Which>
struct Counter {
    static inline std::atomic<int> inside{0};
    static inline std::atomic<int> most{0};
    static int enter() {
        const int now = ++inside;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        return now;
    }
    static void leave() { --inside; }
};

template <int Which>
class Probe : public batchproc::Stage {
public:
    batchproc::IntParam ms{this, "ms", 30, "milliseconds each call takes", {0, 10000}};

    void process(batchproc::Job &job) override {
        Counter<Which>::enter();
        std::this_thread::sleep_for(std::chrono::milliseconds(ms.value()));
        job.metric("most_at_once", static_cast<int64_t>(Counter<Which>::most.load()));
        Counter<Which>::leave();
    }
};

class Exclusive : public Probe<0> {
public:
    static constexpr const char *name = "exclusive";
    static constexpr const char *doc = "Sleeps; declares itself not thread-safe (test stage).";
    static constexpr uint32_t flags = BP_STAGE_NOT_THREAD_SAFE;
};

class Shared : public Probe<1> {
public:
    static constexpr const char *name = "shared";
    static constexpr const char *doc = "Sleeps; thread-safe (test stage).";
    static constexpr uint32_t flags = 0;
};

} // namespace

BATCHPROC_PLUGIN("concurrency", "0.1.0", "Counts calls of a stage running at once (test only).", Exclusive, Shared)
