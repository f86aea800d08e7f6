#include "pool/worker.hpp"

#include "config/units.hpp"
#include "engine/interrupt.hpp"
#include "engine/job_runner.hpp"
#include "io/atomic_file.hpp"
#include "pool/job_channel.hpp"

#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <opencv2/core.hpp>
#include <tbb/global_control.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <memory>
#include <string>

namespace batchproc {

namespace {

int64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// The address space this process uses now, so that pool.max_memory caps what jobs add to
// it rather than the libraries already mapped.
uint64_t current_address_space() {
    FILE *f = std::fopen("/proc/self/statm", "r");
    if (f == nullptr) return 0;
    unsigned long pages = 0;
    if (std::fscanf(f, "%lu", &pages) != 1) pages = 0;
    std::fclose(f);
    return uint64_t(pages) * uint64_t(sysconf(_SC_PAGESIZE));
}

bool looks_like_out_of_memory(const std::string &error) {
    return error.find("bad_alloc") != std::string::npos || error.find("Insufficient memory") != std::string::npos ||
           error.find("Failed to allocate") != std::string::npos || error.find("out of memory") != std::string::npos ||
           error.find("Cannot allocate memory") != std::string::npos;
}

} // namespace

std::string describe_wait_status(int status) {
    if (WIFSIGNALED(status)) {
        const int sig = WTERMSIG(status);
        const char *abbrev = sigabbrev_np(sig);
        return "killed by signal " + std::to_string(sig) + " (SIG" + (abbrev ? abbrev : "?") + ")";
    }
    if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
    return "stopped (wait status " + std::to_string(status) + ")";
}

void prepare_worker_process(pid_t parent, int job_fd, int result_fd, int buffer_fd) {
    reset_signal_handlers_in_child();
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(0); // the parent died before prctl took effect
    // Move our descriptors out of the way, then into their fixed places.
    const int hi_job = fcntl(job_fd, F_DUPFD, 100);
    const int hi_result = fcntl(result_fd, F_DUPFD, 100);
    const int hi_buffer = buffer_fd >= 0 ? fcntl(buffer_fd, F_DUPFD, 100) : -1;
    dup2(hi_job, kWorkerJobFd);
    dup2(hi_result, kWorkerResultFd);
    if (hi_buffer >= 0) dup2(hi_buffer, kWorkerBufferFd);
    const int first_to_close = hi_buffer >= 0 ? kWorkerBufferFd + 1 : kWorkerResultFd + 1;
    syscall(SYS_close_range, first_to_close, ~0U, 0);
}

namespace {

// SIGTERM (a timeout, or the coordinator's emergency stop): remove the output being
// written, then die of the signal as before, so the coordinator sees what happened.
void on_sigterm(int sig) {
    remove_temp_files_in_progress();
    signal(sig, SIG_DFL);
    raise(sig);
}

// One overflow frame: the slot with kOverflowAnswerBit set, the size, the texts record.
bool send_overflow(uint32_t slot, const std::string &texts) {
    std::string frame;
    const uint32_t head[2] = {slot | kOverflowAnswerBit, static_cast<uint32_t>(texts.size())};
    frame.append(reinterpret_cast<const char *>(head), sizeof head);
    frame += texts;
    return write_all(kWorkerResultFd, frame.data(), frame.size());
}

int worker_loop(const RunSpec &spec, const PipelinePlan &plan, ResultBuffer &buffer) {
    // The pool's descriptors are this process's alone: a program a stage starts must not
    // inherit them (a `sleep 15 &` holding the answers pipe open would hide this worker's
    // death from the coordinator until it ended). They had to survive the spawn method's exec.
    for (const int fd : {kWorkerJobFd, kWorkerResultFd, kWorkerBufferFd}) {
        const int flags = fcntl(fd, F_GETFD);
        if (flags >= 0) fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, &on_sigterm);
    const int threads = std::max(1, spec.pool.threads_per_worker);
    cv::setNumThreads(threads);
    tbb::global_control tbb_threads(tbb::global_control::max_allowed_parallelism, static_cast<size_t>(threads));

    const uint64_t max_memory = spec.pool.max_memory;
    if (max_memory > 0) {
        // Heap the process freed but keeps (large buffers stay in the heap: engine/allocator)
        // is given back first, so that the cap is measured from what the worker really holds.
        malloc_trim(0);
        const rlim_t cap = static_cast<rlim_t>(current_address_space() + max_memory);
        rlimit limit{cap, cap};
        setrlimit(RLIMIT_AS, &limit);
    }
    JobRunner runner(spec, plan);
    const pid_t self = getpid();
    JobReader reader(kWorkerJobFd);
    JobMessage msg;
    while (reader.next(msg)) {
        ResultSlot &slot = buffer.slot(msg.slot);
        bool recycle = false;
        if (buffer.stop_requested()) {
            slot.state.store(static_cast<int32_t>(SlotState::returned));
        } else {
            slot.attempts += 1;
            slot.pid = self;
            slot.start_ns = monotonic_ns();
            slot.state.store(static_cast<int32_t>(SlotState::running));
            buffer.update([](PoolCounters &c) { ++c.in_flight; });

            PlannedJob job;
            job.index = msg.index;
            job.input = msg.input;
            job.outputs = unpack_paths(msg.outputs);
            JobRecord record = runner.run(job);
            if (record.status == JobStatus::failed && max_memory > 0 && looks_like_out_of_memory(record.error)) {
                record.error = "out of memory: the job needed more than pool.max_memory (" + format_size(max_memory) +
                               ") in its worker (" + record.error + ")";
                recycle = true; // a fresh worker after an allocation failure
            }
            // Texts too big for the slot go first, on the answer pipe, so that a slot marked
            // done always has its texts on their way.
            const std::string overflow = ResultBuffer::store(slot, record);
            if (!overflow.empty() && !send_overflow(msg.slot, overflow)) return 0; // coordinator gone
            slot.state.store(static_cast<int32_t>(SlotState::done));
            const bool ok = record.status == JobStatus::ok;
            const uint64_t in = record.bytes_in, out = record.bytes_out;
            buffer.update([&](PoolCounters &c) {
                --c.in_flight;
                ++c.done;
                if (ok) ++c.ok;
                else ++c.failed;
                c.bytes_in += in;
                c.bytes_out += out;
            });
        }
        const uint32_t answer = msg.slot;
        if (!write_all(kWorkerResultFd, &answer, sizeof answer)) return 0; // coordinator gone
        if (recycle) return 0;
    }
    return 0;
}

} // namespace

int run_worker(const RunSpec &spec, const PipelinePlan &plan, ResultBuffer &buffer) {
    // No exception may leave a worker: under fork and forkserver it would unwind through
    // the frames of the coordinator (or of the forkserver) that this process is a copy of,
    // and run their code here (a second "coordinator" that can hang joining threads that
    // do not exist in this process). The worker reports the cause and exits with code 3;
    // the coordinator sees a worker that died.
    // Fixed buffers: memory may be exhausted here (pool.max_memory).
    char what[512] = "unknown exception";
    try {
        return worker_loop(spec, plan, buffer);
    } catch (const std::exception &e) {
        std::snprintf(what, sizeof what, "%s", e.what());
    } catch (...) {
    }
    char hint[160] = "";
    try {
        if (spec.pool.max_memory > 0 && looks_like_out_of_memory(what))
            std::snprintf(hint, sizeof hint, " (the worker is limited by pool.max_memory to %s above its start-up size)",
                          format_size(spec.pool.max_memory).c_str());
    } catch (...) {
    }
    std::fprintf(stderr, "batchproc worker %ld: %s%s\n", static_cast<long>(getpid()), what, hint);
    std::fflush(stderr);
    return 3;
}

} // namespace batchproc
