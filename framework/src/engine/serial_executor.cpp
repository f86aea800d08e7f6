#include "engine/serial_executor.hpp"

#include "engine/job_runner.hpp"

namespace batchproc {

void SerialExecutor::execute(ExecutionContext &ctx) {
    JobRunner runner(ctx.spec, ctx.plan);
    for (size_t i = 0; i < ctx.jobs.size(); ++i) {
        if (ctx.stop_requested.load() > 0) break;
        if (ctx.on_started) ctx.on_started(ctx.jobs[i]);
        ctx.records[i] = runner.run(ctx.jobs[i]);
        ctx.counters.count(ctx.records[i]);
        if (ctx.on_finished) ctx.on_finished(ctx.jobs[i], ctx.records[i]);
    }
}

} // namespace batchproc
