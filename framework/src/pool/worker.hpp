// The worker side of the process pool: the loop a worker process runs, however it was
// started (fork, forkserver or spawn).
#pragma once

#include "config/spec.hpp"
#include "plugin_host/pipeline.hpp"
#include "pool/result_buffer.hpp"

#include <sys/types.h>

namespace batchproc {

// File descriptors every worker finds in place, whatever its start method.
inline constexpr int kWorkerJobFd = 3;
inline constexpr int kWorkerResultFd = 4;
inline constexpr int kWorkerBufferFd = 5;

// The answer pipe carries, per finished job, its slot number (uint32). When the result's
// texts do not fit the slot, an overflow frame comes first: the slot number with this bit
// set, the texts' size (uint32) and the texts record (pool/result_buffer.hpp).
inline constexpr uint32_t kOverflowAnswerBit = 0x80000000u;

// Runs jobs read from kWorkerJobFd until end of input, filling result slots and answering
// on kWorkerResultFd. Returns the process exit code.
int run_worker(const RunSpec &spec, const PipelinePlan &plan, ResultBuffer &buffer);

// In a freshly forked child: default signal dispositions, die with the parent
// (PR_SET_PDEATHSIG, checked against `parent` for the race), the worker's fds moved to
// 3/4(/5) and every other descriptor above 2 closed.
void prepare_worker_process(pid_t parent, int job_fd, int result_fd, int buffer_fd);

// Human-readable cause of a worker's death from a wait status: "killed by signal 11
// (SIGSEGV)", "exited with code 3".
std::string describe_wait_status(int status);

} // namespace batchproc
