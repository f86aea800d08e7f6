#include "engine/thread_executor.hpp"

#include "engine/job_runner.hpp"

#include <tbb/enumerable_thread_specific.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <memory>
#include <mutex>

namespace batchproc {

void ThreadExecutor::execute(ExecutionContext &ctx) {
    tbb::enumerable_thread_specific<std::unique_ptr<JobRunner>> runners;
    std::mutex finished_mutex;
    // oneTBB caps every arena at the machine's concurrency unless told otherwise: raise the
    // cap when the user asked for more workers than cores (the budget warned about it).
    tbb::global_control allow(tbb::global_control::max_allowed_parallelism,
                              std::max<size_t>(static_cast<size_t>(workers_),
                                               static_cast<size_t>(tbb::this_task_arena::max_concurrency())));
    tbb::task_arena arena(workers_);
    arena.execute([&] {
        // Grain 1 and a simple partitioner: jobs vary in cost, and each is large next to
        // the scheduling overhead.
        tbb::parallel_for(
            tbb::blocked_range<size_t>(0, ctx.jobs.size(), 1),
            [&](const tbb::blocked_range<size_t> &range) {
                auto &runner = runners.local();
                if (!runner) runner = std::make_unique<JobRunner>(ctx.spec, ctx.plan);
                for (size_t i = range.begin(); i != range.end(); ++i) {
                    if (ctx.stop_requested.load() > 0) return;
                    if (ctx.on_started) {
                        std::lock_guard<std::mutex> lock(finished_mutex);
                        ctx.on_started(ctx.jobs[i]);
                    }
                    ctx.records[i] = runner->run(ctx.jobs[i]);
                    ctx.counters.count(ctx.records[i]);
                    if (ctx.on_finished) {
                        std::lock_guard<std::mutex> lock(finished_mutex);
                        ctx.on_finished(ctx.jobs[i], ctx.records[i]);
                    }
                }
            },
            tbb::simple_partitioner());
    });
}

} // namespace batchproc
