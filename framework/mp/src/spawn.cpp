// The spawn start method's launcher: a fresh run of this program (/proc/self/exe) that the
// library's static initializer (or run_if_child) turns into a child role.
#include "child_role.hpp"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

extern char **environ;

namespace batchproc::mp::detail {

int exec_self(const std::string &role, const std::vector<int> &keep_fds, bool daemon) {
    // Everything the child needs is made before fork: between fork and exec only
    // async-signal-safe calls are allowed (the parent may have other threads).
    const std::string env_prefix = std::string(kChildEnv) + "=";
    std::string env_entry = env_prefix + role;
    std::vector<char *> envp;
    for (char **e = environ; e != nullptr && *e != nullptr; ++e)
        if (std::strncmp(*e, env_prefix.c_str(), env_prefix.size()) != 0) envp.push_back(*e);
    envp.push_back(env_entry.data());
    envp.push_back(nullptr);
    std::string arg0 = program_invocation_name != nullptr ? program_invocation_name : "batchproc-mp-child";
    std::string arg1 = kChildArg;
    char *argv[] = {arg0.data(), arg1.data(), nullptr};

    // exec's error, if any, comes back on this pipe; a successful exec closes it.
    int report[2];
    if (::pipe2(report, O_CLOEXEC) != 0)
        throw ProcessError(std::string("batchproc::mp: pipe2 for spawn: ") + std::strerror(errno));
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        if (daemon) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL); // survives exec
            if (::getppid() != parent) ::kill(::getpid(), SIGKILL); // it died before prctl took effect
        }
        // Only the chosen descriptors cross exec (Python's spawn closes the others too).
        ::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
        for (int fd : keep_fds) {
            const int flags = ::fcntl(fd, F_GETFD);
            if (flags >= 0) ::fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
        }
        ::execve("/proc/self/exe", argv, envp.data());
        const int error = errno;
        [[maybe_unused]] const ssize_t n = ::write(report[1], &error, sizeof error);
        ::_exit(127);
    }
    const int fork_error = errno;
    ::close(report[1]);
    if (pid < 0) {
        ::close(report[0]);
        throw ProcessError(std::string("batchproc::mp: fork for spawn: ") + std::strerror(fork_error));
    }
    int error = 0;
    ssize_t n;
    do n = ::read(report[0], &error, sizeof error);
    while (n < 0 && errno == EINTR);
    ::close(report[0]);
    if (n == static_cast<ssize_t>(sizeof error)) {
        int status = 0;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        throw ProcessError(std::string("batchproc::mp: the spawn start method cannot run this program again "
                                       "(execve /proc/self/exe): ") +
                           std::strerror(error));
    }
    return pid;
}

} // namespace batchproc::mp::detail
