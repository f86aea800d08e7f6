#pragma once

#include "engine/executor.hpp"

namespace batchproc {

// oneTBB tasks in one process, inside a task arena of `workers` threads. Each thread has
// its own stage instances, so a stage's process() never runs concurrently on one instance.
class ThreadExecutor final : public Executor {
public:
    explicit ThreadExecutor(int workers) : workers_(workers) {}
    void execute(ExecutionContext &ctx) override;
    int workers() const override { return workers_; }

private:
    int workers_;
};

} // namespace batchproc
