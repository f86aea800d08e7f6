// Test-only plugin for `batchproc bench`'s mismatch detection. Never installed.
//
// Stage `pid_metric` (works on generated jobs: flags = 0) records the pid of the process
// that ran the job as the metric `pid`: the same for every job of a serial or threads run,
// different in worker processes. A bench over it must flag the processes rows as differing
// from the serial run.
#include <batchproc/plugin.hpp>

#include <unistd.h>

#include <cstdint>

namespace {

class PidMetric : public batchproc::Stage {
public:
    static constexpr const char *name = "pid_metric";
    static constexpr const char *doc = "Records the pid of the process running the job as the metric pid (test stage).";
    static constexpr uint32_t flags = 0;

    void process(batchproc::Job &job) override { job.metric("pid", static_cast<int64_t>(::getpid())); }
};

} // namespace

BATCHPROC_PLUGIN("bench_probe", "0.1.0", "A stage whose metric depends on the process (test only).", PidMetric)
