// PoolCore: the workers of a Pool and the thread that feeds them.
//
// One thread per pool does all the talking: it starts workers (lazily, when work is queued),
// sends each a few chunks ahead (so a worker never waits for the next one), reads outcomes,
// watches the workers' ends (pidfd or forkserver status) and their slots for timeouts, and
// replaces the dead. Its sockets are non-blocking, so a worker that is slow to read never
// stalls the others. Callers only queue chunks and wait on their jobs.
#include "pool_wire.hpp"

#include "child_role.hpp"
#include "framing.hpp"

#include "batchproc/mp/process.hpp"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <thread>

namespace batchproc::mp::detail {

namespace {

constexpr std::size_t kWindow = 64;       // pending chunks a worker looks at for one it can run
constexpr double kQueueAheadSeconds = 0.002; // work queued ahead in a worker beyond two chunks
constexpr std::size_t kMaxInFlight = 256; // chunks
constexpr int kMaxAttempts = 3;           // sends of a task whose workers died without a culprit

std::string signal_name(int sig) {
    const char *abbrev = ::sigabbrev_np(sig);
    return abbrev != nullptr ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

std::string describe_end(int pid, int code) {
    if (code < 0)
        return "the worker (pid " + std::to_string(pid) + ") was killed by " + signal_name(-code) + " (signal " +
               std::to_string(-code) + ")";
    return "the worker (pid " + std::to_string(pid) + ") exited with code " + std::to_string(code);
}

struct InFlight {
    ChunkSpec chunk;
    std::uint64_t id = 0;
    std::uint64_t task_base = 0;
    std::uint32_t answered = 0;
};

struct Worker {
    std::unique_ptr<Process> process;
    Connection<std::string> channel;
    int fd = -1;
    int pid = 0;
    ByteBuffer in;
    std::string out;
    std::size_t out_pos = 0;
    std::deque<InFlight> inflight;
    std::size_t queued_tasks = 0;
    std::uint64_t tasks_sent = 0;
    std::uint32_t known_functions = 0;
    bool stopping = false;
    std::uint64_t killed_for_task = 0; // timeout: the task it was killed for (id + 1)
    double last_progress = 0;
    double last_reply = 0;
    bool answered_since_dispatch = false; // queue more only right after an answer
    std::uint64_t seen_task = 0;          // timeouts: the task last seen in the slot, and since when
    double seen_since = 0;
};

template <class T>
void append_raw(std::string &s, T v) {
    s.append(reinterpret_cast<const char *>(&v), sizeof v);
}

} // namespace

class PoolCore {
public:
    PoolCore(std::size_t processes, const PoolOptions &options)
        : processes_(processes > 0 ? processes : std::max(1u, std::thread::hardware_concurrency())),
          options_(options), method_(options.start_method ? *options.start_method : get_start_method()),
          workers_(processes_) {
        if (options_.timeout && *options_.timeout <= 0)
            throw ValueError("batchproc::mp::Pool: PoolOptions::timeout must be positive");
        if (method_ != StartMethod::fork && options_.initializer) {
            const ErasedFunction fn = options_.initializer.function();
            init_entry_ = fn != nullptr ? find_task(fn) : nullptr;
            if (init_entry_ == nullptr)
                throw TaskNotRegistered(std::string("batchproc::mp::Pool: a ") + to_string(method_) +
                                        " pool's initializer must be a free function registered with "
                                        "BATCHPROC_MP_TASK (or use a fork pool)");
            init_arguments_ = options_.initializer.encode(*init_entry_);
        }
        slots_ = SharedMemory::create(sizeof(WorkerSlot) * processes_);
        wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
        if (!wake_) throw Error(std::string("batchproc::mp::Pool: eventfd: ") + std::strerror(errno));
    }

    ~PoolCore() { terminate(); }

    StartMethod method() const { return method_; }
    std::size_t processes() const { return processes_; }

    FunctionRef add_function(std::string key, std::unique_ptr<PoolFunction> fn) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!key.empty()) {
            const auto it = function_keys_.find(key);
            if (it != function_keys_.end()) return FunctionRef{it->second, nullptr};
        }
        const auto index = static_cast<std::uint32_t>(functions_.size());
        functions_.push_back(std::move(fn));
        if (!key.empty()) function_keys_.emplace(std::move(key), index);
        return FunctionRef{index, nullptr};
    }

    void submit(std::vector<ChunkSpec> chunks) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (closed_ || terminated_)
            throw ValueError("batchproc::mp::Pool: the pool is not running (closed or terminated)");
        for (auto &c : chunks) pending_.push_back(std::move(c));
        if (!thread_.joinable()) thread_ = std::thread([this] { loop(); });
        wake();
    }

    bool cancel(const JobCore *job, std::size_t index) {
        std::shared_ptr<JobCore> owner;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            for (auto it = pending_.begin(); it != pending_.end(); ++it) {
                if (it->job.get() != job || index < it->first || index >= it->first + it->count) continue;
                if (it->count != 1) return false;
                owner = it->job;
                pending_.erase(it);
                break;
            }
        }
        if (!owner) return false;
        if (owner->fail(index, TaskFailure{TaskFailure::Kind::cancelled, "", "the task was cancelled", 0, 0}))
            owner->run_callbacks();
        return true;
    }

    void cancel_pending() {
        std::deque<ChunkSpec> taken;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            taken.swap(pending_);
        }
        fail_all(taken, "the task was cancelled (shutdown with cancel_futures)");
    }

    void close() {
        std::lock_guard<std::mutex> lock(mutex_);
        closed_ = true;
        wake();
    }

    void terminate() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            closed_ = true;
            terminated_ = true;
            wake();
        }
        if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
        std::deque<ChunkSpec> left;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            left.swap(pending_);
        }
        fail_all(left, "the pool was terminated before the task ran");
    }

    void join() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!closed_) throw ValueError("batchproc::mp::Pool::join: call close() or terminate() first");
        }
        if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
    }

    std::vector<int> worker_pids() {
        std::lock_guard<std::mutex> lock(mutex_);
        std::vector<int> pids;
        for (const auto &w : workers_)
            if (w) pids.push_back(w->pid);
        return pids;
    }

private:
    static void fail_all(std::deque<ChunkSpec> &chunks, const std::string &why) {
        std::vector<std::shared_ptr<JobCore>> due;
        for (auto &c : chunks)
            for (std::uint32_t k = 0; k < c.count; ++k)
                if (c.job->fail(c.first + k, TaskFailure{TaskFailure::Kind::cancelled, "", why, 0, 0}))
                    due.push_back(c.job);
        for (auto &job : due) job->run_callbacks();
    }

    void wake() {
        const std::uint64_t one = 1;
        [[maybe_unused]] const ssize_t n = ::write(wake_.get(), &one, sizeof one);
    }

    WorkerSlot &slot(std::size_t i) { return reinterpret_cast<WorkerSlot *>(slots_.data())[i]; }

    // Under mutex_.
    void start_worker(std::size_t i) {
        auto ends = Pipe<std::string>();
        Connection<std::string> child = std::move(ends.second);
        slot(i).task.store(0);
        auto w = std::make_unique<Worker>();
        const Context context(method_);
        if (method_ == StartMethod::fork) {
            const int fd = child.fileno();
            w->process = std::make_unique<Process>(context, [this, i, fd] { fork_worker_main(i, fd); });
            w->known_functions = static_cast<std::uint32_t>(functions_.size());
        } else {
            PoolWorkerConfig config;
            config.slots = slots_;
            config.slot = static_cast<std::uint32_t>(i);
            config.max_memory = options_.max_memory;
            if (init_entry_ != nullptr) {
                config.init_task = init_entry_->name;
                config.init_arguments = init_arguments_;
            }
            w->process = std::make_unique<Process>(context, &batchproc_mp_pool_worker, child, std::move(config));
            w->known_functions = UINT32_MAX;
        }
        const char *kind = method_ == StartMethod::fork ? "ForkPoolWorker-"
                           : method_ == StartMethod::spawn ? "SpawnPoolWorker-"
                                                            : "ForkServerPoolWorker-";
        w->process->set_name(kind + std::to_string(++started_workers_));
        w->process->set_daemon(true);
        w->process->start();
        child.close();
        w->channel = std::move(ends.first);
        w->fd = w->channel.fileno();
        ::fcntl(w->fd, F_SETFL, ::fcntl(w->fd, F_GETFL) | O_NONBLOCK);
        w->pid = w->process->pid();
        w->last_progress = now_seconds();
        workers_[i] = std::move(w);
    }

    // In a fork child: the pool's state is a copy made at the fork; no lock is taken (the
    // pool's thread held it while forking).
    [[noreturn]] void fork_worker_main(std::size_t i, int fd) {
        ::close(wake_.get());
        for (const auto &w : workers_)
            if (w && w->fd >= 0) ::close(w->fd);
        WorkerSetup setup;
        setup.fd = fd;
        setup.slot = &slot(i);
        setup.max_memory = options_.max_memory;
        setup.table = [this](std::uint32_t index) { return functions_.at(index).get(); };
        if (options_.initializer) setup.initializer = [this] { options_.initializer.run(); };
        run_pool_worker(setup);
    }

    // One chunk at a time, as Python's workers take them, unless tasks are quick: then a worker
    // that has just answered gets up to kQueueAheadSeconds of work queued, so that it never
    // waits for the next chunk. A slow task (no answer for a while) gets nothing queued behind
    // it, so the other workers take the rest.
    bool can_take(const Worker &w, double now) const {
        if (w.stopping) return false;
        if (w.inflight.empty()) return true;
        if (w.inflight.size() >= kMaxInFlight) return false;
        return w.answered_since_dispatch && now - w.last_reply < kQueueAheadSeconds && average_task_seconds_ > 0 &&
               double(w.queued_tasks) * average_task_seconds_ < kQueueAheadSeconds;
    }

    bool knows(const Worker &w, const ChunkSpec &c) const {
        return c.function.entry != nullptr || c.function.index < w.known_functions;
    }

    void stop(Worker &w) {
        append_raw<std::uint64_t>(w.out, 1);
        w.out.push_back(static_cast<char>(kStopMessage));
        w.stopping = true;
    }

    void send(Worker &w, ChunkSpec chunk) {
        InFlight f;
        f.id = ++next_chunk_id_;
        f.task_base = next_task_id_;
        next_task_id_ += chunk.count;
        const std::string_view name = chunk.function.entry != nullptr ? chunk.function.entry->name : std::string_view();
        append_raw<std::uint64_t>(w.out, kChunkHeader + name.size() + chunk.arguments.size());
        w.out.push_back(static_cast<char>(kChunkMessage));
        append_raw<std::uint64_t>(w.out, f.id);
        append_raw<std::uint64_t>(w.out, f.task_base);
        append_raw<std::uint32_t>(w.out, chunk.count);
        append_raw<std::uint32_t>(w.out, chunk.function.index);
        append_raw<std::uint32_t>(w.out, static_cast<std::uint32_t>(name.size()));
        w.out.append(name);
        w.out.append(chunk.arguments);
        chunk.job->mark_dispatched();
        if (w.inflight.empty()) w.last_progress = now_seconds();
        w.queued_tasks += chunk.count;
        w.tasks_sent += chunk.count;
        f.chunk = std::move(chunk);
        w.inflight.push_back(std::move(f));
    }

    // Under mutex_: starts workers, hands out chunks, stops the workers no longer needed.
    void dispatch() {
        if (!pending_.empty()) {
            for (std::size_t i = 0; i < workers_.size(); ++i) {
                if (workers_[i]) continue;
                try {
                    start_worker(i);
                } catch (const std::exception &e) {
                    // No worker can be started (out of processes or memory, the program cannot
                    // be run again for spawn): the queued tasks fail rather than wait for ever.
                    if (std::any_of(workers_.begin(), workers_.end(), [](const auto &w) { return w != nullptr; }))
                        break; // the live workers will do the work
                    const std::string why = std::string("the pool cannot start a worker: ") + e.what();
                    for (ChunkSpec &c : pending_)
                        for (std::uint32_t k = 0; k < c.count; ++k)
                            if (c.job->fail(c.first + k, TaskFailure{TaskFailure::Kind::crashed, "", why, 0, 0}))
                                due_.push_back(c.job);
                    pending_.clear();
                    return;
                }
            }
        }
        const std::size_t max_tasks = options_.maxtasksperchild;
        const double now = now_seconds();
        bool progress = true;
        while (progress && !pending_.empty()) {
            progress = false;
            for (auto &wp : workers_) {
                if (!wp || pending_.empty()) continue;
                Worker &w = *wp;
                if (!can_take(w, now)) continue;
                const std::size_t window = std::min(kWindow, pending_.size());
                std::size_t pick = window;
                for (std::size_t k = 0; k < window; ++k)
                    if (knows(w, pending_[k])) {
                        pick = k;
                        break;
                    }
                if (pick == window) {
                    // Work it cannot run (a callable given after its fork): replace it.
                    if (w.inflight.empty()) stop(w);
                    continue;
                }
                if (max_tasks > 0 && w.tasks_sent > 0 && w.tasks_sent + pending_[pick].count > max_tasks) {
                    stop(w);
                    continue;
                }
                send(w, std::move(pending_[pick]));
                pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(pick));
                if (max_tasks > 0 && w.tasks_sent >= max_tasks) stop(w);
                progress = true;
            }
        }
        for (auto &w : workers_)
            if (w) w->answered_since_dispatch = false;
        if (closed_ && pending_.empty())
            for (auto &w : workers_)
                if (w && w->inflight.empty() && !w->stopping) stop(*w);
    }

    void write_out(Worker &w) {
        while (w.out_pos < w.out.size()) {
            const ssize_t n = ::send(w.fd, w.out.data() + w.out_pos, w.out.size() - w.out_pos, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR) continue;
                break; // EAGAIN: later; EPIPE: the worker is dying, its sentinel will say
            }
            w.out_pos += static_cast<std::size_t>(n);
        }
        if (w.out_pos == w.out.size()) {
            w.out.clear();
            w.out_pos = 0;
        } else if (w.out_pos > (1u << 20)) {
            w.out.erase(0, w.out_pos);
            w.out_pos = 0;
        }
    }

    void read_in(Worker &w) {
        for (;;) {
            char *at = w.in.tail(256 * 1024);
            const std::size_t room = w.in.room();
            const ssize_t n = ::read(w.fd, at, room);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            w.in.commit(static_cast<std::size_t>(n));
            if (static_cast<std::size_t>(n) < room) break;
        }
        while (w.in.size() >= 8) {
            std::uint64_t len;
            std::memcpy(&len, w.in.data(), 8);
            if (w.in.size() - 8 < len) break;
            reply(w, std::string_view(w.in.data() + 8, len));
            w.in.consume(8 + len);
        }
    }

    void reply(Worker &w, std::string_view frame) {
        if (frame.size() < kReplyHeader || w.inflight.empty()) return;
        std::uint64_t id;
        std::uint32_t first, count;
        std::memcpy(&id, frame.data(), 8);
        std::memcpy(&first, frame.data() + 8, 4);
        std::memcpy(&count, frame.data() + 12, 4);
        InFlight &f = w.inflight.front();
        if (f.id != id || first != f.answered || first + count > f.chunk.count) return; // never expected
        if (f.chunk.job->receive(f.chunk.first + first, count, frame.substr(kReplyHeader))) due_.push_back(f.chunk.job);
        f.answered += count;
        w.queued_tasks -= count;
        const double now = now_seconds();
        const double sample = (now - w.last_progress) / count;
        w.last_progress = now;
        w.last_reply = now;
        w.answered_since_dispatch = true;
        average_task_seconds_ = average_task_seconds_ == 0 ? sample : 0.8 * average_task_seconds_ + 0.2 * sample;
        if (f.answered == f.chunk.count) w.inflight.pop_front();
    }

    // A worker ended: what it was running fails, the rest of its work goes back to the queue.
    void bury(std::size_t i) {
        Worker &w = *workers_[i];
        read_in(w);
        w.process->join();
        const int code = w.process->exitcode().value_or(255);
        const std::uint64_t culprit = w.killed_for_task != 0 ? w.killed_for_task : slot(i).task.load();
        std::deque<ChunkSpec> again;
        for (InFlight &f : w.inflight) {
            for (std::uint32_t k = f.answered; k < f.chunk.count; ++k) {
                const std::size_t index = f.chunk.first + k;
                if (f.task_base + k + 1 == culprit) {
                    TaskFailure failure;
                    failure.pid = w.pid;
                    failure.exit_code = code;
                    if (w.killed_for_task != 0) {
                        failure.kind = TaskFailure::Kind::timed_out;
                        failure.message = "the task ran longer than the pool's timeout of " +
                                          std::to_string(*options_.timeout) + " s; its worker (pid " +
                                          std::to_string(w.pid) + ") was killed";
                    } else {
                        failure.kind = TaskFailure::Kind::crashed;
                        failure.message = "the task crashed its worker: " + describe_end(w.pid, code);
                    }
                    if (f.chunk.job->fail(index, std::move(failure))) due_.push_back(f.chunk.job);
                    continue;
                }
                ChunkSpec one;
                one.job = f.chunk.job;
                one.first = index;
                one.count = 1;
                one.function = f.chunk.function;
                one.attempts = f.chunk.attempts + (culprit == 0 ? 1 : 0);
                if (f.chunk.offsets.empty()) {
                    one.arguments = f.chunk.arguments;
                } else {
                    const std::size_t begin = f.chunk.offsets[k];
                    const std::size_t end =
                        k + 1 < f.chunk.count ? f.chunk.offsets[k + 1] : f.chunk.arguments.size();
                    one.arguments = f.chunk.arguments.substr(begin, end - begin);
                }
                if (one.attempts >= kMaxAttempts) {
                    TaskFailure failure{TaskFailure::Kind::crashed, "",
                                        "its workers died " + std::to_string(one.attempts) +
                                            " times before running it (last: " + describe_end(w.pid, code) +
                                            "; a failing initializer?)",
                                        w.pid, code};
                    if (one.job->fail(index, std::move(failure))) due_.push_back(one.job);
                    continue;
                }
                again.push_back(std::move(one));
            }
        }
        for (auto it = again.rbegin(); it != again.rend(); ++it) pending_.push_front(std::move(*it));
        workers_[i].reset();
    }

    // A task is timed from when the pool first sees it in the worker's slot (the pool looks
    // every few tens of milliseconds), so that workers need not read the clock per task.
    void check_timeouts() {
        const double limit = *options_.timeout;
        const double now = now_seconds();
        for (std::size_t i = 0; i < workers_.size(); ++i) {
            Worker *w = workers_[i].get();
            if (w == nullptr || w->killed_for_task != 0) continue;
            const std::uint64_t task = slot(i).task.load(std::memory_order_acquire);
            if (task != w->seen_task) {
                w->seen_task = task;
                w->seen_since = now;
            } else if (task != 0 && now - w->seen_since > limit) {
                w->killed_for_task = task;
                w->process->kill();
            }
        }
    }

    void loop() {
        std::unique_lock<std::mutex> lock(mutex_);
        std::vector<pollfd> fds;
        std::vector<std::size_t> owner;
        while (!terminated_) {
            dispatch();
            bool alive = false;
            for (auto &w : workers_)
                if (w) {
                    alive = true;
                    write_out(*w);
                }
            if (closed_ && pending_.empty() && !alive) break;
            fds.assign(1, pollfd{wake_.get(), POLLIN, 0});
            owner.assign(1, SIZE_MAX);
            for (std::size_t i = 0; i < workers_.size(); ++i) {
                if (!workers_[i]) continue;
                Worker &w = *workers_[i];
                fds.push_back(pollfd{w.fd, static_cast<short>(POLLIN | (w.out.empty() ? 0 : POLLOUT)), 0});
                owner.push_back(i);
                fds.push_back(pollfd{w.process->sentinel(), POLLIN, 0});
                owner.push_back(i);
            }
            int wait_ms = -1;
            if (options_.timeout) wait_ms = std::clamp(static_cast<int>(*options_.timeout * 100), 5, 50);
            lock.unlock();
            const int ready = ::poll(fds.data(), fds.size(), wait_ms);
            lock.lock();
            if (ready > 0) {
                if (fds[0].revents != 0) {
                    std::uint64_t v;
                    while (::read(wake_.get(), &v, sizeof v) > 0) {
                    }
                }
                for (std::size_t k = 1; k < fds.size(); k += 2) {
                    const std::size_t i = owner[k];
                    if (!workers_[i]) continue;
                    if (fds[k].revents & POLLOUT) write_out(*workers_[i]);
                    if (fds[k].revents & (POLLIN | POLLHUP | POLLERR)) read_in(*workers_[i]);
                    if (fds[k + 1].revents != 0) bury(i);
                }
            }
            if (options_.timeout) check_timeouts();
            if (!due_.empty()) {
                std::vector<std::shared_ptr<JobCore>> due;
                due.swap(due_);
                lock.unlock();
                for (auto &job : due) job->run_callbacks();
                lock.lock();
            }
        }
        // Terminated, or closed with every worker gone.
        std::deque<ChunkSpec> unfinished;
        for (auto &wp : workers_) {
            if (!wp) continue;
            wp->process->kill();
            wp->process->join();
            for (InFlight &f : wp->inflight) {
                ChunkSpec rest = std::move(f.chunk);
                rest.first += f.answered;
                rest.count -= f.answered;
                unfinished.push_back(std::move(rest));
            }
            wp.reset();
        }
        lock.unlock();
        fail_all(unfinished, "the pool was terminated while the task ran");
    }

    const std::size_t processes_;
    const PoolOptions options_;
    const StartMethod method_;
    const TaskEntry *init_entry_ = nullptr;
    std::string init_arguments_;

    std::mutex mutex_;
    std::vector<std::unique_ptr<PoolFunction>> functions_;
    std::map<std::string, std::uint32_t> function_keys_;
    std::deque<ChunkSpec> pending_;
    bool closed_ = false;
    bool terminated_ = false;

    // The pool's thread's own (read by worker_pids under mutex_).
    std::vector<std::unique_ptr<Worker>> workers_;
    std::vector<std::shared_ptr<JobCore>> due_;
    std::uint64_t next_chunk_id_ = 0;
    std::uint64_t next_task_id_ = 0;
    double average_task_seconds_ = 0;
    int started_workers_ = 0;

    SharedMemory slots_;
    UniqueFd wake_;
    std::thread thread_;
};

std::shared_ptr<PoolCore> make_pool_core(std::size_t processes, const PoolOptions &options) {
    return std::make_shared<PoolCore>(processes, options);
}
StartMethod pool_start_method(const PoolCore &core) { return core.method(); }
std::size_t pool_processes(const PoolCore &core) { return core.processes(); }
FunctionRef pool_add_function(PoolCore &core, std::string key, std::unique_ptr<PoolFunction> fn) {
    return core.add_function(std::move(key), std::move(fn));
}
void pool_submit(PoolCore &core, std::vector<ChunkSpec> chunks) { core.submit(std::move(chunks)); }
bool pool_cancel(PoolCore &core, const JobCore *job, std::size_t index) { return core.cancel(job, index); }
void pool_cancel_pending(PoolCore &core) { core.cancel_pending(); }
void pool_close(PoolCore &core) { core.close(); }
void pool_terminate(PoolCore &core) { core.terminate(); }
void pool_join(PoolCore &core) { core.join(); }
std::vector<int> pool_worker_pids(PoolCore &core) { return core.worker_pids(); }

} // namespace batchproc::mp::detail
