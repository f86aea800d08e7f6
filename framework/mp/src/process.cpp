#include "batchproc/mp/process.hpp"

#include "child_role.hpp"
#include "framing.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream> // also initializes std::cout before this file's bootstrap runs a task
#include <string>

namespace batchproc::mp {

namespace {

// A spawn or forkserver child becomes its role here, before main: this object's
// initializer runs in every program that uses Process (this file is then linked in).
// Static libraries that depend on batchproc::mp, and the program's own files, are
// initialized before it, so their BATCHPROC_MP_TASK registrations are known.
struct ChildBootstrap {
    ChildBootstrap() { detail::bootstrap_child(); }
};
const ChildBootstrap g_child_bootstrap;

int decode_wait_status(int status) {
    if (WIFSIGNALED(status)) return -WTERMSIG(status);
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 255;
}

int open_pidfd(int pid) {
#ifdef SYS_pidfd_open
    return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
    (void)pid;
    return -1;
#endif
}

void flush_all_output() {
    std::cout.flush();
    std::cerr.flush();
    std::clog.flush();
    std::fflush(nullptr);
}

} // namespace

bool run_if_child(int, char **) {
    detail::run_child_role_from_main();
    return false;
}

Context get_context() { return Context(get_start_method()); }
Context get_context(StartMethod method) { return Context(method); }

Process::Process(StartMethod method, std::unique_ptr<detail::ProcessTarget> target)
    : method_(method), target_(std::move(target)) {
    if (method_ != StartMethod::fork) {
        const detail::ErasedFunction fn = target_->function();
        const std::string m = to_string(method_);
        if (fn == nullptr)
            throw TaskNotRegistered("batchproc::mp::Process: the " + m +
                                    " start method runs registered free functions only, and this is a lambda or "
                                    "function object: run it with the fork start method, or make it a free function "
                                    "registered with BATCHPROC_MP_TASK(name)");
        task_ = detail::find_task(fn);
        if (task_ == nullptr)
            throw TaskNotRegistered("batchproc::mp::Process: the function is not registered, and the " + m +
                                    " start method runs registered functions only: add BATCHPROC_MP_TASK(name) after "
                                    "its definition, or use the fork start method");
    }
    identity_ = detail::next_child_identity();
    name_ = "Process-" + identity_;
    creator_pid_ = static_cast<int>(::getpid());
}

Process::Process(Process &&other) noexcept
    : method_(other.method_), target_(std::move(other.target_)), task_(other.task_),
      identity_(std::move(other.identity_)), name_(std::move(other.name_)), daemon_(other.daemon_),
      pid_(std::exchange(other.pid_, 0)), creator_pid_(other.creator_pid_), exitcode_(std::move(other.exitcode_)),
      sentinel_(std::move(other.sentinel_)) {}

Process &Process::operator=(Process &&other) noexcept {
    if (this != &other) {
        finish();
        method_ = other.method_;
        target_ = std::move(other.target_);
        task_ = other.task_;
        identity_ = std::move(other.identity_);
        name_ = std::move(other.name_);
        daemon_ = other.daemon_;
        pid_ = std::exchange(other.pid_, 0);
        creator_pid_ = other.creator_pid_;
        exitcode_ = std::move(other.exitcode_);
        sentinel_ = std::move(other.sentinel_);
    }
    return *this;
}

Process::~Process() { finish(); }

void Process::finish() noexcept {
    if (pid_ == 0 || exitcode_ || creator_pid_ != static_cast<int>(::getpid())) return;
    try {
        if (daemon_) {
            terminate();
            if (!join(5.0)) kill();
        }
        join();
    } catch (...) {
    }
}

void Process::set_daemon(bool daemon) {
    if (pid_ != 0) throw ProcessError("batchproc::mp::Process: set_daemon after start");
    daemon_ = daemon;
}

void Process::start() {
    if (pid_ != 0) throw ProcessError("batchproc::mp::Process: cannot start a process twice (" + name_ + ")");
    if (creator_pid_ != static_cast<int>(::getpid()))
        throw ProcessError("batchproc::mp::Process: can only start a process object created by the current process");
    detail::check_not_a_stray_child();
    switch (method_) {
    case StartMethod::fork: start_fork(); break;
    case StartMethod::spawn: start_spawn(); break;
    case StartMethod::forkserver: start_forkserver(); break;
    }
}

void Process::start_fork() {
    flush_all_output(); // else both processes would write what is buffered
    const ProcessInfo me = current_process();
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) throw ProcessError(std::string("batchproc::mp::Process: fork: ") + std::strerror(errno));
    if (pid == 0) {
        if (daemon_) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            // The parent died before prctl took effect: end as the signal would have ended us.
            if (::getppid() != parent) ::kill(::getpid(), SIGKILL);
        }
        detail::become_child(name_, identity_, daemon_, static_cast<int>(parent), me.name, me.daemon);
        detail::forget_forkserver_after_fork();
        const int code = detail::run_guarded(name_, [this] { target_->run(); });
        detail::exit_child(code);
    }
    pid_ = static_cast<int>(pid);
    sentinel_.reset(open_pidfd(pid_));
}

namespace {

detail::ChildRequest make_request(const detail::TaskEntry &task, const detail::ProcessTarget &target,
                                  const std::string &name, const std::string &identity, bool daemon) {
    detail::ChildRequest request;
    request.task = task.name;
    {
        detail::FdExport exporting(request.fds);
        request.arguments = target.encode(task);
    }
    request.name = name;
    request.identity = identity;
    request.daemon = daemon;
    const ProcessInfo me = current_process();
    request.parent_pid = me.pid;
    request.parent_name = me.name;
    request.parent_daemon = me.daemon;
    return request;
}

} // namespace

void Process::start_spawn() {
    detail::ChildRequest request = make_request(*task_, *target_, name_, identity_, daemon_);
    std::string framed(detail::kFrameHeader, '\0');
    dump_to(framed, request);
    int sp[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0)
        throw ProcessError(std::string("batchproc::mp::Process: socketpair for spawn: ") + std::strerror(errno));
    detail::UniqueFd mine(sp[0]), theirs(sp[1]);
    std::vector<int> keep = request.fds;
    keep.push_back(theirs.get());
    const std::string role = "task:" + std::to_string(theirs.get()) + ":" + detail::child_role_timing();
    pid_ = detail::exec_self(role, keep, daemon_);
    theirs.reset();
    sentinel_.reset(open_pidfd(pid_));
    try {
        detail::send_frame(mine.get(), framed);
    } catch (const BrokenPipeError &) {
        // The child ended before reading its task; its exit code tells why.
    }
}

void Process::start_forkserver() {
    detail::ChildRequest request = make_request(*task_, *target_, name_, identity_, daemon_);
    std::string framed(detail::kFrameHeader, '\0');
    dump_to(framed, request);
    detail::ForkServerChild child = detail::forkserver_start(framed, request.fds);
    pid_ = child.pid;
    sentinel_ = std::move(child.status);
}

bool Process::reap(bool block) {
    int status = 0;
    pid_t r;
    do r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == pid_) {
        exitcode_ = decode_wait_status(status);
    } else if (r < 0) {
        // ECHILD: someone else reaped it (SIGCHLD ignored, or a waitpid(-1) elsewhere).
        exitcode_ = 255;
    } else {
        return false;
    }
    sentinel_.reset();
    return true;
}

bool Process::poll_exit(double timeout_seconds) {
    if (exitcode_) return true;
    if (pid_ == 0) return false;
    const std::optional<double> wait =
        timeout_seconds < 0 ? std::nullopt : std::optional<double>(timeout_seconds);
    if (method_ == StartMethod::forkserver) {
        if (!detail::wait_readable(sentinel_.get(), wait)) return false;
        std::int32_t status = 0;
        char *p = reinterpret_cast<char *>(&status);
        size_t done = 0;
        while (done < sizeof status) {
            const ssize_t n = ::read(sentinel_.get(), p + done, sizeof status - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            done += static_cast<size_t>(n);
        }
        // Without a status the server died; Python reports 255 then too.
        exitcode_ = done == sizeof status ? decode_wait_status(status) : 255;
        sentinel_.reset();
        return true;
    }
    if (sentinel_) {
        if (!detail::wait_readable(sentinel_.get(), wait)) return false;
        return reap(true); // it has ended: waitpid returns at once
    }
    if (!wait) return reap(true);
    // No pidfd (kernels before 5.3): look every few milliseconds.
    const double deadline = detail::monotonic_seconds() + *wait;
    for (;;) {
        if (reap(false)) return true;
        const double left = deadline - detail::monotonic_seconds();
        if (left <= 0) return false;
        const timespec ts{0, static_cast<long>(std::min(left, 0.01) * 1e9)};
        ::nanosleep(&ts, nullptr);
    }
}

void Process::join() {
    if (pid_ == 0) throw ProcessError("batchproc::mp::Process: can only join a started process (" + name_ + ")");
    if (creator_pid_ != static_cast<int>(::getpid()))
        throw ProcessError("batchproc::mp::Process: can only join a child process");
    poll_exit(-1);
}

bool Process::join(double timeout_seconds) {
    if (pid_ == 0) throw ProcessError("batchproc::mp::Process: can only join a started process (" + name_ + ")");
    if (creator_pid_ != static_cast<int>(::getpid()))
        throw ProcessError("batchproc::mp::Process: can only join a child process");
    return poll_exit(std::max(0.0, timeout_seconds));
}

bool Process::is_alive() {
    if (pid_ == 0 || creator_pid_ != static_cast<int>(::getpid())) return false;
    return !poll_exit(0);
}

std::optional<int> Process::exitcode() {
    if (pid_ != 0 && creator_pid_ == static_cast<int>(::getpid())) poll_exit(0);
    return exitcode_;
}

void Process::send_signal(int sig) {
    if (pid_ == 0 || exitcode_) return;
    if (creator_pid_ == static_cast<int>(::getpid()) && poll_exit(0)) return;
    if (::kill(pid_, sig) != 0 && errno != ESRCH)
        throw ProcessError(std::string("batchproc::mp::Process: cannot signal ") + name_ + ": " + std::strerror(errno));
}

void Process::terminate() { send_signal(SIGTERM); }
void Process::kill() { send_signal(SIGKILL); }

} // namespace batchproc::mp
