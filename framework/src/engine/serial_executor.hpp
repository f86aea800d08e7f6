#pragma once

#include "engine/executor.hpp"

namespace batchproc {

// One job after another in the calling thread: the reference for correctness.
class SerialExecutor final : public Executor {
public:
    void execute(ExecutionContext &ctx) override;
    int workers() const override { return 1; }
};

} // namespace batchproc
