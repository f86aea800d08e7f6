// The forkserver start method. The server is started on first use like a spawn child (a
// fresh, single-threaded run of the program), then forks one child per request. A request
// is a SOCK_SEQPACKET message on the control socket carrying descriptors: first a stream
// socket private to that child, then the descriptors of its Queue and Connection arguments.
// On the private socket the parent writes the serialized request (the child reads it), and
// the server writes the child's pid, then its wait status when it ends.
#include "child_role.hpp"
#include "framing.hpp"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <string>
#include <vector>

namespace batchproc::mp::detail {

namespace {

// Descriptors in one request: the private socket plus the arguments' (SCM_MAX_FD is 253).
constexpr size_t kMaxRequestFds = 250;

struct Client {
    std::mutex mutex;
    UniqueFd control;
    int server_pid = 0;
};

// Never destroyed: the server must outlive every Process of the program (it ends when the
// program does, as the control socket closes).
Client *&client() {
    static Client *c = new Client;
    return c;
}

bool send_fds(int sock, const std::vector<int> &fds) {
    char byte = 'R';
    iovec iov{&byte, 1};
    std::vector<char> control(CMSG_SPACE(sizeof(int) * fds.size()), 0);
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    ssize_t n;
    do n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n == 1;
}

// 1: a request (its descriptors in `fds`); 0: the client is gone; -1: try again.
int receive_fds(int sock, std::vector<int> &fds) {
    char byte = 0;
    iovec iov{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * (kMaxRequestFds + 3))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    if (n == 0) return 0;
    if (n < 0) return errno == EINTR || errno == EAGAIN ? -1 : 0;
    fds.clear();
    for (cmsghdr *c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        const size_t at = fds.size();
        fds.resize(at + count);
        std::memcpy(fds.data() + at, CMSG_DATA(c), count * sizeof(int));
    }
    return 1;
}

bool write_int(int fd, std::int32_t value) {
    ssize_t n;
    do n = ::send(fd, &value, sizeof value, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n == static_cast<ssize_t>(sizeof value);
}

bool read_int(int fd, std::int32_t &value) {
    char *p = reinterpret_cast<char *>(&value);
    size_t done = 0;
    while (done < sizeof value) {
        const ssize_t n = ::read(fd, p + done, sizeof value - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        done += static_cast<size_t>(n);
    }
    return true;
}

void start_server(Client &c) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        throw ProcessError(std::string("batchproc::mp: socketpair for the forkserver: ") + std::strerror(errno));
    UniqueFd mine(sv[0]), theirs(sv[1]);
    const std::string role = "forkserver:" + std::to_string(theirs.get()) + ":" + child_role_timing();
    c.server_pid = exec_self(role, {theirs.get()}, false);
    c.control = std::move(mine);
}

void forget_server(Client &c) {
    c.control.reset();
    if (c.server_pid > 0) {
        int status = 0;
        while (::waitpid(c.server_pid, &status, 0) < 0 && errno == EINTR) {
        }
    }
    c.server_pid = 0;
}

} // namespace

ForkServerChild forkserver_start(std::string &framed_request, const std::vector<int> &fds) {
    check_not_a_stray_child();
    if (fds.size() + 1 > kMaxRequestFds)
        throw ProcessError("batchproc::mp: too many Queue and Connection arguments for one forkserver Process (" +
                           std::to_string(fds.size()) + " descriptors)");
    int sp[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0)
        throw ProcessError(std::string("batchproc::mp: socketpair for a forkserver child: ") + std::strerror(errno));
    UniqueFd mine(sp[0]), theirs(sp[1]);
    std::vector<int> passed{theirs.get()};
    passed.insert(passed.end(), fds.begin(), fds.end());
    {
        Client &c = *client();
        std::lock_guard<std::mutex> lock(c.mutex);
        bool sent = false;
        // A server that died (killed by someone) is replaced once.
        for (int attempt = 0; attempt < 2 && !sent; ++attempt) {
            if (!c.control) start_server(c);
            sent = send_fds(c.control.get(), passed);
            if (!sent) forget_server(c);
        }
        if (!sent) throw ProcessError("batchproc::mp: the forkserver does not answer");
    }
    theirs.reset();
    try {
        send_frame(mine.get(), framed_request);
    } catch (const BrokenPipeError &) {
        // The child is gone already; the pid and status below tell what happened.
    }
    std::int32_t pid = 0;
    if (!read_int(mine.get(), pid)) throw ProcessError("batchproc::mp: the forkserver ended before starting the process");
    if (pid <= 0) throw ProcessError(std::string("batchproc::mp: the forkserver cannot fork: ") + std::strerror(-pid));
    return ForkServerChild{pid, std::move(mine)};
}

void forget_forkserver_after_fork() {
    // The parent's client may have been locked by another thread at the fork: leave it.
    Client *&c = client();
    c->control.reset();
    c = new Client;
}

void serve_forkserver(int control) {
    // Ctrl-C in a terminal reaches the whole process group: the program decides what to do,
    // the server ends when the program's end closes the control socket.
    ::signal(SIGINT, SIG_IGN);
    sigset_t chld, previous;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    ::sigprocmask(SIG_BLOCK, &chld, &previous);
    const int exits = ::signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    const pid_t self = ::getpid();
    std::map<pid_t, int> status_fds;
    std::vector<int> fds;
    for (;;) {
        int status = 0;
        pid_t done;
        while ((done = ::waitpid(-1, &status, WNOHANG)) > 0) {
            const auto it = status_fds.find(done);
            if (it == status_fds.end()) continue;
            write_int(it->second, status);
            ::close(it->second);
            status_fds.erase(it);
        }
        pollfd p[2] = {{exits, POLLIN, 0}, {control, POLLIN, 0}};
        // Without a signalfd (never expected), look for exits every 20 ms.
        const int ready = ::poll(p, 2, exits < 0 ? 20 : -1);
        if (ready <= 0) continue;
        if (p[0].revents & POLLIN) {
            signalfd_siginfo info[16];
            while (::read(exits, info, sizeof info) > 0) {
            }
        }
        if (p[1].revents == 0) continue;
        const int got = receive_fds(control, fds);
        if (got == 0) ::_exit(0); // the program ended (or closed us): daemon children die with us
        if (got < 0 || fds.empty()) continue;
        const int status_fd = fds[0];
        std::vector<int> passed(fds.begin() + 1, fds.end());
        const pid_t child = ::fork();
        if (child == 0) {
            ::sigprocmask(SIG_SETMASK, &previous, nullptr);
            ::signal(SIGINT, SIG_DFL);
            ::close(control);
            if (exits >= 0) ::close(exits);
            for (const auto &entry : status_fds) ::close(entry.second);
            run_request(status_fd, &passed, self);
        }
        const int fork_error = errno;
        for (int fd : passed) ::close(fd);
        if (child < 0) {
            write_int(status_fd, -fork_error);
            ::close(status_fd);
            continue;
        }
        write_int(status_fd, child);
        status_fds[child] = status_fd;
    }
}

} // namespace batchproc::mp::detail
