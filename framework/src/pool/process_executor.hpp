// processes mode: a pool of worker processes, started by fork, spawn or forkserver.
// Workers contain crashes, hangs and leaks of codecs and plugins: a worker that dies is
// replaced and its job retried up to pool.retries times; a job past pool.timeout is
// stopped; a poison job that crashes every attempt ends as `crashed`, never in a loop.
#pragma once

#include "engine/executor.hpp"
#include "pool/fork_server.hpp"
#include "pool/result_buffer.hpp"

#include <memory>

namespace batchproc {

class ProcessExecutor final : public Executor {
public:
    ProcessExecutor(const PoolSpec &pool, int workers);
    ~ProcessExecutor() override;
    void prepare(ExecutionContext &ctx) override;
    void execute(ExecutionContext &ctx) override;
    int workers() const override { return workers_; }
    nlohmann::ordered_json details() const override;
    ProgressCounts progress(const ExecutionContext &ctx) const override; // from the shared counters

private:
    struct Worker;
    class Coordinator;

    PoolSpec pool_;
    int workers_;
    ResultBuffer buffer_;
    std::unique_ptr<ForkServer> fork_server_;
    std::unique_ptr<Coordinator> coordinator_; // made in prepare(), run in execute()
    nlohmann::ordered_json details_;
};

// Path of the executable that spawned workers run: $BATCHPROC_WORKER_EXE, else this
// process's own executable.
std::string worker_executable();

} // namespace batchproc
