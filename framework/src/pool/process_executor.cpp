#include "pool/process_executor.hpp"

#include "engine/interrupt.hpp"
#include "io/atomic_file.hpp"
#include "pool/job_channel.hpp"
#include "pool/worker.hpp"
#include "pool/worker_entry.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <system_error>

extern char **environ;

namespace batchproc {

namespace {

constexpr int kMaxDepth = 32;              // most jobs queued on one worker
constexpr int64_t kKillGraceNs = 1'000'000'000;  // SIGTERM -> SIGKILL after a timeout
constexpr int64_t kStopGraceNs = int64_t(kStopGraceSeconds * 1e9); // SIGINT: how long running jobs may finish
constexpr int kMaxFruitlessStarts = 3;    // workers dying before starting any job
constexpr int64_t kExitGraceNs = 5'000'000'000; // a worker told to exit must be gone by then

int64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
    return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
    (void)pid;
    return -1;
#endif
}

std::string format_seconds(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", s);
    return buf;
}

} // namespace

std::string worker_executable() {
    if (const char *exe = std::getenv("BATCHPROC_WORKER_EXE"); exe != nullptr && *exe) return exe;
    char buf[4096];
    const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return "batchproc";
    buf[n] = '\0';
    return buf;
}

struct ProcessExecutor::Worker {
    pid_t pid = -1;
    Fd job_w;
    Fd result_r;
    // Readable once the process has ended: its death is known from the process itself, not
    // from its answer pipe, which a child it forked may still hold open. -1 where the kernel
    // has no pidfd_open (then the pipe's hang-up tells).
    Fd pidfd;
    std::deque<uint32_t> slots; // sent, in order
    int sent = 0;
    bool closed = false;        // job pipe closed: it exits after what it has
    bool started_any = false;
    int64_t spawned_ns = 0;      // when it was started
    bool stuck_starting = false; // killed: no job started within pool.timeout
    int64_t closed_ns = 0;       // when its job pipe was closed
    uint32_t timed_out_slot = UINT32_MAX;
    bool stopped = false;       // killed by the coordinator to end a stop (grace over, second signal)
    int64_t kill_at_ns = 0;     // SIGKILL deadline after SIGTERM
    std::vector<char> partial;  // bytes of an incomplete answer
};

ProcessExecutor::ProcessExecutor(const PoolSpec &pool, int workers) : pool_(pool), workers_(std::max(1, workers)) {}

nlohmann::ordered_json ProcessExecutor::details() const { return details_; }

class ProcessExecutor::Coordinator {
public:
    Coordinator(ProcessExecutor &self, ExecutionContext &ctx)
        : self_(self), ctx_(ctx), buffer_(self.buffer_), attempts_(ctx.jobs.size(), 0) {
        for (uint32_t s = buffer_.slot_count(); s-- > 0;) free_slots_.push_back(s);
        slot_job_.assign(buffer_.slot_count(), -1);
        overflow_.resize(buffer_.slot_count());
        for (size_t i = 0; i < ctx.jobs.size(); ++i) pending_.push_back(static_cast<int64_t>(i));
        target_ = std::min<int>(self.workers_, static_cast<int>(std::max<size_t>(ctx.jobs.size(), 1)));
    }

    void start_workers() {
        while (static_cast<int>(workers_.size()) < target_ && !pending_.empty()) start_worker();
    }

    void run();
    void kill_workers();
    nlohmann::ordered_json details() const;

private:
    void start_worker();
    void dispatch();
    void read_answers(Worker &w);
    void handle_answer(Worker &w, uint32_t slot);
    void handle_exit(size_t worker_index);
    void check_timeouts();
    bool jobs_in_workers() const; // some worker holds a job (it may come back if the worker dies)
    size_t running_jobs() const;  // started by a worker, not finished
    static void close_jobs(Worker &w) {
        // No more jobs for it: it exits once it has answered for the ones it has.
        w.closed = true;
        w.job_w.reset();
        w.closed_ns = now_ns();
    }
    void finish_job(int64_t job, JobRecord record);
    int depth() const;
    void release_slot(uint32_t slot) {
        slot_job_[slot] = -1;
        overflow_[slot].reset();
        buffer_.slot(slot).state.store(static_cast<int32_t>(SlotState::free));
        free_slots_.push_back(slot);
    }

    ProcessExecutor &self_;
    ExecutionContext &ctx_;
    ResultBuffer &buffer_;
    std::vector<int> attempts_;     // attempts started per job
    std::deque<int64_t> pending_;   // jobs to send, front first
    std::vector<uint32_t> free_slots_;
    std::vector<int64_t> slot_job_;
    std::vector<std::unique_ptr<std::string>> overflow_; // per slot: texts that came on the answer pipe
    std::vector<std::unique_ptr<Worker>> workers_;
    int target_ = 1;
    size_t finished_ = 0;
    bool stopping_ = false;
    bool hurried_ = false; // a second signal: the running jobs are stopped now
    int64_t stop_deadline_ = 0;
    int fruitless_starts_ = 0;
    uint64_t workers_started_ = 0;
    uint64_t crashes_ = 0;
    double job_ms_sum_ = 0;
    uint64_t job_ms_count_ = 0;
};

int ProcessExecutor::Coordinator::depth() const {
    // Short jobs: keep several queued per worker so that dispatch latency is hidden; long
    // jobs: one at a time so that the last ones spread evenly over the workers.
    if (job_ms_count_ < 4) return 2;
    const double avg = job_ms_sum_ / double(job_ms_count_);
    if (avg >= 5.0) return 1;
    return std::clamp(static_cast<int>(5.0 / std::max(avg, 0.01)), 2, kMaxDepth);
}

void ProcessExecutor::Coordinator::start_worker() {
    Pipe jobs = Pipe::make();
    Pipe answers = Pipe::make();
    auto w = std::make_unique<Worker>();
    std::fflush(nullptr);
    const StartMethod method = self_.pool_.start_method;
    if (method == StartMethod::forkserver) {
        w->pid = self_.fork_server_->spawn(jobs.read.get(), answers.write.get());
    } else if (method == StartMethod::fork) {
        const pid_t parent = getpid();
        const pid_t pid = fork();
        if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork of a worker");
        if (pid == 0) {
            prepare_worker_process(parent, jobs.read.get(), answers.write.get(), -1);
            _exit(run_worker(ctx_.spec, ctx_.plan, buffer_));
        }
        w->pid = pid;
        register_child_pid(pid);
    } else {
        // spawn: a fresh image of the batchproc executable in its worker role. Everything
        // exec needs is prepared before fork: the child only moves fds and calls execve.
        const std::string exe = worker_executable();
        nlohmann::json init;
        init["config"] = ctx_.spec.config_path.string();
        init["overrides"] = ctx_.spec.overrides;
        const std::string init_env = std::string(kWorkerInitEnv) + "=" + init.dump();
        std::vector<std::string> env_store;
        for (char **e = environ; *e != nullptr; ++e)
            if (std::strncmp(*e, kWorkerInitEnv, std::strlen(kWorkerInitEnv)) != 0) env_store.emplace_back(*e);
        env_store.push_back(init_env);
        std::vector<char *> envp;
        for (std::string &s : env_store) envp.push_back(s.data());
        envp.push_back(nullptr);
        std::string role = kWorkerRoleArg;
        std::string exe_copy = exe;
        char *argv[] = {exe_copy.data(), role.data(), nullptr};
        const pid_t parent = getpid();
        const int buffer_fd = buffer_.fd();
        const pid_t pid = fork();
        if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork of a worker");
        if (pid == 0) {
            prepare_worker_process(parent, jobs.read.get(), answers.write.get(), buffer_fd);
            execve(exe_copy.c_str(), argv, envp.data());
            _exit(127);
        }
        w->pid = pid;
        register_child_pid(pid);
    }
    w->pidfd = Fd(open_pidfd(w->pid));
    if (w->pidfd.get() >= 0) ::fcntl(w->pidfd.get(), F_SETFD, FD_CLOEXEC);
    jobs.read.reset();
    answers.write.reset();
    w->job_w = std::move(jobs.write);
    w->result_r = std::move(answers.read);
    // Non-blocking: read_answers() drains what is there and never waits for a frame's rest.
    ::fcntl(w->result_r.get(), F_SETFL, ::fcntl(w->result_r.get(), F_GETFL) | O_NONBLOCK);
    ++workers_started_;
    w->spawned_ns = now_ns();
    spdlog::debug("pool: worker {} started ({} live)", w->pid, workers_.size() + 1);
    workers_.push_back(std::move(w));
}

void ProcessExecutor::Coordinator::dispatch() {
    if (stopping_) return;
    const int want = depth();
    std::vector<char> batch;
    for (auto &wp : workers_) {
        Worker &w = *wp;
        if (w.closed) continue;
        batch.clear();
        const int max_jobs = self_.pool_.max_jobs_per_worker;
        while (static_cast<int>(w.slots.size()) < want && !pending_.empty() && !free_slots_.empty() &&
               (max_jobs <= 0 || w.sent < max_jobs)) {
            const int64_t job = pending_.front();
            pending_.pop_front();
            const uint32_t slot = free_slots_.back();
            free_slots_.pop_back();
            slot_job_[slot] = job;
            ResultSlot &s = buffer_.slot(slot);
            s.attempts = attempts_[static_cast<size_t>(job)];
            s.job_index = job;
            s.state.store(static_cast<int32_t>(SlotState::assigned));
            const PlannedJob &pj = ctx_.jobs[static_cast<size_t>(job)];
            encode_job(JobMessage{slot, pj.index, pj.input.string(), pack_paths(pj.outputs)}, batch);
            w.slots.push_back(slot);
            ++w.sent;
        }
        if (!batch.empty() && !write_all(w.job_w.get(), batch.data(), batch.size())) {
            // The worker is gone; its answers pipe will report the end.
            close_jobs(w);
            continue;
        }
        if (max_jobs > 0 && w.sent >= max_jobs) {
            // Recycled: it finishes what it has, exits, and a fresh worker takes over.
            close_jobs(w);
        }
    }
}

void ProcessExecutor::Coordinator::finish_job(int64_t job, JobRecord record) {
    const size_t i = static_cast<size_t>(job);
    ctx_.records[i] = std::move(record);
    ++finished_;
    job_ms_sum_ += ctx_.records[i].ms;
    ++job_ms_count_;
    if (ctx_.on_finished) ctx_.on_finished(ctx_.jobs[i], ctx_.records[i]);
}

void ProcessExecutor::Coordinator::handle_answer(Worker &w, uint32_t slot) {
    auto it = std::find(w.slots.begin(), w.slots.end(), slot);
    if (it == w.slots.end()) return;
    w.slots.erase(it);
    const int64_t job = slot_job_[slot];
    ResultSlot &s = buffer_.slot(slot);
    const auto state = static_cast<SlotState>(s.state.load());
    if (state == SlotState::done) {
        w.started_any = true;
        fruitless_starts_ = 0;
        JobRecord record = ResultBuffer::load(s, overflow_[slot].get());
        attempts_[static_cast<size_t>(job)] = s.attempts;
        finish_job(job, std::move(record));
    } else {
        // Returned unstarted (a stop was requested): it stays pending.
        pending_.push_front(job);
    }
    release_slot(slot);
}

void ProcessExecutor::Coordinator::read_answers(Worker &w) {
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(w.result_r.get(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return; // EAGAIN: all read
        }
        if (n == 0) return;
        w.partial.insert(w.partial.end(), buf, buf + n);
        size_t at = 0;
        while (w.partial.size() - at >= sizeof(uint32_t)) {
            uint32_t slot;
            std::memcpy(&slot, w.partial.data() + at, sizeof slot);
            if (slot & kOverflowAnswerBit) {
                // An overflow frame: wait until it is whole, then keep it for the answer.
                uint32_t size = 0;
                if (w.partial.size() - at < 2 * sizeof(uint32_t)) break;
                std::memcpy(&size, w.partial.data() + at + sizeof slot, sizeof size);
                if (w.partial.size() - at < 2 * sizeof(uint32_t) + size) break;
                const char *texts = w.partial.data() + at + 2 * sizeof(uint32_t);
                slot &= ~kOverflowAnswerBit;
                if (slot < overflow_.size()) overflow_[slot] = std::make_unique<std::string>(texts, size);
                at += 2 * sizeof(uint32_t) + size;
                continue;
            }
            at += sizeof slot;
            handle_answer(w, slot);
        }
        w.partial.erase(w.partial.begin(), w.partial.begin() + static_cast<std::ptrdiff_t>(at));
        if (n < static_cast<ssize_t>(sizeof buf)) return;
    }
}

void ProcessExecutor::Coordinator::handle_exit(size_t worker_index) {
    Worker &w = *workers_[worker_index];
    int status = 0;
    if (self_.pool_.start_method == StartMethod::forkserver) {
        status = self_.fork_server_->wait_exit(w.pid);
    } else {
        while (waitpid(w.pid, &status, 0) < 0 && errno == EINTR) {
        }
        unregister_child_pid(w.pid);
    }
    const bool abnormal = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (abnormal) ++crashes_;
    bool started_any = w.started_any;
    const bool stuck_starting = w.stuck_starting;
    // What the worker had: finished results it could not announce, the job it died in,
    // and jobs it never started (back to the front of the queue, in order).
    std::vector<int64_t> unstarted;
    for (uint32_t slot : w.slots) {
        const int64_t job = slot_job_[slot];
        ResultSlot &s = buffer_.slot(slot);
        const auto state = static_cast<SlotState>(s.state.load());
        if (state == SlotState::done) {
            started_any = true;
            attempts_[static_cast<size_t>(job)] = s.attempts;
            finish_job(job, ResultBuffer::load(s, overflow_[slot].get()));
        } else if (state == SlotState::running) {
            started_any = true;
            const int attempts = s.attempts;
            attempts_[static_cast<size_t>(job)] = attempts;
            const bool timed_out = slot == w.timed_out_slot;
            if (stopping_) {
                // Stopped by the coordinator (grace over, second signal), or ended from outside
                // while the run was stopping (a signal to the whole process group): say which.
                JobRecord r;
                r.status = JobStatus::interrupted;
                r.attempts = attempts;
                r.worker_pid = w.pid;
                r.ms = double(now_ns() - s.start_ns) / 1e6;
                r.error = !w.stopped ? "interrupted: the run was stopping when its worker ended (" +
                                           describe_wait_status(status) + "), not stopped by batchproc"
                          : hurried_ ? std::string("interrupted: still running at the second signal; its worker was stopped")
                                     : "interrupted: still running when the stop grace period (" +
                                           format_seconds(double(kStopGraceNs) / 1e9) + " s) ended; its worker was stopped";
                buffer_.update([](PoolCounters &c) {
                    --c.in_flight;
                    ++c.skipped;
                });
                finish_job(job, std::move(r));
            } else if (attempts <= ctx_.spec.pool.retries) {
                buffer_.update([](PoolCounters &c) {
                    --c.in_flight;
                    ++c.retried;
                });
                spdlog::warn("{}: worker {} {} ({}); retrying (attempt {} of {})", ctx_.jobs[size_t(job)].display, w.pid,
                             timed_out ? "timed out" : "crashed", describe_wait_status(status), attempts + 1,
                             ctx_.spec.pool.retries + 1);
                unstarted.push_back(job);
            } else {
                JobRecord r;
                r.status = timed_out ? JobStatus::timeout : JobStatus::crashed;
                r.attempts = attempts;
                r.worker_pid = w.pid;
                r.ms = double(now_ns() - s.start_ns) / 1e6;
                const std::string tries = attempts == 1 ? "1 attempt" : std::to_string(attempts) + " attempts";
                r.error = timed_out ? "timed out: the job ran past pool.timeout (" +
                                          format_seconds(ctx_.spec.pool.timeout_s) +
                                          " s) and its worker was stopped (" + tries + ")"
                                    : "the worker crashed while running this job: " + describe_wait_status(status) +
                                          " (" + tries + ")";
                const bool is_timeout = timed_out;
                buffer_.update([is_timeout](PoolCounters &c) {
                    --c.in_flight;
                    ++c.done;
                    if (is_timeout) ++c.timeout;
                    else ++c.crashed;
                });
                finish_job(job, std::move(r));
            }
            // A dead worker may leave its temporary output behind; it never has the final name.
            const PlannedJob &pj = ctx_.jobs[static_cast<size_t>(job)];
            for (const std::filesystem::path &output : pj.outputs) remove_temp_files_of(output, w.pid);
        } else {
            unstarted.push_back(job);
        }
        release_slot(slot);
    }
    for (auto it = unstarted.rbegin(); it != unstarted.rend(); ++it) pending_.push_front(*it);
    // Reaped: it leaves the list before anything is thrown (kill_workers() must not see it).
    workers_.erase(workers_.begin() + static_cast<std::ptrdiff_t>(worker_index));
    if (!started_any && abnormal) {
        if (++fruitless_starts_ >= kMaxFruitlessStarts) {
            if (stuck_starting)
                throw std::runtime_error("workers keep getting stuck before running any job: none started one within "
                                         "pool.timeout (" + format_seconds(ctx_.spec.pool.timeout_s) +
                                         " s); a plugin's stage creation may hang");
            throw std::runtime_error("workers keep dying before running any job (last one " +
                                     describe_wait_status(status) + "); see the workers' messages above, if any");
        }
    }
}

size_t ProcessExecutor::Coordinator::running_jobs() const {
    size_t n = 0;
    for (const auto &wp : workers_)
        for (uint32_t slot : wp->slots) n += buffer_.slot(slot).state.load() == static_cast<int32_t>(SlotState::running);
    return n;
}

bool ProcessExecutor::Coordinator::jobs_in_workers() const {
    for (const auto &wp : workers_)
        if (!wp->slots.empty()) return true;
    return false;
}

void ProcessExecutor::Coordinator::check_timeouts() {
    const int64_t now = now_ns();
    const double timeout_s = ctx_.spec.pool.timeout_s;
    for (auto &wp : workers_) {
        Worker &w = *wp;
        if (w.kill_at_ns != 0) {
            if (now >= w.kill_at_ns) {
                ::kill(w.pid, SIGKILL);
                w.kill_at_ns = INT64_MAX;
            }
            continue;
        }
        if (w.closed && w.slots.empty() && now - w.closed_ns > kExitGraceNs) {
            // Told to exit, owes nothing, and still there (stuck in its start-up, say).
            ::kill(w.pid, SIGKILL);
            w.kill_at_ns = INT64_MAX;
            continue;
        }
        if (timeout_s <= 0 || w.slots.empty()) continue;
        const uint32_t slot = w.slots.front();
        const ResultSlot &s = buffer_.slot(slot);
        const auto state = static_cast<SlotState>(s.state.load());
        if (!w.started_any && state == SlotState::assigned && double(now - w.spawned_ns) / 1e9 > timeout_s) {
            // A worker that has not started its first job within pool.timeout is stuck in
            // its start-up (a plugin's stage creation, say): replace it; its jobs go back.
            w.stuck_starting = true;
            spdlog::debug("pool: worker {} started no job within pool.timeout: replaced", w.pid);
            ::kill(w.pid, SIGKILL);
            w.kill_at_ns = INT64_MAX;
            continue;
        }
        if (state != SlotState::running) continue;
        if (double(now - s.start_ns) / 1e9 > timeout_s) {
            w.timed_out_slot = slot;
            ::kill(w.pid, SIGTERM);
            w.kill_at_ns = now + kKillGraceNs;
        }
    }
    if (stopping_ && now >= stop_deadline_) {
        for (auto &wp : workers_)
            if (wp->kill_at_ns == 0) {
                ::kill(wp->pid, SIGKILL);
                wp->kill_at_ns = INT64_MAX;
                wp->stopped = true;
            }
    }
}

void ProcessExecutor::Coordinator::run() {
    std::vector<pollfd> fds;
    while (true) {
        if (!stopping_ && ctx_.stop_requested.load() > 0) {
            stopping_ = true;
            stop_deadline_ = now_ns() + kStopGraceNs;
            buffer_.request_stop();
            for (auto &wp : workers_) {
                close_jobs(*wp);
            }
            announce_stop(running_jobs());
        }
        if (stopping_ && !hurried_ && ctx_.stop_requested.load() > 1) {
            hurried_ = true;
            stop_deadline_ = now_ns();
            spdlog::error("{}: second signal: stopping the {} running job(s) now", signal_label(InterruptGuard::last_signal()),
                         running_jobs());
        }
        if (!stopping_) {
            // Replace workers that ended (crashes, recycling) while work remains.
            int live = 0;
            for (auto &wp : workers_) live += wp->closed ? 0 : 1;
            while (live < target_ && pending_.size() > static_cast<size_t>(0)) {
                start_worker();
                ++live;
            }
            dispatch();
        }
        if (workers_.empty()) {
            if (stopping_ || pending_.empty()) break;
            continue;
        }
        if (pending_.empty() && !stopping_ && !jobs_in_workers()) {
            // Nothing left to send, and no job out that may come back (a worker that dies
            // or gets stuck returns its jobs to the queue): let the workers go.
            for (auto &wp : workers_)
                if (!wp->closed && wp->slots.empty()) {
                    close_jobs(*wp);
                }
        }
        // Two entries per worker: its answer pipe, and its pidfd (fd -1, ignored by poll, when
        // there is none).
        fds.clear();
        for (auto &wp : workers_) {
            fds.push_back(pollfd{wp->result_r.get(), POLLIN, 0});
            fds.push_back(pollfd{wp->pidfd.get(), POLLIN, 0});
        }
        const bool watch_clock = ctx_.spec.pool.timeout_s > 0 || stopping_;
        const int ready = ::poll(fds.data(), fds.size(), watch_clock ? 50 : 200);
        if (ready < 0 && errno != EINTR) throw std::system_error(errno, std::generic_category(), "poll");
        for (size_t i = workers_.size(); i-- > 0;) {
            const short pipe_events = fds[2 * i].revents;
            const bool ended = fds[2 * i + 1].revents != 0; // the process is gone
            if (pipe_events == 0 && !ended) continue;
            Worker &w = *workers_[i];
            if (pipe_events & POLLIN) read_answers(w);
            if (ended || (pipe_events & (POLLHUP | POLLERR))) {
                read_answers(w); // what it wrote before it ended
                handle_exit(i);
            }
        }
        check_timeouts();
    }
}

void ProcessExecutor::Coordinator::kill_workers() {
    // After an internal error: no worker may outlive the run, nor keep it from ending (a
    // forkserver waits for its workers before it exits, and ~ForkServer waits for it).
    for (auto &wp : workers_) {
        ::kill(wp->pid, SIGKILL);
        if (self_.pool_.start_method != StartMethod::forkserver) { // else the server reaps it
            int status = 0;
            while (waitpid(wp->pid, &status, 0) < 0 && errno == EINTR) {
            }
        }
        unregister_child_pid(wp->pid);
    }
    workers_.clear();
}

nlohmann::ordered_json ProcessExecutor::Coordinator::details() const {
    nlohmann::ordered_json d;
    d["workers_started"] = workers_started_;
    d["worker_deaths"] = crashes_;
    return d;
}

void ProcessExecutor::prepare(ExecutionContext &ctx) {
    // One slot per job that can be in flight, and no more than there are jobs: the ring is
    // reused, so memory does not grow with the number of jobs, nor with workers that would
    // have nothing to do.
    const size_t in_flight = std::min<size_t>(size_t(workers_) * kMaxDepth, std::max<size_t>(ctx.jobs.size(), 1));
    const uint32_t slots = static_cast<uint32_t>(in_flight + 1);
    buffer_ = ResultBuffer::create(slots);
    if (pool_.start_method == StartMethod::forkserver) {
        const RunSpec *spec = &ctx.spec;
        const PipelinePlan *plan = &ctx.plan;
        ResultBuffer *buffer = &buffer_;
        fork_server_ = std::make_unique<ForkServer>(
            [spec, plan, buffer](int, int) { return run_worker(*spec, *plan, *buffer); });
    }
    if (ctx.jobs.empty()) return;
    ::signal(SIGPIPE, SIG_IGN);
    // The first workers start here, before the coordinator has a thread of its own (the
    // progress line): with the fork start method they are forked from a single thread.
    coordinator_ = std::make_unique<Coordinator>(*this, ctx);
    try {
        coordinator_->start_workers();
    } catch (...) {
        coordinator_->kill_workers();
        throw;
    }
}

ProcessExecutor::~ProcessExecutor() = default;

ProgressCounts ProcessExecutor::progress(const ExecutionContext &ctx) const {
    // The counters the workers update themselves, under the robust lock: the line moves as
    // jobs finish, even before the coordinator has read their answers.
    const PoolCounters c = buffer_.counters();
    return {c.done + c.skipped, ctx.jobs.size(), c.failed + c.timeout + c.crashed};
}

void ProcessExecutor::execute(ExecutionContext &ctx) {
    if (ctx.jobs.empty()) return;
    if (!coordinator_) prepare(ctx);
    Coordinator &coordinator = *coordinator_;
    try {
        coordinator.run();
    } catch (...) {
        coordinator.kill_workers();
        details_ = coordinator.details(); // for the report that is still written
        throw;
    }
    details_ = coordinator.details();
    const PoolCounters c = buffer_.counters();
    details_["lock_repairs"] = buffer_.lock_repairs();
    details_["retried"] = c.retried;
    // The shared counters must agree with the records the coordinator collected.
    uint64_t ok = 0, failed = 0, timeout = 0, crashed = 0;
    for (const JobRecord &r : ctx.records) {
        ok += r.status == JobStatus::ok;
        failed += r.status == JobStatus::failed;
        timeout += r.status == JobStatus::timeout;
        crashed += r.status == JobStatus::crashed;
    }
    const bool consistent = c.ok == ok && c.failed == failed && c.timeout == timeout && c.crashed == crashed &&
                            c.done == ok + failed + timeout + crashed && c.in_flight == 0;
    details_["counters_consistent"] = consistent;
    details_["counters"] = {{"done", c.done}, {"ok", c.ok}, {"failed", c.failed}, {"timeout", c.timeout},
                            {"crashed", c.crashed}, {"retried", c.retried}, {"in_flight", c.in_flight},
                            {"bytes_in", c.bytes_in}, {"bytes_out", c.bytes_out}};
    if (!consistent) spdlog::error("the shared counters disagree with the job records: {}", details_["counters"].dump());
    fork_server_.reset();
}

} // namespace batchproc
