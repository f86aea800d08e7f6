#include "child_role.hpp"

#include "framing.hpp"

#include <cxxabi.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <typeinfo>

namespace batchproc::mp {

namespace detail {

namespace {

struct Self {
    std::string name = "MainProcess";
    std::string identity; // empty in a program's own process
    bool daemon = false;
    std::optional<ProcessInfo> parent;
    std::atomic<int> counter{0};
};

Self &self() {
    static Self s;
    return s;
}

std::atomic<bool> g_main_hook{false};

// The role this run of the program was started for, until it runs. A plain pointer, so
// that it is null (constant-initialized) before any static initializer runs.
struct PendingRole {
    std::string role; // "task" or "forkserver"
    int fd = -1;
    std::unique_ptr<ChildRequest> request; // a task's, once read
    bool running = false;
};
PendingRole *g_pending = nullptr;

std::string demangle(const char *name) {
    int status = 0;
    std::unique_ptr<char, void (*)(void *)> d(abi::__cxa_demangle(name, nullptr, nullptr, &status), std::free);
    return status == 0 && d ? std::string(d.get()) : std::string(name);
}

// Reads the request a spawn or forkserver child is started with, and closes `fd`.
std::unique_ptr<ChildRequest> read_request(int fd) {
    auto request = std::make_unique<ChildRequest>();
    bool ok = false;
    try {
        std::string payload;
        ok = recv_frame(fd, payload);
        if (ok) loads_into(payload, *request);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "batchproc::mp: a child process could not read its task: %s\n", e.what());
        ok = false;
    }
    ::close(fd);
    if (!ok) {
        std::fprintf(stderr, "batchproc::mp: a child process (pid %d) got no task to run: its parent is gone\n",
                     static_cast<int>(::getpid()));
        exit_child(1);
    }
    return request;
}

[[noreturn]] void run_child_request(ChildRequest &request, std::vector<int> &fds) {
    become_child(request.name, request.identity, request.daemon, request.parent_pid, request.parent_name,
                 request.parent_daemon);
    const int code = run_guarded(request.name, [&] {
        const TaskEntry *entry = find_task(request.task);
        if (entry == nullptr)
            throw TaskNotRegistered(
                "task '" + request.task +
                "' is not registered in the child process, though it is in its parent: it is registered after "
                "batchproc::mp's static initializer ran (in a shared library, or by register_task in main). Call "
                "batchproc::mp::run_if_child(argc, argv) first in main, after such registrations");
        FdImport imports(fds);
        entry->invoke(entry->function, request.arguments);
    });
    exit_child(code);
}

// Becomes the pending role: the forkserver at once; a task if it is registered (or, from
// main, as an error if it is not). Returns only when a task is not registered yet during
// static initialization.
void become_role(bool from_main) {
    PendingRole &p = *g_pending;
    if (p.role == "forkserver") {
        p.running = true;
        serve_forkserver(p.fd);
    }
    if (!p.request) p.request = read_request(p.fd);
    if (!from_main && find_task(p.request->task) == nullptr) return; // task_registered runs it
    p.running = true;
    for (int fd : p.request->fds) ::fcntl(fd, F_SETFD, FD_CLOEXEC); // not into our own children
    run_child_request(*p.request, p.request->fds);
}

} // namespace

std::string next_child_identity() {
    Self &s = self();
    const int n = ++s.counter;
    return s.identity.empty() ? std::to_string(n) : s.identity + ":" + std::to_string(n);
}

void become_child(const std::string &name, const std::string &identity, bool daemon, int parent_pid,
                  const std::string &parent_name, bool parent_daemon) {
    Self &s = self();
    s.parent = ProcessInfo{parent_pid, parent_name, parent_daemon};
    s.name = name;
    s.identity = identity;
    s.daemon = daemon;
    s.counter = 0;
}

int run_guarded(const std::string &process_name, const std::function<void()> &body) noexcept {
    std::string type, message;
    try {
        body();
        return 0;
    } catch (const SystemExit &e) {
        return e.code;
    } catch (const std::exception &e) {
        type = demangle(typeid(e).name());
        message = e.what();
    } catch (...) {
        const std::type_info *t = abi::__cxa_current_exception_type();
        type = t != nullptr ? demangle(t->name()) : "an exception of unknown type";
    }
    std::fprintf(stderr, "Process %s (pid %d): uncaught exception %s%s%s\n", process_name.c_str(),
                 static_cast<int>(::getpid()), type.c_str(), message.empty() ? "" : ": ", message.c_str());
    return 1;
}

void exit_child(int code) noexcept {
    try {
        std::cout.flush();
        std::cerr.flush();
        std::clog.flush();
    } catch (...) {
    }
    std::fflush(nullptr);
    ::_exit(code & 0xff);
}

void bootstrap_child() {
    const char *value = std::getenv(kChildEnv);
    if (value == nullptr) return;
    const std::string v = value;
    ::unsetenv(kChildEnv); // not for the program's own children
    const size_t c1 = v.find(':');
    const size_t c2 = c1 == std::string::npos ? c1 : v.find(':', c1 + 1);
    const std::string role = v.substr(0, c1);
    if (c2 == std::string::npos || (role != "task" && role != "forkserver")) {
        std::fprintf(stderr, "batchproc::mp: %s=%s is not a role this library gave; unset it\n", kChildEnv, value);
        ::_exit(2);
    }
    g_pending = new PendingRole;
    g_pending->role = role;
    g_pending->fd = std::atoi(v.c_str() + c1 + 1);
    if (v.compare(c2 + 1, std::string::npos, "init") == 0) become_role(false);
}

void run_child_role_from_main() {
    g_main_hook = true;
    if (g_pending != nullptr && !g_pending->running) become_role(true);
}

void task_registered(const std::string &name) {
    PendingRole *p = g_pending;
    if (p == nullptr || p->running || !p->request || p->request->task != name) return;
    p->running = true;
    run_child_request(*p->request, p->request->fds);
}

void check_not_a_stray_child() {
    if (g_pending == nullptr || g_pending->running) return;
    std::fprintf(stderr,
                 "batchproc::mp: this process (pid %d) was started to run task '%s', which was never registered "
                 "before the program's main started processes of its own. Register tasks with BATCHPROC_MP_TASK, "
                 "or call batchproc::mp::run_if_child(argc, argv) first in main\n",
                 static_cast<int>(::getpid()), g_pending->request ? g_pending->request->task.c_str() : "?");
    exit_child(1);
}

const char *child_role_timing() { return g_main_hook ? "main" : "init"; }

void run_request(int fd, std::vector<int> *received, int daemon_parent) {
    std::unique_ptr<ChildRequest> request = read_request(fd);
    if (request->daemon && daemon_parent > 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        // The parent died before prctl took effect: end as the signal would have ended us.
        if (::getppid() != daemon_parent) ::kill(::getpid(), SIGKILL);
    }
    std::vector<int> fds = received != nullptr ? *received : request->fds;
    run_child_request(*request, fds);
}

} // namespace detail

ProcessInfo current_process() {
    const detail::Self &s = detail::self();
    return ProcessInfo{static_cast<int>(::getpid()), s.name, s.daemon};
}

std::optional<ProcessInfo> parent_process() { return detail::self().parent; }

} // namespace batchproc::mp
